"""The records the runners return: :class:`History` (a run over a 2-D surface) and :class:`FitHistory` (a fit).

They are plain data with a few derived properties (``diverged``,
``final_loss``, ``best_epoch``, ...); nothing here runs an optimizer, prints
or plots.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor

from .. import problems
from ._arguments import check_steps

__all__ = ["History", "FitHistory"]


@dataclass(frozen=True, eq=False)
class History:
    """What :func:`run` recorded, one row per position.

    With ``n = len(history)`` optimizer steps completed:

    - ``positions``: shape ``(n + 1, 2)``; row 0 is the start, row ``k`` the
      point after ``k`` steps.
    - ``losses``: shape ``(n + 1,)``; ``losses[k] = f(positions[k])``.
    - ``grads``: shape ``(n + 1, 2)``; the gradient at ``positions[k]``.
    - ``lrs``: shape ``(n,)``, float64; the learning rate step ``k + 1`` used.
    - ``state``: ``{key: tensor}`` for each requested state key; row ``k`` is
      the optimizer state after step ``k + 1`` (shape ``(n, 2)`` for
      per-parameter tensors like ``exp_avg``, ``(n,)`` for ``step``).

    Positions, losses and gradients are in the run's dtype. Every recorded
    value is finite: a run that produced inf or NaN stops, and
    ``diverged_at`` is the first step whose result was not finite
    (``reason`` says what overflowed). A run that did not diverge has
    ``diverged_at = None`` and ``reason = ""``.
    """

    positions: Tensor
    losses: Tensor
    grads: Tensor
    lrs: Tensor
    state: Mapping[str, Tensor]
    surface: problems.Surface = field(repr=False)
    label: str
    optimizer: str
    hyperparameters: Mapping[str, Any] = field(repr=False)
    diverged_at: int | None = None
    reason: str = ""

    def __len__(self) -> int:
        """Return the number of optimizer steps recorded (``len(positions) - 1``)."""
        return self.positions.shape[0] - 1

    @property
    def steps(self) -> int:
        """The number of optimizer steps recorded, the same as ``len(history)``."""
        return len(self)

    @property
    def diverged(self) -> bool:
        """Whether the run stopped because a value became inf or NaN."""
        return self.diverged_at is not None

    @property
    def grad_norms(self) -> Tensor:
        """The gradient's Euclidean norm at every position, shape ``(n + 1,)``."""
        return torch.linalg.vector_norm(self.grads, dim=1)

    @property
    def updates(self) -> Tensor:
        """The step actually taken per coordinate, ``positions[k + 1] − positions[k]``, shape ``(n, 2)``."""
        return self.positions[1:] - self.positions[:-1]

    @property
    def final_position(self) -> tuple[float, float]:
        """The last recorded (finite) position as ``(x, y)``."""
        x, y = self.positions[-1].tolist()
        return (x, y)

    @property
    def final_loss(self) -> float:
        """The loss at :attr:`final_position`."""
        return float(self.losses[-1])

    @property
    def distance_to_minimum(self) -> float | None:
        """Distance from :attr:`final_position` to the nearest known minimum (``None`` if the surface has none)."""
        return self.surface.distance_to_minimum(self.final_position)

    def truncated(self, steps: int) -> History:
        """Return the first ``steps`` steps of this run as a History.

        Equal to running only ``steps`` steps, because a step never depends on
        the steps after it: a divergence after ``steps`` is dropped, and a run
        that diverged within ``steps`` is returned whole.
        """
        check_steps(steps)
        if steps >= len(self) and (self.diverged_at is None or self.diverged_at <= steps):
            return self
        keep = min(steps, len(self))
        return replace(
            self,
            positions=self.positions[: keep + 1],
            losses=self.losses[: keep + 1],
            grads=self.grads[: keep + 1],
            lrs=self.lrs[:keep],
            state={key: value[:keep] for key, value in self.state.items()},
            diverged_at=None,
            reason="",
        )

    def summary(self) -> str:
        """Return one line with fixed precision: steps, final loss and position, divergence."""
        x, y = self.final_position
        text = f"{self.label}: {len(self)} steps, loss {self.final_loss:.4g} at ({x:.4g}, {y:.4g})"
        distance = self.distance_to_minimum
        if distance is not None:
            text += f", {distance:.4g} from the nearest minimum"
        if self.diverged:
            text += f"; diverged at step {self.diverged_at} ({self.reason})"
        return text


@dataclass(frozen=True, eq=False)
class FitHistory:
    """What :func:`fit` recorded.

    - ``train_losses``: shape ``(E + 1,)`` for ``E`` completed epochs: the loss
      on the whole training set before training (index 0) and after each epoch.
    - ``val_losses``: the same on the validation set, or ``None`` without one.
    - ``lrs``: shape ``(E,)``; the learning rate used in each epoch (first group).
    - ``step_losses``: the loss of every mini-batch step, in order (it shows
      mini-batch noise that the per-epoch losses average away).
    - ``model``: the trained model.

    All losses are float64. As with :class:`History`, a run that produced inf
    or NaN stops: ``diverged_at`` is the epoch in which it happened and
    ``reason`` says what happened.
    """

    train_losses: Tensor
    val_losses: Tensor | None
    lrs: Tensor
    step_losses: Tensor
    model: torch.nn.Module = field(repr=False)
    label: str
    diverged_at: int | None = None
    reason: str = ""

    def __len__(self) -> int:
        """Return the number of epochs completed."""
        return self.train_losses.shape[0] - 1

    @property
    def epochs(self) -> int:
        """The number of epochs completed, the same as ``len(fit_history)``."""
        return len(self)

    @property
    def diverged(self) -> bool:
        """Whether training stopped because the loss became inf or NaN."""
        return self.diverged_at is not None

    @property
    def final_train_loss(self) -> float:
        """The training loss after the last completed epoch."""
        return float(self.train_losses[-1])

    @property
    def final_val_loss(self) -> float | None:
        """The validation loss after the last completed epoch (``None`` without validation data)."""
        return None if self.val_losses is None else float(self.val_losses[-1])

    @property
    def best_epoch(self) -> int | None:
        """The epoch with the lowest validation loss (``None`` without validation data)."""
        return None if self.val_losses is None else int(torch.argmin(self.val_losses))
