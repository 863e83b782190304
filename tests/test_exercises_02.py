"""Lesson 02's checkers: the reference is accepted, stubs are "not attempted", and realistic
wrong answers get the specific feedback that names the mistake.

One table drives every case: (key, description, answers, expected status, message fragments).
The expected numbers are written out by hand, never computed by the code under test.
"""

import numpy as np
import pytest
import torch
from torch import nn

from myoptim_helpers.exercises import exercises_of, grade
from myoptim_helpers.exercises.lesson02 import accumulated_step

mse = nn.functional.mse_loss


# ----------------------------------------------------------------------------- 02.4 answers


def stub_step(model, optimizer, x, y, n_micro): ...


def split_instead_of_chunk(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    size = len(x) // n_micro
    for xb, yb in zip(x.split(size), y.split(size)):
        (mse(model(xb), yb) / n_micro).backward()
    optimizer.step()


def summed_then_one_backward(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    total = sum(mse(model(xb), yb) for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)))
    (total / n_micro).backward()
    optimizer.step()


def not_scaled(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
        mse(model(xb), yb).backward()
    optimizer.step()


def scaled_by_batch_size(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
        (mse(model(xb), yb) / len(x)).backward()
    optimizer.step()


def no_zero_grad(model, optimizer, x, y, n_micro):
    for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
        (mse(model(xb), yb) / n_micro).backward()
    optimizer.step()


def zero_grad_inside(model, optimizer, x, y, n_micro):
    for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
        optimizer.zero_grad()
        (mse(model(xb), yb) / n_micro).backward()
    optimizer.step()


def step_inside(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
        (mse(model(xb), yb) / n_micro).backward()
        optimizer.step()


def plain_minibatch_sgd(model, optimizer, x, y, n_micro):
    for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
        optimizer.zero_grad()
        (mse(model(xb), yb) / n_micro).backward()
        optimizer.step()


def forgets_step(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
        (mse(model(xb), yb) / n_micro).backward()


def hard_coded_four(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    for xb, yb in zip(x.chunk(4), y.chunk(4)):
        (mse(model(xb), yb) / 4).backward()
    optimizer.step()


def scales_x_in_place(model, optimizer, x, y, n_micro):
    x /= 1.0 + 1e-3  # modifies the caller's batch
    accumulated_step(model, optimizer, x, y, n_micro)


def typo_raises(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    for xb, yb in zip(x.chunks(n_micro), y.chunk(n_micro)):
        (mse(model(xb), yb) / n_micro).backward()
    optimizer.step()


def switches_grad_off(model, optimizer, x, y, n_micro):
    torch.set_grad_enabled(False)


def one_big_batch(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    mse(model(x), y).backward()
    optimizer.step()


def split_by_n_micro(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    for xb, yb in zip(x.split(n_micro), y.split(n_micro)):
        (mse(model(xb), yb) / n_micro).backward()
    optimizer.step()


GLOBAL_MODEL = nn.Sequential(nn.Linear(3, 4, dtype=torch.float64), nn.Tanh(), nn.Linear(4, 1, dtype=torch.float64))


def uses_global_model(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
        (mse(GLOBAL_MODEL(xb.double()[:, :3]), yb.double()) / n_micro).backward()
    optimizer.step()


def own_sgd(model, optimizer, x, y, n_micro):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
        (mse(model(xb), yb) / n_micro).backward()
    opt.step()


def updates_by_hand(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
        (mse(model(xb), yb) / n_micro).backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad


GLOBAL_X, GLOBAL_Y = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 1, dtype=torch.float64)


def uses_global_data(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    for xb, yb in zip(GLOBAL_X.chunk(n_micro), GLOBAL_Y.chunk(n_micro)):
        (mse(model(xb.to(x.dtype)[:, : x.shape[1]]), yb.to(y.dtype)) / n_micro).backward()
    optimizer.step()


def accumulates_in_place_on_x(model, optimizer, x, y, n_micro):
    optimizer.zero_grad()
    for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
        (mse(model(xb), yb) / n_micro).backward()
    optimizer.step()
    return model(x)  # an extra forward after the step is harmless


# ----------------------------------------------------------------------------- the table

CASES = [
    # 02.1: w after one zero_grad → backward → step (w = [2, -2], target = [3, 1], lr = 0.1)
    ("02.1", "reference", ([2.2, -1.4],), "correct", ["[−2, −6]"]),
    ("02.1", "a numpy array", (np.array([2.2, -1.4]),), "correct", ["[−2, −6]"]),
    ("02.1", "as a tensor", (torch.tensor([2.2, -1.4]),), "correct", []),
    ("02.1", "as a tuple, rounded", ((2.20, -1.400),), "correct", []),
    ("02.1", "stub", (...,), "not attempted", []),
    (
        "02.1",
        "a 2-D tensor",
        (torch.tensor([[2.2, -1.4]]),),
        "incorrect",
        ["is a tensor of shape (1, 2); give 2 numbers in a flat list"],
    ),
    ("02.1", "sign flipped", ([1.8, -2.6],), "incorrect", ["w[0] = 1.8", "*up* the gradient"]),
    ("02.1", "forgot lr", ([4.0, 4.0],), "incorrect", ["whole gradient", "lr = 0.1"]),
    ("02.1", "dropped the 2", ([2.1, -1.7],), "incorrect", ["2(w − target)"]),
    ("02.1", "gave the gradient", ([-2.0, -6.0],), "incorrect", ["that is the gradient"]),
    ("02.1", "gave the change", ([0.2, 0.6],), "incorrect", ["that is the change"]),
    ("02.1", "unchanged", ([2.0, -2.0],), "incorrect", ["w before the step"]),
    ("02.1", "gave the target", ([3.0, 1.0],), "incorrect", ["that is the target"]),
    (
        "02.1",
        "second element wrong",
        ([2.2, -2.6],),
        "incorrect",
        ["w[0] is right, but w[1] = -2.6", "*up* the gradient"],
    ),
    ("02.1", "unexplained", ([2.3, -1.4],), "incorrect", ["w[0] = 2.3 is too large", "2 (w[0] − target[0])"]),
    ("02.1", "unexplained, too small", ([2.2, -1.5],), "incorrect", ["w[0] is right, but w[1] = -1.5 is too small"]),
    ("02.1", "the demo's w", ([1.4, -1.4],), "incorrect", ["w[0] = 1.4 is too small"]),
    ("02.1", "huge", ([3e38, -1.4],), "incorrect", ["too large to be a useful answer"]),
    ("02.1", "one number", (2.2,), "incorrect", ["single number", "give 2"]),
    ("02.1", "three numbers", ([2.2, -1.4, 0.0],), "incorrect", ["has 3 number(s)"]),
    ("02.1", "NaN", ([float("nan"), -1.4],), "incorrect", ["`w_after`[0] is nan"]),
    ("02.1", "a string", ("2.2, -1.4",), "incorrect", ["should be a list of 2 numbers"]),
    # 02.2: w.grad after 3 backward → step iterations without zero_grad (lr = 0.25)
    ("02.2", "reference", ([-4.0, -6.0, -5.0],), "correct", ["−4, −6, −5", "past the minimum"]),
    ("02.2", "as a tensor", (torch.tensor([-4.0, -6.0, -5.0]),), "correct", []),
    ("02.2", "numpy numbers", ([np.float64(-4.0), np.float32(-6.0), np.int64(-5)],), "correct", []),
    ("02.2", "stub", (...,), "not attempted", []),
    (
        "02.2",
        "the loop with zero_grad",
        ([-4.0, -2.0, -1.0],),
        "incorrect",
        ["backward 1 is right; after backward 2", "*with* zero_grad()"],
    ),
    (
        "02.2",
        "newest gradient only",
        ([-4.0, -2.0, 1.0],),
        "incorrect",
        ["newest gradient alone", "adds it to what .grad already held"],
    ),
    ("02.2", "w stays at 1", ([-4.0, -8.0, -12.0],), "incorrect", ["as if w stayed at 1", "at the new w"]),
    (
        "02.2",
        "step uses newest gradient",
        ([-4.0, -6.0, -7.0],),
        "incorrect",
        ["backward 1–2 are right; after backward 3", "whole accumulated .grad"],
    ),
    ("02.2", "signs flipped", ([4.0, 6.0, 5.0],), "incorrect", ["signs are flipped", "negative"]),
    ("02.2", "unexplained", ([-4.0, -6.0, -4.5],), "incorrect", ["after backward 3 you have -4.5, which is too large"]),
    (
        "02.2",
        "gradient without the 2",
        ([-2.0, -3.5, -4.125],),
        "incorrect",
        ["after backward 1 you have -2: that uses w − 3 as the gradient"],
    ),
    (
        "02.2",
        "first one wrong",
        ([-6.0, -6.0, -5.0],),
        "incorrect",
        ["after backward 1 you have -6, which is too small"],
    ),
    ("02.2", "four numbers", ([-4.0, -6.0, -5.0, -3.0],), "incorrect", ["has 4 number(s); give 3"]),
    ("02.2", "one number", (-5.0,), "incorrect", ["is a single number; give 3"]),
    ("02.2", "a string inside", ([-4.0, "-6", -5.0],), "incorrect", ["`grads`[1] should be a number, got str."]),
    ("02.2", "two numbers", ([-4.0, -6.0],), "incorrect", ["has 2 number(s); give 3"]),
    # 02.3: zero-filled vs None gradients, lr 0.2, momentum 0.5, two steps without backward
    ("02.3", "reference", (2.4, 1.8), "correct", ["momentum keeps moving it"]),
    ("02.3", "stub", (..., ...), "not attempted", []),
    ("02.3", "0-d numpy arrays", (np.array(2.4), np.array(1.8)), "correct", []),
    ("02.3", "zeros do nothing", (1.8, 1.8), "incorrect", ["zero-filled .grad is still a gradient"]),
    ("02.3", "None also moves", (2.4, 2.4), "incorrect", ["`w_none`", "skips parameters"]),
    ("02.3", "swapped", (1.8, 2.4), "incorrect", ["swapped"]),
    ("02.3", "one step only", (2.2, 1.8), "incorrect", ["there are two"]),
    ("02.3", "buffer not decayed", (3.4, 1.8), "incorrect", ["buffer decays"]),
    ("02.3", "forgot step 1", (2.4, 1.0), "incorrect", ["step 1 had a real gradient"]),
    ("02.3", "the demo's lr", (1.7, 1.4), "incorrect", ["`w_none` = 1.4 is too small"]),
    ("02.3", "a tensor of two", (torch.tensor([2.4, 1.8]), 1.8), "incorrect", ["single number"]),
    ("02.3", "wrong count", (2.4,), "error", ["takes 2 answer(s)"]),
    ("02.3", "w_zeros too large", (2.5, 1.8), "incorrect", ["`w_zeros` = 2.5 is too large"]),
    ("02.3", "w_none off", (2.4, 1.9), "incorrect", ["`w_none` = 1.9 is too large", "skip w"]),
    ("02.3", "a string", ("2.4", 1.8), "incorrect", ["`w_zeros` should be a number, got str."]),
    ("02.3", "None", (2.4, None), "incorrect", ["`w_none` is None; expected a number."]),
    ("02.3", "NaN", (2.4, float("nan")), "incorrect", ["`w_none` is nan"]),
    ("02.3", "huge", (3e38, 1.8), "incorrect", ["too large to be a useful answer"]),
    # 02.4: gradient accumulation equals one big-batch step
    (
        "02.4",
        "reference",
        (accumulated_step,),
        "correct",
        ["3 accumulated steps match 3 big-batch steps in all 5 configurations"],
    ),
    ("02.4", "split instead of chunk", (split_instead_of_chunk,), "correct", []),
    ("02.4", "sum, then one backward", (summed_then_one_backward,), "correct", []),
    ("02.4", "an extra forward after the step", (accumulates_in_place_on_x,), "correct", []),
    ("02.4", "stub", (stub_step,), "not attempted", []),
    (
        "02.4",
        "loss not scaled",
        (not_scaled,),
        "incorrect",
        ["differs from one big-batch step already at step 1", "divided by n_micro"],
    ),
    ("02.4", "scaled by batch size", (scaled_by_batch_size,), "incorrect", ["not by the number of samples"]),
    (
        "02.4",
        "no zero_grad",
        (no_zero_grad,),
        "incorrect",
        ["matches one big-batch step for step 1, differs at step 2", "previous call"],
    ),
    ("02.4", "zero_grad inside the loop", (zero_grad_inside,), "incorrect", ["only the last one's gradient"]),
    ("02.4", "step inside the loop", (step_inside,), "incorrect", ["once per micro-batch"]),
    ("02.4", "plain minibatch SGD", (plain_minibatch_sgd,), "incorrect", ["plain SGD on micro-batches"]),
    ("02.4", "forgets step", (forgets_step,), "incorrect", ["did not change the parameters"]),
    (
        "02.4",
        "hard-coded 4 micro-batches",
        (hard_coded_four,),
        "incorrect",
        ["batch of 6 in 2 micro-batches", "micro-batches of [2, 2, 2] samples", "[3, 3]", "not a fixed number"],
    ),
    (
        "02.4",
        "one big batch, no micro-batches",
        (one_big_batch,),
        "incorrect",
        ["ran the model once, on the whole batch", "x.chunk(n_micro)"],
    ),
    (
        "02.4",
        "split(n_micro)",
        (split_by_n_micro,),
        "incorrect",
        ["micro-batches of [4, 4] samples", "x.split(k) makes pieces of k samples each"],
    ),
    ("02.4", "the global model", (uses_global_model,), "incorrect", ["the `model` you were given never ran", "global"]),
    (
        "02.4",
        "its own SGD",
        (own_sgd,),
        "incorrect",
        ["torch.optim.SGD(lr=0.1, momentum=0.9)", "not as the `optimizer` you were given", "build its own optimizer"],
    ),
    (
        "02.4",
        "updates by hand",
        (updates_by_hand,),
        "incorrect",
        ["torch.optim.SGD(lr=0.1, momentum=0.9)", "update the parameters by hand"],
    ),
    ("02.4", "the global data", (uses_global_data,), "incorrect", ["differs from one big-batch step"]),
    ("02.4", "modifies x in place", (scales_x_in_place,), "incorrect", ["modified its argument `x` in place"]),
    ("02.4", "raises", (typo_raises,), "error", ["raised AttributeError", "chunks"]),
    ("02.4", "switches gradients off", (switches_grad_off,), "incorrect", ["never ran"]),
    ("02.4", "not a function", (None,), "incorrect", ["accumulated_step should be a function, got NoneType."]),
]


@pytest.mark.parametrize(
    "key, answers, status, fragments", [pytest.param(k, a, s, f, id=f"{k} {d}") for k, d, a, s, f in CASES]
)
def test_feedback(key, answers, status, fragments):
    feedback = grade(key, *answers)
    assert feedback.status == status, str(feedback)
    for fragment in fragments:
        assert fragment in feedback.message, str(feedback)


def test_every_exercise_has_a_reference_case():
    keys = set(exercises_of("02"))
    assert keys == {"02.1", "02.2", "02.3", "02.4"}
    assert keys == {k for k, d, _, s, _ in CASES if d == "reference" and s == "correct"}


def test_grading_leaves_global_state_alone():
    rng = torch.get_rng_state()
    for key, _, answers, _, _ in CASES:
        grade(key, *answers)
    assert torch.equal(torch.get_rng_state(), rng)
    assert torch.get_default_dtype() == torch.float32
    assert torch.is_grad_enabled()


@pytest.mark.parametrize("key, answers", [(k, a) for k, d, a, s, _ in CASES if d == "reference"])
def test_grading_works_with_the_notebooks_grad_mode_off_and_leaves_it_off(key, answers):
    with torch.no_grad():
        feedback = grade(key, *answers)
        assert not torch.is_grad_enabled()
    assert feedback.status == "correct", str(feedback)
