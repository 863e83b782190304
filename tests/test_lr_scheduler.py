"""Parity of ``myoptim_helpers.lr_scheduler`` with ``torch.optim.lr_scheduler``.

Every expectation comes from torch: the same loop builds our scheduler and
torch's on identical optimizers (three param groups with different lrs), takes
``optimizer.step()`` then ``scheduler.step()`` for 60 epochs, and compares
every learning rate, every param group's scheduler keys (momentum and betas
too), every parameter and the whole ``state_dict()`` at every epoch, exactly.
The tables below are the tests: add a row to cover a new configuration.
"""

import contextlib
import copy
import doctest
import inspect
import math
import pickle
import subprocess
import sys
import types
import warnings
from collections import namedtuple
from functools import partial

import pytest
import torch
import torch.optim.lr_scheduler
import torch.optim.swa_utils

import myoptim_helpers.lr_scheduler as our_schedulers

# torch's schedulers under one roof: SWALR lives in torch.optim.swa_utils.
torch_schedulers = types.SimpleNamespace(
    __name__="torch.optim.lr_scheduler",
    **{name: getattr(torch.optim.lr_scheduler, name) for name in torch.optim.lr_scheduler.__all__},
    SWALR=torch.optim.swa_utils.SWALR,
)
LIBRARIES = {"ours": our_schedulers, "torch": torch_schedulers}
OPTIMIZER_SOURCES = ("torch.optim", "myoptim_helpers.optim")
SCHEDULER_NAMES = (
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LambdaLR",
    "LinearLR",
    "SequentialLR",
    "ReduceLROnPlateau",
    "OneCycleLR",
    "ConstantLR",
    "MultiplicativeLR",
    "PolynomialLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ChainedScheduler",
    "SWALR",
)
EPOCHS = 60
GROUP_LRS = (0.1, 0.05, 0.3)
# The param-group entries a scheduler reads or writes.
SCHEDULER_KEYS = (
    "lr",
    "initial_lr",
    "max_lr",
    "min_lr",
    "momentum",
    "betas",
    "max_momentum",
    "base_momentum",
    "swa_lr",
)


# ---------------------------------------------------------------- optimizers


def optimizer_module(source):
    """Return the module that provides the optimizer classes for ``source``."""
    if source == "torch.optim":
        return torch.optim
    import myoptim_helpers.optim

    return myoptim_helpers.optim


def make_optimizer(kind, source="torch.optim"):
    """Return a fresh optimizer with three float64 param groups, lrs GROUP_LRS; the same every call."""
    generator = torch.Generator().manual_seed(0)
    params = [torch.randn(4, dtype=torch.float64, generator=generator).requires_grad_() for _ in GROUP_LRS]
    tensor_lr_dtype = {"sgd_tensor_lr": torch.float64, "sgd_tensor_lr_float32": torch.float32}.get(kind)
    groups = [
        {"params": [p], "lr": torch.tensor(lr, dtype=tensor_lr_dtype) if tensor_lr_dtype else lr}
        for p, lr in zip(params, GROUP_LRS)
    ]
    optim = optimizer_module(source)
    if kind.startswith("sgd"):
        return optim.SGD(groups, lr=0.1, momentum=0.9)
    if kind == "adam":
        return optim.Adam(groups, lr=0.1, betas=(0.9, 0.999))
    if kind == "adagrad":
        return optim.Adagrad(groups, lr=0.1)
    raise ValueError(f"unknown optimizer kind {kind!r}")


def training_step(optimizer):
    """One real optimizer step on the loss sum_i w_i (p_i - 1)^2, so momentum and Adam state are used.

    The gradient 2 w (p - 1) is written directly: cheaper than backward(), the same step.
    """
    for group in optimizer.param_groups:
        for p in group["params"]:
            p.grad = 2 * torch.arange(1.0, p.numel() + 1, dtype=p.dtype) * (p.detach() - 1.0)
    optimizer.step()


# ------------------------------------------------------------ learning-rate functions


def decay_95(epoch):
    return 0.95**epoch


def inverse_time(epoch):
    return 1 / (1 + epoch)


def halve_after_10(epoch):
    return 0.5 if epoch > 10 else 1.0


def warmup_10(epoch):
    return min(1.0, (epoch + 1) / 10)


class PolynomialDecay:
    """A callable object: its attributes are saved by ``LambdaLR.state_dict()``."""

    def __init__(self, total, power):
        self.total = total
        self.power = power

    def __call__(self, epoch):
        return max(0.0, 1 - epoch / self.total) ** self.power


def shrink_5_percent_every_third(epoch):
    return 0.95 if epoch % 3 == 0 else 1.0


def cycle_halves(cycle):
    """A custom CyclicLR scale_fn of the cycle number."""
    return 0.5 ** (cycle - 1)


class DampedScale:
    """A callable-object scale_fn: its attributes are saved by ``CyclicLR.state_dict()``."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, x):
        return 1 / (1 + self.rate * x)


# ---------------------------------------------------------------- metric scripts


def _falling_loss():
    loss = [4.0 * 0.9**k for k in range(8)]  # falls
    loss += [loss[-1]] * 6  # stalls
    loss += [loss[-1] * (1 - 5e-5 * k) for k in range(1, 9)]  # creeps down by less than the rel threshold
    loss += [loss[-1] + 0.1 * k for k in range(1, 7)]  # rises
    loss += [1.0, 1.2, 0.99, 1.3, 0.985, 0.985, 1.1, 0.98]  # noisy, small gains
    loss += [0.98 - 0.02 * k for k in range(1, EPOCHS - len(loss) + 1)]  # falls again
    return tuple(loss)


FALLING_LOSS = _falling_loss()
ACCURACY = tuple(1 / (1 + v) for v in FALLING_LOSS)  # rises where the loss falls: for mode "max"
LOSS_WITH_NAN = FALLING_LOSS[:20] + (math.nan,) * 3 + FALLING_LOSS[23:]
TENSOR_LOSS = tuple(torch.tensor(v) for v in FALLING_LOSS)  # 0-dim tensors, as from loss.detach()


# ---------------------------------------------------------------- the parity table

Case = namedtuple("Case", "name kwargs description optimizer metrics", defaults=("sgd", None))

CASES = [
    # StepLR
    Case("StepLR", dict(step_size=7), "default gamma 0.1"),
    Case("StepLR", dict(step_size=10, gamma=0.5), "halve every 10 epochs"),
    Case("StepLR", dict(step_size=1, gamma=0.9), "every epoch, like ExponentialLR"),
    Case("StepLR", dict(step_size=3, gamma=0.7), "Adam", "adam"),
    Case("StepLR", dict(step_size=4, gamma=0.5), "tensor lr, filled in place", "sgd_tensor_lr"),
    # MultiStepLR
    Case("MultiStepLR", dict(milestones=[10, 20, 35]), "three milestones"),
    Case("MultiStepLR", dict(milestones=[10, 10, 30], gamma=0.5), "repeated milestone decays twice"),
    Case("MultiStepLR", dict(milestones=[40, 5, 20], gamma=0.3), "unsorted milestones"),
    Case("MultiStepLR", dict(milestones=[0, 12], gamma=0.5), "milestone 0 decays in the constructor"),
    Case("MultiStepLR", dict(milestones=[100]), "milestone after the run"),
    # ExponentialLR
    Case("ExponentialLR", dict(gamma=0.9), "gamma 0.9"),
    Case("ExponentialLR", dict(gamma=0.99), "gamma 0.99 accumulates rounding"),
    Case("ExponentialLR", dict(gamma=1.0), "gamma 1 keeps the lr"),
    Case("ExponentialLR", dict(gamma=0.95), "tensor lr", "sgd_tensor_lr"),
    # CosineAnnealingLR
    Case("CosineAnnealingLR", dict(T_max=60), "T_max equals the run"),
    Case("CosineAnnealingLR", dict(T_max=15, eta_min=0.01), "T_max shorter than the run: goes back up, twice"),
    Case("CosineAnnealingLR", dict(T_max=7), "short period, eta_min 0"),
    Case("CosineAnnealingLR", dict(T_max=1, eta_min=0.001), "T_max 1 flips every epoch"),
    Case("CosineAnnealingLR", dict(T_max=20, eta_min=0.08), "eta_min above one group's lr anneals it upwards"),
    Case("CosineAnnealingLR", dict(T_max=12, eta_min=0.002), "tensor lr", "sgd_tensor_lr"),
    Case("CosineAnnealingLR", dict(T_max=12, eta_min=0.002), "float32 tensor lr", "sgd_tensor_lr_float32"),
    # LambdaLR
    Case("LambdaLR", dict(lr_lambda=decay_95), "one function for every group"),
    Case(
        "LambdaLR",
        dict(lr_lambda=[inverse_time, halve_after_10, PolynomialDecay(50, 2.0)]),
        "one function per group, one a callable object",
    ),
    Case("LambdaLR", dict(lr_lambda=warmup_10), "linear warm-up"),
    Case("LambdaLR", dict(lr_lambda=lambda epoch: epoch // 10), "integer factor, zero at first"),
    Case("LambdaLR", dict(lr_lambda=(decay_95, warmup_10, inverse_time)), "a tuple of functions", "adam"),
    # LinearLR
    Case("LinearLR", dict(), "defaults: 1/3 to 1 in 5 epochs"),
    Case("LinearLR", dict(start_factor=0.1, end_factor=1.0, total_iters=10), "warm-up over 10 epochs"),
    Case("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=40), "linear decay"),
    Case("LinearLR", dict(start_factor=0.5, end_factor=0.0, total_iters=60), "decay to zero at the last epoch"),
    Case("LinearLR", dict(start_factor=0.25, end_factor=0.75, total_iters=100), "total_iters longer than the run"),
    Case("LinearLR", dict(start_factor=0.2, total_iters=0), "total_iters 0: stays at start_factor"),
    Case("LinearLR", dict(start_factor=0.1, total_iters=10), "float32 tensor lr", "sgd_tensor_lr_float32"),
    # SequentialLR
    Case(
        "SequentialLR",
        dict(
            schedulers=[
                ("LinearLR", dict(start_factor=0.1, total_iters=5)),
                ("CosineAnnealingLR", dict(T_max=30, eta_min=1e-3)),
            ],
            milestones=[5],
        ),
        "warm-up then cosine (which comes back up)",
    ),
    Case(
        "SequentialLR",
        dict(
            schedulers=[
                ("LinearLR", dict(start_factor=0.2, total_iters=6)),
                ("StepLR", dict(step_size=4, gamma=0.5)),
                ("ExponentialLR", dict(gamma=0.9)),
            ],
            milestones=[5, 25],
        ),
        "three stages; the warm-up is cut before it ends",
    ),
    Case(
        "SequentialLR",
        dict(
            schedulers=[("MultiStepLR", dict(milestones=[5, 8])), ("LambdaLR", dict(lr_lambda=decay_95))],
            milestones=[20],
        ),
        "MultiStepLR then LambdaLR",
    ),
    Case(
        "SequentialLR",
        dict(schedulers=[("ExponentialLR", dict(gamma=0.5)), ("StepLR", dict(step_size=5, gamma=0.5))], milestones=[0]),
        "milestone 0: the second scheduler runs from the start",
    ),
    Case(
        "SequentialLR",
        dict(
            schedulers=[
                (
                    "SequentialLR",
                    dict(
                        schedulers=[
                            ("LinearLR", dict(start_factor=0.5, total_iters=4)),
                            ("ExponentialLR", dict(gamma=0.8)),
                        ],
                        milestones=[3],
                    ),
                ),
                ("CosineAnnealingLR", dict(T_max=10)),
            ],
            milestones=[15],
        ),
        "a SequentialLR inside a SequentialLR",
    ),
    Case(
        "SequentialLR",
        dict(
            schedulers=[("LinearLR", dict(start_factor=0.1, total_iters=5)), ("CosineAnnealingLR", dict(T_max=55))],
            milestones=[5],
        ),
        "warm-up then cosine with Adam",
        "adam",
    ),
    # ReduceLROnPlateau
    Case("ReduceLROnPlateau", dict(), "defaults: min, rel, patience 10", metrics=FALLING_LOSS),
    Case("ReduceLROnPlateau", dict(factor=0.5, patience=2), "patience 2", metrics=FALLING_LOSS),
    Case("ReduceLROnPlateau", dict(mode="max", factor=0.5, patience=1), "mode max", metrics=ACCURACY),
    Case(
        "ReduceLROnPlateau",
        dict(threshold_mode="abs", threshold=0.05, patience=1),
        "abs threshold",
        metrics=FALLING_LOSS,
    ),
    Case(
        "ReduceLROnPlateau",
        dict(mode="max", threshold_mode="abs", threshold=0.01, factor=0.7, patience=0),
        "max, abs",
        metrics=ACCURACY,
    ),
    Case(
        "ReduceLROnPlateau",
        dict(threshold=0.0, patience=0, factor=0.8),
        "threshold 0: any gain counts",
        metrics=FALLING_LOSS,
    ),
    Case("ReduceLROnPlateau", dict(factor=0.5, patience=0, cooldown=3), "cooldown 3", metrics=FALLING_LOSS),
    Case(
        "ReduceLROnPlateau",
        dict(factor=0.2, patience=0, min_lr=[0.01, 0.002, 0.05]),
        "min_lr per group",
        metrics=FALLING_LOSS,
    ),
    Case(
        "ReduceLROnPlateau",
        dict(factor=0.5, patience=1, min_lr=0.004),
        "one min_lr for every group",
        metrics=FALLING_LOSS,
    ),
    Case(
        "ReduceLROnPlateau",
        dict(factor=0.5, patience=0, eps=0.02),
        "eps 0.02 skips small reductions",
        metrics=FALLING_LOSS,
    ),
    Case(
        "ReduceLROnPlateau",
        dict(factor=0.5, patience=0, eps=0.025),
        "a reduction of exactly eps (0.05 -> 0.025) is skipped",
        metrics=FALLING_LOSS,
    ),
    Case("ReduceLROnPlateau", dict(factor=0.5, patience=2), "metrics as 0-dim tensors", metrics=TENSOR_LOSS),
    Case("ReduceLROnPlateau", dict(factor=0.5, patience=1), "NaN metrics are bad epochs", metrics=LOSS_WITH_NAN),
    Case("ReduceLROnPlateau", dict(factor=0.5, patience=1), "tensor lr", "sgd_tensor_lr", metrics=FALLING_LOSS),
    # OneCycleLR
    Case("OneCycleLR", dict(max_lr=0.5, total_steps=60), "defaults: cos, SGD momentum cycled"),
    Case("OneCycleLR", dict(max_lr=0.5, total_steps=60, anneal_strategy="linear", pct_start=0.25), "linear"),
    Case("OneCycleLR", dict(max_lr=0.5, total_steps=60, three_phase=True), "three phases, cos"),
    Case(
        "OneCycleLR",
        dict(max_lr=0.5, total_steps=60, three_phase=True, anneal_strategy="linear"),
        "three phases, linear",
    ),
    Case("OneCycleLR", dict(max_lr=0.5, epochs=6, steps_per_epoch=10), "epochs x steps_per_epoch"),
    Case("OneCycleLR", dict(max_lr=0.01, total_steps=60), "Adam: betas[0] cycled", "adam"),
    Case(
        "OneCycleLR",
        dict(
            max_lr=[0.01, 0.02, 0.03],
            total_steps=60,
            three_phase=True,
            base_momentum=[0.8, 0.85, 0.7],
            max_momentum=[0.9, 0.95, 0.99],
        ),
        "Adam, three phases, per-group lrs and momenta",
        "adam",
    ),
    Case("OneCycleLR", dict(max_lr=0.5, total_steps=60, cycle_momentum=False), "momentum not cycled"),
    Case(
        "OneCycleLR",
        dict(max_lr=[0.4, 0.2, 0.8], total_steps=60, div_factor=10.0, final_div_factor=100.0),
        "per-group max_lr, div factors",
    ),
    Case("OneCycleLR", dict(max_lr=0.5, total_steps=61, pct_start=0.5), "fractional phase boundary"),
    Case("OneCycleLR", dict(max_lr=0.5, total_steps=80, pct_start=0.1), "longer than the run"),
    Case("OneCycleLR", dict(max_lr=0.5, total_steps=60, pct_start=0.0), "pct_start 0: no warm-up"),
    Case("OneCycleLR", dict(max_lr=0.5, total_steps=60), "tensor lr", "sgd_tensor_lr"),
    # ConstantLR
    Case("ConstantLR", dict(), "defaults: 1/3 for 5 epochs"),
    Case("ConstantLR", dict(factor=0.5, total_iters=40), "half for 40 epochs"),
    Case("ConstantLR", dict(factor=0.1, total_iters=0), "total_iters 0: factor at epoch 0 only"),
    Case("ConstantLR", dict(factor=1.0, total_iters=7), "factor 1 keeps the lr"),
    Case("ConstantLR", dict(factor=0.25, total_iters=100), "longer than the run", "adam"),
    Case("ConstantLR", dict(factor=0.3, total_iters=10), "float32 tensor lr", "sgd_tensor_lr_float32"),
    # MultiplicativeLR
    Case("MultiplicativeLR", dict(lr_lambda=lambda epoch: 0.95), "constant 0.95, like ExponentialLR"),
    Case("MultiplicativeLR", dict(lr_lambda=shrink_5_percent_every_third), "a factor that depends on the epoch"),
    Case(
        "MultiplicativeLR",
        dict(lr_lambda=[decay_95, lambda epoch: 0.9, PolynomialDecay(80, 0.5)]),
        "one function per group, one a callable object",
    ),
    Case(
        "MultiplicativeLR",
        dict(lr_lambda=(lambda epoch: 1.02, lambda epoch: 0.97, lambda epoch: 1.0)),
        "growing, shrinking, constant",
        "adam",
    ),
    Case("MultiplicativeLR", dict(lr_lambda=lambda epoch: 0.97), "tensor lr", "sgd_tensor_lr"),
    # PolynomialLR
    Case("PolynomialLR", dict(), "defaults: linear to 0 in 5 epochs"),
    Case("PolynomialLR", dict(total_iters=50, power=2.0), "quadratic over 50 epochs"),
    Case("PolynomialLR", dict(total_iters=60, power=0.5), "square root, to 0 at the last epoch"),
    Case("PolynomialLR", dict(total_iters=100, power=3.0), "longer than the run", "adam"),
    Case("PolynomialLR", dict(total_iters=0), "total_iters 0: the lr never moves"),
    Case("PolynomialLR", dict(total_iters=30, power=1.5), "float32 tensor lr", "sgd_tensor_lr_float32"),
    # CosineAnnealingWarmRestarts
    Case("CosineAnnealingWarmRestarts", dict(T_0=10), "restart every 10 epochs"),
    Case("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.005), "periods 3, 6, 12, 24"),
    Case("CosineAnnealingWarmRestarts", dict(T_0=1), "T_0 1: base_lr every epoch"),
    Case("CosineAnnealingWarmRestarts", dict(T_0=7, T_mult=3, eta_min=0.08), "eta_min above one group's lr", "adam"),
    Case("CosineAnnealingWarmRestarts", dict(T_0=8, eta_min=0.001), "tensor lr", "sgd_tensor_lr"),
    # CyclicLR
    Case("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=5), "triangular, SGD momentum cycled"),
    Case(
        "CyclicLR",
        dict(base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=8, mode="triangular2"),
        "triangular2, uneven halves",
    ),
    Case("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=6, mode="exp_range", gamma=0.97), "exp_range"),
    Case(
        "CyclicLR",
        dict(
            base_lr=[0.01, 0.02, 0.005],
            max_lr=[0.1, 0.3, 0.05],
            step_size_up=3,
            step_size_down=7,
            base_momentum=[0.8, 0.7, 0.85],
            max_momentum=[0.9, 0.95, 0.99],
        ),
        "per-group lrs and momenta",
    ),
    Case(
        "CyclicLR",
        dict(base_lr=0.001, max_lr=0.01, step_size_up=5, mode="exp_range", gamma=0.99),
        "Adam: betas[0] cycled",
        "adam",
    ),
    Case(
        "CyclicLR",
        dict(base_lr=0.01, max_lr=0.1, step_size_up=5, cycle_momentum=False),
        "momentum not cycled, Adagrad",
        "adagrad",
    ),
    Case("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4, scale_fn=cycle_halves), "scale_fn of the cycle"),
    Case(
        "CyclicLR",
        dict(base_lr=0.01, max_lr=0.1, step_size_up=4, scale_fn=DampedScale(0.05), scale_mode="iterations"),
        "callable-object scale_fn of the iteration",
    ),
    Case(
        "CyclicLR",
        dict(base_lr=0.01, max_lr=0.1, step_size_up=5, mode="triangular", scale_mode="iterations"),
        "a built-in mode ignores scale_mode",
    ),
    Case("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=1, step_size_down=1), "one step up, one down"),
    Case("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=5), "tensor lr", "sgd_tensor_lr"),
    # ChainedScheduler
    Case(
        "ChainedScheduler",
        dict(schedulers=[("ConstantLR", dict(factor=0.1, total_iters=20)), ("ExponentialLR", dict(gamma=0.9))]),
        "constant warm-up times exponential decay",
    ),
    Case(
        "ChainedScheduler",
        dict(
            schedulers=[
                ("LinearLR", dict(start_factor=0.2, total_iters=8)),
                ("StepLR", dict(step_size=10, gamma=0.5)),
                ("MultiplicativeLR", dict(lr_lambda=lambda epoch: 0.99)),
            ]
        ),
        "three factors at once",
    ),
    Case(
        "ChainedScheduler",
        dict(
            schedulers=[
                ("CosineAnnealingLR", dict(T_max=15, eta_min=0.001)),
                ("MultiStepLR", dict(milestones=[20, 40])),
            ]
        ),
        "cosine times milestones",
        "adam",
    ),
    Case(
        "ChainedScheduler",
        dict(
            schedulers=[
                (
                    "SequentialLR",
                    dict(
                        schedulers=[
                            ("ConstantLR", dict(factor=0.5, total_iters=3)),
                            ("ExponentialLR", dict(gamma=0.95)),
                        ],
                        milestones=[5],
                    ),
                ),
                ("StepLR", dict(step_size=12, gamma=0.7)),
            ]
        ),
        "a SequentialLR inside",
    ),
    Case(
        "ChainedScheduler",
        dict(
            schedulers=[
                ("PolynomialLR", dict(total_iters=40, power=2.0)),
                ("ConstantLR", dict(factor=0.5, total_iters=10)),
            ]
        ),
        "tensor lr",
        "sgd_tensor_lr",
    ),
    # SWALR (torch.optim.swa_utils)
    Case("SWALR", dict(swa_lr=0.02), "defaults: cos over 10 epochs"),
    Case("SWALR", dict(swa_lr=0.02, anneal_epochs=25, anneal_strategy="linear"), "linear over 25 epochs"),
    Case("SWALR", dict(swa_lr=[0.01, 0.2, 0.05], anneal_epochs=7), "per-group swa_lr, one above its lr"),
    Case("SWALR", dict(swa_lr=0.05, anneal_epochs=0), "anneal_epochs 0: swa_lr at once"),
    Case("SWALR", dict(swa_lr=0.005, anneal_epochs=100), "longer than the run", "adam"),
    Case("SWALR", dict(swa_lr=0.02, anneal_epochs=12), "tensor lr", "sgd_tensor_lr"),
    Case(
        "SequentialLR",
        dict(
            schedulers=[("CosineAnnealingLR", dict(T_max=40)), ("SWALR", dict(swa_lr=0.01, anneal_epochs=5))],
            milestones=[30],
        ),
        "the SWA recipe: cosine, then SWALR takes over from where it left the lr",
    ),
]


def case_id(case):
    return f"{case.name}-{case.description}"


COMPOSITES = ("SequentialLR", "ChainedScheduler")


def build(library, optimizer, name, kwargs, inner=None):
    """Build ``library``'s scheduler ``name`` on ``optimizer``; a composite's parts are specs, built by ``inner``.

    ``inner`` (default: ``library``) builds the parts, so ours can hold torch's and torch's ours.
    """
    kwargs = dict(kwargs)
    if name in COMPOSITES:
        kwargs["schedulers"] = [build(inner or library, optimizer, *spec) for spec in kwargs["schedulers"]]
    if name == "ChainedScheduler":
        return library.ChainedScheduler(kwargs.pop("schedulers"), optimizer=optimizer, **kwargs)
    return getattr(library, name)(optimizer, **kwargs)


class Run:
    """One optimizer and one scheduler built from a Case, stepped the way a training loop steps them."""

    def __init__(self, library, case, source, optimizer=None, inner=None, **extra_kwargs):
        self.case = case
        self.warnings = []  # (category, text) of every warning, compared like the lrs
        self.optimizer = optimizer if optimizer is not None else make_optimizer(case.optimizer, source)
        with self.recording_warnings():
            self.scheduler = build(library, self.optimizer, case.name, {**case.kwargs, **extra_kwargs}, inner)
        self.epoch = 0

    @contextlib.contextmanager
    def recording_warnings(self):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
        self.warnings += [(w.category, str(w.message)) for w in caught]

    def advance(self):
        """optimizer.step() then scheduler.step() (with this epoch's metric for ReduceLROnPlateau)."""
        training_step(self.optimizer)
        with self.recording_warnings():
            if self.case.metrics is None:
                self.scheduler.step()
            else:
                self.scheduler.step(self.case.metrics[self.epoch])
        self.epoch += 1


def advanced(run, epochs):
    """Return ``run`` after ``epochs`` more epochs."""
    for _ in range(epochs):
        run.advance()
    return run


# ---------------------------------------------------------------- exact comparison


def first_difference(a, b, path="value"):
    """Return where ``a`` and ``b`` first differ (type or exact value, NaN equal to NaN), or None."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if type(a) is not type(b) or a.dtype != b.dtype or a.shape != b.shape or not torch.equal(a, b):
            return f"{path}: ours {a!r} != torch {b!r}"
        return None
    if type(a) is not type(b):
        return f"{path}: ours is {type(a).__name__} {a!r}, torch is {type(b).__name__} {b!r}"
    if isinstance(a, dict):
        if a.keys() != b.keys():
            only_ours, only_torch = sorted(map(str, a.keys() - b.keys())), sorted(map(str, b.keys() - a.keys()))
            return f"{path}: keys differ, only ours {only_ours}, only torch {only_torch}"
        return next((d for k in a if (d := first_difference(a[k], b[k], f"{path}[{k!r}]"))), None)
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: length ours {len(a)} != torch {len(b)}"
        return next((d for i, (x, y) in enumerate(zip(a, b)) if (d := first_difference(x, y, f"{path}[{i}]"))), None)
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return None
    return None if a == b else f"{path}: ours {a!r} != torch {b!r}"


def difference_between(ours, theirs):
    """Return the first observable difference between two Runs at the same epoch, or None."""
    checks = [("get_last_lr()", ours.scheduler.get_last_lr(), theirs.scheduler.get_last_lr())]
    for i, (g_ours, g_theirs) in enumerate(zip(ours.optimizer.param_groups, theirs.optimizer.param_groups)):
        pick = lambda g: {k: g[k] for k in SCHEDULER_KEYS if k in g}  # noqa: E731
        checks.append((f"param_groups[{i}]", pick(g_ours), pick(g_theirs)))
        checks.append(
            (
                f"param_groups[{i}]['params']",
                [p.detach() for p in g_ours["params"]],
                [p.detach() for p in g_theirs["params"]],
            )
        )
    checks.append(("state_dict()", ours.scheduler.state_dict(), theirs.scheduler.state_dict()))
    checks.append(("warnings", ours.warnings, theirs.warnings))
    return next((d for name, a, b in checks if (d := first_difference(a, b, name))), None)


def assert_same(ours, theirs, epoch, what=""):
    difference = difference_between(ours, theirs)
    assert difference is None, f"{ours.case.name} {ours.case.description!r}{what}: epoch {epoch}: {difference}"


def run_side_by_side(ours, theirs, epochs, what=""):
    """Compare two Runs now and after each of ``epochs`` further epochs."""
    for epoch in range(epochs + 1):
        assert_same(ours, theirs, ours.epoch, what)
        if epoch < epochs:
            ours.advance()
            theirs.advance()


# ---------------------------------------------------------------- tests: parity


def test_table_covers_every_scheduler_with_several_configurations():
    counts = {name: sum(case.name == name for case in CASES) for name in SCHEDULER_NAMES}
    assert all(count >= 3 for count in counts.values()), counts


@pytest.mark.parametrize("source", OPTIMIZER_SOURCES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_same_learning_rates_as_torch_at_every_epoch(case, source):
    run_side_by_side(Run(our_schedulers, case, source), Run(torch_schedulers, case, source), EPOCHS)


@pytest.mark.parametrize(
    "outer, inner",
    [(our_schedulers, torch_schedulers), (torch_schedulers, our_schedulers)],
    ids=["ours-holding-torchs", "torchs-holding-ours"],
)
@pytest.mark.parametrize("case", [case for case in CASES if case.name in COMPOSITES], ids=case_id)
def test_composites_mixing_ours_and_torchs_match_torch(case, outer, inner):
    """Our SequentialLR/ChainedScheduler of torch's schedulers, and torch's of ours, set all-torch's lrs."""
    mixed = Run(outer, case, "torch.optim", inner=inner)
    run_side_by_side(mixed, Run(torch_schedulers, case, "torch.optim"), EPOCHS, " mixed")


def test_lr_follows_the_closed_formula_where_torch_gives_one():
    """Guards the comparison itself: a few values known on paper, not taken from either library."""
    expected = [
        (Case("StepLR", dict(step_size=10, gamma=0.5), ""), lambda base, e: base * 0.5 ** (e // 10)),
        (Case("ExponentialLR", dict(gamma=0.9), ""), lambda base, e: base * 0.9**e),
        (
            Case("CosineAnnealingLR", dict(T_max=15, eta_min=0.01), ""),
            lambda base, e: 0.01 + (base - 0.01) * (1 + math.cos(math.pi * e / 15)) / 2,
        ),
        (
            Case("LinearLR", dict(start_factor=0.1, total_iters=10), ""),
            lambda base, e: base * (0.1 + 0.9 * min(e, 10) / 10),
        ),
        (Case("ConstantLR", dict(factor=0.5, total_iters=8), ""), lambda base, e: base * (0.5 if e < 8 else 1.0)),
        (Case("PolynomialLR", dict(total_iters=50, power=2.0), ""), lambda base, e: base * (1 - min(e, 50) / 50) ** 2),
        (Case("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9), ""), lambda base, e: base * 0.9**e),
        (
            Case("CosineAnnealingWarmRestarts", dict(T_0=4, T_mult=2), ""),
            lambda base, e: (
                base
                * (
                    1
                    + math.cos(
                        math.pi
                        * next((e - s) / t for s, t in ((0, 4), (4, 8), (12, 16), (28, 32), (60, 64)) if e < s + t)
                    )
                )
                / 2
            ),
        ),
        (
            Case("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=5, cycle_momentum=False), ""),
            lambda base, e: 0.01 + 0.09 * (1 - abs(e % 10 - 5) / 5),
        ),
        (
            Case("SWALR", dict(swa_lr=0.02, anneal_epochs=10, anneal_strategy="linear"), ""),
            lambda base, e: 0.02 * min(e, 10) / 10 + base * (1 - min(e, 10) / 10),
        ),
    ]
    for case, formula in expected:
        run = Run(our_schedulers, case, "torch.optim")
        for epoch in range(EPOCHS + 1):
            for base, lr in zip(GROUP_LRS, run.scheduler.get_last_lr()):
                assert lr == pytest.approx(formula(base, epoch), rel=1e-12, abs=1e-15), (case.name, epoch)
            run.advance()


STEP_EPOCH_CASES = [
    case for case in CASES if case.name not in ("SequentialLR", "ChainedScheduler", "ReduceLROnPlateau")
]


@pytest.mark.parametrize("case", STEP_EPOCH_CASES, ids=case_id)
def test_deprecated_step_with_epoch_matches_torch(case):
    """``step(epoch)`` jumps to an epoch with the closed formula (where there is one), then steps go on from there."""
    if case.name == "OneCycleLR":
        epochs = [3, 10, 4, 25, 0, 40]
    elif case.name == "CosineAnnealingWarmRestarts":
        epochs = [3, 10.5, 4, 25.25, 0, 40, 70, 0.75]  # fractional epochs: its way of stepping per batch
    else:
        epochs = [3, 10, 4, 25, 0, 40, 70]
    runs = [Run(library, case, "torch.optim") for library in (our_schedulers, torch_schedulers)]
    for epoch in epochs:
        outcomes = []
        for run in runs:
            training_step(run.optimizer)
            with run.recording_warnings():
                outcomes.append(error_from(partial(run.scheduler.step, epoch)))
        assert outcomes[0] == outcomes[1], f"step({epoch}): ours {outcomes[0]}, torch {outcomes[1]}"
        assert_same(*runs, epoch, " after step(epoch)")
        if outcomes[1] is not None:
            return  # torch raised (e.g. total_iters=0 divides by zero), and so did we
    run_side_by_side(*runs, 5, " stepping on after step(epoch)")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_param_group_added_mid_run_is_handled_like_torch(case):
    """Whatever torch does (go on, or raise which error), we do the same, at the same epoch."""
    runs = [advanced(Run(library, case, "torch.optim"), 3) for library in (our_schedulers, torch_schedulers)]
    for run in runs:
        run.optimizer.add_param_group({"params": [torch.zeros(4, dtype=torch.float64)], "lr": 0.2})
    for epoch in range(3, 20):
        outcomes = [error_from(run.advance) for run in runs]
        assert outcomes[0] == outcomes[1], f"epoch {epoch}: ours {outcomes[0]}, torch {outcomes[1]}"
        if outcomes[1] is not None:
            return
        assert runs[0].scheduler.get_last_lr() == runs[1].scheduler.get_last_lr(), f"epoch {epoch}"


# ---------------------------------------------------------------- tests: saving and resuming

STATE_DICT_SPLIT = 23


def restored(library, case, saved):
    """A new optimizer + scheduler restored from ``saved`` the way torch recommends (scheduler built first)."""
    run = Run(library, case, "torch.optim")
    for p_new, p_saved in zip(
        (p for g in run.optimizer.param_groups for p in g["params"]),
        (p for g in saved.optimizer.param_groups for p in g["params"]),
    ):
        with torch.no_grad():
            p_new.copy_(p_saved)
    # Through pickle: the saved state must be picklable (torch leaves functions out of LambdaLR's).
    optimizer_state = pickle.loads(pickle.dumps(saved.optimizer.state_dict()))
    scheduler_state = pickle.loads(pickle.dumps(saved.scheduler.state_dict()))
    run.optimizer.load_state_dict(optimizer_state)
    run.scheduler.load_state_dict(scheduler_state)
    run.epoch = saved.epoch
    return run


@pytest.mark.parametrize(
    "saved_by, loaded_by",
    [(our_schedulers, our_schedulers), (torch_schedulers, our_schedulers), (our_schedulers, torch_schedulers)],
    ids=["ours-to-ours", "torch-to-ours", "ours-to-torch"],
)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_state_dict_round_trip_mid_run_continues_like_an_uninterrupted_run(case, saved_by, loaded_by):
    """Save mid-run, restore into a new optimizer + scheduler, and go on exactly as torch does without a break.

    Also across libraries: torch's checkpoint loads into ours and ours into torch's.
    """
    resumed = restored(loaded_by, case, advanced(Run(saved_by, case, "torch.optim"), STATE_DICT_SPLIT))
    uninterrupted = advanced(Run(torch_schedulers, case, "torch.optim"), STATE_DICT_SPLIT)
    what = f" restored by {loaded_by.__name__} from {saved_by.__name__} (left: restored, right: torch uninterrupted)"
    run_side_by_side(resumed, uninterrupted, EPOCHS - STATE_DICT_SPLIT, what)


def test_lambdalr_state_dict_keeps_callable_objects_and_drops_functions():
    lambdas = [inverse_time, PolynomialDecay(50, 2.0), lambda epoch: 1.0]
    states = [
        build(library, make_optimizer("sgd"), "LambdaLR", dict(lr_lambda=lambdas)).state_dict()["lr_lambdas"]
        for library in (our_schedulers, torch_schedulers)
    ]
    assert states[0] == states[1] == [None, {"total": 50, "power": 2.0}, None]

    restored_object = PolynomialDecay(10, 1.0)
    scheduler = our_schedulers.LambdaLR(make_optimizer("sgd"), [inverse_time, restored_object, inverse_time])
    scheduler.load_state_dict({**scheduler.state_dict(), "lr_lambdas": states[0]})
    assert (restored_object.total, restored_object.power) == (50, 2.0)


RESUME_AT = 17


@pytest.mark.parametrize(
    "case", [case for case in CASES if case.name not in ("ReduceLROnPlateau", "ChainedScheduler")], ids=case_id
)
def test_resuming_with_last_epoch_matches_torch(case):
    """Rebuild a scheduler with ``last_epoch=k`` on an optimizer restored from a checkpoint."""
    checkpoint = advanced(Run(torch_schedulers, case, "torch.optim"), RESUME_AT).optimizer.state_dict()
    runs = []
    for library in (our_schedulers, torch_schedulers):
        optimizer = make_optimizer(case.optimizer)
        optimizer.load_state_dict(copy.deepcopy(checkpoint))  # load_state_dict keeps the state tensors themselves
        run = Run(library, case, "torch.optim", optimizer=optimizer, last_epoch=RESUME_AT)
        run.epoch = RESUME_AT
        runs.append(run)
    run_side_by_side(*runs, EPOCHS - RESUME_AT - 1, f" resumed with last_epoch={RESUME_AT}")


# ---------------------------------------------------------------- tests: warnings


def _order(library, other, opt):
    library.StepLR(opt, step_size=3).step()


def _right_order(library, other, opt):
    scheduler = library.StepLR(opt, step_size=3)
    opt.step()
    scheduler.step()


def _twice_before(library, other, opt):
    scheduler = library.StepLR(opt, step_size=3)
    scheduler.step()
    scheduler.step()
    opt.step()
    scheduler.step()


def _optimizer_stepped_before_the_scheduler_existed(library, other, opt):
    opt.step()
    library.StepLR(opt, step_size=3).step()


def _step_replaced(library, other, opt):
    scheduler = library.StepLR(opt, step_size=3)
    opt.step = partial(type(opt).step, opt)
    opt.step()
    scheduler.step()


def _closure(library, other, opt):
    scheduler = library.ExponentialLR(opt, gamma=0.9)
    opt.step(lambda: torch.tensor(0.0))
    scheduler.step()


def _two_schedulers(library, other, opt):
    first, second = library.StepLR(opt, step_size=3), other.MultiStepLR(opt, milestones=[2])
    opt.step()
    first.step()
    second.step()


def _two_schedulers_wrong_order(library, other, opt):
    first, second = library.StepLR(opt, step_size=3), other.MultiStepLR(opt, milestones=[2])
    first.step()
    second.step()
    opt.step()


def _sequential_wrong_order(library, other, opt):
    library.SequentialLR(opt, [library.LinearLR(opt), other.ExponentialLR(opt, 0.9)], milestones=[2]).step()


def _sequential_right_order(library, other, opt):
    scheduler = library.SequentialLR(opt, [library.LinearLR(opt), other.ExponentialLR(opt, 0.9)], milestones=[2])
    for _ in range(4):
        opt.step()
        scheduler.step()


def _plateau(library, other, opt):
    library.ReduceLROnPlateau(opt).step(1.0)


def _one_cycle_wrong_order(library, other, opt):
    library.OneCycleLR(opt, max_lr=1.0, total_steps=10).step()


def _get_lr_called_directly(library, other, opt):
    library.ExponentialLR(opt, gamma=0.9).get_lr()


def _step_with_epoch(library, other, opt):
    scheduler = library.CosineAnnealingLR(opt, T_max=10)
    opt.step()
    scheduler.step(5)


def _plateau_step_with_epoch(library, other, opt):
    library.ReduceLROnPlateau(opt).step(1.0, epoch=3)


def _warm_restarts_wrong_order(library, other, opt):
    library.CosineAnnealingWarmRestarts(opt, T_0=3).step()


def _warm_restarts_step_with_epoch(library, other, opt):
    scheduler = library.CosineAnnealingWarmRestarts(opt, T_0=3)
    opt.step()
    scheduler.step(2.5)


def _cyclic_wrong_order(library, other, opt):
    library.CyclicLR(opt, base_lr=0.01, max_lr=0.1).step()


def _swalr_wrong_order(library, other, opt):
    library.SWALR(opt, swa_lr=0.01).step()


def _chained_wrong_order(library, other, opt):
    library.ChainedScheduler([library.ConstantLR(opt), other.ExponentialLR(opt, 0.9)]).step()


def _chained_right_order(library, other, opt):
    scheduler = library.ChainedScheduler([other.ConstantLR(opt), library.MultiplicativeLR(opt, lambda epoch: 0.9)])
    for _ in range(3):
        opt.step()
        scheduler.step()


# (scenario, number of warnings torch gives, description)
WARNING_SCENARIOS = [
    (_order, 1, "scheduler.step() before optimizer.step()"),
    (_right_order, 0, "optimizer.step() then scheduler.step()"),
    (_twice_before, 1, "warned once, at the first step only"),
    (
        _optimizer_stepped_before_the_scheduler_existed,
        1,
        "an optimizer.step() before the scheduler existed does not count",
    ),
    (_step_replaced, 1, "optimizer.step replaced after the scheduler was built"),
    (_closure, 0, "optimizer.step(closure)"),
    (_two_schedulers, 0, "two schedulers share the optimizer's flag"),
    (_two_schedulers_wrong_order, 2, "two schedulers, both stepped first"),
    (_sequential_wrong_order, 1, "SequentialLR passes its first scheduler's warning on"),
    (_sequential_right_order, 0, "SequentialLR in the right order, across its milestone"),
    (_plateau, 0, "ReduceLROnPlateau does not check the order"),
    (_one_cycle_wrong_order, 1, "OneCycleLR before optimizer.step()"),
    (_get_lr_called_directly, 1, "get_lr() called outside step()"),
    (_step_with_epoch, 1, "step(epoch) is deprecated"),
    (_plateau_step_with_epoch, 1, "ReduceLROnPlateau.step(metrics, epoch) is deprecated"),
    (_warm_restarts_wrong_order, 0, "CosineAnnealingWarmRestarts has its own step: no order check"),
    (_warm_restarts_step_with_epoch, 0, "CosineAnnealingWarmRestarts.step(epoch) is not deprecated"),
    (_cyclic_wrong_order, 1, "CyclicLR before optimizer.step()"),
    (_swalr_wrong_order, 1, "SWALR before optimizer.step()"),
    (_chained_wrong_order, 2, "ChainedScheduler: each part warns"),
    (_chained_right_order, 0, "ChainedScheduler in the right order"),
]

LIBRARY_PAIRS = {
    "ours": (our_schedulers, our_schedulers),
    "ours-then-torch": (our_schedulers, torch_schedulers),
    "torch-then-ours": (torch_schedulers, our_schedulers),
}


def warnings_from(scenario, library, other, source):
    optimizer = make_optimizer("sgd", source)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scenario(library, other, optimizer)
    return [(w.category, str(w.message)) for w in caught]


@pytest.mark.parametrize("source", OPTIMIZER_SOURCES)
@pytest.mark.parametrize("pair", LIBRARY_PAIRS)
@pytest.mark.parametrize("scenario, count, description", WARNING_SCENARIOS, ids=[s[2] for s in WARNING_SCENARIOS])
def test_warnings_are_torchs(scenario, count, description, pair, source):
    """Same warnings, same text, as the all-torch run; also when torch's and our schedulers share an optimizer."""
    expected = warnings_from(scenario, torch_schedulers, torch_schedulers, source)
    assert len(expected) == count, f"the scenario itself changed: torch gives {expected}"
    assert warnings_from(scenario, *LIBRARY_PAIRS[pair], source) == expected


# ---------------------------------------------------------------- tests: invalid arguments

# (scheduler name, kwargs, description, optimizer kind)
INVALID = [
    ("StepLR", dict(step_size=3, last_epoch=5), "resuming without initial_lr", "sgd"),
    ("CosineAnnealingLR", dict(T_max=3, last_epoch=0), "resuming at epoch 0 without initial_lr", "sgd"),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=10, last_epoch=4), "OneCycleLR resuming without initial_lr", "sgd"),
    ("StepLR", dict(step_size=3), "not an optimizer", "none"),
    ("LambdaLR", dict(lr_lambda=decay_95), "LambdaLR on something that is not an optimizer", "none"),
    ("LambdaLR", dict(lr_lambda=[decay_95, decay_95]), "two lambdas for three groups", "sgd"),
    ("LinearLR", dict(start_factor=0.0), "start_factor 0", "sgd"),
    ("LinearLR", dict(start_factor=1.5), "start_factor above 1", "sgd"),
    ("LinearLR", dict(end_factor=-0.1), "end_factor below 0", "sgd"),
    ("LinearLR", dict(end_factor=1.01), "end_factor above 1", "sgd"),
    ("ReduceLROnPlateau", dict(mode="avg"), "unknown mode", "sgd"),
    ("ReduceLROnPlateau", dict(threshold_mode="pct"), "unknown threshold_mode", "sgd"),
    ("ReduceLROnPlateau", dict(factor=1.0), "factor 1", "sgd"),
    ("ReduceLROnPlateau", dict(factor=2.0, mode="avg"), "factor is checked first", "sgd"),
    ("ReduceLROnPlateau", dict(min_lr=[0.1, 0.2]), "two min_lrs for three groups", "sgd"),
    ("ReduceLROnPlateau", dict(), "not an optimizer", "none"),
    ("OneCycleLR", dict(max_lr=1.0), "neither total_steps nor epochs", "sgd"),
    ("OneCycleLR", dict(max_lr=1.0, epochs=5), "epochs without steps_per_epoch", "sgd"),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=0), "total_steps 0", "sgd"),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=10.0), "total_steps a float", "sgd"),
    ("OneCycleLR", dict(max_lr=1.0, epochs=-1, steps_per_epoch=10), "negative epochs", "sgd"),
    ("OneCycleLR", dict(max_lr=1.0, epochs=2, steps_per_epoch=2.5), "fractional steps_per_epoch", "sgd"),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=10, pct_start=1.5), "pct_start above 1", "sgd"),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=10, pct_start=1), "pct_start an int", "sgd"),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=10, anneal_strategy="exp"), "unknown anneal_strategy", "sgd"),
    ("OneCycleLR", dict(max_lr=[1.0, 2.0], total_steps=10), "two max_lrs for three groups", "sgd"),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=10, base_momentum=[0.8]), "one base_momentum for three groups", "sgd"),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=10), "cycle_momentum on an optimizer without momentum", "adagrad"),
    ("SequentialLR", dict(schedulers=[], milestones=[]), "no schedulers", "sgd"),
    (
        "SequentialLR",
        dict(schedulers=[("StepLR", dict(step_size=2)), ("ExponentialLR", dict(gamma=0.9))], milestones=[]),
        "too few milestones",
        "sgd",
    ),
    (
        "SequentialLR",
        dict(schedulers=[("StepLR", dict(step_size=2)), ("ReduceLROnPlateau", dict())], milestones=[3]),
        "ReduceLROnPlateau inside",
        "sgd",
    ),
    (
        "SequentialLR",
        dict(
            schedulers=[("StepLR", dict(step_size=2)), ("other optimizer", "ExponentialLR", dict(gamma=0.9))],
            milestones=[3],
        ),
        "a scheduler of another optimizer",
        "sgd",
    ),
    (
        "SequentialLR",
        dict(schedulers=[("StepLR", dict(step_size=2)), ("not a scheduler",)], milestones=[3]),
        "something without an optimizer",
        "sgd",
    ),
    ("ConstantLR", dict(factor=1.5), "ConstantLR factor above 1", "sgd"),
    ("ConstantLR", dict(factor=-0.5), "ConstantLR factor below 0", "sgd"),
    ("ConstantLR", dict(factor=0.5, last_epoch=3), "ConstantLR resuming without initial_lr", "sgd"),
    ("MultiplicativeLR", dict(lr_lambda=0.95), "a number instead of a function", "sgd"),
    ("MultiplicativeLR", dict(lr_lambda=[decay_95, 0.9, decay_95]), "one lambda of three is not callable", "sgd"),
    ("MultiplicativeLR", dict(lr_lambda=[decay_95]), "one lambda for three groups", "sgd"),
    ("PolynomialLR", dict(total_iters=5), "PolynomialLR on something that is not an optimizer", "none"),
    ("CosineAnnealingWarmRestarts", dict(T_0=0), "T_0 0", "sgd"),
    ("CosineAnnealingWarmRestarts", dict(T_0=2.5), "T_0 a float", "sgd"),
    ("CosineAnnealingWarmRestarts", dict(T_0=5, T_mult=0), "T_mult 0", "sgd"),
    ("CosineAnnealingWarmRestarts", dict(T_0=5, T_mult=1.5), "T_mult a float", "sgd"),
    ("CosineAnnealingWarmRestarts", dict(T_0=5, eta_min="0"), "eta_min a string", "sgd"),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, mode="sine"), "unknown mode without scale_fn", "sgd"),
    ("CyclicLR", dict(base_lr=[0.01, 0.02], max_lr=0.1), "two base_lrs for three groups", "sgd"),
    ("CyclicLR", dict(base_lr=0.01, max_lr=[0.1]), "one max_lr for three groups", "sgd"),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1), "cycle_momentum on an optimizer without momentum", "adagrad"),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, max_momentum=[0.9, 0.95]), "two max_momentums for three groups", "sgd"),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1), "CyclicLR on something that is not an optimizer", "none"),
    ("ChainedScheduler", dict(schedulers=[]), "ChainedScheduler of nothing", "sgd"),
    (
        "ChainedScheduler",
        dict(schedulers=[("StepLR", dict(step_size=2)), ("ReduceLROnPlateau", dict())]),
        "ReduceLROnPlateau in a chain",
        "sgd",
    ),
    (
        "ChainedScheduler",
        dict(schedulers=[("StepLR", dict(step_size=2)), ("other optimizer", "ExponentialLR", dict(gamma=0.9))]),
        "a chained scheduler of another optimizer",
        "sgd",
    ),
    (
        "ChainedScheduler",
        dict(schedulers=[("StepLR", dict(step_size=2)), ("not a scheduler",)]),
        "a chained thing without an optimizer",
        "sgd",
    ),
    ("SWALR", dict(swa_lr=0.01, anneal_strategy="exp"), "SWALR unknown anneal_strategy", "sgd"),
    ("SWALR", dict(swa_lr=0.01, anneal_epochs=-1), "negative anneal_epochs", "sgd"),
    ("SWALR", dict(swa_lr=0.01, anneal_epochs=2.5), "fractional anneal_epochs", "sgd"),
    ("SWALR", dict(swa_lr=[0.01, 0.02]), "two swa_lrs for three groups", "sgd"),
]


def build_for_error(library, name, kwargs, kind, source):
    optimizer = object() if kind == "none" else make_optimizer(kind, source)
    if name in COMPOSITES:
        subs = []
        for spec in kwargs["schedulers"]:
            if spec == ("not a scheduler",):
                subs.append(object())
            elif spec[0] == "other optimizer":
                subs.append(build(library, make_optimizer(kind, source), *spec[1:]))
            else:
                subs.append(build(library, optimizer, *spec))
        kwargs = {**kwargs, "schedulers": subs}
    if name == "ChainedScheduler":
        return library.ChainedScheduler(kwargs["schedulers"], optimizer=optimizer)
    return getattr(library, name)(optimizer, **kwargs)


def error_from(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001 -- the point is to compare whatever torch raises
        return type(error), str(error)
    return None


@pytest.mark.parametrize("source", OPTIMIZER_SOURCES)
@pytest.mark.parametrize("name, kwargs, description, kind", INVALID, ids=[f"{row[0]}-{row[2]}" for row in INVALID])
def test_invalid_arguments_raise_torchs_exception_and_message(name, kwargs, description, kind, source):
    expected = error_from(lambda: build_for_error(torch_schedulers, name, kwargs, kind, source))
    assert expected is not None, f"torch accepts this row: {description}"
    assert error_from(lambda: build_for_error(our_schedulers, name, kwargs, kind, source)) == expected


def _one_cycle_past_total_steps(library, opt):
    scheduler = library.OneCycleLR(opt, max_lr=1.0, total_steps=5)
    for _ in range(6):
        opt.step()
        scheduler.step()


def _plateau_min_lrs_after_a_new_group(library, opt):
    scheduler = library.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0, 0.0, 0.0])
    opt.add_param_group({"params": [torch.zeros(2, requires_grad=True)], "lr": 0.1})
    for loss in (1.0, 2.0):
        scheduler.step(loss)


def _warm_restarts_negative_epoch(library, opt):
    library.CosineAnnealingWarmRestarts(opt, T_0=3).step(-1)


# (action, description): errors raised while stepping
INVALID_WHILE_STEPPING = [
    (_one_cycle_past_total_steps, "OneCycleLR stepped past total_steps"),
    (_plateau_min_lrs_after_a_new_group, "ReduceLROnPlateau min_lr list after add_param_group"),
    (_warm_restarts_negative_epoch, "CosineAnnealingWarmRestarts.step(-1)"),
]


@pytest.mark.parametrize("action, description", INVALID_WHILE_STEPPING, ids=[row[1] for row in INVALID_WHILE_STEPPING])
def test_errors_while_stepping_are_torchs(action, description):
    expected = error_from(lambda: action(torch_schedulers, make_optimizer("sgd")))
    assert expected is not None, f"torch does not raise: {description}"
    assert error_from(lambda: action(our_schedulers, make_optimizer("sgd"))) == expected


def test_plateau_with_one_min_lr_follows_a_new_param_group():
    runs = []
    for library in (our_schedulers, torch_schedulers):
        optimizer = make_optimizer("sgd")
        scheduler = library.ReduceLROnPlateau(optimizer, patience=0, min_lr=0.01)
        optimizer.add_param_group({"params": [torch.zeros(2, requires_grad=True)], "lr": 0.2})
        for loss in (1.0, 2.0, 3.0, 4.0):
            scheduler.step(loss)
        runs.append((scheduler.get_last_lr(), scheduler.min_lrs))
    assert runs[0] == runs[1]


# ---------------------------------------------------------------- tests: the module itself


@pytest.mark.parametrize("name", SCHEDULER_NAMES)
def test_ours_are_instances_of_torchs_lrscheduler(name):
    """As our optimizers are torch Optimizers: whatever checks isinstance(s, LRScheduler) accepts ours."""
    assert our_schedulers.LRScheduler is torch.optim.lr_scheduler.LRScheduler
    assert issubclass(getattr(our_schedulers, name), torch.optim.lr_scheduler.LRScheduler)
    assert getattr(our_schedulers, name) is not getattr(torch_schedulers, name), "ours must be our own class"


def test_used_the_way_lightning_uses_a_scheduler():
    """Lightning's configure_optimizers contract: an LRScheduler, stepped per interval, checkpointed by state_dict."""
    config = {}
    for library in (our_schedulers, torch_schedulers):
        optimizer = make_optimizer("sgd")
        scheduler = library.OneCycleLR(optimizer, max_lr=0.5, total_steps=30)
        lr_scheduler_config = {"scheduler": scheduler, "interval": "step", "frequency": 1}
        assert isinstance(lr_scheduler_config["scheduler"], torch.optim.lr_scheduler.LRScheduler)
        lrs = []
        for _ in range(12):
            training_step(optimizer)
            lr_scheduler_config["scheduler"].step()
            lrs.append(scheduler.get_last_lr())
        checkpoint = pickle.loads(
            pickle.dumps({"lr_schedulers": [scheduler.state_dict()], "optimizer_states": [optimizer.state_dict()]})
        )
        config[library.__name__] = (lrs, checkpoint["lr_schedulers"][0])
    (ours_lrs, ours_state), (torch_lrs, torch_state) = config.values()
    assert ours_lrs == torch_lrs and first_difference(ours_state, torch_state) is None


@pytest.mark.parametrize("name", ("LRScheduler",) + SCHEDULER_NAMES)
def test_signature_and_defaults_are_torchs(name):
    ours, theirs = getattr(our_schedulers, name), getattr(torch_schedulers, name)
    for method in ("__init__", "step", "get_last_lr", "state_dict", "load_state_dict"):
        ours_params = [
            (p.name, p.kind, p.default) for p in inspect.signature(getattr(ours, method)).parameters.values()
        ]
        theirs_params = [
            (p.name, p.kind, p.default) for p in inspect.signature(getattr(theirs, method)).parameters.values()
        ]
        assert ours_params == theirs_params, f"{name}.{method}"


@pytest.mark.parametrize("name", SCHEDULER_NAMES)
def test_public_classes_and_methods_have_docstrings(name):
    cls = getattr(our_schedulers, name)
    assert inspect.getdoc(cls) and ">>>" in cls.__doc__, f"{name} needs a docstring with an example"
    for attr, value in vars(cls).items():
        if not attr.startswith("_") and callable(value):
            assert value.__doc__, f"{name}.{attr} has no docstring"


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("name", ("_base",) + SCHEDULER_NAMES)
def test_docstring_examples_print_torchs_numbers(name, library):
    """Each example runs as written with our classes, and prints the same with torch's swapped in.

    ``_base`` is the module docstring's custom scheduler, a subclass of torch's LRScheduler.
    """
    names = {n: getattr(LIBRARIES[library], n) for n in our_schedulers.__all__}
    documented = our_schedulers._base if name == "_base" else getattr(our_schedulers, name)
    (test,) = doctest.DocTestFinder(recurse=False).find(documented, name, globs=names)
    report = []
    result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(test, out=report.append)
    assert result.attempted > 0 and result.failed == 0, "".join(report)


def test_import_loads_neither_matplotlib_nor_ipywidgets():
    code = (
        "import sys, myoptim_helpers.lr_scheduler; "
        "print(sorted(m for m in ('matplotlib', 'ipywidgets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_all_lists_every_scheduler_of_torch_and_the_base_class():
    assert set(torch.optim.lr_scheduler.__all__) <= set(our_schedulers.__all__) | {"LRScheduler"}
    assert sorted(our_schedulers.__all__) == sorted(("LRScheduler",) + SCHEDULER_NAMES)
    for name in SCHEDULER_NAMES:
        assert issubclass(getattr(our_schedulers, name), our_schedulers.LRScheduler)
