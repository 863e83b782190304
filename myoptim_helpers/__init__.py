"""Helpers for the optimizer notebook series.

Submodules load on first use, so ``import myoptim_helpers`` stays light:
matplotlib and ipywidgets are imported only when ``plotting`` or ``widgets``
is touched.

- ``optim``: SGD, Adam, AdamW, RMSprop, Adagrad, exact to ``torch.optim``
- ``lr_scheduler``: torch-compatible learning-rate schedulers
- ``problems``: 2-D surfaces and small datasets made in code
- ``training``: ``run`` and ``fit``, which record what happened
- ``minibatch``: learning-rate sweeps, the range test and gradient noise on a real network
- ``plotting``: draws what ``training`` recorded
- ``widgets``: ipywidgets explorers built on ``training`` and ``plotting``
- ``exercises``: checkers, hints and solutions for every lesson
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "optim",
    "lr_scheduler",
    "problems",
    "training",
    "minibatch",
    "plotting",
    "widgets",
    "exercises",
)

__all__ = list(_SUBMODULES)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
