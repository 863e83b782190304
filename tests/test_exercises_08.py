"""Lesson 08 checkers: each accepts correct variants, rejects realistic mistakes with the right
message, and calls the stub "not attempted".

The expected behaviour is written out here by hand, not taken from the checker's reference.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from myoptim_helpers.exercises import exercises_of, grade

F = nn.functional

# --------------------------------------------------------------------------- 08.1 answers


def epoch_ref(model, optimizer, x, y, batch_size, generator):
    order = torch.randperm(x.shape[0], generator=generator)
    losses = []
    for first in range(0, x.shape[0], batch_size):
        idx = order[first : first + batch_size]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def epoch_split(model, optimizer, x, y, batch_size, generator):
    """Correct: torch.split of the permutation, a loss module, float(), zero_grad at the end."""
    criterion = nn.CrossEntropyLoss()
    losses = []
    optimizer.zero_grad()
    for idx in torch.randperm(len(x), generator=generator).split(batch_size):
        loss = criterion(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss))
    return tuple(losses)


def epoch_stub(model, optimizer, x, y, batch_size, generator): ...


def epoch_unshuffled(model, optimizer, x, y, batch_size, generator):
    losses = []
    for first in range(0, len(x), batch_size):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x[first : first + batch_size]), y[first : first + batch_size])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def epoch_reseeded(model, optimizer, x, y, batch_size, generator):
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    return [_step(model, optimizer, x[i], y[i]) for i in order.split(batch_size)]


def epoch_global_rng(model, optimizer, x, y, batch_size, generator):
    order = torch.randperm(len(x))
    return [_step(model, optimizer, x[i], y[i]) for i in order.split(batch_size)]


def epoch_with_replacement(model, optimizer, x, y, batch_size, generator):
    order = torch.randint(len(x), (len(x),), generator=generator)
    return [_step(model, optimizer, x[i], y[i]) for i in order.split(batch_size)]


def epoch_drop_last(model, optimizer, x, y, batch_size, generator):
    order = torch.randperm(len(x), generator=generator)
    return [
        _step(
            model,
            optimizer,
            x[order[k * batch_size : (k + 1) * batch_size]],
            y[order[k * batch_size : (k + 1) * batch_size]],
        )
        for k in range(len(x) // batch_size)
    ]


def epoch_no_zero_grad(model, optimizer, x, y, batch_size, generator):
    losses = []
    for idx in torch.randperm(len(x), generator=generator).split(batch_size):
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def epoch_zero_grad_between(model, optimizer, x, y, batch_size, generator):
    losses = []
    for idx in torch.randperm(len(x), generator=generator).split(batch_size):
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        losses.append(loss.item())
    return losses


def epoch_summed(model, optimizer, x, y, batch_size, generator):
    losses = []
    for idx in torch.randperm(len(x), generator=generator).split(batch_size):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx], reduction="sum")
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def epoch_labels_unshuffled(model, optimizer, x, y, batch_size, generator):
    order = torch.randperm(len(x), generator=generator)
    losses = []
    for first in range(0, len(x), batch_size):
        losses.append(_step(model, optimizer, x[order[first : first + batch_size]], y[first : first + batch_size]))
    return losses


def epoch_one_step(model, optimizer, x, y, batch_size, generator):
    optimizer.zero_grad()
    losses = []
    for idx in torch.randperm(len(x), generator=generator).split(batch_size):
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        losses.append(loss.item())
    optimizer.step()
    return losses


def epoch_loss_after_step(model, optimizer, x, y, batch_size, generator):
    losses = []
    for idx in torch.randperm(len(x), generator=generator).split(batch_size):
        _step(model, optimizer, x[idx], y[idx])
        with torch.no_grad():
            losses.append(F.cross_entropy(model(x[idx]), y[idx]).item())
    return losses


def epoch_returns_tensors(model, optimizer, x, y, batch_size, generator):
    losses = []
    for idx in torch.randperm(len(x), generator=generator).split(batch_size):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        losses.append(loss)
    return losses


def epoch_returns_mean(model, optimizer, x, y, batch_size, generator):
    return sum(epoch_ref(model, optimizer, x, y, batch_size, generator)) / 3


def epoch_no_return(model, optimizer, x, y, batch_size, generator):
    epoch_ref(model, optimizer, x, y, batch_size, generator)


NOTEBOOK_MODEL = nn.Sequential(nn.Linear(64, 10)).double()
NOTEBOOK_OPTIMIZER = torch.optim.SGD(NOTEBOOK_MODEL.parameters(), lr=0.1)


def epoch_global_optimizer(model, optimizer, x, y, batch_size, generator):
    losses = []
    for idx in torch.randperm(len(x), generator=generator).split(batch_size):
        NOTEBOOK_OPTIMIZER.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        NOTEBOOK_OPTIMIZER.step()
        losses.append(loss.item())
    return losses


def epoch_mse(model, optimizer, x, y, batch_size, generator):
    losses = []
    for idx in torch.randperm(len(x), generator=generator).split(batch_size):
        optimizer.zero_grad()
        out = model(x[idx])
        loss = F.mse_loss(out, F.one_hot(y[idx], out.shape[1]).to(out.dtype))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def epoch_scales_x(model, optimizer, x, y, batch_size, generator):
    x /= 1.0 + 1e-9
    return epoch_ref(model, optimizer, x, y, batch_size, generator)


def epoch_typo(model, optimizer, x, y, batch_size, generator):
    order = torch.randperm(x.shape[0], generator=generator)
    return [_step(model, optimizer, x[i], y[i]) for i in order.split(batch_sise)]  # noqa: F821


def _step(model, optimizer, xb, yb):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


# --------------------------------------------------------------------------- 08.2 answers


def scaled_ref(lr, batch_size, new_batch_size, optimizer):
    ratio = new_batch_size / batch_size
    if issubclass(optimizer, torch.optim.SGD):
        return lr * ratio
    return lr * math.sqrt(ratio)


def scaled_ratio_first(lr, batch_size, new_batch_size, optimizer):
    """Correct: another order of operations, numpy's sqrt, a numpy float returned."""
    k = np.float64(new_batch_size) / batch_size
    return lr * (k if torch.optim.SGD in optimizer.__mro__ else np.sqrt(k))


def scaled_power(lr, batch_size, new_batch_size, optimizer):
    """Correct: one formula with an exponent."""
    exponent = 1.0 if issubclass(optimizer, torch.optim.SGD) else 0.5
    return lr * (new_batch_size / batch_size) ** exponent


def scaled_stub(lr, batch_size, new_batch_size, optimizer): ...


def scaled_inverse(lr, batch_size, new_batch_size, optimizer):
    ratio = batch_size / new_batch_size
    return lr * ratio if issubclass(optimizer, torch.optim.SGD) else lr * math.sqrt(ratio)


def scaled_sqrt_everywhere(lr, batch_size, new_batch_size, optimizer):
    return lr * math.sqrt(new_batch_size / batch_size)


def scaled_linear_everywhere(lr, batch_size, new_batch_size, optimizer):
    return lr * new_batch_size / batch_size


def scaled_swapped(lr, batch_size, new_batch_size, optimizer):
    ratio = new_batch_size / batch_size
    return lr * math.sqrt(ratio) if issubclass(optimizer, torch.optim.SGD) else lr * ratio


def scaled_floor_division(lr, batch_size, new_batch_size, optimizer):
    ratio = new_batch_size // batch_size
    return lr * ratio if issubclass(optimizer, torch.optim.SGD) else lr * math.sqrt(ratio)


def scaled_squared(lr, batch_size, new_batch_size, optimizer):
    ratio = new_batch_size / batch_size
    return lr * ratio**2 if issubclass(optimizer, torch.optim.SGD) else lr * ratio


def scaled_factor_only(lr, batch_size, new_batch_size, optimizer):
    ratio = new_batch_size / batch_size
    return ratio if issubclass(optimizer, torch.optim.SGD) else math.sqrt(ratio)


def scaled_base_32(lr, batch_size, new_batch_size, optimizer):
    ratio = new_batch_size / 32
    return lr * ratio if issubclass(optimizer, torch.optim.SGD) else lr * math.sqrt(ratio)


def scaled_by_name(lr, batch_size, new_batch_size, optimizer):
    ratio = new_batch_size / batch_size
    return lr * ratio if optimizer.__name__ == "SGD" else lr * math.sqrt(ratio)


def scaled_rmsprop_linear(lr, batch_size, new_batch_size, optimizer):
    ratio = new_batch_size / batch_size
    adam_like = issubclass(optimizer, torch.optim.Adam) or optimizer is torch.optim.AdamW
    return lr * math.sqrt(ratio) if adam_like else lr * ratio


def scaled_string(lr, batch_size, new_batch_size, optimizer):
    return f"{scaled_ref(lr, batch_size, new_batch_size, optimizer):.3g}"


def scaled_instance_check(lr, batch_size, new_batch_size, optimizer):
    ratio = new_batch_size / batch_size
    return lr * ratio if isinstance(optimizer, torch.optim.SGD) else lr * math.sqrt(ratio)


def scaled_tensor(lr, batch_size, new_batch_size, optimizer):
    return torch.tensor(scaled_ref(lr, batch_size, new_batch_size, optimizer), dtype=torch.float64)


# --------------------------------------------------------------------------- 08.3 answers


def smooth_ref(losses, smooth_f, diverge_th):
    smoothed, best = [], math.inf
    for k, loss in enumerate(losses):
        average = loss if k == 0 or smooth_f == 0 else smooth_f * loss + (1 - smooth_f) * smoothed[-1]
        smoothed.append(average)
        best = min(best, average)
        if not math.isfinite(average) or average > diverge_th * best:
            break
    return smoothed


def smooth_while(losses, smooth_f, diverge_th):
    """Correct: a while loop, best initialised from the first value, a numpy array returned."""
    out = [losses[0]]
    best = losses[0]
    k = 1
    stop = not math.isfinite(out[0])
    while not stop and k < len(losses):
        avg = (1 - smooth_f) * out[-1] + smooth_f * losses[k] if smooth_f else losses[k]
        out.append(avg)
        best = min(best, avg)
        stop = math.isnan(avg) or math.isinf(avg) or avg > diverge_th * best
        k += 1
    return np.array(out)


def smooth_stub(losses, smooth_f, diverge_th): ...


def smooth_swapped(losses, smooth_f, diverge_th):
    smoothed, best = [], math.inf
    for k, loss in enumerate(losses):
        average = loss if k == 0 or not smooth_f else (1 - smooth_f) * loss + smooth_f * smoothed[-1]
        smoothed.append(average)
        best = min(best, average)
        if not math.isfinite(average) or average > diverge_th * best:
            break
    return smoothed


def smooth_from_zero(losses, smooth_f, diverge_th):
    smoothed, best, average = [], math.inf, 0.0
    for loss in losses:
        average = smooth_f * loss + (1 - smooth_f) * average
        smoothed.append(average)
        best = min(best, average)
        if not math.isfinite(average) or average > diverge_th * best:
            break
    return smoothed


def smooth_debiased(losses, smooth_f, diverge_th):
    smoothed, best, running = [], math.inf, 0.0
    for k, loss in enumerate(losses):
        running = smooth_f * loss + (1 - smooth_f) * running
        average = running / (1 - (1 - smooth_f) ** (k + 1)) if smooth_f > 0 else loss
        smoothed.append(average)
        best = min(best, average)
        if not math.isfinite(average) or average > diverge_th * best:
            break
    return smoothed


def smooth_formula_at_zero(losses, smooth_f, diverge_th):
    smoothed, best = [], math.inf
    for k, loss in enumerate(losses):
        average = loss if k == 0 else smooth_f * loss + (1 - smooth_f) * smoothed[-1]
        smoothed.append(average)
        best = min(best, average)
        if not math.isfinite(average) or average > diverge_th * best:
            break
    return smoothed


def smooth_raw_test(losses, smooth_f, diverge_th):
    smoothed, best = [], math.inf
    for k, loss in enumerate(losses):
        average = loss if k == 0 or not smooth_f else smooth_f * loss + (1 - smooth_f) * smoothed[-1]
        smoothed.append(average)
        best = min(best, average)
        if not math.isfinite(loss) or loss > diverge_th * best:
            break
    return smoothed


def smooth_drops_last(losses, smooth_f, diverge_th):
    smoothed, best = [], math.inf
    for k, loss in enumerate(losses):
        average = loss if k == 0 or not smooth_f else smooth_f * loss + (1 - smooth_f) * smoothed[-1]
        best = min(best, average)
        if not math.isfinite(average) or average > diverge_th * best:
            break
        smoothed.append(average)
    return smoothed


def smooth_ignores_nan(losses, smooth_f, diverge_th):
    smoothed, best = [], math.inf
    for k, loss in enumerate(losses):
        average = loss if k == 0 or not smooth_f else smooth_f * loss + (1 - smooth_f) * smoothed[-1]
        smoothed.append(average)
        best = min(best, average)
        if average > diverge_th * best:
            break
    return smoothed


def smooth_additive(losses, smooth_f, diverge_th):
    smoothed, best = [], math.inf
    for k, loss in enumerate(losses):
        average = loss if k == 0 or not smooth_f else smooth_f * loss + (1 - smooth_f) * smoothed[-1]
        smoothed.append(average)
        best = min(best, average)
        if not math.isfinite(average) or average > best + diverge_th:
            break
    return smoothed


def smooth_first_is_best(losses, smooth_f, diverge_th):
    smoothed = []
    for k, loss in enumerate(losses):
        average = loss if k == 0 or not smooth_f else smooth_f * loss + (1 - smooth_f) * smoothed[-1]
        smoothed.append(average)
        if not math.isfinite(average) or average > diverge_th * smoothed[0]:
            break
    return smoothed


def smooth_never_stops(losses, smooth_f, diverge_th):
    smoothed = []
    for k, loss in enumerate(losses):
        smoothed.append(loss if k == 0 or not smooth_f else smooth_f * loss + (1 - smooth_f) * smoothed[-1])
    return smoothed


def smooth_greater_equal(losses, smooth_f, diverge_th):
    smoothed, best = [], math.inf
    for k, loss in enumerate(losses):
        average = loss if k == 0 or not smooth_f else smooth_f * loss + (1 - smooth_f) * smoothed[-1]
        smoothed.append(average)
        best = min(best, average)
        if not math.isfinite(average) or average >= diverge_th * best:
            break
    return smoothed


def smooth_in_place(losses, smooth_f, diverge_th):
    best = math.inf
    for k in range(len(losses)):
        if k and smooth_f:
            losses[k] = smooth_f * losses[k] + (1 - smooth_f) * losses[k - 1]
        best = min(best, losses[k])
        if not math.isfinite(losses[k]) or losses[k] > diverge_th * best:
            return losses[: k + 1]
    return losses


def smooth_raw_returned(losses, smooth_f, diverge_th):
    smoothed = smooth_ref(losses, smooth_f, diverge_th)
    return list(losses[: len(smoothed)])


def smooth_returns_float(losses, smooth_f, diverge_th):
    return smooth_ref(losses, smooth_f, diverge_th)[-1]


def smooth_returns_text(losses, smooth_f, diverge_th):
    return [f"{v:.4f}" for v in smooth_ref(losses, smooth_f, diverge_th)]


def smooth_index_error(losses, smooth_f, diverge_th):
    smoothed = []
    for k, loss in enumerate(losses):
        smoothed.append(smooth_f * loss + (1 - smooth_f) * smoothed[k - 1])
    return smoothed


# --------------------------------------------------------------------------- the table

CASES = [
    # (key, answer, status, message fragment)
    ("08.1", epoch_ref, "correct", "match the reference, in 4 configurations"),
    ("08.1", epoch_split, "correct", "every batch loss and the weights"),
    ("08.1", epoch_stub, "not attempted", "`epoch_stub` still has an empty body"),
    ("08.1", epoch_unshuffled, "incorrect", "the batches are not shuffled"),
    ("08.1", epoch_reseeded, "incorrect", "every epoch sees the same order"),
    ("08.1", epoch_global_rng, "incorrect", "the shuffle does not draw from the `generator` argument"),
    ("08.1", epoch_with_replacement, "incorrect", "drawn with replacement"),
    ("08.1", epoch_drop_last, "incorrect", "the last, smaller batch is left out"),
    ("08.1", epoch_no_zero_grad, "incorrect", "the gradients add up from batch to batch"),
    ("08.1", epoch_zero_grad_between, "incorrect", "wipes the gradient before the step uses it"),
    ("08.1", epoch_summed, "incorrect", "the batch loss is summed, not averaged"),
    ("08.1", epoch_labels_unshuffled, "incorrect", "the inputs are shuffled but the labels are not"),
    ("08.1", epoch_one_step, "incorrect", "the optimizer steps once per epoch"),
    ("08.1", epoch_loss_after_step, "incorrect", "each recorded loss is measured after the step"),
    ("08.1", epoch_returns_tensors, "incorrect", "entry 0 of the returned list is a tensor: append `loss.item()`"),
    ("08.1", epoch_returns_mean, "incorrect", "should be a list or a tuple, got float"),
    ("08.1", epoch_no_return, "incorrect", "returned None: did it forget to `return`"),
    ("08.1", epoch_global_optimizer, "incorrect", "never stepped the optimizer it was given"),
    ("08.1", epoch_mse, "incorrect", "loss"),
    ("08.1", epoch_scales_x, "incorrect", "modified its argument `x` in place"),
    ("08.1", epoch_typo, "error", "raised NameError: name 'batch_sise' is not defined"),
    ("08.2", scaled_ref, "correct", "linear scaling for SGD and its subclasses"),
    ("08.2", scaled_ratio_first, "correct", "in 8 configurations"),
    ("08.2", scaled_power, "correct", "the square-root rule for Adam"),
    ("08.2", scaled_stub, "not attempted", "still has an empty body"),
    ("08.2", scaled_inverse, "incorrect", "the ratio is upside down"),
    ("08.2", scaled_sqrt_everywhere, "incorrect", "SGD gets the square-root rule"),
    ("08.2", scaled_linear_everywhere, "incorrect", "Adam-like optimizers get the linear rule"),
    ("08.2", scaled_swapped, "incorrect", "the two rules are swapped"),
    ("08.2", scaled_floor_division, "incorrect", "`//` rounds the batch ratio down"),
    ("08.2", scaled_squared, "incorrect", "the ratio is applied once too often"),
    ("08.2", scaled_factor_only, "incorrect", "that is the factor alone: multiply it by the learning rate"),
    ("08.2", scaled_base_32, "incorrect", "the old batch size is taken as 32"),
    ("08.2", scaled_by_name, "incorrect", "a subclass of torch.optim.SGD is still SGD"),
    ("08.2", scaled_rmsprop_linear, "incorrect", "RMSprop is adaptive like Adam"),
    ("08.2", scaled_string, "incorrect", "should be a number, got str"),
    ("08.2", scaled_instance_check, "incorrect", "SGD gets the square-root rule"),
    ("08.2", scaled_tensor, "correct", "in 8 configurations"),
    ("08.3", smooth_ref, "correct", "match the range test's rule in 8 cases"),
    ("08.3", smooth_while, "correct", "the smoothed losses and the stopping step"),
    ("08.3", smooth_stub, "not attempted", "still has an empty body"),
    ("08.3", smooth_swapped, "incorrect", "the two weights are swapped"),
    ("08.3", smooth_from_zero, "incorrect", "the average starts at 0"),
    ("08.3", smooth_debiased, "incorrect", "that is fastai's bias-corrected average"),
    ("08.3", smooth_formula_at_zero, "incorrect", "with smooth_f = 0 the smoothing is off"),
    ("08.3", smooth_raw_test, "incorrect", "the stopping test looks at the raw loss"),
    ("08.3", smooth_drops_last, "incorrect", "the step that triggers the stop is left out"),
    ("08.3", smooth_ignores_nan, "incorrect", "a NaN or inf loss does not stop the test"),
    ("08.3", smooth_additive, "incorrect", "`diverge_th` is a factor"),
    ("08.3", smooth_first_is_best, "incorrect", "not the first one"),
    ("08.3", smooth_never_stops, "incorrect", "the test never stops"),
    ("08.3", smooth_greater_equal, "incorrect", "it stops only when the loss is strictly larger"),
    ("08.3", smooth_in_place, "incorrect", "modified its argument `losses` in place"),
    ("08.3", smooth_raw_returned, "incorrect", "smoothed to"),
    ("08.3", smooth_returns_float, "incorrect", "should be a list of numbers, got float"),
    ("08.3", smooth_returns_text, "incorrect", "entry 0 of the returned value should be a number, got str."),
    ("08.3", smooth_index_error, "error", "raised IndexError: list index out of range"),
]


@pytest.mark.parametrize("key, answer, status, fragment", CASES, ids=[f"{c[0]}-{c[1].__name__}-{c[2]}" for c in CASES])
def test_checker(key, answer, status, fragment):
    feedback = grade(key, answer)
    assert (feedback.status, fragment in feedback.message) == (status, True), feedback.message


def test_every_table_has_ten_wrong_answers_and_two_correct_variants():
    for key in exercises_of("08"):
        rows = [c for c in CASES if c[0] == key]
        assert sum(c[2] in ("incorrect", "error") for c in rows) >= 10, key
        assert sum(c[2] == "correct" for c in rows) >= 2, key


def test_every_exercise_has_hints_and_a_solution():
    found = exercises_of("08")
    assert list(found) == ["08.1", "08.2", "08.3"]
    for exercise in found.values():
        assert exercise.hints and exercise.solution_source(), exercise.key


@pytest.mark.parametrize("key, name", [("08.1", "train_epoch"), ("08.2", "scaled_lr"), ("08.3", "smooth_and_stop")])
def test_the_shown_solution_is_accepted(key, name):
    namespace = {"torch": torch, "nn": nn, "math": math}
    exec(exercises_of("08")[key].solution_source(), namespace)
    assert grade(key, namespace[name]).status == "correct"


def test_the_checkers_reference_rule_is_torch_lr_finders():
    """The 08.3 reference smooths and stops exactly like torch-lr-finder 0.2.2's range_test loop."""
    from myoptim_helpers.exercises.lesson08 import smooth_and_stop

    def torch_lr_finder_loop(raw, smooth_f, diverge_th):  # its code, lines 357-373, transcribed
        history, best_loss = [], None
        for iteration, loss in enumerate(raw):
            if iteration == 0:
                best_loss = loss
            else:
                if smooth_f > 0:
                    loss = smooth_f * loss + (1 - smooth_f) * history[-1]
                if loss < best_loss:
                    best_loss = loss
            history.append(loss)
            if loss > diverge_th * best_loss:
                break
        return history

    raw = [2.0 * 0.9**k for k in range(20)] + [0.3 * 1.5**k for k in range(20)]
    for smooth_f, th in [(0.05, 5.0), (0.3, 2.0), (0.0, 4.0)]:
        assert smooth_and_stop(raw, smooth_f, th) == torch_lr_finder_loop(raw, smooth_f, th)
