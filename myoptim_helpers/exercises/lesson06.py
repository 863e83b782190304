"""Checkers for lesson 06 · Custom optimizers: subclassing ``torch.optim.Optimizer``.

- 06.1 ``momentum_update`` + ``MomentumSGD``: a minimal SGD with momentum, split as torch
  splits it (a pure per-tensor update function, a class that does the bookkeeping),
  checked against ``torch.optim.SGD``.
- 06.2 ``make_closure``: the closure ``torch.optim.LBFGS`` calls, checked call by call.
- 06.3 ``signum_update``: sign-SGD with momentum (Bernstein et al., 2018), checked against
  :func:`signum_update`.
- 06.4 ``lion_update``: Lion (Chen et al., 2023), checked against :func:`lion_update`.

One harness (:mod:`._optimizer_runs`) grades every optimizer. It builds its own parameters
(``w``, ``b`` and a 0-d ``s`` take part in the loss, ``frozen`` never gets a gradient;
float64 or float32), runs the learner's optimizer and the reference side by side for a few
steps, and compares parameters and state after every step. An update function is run
inside a trusted class, so its mistakes are told apart from the class's. The loss at step
``t`` is a quadratic bowl plus a fixed "noise" term ``n_t · θ``, so gradients change sign
from step to step, as with minibatches (without that, a sign-based optimizer hides most
mistakes), and some gradients are exactly zero (where sign(0) = 0 matters). When a run differs, the
grader runs the known wrong variants of the exercise and names the one the learner's numbers match.

:class:`Signum` and :class:`Lion` (with their update functions) are the reference
implementations, written from the papers' pseudocode; the lesson also uses them for its
demonstrations.
"""

from __future__ import annotations

import inspect
from types import MappingProxyType

import torch

from ._assertions import _type_names, expect_callable, expect_number, fmt
from ._calling import call, expect_own_work
from ._engine import Draw, seed_of
from ._feedback import Reject, correct, fail
from ._optimizer_runs import (
    _Case,
    _grade_optimizer_class,
    _grade_update_function,
    _parameter_names,
    _UpdateSpec,
    _variant,
    _with_advice,
)
from ._registry import exercise
from ._steps import first_mismatch

__all__ = [
    "momentum_update",
    "MomentumSGD",
    "make_closure",
    "signum_update",
    "Signum",
    "lion_update",
    "Lion",
    "sign_method_runs",
]

_DTYPE = torch.float64


# ----------------------------------------------------------------------------- reference solutions


def momentum_update(param, grad, momentum_buffer, *, lr, momentum):
    """Take one SGD-with-momentum step on ``param`` in place; return the buffer (None if momentum is 0).

    torch's convention: ``momentum_buffer`` is None on the first step, then
    ``b_1 = g_1``, ``b_t = momentum * b_{t-1} + g_t`` and ``param = param - lr * b_t``.
    """
    if momentum != 0:
        if momentum_buffer is None:
            momentum_buffer = grad.clone()  # b_1 = g_1 (a copy, not p.grad itself)
        else:
            momentum_buffer.mul_(momentum).add_(grad)  # b = μ b + g
        grad = momentum_buffer
    param.add_(grad, alpha=-lr)  # θ = θ − η b
    return momentum_buffer


class MomentumSGD(torch.optim.Optimizer):
    """SGD with momentum in torch's convention; the maths is in :func:`momentum_update`."""

    def __init__(self, params, lr=1e-3, momentum=0.0):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()``'s loss, or None."""
        with torch.enable_grad():
            loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    state = self.state[p] if group["momentum"] != 0 else {}  # no state without momentum
                    state["momentum_buffer"] = momentum_update(
                        p, p.grad, state.get("momentum_buffer"), lr=group["lr"], momentum=group["momentum"]
                    )
        return loss


_MOMENTUM_SGD_SOLUTION = "\n\n\n".join(inspect.getsource(obj).strip("\n") for obj in (momentum_update, MomentumSGD))


def make_closure(optimizer, xy, f):
    """Return the closure LBFGS needs: clear the gradient, evaluate ``f(xy)``, backpropagate, return the loss."""

    def closure():
        optimizer.zero_grad()
        loss = f(xy)
        loss.backward()
        return loss

    return closure


def signum_update(param, grad, momentum_buffer, *, lr, momentum):
    """Take one Signum step on ``param`` in place; return the buffer (None on the first step).

    ``m = momentum * m + (1 - momentum) * grad`` from ``m_0 = 0``, then
    ``param = param - lr * sign(m)``.
    """
    if momentum_buffer is None:
        momentum_buffer = torch.zeros_like(param)  # m_0 = 0
    momentum_buffer.mul_(momentum).add_(grad, alpha=1 - momentum)  # m = β m + (1 − β) g
    param.add_(momentum_buffer.sign(), alpha=-lr)  # θ = θ − η sign(m)
    return momentum_buffer


class Signum(torch.optim.Optimizer):
    r"""Sign-SGD with momentum ("Signum"); ``momentum=0`` gives plain sign-SGD.

    Per parameter, with the buffer starting at zero (see :func:`signum_update`)::

        m     = momentum * m + (1 - momentum) * grad      # an average of gradients
        param = param - lr * sign(m)                      # by exactly lr, or 0 where m is 0

    Unlike torch's SGD, the buffer is an exponential *average* (the ``1 - momentum``
    factor) that starts at 0; with a sign in front, the scale of ``m`` does not matter,
    but the balance between old and new gradients does.

    State per parameter: ``momentum_buffer``.

    Reference: Bernstein, Wang, Azizzadenesheli, Anandkumar (2018), "signSGD: Compressed
    Optimisation for Non-Convex Problems", ICML (the optimiser they call Signum).
    https://arxiv.org/abs/1802.04434
    """

    def __init__(self, params, lr=1e-3, momentum=0.9):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()``'s loss, or None."""
        with torch.enable_grad():
            loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    state = self.state[p]
                    state["momentum_buffer"] = signum_update(
                        p, p.grad, state.get("momentum_buffer"), lr=group["lr"], momentum=group["momentum"]
                    )
        return loss


def lion_update(param, grad, exp_avg, *, lr, beta1, beta2, weight_decay):
    """Take one Lion step on ``param`` in place; return ``exp_avg`` (None on the first step).

    ``c = beta1 * m + (1 - beta1) * grad``; ``param = param - lr * (sign(c) + weight_decay * param)``;
    then ``m = beta2 * m + (1 - beta2) * grad``, from ``m_0 = 0``.
    """
    if exp_avg is None:
        exp_avg = torch.zeros_like(param)  # m_0 = 0
    c = exp_avg.mul(beta1).add_(grad, alpha=1 - beta1)  # c = β1 m + (1 − β1) g, m unchanged
    param.mul_(1 - lr * weight_decay)  # θ ← θ − η λ θ_{t−1} ...
    param.add_(c.sign(), alpha=-lr)  #       ... − η sign(c)
    exp_avg.mul_(beta2).add_(grad, alpha=1 - beta2)  # m = β2 m + (1 − β2) g
    return exp_avg


class Lion(torch.optim.Optimizer):
    r"""Lion ("EvoLved Sign Momentum"), with decoupled weight decay, as in the paper.

    Per parameter, with ``exp_avg`` (m) starting at zero (see :func:`lion_update`)::

        c     = beta1 * m + (1 - beta1) * grad              # interpolate: old momentum, new gradient
        param = param - lr * (sign(c) + weight_decay * param)
        m     = beta2 * m + (1 - beta2) * grad              # then update the momentum

    Two betas: ``beta1`` mixes for the *step*, ``beta2`` for the *memory*. The weight
    decay is decoupled (as in AdamW): it shrinks the parameter outside the sign and is
    scaled by ``lr``. Every coordinate moves by exactly ``lr`` (0 where ``c`` is 0, as
    sign(0) = 0; plus the decay), so Lion
    wants a learning rate 3-10x smaller than AdamW's.

    State per parameter: ``exp_avg``. Defaults are those of the paper's code
    (``lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0``); errors are AdamW's.

    Reference: Chen, Liang, Huang, Real, Wang, Liu, Pham, Dong, Luong, Hsieh, Lu, Le
    (2023), "Symbolic Discovery of Optimization Algorithms", NeurIPS, Algorithm 2.
    https://arxiv.org/abs/2302.06675
    """

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()``'s loss, or None."""
        with torch.enable_grad():
            loss = closure() if closure is not None else None
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is not None:
                    state = self.state[p]
                    state["exp_avg"] = lion_update(
                        p,
                        p.grad,
                        state.get("exp_avg"),
                        lr=group["lr"],
                        beta1=beta1,
                        beta2=beta2,
                        weight_decay=group["weight_decay"],
                    )
        return loss


def sign_method_runs(surface, steps, *, start, lr):
    """Return ``{"sign-SGD, lr=…": History, "Lion, lr=…": History}``: the reference
    :class:`Signum` (momentum 0) and :class:`Lion` on a 2-D ``surface``, for the lesson's
    picture; the classes stay here, out of the notebook, until the exercises are solved."""
    from .. import training  # imported here: only the lesson's demonstration needs it

    return {
        f"sign-SGD, lr={lr}": training.run(Signum, surface, steps, start=start, lr=lr, momentum=0.0),
        f"Lion, lr={lr}": training.run(Lion, surface, steps, start=start, lr=lr),
    }


# ----------------------------------------------------------------------------- 06.1 MomentumSGD


def _sgd_ema(p, g, state, h):
    if h["momentum"] == 0:
        p.add_(g, alpha=-h["lr"])
        return
    if "momentum_buffer" not in state:
        state["momentum_buffer"] = g.clone()
    else:
        state["momentum_buffer"].mul_(h["momentum"]).add_(g, alpha=1 - h["momentum"])
    p.add_(state["momentum_buffer"], alpha=-h["lr"])


def _sgd_ema_zero(p, g, state, h):
    buf = state.setdefault("momentum_buffer", torch.zeros_like(p))
    buf.mul_(h["momentum"]).add_(g, alpha=1 - h["momentum"])
    p.add_(buf if h["momentum"] else g, alpha=-h["lr"])


def _sgd_lr_inside(p, g, state, h):
    if h["momentum"] == 0:
        p.add_(g, alpha=-h["lr"])
        return
    if "momentum_buffer" not in state:
        state["momentum_buffer"] = g.mul(h["lr"])
    else:
        state["momentum_buffer"].mul_(h["momentum"]).add_(g, alpha=h["lr"])
    p.sub_(state["momentum_buffer"])


def _sgd_torch_rule(p, g, state, h, *, sign=-1.0, use_buffer=True):
    if h["momentum"] != 0:
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = g.clone()
        else:
            state["momentum_buffer"].mul_(h["momentum"]).add_(g)
    d = state["momentum_buffer"] if (h["momentum"] != 0 and use_buffer) else g
    p.add_(d, alpha=sign * h["lr"])


def _sgd_nesterov(p, g, state, h):
    if "momentum_buffer" not in state:
        state["momentum_buffer"] = g.clone()
    else:
        state["momentum_buffer"].mul_(h["momentum"]).add_(g)
    p.add_(g.add(state["momentum_buffer"], alpha=h["momentum"]), alpha=-h["lr"])


_SGD_DEFAULTS = MappingProxyType({"lr": 1e-3, "momentum": 0.0})

_SGD_VARIANTS = (
    (
        "the parameters move uphill: subtract the step, `p.add_(buf, alpha=-lr)`.",
        _variant(lambda p, g, s, h: _sgd_torch_rule(p, g, s, h, sign=1.0), _SGD_DEFAULTS),
        False,
    ),
    (
        "this is plain SGD: the buffer does not carry over from one step to the next. Update the "
        "buffer of the previous step (kept in `self.state[p]`) instead of starting a new one.",
        _variant(_sgd_torch_rule, _SGD_DEFAULTS, fresh_state=True),
        False,
    ),
    (
        "the buffer is updated but the step uses the raw gradient: move by `lr * buf`, not `lr * grad`.",
        _variant(lambda p, g, s, h: _sgd_torch_rule(p, g, s, h, use_buffer=False), _SGD_DEFAULTS),
        False,
    ),
    (
        "`buf = momentum * buf + (1 - momentum) * grad` is an exponential average; torch's SGD "
        "adds the whole gradient: `buf = momentum * buf + grad` (dampening=0).",
        _variant(_sgd_ema, _SGD_DEFAULTS),
        False,
    ),
    (
        "`buf = momentum * buf + (1 - momentum) * grad` from a zero buffer is an exponential "
        "average; torch's SGD starts from the first gradient and adds the whole gradient: "
        "`buf = momentum * buf + grad`.",
        _variant(_sgd_ema_zero, _SGD_DEFAULTS),
        False,
    ),
    (
        "this is Nesterov momentum (`grad + momentum * buf`); plain momentum steps along `buf`.",
        _variant(_sgd_nesterov, _SGD_DEFAULTS),
        False,
    ),
    (
        "the second param group has its own lr and momentum, but your step used the "
        "constructor's: read the hyperparameters from each `group` (`group['lr']`), "
        "not from `self.defaults` or attributes such as `self.lr`.",
        _variant(_sgd_torch_rule, _SGD_DEFAULTS, hyper="defaults"),
        False,
    ),
    (
        "your buffer is lr times torch's: torch keeps lr outside the buffer "
        "(`buf = momentum * buf + grad`, then `p -= lr * buf`), which the paper by Sutskever "
        "et al. puts inside (`v = momentum * v + lr * grad`, `p -= v`). The two agree only "
        "while lr is constant.",
        _variant(_sgd_lr_inside, _SGD_DEFAULTS),
        True,
    ),
)


def _sgd_cases():
    """06.1's configurations, drawn from a seed of the key: no momentum, momentum in float32,
    large gradients, and two groups of which one has no momentum."""
    rng = Draw(seed_of("06.1"))
    lr = [rng.choice((0.1, 0.05, 0.02, 0.2)) for _ in range(4)]
    mu = [rng.choice((0.9, 0.5, 0.8, 0.95)) for _ in range(3)]
    return (
        _Case(f"lr={lr[0]}", {"lr": lr[0]}),
        _Case(f"lr={lr[1]}, momentum={mu[0]}", {"lr": lr[1], "momentum": mu[0]}, dtype=torch.float32),
        _Case(f"lr={lr[2] / 100:g}, momentum={mu[1]}", {"lr": lr[2] / 100, "momentum": mu[1]}, scale=1e3),
        _Case(
            f"two param groups (w: lr={lr[1]}, momentum={mu[2]}; b and s: lr={lr[3]}, momentum=0)",
            {"lr": lr[1], "momentum": mu[2]},
            groups=lambda P: [
                {"params": [P["w"]]},
                {"params": [P["b"], P["s"], P["frozen"]], "lr": lr[3], "momentum": 0.0},
            ],
        ),
    )


_SGD_CASES = _sgd_cases()


_SGD_SPEC = _UpdateSpec(
    key="momentum_buffer",
    hyper=lambda g: {"lr": g["lr"], "momentum": g["momentum"]},
    needs_buffer=lambda g: g["momentum"] != 0,
)


@exercise(
    "06.1",
    title="A minimal SGD with momentum",
    solution=_MOMENTUM_SGD_SOLUTION,
    hints=[
        "`momentum_update`: with momentum, on the first step (`momentum_buffer is None`) the buffer "
        "is a copy of the gradient, `grad.clone()`; afterwards `momentum_buffer.mul_(momentum)"
        ".add_(grad)`. Then `param.add_(buffer, alpha=-lr)` and `return momentum_buffer`.",
        "`__init__`: validate first, in torch's words (`raise ValueError(f\"Invalid learning rate: "
        '{lr}")`, `f"Invalid momentum value: {momentum}"`), then '
        '`super().__init__(params, {"lr": lr, "momentum": momentum})`.',
        "`step`: `with torch.enable_grad(): loss = closure() if closure is not None else None`; "
        'loop `for group in self.param_groups:` and `for p in group["params"]:`, skip '
        '`p.grad is None`, then `state = self.state[p]`, `state["momentum_buffer"] = '
        'momentum_update(p, p.grad, state.get("momentum_buffer"), lr=group["lr"], '
        'momentum=group["momentum"])`; finally `return loss`.',
    ],
)
def grade_momentum_sgd(momentum_update_fn, momentum_sgd_class):
    """06.1: the update function inside a trusted class, then the learner's class, against torch."""
    common = dict(
        reference="torch",
        make_reference=torch.optim.SGD,
        defaults=_SGD_DEFAULTS,
        cases=_SGD_CASES,
        variants=_SGD_VARIANTS,
    )
    _grade_update_function(momentum_update_fn, "momentum_update", spec=_SGD_SPEC, **common)
    _grade_optimizer_class(
        momentum_sgd_class,
        "MomentumSGD",
        validation=(
            ({"lr": -0.1}, "Invalid learning rate: -0.1"),
            ({"lr": 0.1, "momentum": -0.5}, "Invalid momentum value: -0.5"),
        ),
        round_trip_case=_SGD_CASES[3],
        **common,
    )
    # Only once both pass: a wrong answer that wraps a reference keeps its own diagnosis.
    expect_own_work(momentum_update_fn, "momentum_update", "SGD")
    expect_own_work(momentum_sgd_class, "MomentumSGD", "SGD")
    return correct(
        "`momentum_update` and `MomentumSGD` match torch.optim.SGD at every step "
        f"({len(_SGD_CASES)} configurations: float32 and float64, a 0-d parameter, "
        "zero and large gradients, param groups with and without momentum); the class "
        "validates like torch, skips parameters without a gradient, returns the "
        "closure's loss and resumes exactly from its state_dict."
    )


# ----------------------------------------------------------------------------- 06.2 make_closure


def _rosenbrock(xy):
    return (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2


def _tilted_bowl(xy):
    return 0.5 * xy[0] ** 2 + 2.0 * xy[1] ** 2 + 0.5 * xy[0] * xy[1] - xy[0]


def _quartic_3d(xy):
    return (xy**4).sum() / 4 + (xy[0] - 1) ** 2 + xy[1] * xy[2]


_CLOSURE_CASES = (
    ("the Rosenbrock function", _rosenbrock, (-1.2, 1.0)),
    ("a quartic in 3 float32 coordinates", _quartic_3d, (1.5, -0.5, 2.0)),
    ("a tilted bowl", _tilted_bowl, (2.0, -1.0)),
)
_LBFGS_KWARGS = MappingProxyType({"lr": 1.0, "max_iter": 10, "history_size": 10, "line_search_fn": "strong_wolfe"})
_LBFGS_STEPS = 2


def _closure_dtype(start):
    """float64 for the 2-D cases, float32 for the 3-D one (another dtype, another shape)."""
    return _DTYPE if len(start) == 2 else torch.float32


def _true_loss_and_grad(f, xy):
    with torch.enable_grad():
        z = xy.detach().clone().requires_grad_()
        loss = f(z)
        (grad,) = torch.autograd.grad(loss, z)
    return loss.detach(), grad


def _watched(closure, f, xy, calls):
    """Wrap the learner's closure: after every call, check the loss it returned and xy.grad."""
    returned = []

    def watched():
        before = None if xy.grad is None else xy.grad.detach().clone()
        out = closure()
        calls.append(1)
        n = len(calls)
        if out is None:
            fail(
                "your closure returned None: end it with `return loss`; LBFGS reads the loss "
                "from the value the closure returns."
            )
        if any(out is seen for seen in returned):
            fail(
                "your closure returned the same loss tensor at two calls: the loss was computed "
                "once, outside the closure; compute `loss = f(xy)` inside it, at every call."
            )
        returned.append(out)
        value = expect_number(out, "the value your closure returned")
        loss, grad = _true_loss_and_grad(f, xy)
        if xy.grad is None:
            fail(
                f"after call {n} of your closure, xy.grad is None: the closure must call "
                "`optimizer.zero_grad()` first and `loss.backward()` last (on the `optimizer` "
                "and `xy` passed to make_closure, not on global variables)."
            )
        if first_mismatch([xy.grad], [grad]) is not None:
            if first_mismatch([value], [loss.item()]) is not None and (
                before is None or first_mismatch([xy.grad], [before + grad]) is not None
            ):
                fail(
                    f"at call {n}, your closure returned {fmt(value, loss)} where f(xy) is "
                    f"{fmt(loss, value)}, and its gradient is another one too: it computes "
                    "another function than the `f` it was given. Use `loss = f(xy)`."
                )
            if before is not None and first_mismatch([xy.grad], [before + grad]) is None:
                fail(
                    f"the gradients pile up: at call {n} of your closure, xy.grad is the sum of "
                    "this call's gradient and the previous one. LBFGS calls the closure several "
                    "times per step, so the closure must start with `optimizer.zero_grad()`."
                )
            got_text = ", ".join(fmt(a, b) for a, b in zip(xy.grad.tolist(), grad.tolist()))
            want_text = ", ".join(fmt(b, a) for a, b in zip(xy.grad.tolist(), grad.tolist()))
            fail(
                f"after call {n} of your closure, xy.grad is [{got_text}], but the gradient of "
                f"f at xy is [{want_text}]: call `loss.backward()` once, on `loss = f(xy)`."
            )
        if first_mismatch([value], [loss.item()]) is not None:
            fail(
                f"your closure returned {fmt(value, loss)}, but f(xy) is {fmt(loss, value)}: "
                "return the loss you called backward() on."
            )
        return out

    return watched


# A loss computed once, outside the closure, is backpropagated again at the next call,
# after LBFGS has moved xy in place: autograd's errors, with the cause they point to.
_CLOSURE_ADVICE = tuple(
    (
        needle,
        "the loss was computed once, outside the closure, and LBFGS calls the closure "
        "again after moving xy: compute `loss = f(xy)` inside the closure, at every call.",
    )
    for needle in ("backward through the graph a second time", "modified by an inplace operation")
)


def _lbfgs_run(make, f, start):
    xy = torch.tensor(start, dtype=_closure_dtype(start), requires_grad=True)
    opt = torch.optim.LBFGS([xy], **_LBFGS_KWARGS)
    closure = make(opt, xy, f)
    positions = []
    for _ in range(_LBFGS_STEPS):
        opt.step(closure)
        positions.append(xy.detach().clone())
    return positions, opt.state[xy]["func_evals"]


@exercise(
    "06.2",
    title="A closure for LBFGS",
    solution=make_closure,
    hints=[
        "Inside `make_closure`, define `def closure():` and end with `return closure` "
        "(the function itself, not `closure()`).",
        "The closure does what one training step does before `step()`: `optimizer.zero_grad()`, "
        "`loss = f(xy)`, `loss.backward()`, and then `return loss`.",
    ],
)
def grade_make_closure(make_closure_fn):
    """06.2: run LBFGS with the learner's closure and check every call of it."""
    expect_callable(make_closure_fn, "`make_closure`")
    for label, f, start in _CLOSURE_CASES:
        xy = torch.tensor(start, dtype=_closure_dtype(start), requires_grad=True)
        opt = torch.optim.LBFGS([xy], **_LBFGS_KWARGS)
        closure = call(make_closure_fn, opt, xy, f, name="`make_closure`", may_modify=_parameter_names(make_closure_fn))
        if not torch.equal(xy.detach(), torch.tensor(start, dtype=xy.dtype)):
            fail(
                "`make_closure` changed the values of `xy`: it should only build the closure; "
                "the optimizer moves xy when it calls step."
            )
        if closure is None:
            fail("`make_closure` returned None: end it with `return closure` (the function, without calling it).")
        if isinstance(closure, (torch.Tensor, float, int)):
            fail(
                f"`make_closure` returned {_type_names(type(closure))}, the loss itself: return "
                "the function `closure` without calling it (`return closure`, not "
                "`return closure()`); LBFGS calls it as often as it needs."
            )
        expect_callable(closure, "the value returned by `make_closure`")
        if xy.grad is not None:
            fail(
                "`make_closure` already ran a backward pass: it should only define the closure "
                "and return it; the optimizer decides when to call it."
            )
        calls = []
        positions = []
        for _ in range(_LBFGS_STEPS):
            try:
                call(opt.step, _watched(closure, f, xy, calls), name="your closure")
            except Reject as rej:
                raise _with_advice(rej, _CLOSURE_ADVICE) from None
            positions.append(xy.detach().clone())
        expected, evals = _lbfgs_run(make_closure, f, start)
        m = first_mismatch(positions, expected, reference="the reference closure")
        if m is not None:
            fail(f"on {label}: {m}.")
        if len(calls) != evals:
            fail(
                f"on {label}, LBFGS called your closure {len(calls)} times; with the reference "
                f"closure it needs {evals}."
            )
    return correct(
        f"LBFGS with your closure follows the reference exactly on "
        f"{len(_CLOSURE_CASES)} functions: every call cleared the gradient, "
        "backpropagated once and returned the loss."
    )


# ----------------------------------------------------------------------------- 06.3 Signum


def _signum_rule(
    p,
    g,
    state,
    h,
    *,
    init="zeros",
    add=None,
    sign=True,
    direction=-1.0,
    use_grad=False,
    sign_at_zero=False,
    swap=False,
):
    beta = h["momentum"]
    if swap:  # the weights of the average exchanged: (1 − β) on the buffer, β on the gradient
        beta = 1 - beta
    if "momentum_buffer" not in state:
        state["momentum_buffer"] = torch.zeros_like(p) if init == "zeros" else g.clone()
        if init == "zeros":
            state["momentum_buffer"].add_(g, alpha=1 - beta if add is None else 1.0)
    else:
        state["momentum_buffer"].mul_(beta).add_(g, alpha=1 - beta if add is None else 1.0)
    d = g if use_grad else state["momentum_buffer"]
    if sign_at_zero:  # a hand-made sign: +1 (or −1, with `> 0`) where the buffer is exactly 0
        at_zero = -1.0 if sign_at_zero == "minus" else 1.0
        p.add_(torch.where(d > 0, 1.0, torch.where(d < 0, -1.0, at_zero)).to(d.dtype), alpha=direction * h["lr"])
        return
    p.add_(d.sign() if sign else d, alpha=direction * h["lr"])


_SIGN_APPROXIMATION = (
    "your step differs from the reference only in its last digits: is your sign an "
    "approximation (m / (|m| + eps), tanh), or computed in another dtype "
    "(`torch.where(m > 0, 1, -1)` is an integer tensor, and lr times it is float32)? "
    "`torch.sign` gives exactly ±1, and 0 at 0, in the buffer's dtype, so every coordinate "
    "moves by exactly lr or not at all."
)

_SIGNUM_DEFAULTS = MappingProxyType({"lr": 1e-3, "momentum": 0.9})

_SIGNUM_VARIANTS = (
    (
        "the parameters move uphill: subtract the step, `p.add_(m.sign(), alpha=-lr)`.",
        _variant(lambda p, g, s, h: _signum_rule(p, g, s, h, direction=1.0), _SIGNUM_DEFAULTS),
        False,
    ),
    (
        "the step is `lr * m`; Signum moves by `lr * sign(m)`, so every coordinate moves by "
        "exactly lr (or 0 where m is 0).",
        _variant(lambda p, g, s, h: _signum_rule(p, g, s, h, sign=False), _SIGNUM_DEFAULTS),
        False,
    ),
    (
        "the step uses the sign of the gradient, which is sign-SGD without momentum: move by "
        "`lr * sign(m)`, the sign of the averaged buffer.",
        _variant(lambda p, g, s, h: _signum_rule(p, g, s, h, use_grad=True), _SIGNUM_DEFAULTS),
        False,
    ),
    (
        "this is torch's SGD momentum (`m = momentum * m + grad`); Signum averages: "
        "`m = momentum * m + (1 - momentum) * grad`.",
        _variant(lambda p, g, s, h: _signum_rule(p, g, s, h, init="grad", add=1.0), _SIGNUM_DEFAULTS),
        False,
    ),
    (
        "`m = momentum * m + grad` lets the old buffer weigh too much; Signum averages: "
        "`m = momentum * m + (1 - momentum) * grad`.",
        _variant(lambda p, g, s, h: _signum_rule(p, g, s, h, add=1.0), _SIGNUM_DEFAULTS),
        False,
    ),
    (
        "where the buffer is exactly 0 (a zero gradient on a zero buffer), your sign gives ±1 and "
        "moves the parameter; `m.sign()` is 0 there, and the parameter stays.",
        _variant(lambda p, g, s, h: _signum_rule(p, g, s, h, sign_at_zero=True), _SIGNUM_DEFAULTS),
        False,
    ),
    (
        "where the buffer is exactly 0 (a zero gradient on a zero buffer), your sign gives −1 "
        "(`torch.where(m > 0, 1, -1)`) and moves the parameter; `m.sign()` is 0 there, and the "
        "parameter stays.",
        _variant(lambda p, g, s, h: _signum_rule(p, g, s, h, sign_at_zero="minus"), _SIGNUM_DEFAULTS),
        False,
    ),
    (
        "the two weights of the average are exchanged: the old buffer keeps `momentum`, the new "
        "gradient gets `1 - momentum`: `m = momentum * m + (1 - momentum) * grad`.",
        _variant(lambda p, g, s, h: _signum_rule(p, g, s, h, swap=True), _SIGNUM_DEFAULTS),
        False,
    ),
    (
        "the buffer starts at the first gradient; in Signum it starts at zero "
        "(`torch.zeros_like(p)`), so the first average is `(1 - momentum) * grad`.",
        _variant(lambda p, g, s, h: _signum_rule(p, g, s, h, init="grad"), _SIGNUM_DEFAULTS),
        True,
    ),
    (
        "this is plain sign-SGD: the buffer does not carry over from one step to the next. "
        "Update the buffer you are given instead of starting a new one.",
        _variant(_signum_rule, _SIGNUM_DEFAULTS, fresh_state=True),
        False,
    ),
    (
        "the second param group has its own lr and momentum, but your step used the "
        "constructor's: read them from each `group`.",
        _variant(_signum_rule, _SIGNUM_DEFAULTS, hyper="defaults"),
        False,
    ),
)


def _signum_cases():
    """06.3's configurations, drawn from a seed of the key."""
    rng = Draw(seed_of("06.3"))
    lr = [rng.choice((0.05, 0.02, 0.1, 0.03)) for _ in range(3)]
    mu = [rng.choice((0.9, 0.5, 0.8, 0.95, 0.7)) for _ in range(3)]
    return (
        _Case(f"lr={lr[0]}, momentum={mu[0]}", {"lr": lr[0], "momentum": mu[0]}),
        _Case(f"lr={lr[1]}, momentum=0 (sign-SGD)", {"lr": lr[1], "momentum": 0.0}, dtype=torch.float32),
        _Case(f"lr={lr[2]}, momentum={mu[1]}", {"lr": lr[2], "momentum": mu[1]}, dtype=torch.float32, scale=1e3),
        _Case(
            f"two param groups (w: lr={lr[0]}, momentum={mu[2]}; b and s: lr={lr[2]}, momentum={mu[0]})",
            {"lr": lr[0], "momentum": mu[2]},
            groups=lambda P: [
                {"params": [P["w"]]},
                {"params": [P["b"], P["s"], P["frozen"]], "lr": lr[2], "momentum": mu[0]},
            ],
        ),
    )


_SIGNUM_CASES = _signum_cases()


_SIGNUM_SPEC = _UpdateSpec(
    key="momentum_buffer", hyper=lambda g: {"lr": g["lr"], "momentum": g["momentum"]}, needs_buffer=lambda g: True
)


@exercise(
    "06.3",
    title="Signum: sign-SGD with momentum",
    solution=signum_update,
    hints=[
        "First step: `momentum_buffer` is None; start from zeros, `torch.zeros_like(param)`.",
        "Average, then take the sign: `momentum_buffer.mul_(momentum).add_(grad, alpha=1 - momentum)`, "
        "then `param.add_(momentum_buffer.sign(), alpha=-lr)`, and `return momentum_buffer`.",
    ],
)
def grade_signum(signum_update_fn):
    """06.3: the learner's ``signum_update`` inside Signum, against the reference, step by step."""
    _grade_update_function(
        signum_update_fn,
        "signum_update",
        spec=_SIGNUM_SPEC,
        reference="the reference",
        make_reference=Signum,
        defaults=_SIGNUM_DEFAULTS,
        cases=_SIGNUM_CASES,
        variants=_SIGNUM_VARIANTS,
        near_miss=_SIGN_APPROXIMATION,
    )
    expect_own_work(signum_update_fn, "signum_update", "Signum")
    return correct(
        f"`signum_update` matches the reference Signum at every step "
        f"({len(_SIGNUM_CASES)} configurations: momentum, sign-SGD, float32 and "
        "float64, zero and large gradients, param groups)."
    )


# ----------------------------------------------------------------------------- 06.4 Lion


def _lion_rule(
    p,
    g,
    state,
    h,
    *,
    order="paper",
    swap=False,
    decay="decoupled",
    sign=True,
    init="zeros",
    interpolate=True,
    c_in_place=False,
    m_full=False,
    c_full=False,
    sign_at_zero=None,
    one_beta=None,
):
    beta1, beta2 = h["betas"]
    if swap:
        beta1, beta2 = beta2, beta1
    if one_beta is not None:  # a single beta for both the step and the memory
        beta1 = beta2 = h["betas"][one_beta]
    lr, wd = h["lr"], h["weight_decay"]
    if decay == "coupled":
        g = g.add(p, alpha=wd)
    if "exp_avg" not in state:
        state["exp_avg"] = torch.zeros_like(p) if init == "zeros" else g.clone()
    m = state["exp_avg"]
    alpha_m = 1.0 if m_full else 1 - beta2
    alpha_c = 1.0 if c_full else 1 - beta1
    if order == "momentum_first":
        m.mul_(beta2).add_(g, alpha=alpha_m)
    if c_in_place:
        c = m.mul_(beta1).add_(g, alpha=alpha_c)
    else:
        c = m.mul(beta1).add_(g, alpha=alpha_c) if interpolate else m.clone()
    if sign_at_zero is not None:  # a hand-made sign: ±1 (or NaN) where c is exactly 0
        if sign_at_zero in ("ones", "minus"):
            at_zero = 1.0 if sign_at_zero == "ones" else -1.0
            c = torch.where(c > 0, 1.0, torch.where(c < 0, -1.0, at_zero)).to(c.dtype)
        else:
            c = c / c.abs()
    if decay == "inside_sign":  # the decay term added to c, under the sign
        c = c + wd * p
    _lion_apply(p, c, lr, wd, decay, sign)
    if order != "momentum_first":
        m.mul_(beta2).add_(g, alpha=alpha_m)


def _lion_apply(p, c, lr, wd, decay, sign):
    step = c.sign() if sign else c
    if decay in ("inside_sign", "none"):
        p.add_(step, alpha=-lr)
    elif decay == "decoupled":
        p.mul_(1 - lr * wd)
        p.add_(step, alpha=-lr)
    elif decay == "after":
        p.add_(step, alpha=-lr)
        p.mul_(1 - lr * wd)
    elif decay == "no_lr":
        p.mul_(1 - wd)
        p.add_(step, alpha=-lr)
    else:  # coupled: already inside the gradient
        p.add_(step, alpha=-lr)


_LION_DEFAULTS = MappingProxyType({"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0})


def _lion(**options):
    return _variant(lambda p, g, s, h: _lion_rule(p, g, s, h, **options), _LION_DEFAULTS)


_LION_VARIANTS = (
    ("the step is `lr * c`; Lion moves by `lr * sign(c)`.", _lion(sign=False), False),
    (
        "the momentum is updated before the step, so `c` mixes the gradient in twice: compute "
        "`c = beta1 * m + (1 - beta1) * grad` from the old m, step, and only then update "
        "`m = beta2 * m + (1 - beta2) * grad`.",
        _lion(order="momentum_first"),
        False,
    ),
    (
        "your new exp_avg is built from `c` instead of from the old exp_avg (as when `c` is "
        "computed in place, `m.mul_(beta1)...`, or `exp_avg = c` before its update): `c` must "
        "leave m unchanged (`c = m.mul(beta1).add(grad, alpha=1 - beta1)`, no underscore on "
        "`mul`), and m is updated once, from the old m, with beta2.",
        _lion(c_in_place=True),
        False,
    ),
    (
        "the betas are swapped: beta1 interpolates for the step (`c`), beta2 updates the momentum (`m`).",
        _lion(swap=True),
        False,
    ),
    (
        "the momentum update lacks its (1 − beta2) factor: `m = beta2 * m + (1 - beta2) * grad`, "
        "an average, not `beta2 * m + grad`.",
        _lion(m_full=True),
        False,
    ),
    ("`c` lacks its (1 − beta1) factor: `c = beta1 * m + (1 - beta1) * grad`.", _lion(c_full=True), False),
    (
        "where `c` is exactly 0 (a zero gradient on a zero momentum), your sign gives ±1 and moves "
        "the parameter; `c.sign()` is 0 there, and the parameter only decays.",
        _lion(sign_at_zero="ones"),
        False,
    ),
    (
        "where `c` is exactly 0 (a zero gradient on a zero momentum), your sign gives −1 "
        "(`torch.where(c > 0, 1, -1)`) and moves the parameter; `c.sign()` is 0 there, and the "
        "parameter only decays.",
        _lion(sign_at_zero="minus"),
        False,
    ),
    (
        "the weight decay is inside the sign (`sign(c + weight_decay * p)`), where it only tips "
        "a coordinate's sign; Lion's decay is outside: `p.mul_(1 - lr * weight_decay)`, then "
        "`p.add_(sign(c), alpha=-lr)`.",
        _lion(decay="inside_sign"),
        False,
    ),
    (
        "your step ignores `weight_decay`: shrink the parameter first, `p.mul_(1 - lr * weight_decay)`.",
        _lion(decay="none"),
        False,
    ),
    (
        "one beta does both jobs (beta1 for the memory too); Lion has two: beta1 mixes for "
        "the step (`c`), beta2 updates the momentum (`m = beta2 * m + (1 - beta2) * grad`).",
        _lion(one_beta=0),
        False,
    ),
    (
        "one beta does both jobs (beta2 for the step too); Lion has two: beta1 mixes for the "
        "step (`c = beta1 * m + (1 - beta1) * grad`), beta2 updates the momentum.",
        _lion(one_beta=1),
        False,
    ),
    (
        "the step uses sign(m), the old momentum alone: interpolate with the new gradient first, "
        "`c = beta1 * m + (1 - beta1) * grad`.",
        _lion(interpolate=False),
        False,
    ),
    (
        "Lion's weight decay is decoupled: shrink the parameter outside the sign, "
        "`p.mul_(1 - lr * weight_decay)`, instead of adding `weight_decay * p` to the gradient.",
        _lion(decay="coupled"),
        False,
    ),
    (
        "the decay is scaled by the learning rate: `p.mul_(1 - lr * weight_decay)`, not `p.mul_(1 - weight_decay)`.",
        _lion(decay="no_lr"),
        False,
    ),
    (
        "the decay shrinks the parameter after the sign step; the paper decays θ_{t-1}, the "
        "parameter before the step: `p.mul_(1 - lr * weight_decay)` first, then "
        "`p.add_(sign(c), alpha=-lr)`.",
        _lion(decay="after"),
        False,
    ),
    ("exp_avg starts at the first gradient; Lion starts it at zero (`torch.zeros_like(p)`).", _lion(init="grad"), True),
    (
        "this is sign-SGD: `exp_avg` does not carry over from one step to the next. Update the "
        "`exp_avg` you are given instead of starting a new one.",
        _variant(_lion_rule, _LION_DEFAULTS, fresh_state=True),
        False,
    ),
    (
        "the second param group has its own hyperparameters, but your step used the "
        "constructor's: read them from each `group`.",
        _variant(_lion_rule, _LION_DEFAULTS, hyper="defaults"),
        False,
    ),
)


def _lion_cases():
    """06.4's configurations, drawn from a seed of the key: the paper's betas, betas of
    their own with weight decay in float32, large gradients, and two groups."""
    rng = Draw(seed_of("06.4"))
    lr = [rng.choice((0.05, 0.02, 0.1, 0.03)) for _ in range(3)]
    betas = [(rng.choice((0.5, 0.8, 0.7)), rng.choice((0.9, 0.95, 0.8))) for _ in range(2)]
    wd = [rng.choice((0.8, 0.5, 1.5)) for _ in range(2)]
    return (
        _Case(f"lr={lr[0]}", {"lr": lr[0]}),
        _Case(
            f"lr={lr[1]}, betas={betas[0]}, weight_decay={wd[0]}",
            {"lr": lr[1], "betas": betas[0], "weight_decay": wd[0]},
            dtype=torch.float32,
        ),
        _Case(
            f"lr={lr[2]}, betas={betas[1]}, weight_decay={wd[1]}",
            {"lr": lr[2], "betas": betas[1], "weight_decay": wd[1]},
            scale=1e3,
        ),
        _Case(
            f"two param groups (w: lr={lr[0]}, weight_decay={wd[0]}; b and s: lr={lr[2]}, "
            f"betas={betas[1]}, weight_decay=0)",
            {"lr": lr[0], "weight_decay": wd[0]},
            groups=lambda P: [
                {"params": [P["w"]]},
                {"params": [P["b"], P["s"], P["frozen"]], "lr": lr[2], "betas": betas[1], "weight_decay": 0.0},
            ],
        ),
    )


_LION_CASES = _lion_cases()


_LION_SPEC = _UpdateSpec(
    key="exp_avg",
    hyper=lambda g: {"lr": g["lr"], "beta1": g["betas"][0], "beta2": g["betas"][1], "weight_decay": g["weight_decay"]},
    needs_buffer=lambda g: True,
)


@exercise(
    "06.4",
    title="Lion",
    solution=lion_update,
    hints=[
        "First step: `exp_avg` is None; start from zeros, `torch.zeros_like(param)`.",
        "`c = exp_avg.mul(beta1).add_(grad, alpha=1 - beta1)`: out of place (`mul`, not `mul_`), "
        "because m must not change yet.",
        "Then `param.mul_(1 - lr * weight_decay)`, `param.add_(c.sign(), alpha=-lr)`, and last "
        "`exp_avg.mul_(beta2).add_(grad, alpha=1 - beta2)`; `return exp_avg`.",
    ],
)
def grade_lion(lion_update_fn):
    """06.4: the learner's ``lion_update`` inside Lion, against the reference (the paper's Algorithm 2)."""
    _grade_update_function(
        lion_update_fn,
        "lion_update",
        spec=_LION_SPEC,
        reference="the reference",
        make_reference=Lion,
        defaults=_LION_DEFAULTS,
        cases=_LION_CASES,
        variants=_LION_VARIANTS,
        near_miss=_SIGN_APPROXIMATION,
    )
    expect_own_work(lion_update_fn, "lion_update", "Lion")
    return correct(
        f"`lion_update` matches the reference Lion (Chen et al., 2023) at every step "
        f"({len(_LION_CASES)} configurations: betas and weight decay of their own, "
        "float32 and float64, zero and large gradients, param groups)."
    )
