"""Lesson 03 checkers: each accepts the reference solution, rejects realistic mistakes with
the right message, and calls the stub "not attempted"."""

import math

import numpy as np
import pytest
import torch

from myoptim_helpers.exercises import exercises_of, grade, lesson03

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


def step_exits(param, grad, momentum_buffer, **hyper):
    raise SystemExit("done")


PAPER = "that is Sutskever et al."
ZERO_START = "the first buffer is (1 − dampening)·g_1, as if it started at zero"
PLAIN_MOMENTUM = "this is plain momentum: with nesterov=True torch first updates the buffer"

CASES = [
    # (key, answers, status, message fragment)
    (
        "03.1",
        ((0.25, 0.48),),
        "correct",
        "every lr from 0.25 to 0.48 reaches loss < 0.01 in 50 steps (the widest range is 0.2474 to 0.4838)",
    ),
    ("03.1", ([0.26, 0.47],), "correct", "every lr from 0.26 to 0.47"),
    ("03.1", ((torch.tensor(0.25), 0.48),), "correct", "every lr from 0.25 to 0.48"),
    ("03.1", (np.array([0.25, 0.48]),), "correct", "every lr from 0.25 to 0.48"),
    ("03.1", (torch.tensor([0.25, 0.48], dtype=torch.float64),), "correct", "every lr from 0.25 to 0.48"),
    ("03.1", ((..., ...),), "not attempted", "`lr_range` still contains `...`"),
    ("03.1", (...,), "not attempted", "`lr_range` is still `...`"),
    (
        "03.1",
        ((0.2, 0.48),),
        "incorrect",
        "lr=0.2 in your range ends at loss 0.027 after 50 steps (target < 0.01), still at x = -0.52: "
        "x shrinks by only 1 − 0.2·lr = 0.96 per step",
    ),
    ("03.1", ((0.1, 0.3),), "incorrect", "so the point crawls along the valley. Raise lr_low."),
    (
        "03.1",
        ((0.25, 0.49),),
        "incorrect",
        "lr=0.49 in your range ends at loss 0.135 after 50 steps (target < 0.01), still at y = 0.26: "
        "y is multiplied by 1 − 4·lr = -0.96 per step, so it zigzags across the valley",
    ),
    (
        "03.1",
        ((0.25, 0.5),),
        "incorrect",
        "y is multiplied by 1 − 4·lr = -1 per step, so it never shrinks: it bounces between +2 and −2.",
    ),
    # 11 learning rates from lr_low to lr_high are tried; the first that fails is named
    (
        "03.1",
        ((0.3, 0.6),),
        "incorrect",
        "lr=0.51 in your range ends at loss 404 after 50 steps (target < 0.01): y is multiplied by "
        "1 − 4·lr = -1.04 per step, so it grows: plain SGD diverges once lr > 2/4. Lower lr_high.",
    ),
    ("03.1", ((0.45, 0.6),), "incorrect", "lr=0.495 in your range ends at loss 1.06"),
    ("03.1", ((0.25, 10.0),), "incorrect", "lr=1.225 in your range ends at loss"),
    (
        "03.1",
        ((0.25, 1e6),),
        "incorrect",
        "lr=1e+05 in your range overflows at step 28: y is multiplied by 1 − 4·lr = -4e+05",
    ),
    (
        "03.1",
        ((0.3, 0.45),),
        "incorrect",
        "every lr from 0.3 to 0.45 works, but the range can be wider: lr=0.28 works too, so lr_low "
        "can go lower; lr=0.47 works too, so lr_high can go higher.",
    ),
    ("03.1", ((0.26, 0.45),), "incorrect", "lr=0.47 works too, so lr_high can go higher."),
    ("03.1", ((0.48, 0.25),), "incorrect", "lr_low (0.48) should be smaller than lr_high (0.25)."),
    ("03.1", (0.3,), "incorrect", "lr_range should be a pair (lr_low, lr_high), got a single number."),
    ("03.1", ((0.25, 0.3, 0.48),), "incorrect", "should hold two numbers (lr_low, lr_high), got 3."),
    ("03.1", ((-0.1, 0.4),), "incorrect", "ValueError: Invalid learning rate: -0.1"),
    ("03.1", ((0, 0.4),), "incorrect", "with lr=0 SGD never moves"),
    ("03.1", ((float("nan"), 0.4),), "incorrect", "lr_low (lr_range[0]) is nan; expected a finite number."),
    ("03.1", (("0.25", 0.48),), "incorrect", "lr_low (lr_range[0]) should be a number, got str."),
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
        "w_after_two is right; buffer_after_two = -0.44 is lr times torch's buffer, the paper's velocity",
    ),
    (
        "03.2",
        (1.84, 0.44),
        "incorrect",
        "buffer_after_two = 0.44 is −lr times torch's buffer, Sutskever et al.'s velocity",
    ),
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
    ("03.3", (step_dampening_as_d,), "incorrect", "the new gradient is multiplied by dampening"),
    ("03.3", (step_momentum_09,), "incorrect", "these are the numbers for momentum=0.9"),
    ("03.3", (step_lr_01,), "incorrect", "these are the numbers for lr=0.1"),
    ("03.3", (step_nesterov_ignored,), "incorrect", PLAIN_MOMENTUM),
    ("03.3", (step_nesterov_old_buffer,), "incorrect", PLAIN_MOMENTUM),
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


def test_every_exercise_has_hints_and_a_solution():
    found = exercises_of("03")
    assert list(found) == ["03.1", "03.2", "03.3"]
    for exercise in found.values():
        assert exercise.hints and exercise.solution_source(), exercise.key


@pytest.mark.parametrize(
    "key, names",
    [("03.1", ["lr_range"]), ("03.2", ["w_after_two", "buffer_after_two"]), ("03.3", ["sgd_momentum_step"])],
)
def test_the_shown_solution_is_accepted(key, names):
    namespace = {"torch": torch}
    exec(exercises_of("03")[key].solution_source(), namespace)
    assert grade(key, *(namespace[n] for n in names)).status == "correct"


# --------------------------------------------------------------------------- the numbers the checkers rely on


def _ravine_loss_after(lr, steps=lesson03.RANGE_STEPS):
    """Plain SGD on 0.1 x² + 2 y² from (−4, 2), in closed form: each step multiplies x by
    1 − 0.2 lr and y by 1 − 4 lr."""
    x = -4.0 * (1 - 0.2 * lr) ** steps
    y = 2.0 * (1 - 4 * lr) ** steps
    return 0.1 * x * x + 2 * y * y


def _boundary(inside, outside):
    """Bisect the learning rate where the closed-form loss crosses the target."""
    for _ in range(200):
        mid = (inside + outside) / 2
        if _ravine_loss_after(mid) < lesson03.RANGE_TARGET:
            inside = mid
        else:
            outside = mid
    return inside


@pytest.mark.parametrize("name, inside, outside", [("RANGE_LOW", 0.3, 0.1), ("RANGE_HIGH", 0.3, 0.5)])
def test_the_widest_range_matches_the_closed_form(name, inside, outside):
    assert math.isclose(getattr(lesson03, name), _boundary(inside, outside), rel_tol=0, abs_tol=1e-9)


@pytest.mark.parametrize(
    "lr, works",
    [
        (lesson03.RANGE_LOW - 1e-4, False),
        (lesson03.RANGE_LOW + 1e-4, True),
        (lesson03.RANGE_HIGH - 1e-4, True),
        (lesson03.RANGE_HIGH + 1e-4, False),
    ],
)
def test_torch_agrees_with_the_widest_range(lr, works):
    assert lesson03._reaches_target(lr) is works


def test_two_steps_by_hand_are_torchs():
    # g_1 = −4, b_1 = −4, w_1 = 1.4; g_2 = −3.2, b_2 = 0.9·(−4) + 0.25·(−3.2) = −4.4, w_2 = 1.84
    w, buf = lesson03._torch_two_steps()
    assert (round(w, 12), round(buf, 12)) == (1.84, -4.4)


@pytest.mark.parametrize(
    "key, answers",
    [
        ("03.1", ((0.25, 0.48),)),
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
