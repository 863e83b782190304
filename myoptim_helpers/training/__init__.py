"""Run optimizers and record what happened; nothing here prints or plots.

- :func:`run` moves one point over a 2-D :class:`~myoptim_helpers.problems.Surface`
  and returns a :class:`History` (positions, losses, gradients, learning rates,
  optimizer state snapshots, and whether and where the run diverged).
- :func:`fit` trains a small model on a dataset and returns a
  :class:`FitHistory` (training and validation loss per epoch).
- :func:`lr_schedule` returns the learning rates a scheduler produces.

The runners are in ``training/runners.py``, the records they return in
``training/records.py``; how the runners read their arguments (validation,
optimizer and scheduler factories) is in ``training/_arguments.py`` and the
progress bar of a long fit in ``training/_progress.py``.

``myoptim_helpers.plotting`` draws these records; ``myoptim_helpers.widgets``
wires sliders to both.

Both runners take the optimizer as a class plus keyword arguments
(``run(torch.optim.SGD, "ravine", 50, lr=0.1, momentum=0.9)``) or as a factory
``params -> optimizer`` (``run(lambda p: Adam(p, lr=0.01), "rosenbrock", 200)``),
so ours and torch's optimizers are interchangeable.
"""

from .records import FitHistory, History
from .runners import fit, lr_schedule, run

__all__ = ["History", "FitHistory", "run", "fit", "lr_schedule"]
