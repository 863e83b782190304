"""Checkers for lesson 07 · Learning-rate schedulers.

- 07.1 ``multistep_lrs``: predict the learning rates a ``MultiStepLR`` gives, epoch by epoch.
- 07.2 ``train``: a training loop that steps the scheduler once per epoch, after the
  epoch's optimizer steps; the learning rate of every optimizer step is checked.
- 07.3 ``WarmupCosine``: an ``LRScheduler`` subclass (linear warm-up, then cosine),
  compared epoch by epoch with torch's ``SequentialLR(LinearLR, CosineAnnealingLR)``.
- 07.4 ``resume``: rebuild optimizer and scheduler from a checkpoint so that training goes
  on with exactly the learning rates and parameters of an uninterrupted run; graded on the
  engine (:class:`~._engine.Spec`) over configurations drawn from the key's seed.

Every grader builds its own optimizers, schedulers and data and compares with torch's
schedulers. When an answer differs, it computes the known wrong variants of the exercise
and names the one the answer matches. Warnings raised by the learner's code (torch warns
when the scheduler is stepped first) are caught, so the notebook shows only the verdict.

:class:`WarmupCosine` and :func:`resume` are the reference solutions; the lesson uses them
for its demonstrations, so those run whether or not the exercises are solved.
"""

from __future__ import annotations

import copy
import functools
import math
import warnings

import torch
from torch import nn
from torch.optim import lr_scheduler  # torch's, under the name the lesson uses

from .. import lr_scheduler as our_lr_scheduler
from ._assertions import _type_names, expect_number, fmt, tolerance
from ._calling import call, expect_own_work
from ._engine import Draw, Mistake, Spec, counted_head, draw_configs, grade_spec, labelled_mismatch, seed_of
from ._engine import config as make_config
from ._feedback import CORRECT, Reject, correct, fail
from ._isolation import seeded
from ._registry import exercise

__all__ = ["WarmupCosine", "train", "resume", "make_optimizer", "make_scheduler", "resume_with_reference"]

_STEP_ORDER_WARNING = "Detected call of `lr_scheduler.step()` before `optimizer.step()`"


def _epoch_head(epoch: int, unit: str = "epoch", first: int = 0) -> str:
    """'matches torch for epochs 0–2, differs at epoch 3' (units counted from ``first``)."""
    return counted_head(epoch, unit=unit, first=first)


def _close(got: float, expected: float, rtol: float = 1e-12, atol: float = 1e-12) -> bool:
    return math.isclose(got, expected, rel_tol=rtol, abs_tol=atol)


def _same_table(got, expected, rtol: float = 1e-12) -> bool:
    """Whether two lists (of numbers, or of lists of numbers) agree entry by entry."""
    if len(got) != len(expected):
        return False
    for g, e in zip(got, expected):
        g, e = (g, e) if isinstance(e, list) else ([g], [e])
        if len(g) != len(e) or not all(_close(a, b, rtol) for a, b in zip(g, e)):
            return False
    return True


# ----------------------------------------------------------------------------- 07.1

MULTISTEP_LR = 0.8
MULTISTEP_MILESTONES = [2, 5]
MULTISTEP_GAMMA = 0.5
MULTISTEP_EPOCHS = 8


def _multistep_torch() -> list:
    """torch's MultiStepLR: the lr used in each epoch 0..7 (read before ``scheduler.step()``)."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=MULTISTEP_LR)
    scheduler = lr_scheduler.MultiStepLR(opt, milestones=MULTISTEP_MILESTONES, gamma=MULTISTEP_GAMMA)
    lrs = []
    for _ in range(MULTISTEP_EPOCHS):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return lrs


def _multistep_variant(passed) -> list:
    """lr(epoch) = base · gamma^(number of milestones m with passed(m, epoch))."""
    return [
        MULTISTEP_LR * MULTISTEP_GAMMA ** sum(passed(m, e) for m in MULTISTEP_MILESTONES)
        for e in range(MULTISTEP_EPOCHS)
    ]


_MULTISTEP_MISTAKES = [
    (
        lambda: _multistep_variant(lambda m, e: m < e),
        "every change comes one epoch late. The scheduler.step() at the end of epoch 1 makes "
        "last_epoch = 2, a milestone, so the reduction already applies in epoch 2.",
    ),
    (
        lambda: _multistep_variant(lambda m, e: m <= e + 1),
        "every change comes one epoch early: a milestone m is the first epoch that uses the "
        "reduced lr, so the epoch before it still trains with the old one.",
    ),
    (
        lambda: [
            MULTISTEP_LR * (MULTISTEP_GAMMA if e >= MULTISTEP_MILESTONES[0] else 1.0) for e in range(MULTISTEP_EPOCHS)
        ],
        "the reductions multiply: at the second milestone the lr is multiplied by gamma again; "
        "it does not stay at base_lr × gamma.",
    ),
    (
        lambda: [MULTISTEP_LR * MULTISTEP_GAMMA ** (e // MULTISTEP_MILESTONES[0]) for e in range(MULTISTEP_EPOCHS)],
        "that is StepLR(step_size=2), which reduces every 2 epochs. MultiStepLR reduces only at "
        "the listed milestones, 2 and 5.",
    ),
    (
        lambda: [MULTISTEP_LR * 0.1 ** sum(m <= e for m in MULTISTEP_MILESTONES) for e in range(MULTISTEP_EPOCHS)],
        "the factor is gamma=0.5 here, not the default 0.1.",
    ),
]

_MULTISTEP_SOLUTION = """\
multistep_lrs = [0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2]
# Epochs 0-1 train with 0.8. The step() after epoch 1 sets last_epoch = 2, a milestone:
# 0.8 * 0.5 = 0.4 for epochs 2-4. The step() after epoch 4 reaches milestone 5: 0.4 * 0.5.
"""


def _number_list(value, name: str, length: int) -> list:
    """Return ``value`` as a list of floats, or stop with a message about its type or length."""
    # One policy for arrays: a 1-D numpy array or tensor is a list of numbers (any other shape
    # is named); its entries then go through expect_number like a list's.
    if isinstance(value, torch.Tensor) or (type(value).__module__ == "numpy" and hasattr(value, "tolist")):
        if len(value.shape) != 1:
            kind = "tensor" if isinstance(value, torch.Tensor) else "numpy array"
            fail(f"{name} should be a list of {length} numbers, got a {kind} of shape {tuple(value.shape)}.")
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        if value is None:
            fail(f"{name} is None; expected a list of {length} numbers.")
        fail(f"{name} should be a list of {length} numbers, got {type(value).__name__}.")
    if len(value) != length:
        entries = "1 entry" if len(value) == 1 else f"{len(value)} entries"
        fail(f"{name} has {entries}; give one learning rate for each of the epochs 0 to {length - 1}, {length} in all.")
    return [expect_number(v, f"{name}[{i}]") for i, v in enumerate(value)]


def _single_precision(value, numbers=()) -> bool:
    """True if ``value`` (a tensor, a numpy array, or a list of them) holds 32-bit or smaller
    floats: ``torch.tensor([0.8, ...])`` is float32, and 0.8 in float32 is 0.800000011920929.
    Also when the plain ``numbers`` read from it are all float32 values (a list made by
    ``.tolist()`` of a float32 tensor) and one of them is not a float64 value it would equal."""
    if numbers and all(float(torch.tensor(x, dtype=torch.float32)) == x for x in numbers):
        return True
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        dtype = getattr(item, "dtype", None)
        if isinstance(dtype, torch.dtype):
            if dtype.is_floating_point and torch.finfo(dtype).bits <= 32:
                return True
        elif dtype is not None and getattr(dtype, "kind", "") == "f" and dtype.itemsize <= 4:
            return True
    return False


@exercise(
    "07.1",
    title="Predict a MultiStepLR",
    solution=_MULTISTEP_SOLUTION,
    prediction=lambda: (_multistep_torch(),),
    hints=[
        "The loop reads the lr, trains one epoch, then calls scheduler.step(). The constructor "
        "already made last_epoch = 0, so epoch e trains with the lr of last_epoch = e.",
        "lr(e) = 0.8 × 0.5^(number of milestones ≤ e). Milestone 2 counts from epoch 2 on.",
    ],
)
def grade_multistep_lrs(multistep_lrs):
    """multistep_lrs must list the lrs MultiStepLR(milestones=[2, 5], gamma=0.5) gives epochs 0..7."""
    got = _number_list(multistep_lrs, "multistep_lrs", MULTISTEP_EPOCHS)
    rtol = 1e-6 if _single_precision(multistep_lrs, got) else 1e-9  # float32 rounds 0.8 at 1e-8
    expected = _multistep_torch()
    for epoch, (g, e) in enumerate(zip(got, expected)):
        if not _close(g, e, rtol=rtol):
            # Never the expected number: copied back, it would reach ✓ without the reasoning.
            cause = next(
                (text for variant, text in _MULTISTEP_MISTAKES if _same_table(got, variant(), rtol=rtol)), None
            )
            cause = cause or ("epoch e trains with base_lr × gamma^(number of milestones ≤ e).")
            direction = "too high" if g > e else "too low"
            first = (
                "the first entry is wrong"
                if epoch == 0
                else "entry 0 is right"
                if epoch == 1
                else f"entries 0–{epoch - 1} are right"
            )
            fail(f"{first}; the lr you give for epoch {epoch} ({fmt(g)}) is {direction}: {cause}")
    return correct("0.8 until epoch 1, 0.4 from milestone 2, 0.2 from milestone 5, as torch's MultiStepLR gives.")


# ----------------------------------------------------------------------------- 07.2

LOOP_EPOCHS = 4
LOOP_BATCHES = 3
LOOP_LR = 0.1


def train(model, optimizer, scheduler, batches, epochs):
    """Train for ``epochs`` epochs over ``batches`` ((x, y) pairs, MSE loss); one scheduler step per epoch."""
    for _epoch in range(epochs):
        for x, y in batches:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
        scheduler.step()  # once per epoch, after the epoch's optimizer steps


_REFERENCE_TRAIN = train


def _train_per_batch(model, optimizer, scheduler, batches, epochs):
    for _ in range(epochs):
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
            scheduler.step()


def _train_scheduler_first_per_batch(model, optimizer, scheduler, batches, epochs):
    for _ in range(epochs):
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            scheduler.step()
            optimizer.step()


def _train_scheduler_first_per_epoch(model, optimizer, scheduler, batches, epochs):
    for _ in range(epochs):
        scheduler.step()
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()


def _train_no_scheduler(model, optimizer, scheduler, batches, epochs):
    for _ in range(epochs):
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()


_LOOP_MISTAKES = [
    (
        _train_scheduler_first_per_batch,
        "scheduler.step() runs before optimizer.step(), and once per batch: the schedule skips "
        "its first value and runs once per batch. Call it once per epoch, after the batch loop.",
    ),
    (
        _train_per_batch,
        "the lr changes every batch: scheduler.step() is inside the batch loop, so the schedule "
        "counts batches, not epochs. Call it once per epoch, after the batch loop.",
    ),
    (
        _train_scheduler_first_per_epoch,
        "the schedule is one epoch ahead: scheduler.step() runs at the start of each epoch, before "
        "the epoch's optimizer steps, so the first value of the schedule is skipped. Call it at the "
        "end of the epoch.",
    ),
    (_train_no_scheduler, "the lr never changes: call scheduler.step() once at the end of every epoch."),
]


def _loop_configs():
    """07.2's configurations: the lesson's StepLR on SGD with momentum, then other epochs,
    batch counts, models, optimizers and schedules (a schedule of arbitrary factors cannot be
    set by hand from the lesson's formula), drawn from a seed of the key."""
    rng = Draw(seed_of("07.2"))
    factors = [1.0] + [rng.choice((0.3, 0.7, 0.2, 0.9, 0.5, 0.6)) for _ in range(6)]
    gamma = rng.choice((0.7, 0.6, 0.8))
    return [
        {
            "epochs": LOOP_EPOCHS,
            "batches": LOOP_BATCHES,
            "width": 0,
            "optimizer": lambda ps: torch.optim.SGD(ps, lr=LOOP_LR, momentum=0.9),
            "scheduler": lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
            "label": "SGD(momentum=0.9) with StepLR(step_size=2, gamma=0.5), 4 epochs of 3 batches",
        },
        {
            "epochs": 5,
            "batches": 2,
            "width": 4,
            "optimizer": lambda ps: torch.optim.Adam(ps, lr=0.01),
            "scheduler": lambda o: lr_scheduler.LambdaLR(o, lambda e: factors[e % len(factors)]),
            "label": "Adam with a LambdaLR, 5 epochs of 2 batches",
        },
        {
            "epochs": 3,
            "batches": 4,
            "width": 0,
            "optimizer": lambda ps: torch.optim.SGD(ps, lr=0.05),
            "scheduler": lambda o: lr_scheduler.ExponentialLR(o, gamma=gamma),
            "label": "SGD with ExponentialLR, 3 epochs of 4 batches",
        },
    ]


def _loop_setup(config):
    """A float64 model, the config's batches of 4 points, its optimizer (recording the lr of every
    step and the parameters after it, through step hooks) and its scheduler."""
    with seeded(7 + config["batches"]):
        width = config["width"]
        model = (
            nn.Sequential(nn.Linear(2, width), nn.Tanh(), nn.Linear(width, 1)) if width else nn.Linear(2, 1)
        ).double()
        x = torch.randn(4 * config["batches"], 2, dtype=torch.float64)
        y = x @ torch.tensor([[1.5], [-2.0]], dtype=torch.float64) + 0.5
    batches = [(x[i : i + 4], y[i : i + 4]) for i in range(0, len(x), 4)]
    optimizer = config["optimizer"](model.parameters())
    record = {"lrs": [], "params": []}
    optimizer.register_step_pre_hook(lambda opt, args, kwargs: record["lrs"].append(float(opt.param_groups[0]["lr"])))
    optimizer.register_step_post_hook(
        lambda opt, args, kwargs: record["params"].append([p.detach().clone() for p in opt.param_groups[0]["params"]])
    )
    scheduler = config["scheduler"](optimizer)
    return model, optimizer, scheduler, batches, record


def _loop_record(train_fn, config, learner=False):
    """Run ``train_fn`` on fresh objects; return (lrs used per optimizer step, params after each,
    warnings, scheduler steps taken)."""
    model, optimizer, scheduler, batches, record = _loop_setup(config)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if learner:
            call(
                train_fn, model, optimizer, scheduler, batches, config["epochs"], may_modify=(0, 1, 2)
            )  # by position: whatever the learner named them
        else:
            train_fn(model, optimizer, scheduler, batches, config["epochs"])
    return record["lrs"], record["params"], [str(w.message) for w in caught], scheduler.last_epoch


def _optimizer_step_place(step: int, batches: int) -> str:
    """'epoch 1, batch 1' for a 1-based optimizer step of the reference loop."""
    epoch, batch = divmod(step - 1, batches)
    return f"epoch {epoch}, batch {batch}"


@exercise(
    "07.2",
    title="Fix the training loop",
    solution=train,
    hints=[
        "Count the calls: StepLR(step_size=2) means 2 *epochs*, so scheduler.step() must run once "
        "per epoch, not once per batch.",
        "Inside the batch loop: zero_grad, forward, backward, optimizer.step(). After the batch "
        "loop, still inside the epoch loop: scheduler.step().",
    ],
)
def grade_train(train):
    """train(model, optimizer, scheduler, batches, epochs) must step the scheduler once per epoch, last."""
    configs = _loop_configs()
    for config in configs:
        _grade_loop(train, config)
    expect_own_work(train, "train", "training loop")
    return correct(
        f"in {len(configs)} configurations (SGD and Adam; StepLR, LambdaLR and "
        "ExponentialLR; 3 to 5 epochs of 2 to 4 batches) every optimizer step used "
        "the lr of its epoch: one scheduler.step() per epoch, after its batches."
    )


def _grade_loop(train, config):
    """Stop at the first way ``train`` differs from the reference loop on ``config``."""
    epochs, n_batches, label = config["epochs"], config["batches"], config["label"]
    expected_lrs, expected_params, _, _ = _loop_record(_REFERENCE_TRAIN, config)
    got_lrs, got_params, caught, scheduler_steps = _loop_record(train, config, learner=True)
    warned = any(_STEP_ORDER_WARNING in text for text in caught)
    note = (
        (' (torch warned about it: "Detected call of `lr_scheduler.step()` before `optimizer.step()`".)')
        if warned
        else ""
    )
    if not got_lrs:
        fail(
            f"with {label}: `train` never stepped the optimizer it was given: loop over the "
            "epochs and, inside, over the batches, and call `optimizer.step()` on the "
            "`optimizer` argument, not a global one."
        )
    if not _same_table(got_lrs, expected_lrs):
        mistake = next(
            (text for variant, text in _LOOP_MISTAKES if _same_table(got_lrs, _loop_record(variant, config)[0])), None
        )
        if len(got_lrs) != len(expected_lrs) and mistake is None:
            ran = len(got_lrs) / n_batches
            if ran == int(ran) and ran != epochs:
                fail(
                    f"with {label}: `train` ran {int(ran)} epoch{'s' if ran != 1 else ''}, not {epochs}: loop "
                    "`for epoch in range(epochs)`, over the `epochs` argument."
                )
            fail(
                f"with {label}: `train` took {len(got_lrs)} optimizer steps; {epochs} epochs of "
                f"{n_batches} batches take {len(expected_lrs)}: one optimizer.step() per batch."
            )
        step = next(
            (i for i, (g, e) in enumerate(zip(got_lrs, expected_lrs), start=1) if not _close(g, e)),
            min(len(got_lrs), len(expected_lrs)),
        )
        g, e = got_lrs[step - 1], expected_lrs[step - 1]
        head = _epoch_head(step, unit="optimizer step", first=1)
        cause = mistake or (
            "each epoch must train with the lr the scheduler gives for that "
            "epoch: scheduler.step() once per epoch, after the batch loop."
        )
        fail(
            f"with {label}: the learning rate {head} ({_optimizer_step_place(step, n_batches)}: "
            f"got {fmt(g, e)}, expected {fmt(e, g)}): {cause}{note}"
        )
    if scheduler_steps == epochs - 1:
        fail(
            f"with {label}: the learning rates are right, but the scheduler was stepped "
            f"{scheduler_steps} times in {epochs} epochs: one scheduler.step() is missing (the "
            "one you skip, at the first or the last epoch). Every epoch ends with one, so that "
            "the scheduler's state (last_epoch, saved in a checkpoint) counts the epochs trained."
        )
    if scheduler_steps != epochs:
        fail(
            f"with {label}: the learning rates are right, but the scheduler was stepped "
            f"{scheduler_steps} times in {epochs} epochs: let the scheduler set the lr "
            "(`scheduler.step()` once per epoch) instead of writing param_groups' lr by hand."
        )
    for step, (g_params, e_params) in enumerate(zip(got_params, expected_params), start=1):
        if not all(torch.allclose(a, b, rtol=1e-12, atol=1e-12) for a, b in zip(g_params, e_params)):
            fail(
                f"with {label}: the learning rates are right, but the parameters differ from "
                f"torch's after optimizer step {step} ({_optimizer_step_place(step, n_batches)}): "
                "for every batch call zero_grad(), compute the MSE loss of model(x) against y, "
                "backward(), then optimizer.step()."
            )


# ----------------------------------------------------------------------------- 07.3


class WarmupCosine(lr_scheduler.LRScheduler):
    """Linear warm-up from ``start_factor · base_lr`` to ``base_lr`` in ``warmup_epochs`` epochs, then a
    half cosine down to ``eta_min`` at epoch ``total_epochs``.

    The same learning rates as torch's
    ``SequentialLR([LinearLR(start_factor, total_iters=warmup_epochs),
    CosineAnnealingLR(T_max=total_epochs - warmup_epochs, eta_min)], milestones=[warmup_epochs])``,
    computed in closed form from ``last_epoch`` (torch's are recursive: equal up to rounding).
    """

    def __init__(self, optimizer, warmup_epochs, total_epochs, start_factor=0.1, eta_min=0.0, last_epoch=-1):
        self.warmup_epochs = warmup_epochs
        self.total_epochs = total_epochs
        self.start_factor = start_factor
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)  # takes the first step: the attributes must exist

    def get_lr(self):
        """Return one lr per param group for epoch ``self.last_epoch``."""
        epoch = self.last_epoch
        if epoch < self.warmup_epochs:
            factor = self.start_factor + (1 - self.start_factor) * epoch / self.warmup_epochs
            return [base_lr * factor for base_lr in self.base_lrs]
        progress = (epoch - self.warmup_epochs) / (self.total_epochs - self.warmup_epochs)
        return [
            self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * progress)) / 2
            for base_lr in self.base_lrs
        ]


# Each configuration: the groups' lrs and the scheduler's arguments.
def _warmup_configs():
    """07.3's configurations, drawn from a seed of the key: one to three groups, a warm-up of
    one epoch or several, start factors and eta_min of their own."""
    rng = Draw(seed_of("07.3"))
    return [
        {"lrs": [0.1], "warmup_epochs": 3, "total_epochs": 12, "start_factor": 0.1, "eta_min": 0.001},
        {"lrs": [0.1, 0.02], "warmup_epochs": 2, "total_epochs": 8, "start_factor": 0.25, "eta_min": 0.0},
        {
            "lrs": [rng.choice((0.3, 0.5, 0.05))],
            "warmup_epochs": 1,
            "total_epochs": rng.choice((5, 6, 7)),
            "start_factor": rng.choice((0.5, 0.2, 0.4)),
            "eta_min": rng.choice((0.01, 0.002)),
        },
        {
            "lrs": [0.2, 0.05, 1.0],
            "warmup_epochs": rng.choice((4, 5)),
            "total_epochs": rng.choice((9, 10)),
            "start_factor": rng.choice((0.05, 0.3)),
            "eta_min": 0.0,
        },
    ]


WARMUP_CONFIGS = _warmup_configs()
# Past total_epochs torch's cosine goes on (no restart, no floor): the table looks there too.
WARMUP_EXTRA_EPOCHS = 4


def _scheduler_kwargs(config) -> dict:
    return {k: v for k, v in config.items() if k != "lrs"}


def _optimizer_for(config):
    groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in config["lrs"]]
    return torch.optim.SGD(groups, lr=config["lrs"][0])


def _warmup_cosine_torch(config) -> list:
    """torch's warm-up + cosine: every group's lr for epochs 0..total_epochs."""
    opt = _optimizer_for(config)
    w, t = config["warmup_epochs"], config["total_epochs"]
    scheduler = lr_scheduler.SequentialLR(
        opt,
        [
            lr_scheduler.LinearLR(opt, start_factor=config["start_factor"], total_iters=w),
            lr_scheduler.CosineAnnealingLR(opt, T_max=t - w, eta_min=config["eta_min"]),
        ],
        milestones=[w],
    )
    table = []
    for _ in range(t + 1 + WARMUP_EXTRA_EPOCHS):
        table.append([float(g["lr"]) for g in opt.param_groups])
        opt.step()
        scheduler.step()
    return table


def _warmup_cosine_formula(
    config,
    *,
    warmup_shift=0,
    warmup_from_zero=False,
    cosine_span=None,
    cosine_shift=True,
    eta_min=True,
    epoch_shift=0,
    one_group=False,
    clamp=False,
) -> list:
    """The closed formula, with switches that reproduce the usual mistakes."""
    w, t, s = config["warmup_epochs"], config["total_epochs"], config["start_factor"]
    m = config["eta_min"] if eta_min else 0.0
    span = (t - w) if cosine_span is None else cosine_span(w, t)
    bases = [config["lrs"][0]] * len(config["lrs"]) if one_group else config["lrs"]
    table = []
    for epoch in range(t + 1 + WARMUP_EXTRA_EPOCHS):
        e = min(epoch + epoch_shift, t) if clamp else epoch + epoch_shift
        row = []
        for base in bases:
            if e < w:
                factor = (e + warmup_shift) / w if warmup_from_zero else s + (1 - s) * (e + warmup_shift) / w
                row.append(base * factor)
            else:
                progress = ((e - w) if cosine_shift else e) / span
                row.append(m + (base - m) * (1 + math.cos(math.pi * progress)) / 2)
        table.append(row)
    return table


_WARMUP_MISTAKES = [
    (
        {"clamp": True},
        "past total_epochs the lr must go on as torch's does: CosineAnnealingLR has no floor and no "
        "restart, so the cosine climbs back from eta_min. Do not clamp the epoch or the lr to "
        "the end of the schedule.",
    ),
    (
        {"epoch_shift": 1},
        "your schedule runs one epoch ahead of torch's, as if scheduler.step() came before "
        "optimizer.step(): get_lr must give the lr of epoch self.last_epoch (the constructor's "
        "step makes it 0), not of last_epoch + 1.",
    ),
    (
        {"warmup_shift": 1},
        "off by one in the warm-up: epoch 0 must use start_factor × base_lr, and the warm-up "
        "reaches base_lr at epoch warmup_epochs, not one epoch earlier. Use last_epoch / "
        "warmup_epochs, not (last_epoch + 1) / warmup_epochs.",
    ),
    (
        {"warmup_from_zero": True},
        "the warm-up must start at start_factor × base_lr, not at 0: factor = start_factor + "
        "(1 − start_factor) · epoch / warmup_epochs.",
    ),
    (
        {"warmup_from_zero": True, "warmup_shift": 1},
        "the warm-up must start at start_factor × base_lr and reach base_lr at epoch "
        "warmup_epochs: factor = start_factor + (1 − start_factor) · epoch / warmup_epochs.",
    ),
    (
        {"cosine_span": lambda w, t: t},
        "the cosine runs over the wrong number of epochs: it starts at warmup_epochs and must reach "
        "eta_min at total_epochs, so its period is total_epochs − warmup_epochs, not total_epochs.",
    ),
    (
        {"cosine_span": lambda w, t: t - w - 1},
        "the cosine reaches eta_min one epoch early: divide by total_epochs − warmup_epochs, "
        "not total_epochs − warmup_epochs − 1.",
    ),
    (
        {"cosine_shift": False},
        "the cosine must start at its top when the warm-up ends: use (epoch − warmup_epochs) in the cosine, not epoch.",
    ),
    (
        {"eta_min": False},
        "eta_min is ignored: the cosine goes from base_lr down to eta_min, "
        "eta_min + (base_lr − eta_min) · (1 + cos(π·t/T)) / 2.",
    ),
    (
        {"one_group": True},
        "every param group follows group 0's learning rate: return one lr per group, each "
        "computed from its own entry of self.base_lrs.",
    ),
]

_WARMUP_FORMULA = (
    "lr = base_lr · (start_factor + (1 − start_factor) · epoch / warmup_epochs) while "
    "epoch < warmup_epochs, then eta_min + (base_lr − eta_min) · (1 + cos(π (epoch − "
    "warmup_epochs) / (total_epochs − warmup_epochs))) / 2."
)


def _learner_warmup_table(scheduler_class, config) -> list:
    """Run the learner's scheduler for epochs 0..total_epochs; return every group's lr per epoch."""
    opt = _optimizer_for(config)
    n_groups = len(config["lrs"])
    name = getattr(scheduler_class, "__name__", "WarmupCosine")
    try:
        scheduler = call(scheduler_class, opt, may_modify=(0,), **_scheduler_kwargs(config))
        if not hasattr(scheduler, "step"):
            fail(
                f"{name}(...) gave {_type_names(type(scheduler))}; it should be a scheduler: "
                "subclass torch.optim.lr_scheduler.LRScheduler."
            )
        table = []
        for epoch in range(config["total_epochs"] + 1 + WARMUP_EXTRA_EPOCHS):
            row = []
            for i, group in enumerate(opt.param_groups):
                lr = group["lr"]
                if isinstance(lr, torch.Tensor) and lr.is_floating_point() and lr.dtype != torch.float64:
                    # compared at 1e-12, float32 rounding would be blamed on the formula
                    fail(
                        f"the lr of param group {i} at epoch {epoch} is a {lr.dtype} tensor: return "
                        "Python floats from get_lr (`math.cos`, not `torch.cos` of a float32 "
                        "tensor), or the learning rates lose digits to float32 rounding."
                    )
                row.append(expect_number(lr, f"the lr of param group {i} at epoch {epoch}"))
            table.append(row)
            opt.step()
            call(scheduler.step, name=f"`{name}.step()`")
    except Reject as rejection:
        message = rejection.feedback.message
        if "not iterable" in message or "zip()" in message:
            fail(
                f"get_lr must return a list with one learning rate per param group (this "
                f"optimizer has {n_groups}): {message}"
            )
        raise
    return table


@exercise(
    "07.3",
    title="Warm-up then cosine, from scratch",
    solution=WarmupCosine,
    hints=[
        "`self.last_epoch` is the epoch whose lr get_lr returns: 0 at the constructor's step, then "
        "1, 2, ... `self.base_lrs` holds each group's initial lr. Return one lr per group.",
        "Warm-up (epoch < warmup_epochs): base_lr · (start_factor + (1 − start_factor) · epoch / warmup_epochs).",
        "Afterwards: t = epoch − warmup_epochs, T = total_epochs − warmup_epochs, "
        "lr = eta_min + (base_lr − eta_min) · (1 + math.cos(math.pi · t / T)) / 2.",
    ],
)
def grade_warmup_cosine(WarmupCosine):  # noqa: N803 - the learner's class name
    """WarmupCosine must give torch's SequentialLR(LinearLR, CosineAnnealingLR) lrs, every group, every epoch."""
    if not isinstance(WarmupCosine, type):
        fail(
            f"WarmupCosine should be a class (a subclass of torch.optim.lr_scheduler.LRScheduler), "
            f"got {type(WarmupCosine).__name__}."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for config in WARMUP_CONFIGS:
            got = _learner_warmup_table(WarmupCosine, config)
            expected = _warmup_cosine_torch(config)
            rtol, atol = tolerance(torch.float64)
            for epoch, (g_row, e_row) in enumerate(zip(got, expected)):
                bad = [i for i, (g, e) in enumerate(zip(g_row, e_row)) if not _close(g, e, rtol, atol)]
                if bad:
                    i = bad[0]
                    cause = next(
                        (
                            text
                            for switches, text in _WARMUP_MISTAKES
                            if _same_table(got, _warmup_cosine_formula(config, **switches), 1e-9)
                        ),
                        _WARMUP_FORMULA,
                    )
                    setting = ", ".join(f"{k}={v}" for k, v in config.items())
                    group = f"group {i}: " if len(g_row) > 1 else ""
                    fail(
                        f"with {setting}: {_epoch_head(epoch)} ({group}got {fmt(g_row[i], e_row[i])}, "
                        f"expected {fmt(e_row[i], g_row[i])}): {cause}"
                    )
    return correct(
        "every group's lr matches torch's SequentialLR(LinearLR, CosineAnnealingLR) at "
        f"every epoch, {WARMUP_EXTRA_EPOCHS} past the end included, in "
        f"{len(WARMUP_CONFIGS)} configurations (1 to 3 groups, to 1e-12)."
    )


# ----------------------------------------------------------------------------- 07.4

RESUME_EPOCHS = 10
RESUME_SAVED_AFTER = 5
RESUME_LR = 0.1
RESUME_WARMUP = 3


def make_optimizer(model):
    """The optimizer of exercise 07.4: torch's SGD with lr=0.1 and momentum 0.9."""
    return torch.optim.SGD(model.parameters(), lr=RESUME_LR, momentum=0.9)


def make_scheduler(optimizer):
    """The scheduler of exercise 07.4: a 3-epoch LinearLR warm-up from 0.1 × lr, then a cosine over 7 epochs."""
    return lr_scheduler.SequentialLR(
        optimizer,
        [
            lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=RESUME_WARMUP),
            lr_scheduler.CosineAnnealingLR(optimizer, T_max=RESUME_EPOCHS - RESUME_WARMUP),
        ],
        milestones=[RESUME_WARMUP],
    )


def resume(model, checkpoint, make_optimizer, make_scheduler):
    """Load ``checkpoint`` into ``model`` and into a new optimizer and scheduler; return ``(optimizer, scheduler)``."""
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    scheduler = make_scheduler(optimizer)  # first: its constructor rewrites the lrs
    optimizer.load_state_dict(checkpoint["optimizer"])  # then the saved lrs, momentum buffers
    scheduler.load_state_dict(checkpoint["scheduler"])  # and the saved epoch count
    return optimizer, scheduler


def resume_with_reference(model, checkpoint, make_optimizer, make_scheduler):
    """Return ``(optimizer, scheduler)`` resumed from ``checkpoint`` by the reference solution of
    07.4, for the lesson's demonstration after the exercise (the code stays out of the notebook)."""
    return resume(model, checkpoint, make_optimizer, make_scheduler)


def _resume_scheduler_after_load(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler = make_scheduler(optimizer)
    scheduler.load_state_dict(checkpoint["scheduler"])
    return optimizer, scheduler


def _resume_no_scheduler_state(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    scheduler = make_scheduler(optimizer)
    optimizer.load_state_dict(checkpoint["optimizer"])
    return optimizer, scheduler


def _resume_no_optimizer_state(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    scheduler = make_scheduler(optimizer)
    scheduler.load_state_dict(checkpoint["scheduler"])
    return optimizer, scheduler


def _resume_scheduler_after_load_no_state(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    optimizer.load_state_dict(checkpoint["optimizer"])
    return optimizer, make_scheduler(optimizer)


def _resume_model_only(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    return optimizer, make_scheduler(optimizer)


def _resume_no_model(model, checkpoint, make_optimizer, make_scheduler):
    optimizer = make_optimizer(model)
    scheduler = make_scheduler(optimizer)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    return optimizer, scheduler


_RESUME_MISTAKES = [
    (
        _resume_scheduler_after_load,
        "the scheduler was built after optimizer.load_state_dict(): its constructor rewrote the "
        "loaded lr with the warm-up's first value (0.1 × start_factor = 0.01), and the recursive "
        "cosine goes on from there. Build the optimizer and the scheduler first, then load both "
        "states.",
    ),
    (
        _resume_scheduler_after_load_no_state,
        "the scheduler was built after optimizer.load_state_dict() and its own state was not "
        "loaded: build both first, then load checkpoint['optimizer'] and checkpoint['scheduler'].",
    ),
    (
        _resume_no_scheduler_state,
        "the scheduler's state was not loaded, so it counts from epoch 0 again: its warm-up "
        "multiplies the loaded lr by its growth factors and the lr climbs past base_lr. Load "
        "checkpoint['scheduler'] with scheduler.load_state_dict().",
    ),
    (
        _resume_no_optimizer_state,
        "the optimizer's state was not loaded: its param groups keep the lr the new scheduler set "
        "(0.01) and its momentum buffers start empty. Call "
        "optimizer.load_state_dict(checkpoint['optimizer']) after building the scheduler.",
    ),
    (
        _resume_model_only,
        "only the model was loaded: a fresh optimizer and scheduler restart the warm-up at 0.01 "
        "and the momentum at zero. Load checkpoint['optimizer'] and checkpoint['scheduler'] too.",
    ),
    (
        _resume_no_model,
        "the learning rates are right but the model's weights were not loaded: call "
        "model.load_state_dict(checkpoint['model']).",
    ),
]


# The exercise's run first, then the second the lesson has always had, then drawn ones: every
# optimizer family, one or two param groups (the biases at half the lr, without weight decay),
# a frozen parameter, float32 and float64, schedulers that keep state in different ways
# (milestones, restarts, a cycle that also moves momentum or betas, a lambda, a chain, and one
# of this package's schedulers), and runs stopped at different epochs. An answer that builds
# its own SGD or scheduler, or ignores the groups, fails on them.
# (optimizer, its options, param groups, a frozen first bias, dtype, scheduler)
_RESUME_DRAWN = (
    ("SGD", {"momentum": 0.9, "nesterov": True}, 2, False, torch.float32, "MultiStepLR"),
    ("AdamW", {"weight_decay": 0.05}, 1, True, torch.float64, "OneCycleLR"),
    ("RMSprop", {"momentum": 0.5}, 2, False, torch.float32, "CosineAnnealingWarmRestarts"),
    ("SGD", {"momentum": 0.8}, 1, True, torch.float64, "CyclicLR"),
    ("Adagrad", {}, 2, False, torch.float64, "PolynomialLR (this package's)"),
    ("Adam", {"amsgrad": True}, 1, False, torch.float32, "ChainedScheduler(ConstantLR, ExponentialLR)"),
    ("SGD", {"weight_decay": 0.01}, 2, True, torch.float64, "LambdaLR"),
)
_RESUME_LRS = {"SGD": (0.05, 0.2), "Adam": (0.01, 0.05), "AdamW": (0.01, 0.05), "RMSprop": (0.005, 0.02)}


def _resume_data():
    with seeded(3):
        x = torch.randn(16, 3, dtype=torch.float64)
        y = x @ torch.tensor([[1.0], [-1.0], [0.5]], dtype=torch.float64) + 0.25
    return x, y


def _adam_factory(model):
    return torch.optim.Adam(model.parameters(), lr=0.05, betas=(0.8, 0.95))


def _step_then_exponential(optimizer):
    return lr_scheduler.SequentialLR(
        optimizer,
        [
            lr_scheduler.LinearLR(optimizer, start_factor=0.2, total_iters=2),
            lr_scheduler.ExponentialLR(optimizer, gamma=0.8),
        ],
        milestones=[2],
    )


def _optimizer_factory(name, options, groups):
    """``make_optimizer(model)`` over the trainable parameters, in one group or two."""

    def make_optimizer(model):
        params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        if groups == 1:
            return getattr(torch.optim, name)([p for _, p in params], **options)
        weights = [p for n, p in params if not n.endswith("bias")]
        biases = [p for n, p in params if n.endswith("bias")]
        biases_group = {"params": biases, "lr": options["lr"] / 2, "weight_decay": 0.0}
        return getattr(torch.optim, name)([{"params": weights}, biases_group], **options)

    return make_optimizer


def _scheduler_factory(kind, draw, epochs, lr):
    """``make_scheduler(optimizer)`` of ``kind`` with settings drawn now, and its label."""
    if kind == "MultiStepLR":
        milestones = sorted(draw.random.sample(range(1, epochs), 2))
        gamma = draw.uniform(0.2, 0.7)
        return functools.partial(lr_scheduler.MultiStepLR, milestones=milestones, gamma=gamma), (
            f"MultiStepLR(milestones={milestones}, gamma={gamma})"
        )
    if kind == "OneCycleLR":
        max_lr = draw.uniform(2 * lr, 5 * lr)
        return functools.partial(lr_scheduler.OneCycleLR, max_lr=max_lr, total_steps=epochs + 1), (
            f"OneCycleLR(max_lr={max_lr}, total_steps={epochs + 1})"
        )
    if kind == "CosineAnnealingWarmRestarts":
        t_0 = draw.choice((2, 3))
        return functools.partial(lr_scheduler.CosineAnnealingWarmRestarts, T_0=t_0, T_mult=2, eta_min=lr / 20), (
            f"CosineAnnealingWarmRestarts(T_0={t_0}, T_mult=2)"
        )
    if kind == "CyclicLR":
        up = draw.choice((2, 3))
        return functools.partial(lr_scheduler.CyclicLR, base_lr=lr / 10, max_lr=lr, step_size_up=up), (
            f"CyclicLR(base_lr={lr / 10:g}, max_lr={lr}, step_size_up={up}), which cycles the momentum too"
        )
    if kind.startswith("PolynomialLR"):
        power = draw.choice((0.5, 2.0))
        return functools.partial(our_lr_scheduler.PolynomialLR, total_iters=epochs, power=power), (
            f"myoptim_helpers.lr_scheduler.PolynomialLR(total_iters={epochs}, power={power})"
        )
    if kind.startswith("ChainedScheduler"):
        factor, gamma = draw.uniform(0.2, 0.6), draw.uniform(0.7, 0.95)
        total = draw.choice((2, 3))

        def chained(optimizer):
            return lr_scheduler.ChainedScheduler(
                [
                    lr_scheduler.ConstantLR(optimizer, factor=factor, total_iters=total),
                    lr_scheduler.ExponentialLR(optimizer, gamma=gamma),
                ]
            )

        return chained, f"ChainedScheduler(ConstantLR(factor={factor}, total_iters={total}), ExponentialLR({gamma}))"
    rate = draw.uniform(0.7, 0.95)
    return functools.partial(lr_scheduler.LambdaLR, lr_lambda=lambda epoch: rate**epoch * (1 + epoch % 2)), (
        f"LambdaLR(lambda epoch: {rate} ** epoch * (1 + epoch % 2))"
    )


def _resume_config(draw, i):
    if i == 0:
        return make_config(
            f"the exercise's SGD and warm-up + cosine, saved after {RESUME_SAVED_AFTER} of {RESUME_EPOCHS} epochs",
            make_optimizer=make_optimizer,
            make_scheduler=make_scheduler,
            saved_after=RESUME_SAVED_AFTER,
            epochs=RESUME_EPOCHS,
            model=None,
        )
    if i == 1:
        return make_config(
            "an Adam with LinearLR then ExponentialLR, saved after 4 of 8 epochs",
            make_optimizer=_adam_factory,
            make_scheduler=_step_then_exponential,
            saved_after=4,
            epochs=8,
            model=None,
        )
    name, options, groups, frozen, dtype, kind = _RESUME_DRAWN[i - 2]
    epochs = draw.choice((6, 8, 10, 12))
    saved_after = draw.choice((1, epochs // 2, epochs - 2))
    options = {"lr": draw.uniform(*_RESUME_LRS.get(name, (0.05, 0.2))), **options}
    make_sched, scheduler_label = _scheduler_factory(kind, draw, epochs, options["lr"])
    label = (
        f"torch.optim.{name}({', '.join(f'{k}={v}' for k, v in options.items())})"
        + (" in 2 param groups" if groups == 2 else "")
        + f" and {scheduler_label}, {str(dtype).replace('torch.', '')}"
        + (", a frozen bias" if frozen else "")
        + f", saved after {saved_after} of {epochs} epochs"
    )
    return make_config(
        label,
        make_optimizer=_optimizer_factory(name, options, groups),
        make_scheduler=make_sched,
        saved_after=saved_after,
        epochs=epochs,
        model=(dtype, frozen, draw.choice((2, 4))),
    )


def _resume_configs():
    return draw_configs("07.4", _resume_config, 2 + len(_RESUME_DRAWN))


def _resume_model(cfg, seed):
    """The exercise's nn.Linear(3, 1) in float64, or a small MLP of the configuration's dtype."""
    with seeded(seed):
        if cfg["model"] is None:
            return nn.Linear(3, 1).double()
        dtype, frozen, hidden = cfg["model"]
        model = nn.Sequential(nn.Linear(3, hidden), nn.Tanh(), nn.Linear(hidden, 1)).to(dtype)
    if frozen:
        model[0].bias.requires_grad_(False)
    return model


def _resume_epochs(model, optimizer, scheduler, epochs, data):
    """Train full-batch epochs; return {lr of each group, parameters after} per epoch."""
    dtype = next(model.parameters()).dtype
    x, y = (t.to(dtype) for t in data)
    record = []
    for _ in range(epochs):
        groups = optimizer.param_groups
        lrs = {("lr" if len(groups) == 1 else f"lr of group {g}"): float(group["lr"]) for g, group in enumerate(groups)}
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        scheduler.step()
        record.append({**lrs, **{f"`{n}`": p.detach().clone() for n, p in model.named_parameters()}})
    return record


def _checkpoint(cfg):
    """Train the first epochs and return (the uninterrupted outcome of the rest, the checkpoint)."""
    model = _resume_model(cfg, 0)
    optimizer = cfg["make_optimizer"](model)
    scheduler = cfg["make_scheduler"](optimizer)
    _resume_epochs(model, optimizer, scheduler, cfg["saved_after"], _resume_data())
    checkpoint = copy.deepcopy(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
    )
    rest = _resume_epochs(model, optimizer, scheduler, cfg["epochs"] - cfg["saved_after"], _resume_data())
    return {"first": cfg["saved_after"], "epochs": rest}, checkpoint


def _run_resume(invoke, cfg):
    """Resume into a fresh model (other weights) and train the remaining epochs."""
    make_opt, make_sched = cfg["make_optimizer"], cfg["make_scheduler"]
    model = _resume_model(cfg, 1)
    result = invoke(model, _checkpoint(cfg)[1], make_opt, make_sched)
    if len(result) != 2:
        fail(f"your `resume` returned {len(result)} values; return (optimizer, scheduler).")
    optimizer, scheduler = result
    if not isinstance(optimizer, torch.optim.Optimizer):
        fail(
            f"the first value returned should be the optimizer, got {type(optimizer).__name__}: "
            "return (optimizer, scheduler)."
        )
    if not isinstance(scheduler, (lr_scheduler.LRScheduler, our_lr_scheduler.LRScheduler)):
        fail(
            f"the second value returned should be the scheduler, got {type(scheduler).__name__}: "
            "return (optimizer, scheduler)."
        )
    held = [p for group in optimizer.param_groups for p in group["params"]]
    if not held or not all(any(p is q for q in model.parameters()) for p in held):
        fail(
            "the optimizer you return does not update the `model` you were given: build it with make_optimizer(model)."
        )
    wanted = make_opt(_resume_model(cfg, 2))
    if type(optimizer) is not type(wanted):
        fail(
            f"with {cfg.label}: `make_optimizer` builds {_type_names(type(wanted))}, but you return "
            f"{_type_names(type(optimizer))}: build the optimizer with the `make_optimizer` "
            "argument, not one of your own."
        )
    if type(scheduler) is not type(make_sched(wanted)):
        fail(
            f"with {cfg.label}: `make_scheduler` builds {_type_names(type(make_sched(wanted)))}, but "
            f"you return {_type_names(type(scheduler))}: build the scheduler with the "
            "`make_scheduler` argument."
        )
    rest = _resume_epochs(model, optimizer, scheduler, cfg["epochs"] - cfg["saved_after"], _resume_data())
    return {"first": cfg["saved_after"], "epochs": rest}


def _resume_scheduler_stepped(model, checkpoint, make_optimizer, make_scheduler):
    optimizer, scheduler = resume(model, checkpoint, make_optimizer, make_scheduler)
    scheduler.step()
    return optimizer, scheduler


def _resume_replayed(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    scheduler = make_scheduler(optimizer)
    optimizer.load_state_dict(checkpoint["optimizer"])
    for _ in range(checkpoint["scheduler"]["last_epoch"]):
        scheduler.step()
    return optimizer, scheduler


_RESUME_MORE_MISTAKES = (
    Mistake(
        "scheduler stepped after loading",
        _resume_scheduler_stepped,
        "the scheduler was stepped after loading its state: that state already counts the epochs "
        "done, so every change comes one epoch early. Step it only after each epoch's optimizer steps.",
    ),
    Mistake(
        "schedule replayed",
        _resume_replayed,
        "the schedule was replayed with scheduler.step() calls instead of loading its state: the "
        "loaded lr is already the scheduled one, and the replay applies the decays to it a second "
        "time. Load checkpoint['scheduler'] with scheduler.load_state_dict().",
    ),
)

SPEC_07_4 = Spec(
    configs=_resume_configs,
    reference=lambda cfg: _checkpoint(cfg)[0],
    run=_run_resume,
    mistakes=tuple(Mistake(f"07.4 row {i}", v, m) for i, (v, m) in enumerate(_RESUME_MISTAKES)) + _RESUME_MORE_MISTAKES,
    otherwise=(
        "load checkpoint['model'] into the model; build the optimizer with make_optimizer(model) "
        "and the scheduler with make_scheduler(optimizer); then load both of their states."
    ),
    may_modify=(0, 1),  # the model, and the checkpoint: CyclicLR.load_state_dict pops a key of its state
    returns=(tuple, list),
    compare=lambda got, expected: labelled_mismatch(
        got["epochs"], expected["epochs"], unit="epoch", first=expected["first"], reference="the uninterrupted run"
    ),
    success=(
        "in all {n} configurations (the exercise's SGD and schedule; Adam, AdamW, RMSprop, Adagrad "
        "and more SGDs with 1 or 2 param groups and a frozen bias; step, cosine-restart, one-cycle, "
        "cyclic, lambda, chained and polynomial schedules; float32 and float64; stopped early, "
        "midway or late) every epoch after resuming has exactly the learning rates and parameters "
        "of the uninterrupted run."
    ),
)


@exercise(
    "07.4",
    title="Resume optimizer and scheduler",
    solution=resume,
    hints=[
        "A checkpoint holds three state dicts: checkpoint['model'], checkpoint['optimizer'] and "
        "checkpoint['scheduler']. Each object has load_state_dict().",
        "Order matters: a scheduler's constructor writes the lrs of its optimizer. Build the "
        "optimizer, then the scheduler, and only then load both states.",
    ],
)
def grade_resume(resume):
    """resume(model, checkpoint, make_optimizer, make_scheduler) must continue exactly as the uninterrupted run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = grade_spec(SPEC_07_4, resume, name="`resume`")
    if result.status == CORRECT:  # only a passing answer can be the package's own
        expect_own_work(resume, "resume", "resume")
    return result
