"""Draw what :mod:`myoptim_helpers.training` recorded.

Every function takes the data (a ``History``, or a dict ``name -> History``
to compare several), an optional matplotlib ``ax`` to draw on, and returns the
``ax``. Without an ``ax`` a new pyplot figure is made, so in a notebook it
shows at the end of the cell like any other matplotlib plot; or draw into
your own axes::

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    plot_trajectories(histories, "rosenbrock", ax=left)
    plot_losses(histories, ax=right)

Nothing here changes matplotlib's global settings (rcParams). pyplot is
imported only when a function has to make its own figure; drawing into an
``ax`` you pass (as the widgets do) never touches it. matplotlib is imported
by this module only, so ``import myoptim_helpers`` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import torch
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator

from . import problems
from .training import FitHistory, History

__all__ = [
    "plot_trajectories",
    "plot_surface",
    "plot_losses",
    "plot_lr_schedule",
    "plot_state",
    "plot_fit",
    "plot_sweep",
    "plot_best_lr",
    "plot_lr_range_test",
    "plot_gradient_noise",
    "diverged_label",
    "DIVERGED_MARKER",
]

# Surfaces whose values span more than this ratio between the 10% and 90%
# quantiles get log-spaced contour levels (rosenbrock, beale).
_LOG_LEVELS_RATIO = 50.0
# The largest value a log-scaled y axis shows (see _limit_log_axis).
_LOG_AXIS_LIMIT = 1e200
DIVERGED_MARKER = "X"
"""The marker drawn at the last finite point of a diverged run."""


def _colors() -> list:
    """The current colour cycle (read, never changed), so a run keeps its colour across panels."""
    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key().get("color")
    return list(cycle) if cycle else ["C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9"]


def _count_axis(ax, label: str) -> None:
    """Label the x axis with a count (step, epoch): whole-number ticks only."""
    ax.set_xlabel(label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _new_axes(figsize: tuple[float, float]):
    """A new pyplot figure and axes: the notebook backend shows it at the end of the cell."""
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _as_dict(histories, kind=History) -> dict:
    """Normalise one record, a sequence of records or a dict name -> record to a dict."""
    if isinstance(histories, kind):
        return {histories.label: histories}
    if isinstance(histories, Mapping):
        items = dict(histories)
    elif isinstance(histories, Sequence) and not isinstance(histories, str):
        items = {}
        for h in histories:
            label = h.label
            n = 2
            while label in items:
                label, n = f"{h.label} #{n}", n + 1
            items[label] = h
    else:
        raise TypeError(
            f"expected a {kind.__name__}, a list of them or a dict name -> {kind.__name__}, "
            f"got {type(histories).__name__}"
        )
    for name, h in items.items():
        if not isinstance(h, kind):
            raise TypeError(f"{name!r} is a {type(h).__name__}, not a {kind.__name__}")
    if not items:
        raise ValueError(f"nothing to plot: no {kind.__name__} given")
    return items


def diverged_label(label: str, record) -> str:
    """Return ``label``, plus ``" (diverged at step k)"`` when the record diverged."""
    if record.diverged_at is None:
        return label
    unit = "epoch" if isinstance(record, FitHistory) else "step"
    return f"{label} (diverged at {unit} {record.diverged_at})"


def _mark_divergence(ax, x, y, color, xlim=None, ylim=None):
    """Draw the ✕ at the last finite point; a point outside ``xlim``/``ylim`` is pulled onto the plot's edge."""
    inside = True
    for limits, value in ((xlim, x), (ylim, y)):
        if limits is not None and not limits[0] <= value <= limits[1]:
            inside = False
    if xlim is not None:
        x = min(max(x, xlim[0]), xlim[1])
    if ylim is not None:
        y = min(max(y, ylim[0]), ylim[1])
    (marker,) = ax.plot(
        [x],
        [y],
        linestyle="none",
        marker=DIVERGED_MARKER,
        markersize=12,
        color=color,
        markeredgecolor="black",
        zorder=6,
        clip_on=inside,
    )
    return marker


def _limit_log_axis(ax, curves, yscale: str):
    """Keep a log-like y axis drawable; return the y limits set, or ``None`` when autoscaling is fine.

    A run about to overflow records losses up to ~1e308, and matplotlib's log
    axes fail near float64's limit (their tick and margin arithmetic
    overflows). When values pass ``_LOG_AXIS_LIMIT`` the axis stops there;
    the curve leaves the top of the plot and a ✕ marks the edge. A log axis
    then starts on the whole decade below the curve, with a tick there, so
    that where the curve starts can be read off.
    """
    if yscale == "linear":
        return None
    values = np.concatenate([np.ravel(c)[np.isfinite(np.ravel(c))] for c in curves])
    if yscale == "log":
        values = values[values > 0]
    if values.size == 0 or np.abs(values).max() <= _LOG_AXIS_LIMIT:
        return None
    low, high = values.min(), values.max()
    if yscale == "log":
        limits = (10.0 ** np.floor(np.log10(low / 2)), min(high, _LOG_AXIS_LIMIT))
    else:
        limits = (max(low, -_LOG_AXIS_LIMIT), min(high, _LOG_AXIS_LIMIT))
    ax.set_ylim(*limits)
    if yscale == "log":
        _round_decade_ticks(ax, *limits)
    return limits


def _round_decade_ticks(ax, low: float, high: float, max_ticks: int = 8):
    """Put log-axis ticks on round multiples of decades (1, 10^50, 10^100, ...), and on ``low``.

    Over hundreds of decades matplotlib's locator starts at the lowest decade and
    steps by an odd count (10^1, 10^25, 10^49, ...), which reads as a broken axis.
    ``low`` (a whole decade) keeps a tick of its own, so that the bottom of the axis
    is labelled; a round multiple closer to it than half a step would crowd it out.
    """
    first, last = np.log10(low), np.log10(high)
    for step in (1, 2, 5, 10, 20, 25, 50, 100):
        if (last - first) / step <= max_ticks:
            break
    exponents = np.arange(np.ceil(first / step) * step, np.floor(last / step) * step + 1, step)
    exponents = np.concatenate([[first], exponents[exponents >= first + step / 2]])
    ax.yaxis.set_major_locator(FixedLocator(10.0**exponents))
    ax.yaxis.set_minor_locator(NullLocator())


# ---------------------------------------------------------------------------
# Surfaces and trajectories
# ---------------------------------------------------------------------------


def _contour_data(surface: problems.Surface, grid_size: int, log: bool | None):
    """Return ``(X, Y, T, log)``: the grid and the values to contour.

    With ``log``, the values are log10 of the height above the grid's minimum.
    """
    X, Y, Z = surface.grid(grid_size)
    X, Y, Z = X.numpy(), Y.numpy(), Z.numpy()
    shifted = Z - Z.min()
    if log is None:
        q10, q90 = np.quantile(shifted, [0.1, 0.9])
        log = bool(q10 > 0 and q90 / q10 > _LOG_LEVELS_RATIO)
    if log:
        # Contour log10(f − min) with even levels = contours of f at log-spaced heights.
        floor = max(np.quantile(shifted, 0.001), 1e-12 * shifted.max())
        return X, Y, np.log10(shifted + floor), True
    return X, Y, Z, False


def plot_surface(
    surface: str | problems.Surface,
    ax=None,
    *,
    levels: int = 20,
    log: bool | None = None,
    grid_size: int = 200,
    cmap: str = "Blues_r",
):
    """Draw the surface's contours and its known minima and saddle points; return the ``ax``.

    Filled contours plus thin contour lines over the surface's ``bounds``.
    ``log=None`` picks log-spaced levels when the surface's values span
    decades (rosenbrock, beale); ``True``/``False`` force it. The global
    minimum is a black star, other local minima hollow stars, saddle points
    a black plus.
    """
    surface = problems.get_surface(surface)
    if ax is None:
        ax = _new_axes((6.0, 5.0))
    X, Y, T, log = _contour_data(surface, grid_size, log)
    ax.contourf(X, Y, T, levels=levels, cmap=cmap, alpha=0.55, extend="both", zorder=0)
    ax.contour(X, Y, T, levels=levels, colors="0.35", linewidths=0.5, alpha=0.6, zorder=1)
    if surface.minima:
        gx, gy = surface.minima[0]
        ax.plot(
            [gx],
            [gy],
            linestyle="none",
            marker="*",
            markersize=15,
            color="black",
            markeredgecolor="white",
            zorder=5,
            label="minimum" if len(surface.minima) == 1 else "global minimum",
        )
        if len(surface.minima) > 1:
            lx, ly = zip(*surface.minima[1:])
            ax.plot(
                lx,
                ly,
                linestyle="none",
                marker="*",
                markersize=12,
                color="black",
                markerfacecolor="none",
                zorder=5,
                label="local minimum",
            )
    if surface.saddle_points:
        sx, sy = zip(*surface.saddle_points)
        ax.plot(
            sx,
            sy,
            linestyle="none",
            marker="P",
            markersize=11,
            color="black",
            markeredgecolor="white",
            zorder=5,
            label="saddle point",
        )
    (xmin, xmax), (ymin, ymax) = surface.bounds
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"{surface.name} ({'log-spaced' if log else 'evenly spaced'} contours)", fontsize="medium")
    return ax


def _draw_trajectories(ax, items: dict, bounds, colors: Sequence | None = None) -> None:
    """Draw each History's path, its start and (if it diverged) its ✕; used by plot_trajectories and the explorer."""
    starts = []
    colors = _colors() if colors is None else list(colors)
    for i, (name, h) in enumerate(items.items()):
        xy = h.positions.detach().cpu().double().numpy()
        color = colors[i % len(colors)]
        ax.plot(
            xy[:, 0],
            xy[:, 1],
            marker="o",
            markersize=2.5,
            linewidth=1.5,
            color=color,
            label=diverged_label(name, h),
            zorder=3,
        )
        starts.append(xy[0])
        if h.diverged:
            _mark_divergence(ax, xy[-1, 0], xy[-1, 1], color, xlim=bounds[0], ylim=bounds[1])
    unique = np.unique(np.array(starts), axis=0)
    ax.plot(
        unique[:, 0],
        unique[:, 1],
        linestyle="none",
        marker="o",
        markersize=9,
        markerfacecolor="white",
        markeredgecolor="black",
        markeredgewidth=1.5,
        zorder=4,
        label="start",
    )


def plot_trajectories(
    histories,
    surface: str | problems.Surface | None = None,
    ax=None,
    *,
    levels: int = 20,
    log: bool | None = None,
    grid_size: int = 200,
    legend: bool = True,
    contours: bool = True,
    colors: Sequence | None = None,
):
    """Draw one or more runs' paths over the surface's contours; return the ``ax``.

    ``histories`` is a History, a list of them, or a dict ``name -> History``
    (the names go in the legend). ``surface`` defaults to the one the runs
    were made on. Each path is a line with a dot per step; the start is a
    white circle, the minimum a star; a run that diverged ends in a ✕ at its
    last finite point (on the plot's edge if it left the plot) and its legend
    entry says at which step. Axis limits are the surface's ``bounds``.
    ``contours=False`` draws only the paths, onto an ``ax`` that already
    shows the surface (from :func:`plot_surface`). ``colors`` (one matplotlib
    colour per run) replaces the colour cycle, so that a run drawn alone in its
    own panel keeps the colour it has in a plot of all of them.
    """
    items = _as_dict(histories)
    if colors is not None and len(colors) < len(items):
        raise ValueError(f"colors: {len(items)} runs need as many colours, got {len(colors)}")
    if surface is None:
        surface = next(iter(items.values())).surface
    surface = problems.get_surface(surface)
    if contours:
        ax = plot_surface(surface, ax, levels=levels, log=log, grid_size=grid_size)
    elif ax is None:
        raise ValueError("contours=False draws onto an existing ax: pass the ax plot_surface drew on")
    _draw_trajectories(ax, items, surface.bounds, colors)
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.85)
    return ax


# ---------------------------------------------------------------------------
# Curves over steps
# ---------------------------------------------------------------------------


def _loss_curve(h: History, mode: str) -> np.ndarray:
    losses = h.losses.detach().cpu().double().numpy()
    if mode == "gap":
        return losses - h.surface.minimum_value
    return losses


def _loss_mode(items: dict, log: bool) -> tuple[str, str, str]:
    """Return ``(mode, yscale, ylabel)`` for plotting the losses of ``items``."""
    if not log:
        return "loss", "linear", "loss"
    if all(bool((h.losses > 0).all()) for h in items.values()):
        return "loss", "log", "loss (log scale)"
    if all(h.surface.minimum_value is not None for h in items.values()):
        return "gap", "log", "loss − minimum (log scale)"
    return "loss", "symlog", "loss (symmetric log scale)"


def plot_losses(histories, ax=None, log: bool = True, *, legend: bool = True):
    """Draw the loss at every step of one or more runs; return the ``ax``.

    With ``log=True`` (the default) the y axis is logarithmic. When a loss is
    zero or negative (the bumpy surface dips below zero) it plots the loss
    minus the surface's minimum instead, and says so on the axis; on a
    surface without a minimum (saddle) it uses a symmetric log scale. A
    diverged run ends in a ✕.
    """
    items = _as_dict(histories)
    if ax is None:
        ax = _new_axes((6.0, 4.0))
    mode, yscale, ylabel = _loss_mode(items, log)
    if yscale == "symlog":
        ax.set_yscale("symlog", linthresh=1.0)
    elif ax.get_yscale() != yscale:
        ax.set_yscale(yscale)
    curves = {name: _loss_curve(h, mode) for name, h in items.items()}
    ylim = _limit_log_axis(ax, curves.values(), yscale)
    colors = _colors()
    for i, (name, h) in enumerate(items.items()):
        y = curves[name]
        color = colors[i % len(colors)]
        ax.plot(np.arange(len(y)), y, linewidth=1.5, color=color, label=diverged_label(name, h))
        if h.diverged:
            _mark_divergence(ax, len(y) - 1, y[-1], color, ylim=ylim)
    _count_axis(ax, "step")
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend(loc="best", fontsize="small")
    return ax


def _as_curve(values) -> np.ndarray:
    if isinstance(values, History):
        values = values.lrs
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=float)


def plot_lr_schedule(lrs, ax=None, *, xlabel: str = "step", log: bool = False, legend: bool = True):
    """Draw a learning-rate schedule; return the ``ax``.

    ``lrs`` is a sequence or tensor of learning rates (entry ``k`` used for
    step ``k + 1``), a History (its ``lrs``), or a dict ``name -> either`` to
    compare schedules. Each rate is held until the next step (a staircase).
    ``xlabel`` names the unit, e.g. ``"epoch"``.
    """
    if ax is None:
        ax = _new_axes((6.0, 3.5))
    if isinstance(lrs, Mapping):
        curves = {name: _as_curve(v) for name, v in lrs.items()}
    else:
        curves = {None: _as_curve(lrs)}
    for name, y in curves.items():
        if y.ndim != 1:
            raise ValueError(f"a learning-rate schedule must be 1-D, got shape {y.shape}")
        ax.plot(np.arange(len(y)), y, drawstyle="steps-post", linewidth=1.8, label=name)
    if log:
        ax.set_yscale("log")
    _count_axis(ax, xlabel)
    ax.set_ylabel("learning rate (log scale)" if log else "learning rate")
    if legend and None not in curves:
        ax.legend(loc="best", fontsize="small")
    return ax


def _state_curve(history: History, key: str) -> tuple[np.ndarray, str]:
    """Return ``(values of shape (n, ...), ylabel)`` for a state key or a derived key."""
    if key == "update":
        return history.updates.detach().cpu().double().numpy(), "update Δθ (step taken)"
    if key == "effective_lr":
        updates = history.updates.abs()
        grads = history.grads[:-1].abs()
        ratio = torch.where(grads > 0, updates / grads, torch.full_like(updates, float("nan")))
        return ratio.detach().cpu().double().numpy(), "effective step size |Δθ| / |g|"
    if key not in history.state:
        recorded = ", ".join(repr(k) for k in history.state) or "none"
        raise KeyError(
            f"state {key!r} was not recorded (recorded: {recorded}); "
            f"run with record_state=({key!r},), or use 'update' or 'effective_lr'"
        )
    return history.state[key].detach().cpu().double().numpy(), key


def plot_state(history: History, key: str, ax=None, *, log: bool | None = None, legend: bool = True):
    """Draw one optimizer state entry, per coordinate, over the steps of a run; return the ``ax``.

    ``key`` is a state key recorded by ``run(..., record_state=(key,))``, e.g.
    Adam's ``"exp_avg_sq"``, or one of two quantities derived from every run:
    ``"update"`` (the step actually taken, ``Δθ``) and ``"effective_lr"``
    (``|Δθ| / |g|``, how far the optimizer moved per unit of gradient: the
    learning rate itself for plain SGD, adapted per coordinate for Adam).
    ``log=None`` uses a log scale for positive values spanning decades.
    Row ``k`` is the state after step ``k + 1``, so the x axis starts at 1.
    """
    if not isinstance(history, History):
        raise TypeError(f"plot_state takes one History, got {type(history).__name__}")
    values, ylabel = _state_curve(history, key)
    if ax is None:
        ax = _new_axes((6.0, 3.5))
    steps = np.arange(1, values.shape[0] + 1)
    if values.ndim == 1:
        ax.plot(steps, values, linewidth=1.5, label=key)
    else:
        flat = values.reshape(values.shape[0], -1)
        names = ["x", "y"] if flat.shape[1] == 2 else [str(i) for i in range(flat.shape[1])]
        for i, name in enumerate(names):
            ax.plot(steps, flat[:, i], linewidth=1.5, label=f"{key}, {name}")
    if log is None:
        finite = values[np.isfinite(values)]
        log = bool(finite.size and (finite > 0).all() and finite.max() / finite.min() > 100)
    if log:
        ax.set_yscale("log")
        ylabel += " (log scale)"
        _limit_log_axis(ax, [values], "log")
    _count_axis(ax, "step")
    ax.set_ylabel(ylabel)
    ax.set_title(history.label, fontsize="medium")
    if legend:
        ax.legend(loc="best", fontsize="small")
    return ax


def plot_fit(fit_histories, ax=None, *, log: bool = True, legend: bool = True):
    """Draw training (solid) and validation (dashed) loss per epoch; return the ``ax``.

    ``fit_histories`` is a FitHistory, a list of them or a dict
    ``name -> FitHistory``; each run keeps one colour for both curves.
    Epoch 0 is the loss before training. A diverged run ends in a ✕.
    """
    items = _as_dict(fit_histories, kind=FitHistory)
    if ax is None:
        ax = _new_axes((6.0, 4.0))
    if log:
        ax.set_yscale("log")
    curves = [h.train_losses.numpy() for h in items.values()]
    curves += [h.val_losses.numpy() for h in items.values() if h.val_losses is not None]
    ylim = _limit_log_axis(ax, curves, "log" if log else "linear")
    colors = _colors()
    for i, (name, h) in enumerate(items.items()):
        train = h.train_losses.numpy()
        epochs = np.arange(len(train))
        color = colors[i % len(colors)]
        ax.plot(epochs, train, linewidth=1.5, color=color, label=f"{diverged_label(name, h)}, training")
        if h.val_losses is not None:
            ax.plot(
                epochs, h.val_losses.numpy(), linewidth=1.5, linestyle="--", color=color, label=f"{name}, validation"
            )
        if h.diverged:
            _mark_divergence(ax, epochs[-1], train[-1], color, ylim=ylim)
    _count_axis(ax, "epoch")
    ax.set_ylabel("loss (log scale)" if log else "loss")
    if legend:
        ax.legend(loc="best", fontsize="small")
    return ax


# ---------------------------------------------------------------------------
# A real network: learning-rate sweeps, the range test, gradient noise
# ---------------------------------------------------------------------------


def _sweeps(sweeps) -> dict:
    from .minibatch import Sweep

    return _as_dict(sweeps, kind=Sweep)


def plot_sweep(sweeps, ax=None, *, metric: str = "val_accuracy", within: float | None = None, legend: bool = True):
    """Draw final validation accuracy (or loss) against the learning rate, log lr axis; return the ``ax``.

    ``sweeps`` is a :class:`~myoptim_helpers.minibatch.Sweep`, a list or a
    dict ``name -> Sweep``. ``metric`` is ``"val_accuracy"`` (in percent),
    ``"train_loss"`` or ``"val_loss"`` (log scale). Each curve's best
    learning rate is a star; a copy that diverged is a ✕ on the bottom edge.
    With ``within`` (accuracy only), the band of learning rates within
    ``within`` of the best is shaded.
    """
    items = _sweeps(sweeps)
    if ax is None:
        ax = _new_axes((6.5, 4.0))
    accuracy = metric == "val_accuracy"
    colors = _colors()
    for i, (name, sweep) in enumerate(items.items()):
        color = colors[i % len(colors)]
        lrs = sweep.lrs.numpy()
        values = sweep._metric(metric).numpy() * (100 if accuracy else 1)
        ax.plot(lrs, values, marker="o", markersize=3.5, linewidth=1.5, color=color, label=name)
        best = sweep.best(metric)
        ax.plot(
            [lrs[best]],
            [values[best]],
            linestyle="none",
            marker="*",
            markersize=13,
            color=color,
            markeredgecolor="black",
            zorder=5,
        )
        if within is not None and accuracy:
            low, high = sweep.good_band(within)
            ax.axvspan(low, high, color=color, alpha=0.12)
        lost = np.isnan(values)
        if lost.any():
            ax.plot(
                lrs[lost],
                np.zeros(lost.sum()),
                linestyle="none",
                marker=DIVERGED_MARKER,
                markersize=8,
                color=color,
                markeredgecolor="black",
                clip_on=False,
                zorder=6,
            )
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    if accuracy:
        ax.set_ylabel("validation accuracy after training (%)")
        ax.set_ylim(0, 100)
    else:
        ax.set_yscale("log")
        ax.set_ylabel(("training" if metric == "train_loss" else "validation") + " loss after training (log scale)")
    if legend:
        handles, labels = ax.get_legend_handles_labels()
        marks = [Line2D([], [], linestyle="none", marker="*", markersize=11, color="0.4", markeredgecolor="black")]
        extra = ["best learning rate"]
        if any(np.isnan(s._metric(metric).numpy()).any() for s in items.values()):
            marks.append(Line2D([], [], linestyle="none", marker=DIVERGED_MARKER, color="0.4", markeredgecolor="black"))
            extra.append("diverged")
        ax.legend(handles + marks, labels + extra, loc="best", fontsize="small")
    return ax


def plot_best_lr(
    best: Mapping[str, Mapping[int, float]], ax=None, *, rules: Mapping[str, float] | None = None, legend: bool = True
):
    """Draw the best learning rate against the batch size, both axes log; return the ``ax``.

    ``best`` maps a name (an optimizer) to ``{batch_size: best lr}``.
    ``rules`` maps a rule's name to its exponent ``a`` (``lr ∝ B**a``: 1 for
    the linear scaling rule, 0.5 for the square-root rule); each is drawn
    dashed through each curve's smallest batch size.
    """
    if ax is None:
        ax = _new_axes((6.0, 4.0))
    colors = _colors()
    styles = ["--", ":", "-."]
    for i, (name, table) in enumerate(best.items()):
        color = colors[i % len(colors)]
        sizes = np.array(sorted(table), dtype=float)
        lrs = np.array([table[b] for b in sorted(table)], dtype=float)
        ax.plot(sizes, lrs, marker="o", linewidth=2, color=color, label=f"{name}: best lr measured")
        for j, (rule, exponent) in enumerate((rules or {}).items()):
            ax.plot(
                sizes,
                lrs[0] * (sizes / sizes[0]) ** exponent,
                styles[j % len(styles)],
                linewidth=1.2,
                color=color,
                label=f"{name}: {rule}",
            )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size B (log scale)")
    ax.set_ylabel("best learning rate (log scale)")
    if legend:
        ax.legend(loc="best", fontsize="small")
    return ax


def plot_lr_range_test(tests, ax=None, *, raw: bool = True, legend: bool = True):
    """Draw a learning-rate range test: loss against lr on a log lr axis, with its suggestions; return the ``ax``.

    ``tests`` is a :class:`~myoptim_helpers.minibatch.RangeTest`, a list or a
    dict ``name -> RangeTest``. The smoothed loss is a line (the raw minibatch
    losses faint dots with ``raw=True``); the steepest-slope suggestion a
    circle and ``minimum / 10`` a square; a test that stopped on divergence
    ends in a ✕.
    """
    from .minibatch import RangeTest

    items = _as_dict(tests, kind=RangeTest)
    if ax is None:
        ax = _new_axes((6.5, 4.0))
    colors = _colors()
    for i, (name, test) in enumerate(items.items()):
        color = colors[i % len(colors)]
        lrs, smoothed = test.lrs.numpy(), test.smoothed.numpy()
        if raw:
            ax.plot(
                lrs, test.losses.numpy(), ".", markersize=3, color=color, alpha=0.35, label=f"{name}: minibatch loss"
            )
        ax.plot(lrs, smoothed, linewidth=2, color=color, label=f"{name}: smoothed loss")
        for lr, marker, what in ((test.steepest, "o", "steepest slope"), (test.minimum_over_10, "s", "minimum / 10")):
            k = int(np.argmin(np.abs(np.log(lrs) - np.log(lr))))
            ax.plot(
                [lr],
                [smoothed[k]],
                linestyle="none",
                marker=marker,
                markersize=10,
                color=color,
                markeredgecolor="black",
                zorder=5,
                label=f"{name}: {what}, lr {lr:.2g}",
            )
        if test.diverged and np.isfinite(smoothed[-1]):
            _mark_divergence(ax, lrs[-1], smoothed[-1], color)
    ax.set_xscale("log")
    finite = np.concatenate([t.smoothed.numpy()[np.isfinite(t.smoothed.numpy())] for t in items.values()])
    if finite.size:
        top = min(finite.max(), 4 * np.median(finite)) * 1.1
        ax.set_ylim(0, top)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    if legend:
        ax.legend(loc="best", fontsize="small")
    return ax


def plot_gradient_noise(noise, ax=None, *, legend: bool = True):
    """Draw the measured minibatch gradient variance against the batch size, log-log, with σ²/B; return the ``ax``."""
    if ax is None:
        ax = _new_axes((6.0, 4.0))
    sizes = noise.batch_sizes.numpy()
    dense = np.unique(np.concatenate([np.geomspace(sizes.min(), sizes.max(), 200), sizes]))
    ax.plot(
        dense, noise.expected(dense, with_replacement=True).numpy(), "--", color="0.45", label="σ²/B  (the 1/B line)"
    )
    ax.plot(
        dense,
        noise.expected(dense).numpy(),
        "-",
        color="C1",
        linewidth=1.2,
        label="σ²/B · (N − B)/(N − 1)  (without replacement)",
    )
    ax.plot(
        sizes,
        noise.variance.numpy(),
        "o",
        color="C0",
        markersize=7,
        label=f"measured over {noise.draws} shuffled epochs",
    )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size B (log scale)")
    ax.set_ylabel("E ‖g_B − g‖²  (log scale)")
    if legend:
        ax.legend(loc="best", fontsize="small")
    return ax
