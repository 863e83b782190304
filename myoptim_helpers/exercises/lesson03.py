"""Checkers for lesson 03 · SGD: steps predicted from the factors, two steps by hand, SGD with momentum.

- 03.1 ``steps_needed, steps_to_shrink``: a prediction, then the formula behind it.
  ``steps_needed`` is how many steps plain ``torch.optim.SGD`` at lr=0.3 and at lr=0.49 needs
  to bring both errors of the ravine down 100-fold (the slower direction sets the pace: x at
  0.3, the zigzagging y at 0.49); it is counted by torch and never shown in a ✗ message.
  ``steps_to_shrink(lr, curvature, factor)`` is the same count for one direction, graded
  against torch on 12 configurations drawn at check time, in every regime of 1 − lr·λ
  (slow, fast, flipping sign, diverging, exactly 0, exactly −1).
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
import functools
import math
import numbers
import re
from types import MappingProxyType

import torch

from ._assertions import as_plain, expect_callable, expect_number, expect_tensor, fmt
from ._calling import call
from ._engine import Mistake, Spec, config, draw_configs, flag_grid, grade_spec, matching_mistake, run_answer
from ._feedback import Reject, correct, fail, incorrect
from ._registry import exercise
from ._steps import first_mismatch

F64 = torch.float64


# ----------------------------------------------------------------------------- 03.1

PACE_LRS = (0.3, 0.49)  # the two learning rates whose steps the learner predicts
PACE_FACTOR = 100  # "the error down 100-fold", in both coordinates
PACE_STEPS = 200  # enough for both runs (tests/test_exercises_03.py checks it)
CURVATURES = MappingProxyType({"x": 0.2, "y": 4.0})  # the ravine 0.1 x² + 2 y²: Hessian diag(0.2, 4)
SHRINK_CAP = 5000  # a 1-D run that has not got there by then never will (configurations stay below)


def steps_to_shrink(lr, curvature, factor):
    """Return how many plain SGD steps bring the error along a direction of ``curvature`` to
    at most 1/``factor`` of its start (``factor`` > 1), or ``math.inf`` if it never gets there."""
    rate = abs(1 - lr * curvature)  # each step multiplies the error by 1 − lr·λ: only its size counts
    if rate >= 1:
        return math.inf  # the error bounces (rate 1) or grows
    if rate == 0:
        return 1  # lr = 1/λ lands on the minimum in one step
    return math.ceil(math.log(factor) / -math.log(rate))  # the first t with rate**t ≤ 1/factor


_PACE_SOLUTION = """\
import math

# lr = 0.3:  x × 0.94, y × −0.2 per step: y is done in 3 steps, x needs 75 (x sets the pace)
# lr = 0.49: x × 0.902, y × −0.96 per step: x needs 45, y needs 113 (now y sets the pace)
steps_needed = (75, 113)


def steps_to_shrink(lr, curvature, factor):
    rate = abs(1 - lr * curvature)           # each step multiplies the error by 1 − lr·λ
    if rate >= 1:
        return math.inf                      # bounces (rate 1) or grows: never
    if rate == 0:
        return 1                             # lr = 1/λ: on the minimum after one step
    return math.ceil(math.log(factor) / -math.log(rate))   # first t with rate**t ≤ 1/factor
"""


def _torch_pace(lr, factor=PACE_FACTOR):
    """The first step at which torch.optim.SGD(lr) on the ravine has both |x| and |y| at most
    1/factor of their start."""
    from .. import training  # imported here: training is only needed when grading 03.1

    with torch.enable_grad():  # even if the notebook has switched gradients off
        positions = training.run(torch.optim.SGD, "ravine", PACE_STEPS, lr=lr).positions
    done = ((positions.abs() <= positions[0].abs() / factor).all(dim=1)).nonzero()
    if len(done) == 0:
        raise RuntimeError(f"lr={lr}: not {factor}-fold closer within {PACE_STEPS} steps")
    return int(done[0])


def _torch_steps_to_shrink(lr, curvature, factor):
    """Run torch.optim.SGD on the 1-D quadratic curvature/2 · u² from u = 1; return the first
    step with |u| ≤ 1/factor, or math.inf when a step does not shrink |u| (on a line each step
    multiplies u by the same number, so then none will)."""
    u = torch.tensor(1.0, dtype=F64, requires_grad=True)
    opt = torch.optim.SGD([u], lr=lr)
    previous = 1.0
    with torch.enable_grad():
        for t in range(1, SHRINK_CAP + 1):
            opt.zero_grad()
            (0.5 * curvature * u**2).backward()
            opt.step()
            size = abs(u.item())
            if size <= 1 / factor:
                return t
            if size >= previous:
                return math.inf
            previous = size
    raise RuntimeError(f"lr={lr}, curvature={curvature}, factor={factor}: beyond {SHRINK_CAP} steps")


def _direction_steps(rate, factor, *, top=math.log, bottom=math.log, rounding=math.ceil):
    """Steps for one direction from its factor per step, with a mistake switched on."""
    rate = abs(rate)
    if rate >= 1:
        return math.inf
    return rounding(top(factor) / -bottom(rate))


def _pace_variants(lr):
    """Known wrong counts at ``lr``: {name: steps}, each a way to get the pace wrong."""
    flat, steep = (1 - lr * lam for lam in CURVATURES.values())

    def both(**mistake):
        return max(_direction_steps(flat, PACE_FACTOR, **mistake), _direction_steps(steep, PACE_FACTOR, **mistake))

    return {
        "x only": _direction_steps(flat, PACE_FACTOR),
        "y only": _direction_steps(steep, PACE_FACTOR),
        "fastest": min(_direction_steps(flat, PACE_FACTOR), _direction_steps(steep, PACE_FACTOR)),
        "floor": both(rounding=math.floor),
        "one more": both() + 1,
        "log10 top": both(top=math.log10),
        "log10 bottom": both(bottom=math.log10),
        "loss": both(rounding=lambda t: math.ceil(t / 2)),
        "e-fold": both(top=lambda f: 1.0),
        "1 - rate": both(bottom=lambda r: -(1 - r)),
    }


_PACE_MESSAGES = MappingProxyType(
    {
        "x only": "is the count for x alone. Here y is multiplied by 1 − 4·lr = {steep} per step: it flips "
        "side and shrinks more slowly than x, so the steep direction sets the pace at this lr.",
        "y only": "is the count for y alone. At this lr y shrinks fast (by {steep_abs} per step), x only by "
        "{flat} per step: the slowest direction sets the pace, here the flat one.",
        "fastest": "is the count of the faster direction; the point is 100 times closer in both coordinates "
        "only once the slower one has got there too.",
        "floor": "is one step short: after that many steps the error is still above 1/100 of its start. "
        "The count is the first whole t with |factor|^t ≤ 1/100: round up (math.ceil), not down.",
        "one more": "is one step too many: t counts steps, the start is t = 0, and the first t with "
        "|factor|^t ≤ 1/100 is the answer.",
        "log10 top": "mixes logarithms: log10(100) over the natural log of the factor. Take the same "
        "logarithm on both sides of |factor|^t = 1/100.",
        "log10 bottom": "mixes logarithms: ln(100) over log10 of the factor. Take the same logarithm on "
        "both sides of |factor|^t = 1/100.",
        "loss": "brings the loss down 100-fold (it shrinks by the factor squared per step); the question "
        "is about the errors |x| and |y| themselves.",
        "e-fold": "is the number of steps per factor e (t = 1 / −ln|factor|); the question asks for a factor of 100.",
        "1 - rate": "uses 1 − |factor| in place of −ln|factor|: close for a factor near 1, but it is an "
        "approximation, and torch counts exact steps.",
    }
)


def _pace_problem(value, expected, lr, index):
    """None when ``value`` is torch's count at ``lr``; else what is wrong, without the count."""
    if value == expected:
        return None
    where = f"steps_needed[{index}] (lr={lr:g})"
    if value != math.floor(value):
        return (
            f"{where} = {fmt(value)} is not a whole number: count the steps, the first whole t at which "
            "both errors are at most 1/100 of their start."
        )
    flat, steep = (1 - lr * lam for lam in CURVATURES.values())
    numbers = {"steep": f"{steep:.3g}", "steep_abs": f"{abs(steep):.3g}", "flat": f"{flat:.3g}"}
    for name, steps in _pace_variants(lr).items():
        if steps == value and steps != expected:
            return f"{where} = {fmt(value)} " + _PACE_MESSAGES[name].format(**numbers)
    return (
        f"{where} = {fmt(value)} is not what torch counts. Each step multiplies x by 1 − 0.2·lr and y by "
        "1 − 4·lr; for each, find the first t with |factor|^t ≤ 1/100, and take the later of the two."
    )


def _steps_pair(answer):
    answer = as_plain(answer)
    if isinstance(answer, torch.Tensor) and answer.dim() == 1:
        answer = answer.tolist()
    if isinstance(answer, (str, bytes)) or not isinstance(answer, (tuple, list)):
        what = "a single number" if isinstance(answer, numbers.Real) else type(answer).__name__
        fail(f"steps_needed should be a pair (steps at lr=0.3, steps at lr=0.49), got {what}.")
    if len(answer) != 2:
        fail(f"steps_needed should hold two numbers (steps at lr=0.3, steps at lr=0.49), got {len(answer)}.")
    return tuple(expect_number(v, f"steps_needed[{i}]") for i, v in enumerate(answer))


# The function: configurations in every regime of 1 − lr·λ, drawn at check time.
_SHRINK_REGIMES = ("slow", "fast", "flipping", "diverging", "one step", "bouncing")
_SHRINK_FACTORS = (100, 10.0, 1000, math.e, 2.5, 1e4, 50)


def _shrink_config(draw, i):
    regime = _SHRINK_REGIMES[i % len(_SHRINK_REGIMES)]
    while True:  # redraw the rare configuration that sits on a whole step (a tie) or on the prediction
        factor = draw.choice(_SHRINK_FACTORS)
        if regime in ("one step", "bouncing"):  # exact in binary: lr·λ is exactly 1 or 2
            curvature = draw.choice((0.5, 2, 4.0, 8))
            lr = (1.0 if regime == "one step" else 2.0) / curvature
        else:
            low, high = {"slow": (0.01, 0.3), "fast": (0.3, 0.95), "flipping": (1.05, 1.9), "diverging": (2.05, 3)}[
                regime
            ]
            curvature = draw.choice((draw.uniform(0.05, 1), draw.uniform(1, 20), draw.choice((3, 10))))
            lr = float(f"{draw.uniform(low, high) / curvature:.3g}")
        rate = abs(1 - lr * curvature)
        exact = math.log(factor) / -math.log(rate) if 0 < rate < 1 else None
        if exact is None or (abs(exact - round(exact)) > 1e-6 and math.ceil(exact) not in (75, 113)):
            break
    shown = f"{factor:g}" if factor != math.e else "math.e"
    return config(
        f"lr={lr:g}, curvature={curvature:g}, factor={shown} (1 − lr·curvature = {1 - lr * curvature:.3g})",
        lr=lr,
        curvature=curvature,
        factor=factor,
    )


def _shrink_configs():
    return draw_configs("03.1", _shrink_config, 2 * len(_SHRINK_REGIMES))


def _shrink_reference(cfg):
    return [_torch_steps_to_shrink(cfg["lr"], cfg["curvature"], cfg["factor"])]


def _steps_value(value, rate, name="steps_to_shrink"):
    """A count of steps: a whole number, or math.inf; anything else stops grading with a
    message that starts with ``name`` (as :func:`call`'s own messages do)."""
    if value is None:
        fail(
            f"{name} returned None, where the error never shrinks: return math.inf."
            if abs(rate) >= 1
            else f"{name} returned None: did it forget to `return` its result?"
        )
    if isinstance(value, float) and value == math.inf:
        return value
    value = as_plain(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        fail(f"{name} returned nan. Is the logarithm taken of a negative number or of 0?")
    if isinstance(value, float) and value == math.inf:
        return value
    value = expect_number(value, f"the count {name} returned")
    if value != math.floor(value):
        fail(
            f"{name} returned {fmt(value)}, not a whole number of steps: the count is the first whole t at "
            "which the error is small enough (round up)."
        )
    return value


def _shrink_run(invoke, cfg):
    lr, curvature, factor = cfg["lr"], cfg["curvature"], cfg["factor"]
    try:
        return [_steps_value(invoke(lr, curvature, factor), 1 - lr * curvature)]
    except Reject as rej:
        why = rej.feedback.message  # call's and _steps_value's messages both name the function
        rate = 1 - lr * curvature
        cause = ""
        slow = re.search(r"did not return within ([\d.]+) s", why)
        if slow:
            why = f"steps_to_shrink is too slow (over {slow.group(1)} s)"
            cause = ": compute the count from |1 − lr·curvature|^t ≤ 1/factor, don't simulate the steps." + (
                f" Here |1 − lr·curvature| = {abs(rate):.3g} ≥ 1: the error never shrinks, so a loop "
                "that waits for it never ends (return math.inf)."
                if abs(rate) >= 1
                else ""
            )
        elif rej.feedback.status == "error" or "returned nan" in why:
            if rate < 0 and ("math domain error" in why or "nan" in why):
                cause = (
                    f" 1 − lr·curvature = {rate:.3g} is negative here: the error flips sign at every step "
                    "and its size shrinks by |1 − lr·curvature|. Take the abs before the logarithm."
                )
            elif rate == 0:
                cause = (
                    " Here lr = 1/curvature: one step lands exactly on the minimum (1 step), and log(0) is undefined."
                )
            elif abs(rate) == 1:
                cause = (
                    " Here 1 − lr·curvature = −1: the error bounces between ± its start forever (math.inf), "
                    "and log(1) = 0 divides by zero."
                )
        if cause and not slow and not why.endswith((".", "?")):
            why += "."
        raise Reject(dataclasses.replace(rej.feedback, message=f"with {cfg.label}: {why}{cause}")) from None


@dataclasses.dataclass(frozen=True)
class _CountMismatch:
    """A step count that differs from torch's: "steps_to_shrink returned 12, torch needs 13 steps"."""

    got: float
    expected: float

    def __str__(self):
        def shown(v):
            return "math.inf" if v == math.inf else f"{v:.0f}" if v == math.floor(v) else fmt(v)

        steps = "step" if self.expected == 1 else "steps"
        return f"steps_to_shrink returned {shown(self.got)}, torch needs {shown(self.expected)} {steps}"


def _same_counts(got, expected):
    """None when the counts are equal (math.inf included), else what differs."""
    return None if got == expected else _CountMismatch(got[0], expected[0])


def _shrink_variant(*, rate=lambda lr, c: abs(1 - lr * c), never=True, one_step=True, **mistake):
    def answer(lr, curvature, factor):
        r = rate(lr, curvature)
        if never and r >= 1:
            return math.inf
        if r == 0:
            return 1 if one_step else 0
        return _direction_steps(r, factor, **mistake)

    return answer


def _unguarded(lr, curvature, factor):
    """The formula for every rate: a negative count when the error grows."""
    rate = abs(1 - lr * curvature)
    return math.ceil(math.log(factor) / -math.log(rate)) if rate not in (0.0, 1.0) else math.inf


def _negative_as_never(lr, curvature, factor):
    """A negative factor per step taken for divergence (and 0 with it)."""
    rate = 1 - lr * curvature
    if rate <= 0 or rate >= 1:
        return math.inf
    return _direction_steps(rate, factor)


MISTAKES_03_1 = (
    Mistake("floor", _shrink_variant(rounding=math.floor), "one step short: round the count up (math.ceil), not down."),
    Mistake(
        "round", _shrink_variant(rounding=round), "the count is rounded to the nearest step; round it up (math.ceil)."
    ),
    Mistake(
        "one more",
        _shrink_variant(rounding=lambda t: math.ceil(t) + 1),
        "one step too many: the start is t = 0, and the answer is the first t with |1 − lr·curvature|^t ≤ 1/factor.",
    ),
    Mistake(
        "log10 top",
        _shrink_variant(top=math.log10),
        "log10(factor) over the natural log of the rate: take the same logarithm of both.",
    ),
    Mistake(
        "log10 bottom",
        _shrink_variant(bottom=math.log10),
        "ln(factor) over log10 of the rate: take the same logarithm of both.",
    ),
    Mistake(
        "loss",
        _shrink_variant(rounding=lambda t: math.ceil(t / 2)),
        "half the steps: that is the loss shrinking `factor`-fold (by the rate squared per step); the error "
        "itself shrinks by |1 − lr·curvature| per step.",
    ),
    Mistake(
        "factor ignored",
        _shrink_variant(top=lambda f: math.log(100)),
        "the factor is fixed at 100: use the `factor` argument.",
    ),
    Mistake(
        "e-fold",
        _shrink_variant(top=lambda f: 1.0),
        "this is the number of steps per factor e (1 / −ln rate); the error must shrink by `factor`.",
    ),
    Mistake(
        "curvature ignored",
        _shrink_variant(rate=lambda lr, c: abs(1 - lr)),
        "the rate is 1 − lr·curvature: the curvature is missing.",
    ),
    Mistake(
        "negative as never",
        _negative_as_never,
        "a negative 1 − lr·curvature is not divergence: the error flips sign at each step but still shrinks "
        "when |1 − lr·curvature| < 1, so take its absolute value (and at 0 one step lands on the minimum).",
    ),
    Mistake(
        "lr·λ",
        _shrink_variant(rate=lambda lr, c: lr * c),
        "the error is multiplied by 1 − lr·curvature per step, not by lr·curvature (that is the part removed).",
    ),
    Mistake(
        "1 - rate",
        _shrink_variant(bottom=lambda r: -(1 - r)),
        "1 − rate in place of −ln(rate): an approximation, close only for a rate near 1. Count exact steps.",
    ),
    Mistake(
        "never unhandled",
        _unguarded,
        "when |1 − lr·curvature| > 1 the error grows at every step and never gets there: return math.inf.",
    ),
    Mistake(
        "one step unhandled",
        _shrink_variant(one_step=False),
        "with lr = 1/curvature the first step lands exactly on the minimum: that is 1 step, not 0.",
    ),
)

SPEC_03_1 = Spec(
    configs=_shrink_configs,
    reference=_shrink_reference,
    run=_shrink_run,
    mistakes=MISTAKES_03_1,
    compare=_same_counts,
    otherwise="each step multiplies the error by 1 − lr·curvature: the count is the first whole t with "
    "|1 − lr·curvature|^t ≤ 1/factor, and math.inf when |1 − lr·curvature| ≥ 1.",
)


# Probes that differ from _PROBE_BASE in one argument each; torch needs 90 steps at the base,
# then 44, 182 and 45 (tests/test_exercises_03.py checks them).
_PROBE = MappingProxyType({"lr": (0.1, 1.0, 100), "curvature": (0.05, 0.5, 100), "factor": (0.05, 1.0, 10)})
_PROBE_BASE = (0.05, 1.0, 100)


def _ignored_arguments(answer) -> str:
    """The arguments whose change leaves the answer's count unchanged (where torch's changes)."""
    base = call(answer, *_PROBE_BASE, name="steps_to_shrink")
    same = [name for name, args in _PROBE.items() if call(answer, *args, name="steps_to_shrink") == base]
    return " or ".join(same)


def _grade_steps_to_shrink(answer):
    """Stop with a message unless ``answer`` counts torch's steps in every configuration.

    Unlike :func:`grade_spec`, a wrong answer is matched against each known mistake over all
    the configurations, not only the first that differs: on one configuration two mistakes
    can give the same count (a loss count and a log10 count both round to 5, say)."""
    expect_callable(answer, "steps_to_shrink")
    configs = _shrink_configs()
    got = [run_answer(SPEC_03_1, answer, cfg, name="steps_to_shrink") for cfg in configs]
    expected = [SPEC_03_1.reference(cfg) for cfg in configs]
    wrong = [i for i, (g, e) in enumerate(zip(got, expected)) if g != e]
    if not wrong:
        return
    first = wrong[0]
    here = f"with {configs[first].label}: {_CountMismatch(got[first][0], expected[first][0])}"
    for mistake in SPEC_03_1.mistakes:
        if [SPEC_03_1.run(mistake.variant, cfg) for cfg in configs] == got:
            fail(f"{here}: {mistake.message}")
    ignored = _ignored_arguments(answer)
    if ignored:
        fail(
            f"steps_to_shrink gives the same count whatever {ignored} is: the count depends on lr, "
            "curvature and factor, so compute it from all three."
        )
    mistake = matching_mistake(SPEC_03_1, got[first], expected[first], configs[first])
    fail(f"{here}: {mistake.message if mistake is not None else SPEC_03_1.otherwise}")


def _pace_prediction():
    return (tuple(_torch_pace(lr) for lr in PACE_LRS), steps_to_shrink)


@exercise(
    "03.1",
    title="Predict, then reveal: how many steps?",
    solution=_PACE_SOLUTION,
    prediction=_pace_prediction,
    hints=[
        "Each step multiplies x by 1 − 0.2·lr and y by 1 − 4·lr. An error multiplied by r per step is "
        "|r|^t times its start after t steps: solve |r|^t ≤ 1/100 for the first whole t, for x and for y.",
        "The point is 100 times closer in both coordinates once the slower of the two is: take the larger "
        "count. With t = ln(100) / −ln|r|, round up.",
        "steps_to_shrink is the same count for any lr, curvature and factor. Mind the signs: only "
        "|1 − lr·curvature| counts; when it is ≥ 1 the error never shrinks (math.inf), and when it is 0 "
        "one step lands on the minimum.",
    ],
)
def grade_pace(steps_needed, steps_to_shrink):
    """steps_needed: torch's step counts at lr=0.3 and 0.49 (a prediction); steps_to_shrink(lr,
    curvature, factor): the same count in general, against torch on configurations drawn now."""
    values = _steps_pair(steps_needed)
    expected = tuple(_torch_pace(lr) for lr in PACE_LRS)
    if values == expected[::-1] and values != expected:
        return incorrect("steps_needed is in the wrong order: (steps at lr=0.3, steps at lr=0.49).")
    if values != expected and values == tuple(_pace_variants(lr)["fastest"] for lr in PACE_LRS):
        return incorrect(
            "steps_needed holds the count of the faster direction at each lr; the point is 100 times "
            "closer in both coordinates only once the slower one has got there too."
        )
    for index, (value, want, lr) in enumerate(zip(values, expected, PACE_LRS)):
        problem = _pace_problem(value, want, lr, index)
        if problem is not None:
            return incorrect(problem)
    try:
        _grade_steps_to_shrink(steps_to_shrink)
    except Reject as rej:
        message = "steps_needed is right; " + rej.feedback.message
        raise Reject(dataclasses.replace(rej.feedback, message=message)) from None
    return correct(
        "steps_needed is what torch counts (lr=0.49, the larger, takes longer: there the steep y sets the "
        f"pace), and steps_to_shrink counts torch.optim.SGD's steps in all {len(_shrink_configs())} "
        "configurations (slow, fast, flipping, diverging, one step, bouncing)."
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
        "is lr times torch's buffer, lr·b: the step SGD subtracts from w (the paper's velocity is its "
        "negative, v = −lr·b). torch's buffer holds gradients, and lr is applied outside it.",
    ),
    (
        _frozen(buffer_scale=-PREDICT["lr"]),
        "is −lr times torch's buffer, the paper's velocity v = −lr·b (Sutskever et al.: v_t = "
        "μ·v_(t−1) − lr·g_t, which w adds): torch's buffer holds gradients, and lr is applied outside it.",
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
    close = functools.partial(math.isclose, rel_tol=0, abs_tol=PREDICT_ATOL)
    if close(w, buf_ref) and close(buf, w_ref) and not close(w, w_ref):
        return incorrect(
            "w and the buffer swapped: w_after_two holds the buffer and buffer_after_two holds w. "
            "Give w first, then its momentum_buffer."
        )
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
# The gradient fed at each step: all negative, a zero gradient (the buffer must still decay),
# and entries of very different sizes. The zero one comes at step 3, not 2: dampening starts
# at step 2, and a zero gradient there would hide an answer that ignores it until step 3.
GRAD_KINDS = ("normal", "negative", "zero", "normal", "mixed")
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

    first_lr = [None]  # "lr of the first call": the lr seen when there was no buffer yet

    def step_fn(param, grad, buf, *, lr, momentum, dampening, nesterov, weight_decay, maximize):
        old_buf = buf
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
        if mistake == "lr of the first call":
            if buf is None:
                first_lr[0] = lr
            lr = first_lr[0]
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
                "nesterov old buffer": g + momentum * (buf if old_buf is None else old_buf),
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
        "lr of the first call",
        "the lr changes after step 3 here, and the step still uses the lr of the first call: read the "
        "`lr` argument at every call (a scheduler changes it between steps), don't keep it from before.",
    ),
    (
        "nesterov along buffer",
        "this is plain momentum: with nesterov=True torch first updates the buffer, then steps along "
        "g + momentum·buffer. (Stepping along the updated buffer, or along g + momentum·(the old "
        "buffer), which is the same thing, ignores Nesterov.)",
    ),
    (
        "nesterov old buffer",
        "from step 2 on the Nesterov step uses the buffer from before this step's update: torch first "
        "updates the buffer, then steps along g + momentum·(the updated buffer). g + momentum·(the old "
        "buffer) is the updated buffer itself, plain momentum.",
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


_DTYPE_ADVICE = (
    "keep the parameter's dtype: compute with the tensors you are given (not "
    "torch.tensor(...) or torch.zeros(..., dtype=torch.float64)), so that a float32 "
    "parameter gets a float32 buffer, as in torch."
)


def _float32_close(got, expected) -> bool:
    """True when two numbers differ, but by no more than float32 rounding (a few 1e-7 relative)."""
    if got is None or expected is None or got == expected or not math.isfinite(got):
        return False
    return abs(got - expected) <= 1e-6 * max(abs(expected), 1e-30)


def _otherwise(mismatch, cfg):
    if "dtype" in mismatch.detail:
        return _DTYPE_ADVICE
    if cfg["param"].dtype == F64 and _float32_close(mismatch.got, mismatch.expected):
        return (
            "this float64 parameter's result is right only to float32 precision (about 7 digits): "
            "part of the arithmetic ran in float32. torch.tensor(lr) (or of momentum, dampening, "
            "weight_decay) is a float32 tensor, and a number rounded to float32 is off from its 8th "
            "digit on; use the numbers as given, or tensors of the parameter's dtype (dtype=param.dtype)."
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
    called_as="sgd_momentum_step(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, "
    "weight_decay, maximize)",
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
