"""Lesson 03 checkers: each accepts the reference solution, rejects realistic mistakes with
the right message, and calls the stub "not attempted"."""

import math
import re

import numpy as np
import pytest
import torch

from myoptim_helpers.exercises import exercises_of, grade, lesson03

# --------------------------------------------------------------------------- 03.1 answers
# steps_to_shrink(lr, curvature, factor) -> steps (math.inf when the error never shrinks enough)


def shrink_loop(lr, curvature, factor):
    """Counts the steps by running them, as a learner who distrusts logarithms would."""
    rate = 1 - lr * curvature
    if abs(rate) >= 1:
        return float("inf")
    u, t = 1.0, 0
    while abs(u) > 1 / factor:
        u *= rate
        t += 1
    return t


def shrink_numpy(lr, curvature, factor):
    rate = np.abs(1 - lr * curvature)
    if rate >= 1:
        return np.inf
    if rate == 0:
        return 1
    return np.ceil(np.log(factor) / -np.log(rate))


def shrink_log_of_inverse(lr, curvature, factor):
    """log base rate of 1/factor, via math.log's second argument."""
    rate = abs(1 - lr * curvature)
    if rate >= 1:
        return math.inf
    return 1 if rate == 0 else math.ceil(math.log(1 / factor, rate))


def shrink_stub(lr, curvature, factor): ...


def _shrink(
    *, rate=lambda lr, c: abs(1 - lr * c), top=math.log, bottom=math.log, rounding=math.ceil, never=True, one_step=1
):
    """A wrong answer: the reference with one thing changed."""

    def steps_to_shrink(lr, curvature, factor):
        r = rate(lr, curvature)
        if never and r >= 1:
            return math.inf
        if r == 0 and one_step is not None:
            return one_step
        return rounding(top(factor) / -bottom(r))

    return steps_to_shrink


shrink_floor = _shrink(rounding=int)
shrink_round = _shrink(rounding=round)
shrink_one_more = _shrink(rounding=lambda t: math.ceil(t) + 1)
shrink_log10_top = _shrink(top=math.log10)
shrink_log10_bottom = _shrink(bottom=math.log10)
shrink_loss = _shrink(rate=lambda lr, c: (1 - lr * c) ** 2)
shrink_factor_100 = _shrink(top=lambda f: math.log(100))
shrink_e_fold = _shrink(top=lambda f: 1.0)
shrink_no_curvature = _shrink(rate=lambda lr, c: abs(1 - lr))
shrink_lr_times_curvature = _shrink(rate=lambda lr, c: lr * c)
shrink_one_minus_rate = _shrink(bottom=lambda r: -(1 - r))
shrink_zero_steps = _shrink(one_step=0)
shrink_no_abs = _shrink(rate=lambda lr, c: 1 - lr * c)
shrink_no_abs_numpy = _shrink(rate=lambda lr, c: 1 - lr * c, top=np.log, bottom=np.log, rounding=np.ceil)
shrink_log_zero = _shrink(one_step=None)
shrink_bounce_zero_division = _shrink(never=False, rate=lambda lr, c: abs(1 - lr * c) if abs(1 - lr * c) <= 1 else 0.5)
shrink_fraction = _shrink(rounding=lambda t: t)
shrink_steps_075 = _shrink(rate=lambda lr, c: abs(1 - 0.3 * 0.2))  # lr and curvature ignored


def shrink_never_unhandled(lr, curvature, factor):
    """The bounce is handled, growth is not: a negative count."""
    rate = abs(1 - lr * curvature)
    if rate == 1:
        return math.inf
    if rate == 0:
        return 1
    return math.ceil(math.log(factor) / -math.log(rate))


def shrink_negative_as_never(lr, curvature, factor):
    """A negative factor taken for divergence."""
    r = 1 - lr * curvature
    if r <= 0 or r >= 1:
        return math.inf
    return math.ceil(math.log(factor) / -math.log(r))


def shrink_constant(lr, curvature, factor):
    return 75


def shrink_none_for_never(lr, curvature, factor):
    rate = abs(1 - lr * curvature)
    if rate < 1:
        return 1 if rate == 0 else math.ceil(math.log(factor) / -math.log(rate))


def shrink_forever(lr, curvature, factor):
    u, t = 1.0, 0
    while abs(u) > 1 / factor:
        u *= 1 - lr * curvature
        t += 1
    return t


def shrink_string(lr, curvature, factor):
    return "75"


def shrink_simulated(lr, curvature, factor):
    """Right, but slow: runs torch.optim.SGD step by step, up to 100 000 steps."""
    u = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([u], lr=lr)
    for t in range(1, 100_001):
        opt.zero_grad()
        (0.5 * curvature * u**2).backward()
        opt.step()
        if abs(u.item()) <= 1 / factor:
            return t
    return math.inf


# --------------------------------------------------------------------------- 03.3 answers
# Every answer has the exercise's signature:
#   (param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize)
#   -> (param, momentum_buffer)


def step_ref(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize):
    g = -grad if maximize else grad
    g = g + weight_decay * param
    if momentum_buffer is None:
        momentum_buffer = g.clone()
    else:
        momentum_buffer = momentum * momentum_buffer + (1 - dampening) * g
    step = g + momentum * momentum_buffer if nesterov else momentum_buffer
    return param - lr * step, momentum_buffer


def step_in_place(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize):
    """torch's own style: buffer and param updated in place, grad left alone."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g.add(param, alpha=weight_decay)
    if momentum_buffer is None:
        momentum_buffer = g.detach().clone()
    else:
        momentum_buffer.mul_(momentum).add_(g, alpha=1 - dampening)
    step = g.add(momentum_buffer, alpha=momentum) if nesterov else momentum_buffer
    param.add_(step, alpha=-lr)
    return param, momentum_buffer


def step_own_names_in_place(p, g, buf, *, lr, momentum, dampening, nesterov, weight_decay, maximize):
    """torch's in-place style with the learner's own names for the positional arguments."""
    d_p = g.neg() if maximize else g.clone()
    d_p.add_(p, alpha=weight_decay)
    if buf is None:
        buf = torch.clone(d_p).detach()
    else:
        buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
    if nesterov:
        d_p = d_p.add(buf, alpha=momentum)
    else:
        d_p = buf
    return p.add_(d_p, alpha=-lr), buf


def step_with_kwargs(param, grad, momentum_buffer, **hyper):
    """The hyperparameters taken as **kwargs."""
    return step_ref(param, grad, momentum_buffer, **hyper)


def step_stub(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize): ...


def _with(**change):
    """A wrong answer: step_ref's structure with one thing changed (named like a learner's code)."""

    def sgd_momentum_step(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize):
        lr = change.get("lr", lr)
        momentum = change.get("momentum", momentum)
        flip = maximize if change.get("flip", True) else False
        g = -grad if flip else grad
        if change.get("decay", "grad") == "grad":
            g = g + change.get("decay_sign", 1) * weight_decay * param
        elif change["decay"] == "negated":
            g = -(grad + weight_decay * param) if maximize else grad + weight_decay * param
        scale = change.get("scale", lambda d: 1 - d)(dampening)
        if momentum_buffer is None:
            momentum_buffer = change.get("first", lambda g, s: g.clone())(g, scale)
        elif change.get("history", True):
            momentum_buffer = momentum * momentum_buffer + scale * g
        else:
            momentum_buffer = g.clone()
        step = (
            change.get("nesterov", lambda g, b, m, raw: g + m * b)(g, momentum_buffer, momentum, grad)
            if nesterov
            else momentum_buffer
        )
        if change.get("decay") == "step":
            step = step + weight_decay * param
        if change.get("decay") == "decoupled":
            param = param * (1 - lr * weight_decay)
        sign = change.get("sign", lambda maximize: -1)(maximize)
        new_param = param + sign * lr * step
        return change.get("order", lambda p, b: (p, b))(new_param, momentum_buffer)

    return sgd_momentum_step


step_zero_buffer = _with(first=lambda g, s: s * g)
step_dampened_first = _with(first=lambda g, s: (1 - 0.0) * s * g + 0 * g)


def step_paper(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize):
    """Sutskever et al.'s velocity: v = mu v - lr g, param + v."""
    g = (-grad if maximize else grad) + weight_decay * param
    v = -lr * g if momentum_buffer is None else momentum * momentum_buffer - lr * (1 - dampening) * g
    step = -lr * g + momentum * v if nesterov else v
    return param + step, v


def step_lr_inside(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize):
    g = (-grad if maximize else grad) + weight_decay * param
    buf = lr * g if momentum_buffer is None else momentum * momentum_buffer + lr * (1 - dampening) * g
    return param - buf, buf


step_no_history = _with(history=False)
step_no_dampening = _with(scale=lambda d: 1.0)
step_dampening_as_d = _with(scale=lambda d: d)
step_momentum_09 = _with(momentum=0.9)
step_lr_01 = _with(lr=0.1)
step_nesterov_ignored = _with(nesterov=lambda g, b, m, raw: b)
step_nesterov_scaled_buffer = _with(nesterov=lambda g, b, m, raw: (1 + m) * b)
step_nesterov_raw_grad = _with(nesterov=lambda g, b, m, raw: raw + m * b)
step_maximize_ignored = _with(flip=False)
step_maximize_at_end = _with(flip=False, sign=lambda maximize: 1 if maximize else -1)
step_maximize_twice = _with(sign=lambda maximize: 1 if maximize else -1)
step_maximize_after_decay = _with(decay="negated")
step_no_weight_decay = _with(decay="none")
step_weight_decay_sign = _with(decay_sign=-1)
step_weight_decay_on_step = _with(decay="step")
step_weight_decay_decoupled = _with(decay="decoupled")
step_swapped = _with(order=lambda p, b: (b, p))


def step_nesterov_old_buffer(
    param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize
):
    """Nesterov along g + momentum * (the buffer before this step's update)."""
    g = (-grad if maximize else grad) + weight_decay * param
    old = torch.zeros_like(g) if momentum_buffer is None else momentum_buffer
    buf = g.clone() if momentum_buffer is None else momentum * momentum_buffer + (1 - dampening) * g
    step = g + momentum * old if nesterov else buf
    return param - lr * step, buf


def step_nesterov_before_update(
    param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize
):
    """Nesterov along g + momentum * the buffer passed in (the first buffer is g)."""
    g = (-grad if maximize else grad) + weight_decay * param
    if momentum_buffer is None:
        momentum_buffer = g.clone()
        look_ahead = g + momentum * momentum_buffer
    else:
        look_ahead = g + momentum * momentum_buffer  # before the update below
        momentum_buffer = momentum * momentum_buffer + (1 - dampening) * g
    step = look_ahead if nesterov else momentum_buffer
    return param - lr * step, momentum_buffer


def step_lr_kept_from_first_call(
    param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize
):
    """The lr of the first step, kept on the function: a later change of lr is ignored."""
    if momentum_buffer is None:
        step_lr_kept_from_first_call.lr = lr
    return step_ref(
        param,
        grad,
        momentum_buffer,
        lr=step_lr_kept_from_first_call.lr,
        momentum=momentum,
        dampening=dampening,
        nesterov=nesterov,
        weight_decay=weight_decay,
        maximize=maximize,
    )


def step_neg_grad_in_place(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize):
    g = grad.neg_() if maximize else grad
    return step_ref(
        param,
        g,
        momentum_buffer,
        lr=lr,
        momentum=momentum,
        dampening=dampening,
        nesterov=nesterov,
        weight_decay=weight_decay,
        maximize=False,
    )


def step_decay_in_place(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize):
    g = grad.add_(param, alpha=weight_decay)  # changes p.grad
    return step_ref(
        param,
        -g if maximize else g,
        momentum_buffer,
        lr=lr,
        momentum=momentum,
        dampening=dampening,
        nesterov=nesterov,
        weight_decay=0.0,
        maximize=False,
    )


def step_buffer_is_grad(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize):
    g = -grad if maximize else grad
    if weight_decay:
        g = g + weight_decay * param
    buf = g if momentum_buffer is None else momentum * momentum_buffer + (1 - dampening) * g
    step = g + momentum * buf if nesterov else buf
    return param - lr * step, buf


def step_param_only(param, grad, momentum_buffer, **hyper):
    return step_ref(param, grad, momentum_buffer, **hyper)[0]


def step_no_buffer(param, grad, momentum_buffer, **hyper):
    return step_ref(param, grad, momentum_buffer, **hyper)[0], None


def step_no_return(param, grad, momentum_buffer, **hyper):
    step_ref(param, grad, momentum_buffer, **hyper)


def step_float64_buffer(param, grad, momentum_buffer, **hyper):
    """The buffer created as float64 whatever the parameter's dtype."""
    if momentum_buffer is None:
        g = (-grad if hyper["maximize"] else grad) + hyper["weight_decay"] * param
        momentum_buffer = torch.zeros(param.shape, dtype=torch.float64) + g
        step = g + hyper["momentum"] * momentum_buffer if hyper["nesterov"] else momentum_buffer
        return param - hyper["lr"] * step, momentum_buffer
    return step_ref(param, grad, momentum_buffer, **hyper)


def step_via_list(param, grad, momentum_buffer, **hyper):
    new_param, buf = step_ref(param, grad, momentum_buffer, **hyper)
    return torch.tensor(new_param.tolist()), buf  # float32, and a 0-dim param breaks


def step_nan(param, grad, momentum_buffer, **hyper):
    new_param, buf = step_ref(param, grad, momentum_buffer, **hyper)
    return (new_param - new_param) / (buf - buf), buf  # 0 / 0


def step_typo(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize):
    g = -grad if maximize else grad
    momentum_buffer = g.clone() if momentum_buffer is None else momentum * momentum_bufer + g  # noqa: F821
    return param - lr * momentum_buffer, momentum_buffer


def step_summed(param, grad, momentum_buffer, **hyper):
    new_param, buf = step_ref(param, grad, momentum_buffer, **hyper)
    return new_param.sum(), buf


def step_old_signature(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, maximize):
    g = -grad if maximize else grad
    buf = g.clone() if momentum_buffer is None else momentum * momentum_buffer + (1 - dampening) * g
    return param - lr * buf, buf


def step_positional_only(param, grad, momentum_buffer):
    return param - 0.1 * grad, grad.clone()


def step_counts_calls(param, grad, momentum_buffer, **hyper):
    """Keeps its own global step counter and restarts the buffer every 7 calls."""
    CALLS.append(1)
    if len(CALLS) % 7 == 0:
        momentum_buffer = None
    return step_ref(param, grad, momentum_buffer, **hyper)


CALLS = []


def step_loops_forever(param, grad, momentum_buffer, **hyper):
    while True:
        pass


def step_float32_hyperparameters(param, grad, momentum_buffer, **hyper):
    """torch.tensor(lr) and friends: float32 numbers, even next to a float64 parameter."""
    numbers = {k: torch.tensor(hyper[k]) for k in ("lr", "momentum", "dampening", "weight_decay")}
    return step_ref(param, grad, momentum_buffer, **{**hyper, **numbers})


def step_hyperparameters_in_param_dtype(param, grad, momentum_buffer, **hyper):
    numbers = {k: torch.tensor(hyper[k], dtype=param.dtype) for k in ("lr", "momentum", "dampening", "weight_decay")}
    return step_ref(param, grad, momentum_buffer, **{**hyper, **numbers})


def step_exits(param, grad, momentum_buffer, **hyper):
    raise SystemExit("done")


PAPER = "that is Sutskever et al."
ZERO_START = "the first buffer is (1 − dampening)·g_1, as if it started at zero"
PLAIN_MOMENTUM = "this is plain momentum: with nesterov=True torch first updates the buffer"

CASES = [
    # (key, answers, status, message fragment)
    (
        "03.1",
        ((75, 113), lesson03.steps_to_shrink),
        "correct",
        "steps_needed is what torch counts (lr=0.49, the larger, takes longer: there the steep y sets the pace), "
        "and steps_to_shrink counts torch.optim.SGD's steps in all 12 configurations",
    ),
    ("03.1", ([75, 113], shrink_loop), "correct", "in all 12 configurations"),
    ("03.1", (np.array([75, 113]), shrink_numpy), "correct", "in all 12 configurations"),
    ("03.1", ((torch.tensor(75), 113.0), shrink_log_of_inverse), "correct", "in all 12 configurations"),
    ("03.1", (torch.tensor([75, 113]), lesson03.steps_to_shrink), "correct", "in all 12 configurations"),
    ("03.1", ((..., ...), shrink_stub), "not attempted", "`steps_needed` still contains `...`"),
    ("03.1", ((75, 113), shrink_stub), "not attempted", "`shrink_stub` still has an empty body"),
    ("03.1", (..., ...), "not attempted", "`steps_needed` is still `...`"),
    # the prediction: each wrong count is named, the right one never shown
    (
        "03.1",
        ((75, 45), lesson03.steps_to_shrink),
        "incorrect",
        "steps_needed[1] (lr=0.49) = 45 is the count for x alone. Here y is multiplied by 1 − 4·lr = -0.96 per "
        "step: it flips side and shrinks more slowly than x, so the steep direction sets the pace at this lr.",
    ),
    (
        "03.1",
        ((3, 113), lesson03.steps_to_shrink),
        "incorrect",
        "steps_needed[0] (lr=0.3) = 3 is the count for y alone. At this lr y shrinks fast (by 0.2 per step), x "
        "only by 0.94 per step: the slowest direction sets the pace, here the flat one.",
    ),
    ("03.1", ((3, 45), lesson03.steps_to_shrink), "incorrect", "the count of the faster direction at each lr"),
    ("03.1", ((74, 112), lesson03.steps_to_shrink), "incorrect", "= 74 is one step short"),
    ("03.1", ((75, 112), lesson03.steps_to_shrink), "incorrect", "steps_needed[1] (lr=0.49) = 112 is one step short"),
    ("03.1", ((76, 114), lesson03.steps_to_shrink), "incorrect", "= 76 is one step too many: t counts steps"),
    ("03.1", ((33, 49), lesson03.steps_to_shrink), "incorrect", "= 33 mixes logarithms: log10(100) over the natural"),
    ("03.1", ((75, 260), lesson03.steps_to_shrink), "incorrect", "= 260 mixes logarithms: ln(100) over log10"),
    ("03.1", ((38, 57), lesson03.steps_to_shrink), "incorrect", "= 38 brings the loss down 100-fold"),
    ("03.1", ((17, 25), lesson03.steps_to_shrink), "incorrect", "= 17 is the number of steps per factor e"),
    ("03.1", ((75, 116), lesson03.steps_to_shrink), "incorrect", "= 116 uses 1 − |factor| in place of −ln|factor|"),
    ("03.1", ((113, 75), lesson03.steps_to_shrink), "incorrect", "steps_needed is in the wrong order"),
    ("03.1", ((74.43, 113), lesson03.steps_to_shrink), "incorrect", "= 74.43 is not a whole number"),
    ("03.1", ((75, 100), lesson03.steps_to_shrink), "incorrect", "= 100 is not what torch counts"),
    ("03.1", (75, lesson03.steps_to_shrink), "incorrect", "steps_needed should be a pair (steps at lr=0.3"),
    ("03.1", ((75, 113, 45), lesson03.steps_to_shrink), "incorrect", "should hold two numbers"),
    ("03.1", (("75", 113), lesson03.steps_to_shrink), "incorrect", "steps_needed[0] should be a number, got str."),
    ("03.1", ((75, 113),), "error", 'check("03.1", ...) takes 2 answer(s) (steps_needed, steps_to_shrink); got 1.'),
    # the function, on configurations drawn at check time
    ("03.1", ((75, 113), shrink_floor), "incorrect", "steps_needed is right; with lr="),
    ("03.1", ((75, 113), shrink_floor), "incorrect", "one step short: round the count up (math.ceil), not down."),
    ("03.1", ((75, 113), shrink_round), "incorrect", "the count is rounded to the nearest step"),
    ("03.1", ((75, 113), shrink_one_more), "incorrect", "one step too many: the start is t = 0"),
    ("03.1", ((75, 113), shrink_log10_top), "incorrect", "log10(factor) over the natural log of the rate"),
    ("03.1", ((75, 113), shrink_log10_bottom), "incorrect", "ln(factor) over log10 of the rate"),
    ("03.1", ((75, 113), shrink_loss), "incorrect", "that is the loss shrinking `factor`-fold"),
    ("03.1", ((75, 113), shrink_factor_100), "incorrect", "the factor is fixed at 100: use the `factor` argument."),
    ("03.1", ((75, 113), shrink_e_fold), "incorrect", "this is the number of steps per factor e"),
    ("03.1", ((75, 113), shrink_no_curvature), "incorrect", "the curvature is missing"),
    ("03.1", ((75, 113), shrink_lr_times_curvature), "incorrect", "not by lr·curvature"),
    ("03.1", ((75, 113), shrink_one_minus_rate), "incorrect", "1 − rate in place of −ln(rate)"),
    (
        "03.1",
        ((75, 113), shrink_negative_as_never),
        "incorrect",
        "a negative 1 − lr·curvature is not divergence: the error flips sign at each step but still shrinks",
    ),
    (
        "03.1",
        ((75, 113), shrink_never_unhandled),
        "incorrect",
        "when |1 − lr·curvature| > 1 the error grows at every step and never gets there: return math.inf.",
    ),
    ("03.1", ((75, 113), shrink_zero_steps), "incorrect", "with lr = 1/curvature the first step lands exactly"),
    ("03.1", ((75, 113), shrink_zero_steps), "incorrect", "steps_to_shrink returned 0, torch needs 1 step: with"),
    (
        "03.1",
        ((75, 113), shrink_no_abs),
        "error",
        "with lr=0.387, curvature=3, factor=100 (1 − lr·curvature = -0.161): steps_to_shrink raised ValueError: "
        "math domain error",
    ),
    ("03.1", ((75, 113), shrink_no_abs), "error", "is negative here: the error flips sign at every step"),
    ("03.1", ((75, 113), shrink_no_abs_numpy), "incorrect", "steps_to_shrink returned nan."),
    ("03.1", ((75, 113), shrink_no_abs_numpy), "incorrect", "Take the abs before the logarithm."),
    ("03.1", ((75, 113), shrink_log_zero), "error", "one step lands exactly on the minimum (1 step)"),
    ("03.1", ((75, 113), shrink_bounce_zero_division), "error", "= -1): steps_to_shrink raised ZeroDivisionError"),
    ("03.1", ((75, 113), shrink_bounce_zero_division), "error", "the error bounces between ± its start forever"),
    ("03.1", ((75, 113), shrink_fraction), "incorrect", "not a whole number of steps"),
    ("03.1", ((75, 113), shrink_constant), "incorrect", "gives the same count whatever lr or curvature or factor is"),
    ("03.1", ((75, 113), shrink_steps_075), "incorrect", "gives the same count whatever lr or curvature is: the count"),
    ("03.1", ((75, 113), shrink_none_for_never), "incorrect", "returned None, where the error never shrinks"),
    ("03.1", ((75, 113), shrink_forever), "error", "steps_to_shrink is too slow (over 5 s): compute the count"),
    ("03.1", ((75, 113), shrink_forever), "error", "the error never shrinks, so a loop that waits for it never ends"),
    (
        "03.1",
        ((75, 113), shrink_string),
        "incorrect",
        "the count steps_to_shrink returned should be a number, got str.",
    ),
    ("03.1", ((75, 113), 75), "incorrect", "steps_to_shrink should be a function, got int."),
    ("03.2", (1.84, -4.4), "correct", "w = 1.84 and momentum_buffer = -4.4 after two steps"),
    ("03.2", (torch.tensor(1.84, dtype=torch.float64), torch.tensor([-4.4])), "correct", "w = 1.84"),
    ("03.2", (1.8400000001, -4.4), "correct", "w = 1.84"),
    ("03.2", (np.float64(1.84), np.array(-4.4)), "correct", "w = 1.84"),
    ("03.2", (..., ...), "not attempted", "`w_after_two` is still `...`"),
    ("03.2", (1.84, ...), "not attempted", "`buffer_after_two` is still `...`"),
    (
        "03.2",
        (1.285, -1.85),
        "incorrect",
        "w_after_two = 1.285 is what you get when dampening already applies at step 1",
    ),
    ("03.2", (2.08, -6.8), "incorrect", "w_after_two = 2.08 is what you get without dampening"),
    ("03.2", (2.0, -6.0), "incorrect", "is what you get when the new gradient is multiplied by dampening (0.75)"),
    ("03.2", (1.72, -3.2), "incorrect", "w_after_two = 1.72 is two steps of plain SGD"),
    ("03.2", (1.4, -4.0), "incorrect", "w_after_two = 1.4 is w after one step; the exercise asks for two."),
    ("03.2", (0.12, -4.8), "incorrect", "w_after_two = 0.12 moves w away from 3, uphill"),
    ("03.2", (1.425, -2.25), "incorrect", "uses the gradient w − 3; the gradient of (w − 3)² is 2(w − 3)."),
    ("03.2", (1.9, -4.4), "incorrect", "w_after_two = 1.9 is not what torch gives. Go step by step"),
    (
        "03.2",
        (1.84, -0.44),
        "incorrect",
        "w_after_two is right; buffer_after_two = -0.44 is lr times torch's buffer, lr·b: the step SGD "
        "subtracts from w (the paper's velocity is its negative, v = −lr·b)",
    ),
    (
        "03.2",
        (1.84, 0.44),
        "incorrect",
        "buffer_after_two = 0.44 is −lr times torch's buffer, the paper's velocity v = −lr·b",
    ),
    ("03.2", (-4.4, 1.84), "incorrect", "w and the buffer swapped: w_after_two holds the buffer"),
    ("03.2", (-4.4, 1.84), "incorrect", "Give w first, then its momentum_buffer."),
    ("03.2", (1.84, 4.4), "incorrect", "buffer_after_two = 4.4 has the wrong sign"),
    ("03.2", (1.84, -6.8), "incorrect", "buffer_after_two = -6.8 is what you get without dampening"),
    (
        "03.2",
        (1.84, -1.85),
        "incorrect",
        "buffer_after_two = -1.85 is what you get when dampening already applies at step 1",
    ),
    ("03.2", (1.84, -4.0), "incorrect", "buffer_after_two = -4 is the buffer after one step"),
    ("03.2", (1.84, -3.2), "incorrect", "buffer_after_two = -3.2 is the second gradient g_2"),
    ("03.2", (1.84, -4.5), "incorrect", "buffer_after_two = -4.5 is not what torch gives"),
    ("03.2", ("1.84", -4.4), "incorrect", "w_after_two should be a number, got str."),
    (
        "03.2",
        (1.84, torch.tensor([-4.4, 1.0])),
        "incorrect",
        "buffer_after_two should be a single number, got a tensor of shape (2,).",
    ),
    ("03.2", (1.84,), "error", 'check("03.2", ...) takes 2 answer(s) (w_after_two, buffer_after_two); got 1.'),
    ("03.3", (step_ref,), "correct", "match torch.optim.SGD at all 5 steps in all 24 configurations"),
    ("03.3", (step_in_place,), "correct", "in all 24 configurations"),
    ("03.3", (step_own_names_in_place,), "correct", "in all 24 configurations"),
    ("03.3", (step_with_kwargs,), "correct", "in all 24 configurations"),
    ("03.3", (lesson03.sgd_momentum_step,), "correct", "in all 24 configurations"),
    ("03.3", (step_stub,), "not attempted", "`step_stub` still has an empty body"),
    ("03.3", (...,), "not attempted", "is still `...`"),
    ("03.3", (step_zero_buffer,), "incorrect", ZERO_START),
    ("03.3", (step_dampened_first,), "incorrect", ZERO_START),
    ("03.3", (step_paper,), "incorrect", "your buffer is −lr times torch's: " + PAPER),
    ("03.3", (step_lr_inside,), "incorrect", "your buffer is lr times torch's: " + PAPER),
    ("03.3", (step_no_history,), "incorrect", "the buffer is only the current gradient"),
    ("03.3", (step_no_dampening,), "incorrect", "dampening is missing"),
    ("03.3", (step_no_dampening,), "incorrect", "matches torch for step 1, differs at step 2 (momentum_buffer"),
    ("03.3", (step_hyperparameters_in_param_dtype,), "correct", "in all 24 configurations"),
    (
        "03.3",
        (step_float32_hyperparameters,),
        "incorrect",
        "this float64 parameter's result is right only to float32 precision (about 7 digits)",
    ),
    ("03.3", (step_float32_hyperparameters,), "incorrect", "torch.tensor(lr) (or of momentum, dampening"),
    ("03.3", (step_dampening_as_d,), "incorrect", "the new gradient is multiplied by dampening"),
    ("03.3", (step_momentum_09,), "incorrect", "these are the numbers for momentum=0.9"),
    ("03.3", (step_lr_01,), "incorrect", "these are the numbers for lr=0.1"),
    ("03.3", (step_nesterov_ignored,), "incorrect", PLAIN_MOMENTUM),
    ("03.3", (step_nesterov_old_buffer,), "incorrect", PLAIN_MOMENTUM),
    (
        "03.3",
        (step_nesterov_before_update,),
        "incorrect",
        "from step 2 on the Nesterov step uses the buffer from before this step's update",
    ),
    ("03.3", (step_lr_kept_from_first_call,), "incorrect", "the step still uses the lr of the first call"),
    ("03.3", (step_nesterov_scaled_buffer,), "incorrect", "the Nesterov step is (1 + momentum)·buffer"),
    ("03.3", (step_nesterov_raw_grad,), "incorrect", "the Nesterov term uses `grad` as it came in"),
    ("03.3", (step_maximize_ignored,), "incorrect", "with maximize=True the parameters should climb"),
    ("03.3", (step_maximize_at_end,), "incorrect", "the parameters are right but the buffer has the wrong sign"),
    ("03.3", (step_maximize_twice,), "incorrect", "the sign is flipped twice, so the parameters descend"),
    ("03.3", (step_maximize_after_decay,), "incorrect", "maximize negates the weight-decay term too"),
    ("03.3", (step_no_weight_decay,), "incorrect", "weight_decay is missing"),
    ("03.3", (step_weight_decay_sign,), "incorrect", "weight decay has the wrong sign"),
    ("03.3", (step_weight_decay_on_step,), "incorrect", "weight decay is applied to the step, after the buffer"),
    ("03.3", (step_weight_decay_decoupled,), "incorrect", "which is decoupled weight decay"),
    ("03.3", (step_swapped,), "incorrect", "the two results are swapped"),
    (
        "03.3",
        (step_neg_grad_in_place,),
        "incorrect",
        "modified its argument `grad` in place (the values of grad changed)",
    ),
    ("03.3", (step_decay_in_place,), "incorrect", "modified its argument `grad` in place"),
    ("03.3", (step_buffer_is_grad,), "incorrect", "is the `grad` tensor itself, not a copy"),
    (
        "03.3",
        (step_param_only,),
        "incorrect",
        "`sgd_momentum_step` should return two tensors (param, momentum_buffer); at step 1 it returned a Tensor.",
    ),
    ("03.3", (step_no_buffer,), "incorrect", "returned None as the momentum_buffer at step 1"),
    ("03.3", (step_no_return,), "incorrect", "returned None: did it forget to `return` its result?"),
    (
        "03.3",
        (step_float64_buffer,),
        "incorrect",
        "(momentum_buffer: dtype torch.float64, expected torch.float32): keep the parameter's dtype",
    ),
    ("03.3", (step_via_list,), "incorrect", "keep the parameter's dtype"),
    ("03.3", (step_nan,), "incorrect", "the param returned at step 1 contains NaN"),
    ("03.3", (step_typo,), "error", "raised NameError: name 'momentum_bufer' is not defined"),
    ("03.3", (step_summed,), "incorrect", "the param returned at step 1 has shape ()"),
    (
        "03.3",
        (step_old_signature,),
        "error",
        "raised TypeError: step_old_signature() got an unexpected keyword argument 'weight_decay'",
    ),
    ("03.3", (step_positional_only,), "error", "raised TypeError"),
    ("03.3", (step_counts_calls,), "incorrect", "differs at step 2 (momentum_buffer"),
    ("03.3", (step_exits,), "error", "`step_exits` raised SystemExit: done"),
    ("03.3", (torch.optim.SGD,), "error", "raised TypeError"),
    ("03.3", ("sgd",), "incorrect", "sgd_momentum_step should be a function, got str."),
]


def _case_id(case):
    key, answers, status = case[:3]
    first = answers[0]
    return f"{key}-{getattr(first, '__name__', repr(answers)[:24])}-{status}"


@pytest.mark.parametrize("key, answers, status, fragment", CASES, ids=[_case_id(c) for c in CASES])
def test_checker(key, answers, status, fragment):
    feedback = grade(key, *answers)
    assert (feedback.status, fragment in feedback.message) == (status, True), feedback.message
    assert not re.search(r"\b(\w{3,}) \1\b", feedback.message), feedback.message  # "steps_to_shrink steps_to_shrink"


def test_a_right_but_slow_count_is_told_to_compute_not_simulate(monkeypatch):
    from myoptim_helpers.exercises import _calling

    monkeypatch.setattr(_calling, "CALL_SECONDS", 0.3)  # the 5 s budget, shortened for the test
    feedback = grade("03.1", (75, 113), shrink_simulated)
    assert feedback.status == "error", feedback.message
    assert "steps_to_shrink is too slow (over 0.3 s): compute the count" in feedback.message
    assert "don't simulate the steps" in feedback.message and "loop forever" not in feedback.message


def test_every_exercise_has_hints_and_a_solution():
    found = exercises_of("03")
    assert list(found) == ["03.1", "03.2", "03.3"]
    for exercise in found.values():
        assert exercise.hints and exercise.solution_source(), exercise.key


@pytest.mark.parametrize(
    "key, names",
    [
        ("03.1", ["steps_needed", "steps_to_shrink"]),
        ("03.2", ["w_after_two", "buffer_after_two"]),
        ("03.3", ["sgd_momentum_step"]),
    ],
)
def test_the_shown_solution_is_accepted(key, names):
    namespace = {"torch": torch}
    exec(exercises_of("03")[key].solution_source(), namespace)
    assert grade(key, *(namespace[n] for n in names)).status == "correct"


# --------------------------------------------------------------------------- the numbers the checkers rely on


def _closed_form_pace(lr, factor=100):
    """Plain SGD on 0.1 x² + 2 y², in closed form: x and y are multiplied by 1 − 0.2 lr and
    1 − 4 lr per step, so each needs the first t with |factor_i|^t ≤ 1/factor; both, the later."""
    return max(math.ceil(math.log(factor) / -math.log(abs(1 - lr * lam))) for lam in (0.2, 4.0))


def test_the_predicted_counts_are_torchs_and_the_closed_form():
    assert lesson03._pace_prediction()[0] == tuple(_closed_form_pace(lr) for lr in lesson03.PACE_LRS) == (75, 113)
    assert max(lesson03._pace_prediction()[0]) < lesson03.PACE_STEPS


@pytest.mark.parametrize("cfg", lesson03._shrink_configs(), ids=lambda cfg: cfg.label)
def test_the_torch_count_is_the_closed_form_away_from_ties(cfg):
    lr, curvature, factor = cfg["lr"], cfg["curvature"], cfg["factor"]
    rate = abs(1 - lr * curvature)
    expected = math.inf if rate >= 1 else 1 if rate == 0 else math.ceil(math.log(factor) / -math.log(rate))
    assert lesson03._torch_steps_to_shrink(lr, curvature, factor) == expected
    if 0 < rate < 1:
        exact = math.log(factor) / -math.log(rate)
        assert abs(exact - round(exact)) > 1e-6  # no configuration sits on a tie between two counts
        assert expected < lesson03.SHRINK_CAP


def test_the_configurations_cover_every_regime_of_the_rate():
    rates = [1 - cfg["lr"] * cfg["curvature"] for cfg in lesson03._shrink_configs()]
    assert any(0 < r < 1 for r in rates) and any(-1 < r < 0 for r in rates) and any(r < -1 for r in rates)
    assert 0.0 in rates and -1.0 in rates


def test_two_steps_by_hand_are_torchs():
    # g_1 = −4, b_1 = −4, w_1 = 1.4; g_2 = −3.2, b_2 = 0.9·(−4) + 0.25·(−3.2) = −4.4, w_2 = 1.84
    w, buf = lesson03._torch_two_steps()
    assert (round(w, 12), round(buf, 12)) == (1.84, -4.4)


@pytest.mark.parametrize(
    "key, answers",
    [
        ("03.1", ((75, 113), lesson03.steps_to_shrink)),
        ("03.1", ((75, 113), shrink_no_abs)),
        ("03.2", (1.0, 2.0)),
        ("03.3", (step_ref,)),
        ("03.3", (step_typo,)),
        ("03.3", (step_maximize_twice,)),
    ],
)
def test_grading_leaves_the_notebooks_random_state_and_grad_mode_alone(key, answers):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with torch.no_grad():
        feedback = grade(key, *answers)
        assert not torch.is_grad_enabled()
    assert torch.equal(torch.rand(3), expected)
    assert "checker itself failed" not in feedback.message, feedback.message


def test_the_probes_for_ignored_arguments_change_torchs_count():
    base = lesson03._torch_steps_to_shrink(*lesson03._PROBE_BASE)
    assert [lesson03._torch_steps_to_shrink(*args) for args in lesson03._PROBE.values()] == [44, 182, 45]
    assert base == 90
