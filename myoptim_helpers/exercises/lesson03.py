"""Checkers for lesson 03 · SGD: a learning-rate range, two steps by hand, SGD with momentum.

- 03.1 ``lr_range``: every learning rate in it must bring plain ``torch.optim.SGD`` below a
  loss of 0.01 on the ravine within 50 steps, and the range must be nearly the widest one.
- 03.2 ``w_after_two, buffer_after_two``: one parameter, two steps of
  ``torch.optim.SGD(lr=0.1, momentum=0.9, dampening=0.75)`` predicted by hand.
- 03.3 ``sgd_momentum_step``: one step of SGD with momentum, dampening, Nesterov, weight
  decay and maximize for one tensor, run next to ``torch.optim.SGD`` for five steps in 24
  configurations drawn at check time: every combination of the flags (twice), momentum,
  dampening, weight decay and lr drawn away from the lesson's values, float32 and float64,
  shapes from 0-dim to 3-D, zero, negative and large gradients, lr halved after step 3.

Every reference is torch itself. When an answer is wrong, the grader runs the known wrong
variants of the exercise (buffer started at zero, the paper's lr inside the buffer,
Nesterov along the buffer, the sign of maximize, ...) and names the one the answer matches.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from types import MappingProxyType

import torch

from ._assertions import as_plain, expect_number, expect_tensor, fmt
from ._engine import Mistake, Spec, config, draw_configs, flag_grid, grade_spec
from ._feedback import Reject, correct, fail, incorrect
from ._registry import exercise
from ._steps import first_mismatch

F64 = torch.float64


# ----------------------------------------------------------------------------- 03.1

RANGE_STEPS = 50
RANGE_TARGET = 0.01
RANGE_SLACK = 0.02
# The widest range, measured by bisection with torch.optim.SGD (loss after 50 steps equals
# 0.01 at both ends); tests/test_exercises_03.py derives it again from the closed form
# x_t = −4 (1 − 0.2 lr)^t, y_t = 2 (1 − 4 lr)^t.
RANGE_LOW = 0.24742691120948954
RANGE_HIGH = 0.4838205095326592
RANGE_GRID = 11  # learning rates tried from lr_low to lr_high, both included

_LR_RANGE_SOLUTION = """\
lr_range = (0.25, 0.48)   # the widest is 0.2474 to 0.4838: the loss after 50 steps is 0.01 at both ends
"""


def _ravine_run(lr):
    from .. import training  # imported here: training is only needed when grading 03.1

    with torch.enable_grad():  # even if the notebook has switched gradients off
        return training.run(torch.optim.SGD, "ravine", RANGE_STEPS, lr=lr)


def _reaches_target(lr) -> bool:
    run = _ravine_run(lr)
    return not run.diverged and run.final_loss < RANGE_TARGET


def _why_it_fails(lr, run) -> str:
    """Say which direction of the ravine keeps the loss above the target at ``lr``."""
    x, y = run.final_position
    head = (
        f"lr={lr:.4g} in your range overflows at step {run.diverged_at}"
        if run.diverged
        else f"lr={lr:.4g} in your range ends at loss {run.final_loss:.3g} after {RANGE_STEPS} "
        f"steps (target < {RANGE_TARGET})"
    )
    factor_y = 1 - 4 * lr
    if run.diverged or abs(factor_y) > 1 or math.isclose(abs(factor_y), 1.0):
        effect = (
            "never shrinks: it bounces between +2 and −2"
            if math.isclose(abs(factor_y), 1.0)
            else "grows: plain SGD diverges once lr > 2/4"
        )
        return f"{head}: y is multiplied by 1 − 4·lr = {factor_y:.3g} per step, so it {effect}. Lower lr_high."
    if 0.1 * x * x >= 2 * y * y:
        return (
            f"{head}, still at x = {x:.3g}: x shrinks by only 1 − 0.2·lr = {1 - 0.2 * lr:.3g} "
            "per step, so the point crawls along the valley. Raise lr_low."
        )
    return (
        f"{head}, still at y = {y:.3g}: y is multiplied by 1 − 4·lr = {factor_y:.3g} per "
        "step, so it zigzags across the valley and shrinks slowly. Lower lr_high."
    )


def _pair(answer, name):
    answer = as_plain(answer)
    if isinstance(answer, torch.Tensor) and answer.dim() == 1:
        answer = answer.tolist()
    if isinstance(answer, (str, bytes)) or not isinstance(answer, (tuple, list)):
        what = "a single number" if isinstance(answer, numbers.Real) else type(answer).__name__
        fail(f"{name} should be a pair (lr_low, lr_high), got {what}.")
    if len(answer) != 2:
        fail(f"{name} should hold two numbers (lr_low, lr_high), got {len(answer)}.")
    return (expect_number(answer[0], f"lr_low ({name}[0])"), expect_number(answer[1], f"lr_high ({name}[1])"))


@exercise(
    "03.1",
    title="A range of learning rates that works",
    solution=_LR_RANGE_SOLUTION,
    hints=[
        "On the ravine one step multiplies x by 1 − 0.2·lr and y by 1 − 4·lr. The loss after 50 "
        "steps is 0.1·x² + 2·y²: both factors must be small enough in size.",
        "Too small an lr leaves x far from 0 (the factor 1 − 0.2·lr is close to 1); an lr close to "
        "0.5 leaves y zigzagging (1 − 4·lr is close to −1). Try "
        '`training.run(torch.optim.SGD, "ravine", 50, lr=lr).final_loss` for lr = 0.2, 0.25, 0.3, '
        "..., 0.5.",
    ],
)
def grade_lr_range(lr_range):
    """Every lr in lr_range must reach loss < RANGE_TARGET in RANGE_STEPS plain SGD steps."""
    low, high = _pair(lr_range, "lr_range")
    if low <= 0 or high <= 0:
        bad = low if low <= 0 else high
        if bad < 0:
            return incorrect(f"torch.optim.SGD rejects lr={bad:g}: ValueError: Invalid learning rate: {bad}")
        return incorrect("with lr=0 SGD never moves: both ends must be positive.")
    if low >= high:
        return incorrect(f"lr_low ({low:g}) should be smaller than lr_high ({high:g}).")
    for i in range(RANGE_GRID):
        lr = low + (high - low) * i / (RANGE_GRID - 1)
        run = _ravine_run(lr)
        if run.diverged or run.final_loss >= RANGE_TARGET:
            return incorrect(_why_it_fails(lr, run))
    wider = []
    if low > RANGE_LOW + RANGE_SLACK:
        wider.append(f"lr={low - RANGE_SLACK:.4g} works too, so lr_low can go lower")
    if high < RANGE_HIGH - RANGE_SLACK:
        wider.append(f"lr={high + RANGE_SLACK:.4g} works too, so lr_high can go higher")
    if wider:
        return incorrect(
            f"every lr from {low:g} to {high:g} works, but the range can be wider: " + "; ".join(wider) + "."
        )
    return correct(
        f"every lr from {low:g} to {high:g} reaches loss < {RANGE_TARGET} in "
        f"{RANGE_STEPS} steps (the widest range is {RANGE_LOW:.4f} to "
        f"{RANGE_HIGH:.4f}): a factor of only {RANGE_HIGH / RANGE_LOW:.2f}, because "
        "the valley is 20 times steeper across than along."
    )


# ----------------------------------------------------------------------------- 03.2

PREDICT = MappingProxyType({"w": 1.0, "target": 3.0, "lr": 0.1, "momentum": 0.9, "dampening": 0.75})
PREDICT_ATOL = 1e-6

_PREDICT_SOLUTION = """\
# step 1: g_1 = 2(1 − 3) = −4,  b_1 = g_1 = −4 (no dampening on step 1),  w_1 = 1 − 0.1·(−4) = 1.4
# step 2: g_2 = 2(1.4 − 3) = −3.2,  b_2 = 0.9·(−4) + (1 − 0.75)·(−3.2) = −4.4,  w_2 = 1.4 − 0.1·(−4.4)
w_after_two = 1.84
buffer_after_two = -4.4
"""


def _torch_two_steps():
    """Return (w, momentum_buffer) after two steps of torch.optim.SGD on (w − 3)²."""
    w = torch.tensor([PREDICT["w"]], dtype=F64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=PREDICT["lr"], momentum=PREDICT["momentum"], dampening=PREDICT["dampening"])
    with torch.enable_grad():
        for _ in range(2):
            opt.zero_grad()
            ((w - PREDICT["target"]) ** 2).sum().backward()
            opt.step()
    return w.item(), opt.state[w]["momentum_buffer"].item()


def _frozen(**options):
    """A read-only mapping of keyword arguments (tables of mistakes stay constant)."""
    return MappingProxyType(options)


def _hand_steps(steps=2, *, first="gradient", damp="1-d", momentum=True, sign=-1, grad_factor=2.0, buffer_scale=1.0):
    """Two steps in plain Python with one mistake switched on; return (w, what is reported as the buffer)."""
    lr, mu, d = PREDICT["lr"], PREDICT["momentum"], PREDICT["dampening"]
    w, buf = PREDICT["w"], None
    for _ in range(steps):
        g = grad_factor * (w - PREDICT["target"])
        scale = {"1-d": 1 - d, "d": d, "none": 1.0}[damp]
        if not momentum:
            buf = g
        elif buf is None:
            buf = g if first == "gradient" else scale * g  # "zero": b_0 = 0, then the usual update
        else:
            buf = mu * buf + scale * g
        w = w + sign * lr * buf
    return w, buffer_scale * buf


_W_MISTAKES = (
    (
        _frozen(first="zero"),
        "is what you get when dampening already applies at step 1 (a buffer started at 0): torch's "
        "first buffer is the first gradient itself, b_1 = g_1, and dampening starts at step 2.",
    ),
    (
        _frozen(damp="none"),
        "is what you get without dampening: from step 2 the gradient enters the buffer times (1 − dampening) = 0.25.",
    ),
    (
        _frozen(damp="d"),
        "is what you get when the new gradient is multiplied by dampening (0.75); it is multiplied "
        "by 1 − dampening = 0.25.",
    ),
    (
        _frozen(momentum=False),
        "is two steps of plain SGD: with momentum the second step goes along the buffer "
        "b_2 = 0.9·b_1 + 0.25·g_2, not along g_2.",
    ),
    (_frozen(steps=1), "is w after one step; the exercise asks for two."),
    (
        _frozen(sign=+1),
        "moves w away from 3, uphill: SGD subtracts, w_t = w_(t−1) − lr·b_t (and the gradients are negative here).",
    ),
    (_frozen(grad_factor=1.0), "uses the gradient w − 3; the gradient of (w − 3)² is 2(w − 3)."),
)

_BUFFER_MISTAKES = (
    (_frozen(first="zero"), _W_MISTAKES[0][1]),
    (_frozen(damp="none"), _W_MISTAKES[1][1]),
    (_frozen(damp="d"), _W_MISTAKES[2][1]),
    (_frozen(steps=1), "is the buffer after one step; the exercise asks for two."),
    (
        _frozen(buffer_scale=PREDICT["lr"]),
        "is lr times torch's buffer, the paper's velocity v = lr·b: torch's buffer holds gradients, "
        "and lr is applied outside it.",
    ),
    (
        _frozen(buffer_scale=-PREDICT["lr"]),
        "is −lr times torch's buffer, Sutskever et al.'s velocity v_t = μ·v_(t−1) − lr·g_t: torch's "
        "buffer holds gradients, and lr is applied outside it.",
    ),
    (
        _frozen(buffer_scale=-1.0),
        "has the wrong sign: the buffer adds up gradients, and the gradient 2(w − 3) is negative while w < 3.",
    ),
    (_frozen(momentum=False), "is the second gradient g_2; the buffer is 0.9·b_1 + 0.25·g_2."),
    (_frozen(grad_factor=1.0), _W_MISTAKES[6][1]),
)


def _diagnose_value(value, expected, mistakes, name):
    if math.isclose(value, expected, rel_tol=0, abs_tol=PREDICT_ATOL):
        return None
    for mistake, cause in mistakes:
        w, buf = _hand_steps(**mistake)
        variant = w if name == "w_after_two" else buf
        if math.isclose(value, variant, rel_tol=0, abs_tol=PREDICT_ATOL):
            return f"{name} = {fmt(value)} {cause}"
    return (
        f"{name} = {fmt(value)} is not what torch gives. Go step by step: g_1 at w = 1, "
        "b_1 = g_1, w_1 = w − lr·b_1; then g_2 at w_1, b_2 = 0.9·b_1 + (1 − 0.75)·g_2, "
        "w_2 = w_1 − lr·b_2."
    )


@exercise(
    "03.2",
    title="Predict two steps with momentum",
    solution=_PREDICT_SOLUTION,
    prediction=_torch_two_steps,
    hints=[
        "Step 1: the gradient 2(w − 3) at w = 1 is −4. torch's first buffer is this gradient "
        "itself (dampening is not applied on the first step), and w moves by −lr·b_1.",
        "Step 2: a new gradient at the new w, then b_2 = momentum·b_1 + (1 − dampening)·g_2 and w_2 = w_1 − lr·b_2.",
    ],
)
def grade_two_steps(w_after_two, buffer_after_two):
    """w and its momentum_buffer after two steps of SGD(lr=0.1, momentum=0.9, dampening=0.75)."""
    w = expect_number(w_after_two, "w_after_two")
    buf = expect_number(buffer_after_two, "buffer_after_two")
    w_ref, buf_ref = _torch_two_steps()
    w_problem = _diagnose_value(w, w_ref, _W_MISTAKES, "w_after_two")
    if w_problem is not None:
        return incorrect(w_problem)
    buf_problem = _diagnose_value(buf, buf_ref, _BUFFER_MISTAKES, "buffer_after_two")
    if buf_problem is not None:
        return incorrect(f"w_after_two is right; {buf_problem}")
    return correct(
        f"w = {w_ref:.4g} and momentum_buffer = {buf_ref:.4g} after two steps, as "
        "torch.optim.SGD computes them (the first buffer is g_1, undampened)."
    )


# ----------------------------------------------------------------------------- 03.3


def sgd_momentum_step(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize):
    """Return (param, momentum_buffer) after one step of torch.optim.SGD with momentum > 0."""
    g = -grad if maximize else grad  # g_t (a new tensor: grad stays untouched)
    if weight_decay != 0:
        g = g + weight_decay * param  # g_t + λ θ_{t−1}, after the sign of maximize
    if momentum_buffer is None:
        momentum_buffer = g.clone()  # b_1 = g_1, no dampening
    else:
        momentum_buffer = momentum * momentum_buffer + (1 - dampening) * g  # b_t = μ b_{t−1} + (1 − d) g_t
    step = g + momentum * momentum_buffer if nesterov else momentum_buffer  # Nesterov: g_t + μ b_t
    return param - lr * step, momentum_buffer  # θ_t = θ_{t−1} − lr · step


STEPS = 5
# The gradient fed at each step: a zero gradient (the buffer must still decay), all
# negative, and entries of very different sizes.
GRAD_KINDS = ("normal", "zero", "negative", "normal", "mixed")
# Every combination of the flags that interact (nesterov needs dampening 0, as in torch).
FLAGS = tuple(
    f
    for f in flag_grid(
        nesterov=(False, True), maximize=(False, True), dampening=(False, True), weight_decay=(False, True)
    )
    if not (f["nesterov"] and f["dampening"])
)


def _build_config(draw, i):
    """Configuration ``i``: the i-th flag combination, everything else drawn."""
    flags = FLAGS[i % len(FLAGS)]
    large = i % 4 == 3  # gradients of about 1e4 (in float64: float32 would round away the test)
    hyper = {
        "momentum": draw.uniform(0.5, 0.95),
        "nesterov": flags["nesterov"],
        "dampening": draw.uniform(0.1, 0.6) if flags["dampening"] else 0.0,
        "weight_decay": draw.uniform(0.01, 0.2) if flags["weight_decay"] else 0.0,
        "maximize": flags["maximize"],
    }
    shape = draw.shape()
    dtype = F64 if large else draw.dtype()
    lr = draw.uniform(0.02, 0.3)
    param = draw.tensor(shape, dtype)
    grads = tuple(draw.tensor(shape, dtype, "large" if large and kind == "normal" else kind) for kind in GRAD_KINDS)
    options = ", ".join(
        [f"momentum={hyper['momentum']:g}"]
        + [f"{k}={hyper[k]:g}" for k in ("dampening", "weight_decay") if hyper[k]]
        + [f"{k}=True" for k in ("nesterov", "maximize") if hyper[k]]
    )
    label = (
        f"{options}, lr={lr:g} halved after step 3, a {dtype} parameter of shape "
        f"{tuple(shape)}{' and gradients of about 1e4' if large else ''}"
    )
    return config(
        label, hyper=MappingProxyType(hyper), lrs=(lr,) * 3 + (lr / 2,) * (STEPS - 3), param=param, grads=grads
    )


def _configs():
    return draw_configs("03.3", _build_config, 2 * len(FLAGS))


def _torch_run(cfg):
    """torch.optim.SGD's momentum_buffer and parameter after each step."""
    param = cfg["param"].clone().requires_grad_(True)
    opt = torch.optim.SGD([param], lr=cfg["lrs"][0], **cfg["hyper"])
    steps = []
    for lr, grad in zip(cfg["lrs"], cfg["grads"]):
        opt.param_groups[0]["lr"] = lr
        param.grad = grad.clone()
        opt.step()
        steps.append({"momentum_buffer": opt.state[param]["momentum_buffer"].clone(), "param": param.detach().clone()})
    return steps


def _unpack(result, step, shape):
    """Check the (param, momentum_buffer) returned at ``step``."""
    where = f"at step {step}"
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        what = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
        fail(f"`sgd_momentum_step` should return two tensors (param, momentum_buffer); {where} it returned {what}.")
    param, buf = result
    if buf is None:
        fail(
            f"`sgd_momentum_step` returned None as the momentum_buffer {where}: with momentum > 0 "
            "torch keeps a buffer from the first step on (a copy of the first gradient)."
        )
    for label, value in (("param", param), ("momentum_buffer", buf)):
        expect_tensor(value, f"the {label} returned {where}", shape=shape)
    return param, buf


def _run(invoke, cfg):
    """Run a step function (the learner's, through ``call``, or a variant) for STEPS steps."""
    param, buf, steps = cfg["param"].clone(), None, []
    for step, (lr, grad) in enumerate(zip(cfg["lrs"], cfg["grads"]), start=1):
        grad = grad.clone()
        try:
            result = invoke(param.clone(), grad, None if buf is None else buf.clone(), lr=lr, **cfg["hyper"])
        except Reject as rej:
            if "argument `grad`" in rej.feedback.message:
                raise Reject(
                    dataclasses.replace(
                        rej.feedback,
                        message=(
                            rej.feedback.message + " In an optimizer `grad` is `p.grad`, which "
                            "other code still reads: for maximize write `g = -grad`, not "
                            "`grad.neg_()`."
                        ),
                    )
                ) from None
            raise
        param, buf = _unpack(result, step, cfg["param"].shape)
        if buf.untyped_storage().data_ptr() == grad.untyped_storage().data_ptr():
            fail(
                f"at step {step} the momentum_buffer you return is the `grad` tensor itself, "
                "not a copy: in an optimizer the next backward() adds into p.grad and would "
                "change the buffer too. Start it with `grad.clone()` (torch does)."
            )
        param, buf = param.detach().clone(), buf.detach().clone()
        steps.append({"momentum_buffer": buf, "param": param})
    return steps


def _variant(mistake):
    """``sgd_momentum_step`` with one mistake switched on (the table below names them)."""

    def step_fn(param, grad, buf, *, lr, momentum, dampening, nesterov, weight_decay, maximize):
        flip = maximize and mistake not in ("maximize ignored", "maximize at the end")
        g = -grad if flip else grad
        decay = {"weight decay sign": -weight_decay}.get(mistake, weight_decay)
        if mistake == "maximize after weight decay":
            g = grad + weight_decay * param
            g = -g if maximize else g
        elif mistake not in ("weight decay ignored", "weight decay on the step"):
            g = g + decay * param
        if mistake == "lr fixed":
            lr = 0.1
        if mistake == "momentum fixed":
            momentum = 0.9
        scale = {"no dampening": 1.0, "dampening as d": dampening}.get(mistake, 1 - dampening)
        if mistake in ("lr inside", "lr inside, negative"):
            sign = -1.0 if mistake == "lr inside, negative" else 1.0
            buf = sign * lr * g if buf is None else momentum * buf + sign * lr * scale * g
            return param - sign * buf, buf
        if buf is None:
            buf = momentum * torch.zeros_like(g) + scale * g if mistake == "zero buffer" else g.clone()
        elif mistake == "no history":
            buf = g.clone()
        else:
            buf = momentum * buf + scale * g
        step = buf
        if nesterov:
            step = {
                "nesterov along buffer": buf,
                "nesterov (1 + momentum) buffer": (1 + momentum) * buf,
                "nesterov from raw grad": grad + momentum * buf,
            }.get(mistake, g + momentum * buf)
        if mistake == "weight decay on the step":
            step = step + weight_decay * param
        sign = +1.0 if (maximize and mistake in ("maximize at the end", "maximize twice")) else -1.0
        new_param = param + sign * lr * step
        return (buf, new_param) if mistake == "swapped" else (new_param, buf)

    return step_fn


_MESSAGES = (
    ("swapped", "the two results are swapped: return `(param, momentum_buffer)`, the parameter first."),
    (
        "zero buffer",
        "the first buffer is (1 − dampening)·g_1, as if it started at zero: torch starts it at the "
        "first gradient itself, `momentum_buffer = g.clone()`, and applies dampening from step 2.",
    ),
    (
        "lr inside",
        "your buffer is lr times torch's: that is Sutskever et al.'s convention, lr inside the buffer. "
        "torch keeps lr outside: buffer = momentum·buffer + (1 − dampening)·g, then "
        "param − lr·buffer (the two part ways when lr changes, as at step 4 here).",
    ),
    (
        "lr inside, negative",
        "your buffer is −lr times torch's: that is Sutskever et al.'s velocity, "
        "v = momentum·v − lr·g and param + v. torch keeps lr outside: "
        "buffer = momentum·buffer + (1 − dampening)·g, then param − lr·buffer.",
    ),
    (
        "no history",
        "the buffer is only the current gradient: from step 2 on it is "
        "momentum·buffer + (1 − dampening)·g, using the buffer passed in.",
    ),
    ("no dampening", "dampening is missing: from step 2 on the new gradient enters the buffer times (1 − dampening)."),
    ("dampening as d", "the new gradient is multiplied by dampening; torch multiplies it by (1 − dampening)."),
    ("momentum fixed", "these are the numbers for momentum=0.9: use the `momentum` argument."),
    ("lr fixed", "these are the numbers for lr=0.1: use the `lr` argument, at every step."),
    (
        "nesterov along buffer",
        "this is plain momentum: with nesterov=True torch first updates the buffer, then steps along "
        "g + momentum·buffer. (Stepping along the updated buffer, or along g + momentum·(the old "
        "buffer), which is the same thing, ignores Nesterov.)",
    ),
    (
        "nesterov (1 + momentum) buffer",
        "the Nesterov step is (1 + momentum)·buffer; torch's is g + momentum·buffer: the gradient "
        "once, plus the momentum of the buffer.",
    ),
    (
        "nesterov from raw grad",
        "the Nesterov term uses `grad` as it came in; torch uses g, the gradient after maximize has "
        "negated it and weight decay has been added: g + momentum·buffer.",
    ),
    (
        "maximize ignored",
        "with maximize=True the parameters should climb: torch negates the gradient first, "
        "g = −grad, then proceeds as when minimizing.",
    ),
    (
        "maximize at the end",
        "the parameters are right but the buffer has the wrong sign: torch negates the gradient "
        "first (g = −grad), so the buffer holds the momentum of −grad, and then steps param − lr·buffer.",
    ),
    (
        "maximize twice",
        "the sign is flipped twice, so the parameters descend: negate the gradient once "
        "(g = −grad) and then step param − lr·buffer as usual.",
    ),
    (
        "maximize after weight decay",
        "maximize negates the weight-decay term too: torch negates the gradient first and then adds "
        "weight_decay·param, so the decay still pulls the parameters towards 0.",
    ),
    (
        "weight decay ignored",
        "weight_decay is missing: torch adds weight_decay·param to the gradient before the buffer sees it.",
    ),
    (
        "weight decay sign",
        "weight decay has the wrong sign: torch adds +weight_decay·param to the gradient (the "
        "gradient of (weight_decay/2)·‖param‖²).",
    ),
    (
        "weight decay on the step",
        "weight decay is applied to the step, after the buffer (which is decoupled weight decay, "
        "AdamW's param·(1 − lr·weight_decay)); SGD's weight_decay adds weight_decay·param to the "
        "gradient before the buffer sees it, so it goes through the momentum buffer too.",
    ),
)

MISTAKES_03_3 = tuple(Mistake(name, _variant(name), message) for name, message in _MESSAGES)


def _otherwise(mismatch, cfg):
    if "dtype" in mismatch.detail:
        return (
            "keep the parameter's dtype: compute with the tensors you are given (not "
            "torch.tensor(...) or torch.zeros(..., dtype=torch.float64)), so that a float32 "
            "parameter gets a float32 buffer, as in torch."
        )
    if mismatch.name == "param":
        return (
            "the buffer is right at this step, so look at the step itself: "
            "param − lr·buffer, or param − lr·(g + momentum·buffer) with nesterov=True."
        )
    return (
        "check the buffer: a copy of g at the first step, then "
        "momentum·buffer + (1 − dampening)·g, with g = −grad when maximize=True and "
        "weight_decay·param added after that."
    )


def _compare(got, expected):
    """The first difference, named "momentum_buffer" or "param", dtypes included."""
    m = first_mismatch(got, expected, check_dtype=True)
    return None if m is None else dataclasses.replace(m, name=m.name.removeprefix("param ").strip("'"))


SPEC_03_3 = Spec(
    configs=_configs,
    reference=_torch_run,
    run=_run,
    mistakes=MISTAKES_03_3,
    compare=_compare,
    otherwise=_otherwise,
    returns=object,
    may_modify=(0, 2),
    success=(
        "the momentum buffer and the parameter match torch.optim.SGD at all "
        f"{STEPS} steps in all {{n}} configurations: every combination of nesterov, "
        "maximize, dampening and weight_decay, float32 and float64, shapes from 0-dim to "
        "3-D, zero, negative and large gradients, and an lr that changes."
    ),
)


@exercise(
    "03.3",
    title="SGD with momentum from scratch",
    solution=sgd_momentum_step,
    hints=[
        "Start with g = -grad if maximize else grad (a new tensor), then add weight_decay * param. "
        "With no buffer yet, the buffer is a copy of g (`g.clone()`): no dampening on the first step.",
        "Later steps: buffer = momentum * buffer + (1 - dampening) * g. The step is the buffer, or "
        "g + momentum * buffer with nesterov=True.",
        "Return `param - lr * step, buffer`: lr stays outside the buffer (torch's convention).",
    ],
)
def grade_sgd_momentum_step(sgd_momentum_step):
    """sgd_momentum_step(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov,
    weight_decay, maximize) must match torch.optim.SGD in every configuration, at every step."""
    return grade_spec(SPEC_03_3, sgd_momentum_step, name="sgd_momentum_step")
