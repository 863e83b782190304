"""How the runners read their arguments: validated in torch's words, turned into optimizers and schedulers.

Shared by :mod:`~myoptim_helpers.training`'s runners, :mod:`~myoptim_helpers.minibatch`
and the explorers, so a bad learning rate reads the same everywhere.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor


def check_steps(steps, name: str = "steps") -> None:
    """Fail unless ``steps`` (or whatever ``name`` counts) is a whole number of at least 1."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {steps!r} ({type(steps).__name__})")
    if steps < 1:
        raise ValueError(f"{name} must be at least 1, got {steps}")


def check_lr(lr) -> None:
    """Fail unless ``lr`` is a positive, finite real number (or a 1-element tensor of one)."""
    value = lr
    if isinstance(lr, Tensor):
        if lr.numel() != 1:
            raise ValueError(f"Tensor lr must be 1-element, got shape {tuple(lr.shape)}")
        value = lr.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"lr must be a positive, finite number, got {lr!r} ({type(lr).__name__})")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"Invalid learning rate: {lr} (must be a positive, finite number)")


def make_optimizer(optimizer, params: list[Tensor], optimizer_kwargs: dict):
    """Build the optimizer from a class plus kwargs, or from a factory ``params -> optimizer``."""
    if isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            "pass an optimizer class (e.g. torch.optim.SGD) or a factory params -> optimizer, "
            "not an optimizer instance: the runner creates the parameters itself"
        )
    if isinstance(optimizer, type):
        if not issubclass(optimizer, torch.optim.Optimizer):
            raise TypeError(f"{optimizer.__name__} is not a torch.optim.Optimizer subclass")
        if "lr" in optimizer_kwargs:
            check_lr(optimizer_kwargs["lr"])
        opt = optimizer(params, **optimizer_kwargs)
    elif callable(optimizer):
        if optimizer_kwargs:
            names = ", ".join(sorted(optimizer_kwargs))
            raise TypeError(
                f"keyword arguments ({names}) are for an optimizer class; "
                "a factory params -> optimizer must set them itself"
            )
        opt = optimizer(params)
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError(f"the optimizer factory returned {type(opt).__name__}, not a torch.optim.Optimizer")
    else:
        raise TypeError(f"optimizer must be an optimizer class or a factory params -> optimizer, got {optimizer!r}")
    for group in opt.param_groups:
        check_lr(group["lr"])
    return opt


def make_scheduler(scheduler, opt):
    """Build the scheduler from a factory ``optimizer -> scheduler``; ``None`` means no scheduler."""
    if scheduler is None:
        return None
    if not callable(scheduler):
        raise TypeError(
            f"scheduler must be a factory optimizer -> scheduler "
            f"(e.g. lambda opt: StepLR(opt, step_size=10)), got {scheduler!r}"
        )
    return scheduler(opt)


def needs_metric(scheduler) -> bool:
    """Return whether ``scheduler`` is stepped with the monitored loss."""
    # Ours or torch's: both are ReduceLROnPlateau by name.
    return any(cls.__name__ == "ReduceLROnPlateau" for cls in type(scheduler).__mro__)


def describe(optimizer, opt, optimizer_kwargs: dict) -> str:
    """Return the run's default label: the optimizer class with the keyword arguments it was given."""
    name = type(opt).__name__
    if isinstance(optimizer, type):
        args = ", ".join(f"{k}={v!r}" for k, v in optimizer_kwargs.items())
        return f"{name}({args})"
    return name


def hyperparameters(opt) -> dict:
    """Return the first param group's hyperparameters (everything but ``params``)."""
    return {k: v for k, v in opt.param_groups[0].items() if k != "params"}


def lr_of(opt) -> float:
    """Return the learning rate the next step will use (the first param group's)."""
    return float(opt.param_groups[0]["lr"])


def first_nonfinite(name: str, value: Tensor) -> str:
    """Say which kind of non-finite value ``name`` became (NaN wins over inf)."""
    kind = "NaN" if torch.isnan(value).any() else "inf"
    return f"{name} became {kind}"


def split_dataset(dataset):
    """Return ``(x_train, y_train, x_val, y_val)`` from ``(x, y)`` or four tensors, checked (no validation: None)."""
    parts = tuple(dataset)
    if len(parts) == 2:
        x_train, y_train = parts
        x_val = y_val = None
    elif len(parts) == 4:
        x_train, y_train, x_val, y_val = parts
    else:
        raise ValueError(f"dataset must be (x, y) or (x_train, y_train, x_val, y_val), got {len(parts)} parts")
    pairs = [("train", x_train, y_train)]
    if x_val is not None:
        pairs.append(("validation", x_val, y_val))
    for name, x, y in pairs:
        if not (isinstance(x, Tensor) and isinstance(y, Tensor)):
            raise TypeError(f"the {name} inputs and targets must be tensors")
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"the {name} inputs have {x.shape[0]} rows but the targets have {y.shape[0]}")
    return x_train, y_train, x_val, y_val
