"""Run optimizers and record what happened; nothing here prints or plots.

- :func:`run` moves one point over a 2-D :class:`~myoptim_helpers.problems.Surface`
  and returns a :class:`History` (positions, losses, gradients, learning rates,
  optimizer state snapshots, and whether and where the run diverged).
- :func:`fit` trains a small model on a dataset and returns a
  :class:`FitHistory` (training and validation loss per epoch).
- :func:`lr_schedule` returns the learning rates a scheduler produces.

``myoptim_helpers.plotting`` draws these records; ``myoptim_helpers.widgets``
wires sliders to both.

Both runners take the optimizer as a class plus keyword arguments
(``run(torch.optim.SGD, "ravine", 50, lr=0.1, momentum=0.9)``) or as a factory
``params -> optimizer`` (``run(lambda p: Adam(p, lr=0.01), "rosenbrock", 200)``),
so ours and torch's optimizers are interchangeable.
"""

from __future__ import annotations

import math
import numbers
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor

from . import problems

__all__ = ["History", "FitHistory", "run", "fit", "lr_schedule"]

# A fit whose projected duration exceeds this many seconds shows a progress bar
# when progress=None.
_AUTO_PROGRESS_SECONDS = 5.0
_AUTO_PROGRESS_DECIDE_AFTER = 1.0


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------


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
        _check_steps(steps)
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


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def _check_steps(steps, name: str = "steps") -> None:
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {steps!r} ({type(steps).__name__})")
    if steps < 1:
        raise ValueError(f"{name} must be at least 1, got {steps}")


def _check_lr(lr) -> None:
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


def _make_optimizer(optimizer, params: list[Tensor], optimizer_kwargs: dict):
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
            _check_lr(optimizer_kwargs["lr"])
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
        _check_lr(group["lr"])
    return opt


def _make_scheduler(scheduler, opt):
    if scheduler is None:
        return None
    if not callable(scheduler):
        raise TypeError(
            f"scheduler must be a factory optimizer -> scheduler "
            f"(e.g. lambda opt: StepLR(opt, step_size=10)), got {scheduler!r}"
        )
    return scheduler(opt)


def _needs_metric(scheduler) -> bool:
    # ReduceLROnPlateau (ours or torch's) is stepped with the monitored loss.
    return any(cls.__name__ == "ReduceLROnPlateau" for cls in type(scheduler).__mro__)


def _describe(optimizer, opt, optimizer_kwargs: dict) -> str:
    name = type(opt).__name__
    if isinstance(optimizer, type):
        args = ", ".join(f"{k}={v!r}" for k, v in optimizer_kwargs.items())
        return f"{name}({args})"
    return name


def _hyperparameters(opt) -> dict:
    return {k: v for k, v in opt.param_groups[0].items() if k != "params"}


def _lr_of(opt) -> float:
    return float(opt.param_groups[0]["lr"])


def _first_nonfinite(name: str, value: Tensor) -> str:
    kind = "NaN" if torch.isnan(value).any() else "inf"
    return f"{name} became {kind}"


# ---------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------


@torch.enable_grad()  # a caller inside torch.no_grad() still gets gradients to descend
def run(
    optimizer,
    problem: str | problems.Surface,
    steps: int,
    *,
    start: Sequence[float] | None = None,
    scheduler: Callable | None = None,
    record_state: Sequence[str] = (),
    dtype: torch.dtype = torch.float64,
    label: str | None = None,
    **optimizer_kwargs,
) -> History:
    """Run ``steps`` optimizer steps on a 2-D surface and return the :class:`History`.

    Args:
        optimizer: an optimizer class (``torch.optim.Adam`` or
            ``myoptim_helpers.optim.Adam``), configured by ``optimizer_kwargs``;
            or a factory ``params -> optimizer``.
        problem: a :class:`~myoptim_helpers.problems.Surface` or its name.
        steps: how many optimizer steps to take (an int, at least 1).
        start: the starting point ``(x, y)``; the surface's ``start`` by default.
        scheduler: a factory ``optimizer -> scheduler``, stepped after every
            optimizer step (``ReduceLROnPlateau`` gets the step's loss).
        record_state: optimizer state keys to snapshot after every step,
            e.g. ``("exp_avg", "exp_avg_sq")``.
        dtype: the parameter's dtype (float64 by default, so curves are exact).
        label: the name plots use; ``"Adam(lr=0.01)"`` style by default.

    Each step is ``zero_grad(); loss = f(p); loss.backward(); step()``, as in
    a training loop. If a position, loss or gradient becomes inf or NaN the
    run stops: the History keeps the finite part and records ``diverged_at``
    and ``reason``.

    >>> h = run(torch.optim.SGD, "ravine", 20, lr=0.1)
    >>> len(h), h.positions.shape
    (20, torch.Size([21, 2]))
    """
    surface = problems.get_surface(problem)
    _check_steps(steps)
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    if isinstance(record_state, str):
        record_state = (record_state,)
    record_state = tuple(record_state)
    for key in record_state:
        if not isinstance(key, str):
            raise TypeError(f"record_state takes state key names (str), got {key!r}")

    start = surface.start if start is None else start
    start_values = [float(v) for v in start]
    if len(start_values) != 2 or not all(math.isfinite(v) for v in start_values):
        raise ValueError(f"start must be two finite numbers (x, y), got {start!r}")
    p = torch.tensor(start_values, dtype=dtype, requires_grad=True)

    opt = _make_optimizer(optimizer, [p], optimizer_kwargs)
    sched = _make_scheduler(scheduler, opt)
    plateau = sched is not None and _needs_metric(sched)
    f = surface.function

    # Plain lists of tensors, stacked once at the end: cheaper than indexing
    # into preallocated tensors, and no .item() per step except one finiteness test.
    positions: list[Tensor] = []
    losses: list[Tensor] = []
    grads: list[Tensor] = []
    lrs: list[float] = []
    snapshots: dict[str, list[Tensor]] = {key: [] for key in record_state}
    diverged_at = None
    reason = ""

    for k in range(steps + 1):
        opt.zero_grad()
        loss = f(p)
        loss.backward()
        point = p.detach().clone()
        loss = loss.detach()
        grad = p.grad.detach().clone()
        # One scalar test: inf or NaN anywhere makes the sum non-finite.
        if not math.isfinite(float(loss + grad.sum() + point.sum())):
            if k == 0:
                raise ValueError(f"the loss or gradient at the start {tuple(start_values)} is not finite")
            diverged_at = k
            for name, value in (("position", point), ("loss", loss), ("gradient", grad)):
                if not torch.isfinite(value).all():
                    reason = f"{_first_nonfinite(name, value)} at step {k}"
                    break
            # The step that produced the bad point is not kept: drop its lr and state.
            lrs.pop()
            for values in snapshots.values():
                values.pop()
            break
        positions.append(point)
        losses.append(loss)
        grads.append(grad)
        if k == steps:
            break
        lrs.append(_lr_of(opt))
        opt.step()
        if sched is not None:
            if plateau:
                sched.step(float(loss))
            else:
                sched.step()
        if record_state:
            state = opt.state[p]
            for key in record_state:
                snapshots[key].append(_snapshot(state, key, opt))

    return History(
        positions=torch.stack(positions),
        losses=torch.stack(losses),
        grads=torch.stack(grads),
        lrs=torch.tensor(lrs, dtype=torch.float64),
        state={key: torch.stack(values) if values else torch.empty(0) for key, values in snapshots.items()},
        surface=surface,
        label=label if label is not None else _describe(optimizer, opt, optimizer_kwargs),
        optimizer=type(opt).__name__,
        hyperparameters=_hyperparameters(opt),
        diverged_at=diverged_at,
        reason=reason,
    )


def _snapshot(state: Mapping[str, Any], key: str, opt) -> Tensor:
    if key not in state:
        available = ", ".join(repr(k) for k in state)
        raise ValueError(
            f"{type(opt).__name__} has no state {key!r}; "
            + (f"its state keys are: {available}" if available else "it keeps no state with these hyperparameters")
        )
    value = state[key]
    if value is None:
        raise ValueError(f"{type(opt).__name__}'s state {key!r} is None: these hyperparameters do not use it")
    if isinstance(value, Tensor):
        return value.detach().clone()
    return torch.tensor(value)


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------


def _split(dataset):
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


def _default_loss(y: Tensor) -> Callable:
    if y.is_floating_point():
        return torch.nn.functional.mse_loss
    return torch.nn.functional.cross_entropy


def _evaluate(model, loss_fn, x, y) -> float:
    was_training = model.training
    model.eval()
    with torch.no_grad():
        value = float(loss_fn(model(x), y))
    model.train(was_training)
    return value


@torch.enable_grad()
def fit(
    model,
    optimizer,
    dataset,
    epochs: int,
    *,
    batch_size: int | None = None,
    loss_fn: Callable | None = None,
    scheduler: Callable | None = None,
    seed: int = 0,
    progress: bool | None = None,
    label: str | None = None,
    **optimizer_kwargs,
) -> FitHistory:
    """Train a model for ``epochs`` epochs and return the :class:`FitHistory`.

    Args:
        model: a ``torch.nn.Module`` (trained in place) or a factory
            ``() -> Module``, called with torch seeded by ``seed`` so the
            initial weights are reproducible.
        optimizer: an optimizer class configured by ``optimizer_kwargs``, or a
            factory ``params -> optimizer``.
        dataset: ``(x, y)`` or ``(x_train, y_train, x_val, y_val)``, e.g. from
            :mod:`myoptim_helpers.problems`.
        epochs: passes over the training data (an int, at least 1).
        batch_size: mini-batch size; ``None`` trains on the whole set at once.
            Mini-batches are reshuffled every epoch from ``seed``.
        loss_fn: ``loss_fn(prediction, target)``; by default ``mse_loss`` for
            float targets and ``cross_entropy`` for integer class labels.
        scheduler: a factory ``optimizer -> scheduler``, stepped once per epoch
            (``ReduceLROnPlateau`` gets the validation loss, or the training
            loss without validation data).
        seed: seeds the model factory and the shuffling. Training runs inside
            ``torch.random.fork_rng``, so the global RNG is left as it was.
        progress: ``True``/``False`` force a ``tqdm`` progress bar on or off;
            ``None`` shows one only when the run is projected to take more than
            a few seconds. Notebooks whose outputs are compared should pass
            ``False``.
        label: the name plots use; the optimizer's description by default.
    """
    _check_steps(epochs, "epochs")
    if batch_size is not None:
        _check_steps(batch_size, "batch_size")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r} ({type(seed).__name__})")
    x_train, y_train, x_val, y_val = _split(dataset)
    loss_fn = loss_fn if loss_fn is not None else _default_loss(y_train)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if isinstance(model, torch.nn.Module):
            net = model
        elif callable(model):
            net = model()
            if not isinstance(net, torch.nn.Module):
                raise TypeError(f"the model factory returned {type(net).__name__}, not a torch.nn.Module")
        else:
            raise TypeError(f"model must be a torch.nn.Module or a factory () -> Module, got {model!r}")
        opt = _make_optimizer(optimizer, list(net.parameters()), optimizer_kwargs)
        sched = _make_scheduler(scheduler, opt)
        plateau = sched is not None and _needs_metric(sched)
        shuffle = torch.Generator().manual_seed(seed) if batch_size is not None else None

        net.train()
        train_losses = [_evaluate(net, loss_fn, x_train, y_train)]
        val_losses = None if x_val is None else [_evaluate(net, loss_fn, x_val, y_val)]
        lrs: list[float] = []
        step_losses: list[float] = []
        diverged_at = None
        label = label if label is not None else _describe(optimizer, opt, optimizer_kwargs)
        bar = _Progress(progress, epochs, label)

        try:
            for epoch in range(1, epochs + 1):
                lrs.append(_lr_of(opt))
                reason = _train_epoch(net, opt, loss_fn, x_train, y_train, batch_size, shuffle, step_losses)
                train_loss = _evaluate(net, loss_fn, x_train, y_train) if not reason else math.nan
                if not reason and not math.isfinite(train_loss):
                    reason = f"training loss became {_kind(train_loss)} after the epoch's last step"
                if reason:
                    diverged_at = epoch
                    reason = f"{reason} (epoch {epoch})"
                    lrs.pop()
                    break
                train_losses.append(train_loss)
                if val_losses is not None:
                    val_losses.append(_evaluate(net, loss_fn, x_val, y_val))
                if sched is not None:
                    if plateau:
                        sched.step(val_losses[-1] if val_losses is not None else train_loss)
                    else:
                        sched.step()
                bar.update(epoch, train_loss)
        finally:
            bar.close()

    return FitHistory(
        train_losses=torch.tensor(train_losses, dtype=torch.float64),
        val_losses=None if val_losses is None else torch.tensor(val_losses, dtype=torch.float64),
        lrs=torch.tensor(lrs, dtype=torch.float64),
        step_losses=torch.tensor(step_losses, dtype=torch.float64),
        model=net,
        label=label,
        diverged_at=diverged_at,
        reason=reason,
    )


def _kind(value: float) -> str:
    return "NaN" if math.isnan(value) else "inf"


def _train_epoch(net, opt, loss_fn, x, y, batch_size, shuffle, step_losses) -> str:
    """Take one pass of optimizer steps over ``(x, y)``; return ``""``, or why it stopped (a non-finite loss)."""
    n = x.shape[0]
    if batch_size is None:
        batches = [slice(None)]
    else:
        order = torch.randperm(n, generator=shuffle)
        batches = [order[first : first + batch_size] for first in range(0, n, batch_size)]
    for idx in batches:
        opt.zero_grad()
        loss = loss_fn(net(x[idx]), y[idx])
        value = float(loss.detach())
        if not math.isfinite(value):
            return f"loss became {_kind(value)} at step {len(step_losses) + 1}"
        step_losses.append(value)
        loss.backward()
        opt.step()
    return ""


class _Progress:
    """A tqdm bar over epochs that appears only when it is wanted.

    ``progress=True`` shows it from the start and ``False`` never. With
    ``None`` the decision waits until a second has passed, then projects the
    total from the epochs after the first (the first pays one-off import and
    warm-up costs): runs shorter than a second never show a bar, and longer
    ones only when projected past ``_AUTO_PROGRESS_SECONDS``.
    """

    def __init__(self, progress: bool | None, epochs: int, label: str):
        self.epochs = epochs
        self.label = label
        self.started = time.perf_counter()
        self.first_epoch_done = None
        # TQDM_DISABLE=1 (set by the notebook build and `make test`) means no bar at all: the
        # automatic choice depends on the machine's speed, so a recorded output must not hold
        # one. tqdm.notebook, which tqdm.auto picks in a kernel, ignores the variable itself.
        if os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false"):
            progress = False
        self.decided = progress is not None
        self.bar = self._open(0) if progress else None

    def _open(self, initial: int):
        from tqdm.auto import tqdm  # imported only when a bar is shown

        # disable=False: the choice is made above (tqdm reads TQDM_DISABLE once, at its import)
        return tqdm(total=self.epochs, initial=initial, desc=self.label, unit="epoch", disable=False)

    def update(self, epoch: int, loss: float) -> None:
        """Record that ``epoch`` finished with training loss ``loss``."""
        if not self.decided:
            now = time.perf_counter()
            if epoch == 1:
                self.first_epoch_done = now
            elif now - self.started > _AUTO_PROGRESS_DECIDE_AFTER:
                self.decided = True
                per_epoch = (now - self.first_epoch_done) / (epoch - 1)
                projected = (now - self.started) + per_epoch * (self.epochs - epoch)
                if projected > _AUTO_PROGRESS_SECONDS and epoch < self.epochs:
                    self.bar = self._open(epoch - 1)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)

    def close(self) -> None:
        """Close the bar, if one was shown."""
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------------
# lr_schedule
# ---------------------------------------------------------------------------


def lr_schedule(
    scheduler: Callable,
    steps: int,
    *,
    lr: float = 0.1,
    metrics: Sequence[float] | None = None,
) -> Tensor:
    """Return the learning rate a scheduler gives at each of ``steps`` steps, shape ``(steps,)``, float64.

    ``scheduler`` is a factory ``optimizer -> scheduler``; it is applied to an
    ``SGD(lr=lr, momentum=0.9)`` optimizer over one dummy parameter (momentum
    lets ``OneCycleLR`` cycle it). Entry ``k`` is the learning rate in effect
    for step ``k + 1``, read before the scheduler is stepped, as
    :func:`run` records it. ``ReduceLROnPlateau`` needs ``metrics``, the loss
    it sees after each step.

    >>> from torch.optim.lr_scheduler import StepLR
    >>> lr_schedule(lambda opt: StepLR(opt, step_size=2, gamma=0.5), 5, lr=1.0).tolist()
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    _check_steps(steps)
    _check_lr(lr)
    dummy = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([dummy], lr=lr, momentum=0.9)
    sched = _make_scheduler(scheduler, opt)
    plateau = _needs_metric(sched)
    if plateau and (metrics is None or len(metrics) < steps):
        raise ValueError("ReduceLROnPlateau needs metrics: one loss value per step")
    lrs = []
    for k in range(steps):
        lrs.append(_lr_of(opt))
        # Schedulers warn when stepped before the optimizer; a step on a
        # parameter without a gradient is a no-op.
        opt.step()
        if plateau:
            sched.step(metrics[k])
        else:
            sched.step()
    return torch.tensor(lrs, dtype=torch.float64)
