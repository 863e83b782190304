"""Interactive explorers: sliders wired to :mod:`~myoptim_helpers.training` and :mod:`~myoptim_helpers.plotting`.

One module per explorer:

- :func:`trajectory_explorer` (``widgets/trajectory.py``): pick a surface and
  an optimizer, move the learning rate, momentum, betas and number of steps;
  the path and the loss curve redraw, and a readout gives the final loss, the
  distance to the minimum, or where the run diverged.
- :func:`schedule_explorer` (``widgets/schedule.py``): pick a learning-rate
  scheduler and its parameters; the schedule redraws.
- :func:`batch_explorer` (``widgets/batch.py``): train the digits network with
  a batch size and a learning rate; the minibatch losses and the per-epoch
  losses redraw.
- :func:`rate_explorer` (``widgets/momentum.py``): heavy ball on the ravine;
  move the learning rate and the momentum, and see the factor map of the
  slowest direction, each direction's roots in the complex plane and a real
  ``torch.optim.SGD`` run against the formula's factor.
- :func:`predict` (``widgets/prediction.py``): a predict-then-reveal question
  as buttons; nothing is revealed until the learner chooses.

What they share lives in ``widgets/_base.py``: each explorer is an
``ipywidgets.VBox`` (controls, picture, readout), and the picture is a PNG
rendered with matplotlib's Agg canvas and shown in an ``ipywidgets.Image``,
which looks the same in ipywidgets 7 and 8 and in a static notebook. Only what
a change needs is recomputed: the contour background is rendered once per
surface, a change of ``steps`` reuses a longer run, and a control that the
chosen optimizer or scheduler does not use changes nothing. Errors inside a
callback (e.g. torch rejecting a hyperparameter) are shown in the readout and
kept in ``.error``.

Each widget's display bundle also carries a static view, for GitHub and
nbviewer, which run no widgets: an explorer adds ``image/png`` (its picture
with a caption: the controls and the readout), a prediction adds
``text/html`` (the question and the choices, never the answer). Live
front-ends still show the widget (see ``widgets/_base.py``). nbval skips
image/png and compares the prediction's HTML, which is fixed text.

For tests and scripts every explorer exposes ``controls`` (name -> widget;
setting ``.value`` updates it as a slider move would), ``history``, ``lrs`` or
``sweep`` (the current data), ``image.value`` (the PNG bytes), ``runs`` and
``renders`` (counters) and ``update()``.

This package is the only part of ``myoptim_helpers`` that imports ipywidgets.
"""

from .batch import BatchExplorer, batch_explorer
from .momentum import RateExplorer, rate_explorer
from .prediction import Prediction, predict
from .schedule import ScheduleExplorer, schedule_explorer
from .trajectory import TrajectoryExplorer, trajectory_explorer

__all__ = [
    "TrajectoryExplorer",
    "ScheduleExplorer",
    "BatchExplorer",
    "RateExplorer",
    "Prediction",
    "trajectory_explorer",
    "schedule_explorer",
    "batch_explorer",
    "rate_explorer",
    "predict",
]
