"""What every scheduler here shares: torch's ``LRScheduler`` base and a few small helpers.

``LRScheduler`` *is* torch's class (``torch.optim.lr_scheduler.LRScheduler``),
so our schedulers are instances of it and torch's bookkeeping runs them:
``initial_lr`` and ``base_lrs``, ``last_epoch``, the constructor's first
``step()``, the step-order warning, ``step(epoch)`` with the closed form,
``get_last_lr()`` and ``state_dict()``. A scheduler only says what the
learning rates are, in ``get_lr`` (and ``_get_closed_form_lr``).

A custom schedule (halve the lr every epoch) is written the same way:

>>> import torch
>>> class Halve(LRScheduler):
...     def get_lr(self):
...         return [base_lr * 0.5 ** self.last_epoch for base_lr in self.base_lrs]
>>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
>>> scheduler = Halve(opt)
>>> for epoch in range(3):
...     opt.step()
...     scheduler.step()
>>> scheduler.get_last_lr(), scheduler.last_epoch
([0.125], 3)
"""

from __future__ import annotations

import types
import warnings

from torch import Tensor
from torch.optim.lr_scheduler import LRScheduler
from torch.optim.lr_scheduler import ReduceLROnPlateau as _TorchReduceLROnPlateau

__all__ = ["LRScheduler"]

# torch's texts, word for word.
EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being "
    "deprecated where possible. Please use `scheduler.step()` to step the "
    "scheduler. During the deprecation, if epoch is different from None, the "
    "closed form is used instead of the new chainable form, where available. "
    "Please open an issue if you are unable to replicate your use case: "
    "https://github.com/pytorch/pytorch/issues/new/choose."
)
GET_LR_OUTSIDE_STEP_WARNING = "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."


def group_values(optimizer, key):
    """Return ``group[key]`` for every param group; a Tensor value is cloned so it never aliases."""
    return [group[key].clone() if isinstance(group[key], Tensor) else group[key] for group in optimizer.param_groups]


def set_group_value(group, key, value):
    """Write ``value`` into ``group[key]``; a Tensor entry is filled in place, as torch does."""
    if isinstance(group[key], Tensor):
        group[key].fill_(value.squeeze() if isinstance(value, Tensor) else value)
    else:
        group[key] = value


def per_group(name, optimizer, value):
    """Return one copy of ``value`` per param group, or the given list checked for length (copied)."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(value)} values, param_groups has {len(optimizer.param_groups)}."
            )
    else:
        value = [value] * len(optimizer.param_groups)
    return [v.clone() if isinstance(v, Tensor) else v for v in value]


def warn_if_outside_step(scheduler):
    """Warn as torch does when ``get_lr()`` is called by hand (it computes the *next* lrs)."""
    if not scheduler._get_lr_called_within_step:
        warnings.warn(GET_LR_OUTSIDE_STEP_WARNING, UserWarning, stacklevel=3)


def set_momentum(group, momentum, use_beta1):
    """Write the momentum a cycling scheduler chose: SGD's ``momentum``, or ``betas[0]`` for Adam-like optimizers."""
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def function_state(fn):
    """Return what ``state_dict()`` keeps of a user function.

    None for a plain function, a callable object's attributes.
    """
    return None if isinstance(fn, types.FunctionType) else fn.__dict__.copy()


def is_reduce_lr_on_plateau(scheduler):
    """Return whether ``scheduler`` is our or torch's ``ReduceLROnPlateau`` (it needs ``step(metrics)``)."""
    from .plateau import ReduceLROnPlateau

    return isinstance(scheduler, (ReduceLROnPlateau, _TorchReduceLROnPlateau))
