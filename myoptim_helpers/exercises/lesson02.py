"""Checkers for lesson 02 · zero_grad, backward, step: the order of operations.

Prediction exercises (02.1–02.3) take numbers; each grader replays the lesson's set-up with
``torch.optim.SGD`` for the true values and recognises the classic wrong answers by
computing them (sign flipped, lr forgotten, gradient not accumulated, ...). The
gradient-accumulation exercise (02.4) runs the learner's training step against one
big-batch step and names the mistake by replaying the known wrong loops.
"""

import math
import numbers
from types import MappingProxyType

import torch
from torch import nn

from ._assertions import as_plain, expect_number, fmt
from ._engine import Mistake, Spec, config, draw_configs, grade_spec
from ._feedback import correct, fail
from ._isolation import seeded
from ._registry import exercise
from ._steps import first_mismatch

# ----------------------------------------------------------------------------- shared


def _numbers(answer, count, name, what):
    """Return ``answer`` (list/tuple/1-D tensor or array of ``count`` numbers) as a list of floats."""
    answer = as_plain(answer)
    if isinstance(answer, torch.Tensor):
        if answer.dim() > 1:
            fail(f"{name} is a tensor of shape {tuple(answer.shape)}; give {count} numbers in a flat list, {what}.")
        answer = answer.detach().reshape(-1).tolist()
    if isinstance(answer, numbers.Real) and not isinstance(answer, bool) and count > 1:
        fail(f"{name} is a single number; give {count} numbers, {what}.")
    if not isinstance(answer, (list, tuple)):
        fail(f"{name} should be a list of {count} numbers ({what}), got {type(answer).__name__}.")
    if len(answer) != count:
        fail(f"{name} has {len(answer)} number(s); give {count}, {what}.")
    return [expect_number(v, f"{name}[{i}]") for i, v in enumerate(answer)]


def _same(a, b, tol=1e-3):
    """True when a learner's typed number ``a`` equals ``b`` up to rounding."""
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def _direction(got, expected):
    """'too large' or 'too small': what a prediction message may say instead of the number."""
    return "too large" if got > expected else "too small"


# ----------------------------------------------------------------------------- 02.1

# w[0] starts at 2, not at the 1 of the lesson's one-parameter demo, whose result it would repeat
_W0, _TARGET, _LR = (2.0, -2.0), (3.0, 1.0), 0.1


def _one_sgd_step():
    """The lesson's 02.1 set-up run by torch: w after zero_grad → backward → step."""
    w = torch.tensor(_W0, dtype=torch.float64, requires_grad=True)
    target = torch.tensor(_TARGET, dtype=torch.float64)
    opt = torch.optim.SGD([w], lr=_LR)
    opt.zero_grad()
    with torch.enable_grad():  # even if the notebook has switched gradients off
        ((w - target) ** 2).sum().backward()
    opt.step()
    return w.detach().tolist()


def _step_mistakes(w, t, lr):
    """Return ``[(value, cause), ...]``: what each classic mistake predicts for one element."""
    g = 2 * (w - t)
    return [
        (w + lr * g, "that moves *up* the gradient. step() subtracts: w ← w − lr · ∂L/∂w"),
        (w - g, f"that subtracts the whole gradient. SGD scales it by the learning rate first (lr = {lr:g})"),
        (w - lr * (w - t), "that uses (w − target) as the gradient. The derivative of (w − target)² is 2(w − target)"),
        (g, "that is the gradient ∂L/∂w = 2(w − target), not the new value of w"),
        (-lr * g, "that is the change −lr · ∂L/∂w. Add it to the old w"),
        (w, "that is w before the step. step() moves it by −lr · ∂L/∂w"),
        (t, "that is the target. One SGD step moves only part of the way there"),
    ]


_SOLUTION_02_1 = """
# loss = (w[0] - 3)**2 + (w[1] - 1)**2, so  dL/dw = 2 * (w - target) = [-2, -6]
# step():  w <- w - lr * dL/dw = [2, -2] - 0.1 * [-2, -6]
w_after = [2.2, -1.4]
"""


@exercise(
    "02.1",
    title="Predict one SGD step",
    solution=_SOLUTION_02_1,
    prediction=lambda: (_one_sgd_step(),),
    hints=[
        "First the gradient: for loss = Σ (w_i − target_i)², ∂L/∂w_i = 2 (w_i − target_i).",
        "Then step(): w_i ← w_i − lr · ∂L/∂w_i, with lr = 0.1. zero_grad() only clears old "
        "gradients, so it does not change the result here.",
    ],
)
def grade_one_step(w_after):
    """02.1: the two values of w after one zero_grad → backward → step."""
    got = _numbers(w_after, 2, "`w_after`", "the new w[0] and w[1]")
    truth = _one_sgd_step()
    for i, (g, e) in enumerate(zip(got, truth)):
        if _same(g, e):
            continue
        right = "w[0] is right, but " if i == 1 else ""
        for value, cause in _step_mistakes(_W0[i], _TARGET[i], _LR):
            if _same(g, value):
                fail(f"{right}w[{i}] = {fmt(g)}: {cause}.")
        fail(
            f"{right}w[{i}] = {fmt(g)} is {_direction(g, e)}. Compute "
            f"∂L/∂w[{i}] = 2 (w[{i}] − target[{i}]) first, then w[{i}] − lr · ∂L/∂w[{i}]."
        )
    return correct(
        f"w = [{fmt(truth[0])}, {fmt(truth[1])}]: the gradient is "
        "2(w − target) = [−2, −6], and step() subtracts lr times it."
    )


# ----------------------------------------------------------------------------- 02.2


def _no_zero_grad_run(zero_grad=False, accumulate_in_step=True, steps=3, lr=0.25, factor=1.0):
    """The 02.2 loop (w = 1, loss (w − 3)², SGD lr 0.25, no zero_grad); return w.grad per pass.

    ``zero_grad=True`` gives the correct loop; ``accumulate_in_step=False`` models the
    belief that step() uses only the newest gradient while .grad still accumulates;
    ``factor=0.5`` the gradient w − 3 instead of 2(w − 3).
    """
    w = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    grads = []
    for _ in range(steps):
        if zero_grad:
            opt.zero_grad()
        before = 0.0 if w.grad is None else w.grad.item()
        with torch.enable_grad():  # even if the notebook has switched gradients off
            (factor * (w - 3) ** 2).backward()
        grads.append(w.grad.item())
        if accumulate_in_step:
            opt.step()
        else:  # the mistaken belief: step() applies only the newest gradient
            with torch.no_grad():
                w -= lr * (w.grad.item() - before)
    return grads


_SOLUTION_02_2 = """
# backward 1 at w = 1:    new gradient 2(1 - 3) = -4;    w.grad = -4
#   step: w = 1 - 0.25 * (-4) = 2
# backward 2 at w = 2:    new gradient 2(2 - 3) = -2;    w.grad = -4 + (-2) = -6
#   step uses the whole .grad: w = 2 - 0.25 * (-6) = 3.5   (past the minimum at 3)
# backward 3 at w = 3.5:  new gradient 2(3.5 - 3) = +1;  w.grad = -6 + 1 = -5
#   the sum still points the old way: the next step moves w further from 3
grads = [-4.0, -6.0, -5.0]
"""


@exercise(
    "02.2",
    title="What .grad becomes without zero_grad",
    solution=_SOLUTION_02_2,
    prediction=lambda: (_no_zero_grad_run(),),
    hints=[
        "backward() adds the new gradient to whatever .grad holds: w.grad ← w.grad + ∂L/∂w.",
        "step() uses the whole accumulated w.grad: w ← w − 0.25 · w.grad. Compute w after each "
        "step, then the new gradient 2(w − 3) at that w, and add it to the old w.grad.",
    ],
)
def grade_accumulated_grads(grads):
    """02.2: w.grad after each of three backward → step iterations without zero_grad."""
    got = _numbers(grads, 3, "`grads`", "w.grad after each of the 3 backward() calls")
    truth = _no_zero_grad_run()
    wrong = next((i for i, (g, e) in enumerate(zip(got, truth)) if not _same(g, e)), None)
    if wrong is None:
        return correct(
            "w.grad = −4, −6, −5: each backward() adds the gradient at the new w to "
            "what .grad already held. At w = 3.5 the new gradient is +1, but the sum "
            "is still −5, so step() pushes w further past the minimum."
        )
    g, e = got[wrong], truth[wrong]
    where = (
        f"backward 1{'–' + str(wrong) if wrong > 1 else ''} "
        f"{'is' if wrong == 1 else 'are'} right; after backward {wrong + 1}"
        if wrong
        else "after backward 1"
    )
    if all(_same(a, -b) for a, b in zip(got, truth)):
        fail(
            "the signs are flipped: while w < 3 the gradient 2(w − 3) is negative, and the "
            "accumulated sum stays negative."
        )
    known = [
        (
            _no_zero_grad_run(zero_grad=True),
            "those are the gradients of the loop *with* zero_grad(). Without it, backward() adds "
            "each new gradient to what .grad already holds",
        ),
        (
            [-4.0, -2.0, 1.0],
            "that is the newest gradient alone. Without zero_grad(), backward() adds it to what .grad already held",
        ),
        (
            [-4.0, -8.0, -12.0],
            "that adds −4 each time, as if w stayed at 1. But step() moves w, and each backward() "
            "computes the gradient at the new w",
        ),
        (_no_zero_grad_run(factor=0.5), "that uses w − 3 as the gradient; the derivative of (w − 3)² is 2(w − 3)"),
        (
            _no_zero_grad_run(accumulate_in_step=False),
            "step() uses the whole accumulated .grad, not just the newest gradient: w after "
            "step 2 is where that whole .grad takes it",
        ),
    ]
    # the whole answer first (two mistakes can share a prefix), then up to the first error
    for upto in (len(got), wrong + 1):
        for sequence, cause in known:
            if all(_same(a, b) for a, b in zip(got[:upto], sequence[:upto])):
                fail(f"{where} you have {fmt(g, e)}: {cause}.")
    fail(
        f"{where} you have {fmt(g)}, which is {_direction(g, e)}. Track w after each step "
        "(w ← w − 0.25 · w.grad) and add each new gradient 2(w − 3) to the previous .grad."
    )


# ----------------------------------------------------------------------------- 02.3

_LR_02_3 = 0.2  # not the lesson demo's 0.1, whose w after step 1 the demo prints


def _after_zero_grad(set_to_none, momentum=0.5, lr=_LR_02_3, extra_steps=2):
    """The 02.3 set-up: a real step, zero_grad(set_to_none=...), two steps without backward."""
    w = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr, momentum=momentum)
    with torch.enable_grad():  # even if the notebook has switched gradients off
        ((w - 3) ** 2).backward()
    opt.step()
    opt.zero_grad(set_to_none=set_to_none)
    for _ in range(extra_steps):
        opt.step()
    return w.item()


_SOLUTION_02_3 = """
# step 1 (real gradient -4): momentum_buffer = -4, w = 1 - 0.2 * (-4) = 1.8
# zeros: .grad is a tensor of 0, so both steps run:
#   buffer = 0.5 * (-4) + 0 = -2  ->  w = 1.8 + 0.4 = 2.2
#   buffer = 0.5 * (-2) + 0 = -1  ->  w = 2.2 + 0.2 = 2.4
# None: step() skips w, it stays at 1.8
w_zeros, w_none = 2.4, 1.8
"""


@exercise(
    "02.3",
    title="set_to_none and momentum",
    solution=_SOLUTION_02_3,
    prediction=lambda: (_after_zero_grad(False), _after_zero_grad(True)),
    hints=[
        "After step 1 the momentum buffer is −4 and w has moved once. What does step() do with a gradient "
        "of 0, and with a gradient of None?",
        "A zero gradient still runs the update: buffer ← 0.5 · buffer + 0, then w ← w − 0.2 · buffer. "
        "A None gradient makes step() skip the parameter entirely.",
    ],
)
def grade_set_to_none(w_zeros, w_none):
    """02.3: w after two more steps, with zero-filled grads and with None grads."""
    zeros = expect_number(w_zeros, "`w_zeros`")
    none = expect_number(w_none, "`w_none`")
    true_zeros, true_none = _after_zero_grad(False), _after_zero_grad(True)
    after_step_1 = _after_zero_grad(True, extra_steps=0)
    if _same(zeros, true_none) and _same(none, true_zeros):
        fail("the two answers are swapped: zero-filled gradients keep w moving, None gradients make step() skip it.")
    if not _same(none, true_none):
        if _same(none, 1.0):
            fail(
                "`w_none`: step 1 had a real gradient and moved w away from 1. Only the steps "
                "after zero_grad() see no gradient."
            )
        if _same(none, true_zeros):
            fail(
                "`w_none`: with set_to_none=True, .grad is None, and step() skips parameters "
                "whose .grad is None, so the momentum buffer is never applied: w stays where "
                "step 1 left it."
            )
        fail(
            f"`w_none` = {fmt(none)} is {_direction(none, true_none)}: a None gradient makes "
            "step() skip w, so it stays where step 1 left it."
        )
    if not _same(zeros, true_zeros):
        if _same(zeros, after_step_1):
            fail(
                "`w_zeros`: a zero-filled .grad is still a gradient, so step() runs. The "
                "momentum buffer (−4) keeps pushing: buffer ← 0.5 · buffer + 0, "
                "w ← w − 0.2 · buffer, twice."
            )
        if _same(zeros, _after_zero_grad(False, extra_steps=1)):
            fail(
                "`w_zeros`: that counts one step after zero_grad(); there are two, and the "
                "buffer halves each time (−2, then −1)."
            )
        if _same(zeros, after_step_1 + 2 * _LR_02_3 * 4):
            fail(
                "`w_zeros`: the momentum buffer decays: buffer ← 0.5 · buffer + 0, so it is "
                "−2 and then −1, not −4 both times."
            )
        fail(
            f"`w_zeros` = {fmt(zeros)} is {_direction(zeros, true_zeros)}. Apply "
            "buffer ← 0.5 · buffer + 0 and w ← w − 0.2 · buffer twice, from where step 1 left w."
        )
    return correct(
        f"zeros: w = {fmt(true_zeros)} (momentum keeps moving it); None: w = {fmt(true_none)} (step() skips it)."
    )


# ----------------------------------------------------------------------------- 02.4


def accumulated_step(model, optimizer, x, y, n_micro):
    """Take one step with the big batch's gradient, in ``n_micro`` micro-batches (solves 02.4)."""
    optimizer.zero_grad()
    for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
        loss = nn.functional.mse_loss(model(xb), yb) / n_micro  # mean over the big batch
        loss.backward()  # adds this micro-batch's share to .grad
    optimizer.step()


def _big_batch_step(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    optimizer.step()


def _variant(scale=True, zero_grad="before", step="after", divide_by="n_micro", fixed_n=None, pieces="chunk"):
    """A training step with a known mistake (see ``_WRONG_LOOPS``)."""

    def step_fn(model, optimizer, x, y, n_micro):
        n_micro = fixed_n or n_micro
        if zero_grad == "before":
            optimizer.zero_grad()
        split = (lambda t: t.chunk(n_micro)) if pieces == "chunk" else (lambda t: t.split(n_micro))
        for xb, yb in zip(split(x), split(y)):
            if zero_grad == "inside":
                optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(xb), yb)
            if scale:
                loss = loss / (n_micro if divide_by == "n_micro" else len(x))
            loss.backward()
            if step == "inside":
                optimizer.step()
        if step == "after":
            optimizer.step()

    return step_fn


_WRONG_LOOPS = (
    (
        "not scaled",
        _variant(scale=False),
        "each micro-batch loss must be divided by n_micro. With mean-reduced losses the sum of "
        "the n_micro micro-batch gradients is n_micro times the big batch's gradient.",
    ),
    (
        "scaled by the batch size",
        _variant(divide_by="batch"),
        "divide each micro-batch loss by n_micro (the number of micro-batches), not by the "
        "number of samples: mse_loss already averages over the samples of a micro-batch.",
    ),
    (
        "no zero_grad",
        _variant(zero_grad="none"),
        "the gradients of the previous call were still in .grad and were added to the new ones. "
        "Call optimizer.zero_grad() once, before the micro-batch loop.",
    ),
    (
        "zero_grad inside",
        _variant(zero_grad="inside"),
        "zero_grad() inside the loop erases the earlier micro-batches: only the last one's "
        "gradient reached step(). Call it once, before the loop.",
    ),
    (
        "step inside",
        _variant(step="inside"),
        "step() runs once per micro-batch, so each call takes n_micro small steps. Call it once, "
        "after the loop, when .grad holds the whole batch's gradient.",
    ),
    (
        "plain minibatch SGD",
        _variant(zero_grad="inside", step="inside"),
        "zero_grad() and step() inside the loop make this plain SGD on micro-batches, not "
        "accumulation. Clear once before the loop and step once after it.",
    ),
)


def _own_sgd(model, optimizer, x, y, n_micro):
    """Ignores the optimizer it is given: the lesson's SGD(lr=0.1), built anew (or by hand)."""
    accumulated_step(model, torch.optim.SGD(model.parameters(), lr=0.1), x, y, n_micro)


_MISTAKES_02_4 = tuple(Mistake(name, variant, message) for name, variant, message in _WRONG_LOOPS) + (
    Mistake(
        "own optimizer",
        _own_sgd,
        "the parameters moved as plain SGD with lr=0.1 moves them, not as the `optimizer` "
        "you were given: did your step build its own optimizer or update the parameters by "
        "hand? Call `optimizer.step()` on the argument.",
    ),
)

# (batch, n_micro, optimizer class, its options): each optimizer other than the lesson's
# plain SGD shows an answer that builds its own; n_micro = 1 and micro-batches of one
# sample are the edges.
_SETUPS = (
    (8, 4, "SGD", {"lr": 0.1, "momentum": 0.9}),
    (6, 2, "Adam", {"lr": 0.05}),
    (12, 3, "SGD", {"lr": 0.2}),
    (5, 5, "RMSprop", {"lr": 0.01}),
    (4, 1, "SGD", {"lr": 0.1, "momentum": 0.5, "nesterov": True}),
)


def _build_config(draw, i):
    batch, n_micro, optimizer, options = _SETUPS[i]
    dtype = draw.dtype()
    features = draw.choice((2, 3, 5))
    shown = ", ".join(f"{k}={v}" for k, v in options.items())
    label = (
        f"a batch of {batch} in {n_micro} micro-batch{'es' if n_micro > 1 else ''}, "
        f"torch.optim.{optimizer}({shown}), {features} {dtype} features"
    )
    return config(
        label,
        batch=batch,
        n_micro=n_micro,
        optimizer=optimizer,
        options=MappingProxyType(options),
        dtype=dtype,
        features=features,
        seed=draw.seed % 2**31,
    )


def _configs():
    return draw_configs("02.4", _build_config, len(_SETUPS))


def _setup(cfg):
    """A fresh MLP, the configuration's optimizer over it, and a batch (x, y)."""
    dtype = cfg["dtype"]
    with seeded(cfg["seed"]):
        model = nn.Sequential(nn.Linear(cfg["features"], 4, dtype=dtype), nn.Tanh(), nn.Linear(4, 1, dtype=dtype))
        x = torch.randn(cfg["batch"], cfg["features"], dtype=dtype)
        y = torch.randn(cfg["batch"], 1, dtype=dtype)
    optimizer = getattr(torch.optim, cfg["optimizer"])(model.parameters(), **cfg["options"])
    return model, optimizer, x, y


STEPS_02_4 = 3


def _trajectory(step_fn, cfg):
    """Run ``STEPS_02_4`` calls of ``step_fn`` on a fresh set-up; return the params after each."""
    model, opt, x, y = _setup(cfg)
    out = []
    with torch.enable_grad():  # whatever the notebook, or a previous run, has set
        for _ in range(STEPS_02_4):
            step_fn(model, opt, x, y, cfg["n_micro"])
            out.append({n: p.detach().clone() for n, p in model.named_parameters()})
    return out


def _sizes_text(sizes):
    return "[" + ", ".join(map(str, sizes)) + "]"


def _run(invoke, cfg):
    """The learner's (or a variant's) trajectory; also checks which batches reached the model."""
    model, opt, x, y = _setup(cfg)
    n_micro = cfg["n_micro"]
    wanted = [len(c) for c in x.chunk(n_micro)]
    seen = []
    model.register_forward_pre_hook(lambda module, args: seen.append(len(args[0])))
    out = []
    with torch.enable_grad():
        for _ in range(STEPS_02_4):
            seen.clear()
            invoke(model, opt, x, y, n_micro)
            if not seen:
                fail(
                    f"with {cfg.label}: the `model` you were given never ran: did your step "
                    "use another model, e.g. the notebook's global one? Use the arguments."
                )
            if not any(seen[i : i + len(wanted)] == wanted for i in range(len(seen))):
                if len(seen) == 1 and seen[0] == len(x):
                    fail(
                        f"with {cfg.label}: your step ran the model once, on the whole batch: "
                        "that is the big-batch step itself. The exercise is to get the same "
                        "step from n_micro micro-batches, x.chunk(n_micro), one backward() each."
                    )
                hint = (
                    "x.split(k) makes pieces of k samples each, x.chunk(k) makes k pieces. "
                    if seen == [len(c) for c in x.split(n_micro)]
                    else ""
                )
                fail(
                    f"with {cfg.label}: your step ran the model on micro-batches of "
                    f"{_sizes_text(seen)} samples; n_micro={n_micro} micro-batches of this batch "
                    f"are {_sizes_text(wanted)} (x.chunk(n_micro)). {hint}Use the argument "
                    "`n_micro`, not a fixed number."
                )
            out.append({n: p.detach().clone() for n, p in model.named_parameters()})
    start = _setup(cfg)[0]
    if all(torch.equal(out[0][n], p.detach()) for n, p in start.named_parameters()):
        fail(
            f"with {cfg.label}: your step did not change the parameters: call "
            "`optimizer.step()` after the backward() calls, on the `optimizer` you were given."
        )
    return out


def _otherwise(mismatch, cfg):
    return (
        "clear once, backward() each micro-batch loss divided by n_micro, step once, with "
        "the `optimizer` you were given (this run uses another optimizer than the lesson's: "
        "an answer that builds its own, or updates the parameters by hand, differs here)."
    )


SPEC_02_4 = Spec(
    configs=_configs,
    reference=lambda cfg: _trajectory(_big_batch_step, cfg),
    run=_run,
    mistakes=_MISTAKES_02_4,
    otherwise=_otherwise,
    may_modify=(0, 1),
    compare=lambda got, expected: first_mismatch(got, expected, reference="one big-batch step", check_dtype=True),
    success=(
        f"{STEPS_02_4} accumulated steps match {STEPS_02_4} big-batch steps in all {{n}} "
        "configurations: SGD, SGD with momentum and Nesterov, Adam and RMSprop, 1 to 5 "
        "micro-batches, float32 and float64."
    ),
)


@exercise(
    "02.4",
    title="Gradient accumulation over micro-batches",
    solution=accumulated_step,
    hints=[
        "One call = one optimizer step. Clear the gradients once, run backward() once per "
        "micro-batch (x.chunk(n_micro) splits the batch), then step() once.",
        "mse_loss averages over its micro-batch. The big batch's mean is the average of "
        "the n_micro micro-batch means, so divide each micro-batch loss by n_micro before "
        "backward().",
    ],
)
def grade_accumulation(accumulated_step):
    """02.4: ``accumulated_step(model, optimizer, x, y, n_micro)`` equals one big-batch step."""
    return grade_spec(SPEC_02_4, accumulated_step, name="accumulated_step")
