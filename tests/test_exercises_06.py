"""Lesson 06's checkers: the reference is accepted, stubs are "not attempted", and realistic
wrong answers get the specific feedback that names the mistake.

One table drives every case: (key, label, answers, expected status, fragments of the message).
The answers below are written the way a learner would write them, one mistake each.
A second table checks the reference Signum and Lion against numbers worked out by hand
from the papers' pseudocode, so the checkers' references are themselves tested.
"""

import pytest
import torch
from learner_classes import as_written
from torch.optim import Optimizer

from myoptim_helpers import optim
from myoptim_helpers.exercises import grade
from myoptim_helpers.exercises.lesson06 import (
    _MOMENTUM_SGD_SOLUTION,
    Lion,
    MomentumSGD,
    Signum,
    lion_update,
    make_closure,
    momentum_update,
    signum_update,
)


def _closure_loss(closure):
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


# ----------------------------------------------------------------------------- 06.1 answers


def stub_momentum_update(param, grad, momentum_buffer, *, lr, momentum): ...


def ema_update(param, grad, momentum_buffer, *, lr, momentum):
    if momentum != 0:
        if momentum_buffer is None:
            momentum_buffer = torch.zeros_like(param)
        momentum_buffer.mul_(momentum).add_(grad, alpha=1 - momentum)
        grad = momentum_buffer
    param.add_(grad, alpha=-lr)
    return momentum_buffer


def lr_inside_update(param, grad, momentum_buffer, *, lr, momentum):
    if momentum == 0:
        param.add_(grad, alpha=-lr)
        return None
    if momentum_buffer is None:
        momentum_buffer = lr * grad
    else:
        momentum_buffer.mul_(momentum).add_(grad, alpha=lr)
    param.sub_(momentum_buffer)
    return momentum_buffer


def no_clone_update(param, grad, momentum_buffer, *, lr, momentum):
    if momentum != 0:
        if momentum_buffer is None:
            momentum_buffer = grad  # p.grad itself, not a copy
        else:
            momentum_buffer.mul_(momentum).add_(grad)
        grad = momentum_buffer
    param.add_(grad, alpha=-lr)
    return momentum_buffer


def forgets_buffer_update(param, grad, momentum_buffer, *, lr, momentum):
    if momentum != 0:
        if momentum_buffer is None:
            momentum_buffer = grad.clone()
        else:
            momentum_buffer.mul_(momentum).add_(grad)
        grad = momentum_buffer
    param.add_(grad, alpha=-lr)


def none_buffer_crash(param, grad, momentum_buffer, *, lr, momentum):
    if momentum != 0:
        momentum_buffer.mul_(momentum).add_(grad)  # the first step has no buffer yet
        grad = momentum_buffer
    param.add_(grad, alpha=-lr)
    return momentum_buffer


def grad_in_place_update(param, grad, momentum_buffer, *, lr, momentum):
    if momentum != 0:
        if momentum_buffer is None:
            momentum_buffer = grad.clone()
        else:
            momentum_buffer.mul_(momentum).add_(grad)
        grad = momentum_buffer
    param.sub_(grad.mul_(lr))  # scales the buffer (or p.grad) in place
    return momentum_buffer


class StubSGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0): ...

    @torch.no_grad()
    def step(self, closure=None): ...


class InitOnlySGD(Optimizer):
    """__init__ written, step still the stub; instantiated once (torch wraps step)."""

    def __init__(self, params, lr=1e-3, momentum=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum})

    def step(self, closure=None): ...


InitOnlySGD([torch.zeros(1, requires_grad=True)])


class NoValidationSGD(MomentumSGD):
    def __init__(self, params, lr=1e-3, momentum=0.0):
        Optimizer.__init__(self, params, {"lr": lr, "momentum": momentum})


class OwnWordsSGD(MomentumSGD):
    def __init__(self, params, lr=1e-3, momentum=0.0):
        if lr < 0:
            raise ValueError("lr must be non-negative")
        Optimizer.__init__(self, params, {"lr": lr, "momentum": momentum})


class WrongDefaultSGD(MomentumSGD):
    def __init__(self, params, lr=0.01, momentum=0.0):
        super().__init__(params, lr, momentum)


class NoNoGradSGD(MomentumSGD):
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["lr"])


class NoneGradSGD(MomentumSGD):
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                p.add_(p.grad, alpha=-group["lr"])


class EmaSGD(MomentumSGD):
    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            mu = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p)
                buf = state["momentum_buffer"]
                buf.mul_(mu).add_(p.grad, alpha=1 - mu)
                p.add_(buf, alpha=-group["lr"])
        return loss


class DoubleBufferSGD(MomentumSGD):
    """Keeps the momentum buffer in float64 for a float32 parameter (the values still match)."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            mu = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if mu == 0:
                    p.add_(p.grad, alpha=-group["lr"])
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = p.grad.double().clone()
                else:
                    state["momentum_buffer"].mul_(mu).add_(p.grad.double())
                p.add_(state["momentum_buffer"].to(p.dtype), alpha=-group["lr"])
        return loss


class ForgetfulSGD(MomentumSGD):
    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf = p.grad.clone()  # a new buffer every step
                p.add_(buf, alpha=-group["lr"])
        return loss


class SelfLrSGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        self.lr, self.momentum = lr, momentum
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if self.momentum != 0:
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = p.grad.clone()
                    else:
                        state["momentum_buffer"].mul_(self.momentum).add_(p.grad)
                    p.add_(state["momentum_buffer"], alpha=-self.lr)
                else:
                    p.add_(p.grad, alpha=-self.lr)
        return loss


class LrInsideSGD(MomentumSGD):
    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            lr, mu = group["lr"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                v = state.get("momentum_buffer")
                v = lr * p.grad if v is None else mu * v + lr * p.grad
                if mu != 0:
                    state["momentum_buffer"] = v
                p.sub_(v)
        return loss


class VelocityKeySGD(MomentumSGD):
    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "velocity" in state:
                    state["velocity"].mul_(group["momentum"]).add_(p.grad)
                else:
                    state["velocity"] = p.grad.clone()
                p.add_(state["velocity"], alpha=-group["lr"])
        return loss


class AttributeStateSGD(MomentumSGD):
    """Keeps the buffers in an attribute: correct numbers, but state_dict() misses them."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        buffers = self.__dict__.setdefault("buffers", {})
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                d_p = p.grad
                if group["momentum"] != 0:
                    if p in buffers:
                        buffers[p].mul_(group["momentum"]).add_(p.grad)
                    else:
                        buffers[p] = p.grad.clone()
                    d_p = buffers[p]
                p.add_(d_p, alpha=-group["lr"])
        return loss


class CounterAttributeSGD(MomentumSGD):
    """Decides "first step" from a counter attribute, which state_dict() does not save."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        first = self.__dict__.get("steps_taken", 0) == 0
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                d_p = p.grad
                if group["momentum"] != 0:
                    state = self.state[p]
                    if first:
                        state["momentum_buffer"] = p.grad.clone()
                    else:
                        state["momentum_buffer"].mul_(group["momentum"]).add_(p.grad)
                    d_p = state["momentum_buffer"]
                p.add_(d_p, alpha=-group["lr"])
        self.steps_taken = self.__dict__.get("steps_taken", 0) + 1
        return loss


class BiasCorrectedSGD(MomentumSGD):
    """Borrows Adam's bias correction, with the step counted from 0: divides by zero."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                t = state.get("step", 0)
                buf = state.setdefault("momentum_buffer", torch.zeros_like(p))
                buf.mul_(group["momentum"]).add_(p.grad)
                p.sub_(group["lr"] * buf / (1 - group["momentum"] ** t))
                state["step"] = t + 1
        return loss


class NoClosureSGD(MomentumSGD):
    @torch.no_grad()
    def step(self):
        return MomentumSGD.step(self)


class ClosureNoGradSGD(MomentumSGD):
    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        MomentumSGD.step(self)
        return loss


class DropsLossSGD(MomentumSGD):
    @torch.no_grad()
    def step(self, closure=None):
        MomentumSGD.step(self, closure)


class GradInPlaceSGD(MomentumSGD):
    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(p.grad.mul_(group["lr"]))
        return loss


class EagerStateSGD(MomentumSGD):
    def __init__(self, params, lr=1e-3, momentum=0.0):
        super().__init__(params, lr, momentum)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["momentum_buffer"] = torch.zeros_like(p)

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf = self.state[p]["momentum_buffer"]
                buf.mul_(group["momentum"]).add_(p.grad)
                p.add_(buf, alpha=-group["lr"])
        return loss


# ----------------------------------------------------------------------------- 06.2 answers


def stub_make_closure(optimizer, xy, f): ...


def no_zero_grad(optimizer, xy, f):
    def closure():
        loss = f(xy)
        loss.backward()
        return loss

    return closure


def no_backward(optimizer, xy, f):
    def closure():
        optimizer.zero_grad()
        return f(xy)

    return closure


def zero_grad_last(optimizer, xy, f):
    def closure():
        loss = f(xy)
        loss.backward()
        optimizer.zero_grad()
        return loss

    return closure


def returns_nothing(optimizer, xy, f):
    def closure():
        optimizer.zero_grad()
        f(xy).backward()

    return closure


def calls_it(optimizer, xy, f):
    def closure():
        optimizer.zero_grad()
        loss = f(xy)
        loss.backward()
        return loss

    return closure()


def forgets_return_closure(optimizer, xy, f):
    def closure():
        optimizer.zero_grad()
        loss = f(xy)
        loss.backward()
        return loss


def resets_xy(optimizer, xy, f):
    xy.data.zero_()

    def closure():
        optimizer.zero_grad()
        loss = f(xy)
        loss.backward()
        return loss

    return closure


def returns_item(optimizer, xy, f):
    def closure():
        optimizer.zero_grad()
        loss = f(xy)
        loss.backward()
        return loss.item()

    return closure


def backward_twice(optimizer, xy, f):
    def closure():
        optimizer.zero_grad()
        loss = f(xy)
        loss.backward(retain_graph=True)
        loss.backward()
        return loss

    return closure


def under_no_grad(optimizer, xy, f):
    def closure():
        optimizer.zero_grad()
        with torch.no_grad():
            loss = f(xy)
        loss.backward()
        return loss

    return closure


# ----------------------------------------------------------------------------- 06.3 answers


def stub_signum_update(param, grad, momentum_buffer, *, lr, momentum): ...


def torch_style_signum(param, grad, momentum_buffer, *, lr, momentum):
    if momentum_buffer is None:
        momentum_buffer = grad.clone()
    else:
        momentum_buffer.mul_(momentum).add_(grad)
    param.add_(momentum_buffer.sign(), alpha=-lr)
    return momentum_buffer


def first_grad_signum(param, grad, momentum_buffer, *, lr, momentum):
    if momentum_buffer is None:
        momentum_buffer = grad.clone()
    else:
        momentum_buffer.mul_(momentum).add_(grad, alpha=1 - momentum)
    param.add_(momentum_buffer.sign(), alpha=-lr)
    return momentum_buffer


def grad_sign_signum(param, grad, momentum_buffer, *, lr, momentum):
    if momentum_buffer is None:
        momentum_buffer = torch.zeros_like(param)
    momentum_buffer.mul_(momentum).add_(grad, alpha=1 - momentum)
    param.add_(grad.sign(), alpha=-lr)
    return momentum_buffer


def no_sign_signum(param, grad, momentum_buffer, *, lr, momentum):
    if momentum_buffer is None:
        momentum_buffer = torch.zeros_like(param)
    momentum_buffer.mul_(momentum).add_(grad, alpha=1 - momentum)
    param.add_(momentum_buffer, alpha=-lr)
    return momentum_buffer


def grad_in_place_signum(param, grad, momentum_buffer, *, lr, momentum):
    if momentum_buffer is None:
        momentum_buffer = torch.zeros_like(param)
    momentum_buffer.mul_(momentum).add_(grad.mul_(1 - momentum))
    param.add_(momentum_buffer.sign(), alpha=-lr)
    return momentum_buffer


def float32_buffer_signum(param, grad, momentum_buffer, *, lr, momentum):
    if momentum_buffer is None:
        momentum_buffer = torch.zeros(param.shape)  # float32, next to float64 parameters
    momentum_buffer.mul_(momentum).add_(grad, alpha=1 - momentum)
    param.add_(momentum_buffer.sign(), alpha=-lr)
    return momentum_buffer


def fresh_buffer_signum(param, grad, momentum_buffer, *, lr, momentum):
    momentum_buffer = torch.zeros_like(param)  # ignores the buffer it is given
    momentum_buffer.mul_(momentum).add_(grad, alpha=1 - momentum)
    param.add_(momentum_buffer.sign(), alpha=-lr)
    return momentum_buffer


def forgets_return_signum(param, grad, momentum_buffer, *, lr, momentum):
    if momentum_buffer is None:
        momentum_buffer = torch.zeros_like(param)
    momentum_buffer.mul_(momentum).add_(grad, alpha=1 - momentum)
    param.add_(momentum_buffer.sign(), alpha=-lr)


def crashes_on_first_step(param, grad, momentum_buffer, *, lr, momentum):
    momentum_buffer.mul_(momentum).add_(grad, alpha=1 - momentum)
    param.add_(momentum_buffer.sign(), alpha=-lr)
    return momentum_buffer


def returns_a_number(param, grad, momentum_buffer, *, lr, momentum):
    if momentum_buffer is None:
        momentum_buffer = torch.zeros_like(param)
    momentum_buffer.mul_(momentum).add_(grad, alpha=1 - momentum)
    param.add_(momentum_buffer.sign(), alpha=-lr)
    return momentum_buffer.sum().item()


# ----------------------------------------------------------------------------- 06.4 answers


def stub_lion_update(param, grad, exp_avg, *, lr, beta1, beta2, weight_decay): ...


def _lion(rule):
    """A lion_update that creates exp_avg as zeros, then applies ``rule(p, g, m, lr, b1, b2, wd)``."""

    def lion_update(param, grad, exp_avg, *, lr, beta1, beta2, weight_decay):
        if exp_avg is None:
            exp_avg = torch.zeros_like(param)
        rule(param, grad, exp_avg, lr, beta1, beta2, weight_decay)
        return exp_avg

    return lion_update


def _momentum_first(p, g, m, lr, beta1, beta2, wd):
    m.mul_(beta2).add_(g, alpha=1 - beta2)
    c = m * beta1 + g * (1 - beta1)
    p.mul_(1 - lr * wd).add_(c.sign(), alpha=-lr)


def _betas_swapped(p, g, m, lr, beta1, beta2, wd):
    c = m * beta2 + g * (1 - beta2)
    p.mul_(1 - lr * wd).add_(c.sign(), alpha=-lr)
    m.mul_(beta1).add_(g, alpha=1 - beta1)


def _coupled_decay(p, g, m, lr, beta1, beta2, wd):
    g = g + wd * p
    c = m * beta1 + g * (1 - beta1)
    p.add_(c.sign(), alpha=-lr)
    m.mul_(beta2).add_(g, alpha=1 - beta2)


def _decay_without_lr(p, g, m, lr, beta1, beta2, wd):
    c = m * beta1 + g * (1 - beta1)
    p.mul_(1 - wd).add_(c.sign(), alpha=-lr)
    m.mul_(beta2).add_(g, alpha=1 - beta2)


def _decay_after_step(p, g, m, lr, beta1, beta2, wd):
    c = m * beta1 + g * (1 - beta1)
    p.add_(c.sign(), alpha=-lr)
    p.mul_(1 - lr * wd)
    m.mul_(beta2).add_(g, alpha=1 - beta2)


def _momentum_sign_only(p, g, m, lr, beta1, beta2, wd):
    p.mul_(1 - lr * wd).add_(m.sign(), alpha=-lr)
    m.mul_(beta2).add_(g, alpha=1 - beta2)


def _in_place_c(p, g, m, lr, beta1, beta2, wd):
    c = m.mul_(beta1).add_(g, alpha=1 - beta1)  # modifies m itself
    p.mul_(1 - lr * wd).add_(c.sign(), alpha=-lr)
    m.mul_(beta2).add_(g, alpha=1 - beta2)


def _paper_formula(p, g, m, lr, beta1, beta2, wd):
    c = beta1 * m + (1 - beta1) * g
    p.sub_(lr * (torch.sign(c) + wd * p))
    m.copy_(beta2 * m + (1 - beta2) * g)


momentum_first_lion = _lion(_momentum_first)
swapped_betas_lion = _lion(_betas_swapped)
coupled_decay_lion = _lion(_coupled_decay)
decay_without_lr_lion = _lion(_decay_without_lr)
decay_after_step_lion = _lion(_decay_after_step)
momentum_sign_lion = _lion(_momentum_sign_only)
in_place_c_lion = _lion(_in_place_c)
paper_formula_lion = _lion(_paper_formula)


def first_grad_lion(param, grad, exp_avg, *, lr, beta1, beta2, weight_decay):
    if exp_avg is None:
        exp_avg = grad.clone()
    c = exp_avg.mul(beta1).add_(grad, alpha=1 - beta1)
    param.mul_(1 - lr * weight_decay).add_(c.sign(), alpha=-lr)
    exp_avg.mul_(beta2).add_(grad, alpha=1 - beta2)
    return exp_avg


def _m_from_c(p, g, m, lr, beta1, beta2, wd):
    c = m * beta1 + g * (1 - beta1)
    p.mul_(1 - lr * wd).add_(c.sign(), alpha=-lr)
    m.copy_(beta2 * c + (1 - beta2) * g)  # "exp_avg = c", then its update


def _m_without_factor(p, g, m, lr, beta1, beta2, wd):
    c = m * beta1 + g * (1 - beta1)
    p.mul_(1 - lr * wd).add_(c.sign(), alpha=-lr)
    m.mul_(beta2).add_(g)


def _c_without_factor(p, g, m, lr, beta1, beta2, wd):
    c = m * beta1 + g
    p.mul_(1 - lr * wd).add_(c.sign(), alpha=-lr)
    m.mul_(beta2).add_(g, alpha=1 - beta2)


def _sign_by_division(p, g, m, lr, beta1, beta2, wd):
    c = m * beta1 + g * (1 - beta1)
    p.mul_(1 - lr * wd).add_(c / c.abs(), alpha=-lr)
    m.mul_(beta2).add_(g, alpha=1 - beta2)


def _sign_by_where(p, g, m, lr, beta1, beta2, wd):
    c = m * beta1 + g * (1 - beta1)
    p.mul_(1 - lr * wd).add_(torch.where(c >= 0, 1.0, -1.0), alpha=-lr)
    m.mul_(beta2).add_(g, alpha=1 - beta2)


def _paper_betas(p, g, m, lr, beta1, beta2, wd):
    c = m * 0.9 + g * 0.1
    p.mul_(1 - lr * wd).add_(c.sign(), alpha=-lr)
    m.mul_(0.99).add_(g, alpha=0.01)


m_from_c_lion = _lion(_m_from_c)
m_without_factor_lion = _lion(_m_without_factor)
c_without_factor_lion = _lion(_c_without_factor)
division_sign_lion = _lion(_sign_by_division)
where_sign_lion = _lion(_sign_by_where)
paper_betas_lion = _lion(_paper_betas)


def float64_buffer_lion(param, grad, exp_avg, *, lr, beta1, beta2, weight_decay):
    if exp_avg is None:
        exp_avg = torch.zeros(param.shape, dtype=torch.float64)
    return lion_update(param, grad, exp_avg, lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay)


def float64_buffer_signum(param, grad, momentum_buffer, *, lr, momentum):
    if momentum_buffer is None:
        momentum_buffer = torch.zeros(param.shape, dtype=torch.float64)
    return signum_update(param, grad, momentum_buffer, lr=lr, momentum=momentum)


def division_sign_signum(param, grad, momentum_buffer, *, lr, momentum):
    if momentum_buffer is None:
        momentum_buffer = torch.zeros_like(param)
    momentum_buffer.mul_(momentum).add_(grad, alpha=1 - momentum)
    param.add_(momentum_buffer / momentum_buffer.abs(), alpha=-lr)
    return momentum_buffer


def where_sign_signum(param, grad, momentum_buffer, *, lr, momentum):
    if momentum_buffer is None:
        momentum_buffer = torch.zeros_like(param)
    momentum_buffer.mul_(momentum).add_(grad, alpha=1 - momentum)
    param.add_(torch.where(momentum_buffer >= 0, 1.0, -1.0), alpha=-lr)
    return momentum_buffer


def hard_coded_momentum_signum(param, grad, momentum_buffer, *, lr, momentum):
    return signum_update(param, grad, momentum_buffer, lr=lr, momentum=0.9)


def hard_coded_lr_signum(param, grad, momentum_buffer, *, lr, momentum):
    return signum_update(param, grad, momentum_buffer, lr=0.05, momentum=momentum)


def buffer_without_momentum_update(param, grad, momentum_buffer, *, lr, momentum):
    if momentum_buffer is None:
        momentum_buffer = grad.clone()
    else:
        momentum_buffer.mul_(momentum).add_(grad)
    param.add_(momentum_buffer, alpha=-lr)
    return momentum_buffer  # a buffer even when momentum is 0


def float32_copy_update(param, grad, momentum_buffer, *, lr, momentum):
    if momentum == 0:
        param.add_(grad, alpha=-lr)
        return None
    if momentum_buffer is None:
        momentum_buffer = torch.tensor(grad.tolist())
    else:
        momentum_buffer.mul_(momentum).add_(grad)
    param.add_(momentum_buffer, alpha=-lr)
    return momentum_buffer


def hard_coded_lr_update(param, grad, momentum_buffer, *, lr, momentum):
    return momentum_update(param, grad, momentum_buffer, lr=0.1, momentum=momentum)


class NoneStateSGD(MomentumSGD):
    """Stores whatever momentum_update returns, None included, even without momentum."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    state = self.state[p]
                    state["momentum_buffer"] = momentum_update(
                        p, p.grad, state.get("momentum_buffer"), lr=group["lr"], momentum=group["momentum"]
                    )
        return loss


class StepCountSGD(MomentumSGD):
    """Counts steps in the state, which torch's SGD does not keep."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    state = self.state[p]
                    state["step"] = state.get("step", 0) + 1
                    buf = momentum_update(
                        p, p.grad, state.get("momentum_buffer"), lr=group["lr"], momentum=group["momentum"]
                    )
                    if buf is not None:
                        state["momentum_buffer"] = buf
        return loss


def momentum_update_written_out(param, grad, momentum_buffer, *, lr, momentum):
    if not momentum:
        param -= lr * grad
        return None
    buf = grad.detach().clone() if momentum_buffer is None else momentum_buffer.mul_(momentum).add_(grad)
    param -= lr * buf
    return buf


class TruthySGD(Optimizer):
    """Keeps state only `if group["momentum"]:`, loops over grads with a filter."""

    def __init__(self, params, lr=1e-3, momentum=0.0):
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        super().__init__(params, dict(lr=lr, momentum=momentum))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in filter(lambda q: q.grad is not None, group["params"]):
                if group["momentum"]:
                    self.state[p]["momentum_buffer"] = momentum_update_written_out(
                        p, p.grad, self.state[p].get("momentum_buffer"), lr=group["lr"], momentum=group["momentum"]
                    )
                else:
                    momentum_update_written_out(p, p.grad, None, lr=group["lr"], momentum=0.0)
        return loss


def signum_written_out(param, grad, momentum_buffer, *, lr, momentum):
    m = torch.zeros_like(param) if momentum_buffer is None else momentum_buffer
    m.copy_(momentum * m + (1 - momentum) * grad)
    param.sub_(lr * torch.sign(m))
    return m


def rosenbrock_hard_coded(optimizer, xy, f):
    def closure():
        optimizer.zero_grad()
        loss = (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2  # the lesson's f, not `f`
        loss.backward()
        return loss

    return closure


def loss_outside_closure(optimizer, xy, f):
    loss = f(xy)  # once, when the closure is made

    def closure():
        optimizer.zero_grad()
        loss.backward(retain_graph=True)
        return loss

    return closure


def loss_outside_no_retain(optimizer, xy, f):
    loss = f(xy)

    def closure():
        optimizer.zero_grad()
        loss.backward()
        return loss

    return closure


# The newcomer's answers: each named by its mistake.
def _where_sign(p, g, m, lr, beta1, beta2, wd):
    c = m * beta1 + g * (1 - beta1)
    p.mul_(1 - lr * wd).add_(torch.where(c > 0, 1.0, -1.0).to(p.dtype), alpha=-lr)
    m.mul_(beta2).add_(g, alpha=1 - beta2)


def _decay_inside_sign(p, g, m, lr, beta1, beta2, wd):
    c = m * beta1 + g * (1 - beta1)
    p.add_((c + wd * p).sign(), alpha=-lr)
    m.mul_(beta2).add_(g, alpha=1 - beta2)


def _ignores_weight_decay(p, g, m, lr, beta1, beta2, wd):
    c = m * beta1 + g * (1 - beta1)
    p.add_(c.sign(), alpha=-lr)
    m.mul_(beta2).add_(g, alpha=1 - beta2)


def _single_beta(p, g, m, lr, beta1, beta2, wd):
    c = m * beta1 + g * (1 - beta1)
    p.mul_(1 - lr * wd).add_(c.sign(), alpha=-lr)
    m.mul_(beta1).add_(g, alpha=1 - beta1)


def _approximate_sign_lion(p, g, m, lr, beta1, beta2, wd):
    c = m * beta1 + g * (1 - beta1)
    p.mul_(1 - lr * wd).add_(c / (c.abs() + 1e-12), alpha=-lr)
    m.mul_(beta2).add_(g, alpha=1 - beta2)


where_positive_lion = _lion(_where_sign)
decay_inside_sign_lion = _lion(_decay_inside_sign)
ignores_weight_decay_lion = _lion(_ignores_weight_decay)
single_beta_lion = _lion(_single_beta)
approximate_sign_lion = _lion(_approximate_sign_lion)


def signum_approximate_sign(param, grad, momentum_buffer, *, lr, momentum):
    m = torch.zeros_like(param) if momentum_buffer is None else momentum_buffer
    m.mul_(momentum).add_(grad, alpha=1 - momentum)
    param.sub_(lr * m / (m.abs() + 1e-12))
    return m


def signum_where_sign(param, grad, momentum_buffer, *, lr, momentum):
    m = torch.zeros_like(param) if momentum_buffer is None else momentum_buffer
    m.mul_(momentum).add_(grad, alpha=1 - momentum)
    param.sub_(lr * torch.where(m > 0, 1, -1))
    return m


def signum_where_sign_float(param, grad, momentum_buffer, *, lr, momentum):
    m = torch.zeros_like(param) if momentum_buffer is None else momentum_buffer
    m.mul_(momentum).add_(grad, alpha=1 - momentum)
    param.sub_(lr * torch.where(m > 0, 1.0, -1.0).to(m.dtype))
    return m


def signum_swapped_weights(param, grad, momentum_buffer, *, lr, momentum):
    m = torch.zeros_like(param) if momentum_buffer is None else momentum_buffer
    m.mul_(1 - momentum).add_(grad, alpha=momentum)
    param.sub_(lr * m.sign())
    return m


class RefusesZeroMomentumSGD(Optimizer):
    """Validates `momentum <= 0`, so the default momentum=0 (plain SGD) raises."""

    def __init__(self, params, lr=1e-3, momentum=0.0):
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum <= 0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        super().__init__(params, dict(lr=lr, momentum=momentum))

    step = TruthySGD.step


# ----------------------------------------------------------------------------- the table


_WRITTEN = as_written(_MOMENTUM_SGD_SOLUTION)
REF_SGD = (_WRITTEN["momentum_update"], _WRITTEN["MomentumSGD"])
REF_SIGNUM = as_written(signum_update)["signum_update"]
REF_LION = as_written(lion_update)["lion_update"]


def wraps_package_sgd(param, grad, momentum_buffer, *, lr, momentum):
    return optim.sgd_update(
        param,
        grad,
        momentum_buffer,
        lr=lr,
        momentum=momentum,
        dampening=0.0,
        nesterov=False,
        weight_decay=0.0,
        maximize=False,
    )


class SubclassOfPackageSGD(optim.SGD):
    pass


class StepCallsPackageSGD(TruthySGD):
    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    state = self.state[p] if group["momentum"] else {}
                    state["momentum_buffer"] = optim.sgd_update(
                        p,
                        p.grad,
                        state.get("momentum_buffer"),
                        lr=group["lr"],
                        momentum=group["momentum"],
                        dampening=0.0,
                        nesterov=False,
                        weight_decay=0.0,
                        maximize=False,
                    )
        return loss


def wraps_package_signum(param, grad, momentum_buffer, *, lr, momentum):
    return signum_update(param, grad, momentum_buffer, lr=lr, momentum=momentum)


CASES = [
    # 06.1: momentum_update (inside a trusted class), then MomentumSGD, against torch.optim.SGD
    ("06.1", "reference", REF_SGD, "correct", ["match torch.optim.SGD at every step"]),
    (
        "06.1",
        "the package's SGD class",
        (REF_SGD[0], optim.SGD),
        "incorrect",
        ["`MomentumSGD` is myoptim_helpers.optim.sgd.SGD", "the package's own SGD; write your own"],
    ),
    (
        "06.1",
        "the reference solutions themselves",
        (momentum_update, MomentumSGD),
        "incorrect",
        ["`momentum_update` is myoptim_helpers.exercises.lesson06.momentum_update", "write your own"],
    ),
    (
        "06.1",
        "a wrapper around optim.sgd_update",
        (wraps_package_sgd, REF_SGD[1]),
        "incorrect",
        ["`momentum_update` calls into myoptim_helpers.optim", "the package's own SGD"],
    ),
    (
        "06.1",
        "a step that calls optim.sgd_update",
        (REF_SGD[0], StepCallsPackageSGD),
        "incorrect",
        ["`MomentumSGD` calls into myoptim_helpers.optim", "write your own"],
    ),
    (
        "06.1",
        "a subclass of the package's SGD",
        (REF_SGD[0], SubclassOfPackageSGD),
        "incorrect",
        ["subclasses myoptim_helpers.optim.sgd.SGD", "write your own"],
    ),
    (
        "06.1",
        "written out, truthy momentum",
        (momentum_update_written_out, TruthySGD),
        "correct",
        ["match torch.optim.SGD at every step"],
    ),
    (
        "06.1",
        "function stub",
        (stub_momentum_update, MomentumSGD),
        "not attempted",
        ["stub_momentum_update", "empty body"],
    ),
    (
        "06.1",
        "float64 buffer for float32 parameters",
        (REF_SGD[0], DoubleBufferSGD),
        "incorrect",
        ["is dtype torch.float64, expected torch.float32", "torch keeps the state in the parameter's dtype"],
    ),
    ("06.1", "class stub", (momentum_update, StubSGD), "not attempted", ["StubSGD.__init__", "empty body"]),
    ("06.1", "step still a stub", (momentum_update, InitOnlySGD), "not attempted", ["InitOnlySGD.step", "empty body"]),
    (
        "06.1",
        "EMA momentum",
        (ema_update, MomentumSGD),
        "incorrect",
        ["momentum=", "differs from torch already at step 1", "exponential average", "buf = momentum * buf + grad"],
    ),
    (
        "06.1",
        "lr inside the buffer",
        (lr_inside_update, MomentumSGD),
        "incorrect",
        ["the parameters match torch", "state['momentum_buffer'] of param 'w'", "lr times torch's", "Sutskever"],
    ),
    (
        "06.1",
        "buffer is p.grad itself",
        (no_clone_update, MomentumSGD),
        "incorrect",
        ["`no_clone_update` keeps `w.grad` itself as state['momentum_buffer']", "grad.clone()"],
    ),
    (
        "06.1",
        "buffer not returned",
        (forgets_buffer_update, MomentumSGD),
        "incorrect",
        ["`forgets_buffer_update` returned None", "return the new `momentum_buffer`"],
    ),
    (
        "06.1",
        "crashes on the first step",
        (none_buffer_crash, MomentumSGD),
        "error",
        ["`none_buffer_crash` raised AttributeError", "in `none_buffer_crash`", "on the first step the buffer is None"],
    ),
    (
        "06.1",
        "grad scaled in place",
        (grad_in_place_update, MomentumSGD),
        "incorrect",
        ["`grad_in_place_update` changed `w.grad`", "never modify it"],
    ),
    (
        "06.1",
        "class passed as the function",
        (MomentumSGD, MomentumSGD),
        "incorrect",
        ["`momentum_update` should be the update function itself, got a class"],
    ),
    (
        "06.1",
        "an instance",
        (momentum_update, MomentumSGD([torch.zeros(1, requires_grad=True)])),
        "incorrect",
        ["pass the class", "not an instance"],
    ),
    (
        "06.1",
        "a function for the class",
        (momentum_update, make_closure),
        "incorrect",
        ["should be a class", "got function"],
    ),
    (
        "06.1",
        "no validation",
        (momentum_update, NoValidationSGD),
        "incorrect",
        ["lr=-0.1", "should raise ValueError('Invalid learning rate: -0.1')", "raised nothing"],
    ),
    (
        "06.1",
        "own words",
        (momentum_update, OwnWordsSGD),
        "incorrect",
        ["raised ValueError('lr must be non-negative')", "torch's words"],
    ),
    (
        "06.1",
        "default lr 0.01",
        (momentum_update, WrongDefaultSGD),
        "incorrect",
        ["default lr should be 0.001, got 0.01"],
    ),
    (
        "06.1",
        "no @torch.no_grad()",
        (momentum_update, NoNoGradSGD),
        "error",
        ["raised RuntimeError", "leaf Variable", "@torch.no_grad()"],
    ),
    (
        "06.1",
        "grad None not skipped",
        (momentum_update, NoneGradSGD),
        "error",
        ["raised TypeError", "if p.grad is None: continue"],
    ),
    (
        "06.1",
        "EMA momentum in the class",
        (momentum_update, EmaSGD),
        "incorrect",
        ["holds 'momentum_buffer'; torch keeps no state for it"],
    ),
    (
        "06.1",
        "buffer not kept",
        (momentum_update, ForgetfulSGD),
        "incorrect",
        ["matches torch for step 1, differs at step 2", "plain SGD", "self.state[p]"],
    ),
    (
        "06.1",
        "self.lr, not group lr",
        (momentum_update, SelfLrSGD),
        "incorrect",
        ["two param groups", "group['lr']", "self.defaults"],
    ),
    (
        "06.1",
        "lr inside the buffer, in the class",
        (momentum_update, LrInsideSGD),
        "incorrect",
        ["the parameters match torch", "lr times torch's"],
    ),
    (
        "06.1",
        "buffer named velocity",
        (momentum_update, VelocityKeySGD),
        "incorrect",
        ["holds 'velocity'", "torch keeps no state for it"],
    ),
    (
        "06.1",
        "state in an attribute",
        (momentum_update, AttributeStateSGD),
        "incorrect",
        ["param 'w' holds nothing", "torch keeps 'momentum_buffer'", "state_dict()` saves only"],
    ),
    (
        "06.1",
        "first step from an attribute counter",
        (momentum_update, CounterAttributeSGD),
        "incorrect",
        ["after saving at step 3", "resumed run differs at step 4", "self.state[p]"],
    ),
    (
        "06.1",
        "bias correction from step 0",
        (momentum_update, BiasCorrectedSGD),
        "incorrect",
        ["after step 1 (with lr=", "param 'w' contains inf at index [0, 0]"],
    ),
    (
        "06.1",
        "step without closure",
        (momentum_update, NoClosureSGD),
        "error",
        ["positional argument", "def step(self, closure=None)"],
    ),
    (
        "06.1",
        "closure under no_grad",
        (momentum_update, ClosureNoGradSGD),
        "error",
        ["does not require grad", "with torch.enable_grad(): loss = closure()"],
    ),
    ("06.1", "loss not returned", (momentum_update, DropsLossSGD), "incorrect", ["returned None", "return the loss"]),
    (
        "06.1",
        "grad modified in place",
        (momentum_update, GradInPlaceSGD),
        "incorrect",
        ["`GradInPlaceSGD.step` changed `w.grad`", "never modify it"],
    ),
    (
        "06.1",
        "eager state",
        (momentum_update, EagerStateSGD),
        "incorrect",
        ["`EagerStateSGD.__init__` created state ['momentum_buffer']", "whose `.grad` stays None", "lazily"],
    ),
    ("06.1", "one answer only", (momentum_update,), "error", ["takes 2 answer(s)"]),
    (
        "06.1",
        "refuses momentum = 0",
        (REF_SGD[0], RefusesZeroMomentumSGD),
        "incorrect",
        ["raised ValueError for valid hyperparameters", "momentum = 0 must be accepted", "momentum < 0.0"],
    ),
    (
        "06.1",
        "None kept as state without momentum",
        (momentum_update, NoneStateSGD),
        "incorrect",
        ["holds 'momentum_buffer'; torch keeps no state for it", "with momentum 0 there is no buffer"],
    ),
    ("06.1", "step counter in the state", (momentum_update, StepCountSGD), "incorrect", ["holds 'step'"]),
    (
        "06.1",
        "a buffer without momentum",
        (buffer_without_momentum_update, MomentumSGD),
        "incorrect",
        ["returned a buffer with momentum=0", "return None then"],
    ),
    (
        "06.1",
        "buffer from grad.tolist()",
        (float32_copy_update, MomentumSGD),
        "incorrect",
        ["is torch.float32, but the parameter is torch.float64"],
    ),
    (
        "06.1",
        "hard-coded lr",
        (hard_coded_lr_update, MomentumSGD),
        "incorrect",
        ["differs from torch already at step 1"],
    ),
    (
        "06.1",
        "a lambda without keywords",
        (lambda *args: 0, MomentumSGD),
        "error",
        ["your lambda raised TypeError", "unexpected keyword argument 'lr'"],
    ),
    # 06.2: a closure for LBFGS
    ("06.2", "reference", (make_closure,), "correct", ["follows the reference exactly"]),
    ("06.2", "returns loss.item()", (returns_item,), "correct", ["follows the reference exactly"]),
    ("06.2", "stub", (stub_make_closure,), "not attempted", ["make_closure", "empty body"]),
    ("06.2", "no zero_grad", (no_zero_grad,), "incorrect", ["gradients pile up", "call 2", "optimizer.zero_grad()"]),
    ("06.2", "no backward", (no_backward,), "incorrect", ["xy.grad is None", "loss.backward()"]),
    ("06.2", "zero_grad after backward", (zero_grad_last,), "incorrect", ["xy.grad is None", "zero_grad()` first"]),
    ("06.2", "closure returns None", (returns_nothing,), "incorrect", ["returned None", "return loss"]),
    (
        "06.2",
        "returns closure()",
        (calls_it,),
        "incorrect",
        ["returned a Tensor", "return closure`, not", "`return closure()`"],
    ),
    ("06.2", "forgets return closure", (forgets_return_closure,), "incorrect", ["returned None", "return closure"]),
    (
        "06.2",
        "backward twice",
        (backward_twice,),
        "incorrect",
        ["xy.grad is [", "but the gradient of f at xy is", "once"],
    ),
    (
        "06.2",
        "loss under no_grad",
        (under_no_grad,),
        "error",
        ["your closure raised RuntimeError", "does not require grad", "in `closure`"],
    ),
    ("06.2", "not a function", (0.5,), "incorrect", ["should be a function"]),
    ("06.2", "resets xy", (resets_xy,), "incorrect", ["changed the values of `xy`"]),
    (
        "06.2",
        "loss computed outside the closure",
        (loss_outside_no_retain,),
        "error",
        ["backward through the graph a second time", "computed once, outside the closure"],
    ),
    (
        "06.2",
        "the lesson's function instead of f",
        (rosenbrock_hard_coded,),
        "incorrect",
        ["another function than the `f` it was given"],
    ),
    (
        "06.2",
        "loss outside, graph retained",
        (loss_outside_closure,),
        "error",
        ["modified by an inplace operation", "computed once, outside the closure"],
    ),
    # 06.3: signum_update, inside the reference Signum
    ("06.3", "reference", (REF_SIGNUM,), "correct", ["matches the reference Signum"]),
    (
        "06.3",
        "an approximate sign",
        (signum_approximate_sign,),
        "incorrect",
        ["a difference of", "approximation", "`torch.sign` gives exactly"],
    ),
    ("06.3", "torch.where(m > 0, 1, -1)", (signum_where_sign,), "incorrect", ["an integer tensor", "0 at 0"]),
    (
        "06.3",
        "torch.where(m > 0, 1.0, -1.0) in m's dtype",
        (signum_where_sign_float,),
        "incorrect",
        ["gives −1", "`m.sign()` is 0 there"],
    ),
    ("06.3", "the average's weights swapped", (signum_swapped_weights,), "incorrect", ["weights of the average"]),
    ("06.3", "the package's own", (signum_update,), "incorrect", ["the package's own Signum; write your own"]),
    ("06.3", "a wrapper of the package's", (wraps_package_signum,), "incorrect", ["calls myoptim_helpers"]),
    ("06.3", "written out", (signum_written_out,), "correct", ["matches the reference Signum"]),
    ("06.3", "stub", (stub_signum_update,), "not attempted", ["stub_signum_update", "empty body"]),
    (
        "06.3",
        "torch-style momentum",
        (torch_style_signum,),
        "incorrect",
        ["momentum=0.9", "torch's SGD momentum", "(1 - momentum) * grad"],
    ),
    (
        "06.3",
        "buffer from the first gradient",
        (first_grad_signum,),
        "incorrect",
        ["starts at the first gradient", "zeros_like"],
    ),
    ("06.3", "sign of the gradient", (grad_sign_signum,), "incorrect", ["sign of the gradient", "sign(m)"]),
    (
        "06.3",
        "no sign",
        (no_sign_signum,),
        "incorrect",
        ["differs from the reference already at step 1", "the step is `lr * m`"],
    ),
    (
        "06.3",
        "gradient scaled in place",
        (grad_in_place_signum,),
        "incorrect",
        ["`grad_in_place_signum` changed `w.grad`"],
    ),
    (
        "06.3",
        "float32 buffer",
        (float32_buffer_signum,),
        "incorrect",
        ["is torch.float32, but the parameter is torch.float64", "torch.zeros_like(param)"],
    ),
    ("06.3", "a new buffer every step", (fresh_buffer_signum,), "incorrect", ["plain sign-SGD", "does not carry over"]),
    ("06.3", "buffer not returned", (forgets_return_signum,), "incorrect", ["`forgets_return_signum` returned None"]),
    (
        "06.3",
        "crashes on the first step",
        (crashes_on_first_step,),
        "error",
        ["raised AttributeError", "on the first step the buffer is None"],
    ),
    (
        "06.3",
        "returns a number",
        (returns_a_number,),
        "incorrect",
        ["the `momentum_buffer` returned by `returns_a_number` should be a Tensor, got float"],
    ),
    (
        "06.3",
        "float64 buffer",
        (float64_buffer_signum,),
        "incorrect",
        ["is torch.float64, but the parameter is torch.float32"],
    ),
    (
        "06.3",
        "sign as m / |m|",
        (division_sign_signum,),
        "incorrect",
        ["contains NaN or inf, where its gradient is 0", "`x.sign()` is 0 at 0"],
    ),
    (
        "06.3",
        "sign as where(m >= 0, 1, -1)",
        (where_sign_signum,),
        "incorrect",
        ["your sign gives ±1", "`m.sign()` is 0 there"],
    ),
    ("06.3", "hard-coded momentum", (hard_coded_momentum_signum,), "incorrect", ["differs"]),
    ("06.3", "hard-coded lr", (hard_coded_lr_signum,), "incorrect", ["differs"]),
    ("06.3", "the Signum class", (Signum,), "incorrect", ["should be the update function itself, got a class"]),
    # 06.4: lion_update, inside the reference Lion
    ("06.4", "reference", (REF_LION,), "correct", ["matches the reference Lion"]),
    ("06.4", "torch.where(c > 0, 1, -1)", (where_positive_lion,), "incorrect", ["gives −1", "`c.sign()` is 0 there"]),
    ("06.4", "decay inside the sign", (decay_inside_sign_lion,), "incorrect", ["decay is inside the sign"]),
    ("06.4", "ignores weight_decay", (ignores_weight_decay_lion,), "incorrect", ["ignores `weight_decay`"]),
    ("06.4", "a single beta", (single_beta_lion,), "incorrect", ["one beta does both jobs", "beta2 updates"]),
    ("06.4", "an approximate sign", (approximate_sign_lion,), "incorrect", ["approximation", "exactly"]),
    ("06.4", "the package's own", (lion_update,), "incorrect", ["the package's own Lion; write your own"]),
    ("06.4", "paper's formula, literally", (paper_formula_lion,), "correct", ["matches the reference Lion"]),
    ("06.4", "stub", (stub_lion_update,), "not attempted", ["stub_lion_update", "empty body"]),
    ("06.4", "momentum updated first", (momentum_first_lion,), "incorrect", ["updated before the step", "old m"]),
    ("06.4", "betas swapped", (swapped_betas_lion,), "incorrect", ["betas are swapped"]),
    (
        "06.4",
        "coupled weight decay",
        (coupled_decay_lion,),
        "incorrect",
        ["weight_decay=", "decoupled", "instead of adding `weight_decay * p` to the gradient"],
    ),
    (
        "06.4",
        "decay without lr",
        (decay_without_lr_lion,),
        "incorrect",
        ["scaled by the learning rate", "1 - lr * weight_decay"],
    ),
    ("06.4", "decay after the step", (decay_after_step_lion,), "incorrect", ["after the sign step", "θ_{t-1}"]),
    ("06.4", "sign of the momentum only", (momentum_sign_lion,), "incorrect", ["sign(m), the old momentum alone"]),
    (
        "06.4",
        "c computed in place on m",
        (in_place_c_lion,),
        "incorrect",
        ["built from `c` instead of from the old exp_avg", "computed in place", "no underscore"],
    ),
    (
        "06.4",
        "exp_avg = c, then updated",
        (m_from_c_lion,),
        "incorrect",
        ["built from `c` instead of from the old exp_avg"],
    ),
    ("06.4", "no (1 - beta2) factor", (m_without_factor_lion,), "incorrect", ["lacks its (1 − beta2) factor"]),
    ("06.4", "no (1 - beta1) factor", (c_without_factor_lion,), "incorrect", ["`c` lacks its (1 − beta1) factor"]),
    ("06.4", "sign as c / |c|", (division_sign_lion,), "incorrect", ["contains NaN or inf, where its gradient is 0"]),
    ("06.4", "sign as where(c >= 0, 1, -1)", (where_sign_lion,), "incorrect", ["your sign gives ±1"]),
    (
        "06.4",
        "float64 buffer",
        (float64_buffer_lion,),
        "incorrect",
        ["is torch.float64, but the parameter is torch.float32"],
    ),
    ("06.4", "the paper's betas hard-coded", (paper_betas_lion,), "incorrect", ["differs"]),
    (
        "06.4",
        "exp_avg from the first gradient",
        (first_grad_lion,),
        "incorrect",
        ["exp_avg starts at the first gradient", "zeros_like"],
    ),
    ("06.4", "the Lion class", (Lion,), "incorrect", ["should be the update function itself, got a class"]),
]


@pytest.mark.parametrize("key, label, answers, status, fragments", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_feedback(key, label, answers, status, fragments):
    fb = grade(key, *answers)
    assert fb.status == status, str(fb)
    for fragment in fragments:
        assert fragment in fb.message, f"{fragment!r} not in: {fb.message}"


def test_every_exercise_has_a_table_row_for_each_outcome():
    seen = {(key, status) for key, _, _, status, _ in CASES}
    for key in ("06.1", "06.2", "06.3", "06.4"):
        assert (key, "correct") in seen and (key, "not attempted") in seen
        wrong = [c for c in CASES if c[0] == key and c[3] in ("incorrect", "error")]
        assert len(wrong) >= 3, key


# ----------------------------------------------------------------------------- the references, by hand


def _one_param(value, grads, cls, **kwargs):
    """Run ``cls`` on a single float64 parameter fed the gradients ``grads``; return its values."""
    p = torch.tensor(value, dtype=torch.float64, requires_grad=True)
    opt = cls([p], **kwargs)
    values = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        values.append(p.item())
    return values, opt.state[p]


# Each row: optimizer, kwargs, start, gradients, values after each step (worked by hand), state.
HAND_WORKED = [
    # Signum, β = 0.5: m1 = 0.5·0.4 = 0.2 → +; m2 = 0.5·0.2 + 0.5·(−1) = −0.4 → −;
    # m3 = 0.5·(−0.4) + 0.5·0.3 = −0.05 → − (the buffer still remembers the big negative gradient).
    (Signum, {"lr": 0.1, "momentum": 0.5}, 1.0, [0.4, -1.0, 0.3], [0.9, 1.0, 1.1], ("momentum_buffer", -0.05)),
    # sign-SGD (momentum 0): the sign of each gradient, a zero gradient does not move.
    (Signum, {"lr": 0.25, "momentum": 0.0}, 0.0, [2.0, -0.001, 0.0], [-0.25, 0.0, 0.0], ("momentum_buffer", 0.0)),
    # Lion, β1 = 0.5, β2 = 0.75, λ = 0.1, lr = 0.1:
    # step 1: c = 0.5·0 + 0.5·0.4 = 0.2 → θ = 1 − 0.1·(1 + 0.1·1) = 0.89;  m = 0.25·0.4 = 0.1
    # step 2: c = 0.5·0.1 + 0.5·(−0.3) = −0.1 → θ = 0.89 − 0.1·(−1 + 0.089) = 0.9811;
    #         m = 0.75·0.1 + 0.25·(−0.3) = 0
    # step 3: c = 0 + 0.5·0.02 = 0.01 → θ = 0.9811 − 0.1·(1 + 0.09811) = 0.871289;
    #         m = 0.25·0.02 = 0.005
    (
        Lion,
        {"lr": 0.1, "betas": (0.5, 0.75), "weight_decay": 0.1},
        1.0,
        [0.4, -0.3, 0.02],
        [0.89, 0.9811, 0.871289],
        ("exp_avg", 0.005),
    ),
]


@pytest.mark.parametrize("cls, kwargs, start, grads, expected, state", HAND_WORKED, ids=["signum", "sign-sgd", "lion"])
def test_reference_matches_hand_worked_steps(cls, kwargs, start, grads, expected, state):
    values, opt_state = _one_param(start, grads, cls, **kwargs)
    assert values == pytest.approx(expected, rel=1e-12, abs=1e-12)
    key, value = state
    assert opt_state[key].item() == pytest.approx(value, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (Signum, {"lr": -1.0}, "Invalid learning rate: -1.0"),
        (Signum, {"momentum": 1.0}, "Invalid momentum value: 1.0"),
        (Signum, {"momentum": -0.1}, "Invalid momentum value: -0.1"),
        (Lion, {"lr": -1.0}, "Invalid learning rate: -1.0"),
        (Lion, {"betas": (1.0, 0.99)}, "Invalid beta parameter at index 0: 1.0"),
        (Lion, {"betas": (0.9, 1.5)}, "Invalid beta parameter at index 1: 1.5"),
        (Lion, {"weight_decay": -1.0}, "Invalid weight_decay value: -1.0"),
        (MomentumSGD, {"lr": -1.0}, "Invalid learning rate: -1.0"),
        (MomentumSGD, {"momentum": -1.0}, "Invalid momentum value: -1.0"),
    ],
)
def test_reference_validation_in_torchs_words(cls, kwargs, message):
    with pytest.raises(ValueError, match=f"^{message.replace('(', '[(]').replace(')', '[)]')}$"):
        cls([torch.zeros(1, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("kwargs", [{"lr": 0.1}, {"lr": 0.05, "momentum": 0.9}])
def test_momentum_sgd_reference_is_torch_exactly(kwargs):
    grads = [0.5, -0.25, 1.0, 0.125]
    ours, _ = _one_param(2.0, grads, MomentumSGD, **kwargs)
    theirs, _ = _one_param(2.0, grads, torch.optim.SGD, **kwargs)
    assert ours == theirs


def test_grading_leaves_global_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    dtype, grad_mode = torch.get_default_dtype(), torch.is_grad_enabled()
    for key, answers in (
        ("06.1", REF_SGD),
        ("06.2", (make_closure,)),
        ("06.3", (signum_update,)),
        ("06.4", (lion_update,)),
        ("06.1", (momentum_update, NoNoGradSGD)),
        ("06.2", (no_zero_grad,)),
    ):
        grade(key, *answers)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_default_dtype() == dtype and torch.is_grad_enabled() == grad_mode
