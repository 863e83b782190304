"""Helpers for the optimizer notebook series.

Submodules load on first use, so ``import myoptim_helpers`` stays light:
matplotlib and ipywidgets are imported only when ``plotting`` or ``widgets``
is touched.

- ``optim``: SGD, Adam, AdamW, RMSprop, Adagrad, exact to ``torch.optim``
- ``lr_scheduler``: every scheduler of ``torch.optim.lr_scheduler`` (and ``SWALR``), subclasses of
  torch's ``LRScheduler``
- ``problems``: 2-D surfaces and small datasets made in code
- ``training``: ``run`` and ``fit``, which record what happened
- ``spectral``: heavy ball's convergence factor per direction of a quadratic, and its optimum
- ``minibatch``: learning-rate sweeps, the range test and gradient noise on a real network
- ``plotting``: draws what ``training`` recorded
- ``widgets``: ipywidgets explorers built on ``training`` and ``plotting``
- ``exercises``: checkers, hints and solutions for every lesson
- ``show``: ``expect_error``, which shows an intended error in one line instead of raising
  (also importable as ``from myoptim_helpers import expect_error``)
- ``distributed``: launches ``torch.distributed`` workers (gloo, loopback) for lesson 11
- ``production``: clipping, an EMA of the weights, full checkpoints (lesson 09)
- ``doctor``: watches a training loop through hooks and names what is wrong
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "optim",
    "lr_scheduler",
    "problems",
    "training",
    "spectral",
    "minibatch",
    "plotting",
    "widgets",
    "exercises",
    "show",
    "distributed",
    "production",
    "doctor",
)

# Names re-exported from a submodule, imported on first use like the submodules.
_ATTRIBUTES = {"expect_error": "show"}

__all__ = list(_SUBMODULES) + list(_ATTRIBUTES)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(f"{__name__}.{_ATTRIBUTES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
