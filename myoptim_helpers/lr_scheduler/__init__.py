"""Learning-rate schedulers built from scratch that give ``torch.optim.lr_scheduler``'s numbers.

Every scheduler of torch's ``torch.optim.lr_scheduler`` (and
``torch.optim.swa_utils.SWALR``), with torch's name, signature, defaults,
error messages and ``state_dict`` keys, setting the same learning rates, bit
for bit, at every epoch. Each is a subclass of torch's
``torch.optim.lr_scheduler.LRScheduler`` that gives its schedule in
``get_lr`` (and ``_get_closed_form_lr`` where torch has one); torch's base
does the bookkeeping. So they work wherever torch's do, mixed with torch's in
``SequentialLR`` and ``ChainedScheduler``, and with any ``torch.optim.Optimizer``
(torch's and ``myoptim_helpers.optim``'s)::

    for epoch in range(epochs):
        train(...)              # ends with optimizer.step()
        scheduler.step()        # after optimizer.step(), never before

By family:

- ``decay``: StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR, LambdaLR, MultiplicativeLR
- ``cyclic``: CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR
- ``composite``: SequentialLR, ChainedScheduler
- ``plateau``: ReduceLROnPlateau
- ``swa``: SWALR
"""

from ._base import LRScheduler
from .composite import ChainedScheduler, SequentialLR
from .cyclic import CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR
from .decay import (
    ConstantLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)
from .plateau import ReduceLROnPlateau
from .swa import SWALR

__all__ = [
    "LRScheduler",
    "StepLR",
    "MultiStepLR",
    "ConstantLR",
    "LinearLR",
    "ExponentialLR",
    "PolynomialLR",
    "LambdaLR",
    "MultiplicativeLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "OneCycleLR",
    "SequentialLR",
    "ChainedScheduler",
    "ReduceLROnPlateau",
    "SWALR",
]
