"""Lesson 06's checkers: the reference is accepted, stubs are "not attempted", and realistic
wrong answers get the specific feedback that names the mistake.

One table drives every case: (key, label, answer, expected status, fragments of the message).
The answers below are written the way a learner would write them, one mistake each.
A second table checks the reference Signum and Lion against numbers worked out by hand
from the papers' pseudocode, so the checkers' references are themselves tested.
"""

import pytest
import torch
from torch.optim import Optimizer

from myoptim_helpers.exercises import grade
from myoptim_helpers.exercises.lesson06 import Lion, MomentumSGD, Signum, make_closure


def _closure_loss(closure):
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


# ----------------------------------------------------------------------------- 06.1 answers

class StubSGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0):
        ...

    @torch.no_grad()
    def step(self, closure=None):
        ...


class InitOnlySGD(Optimizer):
    """__init__ written, step still the stub; instantiated once (torch wraps step)."""

    def __init__(self, params, lr=1e-3, momentum=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum})

    def step(self, closure=None):
        ...


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


class ForgetfulSGD(MomentumSGD):
    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf = p.grad.clone()          # a new buffer every step
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

def stub_make_closure(optimizer, xy, f):
    ...


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

class StubSignum(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.9):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        ...


def _signum_class(update, name):
    """A Signum whose per-parameter rule is ``update(p, grad, state, lr, momentum)``."""

    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    update(p, p.grad, self.state[p], group["lr"], group["momentum"])
        return loss

    return type(name, (Signum,), {"step": torch.no_grad()(step)})


def _torch_style_momentum(p, g, state, lr, mu):
    if "momentum_buffer" not in state:
        state["momentum_buffer"] = g.clone()
    else:
        state["momentum_buffer"].mul_(mu).add_(g)
    p.add_(state["momentum_buffer"].sign(), alpha=-lr)


def _buffer_from_first_grad(p, g, state, lr, mu):
    if "momentum_buffer" not in state:
        state["momentum_buffer"] = g.clone()
    else:
        state["momentum_buffer"].mul_(mu).add_(g, alpha=1 - mu)
    p.add_(state["momentum_buffer"].sign(), alpha=-lr)


def _sign_of_grad(p, g, state, lr, mu):
    m = state.setdefault("momentum_buffer", torch.zeros_like(p))
    m.mul_(mu).add_(g, alpha=1 - mu)
    p.add_(g.sign(), alpha=-lr)


def _no_sign(p, g, state, lr, mu):
    m = state.setdefault("momentum_buffer", torch.zeros_like(p))
    m.mul_(mu).add_(g, alpha=1 - mu)
    p.add_(m, alpha=-lr)


def _in_place_grad(p, g, state, lr, mu):
    m = state.setdefault("momentum_buffer", torch.zeros_like(p))
    m.mul_(mu).add_(g.mul_(1 - mu))
    p.add_(m.sign(), alpha=-lr)


TorchMomentumSignum = _signum_class(_torch_style_momentum, "TorchMomentumSignum")
FirstGradSignum = _signum_class(_buffer_from_first_grad, "FirstGradSignum")
GradSignSignum = _signum_class(_sign_of_grad, "GradSignSignum")
NoSignSignum = _signum_class(_no_sign, "NoSignSignum")
GradInPlaceSignum = _signum_class(_in_place_grad, "GradInPlaceSignum")


class MomentumAboveOneSignum(Signum):
    def __init__(self, params, lr=1e-3, momentum=0.9):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        Optimizer.__init__(self, params, {"lr": lr, "momentum": momentum})


# ----------------------------------------------------------------------------- 06.4 answers

class StubLion(Optimizer):
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        ...

    @torch.no_grad()
    def step(self, closure=None):
        ...


def _lion_class(update, name, base=Lion):
    """A Lion whose per-parameter rule is ``update(p, grad, m, lr, beta1, beta2, wd)``."""

    def step(self, closure=None):
        loss = _closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "exp_avg" not in state:
                    state["exp_avg"] = torch.zeros_like(p)
                update(p, p.grad, state["exp_avg"], group["lr"], beta1, beta2,
                       group["weight_decay"])
        return loss

    return type(name, (base,), {"step": torch.no_grad()(step)})


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
    c = m.mul_(beta1).add_(g, alpha=1 - beta1)      # modifies m itself
    p.mul_(1 - lr * wd).add_(c.sign(), alpha=-lr)
    m.mul_(beta2).add_(g, alpha=1 - beta2)


def _paper_formula(p, g, m, lr, beta1, beta2, wd):
    c = beta1 * m + (1 - beta1) * g
    p.sub_(lr * (torch.sign(c) + wd * p))
    m.copy_(beta2 * m + (1 - beta2) * g)


MomentumFirstLion = _lion_class(_momentum_first, "MomentumFirstLion")
SwappedBetasLion = _lion_class(_betas_swapped, "SwappedBetasLion")
CoupledDecayLion = _lion_class(_coupled_decay, "CoupledDecayLion")
DecayWithoutLrLion = _lion_class(_decay_without_lr, "DecayWithoutLrLion")
DecayAfterStepLion = _lion_class(_decay_after_step, "DecayAfterStepLion")
MomentumSignLion = _lion_class(_momentum_sign_only, "MomentumSignLion")
InPlaceCLion = _lion_class(_in_place_c, "InPlaceCLion")
PaperFormulaLion = _lion_class(_paper_formula, "PaperFormulaLion")


class NoBetaCheckLion(Lion):
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        Optimizer.__init__(self, params, {"lr": lr, "betas": betas, "weight_decay": weight_decay})


class AdamDefaultsLion(Lion):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0):
        super().__init__(params, lr, betas, weight_decay)


class BetasAsAttributesLion(Lion):
    """Unpacks the betas in __init__ and never puts them in the param group."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        self.beta1, self.beta2 = betas
        Optimizer.__init__(self, params, {"lr": lr, "weight_decay": weight_decay})


# ----------------------------------------------------------------------------- the table

CASES = [
    # 06.1: MomentumSGD against torch.optim.SGD
    ("06.1", "reference", MomentumSGD, "correct", ["matches torch.optim.SGD at every step"]),
    ("06.1", "stub", StubSGD, "not attempted", ["StubSGD.__init__", "empty body"]),
    ("06.1", "step still a stub", InitOnlySGD, "not attempted", ["InitOnlySGD.step", "empty body"]),
    ("06.1", "an instance", MomentumSGD([torch.zeros(1, requires_grad=True)]), "incorrect",
     ["pass the class", "not an instance"]),
    ("06.1", "a function", make_closure, "incorrect", ["should be a class", "got function"]),
    ("06.1", "no validation", NoValidationSGD, "incorrect",
     ["lr=-0.1", "should raise ValueError('Invalid learning rate: -0.1')", "raised nothing"]),
    ("06.1", "own words", OwnWordsSGD, "incorrect",
     ["raised ValueError('lr must be non-negative')", "torch's words"]),
    ("06.1", "default lr 0.01", WrongDefaultSGD, "incorrect", ["default lr should be 0.001, got 0.01"]),
    ("06.1", "no @torch.no_grad()", NoNoGradSGD, "error",
     ["raised RuntimeError", "leaf Variable", "@torch.no_grad()"]),
    ("06.1", "grad None not skipped", NoneGradSGD, "error",
     ["raised TypeError", "if p.grad is None: continue"]),
    ("06.1", "EMA momentum", EmaSGD, "incorrect",
     ["momentum=0.9", "differs from torch already at step 1", "exponential average",
      "buf = momentum * buf + grad"]),
    ("06.1", "buffer not kept", ForgetfulSGD, "incorrect",
     ["matches torch for step 1, differs at step 2", "plain SGD", "self.state[p]"]),
    ("06.1", "self.lr, not group lr", SelfLrSGD, "incorrect",
     ["two param groups", "group['lr']", "self.defaults"]),
    ("06.1", "lr inside the buffer", LrInsideSGD, "incorrect",
     ["the parameters match torch", "state['momentum_buffer'] of param 'w'", "lr times torch's",
      "Sutskever"]),
    ("06.1", "buffer named velocity", VelocityKeySGD, "incorrect",
     ["holds 'velocity'", "torch keeps 'momentum_buffer'"]),
    ("06.1", "state in an attribute", AttributeStateSGD, "incorrect",
     ["param 'w' holds nothing", "torch keeps 'momentum_buffer'", "state_dict()` saves only"]),
    ("06.1", "first step from an attribute counter", CounterAttributeSGD, "incorrect",
     ["after saving at step 3", "resumed run differs at step 4", "self.state[p]"]),
    ("06.1", "step without closure", NoClosureSGD, "error",
     ["positional argument", "def step(self, closure=None)"]),
    ("06.1", "closure under no_grad", ClosureNoGradSGD, "error",
     ["does not require grad", "with torch.enable_grad(): loss = closure()"]),
    ("06.1", "loss not returned", DropsLossSGD, "incorrect", ["returned None", "return the loss"]),
    ("06.1", "grad modified in place", GradInPlaceSGD, "incorrect",
     ["changed `w.grad`", "never modify it"]),
    ("06.1", "eager state", EagerStateSGD, "incorrect",
     ["created state ['momentum_buffer']", "whose `.grad` is None", "lazily"]),
    # 06.2: a closure for LBFGS
    ("06.2", "reference", make_closure, "correct", ["follows the reference exactly"]),
    ("06.2", "returns loss.item()", returns_item, "correct", ["follows the reference exactly"]),
    ("06.2", "stub", stub_make_closure, "not attempted", ["make_closure", "empty body"]),
    ("06.2", "no zero_grad", no_zero_grad, "incorrect",
     ["gradients pile up", "call 2", "optimizer.zero_grad()"]),
    ("06.2", "no backward", no_backward, "incorrect", ["xy.grad is None", "loss.backward()"]),
    ("06.2", "zero_grad after backward", zero_grad_last, "incorrect",
     ["xy.grad is None", "zero_grad()` first"]),
    ("06.2", "closure returns None", returns_nothing, "incorrect", ["returned None", "return loss"]),
    ("06.2", "returns closure()", calls_it, "incorrect",
     ["returned a Tensor", "return closure`, not", "`return closure()`"]),
    ("06.2", "forgets return closure", forgets_return_closure, "incorrect",
     ["returned None", "return closure"]),
    ("06.2", "backward twice", backward_twice, "incorrect",
     ["xy.grad is [", "but the gradient of f at xy is", "once"]),
    ("06.2", "loss under no_grad", under_no_grad, "error",
     ["your closure raised RuntimeError", "does not require grad", "in `closure`"]),
    ("06.2", "not a function", 0.5, "incorrect", ["should be a function"]),
    # 06.3: Signum
    ("06.3", "reference", Signum, "correct", ["matches the reference Signum"]),
    ("06.3", "stub", StubSignum, "not attempted", ["StubSignum.step", "empty body"]),
    ("06.3", "torch-style momentum", TorchMomentumSignum, "incorrect",
     ["momentum=0.9", "torch's SGD momentum", "(1 - momentum) * grad"]),
    ("06.3", "buffer from the first gradient", FirstGradSignum, "incorrect",
     ["starts at the first gradient", "zeros_like"]),
    ("06.3", "sign of the gradient", GradSignSignum, "incorrect",
     ["sign of the gradient", "sign(m)"]),
    ("06.3", "no sign", NoSignSignum, "incorrect", ["differs from the reference already at step 1",
                                                    "the step is `lr * m`"]),
    ("06.3", "gradient scaled in place", GradInPlaceSignum, "incorrect", ["changed `w.grad`"]),
    ("06.3", "momentum 1 accepted", MomentumAboveOneSignum, "incorrect",
     ["momentum=1.0", "Invalid momentum value: 1.0", "raised nothing"]),
    # 06.4: Lion
    ("06.4", "reference", Lion, "correct", ["matches the reference Lion"]),
    ("06.4", "paper's formula, literally", PaperFormulaLion, "correct", ["matches the reference Lion"]),
    ("06.4", "stub", StubLion, "not attempted", ["StubLion.__init__", "empty body"]),
    ("06.4", "momentum updated first", MomentumFirstLion, "incorrect",
     ["weight_decay=0.8: matches the reference for steps 1–5, differs at step 6",
      "updated before the step", "old m"]),
    ("06.4", "betas swapped", SwappedBetasLion, "incorrect", ["betas are swapped"]),
    ("06.4", "coupled weight decay", CoupledDecayLion, "incorrect",
     ["weight_decay=0.8", "decoupled", "instead of adding `weight_decay * p` to the gradient"]),
    ("06.4", "decay without lr", DecayWithoutLrLion, "incorrect",
     ["scaled by the learning rate", "1 - lr * weight_decay"]),
    ("06.4", "decay after the step", DecayAfterStepLion, "incorrect",
     ["after the sign step", "θ_{t-1}"]),
    ("06.4", "sign of the momentum only", MomentumSignLion, "incorrect",
     ["sign(m), the old momentum alone"]),
    ("06.4", "c computed in place on m", InPlaceCLion, "incorrect",
     ["with lr=0.05:", "computed in place on the momentum", "no underscore"]),
    ("06.4", "betas not validated", NoBetaCheckLion, "incorrect",
     ["betas=(1.0, 0.99)", "Invalid beta parameter at index 0: 1.0"]),
    ("06.4", "Adam's defaults", AdamDefaultsLion, "incorrect", ["default lr should be 0.0001"]),
    ("06.4", "betas kept as attributes", BetasAsAttributesLion, "incorrect",
     ["no 'betas' in its param group", "defaults"]),
]


@pytest.mark.parametrize("key, label, answer, status, fragments", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_feedback(key, label, answer, status, fragments):
    fb = grade(key, answer)
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
    (Signum, {"lr": 0.1, "momentum": 0.5}, 1.0, [0.4, -1.0, 0.3], [0.9, 1.0, 1.1],
     ("momentum_buffer", -0.05)),
    # sign-SGD (momentum 0): the sign of each gradient, a zero gradient does not move.
    (Signum, {"lr": 0.25, "momentum": 0.0}, 0.0, [2.0, -0.001, 0.0], [-0.25, 0.0, 0.0],
     ("momentum_buffer", 0.0)),
    # Lion, β1 = 0.5, β2 = 0.75, λ = 0.1, lr = 0.1:
    # step 1: c = 0.5·0 + 0.5·0.4 = 0.2 → θ = 1 − 0.1·(1 + 0.1·1) = 0.89;  m = 0.25·0.4 = 0.1
    # step 2: c = 0.5·0.1 + 0.5·(−0.3) = −0.1 → θ = 0.89 − 0.1·(−1 + 0.089) = 0.9811;
    #         m = 0.75·0.1 + 0.25·(−0.3) = 0
    # step 3: c = 0 + 0.5·0.02 = 0.01 → θ = 0.9811 − 0.1·(1 + 0.09811) = 0.871289;
    #         m = 0.25·0.02 = 0.005
    (Lion, {"lr": 0.1, "betas": (0.5, 0.75), "weight_decay": 0.1}, 1.0, [0.4, -0.3, 0.02],
     [0.89, 0.9811, 0.871289], ("exp_avg", 0.005)),
]


@pytest.mark.parametrize("cls, kwargs, start, grads, expected, state", HAND_WORKED,
                         ids=["signum", "sign-sgd", "lion"])
def test_reference_matches_hand_worked_steps(cls, kwargs, start, grads, expected, state):
    values, opt_state = _one_param(start, grads, cls, **kwargs)
    assert values == pytest.approx(expected, rel=1e-12, abs=1e-12)
    key, value = state
    assert opt_state[key].item() == pytest.approx(value, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("cls, kwargs, message", [
    (Signum, {"lr": -1.0}, "Invalid learning rate: -1.0"),
    (Signum, {"momentum": 1.0}, "Invalid momentum value: 1.0"),
    (Signum, {"momentum": -0.1}, "Invalid momentum value: -0.1"),
    (Lion, {"lr": -1.0}, "Invalid learning rate: -1.0"),
    (Lion, {"betas": (1.0, 0.99)}, "Invalid beta parameter at index 0: 1.0"),
    (Lion, {"betas": (0.9, 1.5)}, "Invalid beta parameter at index 1: 1.5"),
    (Lion, {"weight_decay": -1.0}, "Invalid weight_decay value: -1.0"),
    (MomentumSGD, {"lr": -1.0}, "Invalid learning rate: -1.0"),
    (MomentumSGD, {"momentum": -1.0}, "Invalid momentum value: -1.0"),
])
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
    for key, answer in (("06.1", MomentumSGD), ("06.2", make_closure), ("06.3", Signum),
                        ("06.4", Lion), ("06.1", NoNoGradSGD), ("06.2", no_zero_grad)):
        grade(key, answer)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_default_dtype() == dtype and torch.is_grad_enabled() == grad_mode
