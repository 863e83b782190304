"""Checkers for lesson 08 · Training a real network.

- 08.1 ``train_epoch``: one epoch of minibatch training with a fresh shuffle per epoch,
  returning the loss of every batch; checked batch by batch and epoch by epoch.
- 08.2 ``scaled_lr``: the learning rate for a new batch size, by the linear scaling rule
  for SGD (Goyal et al. 2017) and the square-root rule for Adam-like optimizers
  (Malladi et al. 2022).
- 08.3 ``smooth_and_stop``: the learning-rate range test's smoothing and stopping rule.

Each grader draws its configurations at check time from a generator with a fixed seed
(so a verdict is reproducible), runs the answer on its own fresh objects (models, data,
optimizers of other shapes and kinds than the notebook's), compares with an independent
reference and, when the answer differs, runs the known wrong variants of the exercise and
names the one the answer matches.
"""

from __future__ import annotations

import math
import random

import torch
from torch import nn

from ._assertions import as_plain, expect_number, fmt
from ._calling import call
from ._feedback import correct, fail
from ._isolation import seeded
from ._registry import exercise

__all__ = ["train_epoch", "scaled_lr", "smooth_and_stop"]


# ----------------------------------------------------------------------------- 08.1


# The two rules of 08.3, as a ✗ message states them when no known mistake explains the answer.
_SMOOTHING_RULE = "smoothed[k] = smooth_f * losses[k] + (1 - smooth_f) * smoothed[k - 1], from smoothed[0] = losses[0]."
_STOPPING_RULE = (
    "; stop at the first step whose smoothed loss is not finite or exceeds diverge_th × the best so far,"
    " and keep that step."
)


def train_epoch(model, optimizer, x, y, batch_size, generator):
    """One epoch of minibatch training: reshuffle, then one step per batch; return the batch losses."""
    order = torch.randperm(x.shape[0], generator=generator)  # a new order every epoch
    losses = []
    for first in range(0, x.shape[0], batch_size):
        idx = order[first : first + batch_size]  # the last batch may be smaller
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


_train_epoch = train_epoch


def _epoch_variant(
    *,
    order="randperm",
    drop_last=False,
    zero_grad="before",
    reduction="mean",
    labels="shuffled",
    steps="per batch",
    record="before",
):
    """A wrong ``train_epoch``: one switch away from the reference."""

    def variant(model, optimizer, x, y, batch_size, generator):
        n = x.shape[0]
        if order == "randperm":
            perm = torch.randperm(n, generator=generator)
        elif order == "arange":
            perm = torch.arange(n)
        elif order == "reseeded":
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(0))
        else:  # with replacement
            perm = torch.randint(n, (n,), generator=generator)
        stop = n - batch_size + 1 if drop_last else n
        losses = []
        if steps == "per epoch":
            optimizer.zero_grad()
        for first in range(0, stop, batch_size):
            idx = perm[first : first + batch_size]
            target = y[first : first + batch_size] if labels == "unshuffled" else y[idx]
            if zero_grad == "before" and steps == "per batch":
                optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x[idx]), target, reduction=reduction)
            loss.backward()
            if zero_grad == "between":
                optimizer.zero_grad()
            if steps == "per batch":
                optimizer.step()
            if record == "after":
                with torch.no_grad():
                    loss = nn.functional.cross_entropy(model(x[idx]), target)
            losses.append(loss.item())
        if steps == "per epoch":
            optimizer.step()
        return losses

    return variant


_EPOCH_MISTAKES = [
    (
        _epoch_variant(order="arange"),
        "the batches are not shuffled: they come in the data's own order. Draw "
        "`torch.randperm(n, generator=generator)` at the start of every epoch.",
    ),
    (
        _epoch_variant(order="reseeded"),
        "the shuffle comes from a new generator seeded inside the function, so every epoch sees "
        "the same order. Draw the permutation from the `generator` argument: it moves on by "
        "itself from one epoch to the next.",
    ),
    (
        _epoch_variant(order="randint"),
        "the batches are drawn with replacement (some examples twice, others never): an epoch "
        "visits every example once, in the order of `torch.randperm`.",
    ),
    (
        _epoch_variant(drop_last=True),
        "the last, smaller batch is left out: `range(0, n, batch_size)` gives every start, and "
        "the final slice simply holds the examples that are left.",
    ),
    (
        _epoch_variant(zero_grad="never"),
        "the gradients add up from batch to batch: call `optimizer.zero_grad()` before each backward pass.",
    ),
    (
        _epoch_variant(zero_grad="between"),
        "`optimizer.zero_grad()` between `backward()` and `step()` wipes the gradient before "
        "the step uses it: zero the gradients before the forward pass.",
    ),
    (
        _epoch_variant(reduction="sum"),
        "the batch loss is summed, not averaged: its size then grows with the batch. Use the "
        "mean, `cross_entropy`'s default.",
    ),
    (
        _epoch_variant(labels="unshuffled"),
        "the inputs are shuffled but the labels are not: index both `x` and `y` with the same batch of indices.",
    ),
    (
        _epoch_variant(steps="per epoch"),
        "the optimizer steps once per epoch, on the gradient summed over all batches: minibatch "
        "training takes one step per batch.",
    ),
    (
        _epoch_variant(record="after"),
        "each recorded loss is measured after the step: record the loss the batch had before "
        "its update (the one `backward()` was called on).",
    ),
]


def _epoch_configs():
    """Four configurations drawn at check time, with a fixed seed so the verdict is reproducible."""
    rng = random.Random(808)
    configs = []
    for dtype, optimizer, n, batch in [
        (torch.float64, "SGD", rng.choice([27, 29, 31, 33, 35]), 8),
        (torch.float32, "Adam", 20, 5),
        (torch.float64, "SGD", rng.randint(5, 7), 10),
        (torch.float64, "Adam", rng.randint(4, 6), 1),
    ]:
        configs.append(
            {
                "dtype": dtype,
                "optimizer": optimizer,
                "n": n,
                "batch_size": batch,
                "inputs": rng.randint(3, 6),
                "hidden": rng.randint(4, 8),
                "classes": rng.randint(3, 5),
                "lr": round(rng.uniform(0.05, 0.4), 3) if optimizer == "SGD" else round(rng.uniform(0.005, 0.05), 4),
                "momentum": round(rng.uniform(0.5, 0.9), 2),
                "seed": rng.randint(0, 10**6),
            }
        )
    return configs


class _CountsSteps:
    """Mixed into torch's optimizers: counts step() calls (an answer that steps another optimizer is caught)."""

    steps_taken = 0

    def step(self, closure=None):
        """Count, then take the optimizer's own step."""
        self.steps_taken += 1
        return super().step(closure)


class _CountingSGD(_CountsSteps, torch.optim.SGD):
    """torch's SGD, counting its steps."""


class _CountingAdam(_CountsSteps, torch.optim.Adam):
    """torch's Adam, counting its steps."""


def _epoch_setup(config):
    with seeded(config["seed"]):
        model = nn.Sequential(
            nn.Linear(config["inputs"], config["hidden"]), nn.Tanh(), nn.Linear(config["hidden"], config["classes"])
        ).to(config["dtype"])
        x = torch.randn(config["n"], config["inputs"], dtype=config["dtype"])
        y = torch.randint(config["classes"], (config["n"],))
    if config["optimizer"] == "SGD":
        opt = _CountingSGD(model.parameters(), lr=config["lr"], momentum=config["momentum"])
    else:
        opt = _CountingAdam(model.parameters(), lr=config["lr"], betas=(config["momentum"], 0.99))
    return model, opt, x, y, torch.Generator().manual_seed(config["seed"])


_EPOCHS = 2


def _epoch_record(fn, config, learner=False):
    """Run ``fn`` for two epochs on fresh objects; return [(losses, params after)] per epoch."""
    model, opt, x, y, generator = _epoch_setup(config)
    record = []
    for _ in range(_EPOCHS):
        if learner:
            before = generator.get_state()
            losses = call(
                fn, model, opt, x, y, config["batch_size"], generator, may_modify=(0, 1, 5), returns=(list, tuple)
            )
            losses = _loss_list(losses)
            if opt.steps_taken == 0 and losses:
                fail(
                    f"{_setting(config)}: `train_epoch` never stepped the optimizer it was given: "
                    "call `optimizer.step()` on the `optimizer` argument, not the notebook's own."
                )
            if torch.equal(before, generator.get_state()):
                unused = (
                    "the shuffle does not draw from the `generator` argument (its state did "
                    "not move): use `torch.randperm(n, generator=generator)`, so that a seed "
                    "makes the order reproducible."
                )
                mistake = next(
                    (
                        text
                        for variant, text in _EPOCH_MISTAKES[:2]
                        if _same_epochs(
                            [(losses, [p.detach().clone() for p in model.parameters()])],
                            _epoch_record(variant, config)[:1],
                            config["dtype"],
                        )
                    ),
                    None,
                )
                fail(f"{_setting(config)}: {mistake or unused}")
        else:
            losses = fn(model, opt, x, y, config["batch_size"], generator)
        record.append((losses, [p.detach().clone() for p in model.parameters()]))
    return record


def _loss_list(losses) -> list:
    out = []
    for i, value in enumerate(losses):
        if isinstance(value, torch.Tensor):
            fail(
                f"entry {i} of the returned list is a tensor: append `loss.item()`, a Python float "
                "(a tensor keeps its whole autograd graph alive)."
            )
        out.append(expect_number(value, f"entry {i} of the returned list"))
    return out


def _same_epochs(got, expected, dtype) -> bool:
    rtol = 1e-5 if dtype == torch.float32 else 1e-10
    for (g_losses, g_params), (e_losses, e_params) in zip(got, expected):
        if len(g_losses) != len(e_losses):
            return False
        if not all(math.isclose(a, b, rel_tol=rtol, abs_tol=rtol) for a, b in zip(g_losses, e_losses)):
            return False
        if not all(torch.allclose(a, b, rtol=rtol, atol=rtol) for a, b in zip(g_params, e_params)):
            return False
    return True


def _setting(config) -> str:
    dtype = str(config["dtype"]).replace("torch.", "")
    return f"with {config['n']} {dtype} examples, batch_size={config['batch_size']} and {config['optimizer']}"


@exercise(
    "08.1",
    title="A minibatch epoch, reshuffled",
    solution=train_epoch,
    hints=[
        "Start with `order = torch.randperm(x.shape[0], generator=generator)`: a new permutation "
        "every time the function is called, reproducible through the generator.",
        "Loop `for first in range(0, n, batch_size)`, take `idx = order[first:first + batch_size]`, "
        "then zero_grad, cross_entropy on `model(x[idx])` and `y[idx]`, backward, step, and append "
        "`loss.item()`.",
    ],
)
def grade_train_epoch(train_epoch):
    """train_epoch must shuffle from `generator` each epoch and step once per (possibly short) batch."""
    for config in _epoch_configs():
        expected = _epoch_record(_train_epoch, config)
        got = _epoch_record(train_epoch, config, learner=True)
        if _same_epochs(got, expected, config["dtype"]):
            continue
        mistake = next(
            (
                text
                for variant, text in _EPOCH_MISTAKES
                if _same_epochs(got, _epoch_record(variant, config), config["dtype"])
            ),
            None,
        )
        for epoch, ((g_losses, g_params), (e_losses, e_params)) in enumerate(zip(got, expected), start=1):
            if len(g_losses) != len(e_losses):
                cause = mistake or (
                    f"{config['n']} examples in batches of {config['batch_size']} make "
                    f"{len(e_losses)} batches, the last one smaller if it does not divide."
                )
                fail(
                    f"{_setting(config)}: epoch {epoch} returned {len(g_losses)} losses, expected "
                    f"{len(e_losses)}, one per batch: {cause}"
                )
            rtol = 1e-5 if config["dtype"] == torch.float32 else 1e-10
            bad = next(
                (
                    i
                    for i, (a, b) in enumerate(zip(g_losses, e_losses))
                    if not math.isclose(a, b, rel_tol=rtol, abs_tol=rtol)
                ),
                None,
            )
            if bad is not None:
                cause = mistake or (
                    "each entry is the mean cross-entropy of one batch of the "
                    "epoch's shuffled order, recorded before its step."
                )
                fail(
                    f"{_setting(config)}: epoch {epoch}, batch {bad + 1}: loss {fmt(g_losses[bad], e_losses[bad])}, "
                    f"expected {fmt(e_losses[bad], g_losses[bad])}: {cause}"
                )
            if not all(torch.allclose(a, b, rtol=rtol, atol=rtol) for a, b in zip(g_params, e_params)):
                untouched = _epoch_setup(config)[0]
                if epoch == 1 and all(torch.equal(a, b.detach()) for a, b in zip(g_params, untouched.parameters())):
                    fail(
                        f"{_setting(config)}: the model you were given did not change: train `model` "
                        "with `optimizer`, the arguments, not the notebook's own."
                    )
                cause = mistake or "one optimizer step per batch, after that batch's backward pass."
                fail(f"{_setting(config)}: the losses are right, but the weights after epoch {epoch} differ: {cause}")
    return correct(
        "every batch loss and the weights after each of 2 epochs match the reference, in 4 "
        "configurations (SGD and Adam, float32 and float64, a short last batch, "
        "batch_size 1 and one larger than the data)."
    )


# ----------------------------------------------------------------------------- 08.2


def scaled_lr(lr, batch_size, new_batch_size, optimizer):
    """The learning rate for ``new_batch_size``.

    Linear scaling for SGD, square-root scaling for Adam-like optimizers.
    """
    ratio = new_batch_size / batch_size
    if issubclass(optimizer, torch.optim.SGD):
        return lr * ratio  # Goyal et al. (2017): lr ∝ B
    return lr * math.sqrt(ratio)  # Malladi et al. (2022): lr ∝ √B for Adam, AdamW, RMSprop


_scaled_lr = scaled_lr


class _MomentumSGD(torch.optim.SGD):
    """A subclass of torch's SGD under another name: still SGD."""


class _TunedAdam(torch.optim.Adam):
    """A subclass of torch's Adam under another name: still Adam."""


def _scaling_configs():
    rng = random.Random(8082)
    classes = [
        torch.optim.SGD,
        torch.optim.Adam,
        torch.optim.AdamW,
        torch.optim.RMSprop,
        _MomentumSGD,
        _TunedAdam,
        torch.optim.SGD,
        torch.optim.Adam,
    ]
    pairs = [(32, 256), (128, 16), (48, 200), (100, 30), (200, 50), (7, 96), (64, 64), (24, 1000)]
    return [(round(rng.uniform(0.0005, 0.3), 5), b, nb, cls) for (b, nb), cls in zip(pairs, classes)]


def _is_sgd(cls) -> bool:
    return issubclass(cls, torch.optim.SGD)


_SCALING_MISTAKES = [
    (
        lambda lr, b, nb, c: lr * b / nb if _is_sgd(c) else lr * math.sqrt(b / nb),
        "the ratio is upside down: a larger batch gets a larger learning rate, new_batch_size / batch_size.",
    ),
    (
        lambda lr, b, nb, c: lr * math.sqrt(nb / b),
        "SGD gets the square-root rule: for SGD the linear scaling rule multiplies the lr by "
        "the batch ratio itself (Goyal et al. 2017).",
    ),
    (
        lambda lr, b, nb, c: lr * nb / b,
        "Adam-like optimizers get the linear rule: for Adam, AdamW and RMSprop the rule is the "
        "square root of the batch ratio (Malladi et al. 2022).",
    ),
    (
        lambda lr, b, nb, c: lr * math.sqrt(nb / b) if _is_sgd(c) else lr * nb / b,
        "the two rules are swapped: linear for SGD, square root for Adam-like optimizers.",
    ),
    (
        lambda lr, b, nb, c: lr * (nb // b) if _is_sgd(c) else lr * math.sqrt(nb // b),
        "`//` rounds the batch ratio down to a whole number (to 0 for a smaller batch): divide with `/`.",
    ),
    (
        lambda lr, b, nb, c: lr * (nb / b) ** 2 if _is_sgd(c) else lr * nb / b,
        "the ratio is applied once too often: linear for SGD, square root for Adam.",
    ),
    (
        lambda lr, b, nb, c: nb / b if _is_sgd(c) else math.sqrt(nb / b),
        "that is the factor alone: multiply it by the learning rate `lr`.",
    ),
    (
        lambda lr, b, nb, c: lr * nb / 32 if _is_sgd(c) else lr * math.sqrt(nb / 32),
        "the old batch size is taken as 32: use the `batch_size` argument.",
    ),
    (
        lambda lr, b, nb, c: lr * nb / b if c.__name__ == "SGD" else lr * math.sqrt(nb / b),
        "a subclass of torch.optim.SGD is still SGD: decide with "
        "`issubclass(optimizer, torch.optim.SGD)`, not by the class's name.",
    ),
    (
        lambda lr, b, nb, c: (
            lr * nb / b
            if (
                _is_sgd(c)
                or c.__name__ != "Adam"
                and c is not torch.optim.AdamW
                and not issubclass(c, torch.optim.Adam)
            )
            else lr * math.sqrt(nb / b)
        ),
        "RMSprop is adaptive like Adam: it gets the square-root rule too; only SGD scales linearly.",
    ),
    (
        lambda lr, b, nb, c: (
            lr * nb / b if _is_sgd(c) else lr * math.sqrt(nb / b) if c.__name__ == "Adam" else lr * nb / b
        ),
        "a subclass of Adam, AdamW and RMSprop are all adaptive: every optimizer but SGD gets the square-root rule.",
    ),
]


def _describe_class(cls) -> str:
    if cls is _MomentumSGD:
        return "a subclass of torch.optim.SGD"
    if cls is _TunedAdam:
        return "a subclass of torch.optim.Adam"
    return f"torch.optim.{cls.__name__}"


@exercise(
    "08.2",
    title="Scale the learning rate with the batch",
    solution=scaled_lr,
    hints=[
        "Both rules start from the ratio `new_batch_size / batch_size`: SGD multiplies the lr by "
        "it, Adam-like optimizers by its square root.",
        "`issubclass(optimizer, torch.optim.SGD)` tells SGD (and its subclasses) from the rest; "
        "`math.sqrt` gives the square root.",
    ],
)
def grade_scaled_lr(scaled_lr):
    """scaled_lr(lr, batch_size, new_batch_size, optimizer) must follow the two rules for every class."""
    for lr, b, nb, cls in _scaling_configs():
        value = call(scaled_lr, lr, b, nb, cls, name="`scaled_lr`")
        got = expect_number(as_plain(value), f"scaled_lr({lr}, {b}, {nb}, {_describe_class(cls)})")
        expected = _scaled_lr(lr, b, nb, cls)
        if math.isclose(got, expected, rel_tol=1e-9):
            continue
        wrong = [
            text
            for variant, text in _SCALING_MISTAKES
            if all(
                math.isclose(
                    expect_number(as_plain(call(scaled_lr, *c, name="`scaled_lr`")), "lr"), variant(*c), rel_tol=1e-9
                )
                for c in _scaling_configs()
            )
        ]
        cause = (
            wrong[0]
            if wrong
            else ("SGD: lr · new_batch_size / batch_size; Adam, AdamW, RMSprop: lr · √(new_batch_size / batch_size).")
        )
        fail(
            f"for {_describe_class(cls)} from batch {b} to {nb} at lr {lr} you give {fmt(got, expected)}, "
            f"expected {fmt(expected, got)}: {cause}"
        )
    return correct(
        "linear scaling for SGD and its subclasses, the square-root rule for Adam, AdamW and "
        "RMSprop, for batches growing and shrinking, in 8 configurations."
    )


# ----------------------------------------------------------------------------- 08.3


def smooth_and_stop(losses, smooth_f, diverge_th):
    """The range test's smoothed losses, up to and including the step where it stops."""
    smoothed = []
    best = math.inf
    for k, loss in enumerate(losses):
        # The average starts at the first loss (no zero start, no bias to correct);
        # smooth_f = 0 turns smoothing off, as in torch-lr-finder.
        average = loss if k == 0 or smooth_f == 0 else smooth_f * loss + (1 - smooth_f) * smoothed[-1]
        smoothed.append(average)
        best = min(best, average)
        if not math.isfinite(average) or average > diverge_th * best:
            break  # the diverging step is kept
    return smoothed


_smooth_and_stop = smooth_and_stop


def _smooth_variant(
    *,
    weights="right",
    start="first",
    test="smoothed",
    best_of="smoothed",
    keep_last=True,
    nan_stop=True,
    threshold="times",
    best_is="running",
    strict=True,
    zero_off=True,
):
    def variant(losses, smooth_f, diverge_th):
        smoothed, best, raw_best, zero_avg = [], math.inf, math.inf, 0.0
        for k, loss in enumerate(losses):
            if start == "zero":
                prev = 0.0 if k == 0 else smoothed[-1]
                average = smooth_f * loss + (1 - smooth_f) * prev
            elif start == "debiased":
                zero_avg = smooth_f * loss + (1 - smooth_f) * zero_avg
                average = zero_avg / (1 - (1 - smooth_f) ** (k + 1)) if smooth_f > 0 else loss
            elif k == 0 or (zero_off and smooth_f == 0):
                average = loss
            elif weights == "swapped":
                average = (1 - smooth_f) * loss + smooth_f * smoothed[-1]
            else:
                average = smooth_f * loss + (1 - smooth_f) * smoothed[-1]
            if best_is == "first":
                best = average if k == 0 else best
            else:
                best = min(best, average)
            raw_best = min(raw_best, loss)
            reference = raw_best if best_of == "raw" else (smoothed[-1] if best_is == "previous" and smoothed else best)
            value = loss if test == "raw" else average
            if threshold == "times":
                over = value > diverge_th * reference if strict else value >= diverge_th * reference
            else:
                over = value > reference + diverge_th
            if test == "never":
                over, nan_stop_here = False, False
            else:
                nan_stop_here = nan_stop
            stop = over or (nan_stop_here and not math.isfinite(value))
            if stop and not keep_last:
                break
            smoothed.append(average)
            if stop:
                break
        return smoothed

    return variant


_SMOOTH_MISTAKES = [
    (
        _smooth_variant(weights="swapped"),
        "the two weights are swapped: the new loss gets `smooth_f` (small, 0.05 by default) and "
        "the running average `1 − smooth_f`.",
    ),
    (
        _smooth_variant(start="zero"),
        "the average starts at 0, so the first values are pulled towards 0: start it at the first "
        "loss, `smoothed[0] = losses[0]`.",
    ),
    (
        _smooth_variant(start="debiased"),
        "that is fastai's bias-corrected average (start at 0, divide by 1 − (1 − smooth_f)^(k+1)); "
        "this test starts the average at the first loss instead, with no correction.",
    ),
    (
        _smooth_variant(test="raw"),
        "the stopping test looks at the raw loss: it must compare the smoothed loss with "
        "`diverge_th` × the best smoothed loss, or one noisy batch ends the test.",
    ),
    (
        _smooth_variant(best_of="raw"),
        "the best loss is taken over the raw losses: compare the smoothed loss with the lowest *smoothed* loss so far.",
    ),
    (_smooth_variant(keep_last=False), "the step that triggers the stop is left out: append it, then stop."),
    (
        _smooth_variant(nan_stop=False),
        "a NaN or inf loss does not stop the test (`NaN > x` is False): stop when the smoothed loss "
        "is not finite, `not math.isfinite(average)`.",
    ),
    (
        _smooth_variant(threshold="plus"),
        "`diverge_th` is a factor: stop when the smoothed loss exceeds `diverge_th * best`, not `best + diverge_th`.",
    ),
    (
        _smooth_variant(best_is="first"),
        "the best loss must be the lowest smoothed loss so far, updated at every step, not the first one.",
    ),
    (
        _smooth_variant(best_is="previous"),
        "the loss is compared with the previous smoothed loss: compare it with the best (lowest) smoothed loss so far.",
    ),
    (
        _smooth_variant(test="never"),
        "the test never stops: once the smoothed loss exceeds `diverge_th` × its best, return "
        "what you have, that step included.",
    ),
    (
        _smooth_variant(zero_off=False),
        "with smooth_f = 0 the smoothing is off: each value is the raw loss (torch-lr-finder's "
        "convention), while the formula would freeze the average at the first loss.",
    ),
    (
        _smooth_variant(strict=False),
        "the test stops when the loss *equals* `diverge_th` × best: it stops only when the loss is "
        "strictly larger (`>`).",
    ),
]


def _smooth_configs():
    """Loss sequences drawn at check time (fixed seed) plus hand-made edge cases."""
    rng = random.Random(8083)
    configs = []
    for smooth_f, diverge_th in [(0.05, 5.0), (0.3, 2.0), (0.0, 4.0), (0.9, 3.0)]:
        n = rng.randint(25, 40)
        turn = rng.randint(8, n - 5)
        losses = [2.0 * 0.9**k * (1 + 0.3 * rng.uniform(-1, 1)) for k in range(turn)]
        losses += [losses[-1] * 1.6 ** (k + 1) for k in range(n - turn)]
        configs.append((losses, smooth_f, diverge_th))
    configs.append(([rng.uniform(0.5, 1.5) for _ in range(15)], 0.1, 5.0))  # never diverges
    configs.append(([1.3, 1.1, 0.9, math.nan, 0.8, 0.7], 0.2, 5.0))  # a NaN
    configs.append(([1.0, 0.5, 2.0, 1.0, 3.0], 0.0, 4.0))  # exactly 4 × best at step 3
    configs.append(([0.7, 0.9, 1.2, 1.5, 2.0, 3.0, 6.0], 0.5, 2.5))  # the first loss is the best
    return configs


def _as_float_list(value, name):
    value = as_plain(value)
    if isinstance(value, torch.Tensor):
        if value.dim() != 1:
            fail(f"{name} should be a list of numbers, got a tensor of shape {tuple(value.shape)}.")
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        fail(f"{name} should be a list of numbers, got {type(value).__name__}.")
    # NaN and inf are answers here: the smoothed loss that stops the test stays in the list.
    return [expect_number(v, f"entry {i} of {name}", finite=False, limit=None) for i, v in enumerate(value)]


def _same_list(got, expected) -> bool:
    return len(got) == len(expected) and all(
        (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
        for a, b in zip(got, expected)
    )


@exercise(
    "08.3",
    title="The range test's smoothing and stopping rule",
    solution=smooth_and_stop,
    hints=[
        "Keep a list `smoothed` and the best smoothed loss so far. The first average is the first "
        "loss; after that, `smooth_f * loss + (1 - smooth_f) * smoothed[-1]`.",
        "Append the average, update the best, and stop (break) when the average is not finite or "
        "larger than `diverge_th * best`: that step stays in the list.",
    ],
)
def grade_smooth_and_stop(smooth_and_stop):
    """smooth_and_stop(losses, smooth_f, diverge_th) must smooth from the first loss and stop like torch-lr-finder."""
    configs = _smooth_configs()
    for number, (losses, smooth_f, diverge_th) in enumerate(configs, start=1):
        given = list(losses)
        got = _as_float_list(
            call(smooth_and_stop, given, smooth_f, diverge_th, name="`smooth_and_stop`", returns=None),
            "the returned value",
        )
        expected = _smooth_and_stop(losses, smooth_f, diverge_th)
        if _same_list(got, expected):
            continue

        def matches(variant):
            for c_losses, c_f, c_th in configs:
                mine = call(smooth_and_stop, list(c_losses), c_f, c_th, name="`smooth_and_stop`")
                if not _same_list(_as_float_list(mine, "the returned value"), variant(c_losses, c_f, c_th)):
                    return False
            return True

        cause = next((text for variant, text in _SMOOTH_MISTAKES if matches(variant)), None)
        setting = f"with smooth_f={smooth_f}, diverge_th={diverge_th} on {len(losses)} losses (case {number})"
        for k, (a, b) in enumerate(zip(got, expected)):
            if not _same_list([a], [b]):
                fail(
                    f"{setting}: step {k + 1} smoothed to {fmt(a, b)}, expected {fmt(b, a)}: "
                    + (cause or _SMOOTHING_RULE)
                )
        longer = len(got) > len(expected)
        fail(
            f"{setting}: the values agree, but you stop after {len(got)} steps where the test stops after "
            f"{len(expected)}: "
            + (cause or ("it goes on too long" if longer else "it stops too early") + _STOPPING_RULE)
        )
    return correct(
        f"the smoothed losses and the stopping step match the range test's rule in {len(configs)} "
        "cases (a noisy fall then a blow-up, no smoothing, a NaN, a loss exactly at the threshold, "
        "a run that never diverges)."
    )
