"""Lesson 07 checkers: each accepts the reference solution, rejects realistic mistakes with
the right message, and calls the stub "not attempted".

The expected verdicts are written out by hand (the schedules below are computed on paper),
never taken from the checker's own reference.
"""

import inspect
import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler

from myoptim_helpers import lr_scheduler as ours
from myoptim_helpers.exercises import exercises_of, grade, lesson07

# --------------------------------------------------------------------------- 07.2 answers


def train_lr_by_hand(model, optimizer, scheduler, batches, epochs):
    for epoch in range(epochs):
        for group in optimizer.param_groups:  # StepLR(step_size=2) by hand
            group["lr"] = 0.1 * 0.5 ** (epoch // 2)
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()


def train_four_epochs(model, optimizer, scheduler, batches, epochs):
    for _epoch in range(4):
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
        scheduler.step()


def train_own_scheduler(model, optimizer, scheduler, batches, epochs):
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    train_ref(model, optimizer, scheduler, batches, epochs)


def train_first_batch_only(model, optimizer, scheduler, batches, epochs):
    for _epoch in range(epochs):
        x, y = batches[0]
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        scheduler.step()


def train_ref(model, optimizer, scheduler, batches, epochs):
    for _epoch in range(epochs):
        for x, y in batches:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
        scheduler.step()


def train_skips_first_scheduler_step(model, optimizer, scheduler, batches, epochs):
    for epoch in range(epochs):
        if epoch > 0:
            scheduler.step()
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()


def train_stub(model, optimizer, scheduler, batches, epochs): ...


def train_zero_grad_last(model, optimizer, scheduler, batches, epochs):
    for _ in range(epochs):
        for x, y in batches:
            ((model(x) - y) ** 2).mean().backward()
            optimizer.step()
            optimizer.zero_grad()
        scheduler.step()


def train_broken(model, optimizer, scheduler, batches, epochs):
    for _ in range(epochs):
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            scheduler.step()
            optimizer.step()


def train_per_batch(model, optimizer, scheduler, batches, epochs):
    for _ in range(epochs):
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
            scheduler.step()


def train_scheduler_at_epoch_start(model, optimizer, scheduler, batches, epochs):
    for _ in range(epochs):
        scheduler.step()
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()


def train_scheduler_removed(model, optimizer, scheduler, batches, epochs):
    for _ in range(epochs):
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()


def train_scheduler_twice(model, optimizer, scheduler, batches, epochs):
    for _ in range(epochs):
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
        scheduler.step()
        scheduler.step()


def train_one_epoch_only(model, optimizer, scheduler, batches, epochs):
    for x, y in batches:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
    scheduler.step()


def train_no_zero_grad(model, optimizer, scheduler, batches, epochs):
    for _ in range(epochs):
        for x, y in batches:
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
        scheduler.step()


NOTEBOOK_MODEL = nn.Linear(2, 1).double()  # stands for the notebook's global model
NOTEBOOK_OPTIMIZER = torch.optim.SGD(NOTEBOOK_MODEL.parameters(), lr=0.1)


def train_global_optimizer(model, optimizer, scheduler, batches, epochs):
    for _ in range(epochs):
        for x, y in batches:
            NOTEBOOK_OPTIMIZER.zero_grad()
            nn.functional.mse_loss(NOTEBOOK_MODEL(x), y).backward()
            NOTEBOOK_OPTIMIZER.step()
        scheduler.step()


def train_typo(model, optimizer, scheduler, batches, epochs):
    for _ in range(epochs):
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
        scheduler.stepp()


def train_scales_x(model, optimizer, scheduler, batches, epochs):
    for _ in range(epochs):
        for x, y in batches:
            x *= 1.0 + 1e-3
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
        scheduler.step()


# --------------------------------------------------------------------------- 07.3 answers


class WarmupCosineRef(lr_scheduler.LRScheduler):
    def __init__(self, optimizer, warmup_epochs, total_epochs, start_factor=0.1, eta_min=0.0, last_epoch=-1):
        self.warmup_epochs = warmup_epochs
        self.total_epochs = total_epochs
        self.start_factor = start_factor
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        epoch = self.last_epoch
        if epoch < self.warmup_epochs:
            factor = self.start_factor + (1 - self.start_factor) * epoch / self.warmup_epochs
            return [base_lr * factor for base_lr in self.base_lrs]
        progress = (epoch - self.warmup_epochs) / (self.total_epochs - self.warmup_epochs)
        return [
            self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * progress)) / 2
            for base_lr in self.base_lrs
        ]


def _variant(name, lr_of):
    """A WarmupCosine whose get_lr returns [lr_of(self, epoch, base_lr) for each group]."""

    def get_lr(self):
        return [lr_of(self, self.last_epoch, base_lr) for base_lr in self.base_lrs]

    return type(name, (WarmupCosineRef,), {"get_lr": get_lr})


def _cosine(self, t, span, base_lr, eta_min):
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / span)) / 2


def _warm(self, e, base_lr):
    return base_lr * (self.start_factor + (1 - self.start_factor) * e / self.warmup_epochs)


WarmupAhead = _variant(
    "WarmupAhead",
    lambda s, e, b: (
        _warm(s, e + 1, b)
        if e < s.warmup_epochs
        else _cosine(s, e - s.warmup_epochs, s.total_epochs - s.warmup_epochs, b, s.eta_min)
    ),
)
WarmupFromZero = _variant(
    "WarmupFromZero",
    lambda s, e, b: (
        b * e / s.warmup_epochs
        if e < s.warmup_epochs
        else _cosine(s, e - s.warmup_epochs, s.total_epochs - s.warmup_epochs, b, s.eta_min)
    ),
)
CosineOverTotal = _variant(
    "CosineOverTotal",
    lambda s, e, b: (
        _warm(s, e, b) if e < s.warmup_epochs else _cosine(s, e - s.warmup_epochs, s.total_epochs, b, s.eta_min)
    ),
)
CosineNotShifted = _variant(
    "CosineNotShifted",
    lambda s, e, b: (
        _warm(s, e, b) if e < s.warmup_epochs else _cosine(s, e, s.total_epochs - s.warmup_epochs, b, s.eta_min)
    ),
)
NoEtaMin = _variant(
    "NoEtaMin",
    lambda s, e, b: (
        _warm(s, e, b)
        if e < s.warmup_epochs
        else _cosine(s, e - s.warmup_epochs, s.total_epochs - s.warmup_epochs, b, 0.0)
    ),
)
OneEpochAhead = _variant(
    "OneEpochAhead",
    lambda s, e, b: (
        _warm(s, e + 1, b)
        if e + 1 < s.warmup_epochs
        else _cosine(s, e + 1 - s.warmup_epochs, s.total_epochs - s.warmup_epochs, b, s.eta_min)
    ),
)
MadeUpCurve = _variant("MadeUpCurve", lambda s, e, b: b * 0.9**e)


class ClampedAtTheEnd(WarmupCosineRef):
    def get_lr(self):
        epoch = self.last_epoch
        if epoch >= self.total_epochs:  # "the schedule is over: stay at eta_min"
            return [self.eta_min for _ in self.base_lrs]
        return WarmupCosineRef.get_lr(self)


class FixedStartFactor(WarmupCosineRef):
    def get_lr(self):
        self.start_factor = 0.1
        return WarmupCosineRef.get_lr(self)


class OneGroupOnly(WarmupCosineRef):
    def get_lr(self):
        lrs = WarmupCosineRef.get_lr(self)
        return [lrs[0]] * len(lrs)


class ReturnsFloat(WarmupCosineRef):
    def get_lr(self):
        return WarmupCosineRef.get_lr(self)[0]


class RaisesInGetLr(WarmupCosineRef):
    def get_lr(self):
        factor = self.warmup_factor
        return [base_lr * factor for base_lr in self.base_lrs]


class ReturnsNaN(WarmupCosineRef):
    def get_lr(self):
        return [math.nan for _ in self.base_lrs]


class ReturnsFloat32Tensors(WarmupCosineRef):
    def get_lr(self):
        return [torch.tensor(lr) for lr in super().get_lr()]  # torch.tensor(float) is float32


class OursBased(ours.LRScheduler):
    """The same schedule on the helper package's base class."""

    def __init__(self, optimizer, warmup_epochs, total_epochs, start_factor=0.1, eta_min=0.0, last_epoch=-1):
        self.warmup_epochs = warmup_epochs
        self.total_epochs = total_epochs
        self.start_factor = start_factor
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    get_lr = WarmupCosineRef.get_lr


class WarmupCosineStub(lr_scheduler.LRScheduler):
    def __init__(self, optimizer, warmup_epochs, total_epochs, start_factor=0.1, eta_min=0.0, last_epoch=-1):
        self.warmup_epochs = warmup_epochs
        super().__init__(optimizer, last_epoch)

    def get_lr(self): ...


def warmup_cosine_function(optimizer, warmup_epochs, total_epochs, start_factor=0.1, eta_min=0.0):
    return [0.1 * start_factor]


# --------------------------------------------------------------------------- 07.4 answers


def resume_own_sgd(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)  # the lesson's, by hand
    scheduler = make_scheduler(optimizer)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    return optimizer, scheduler


def resume_own_scheduler(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=3)
    optimizer.load_state_dict(checkpoint["optimizer"])
    return optimizer, scheduler


def resume_ref(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    scheduler = make_scheduler(optimizer)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    return optimizer, scheduler


def resume_model_last(model, checkpoint, make_optimizer, make_scheduler):
    optimizer = make_optimizer(model)
    scheduler = make_scheduler(optimizer)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    model.load_state_dict(checkpoint["model"])  # the optimizer holds the same tensors
    return optimizer, scheduler


def resume_stub(model, checkpoint, make_optimizer, make_scheduler): ...


def resume_scheduler_after_load(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler = make_scheduler(optimizer)
    scheduler.load_state_dict(checkpoint["scheduler"])
    return optimizer, scheduler


def resume_without_scheduler_state(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    scheduler = make_scheduler(optimizer)
    optimizer.load_state_dict(checkpoint["optimizer"])
    return optimizer, scheduler


def resume_without_optimizer_state(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    scheduler = make_scheduler(optimizer)
    scheduler.load_state_dict(checkpoint["scheduler"])
    return optimizer, scheduler


def resume_model_only(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    return optimizer, make_scheduler(optimizer)


def resume_without_model(model, checkpoint, make_optimizer, make_scheduler):
    optimizer = make_optimizer(model)
    scheduler = make_scheduler(optimizer)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    return optimizer, scheduler


def resume_swapped(model, checkpoint, make_optimizer, make_scheduler):
    optimizer, scheduler = resume_ref(model, checkpoint, make_optimizer, make_scheduler)
    return scheduler, optimizer


def resume_no_return(model, checkpoint, make_optimizer, make_scheduler):
    resume_ref(model, checkpoint, make_optimizer, make_scheduler)


def resume_other_model(model, checkpoint, make_optimizer, make_scheduler):
    other = nn.Linear(3, 1).double()
    other.load_state_dict(checkpoint["model"])
    return resume_ref(other, checkpoint, make_optimizer, make_scheduler)


def resume_passes_parameters(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model.parameters())
    scheduler = make_scheduler(optimizer)
    return optimizer, scheduler


def resume_then_step(model, checkpoint, make_optimizer, make_scheduler):
    optimizer, scheduler = resume_ref(model, checkpoint, make_optimizer, make_scheduler)
    scheduler.step()  # "move on to the next epoch"
    return optimizer, scheduler


def resume_replays_the_schedule(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    scheduler = make_scheduler(optimizer)
    optimizer.load_state_dict(checkpoint["optimizer"])
    for _ in range(checkpoint["scheduler"]["last_epoch"]):  # instead of loading its state
        scheduler.step()
    return optimizer, scheduler


def resume_sets_lr_by_hand(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    scheduler = make_scheduler(optimizer)
    optimizer.load_state_dict(checkpoint["optimizer"])
    for group, lr in zip(optimizer.param_groups, checkpoint["scheduler"]["_last_lr"]):
        group["lr"] = lr
    return optimizer, scheduler


def resume_wrong_key(model, checkpoint, make_optimizer, make_scheduler):
    model.load_state_dict(checkpoint["model_state_dict"])
    return None


# --------------------------------------------------------------------------- the table

LATE = "every change comes one epoch late"
EARLY = "every change comes one epoch early"

CASES = [
    # (key, answer, status, message fragment)
    ("07.1", [0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2], "correct", "0.4 from milestone 2"),
    ("07.1", (0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2), "correct", "0.2 from milestone 5"),
    ("07.1", [4 / 5, 0.8, 0.8 / 2, 0.4, 0.4, 0.8 / 4, 0.2, 0.2], "correct", ""),
    ("07.1", np.array([0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2]), "correct", ""),
    ("07.1", np.array([0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2], dtype=np.float32), "correct", ""),
    # 0-d tensors are numbers (float32 ones round 0.8 at 1e-8); a tensor for the whole list is named
    ("07.1", [torch.tensor(v) for v in (0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2)], "correct", ""),
    # a 1-D tensor is a list of numbers, as a numpy array is; float32's rounding of 0.8 is not a mistake
    ("07.1", torch.tensor([0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2]), "correct", ""),
    ("07.1", torch.tensor([0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2]).tolist(), "correct", ""),
    (
        "07.1",
        torch.tensor([0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2]).tolist(),
        "incorrect",
        "the lr you give for epoch 2 (0.8) is too high: " + LATE,
    ),
    (
        "07.1",
        torch.tensor([[0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2]]),
        "incorrect",
        "multistep_lrs should be a list of 8 numbers, got a tensor of shape (1, 8)",
    ),
    (
        "07.1",
        [0.8, 0.8, torch.tensor([0.4, 0.4]), 0.4, 0.4, 0.2, 0.2, 0.2],
        "incorrect",
        "multistep_lrs[2] should be a single number, got a tensor of shape (2,).",
    ),
    ("07.1", [[0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2]], "incorrect", "multistep_lrs has 1 entry;"),
    ("07.1", ..., "not attempted", "`multistep_lrs` is still `...`"),
    ("07.1", [...], "not attempted", "still contains `...`"),
    (
        "07.1",
        [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2],
        "incorrect",
        "entries 0–1 are right; the lr you give for epoch 2 (0.8) is too high: " + LATE,
    ),
    (
        "07.1",
        [0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.2],
        "incorrect",
        "entry 0 is right; the lr you give for epoch 1 (0.4) is too low: " + EARLY,
    ),
    (
        "07.1",
        [0.8, 0.8, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4],
        "incorrect",
        "for epoch 5 (0.4) is too high: the reductions multiply",
    ),
    (
        "07.1",
        [0.8, 0.8, 0.4, 0.4, 0.2, 0.2, 0.1, 0.1],
        "incorrect",
        "for epoch 4 (0.2) is too low: that is StepLR(step_size=2)",
    ),
    (
        "07.1",
        [0.8, 0.8, 0.08, 0.08, 0.08, 0.008, 0.008, 0.008],
        "incorrect",
        "the factor is gamma=0.5 here, not the default 0.1.",
    ),
    (
        "07.1",
        [0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.1],
        "incorrect",
        "for epoch 7 (0.1) is too low: epoch e trains with base_lr × gamma^(number of milestones ≤ e).",
    ),
    (
        "07.1",
        [0.1, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2],
        "incorrect",
        "the first entry is wrong; the lr you give for epoch 0 (0.1) is too low",
    ),
    (
        "07.1",
        [0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2],
        "incorrect",
        "multistep_lrs has 7 entries; give one learning rate for each of the epochs 0 to 7, 8 in all.",
    ),
    ("07.1", 0.4, "incorrect", "multistep_lrs should be a list of 8 numbers, got float."),
    ("07.1", None, "incorrect", "multistep_lrs is None"),
    ("07.1", [0.8, 0.8, "0.4", 0.4, 0.4, 0.2, 0.2, 0.2], "incorrect", "multistep_lrs[2] should be a number, got str."),
    (
        "07.1",
        [0.8, 0.8, math.nan, 0.4, 0.4, 0.2, 0.2, 0.2],
        "incorrect",
        "multistep_lrs[2] is nan; expected a finite number.",
    ),
    ("07.2", train_ref, "correct", "in 3 configurations (SGD and Adam; StepLR, LambdaLR and ExponentialLR"),
    ("07.2", train_zero_grad_last, "correct", "every optimizer step used the lr of its epoch"),
    ("07.2", train_skips_first_scheduler_step, "incorrect", "one scheduler.step() is missing"),
    ("07.2", lesson07.train, "incorrect", "that is the package's own training loop; write your own"),
    ("07.2", train_stub, "not attempted", "`train_stub` still has an empty body"),
    (
        "07.2",
        train_broken,
        "incorrect",
        "the learning rate matches torch for optimizer step 1, differs at optimizer step 2 (epoch 0, "
        "batch 1: got 0.05, expected 0.1): scheduler.step() runs before optimizer.step(), and once per batch",
    ),
    ("07.2", train_broken, "incorrect", '(torch warned about it: "Detected call of `lr_scheduler.step()`'),
    (
        "07.2",
        train_per_batch,
        "incorrect",
        "differs at optimizer step 3 (epoch 0, batch 2: got 0.05, expected 0.1): the lr changes every batch",
    ),
    (
        "07.2",
        train_scheduler_at_epoch_start,
        "incorrect",
        "matches torch for optimizer steps 1–3, differs at optimizer step 4 (epoch 1, batch 0: got 0.05, "
        "expected 0.1): the schedule is one epoch ahead",
    ),
    (
        "07.2",
        train_scheduler_removed,
        "incorrect",
        "differs at optimizer step 7 (epoch 2, batch 0: got 0.1, expected 0.05): the lr never changes",
    ),
    (
        "07.2",
        train_scheduler_twice,
        "incorrect",
        "differs at optimizer step 4 (epoch 1, batch 0: got 0.05, expected 0.1): each epoch must train "
        "with the lr the scheduler gives for that epoch",
    ),
    ("07.2", train_one_epoch_only, "incorrect", "`train` ran 1 epoch, not 4"),
    (
        "07.2",
        train_lr_by_hand,
        "incorrect",
        "the learning rates are right, but the scheduler was stepped 0 times in 4 epochs: let the scheduler set the lr",
    ),
    ("07.2", train_four_epochs, "incorrect", "`train` ran 4 epochs, not 5: loop `for epoch in range(epochs)`"),
    ("07.2", train_own_scheduler, "incorrect", "the scheduler was stepped 0 times in 4 epochs"),
    ("07.2", train_first_batch_only, "incorrect", "take 12: one optimizer.step() per batch"),
    (
        "07.2",
        train_no_zero_grad,
        "incorrect",
        "the learning rates are right, but the parameters differ from torch's after optimizer step 2 "
        "(epoch 0, batch 1)",
    ),
    ("07.2", train_global_optimizer, "incorrect", "`train` never stepped the optimizer it was given"),
    ("07.2", train_typo, "error", "`train_typo` raised AttributeError: 'StepLR' object has no attribute 'stepp'"),
    ("07.2", train_scales_x, "incorrect", "modified its argument `batches` in place"),
    (
        "07.3",
        WarmupCosineRef,
        "correct",
        "every group's lr matches torch's SequentialLR(LinearLR, CosineAnnealingLR) at every epoch, "
        "4 past the end included, in 4 configurations",
    ),
    (
        "07.3",
        ClampedAtTheEnd,
        "incorrect",
        "matches torch for epochs 0–12, differs at epoch 13 (got 0.001, expected 0.003985): past "
        "total_epochs the lr must go on as torch's does",
    ),
    (
        "07.3",
        FixedStartFactor,
        "incorrect",
        "with lrs=[0.1, 0.02], warmup_epochs=2, total_epochs=8, start_factor=0.25, eta_min=0.0: differs "
        "from torch already at epoch 0",
    ),
    ("07.3", OursBased, "correct", "every group's lr matches torch's"),
    ("07.3", WarmupCosineStub, "not attempted", "`WarmupCosineStub.get_lr` still has an empty body"),
    (
        "07.3",
        WarmupAhead,
        "incorrect",
        "with lrs=[0.1], warmup_epochs=3, total_epochs=12, start_factor=0.1, eta_min=0.001: differs from "
        "torch already at epoch 0 (got 0.04, expected 0.01): off by one in the warm-up",
    ),
    (
        "07.3",
        WarmupFromZero,
        "incorrect",
        "differs from torch already at epoch 0 (got 0, expected 0.01): the warm-up must start at "
        "start_factor × base_lr, not at 0",
    ),
    (
        "07.3",
        CosineOverTotal,
        "incorrect",
        "matches torch for epochs 0–3, differs at epoch 4 (got 0.09831, expected 0.09701): the cosine runs "
        "over the wrong number of epochs",
    ),
    (
        "07.3",
        CosineNotShifted,
        "incorrect",
        "matches torch for epochs 0–2, differs at epoch 3 (got 0.07525, expected 0.1): the cosine must "
        "start at its top when the warm-up ends",
    ),
    ("07.3", NoEtaMin, "incorrect", "differs at epoch 4 (got 0.09698, expected 0.09701): eta_min is ignored"),
    ("07.3", OneEpochAhead, "incorrect", "your schedule runs one epoch ahead of torch's"),
    (
        "07.3",
        OneGroupOnly,
        "incorrect",
        "with lrs=[0.1, 0.02], warmup_epochs=2, total_epochs=8, start_factor=0.25, eta_min=0.0: differs "
        "from torch already at epoch 0 (group 1: got 0.025, expected 0.005): every param group follows "
        "group 0's learning rate",
    ),
    (
        "07.3",
        MadeUpCurve,
        "incorrect",
        "differs from torch already at epoch 0 (got 0.1, expected 0.01): lr = base_lr · (start_factor",
    ),
    (
        "07.3",
        ReturnsFloat,
        "incorrect",
        "get_lr must return a list with one learning rate per param group (this optimizer has 1)",
    ),
    (
        "07.3",
        RaisesInGetLr,
        "error",
        "raised AttributeError: 'RaisesInGetLr' object has no attribute 'warmup_factor' "
        f"(line {inspect.getsourcelines(RaisesInGetLr.get_lr)[1] + 1} of test_exercises_07.py in `get_lr`",
    ),
    ("07.3", ReturnsNaN, "incorrect", "the lr of param group 0 at epoch 0 is nan; expected a finite number."),
    (
        "07.3",
        ReturnsFloat32Tensors,
        "incorrect",
        "the lr of param group 0 at epoch 0 is a torch.float32 tensor: return Python floats",
    ),
    (
        "07.3",
        warmup_cosine_function,
        "incorrect",
        "WarmupCosine should be a class (a subclass of torch.optim.lr_scheduler.LRScheduler), got function.",
    ),
    (
        "07.4",
        resume_ref,
        "correct",
        "in all 9 configurations (the exercise's SGD and schedule; Adam, AdamW, RMSprop, Adagrad",
    ),
    (
        "07.4",
        resume_own_sgd,
        "incorrect",
        "`make_optimizer` builds an Adam, but you return a SGD: build the optimizer with the `make_optimizer` argument",
    ),
    ("07.4", resume_own_scheduler, "incorrect", "`make_scheduler` builds a SequentialLR, but you return a StepLR"),
    ("07.4", resume_model_last, "correct", "exactly the learning rates and parameters"),
    (
        "07.4",
        lesson07.resume_with_reference,
        "incorrect",
        "is myoptim_helpers.exercises.lesson07.resume_with_reference: that is the package's own resume",
    ),
    ("07.4", resume_stub, "not attempted", "`resume_stub` still has an empty body"),
    (
        "07.4",
        resume_scheduler_after_load,
        "incorrect",
        "with the exercise's SGD and warm-up + cosine, saved after 5 of 10 epochs: differs from the "
        "uninterrupted run already at epoch 5 (lr: got 0.01, expected 0.08117): the scheduler was built "
        "after optimizer.load_state_dict(): its constructor "
        "rewrote the loaded lr with the warm-up's first value",
    ),
    (
        "07.4",
        resume_without_scheduler_state,
        "incorrect",
        "matches the uninterrupted run for epoch 5, differs at epoch 6 (lr: got 0.3247, expected 0.06113): "
        "the scheduler's state was not loaded",
    ),
    (
        "07.4",
        resume_without_optimizer_state,
        "incorrect",
        "(lr: got 0.01, expected 0.08117): the optimizer's state was not loaded",
    ),
    ("07.4", resume_model_only, "incorrect", "only the model was loaded"),
    (
        "07.4",
        resume_without_model,
        "incorrect",
        "already at epoch 5 (`weight`[0, 0]: got 0.6981, expected 1.469): the learning rates are right but "
        "the model's weights were not loaded",
    ),
    (
        "07.4",
        resume_swapped,
        "incorrect",
        "the first value returned should be the optimizer, got SequentialLR: return (optimizer, scheduler).",
    ),
    ("07.4", resume_no_return, "incorrect", "`resume_no_return` returned None: did it forget to `return`"),
    ("07.4", resume_other_model, "incorrect", "the optimizer you return does not update the `model` you were given"),
    (
        "07.4",
        resume_passes_parameters,
        "error",
        "`resume_passes_parameters` raised AttributeError: 'generator' object has no attribute 'parameters'",
    ),
    ("07.4", resume_wrong_key, "error", "raised KeyError: 'model_state_dict'"),
    ("07.4", resume_then_step, "incorrect", "the scheduler was stepped after loading its state"),
    ("07.4", resume_replays_the_schedule, "incorrect", "the schedule was replayed with scheduler.step() calls"),
    ("07.4", resume_sets_lr_by_hand, "incorrect", "the scheduler's state was not loaded"),
]


@pytest.mark.parametrize(
    "key, answer, status, fragment",
    CASES,
    ids=[f"{c[0]}-{getattr(c[1], '__name__', repr(c[1])[:20])}-{c[2]}" for c in CASES],
)
def test_checker(key, answer, status, fragment):
    feedback = grade(key, answer)
    assert (feedback.status, fragment in feedback.message) == (status, True), feedback.message


@pytest.mark.parametrize("answer", [a for k, a, s, _ in CASES if k == "07.1" and s == "incorrect"], ids=repr)
def test_prediction_feedback_never_states_the_expected_number(answer):
    """Copying a number from a ✗ message back must not be a way to ✓."""
    from myoptim_helpers.exercises import reveals

    message = grade("07.1", answer).message
    given = answer if isinstance(answer, (list, tuple)) else ()  # echoing the learner's numbers is fine
    assert not reveals(message, [0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2], given), message
    assert "that is not what torch computes" not in message, message  # not withheld by grade


def test_every_exercise_has_hints_and_a_solution():
    found = exercises_of("07")
    assert list(found) == ["07.1", "07.2", "07.3", "07.4"]
    for exercise in found.values():
        assert exercise.hints and exercise.solution_source(), exercise.key


@pytest.mark.parametrize(
    "key, name", [("07.1", "multistep_lrs"), ("07.2", "train"), ("07.3", "WarmupCosine"), ("07.4", "resume")]
)
def test_the_shown_solution_is_accepted(key, name):
    namespace = {"torch": torch, "nn": nn, "math": math, "lr_scheduler": lr_scheduler}
    exec(exercises_of("07")[key].solution_source(), namespace)
    assert grade(key, namespace[name]).status == "correct"


def test_the_hand_computed_schedules_are_torchs():
    """The numbers the table above takes as right are torch's (guards the hand computation)."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.8)
    scheduler = lr_scheduler.MultiStepLR(opt, milestones=[2, 5], gamma=0.5)
    lrs = []
    for _ in range(8):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    assert lrs == [0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2]


def test_grading_leaves_no_warning_behind():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for answer in (train_broken, train_scheduler_at_epoch_start):
            grade("07.2", answer)
    assert caught == []


def test_the_reference_scheduler_resumes_like_torch():
    """WarmupCosine's closed form also resumes: last_epoch=k continues the schedule."""
    from myoptim_helpers.exercises.lesson07 import WarmupCosine

    def lrs(optimizer, scheduler, epochs):
        out = []
        for _ in range(epochs):
            out.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        return out

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    full = lrs(opt, WarmupCosine(opt, warmup_epochs=3, total_epochs=10, eta_min=0.01), 10)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    first = lrs(opt, WarmupCosine(opt, warmup_epochs=3, total_epochs=10, eta_min=0.01), 4)
    rest = lrs(opt, WarmupCosine(opt, warmup_epochs=3, total_epochs=10, eta_min=0.01, last_epoch=3), 6)
    assert first + rest == full


def test_the_resume_configurations_are_drawn_and_varied():
    """07.4 draws the same configurations at every check, over several optimizers, schedulers,
    param groups, dtypes and stopping epochs; each grades in well under the check's budget."""
    import time

    from myoptim_helpers.exercises.lesson07 import _resume_configs, _resume_model

    configs = _resume_configs()
    assert [c.label for c in configs] == [c.label for c in _resume_configs()]
    assert len(configs) >= 8
    optimizers = {type(c["make_optimizer"](_resume_model(c, 0))).__name__ for c in configs}
    assert {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"} <= optimizers
    assert len({c["saved_after"] for c in configs}) >= 4
    assert any(len(c["make_optimizer"](_resume_model(c, 0)).param_groups) == 2 for c in configs)
    start = time.perf_counter()
    assert grade("07.4", resume_ref).status == "correct"
    assert time.perf_counter() - start < 10
