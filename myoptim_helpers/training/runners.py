"""The runners: loop an optimizer and record what happened; nothing here prints or plots.

- :func:`run` moves one point over a 2-D surface and returns a :class:`~.records.History`.
- :func:`fit` trains a small model on a dataset and returns a :class:`~.records.FitHistory`.
- :func:`lr_schedule` returns the learning rates a scheduler produces.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from .. import problems
from ._arguments import (
    check_lr,
    check_steps,
    describe,
    first_nonfinite,
    hyperparameters,
    lr_of,
    make_optimizer,
    make_scheduler,
    needs_metric,
    split_dataset,
)
from ._progress import Progress
from .records import FitHistory, History

__all__ = ["run", "fit", "lr_schedule"]


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
    check_steps(steps)
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

    opt = make_optimizer(optimizer, [p], optimizer_kwargs)
    sched = make_scheduler(scheduler, opt)
    plateau = sched is not None and needs_metric(sched)
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
                    reason = f"{first_nonfinite(name, value)} at step {k}"
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
        lrs.append(lr_of(opt))
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
        label=label if label is not None else describe(optimizer, opt, optimizer_kwargs),
        optimizer=type(opt).__name__,
        hyperparameters=hyperparameters(opt),
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
    check_steps(epochs, "epochs")
    if batch_size is not None:
        check_steps(batch_size, "batch_size")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r} ({type(seed).__name__})")
    x_train, y_train, x_val, y_val = split_dataset(dataset)
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
        opt = make_optimizer(optimizer, list(net.parameters()), optimizer_kwargs)
        sched = make_scheduler(scheduler, opt)
        plateau = sched is not None and needs_metric(sched)
        shuffle = torch.Generator().manual_seed(seed) if batch_size is not None else None

        net.train()
        train_losses = [_evaluate(net, loss_fn, x_train, y_train)]
        val_losses = None if x_val is None else [_evaluate(net, loss_fn, x_val, y_val)]
        lrs: list[float] = []
        step_losses: list[float] = []
        diverged_at = None
        label = label if label is not None else describe(optimizer, opt, optimizer_kwargs)
        bar = Progress(progress, epochs, label)

        try:
            for epoch in range(1, epochs + 1):
                lrs.append(lr_of(opt))
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
    check_steps(steps)
    check_lr(lr)
    dummy = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([dummy], lr=lr, momentum=0.9)
    sched = make_scheduler(scheduler, opt)
    plateau = needs_metric(sched)
    if plateau and (metrics is None or len(metrics) < steps):
        raise ValueError("ReduceLROnPlateau needs metrics: one loss value per step")
    lrs = []
    for k in range(steps):
        lrs.append(lr_of(opt))
        # Schedulers warn when stepped before the optimizer; a step on a
        # parameter without a gradient is a no-op.
        opt.step()
        if plateau:
            sched.step(metrics[k])
        else:
            sched.step()
    return torch.tensor(lrs, dtype=torch.float64)
