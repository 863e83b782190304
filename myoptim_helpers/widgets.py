"""Interactive explorers: sliders wired to :mod:`~myoptim_helpers.training` and :mod:`~myoptim_helpers.plotting`.

- :func:`trajectory_explorer`: pick a surface and an optimizer, move the
  learning rate, momentum, betas and number of steps; the path and the loss
  curve redraw, and a readout gives the final loss, the distance to the
  minimum, or where the run diverged.
- :func:`schedule_explorer`: pick a learning-rate scheduler and its
  parameters; the schedule redraws.
- :func:`batch_explorer`: train the digits network with a batch size and a
  learning rate; the minibatch losses and the per-epoch losses redraw.

Each explorer is an ``ipywidgets.VBox`` (controls, picture, readout). The
picture is a PNG rendered with matplotlib's Agg canvas and shown in an
``ipywidgets.Image``, which looks the same in ipywidgets 7 and 8 and in a
static notebook. Only what a change needs is recomputed: the contour
background is rendered once per surface, a change of ``steps`` reuses a
longer run, and a control that the chosen optimizer or scheduler does not use
changes nothing. Errors inside a callback (e.g. torch rejecting a
hyperparameter) are shown in the readout and kept in ``.error``.

For tests and scripts every explorer exposes ``controls`` (name -> widget;
setting ``.value`` updates it as a slider move would), ``history`` or
``lrs`` (the current data), ``image.value`` (the PNG bytes), ``runs`` and
``renders`` (counters) and ``update()``.

This module is the only one that imports ipywidgets.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from typing import Any

import ipywidgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, ScalarFormatter
from PIL import Image as PILImage

from . import optim, plotting, problems, training

__all__ = [
    "TrajectoryExplorer",
    "ScheduleExplorer",
    "BatchExplorer",
    "Prediction",
    "trajectory_explorer",
    "schedule_explorer",
    "batch_explorer",
    "predict",
]


def _scheduler_module():
    """The scheduler classes the schedule explorer uses.

    Ours; torch's ``torch.optim.lr_scheduler`` has the same names.
    """
    from . import lr_scheduler

    return lr_scheduler


# name -> (optimizer class, controls it uses, fixed keyword arguments)
_OPTIMIZERS: dict[str, tuple[Callable, tuple[str, ...], dict]] = {
    "SGD": (optim.SGD, ("lr", "momentum"), {}),
    "SGD+Nesterov": (optim.SGD, ("lr", "momentum"), {"nesterov": True}),
    "Adam": (optim.Adam, ("lr", "beta1", "beta2"), {}),
    "AdamW": (optim.AdamW, ("lr", "beta1", "beta2"), {}),
    "RMSprop": (optim.RMSprop, ("lr", "momentum"), {}),
    "Adagrad": (optim.Adagrad, ("lr",), {}),
}

# A starting learning rate per optimizer when none is given (the slider then stays where the learner puts it).
# All on the learning-rate slider's grid (powers of 10 in steps of 0.05), so a browser never snaps them.
_DEFAULT_LR = {"SGD": 1e-3, "SGD+Nesterov": 1e-3, "Adam": 0.1, "AdamW": 0.1, "RMSprop": 0.01, "Adagrad": 1.0}

_SLIDER_LAYOUT = {"width": "360px"}
_SLIDER_STYLE = {"description_width": "90px"}
# Fixed panel positions (figure fractions) instead of a layout engine: a
# surface's background is rendered once and must not move between frames.
_PATH_RECT = (0.06, 0.13, 0.41, 0.79)
_LOSS_RECT = (0.575, 0.13, 0.41, 0.79)
_MARKER_KEY = (
    '<span style="color:#555">○ start · ★ minimum (☆ other local minima) · ✚ saddle point · '
    "✖ last finite point of a diverged run (on the edge if it left the plot)</span>"
)


def _png(canvas: FigureCanvasAgg) -> bytes:
    """Encode the canvas's current pixels as PNG (fast compression: the bytes go to the browser at once)."""
    rgba = np.asarray(canvas.buffer_rgba())
    buffer = io.BytesIO()
    PILImage.fromarray(rgba[..., :3]).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def _fmt(value: float) -> str:
    # Four significant digits: enough for beta2 = 0.9999, short enough for the 110-character repr.
    return f"{value:.4g}"


def _plain_labels_within_a_decade(ax) -> None:
    """Label a log y axis that spans less than a decade with plain numbers.

    There matplotlib labels in-between ticks as ``9.425×10⁰``; on the loss
    panel's fixed, narrow margin those labels run into the axis label (a
    tiny learning rate barely moves the loss). ``9.425`` says the same.
    """
    low, high = ax.get_ylim()
    if ax.get_yscale() == "log" and 0 < low and high < 10 * low:
        ax.yaxis.set_major_formatter(ScalarFormatter(useOffset=False))
        ax.yaxis.set_minor_formatter(ScalarFormatter(useOffset=False))


class _Explorer(ipywidgets.VBox):
    """Shared wiring: controls in a row, picture, readout; safe callbacks; counters."""

    def __init__(self, controls: dict[str, ipywidgets.Widget], figsize, dpi, key: str = ""):
        self.controls = controls
        self.image = ipywidgets.Image(format="png", layout={"max_width": "100%"})
        self.readout = ipywidgets.HTML()
        self.error: Exception | None = None
        self.runs = 0
        self.renders = 0
        self._figure = Figure(figsize=figsize, dpi=dpi)
        self._canvas = FigureCanvasAgg(self._figure)
        # One wrapping row: hidden controls leave no holes.
        panel = ipywidgets.HBox(list(controls.values()), layout={"flex_flow": "row wrap"})
        children = [panel, self.image, self.readout]
        if key:
            children.append(ipywidgets.HTML(key))
        super().__init__(children=children)
        for widget in controls.values():
            widget.observe(self._on_change, names="value")

    def _on_change(self, change) -> None:
        # A callback's exception would otherwise vanish into the kernel log:
        # show it where the learner is looking, and keep it for inspection.
        try:
            self.update()
        except Exception as error:  # noqa: BLE001 - shown in the readout, kept in .error
            self.error = error
            self.readout.value = (
                f'<span style="color:#b00020"><b>{html.escape(type(error).__name__)}:</b> '
                f"{html.escape(str(error))}</span>"
            )

    def update(self) -> None:  # pragma: no cover - overridden
        """Recompute what the controls' values need and redraw."""
        raise NotImplementedError

    def _show(self, visible: tuple[str, ...]) -> None:
        for name, widget in self.controls.items():
            widget.layout.display = None if name in visible else "none"


class TrajectoryExplorer(_Explorer):
    """An optimizer's path over a 2-D surface, redrawn as its hyperparameters move.

    Create it with :func:`trajectory_explorer`. ``history`` is the current
    :class:`~myoptim_helpers.training.History`; ``runs`` counts optimizer
    runs and ``renders`` redraws.
    """

    def __init__(
        self,
        surface: str = "rosenbrock",
        optimizer: str = "Adam",
        *,
        lr: float | None = None,
        momentum: float = 0.9,
        betas: tuple[float, float] = (0.9, 0.999),
        steps: int = 200,
        figsize: tuple[float, float] = (10.0, 4.0),
        dpi: int = 72,
    ):
        surface = problems.get_surface(surface).name
        if optimizer not in _OPTIMIZERS:
            valid = ", ".join(repr(n) for n in _OPTIMIZERS)
            raise ValueError(f"Unknown optimizer {optimizer!r}; choose one of {valid}")
        lr = _DEFAULT_LR[optimizer] if lr is None else lr
        training._check_lr(lr)
        training._check_steps(steps)
        common = {"continuous_update": False, "layout": _SLIDER_LAYOUT, "style": _SLIDER_STYLE}
        controls = {
            "surface": ipywidgets.Dropdown(
                options=list(problems.SURFACES),
                value=surface,
                description="surface",
                layout=_SLIDER_LAYOUT,
                style=_SLIDER_STYLE,
            ),
            "optimizer": ipywidgets.Dropdown(
                options=list(_OPTIMIZERS),
                value=optimizer,
                description="optimizer",
                layout=_SLIDER_LAYOUT,
                style=_SLIDER_STYLE,
            ),
            "lr": ipywidgets.FloatLogSlider(
                value=lr, base=10, min=-4, max=1, step=0.05, readout_format=".3g", description="learning rate", **common
            ),
            "steps": ipywidgets.IntSlider(
                value=steps, min=1, max=max(1000, steps), step=1, description="steps", **common
            ),
            "momentum": ipywidgets.FloatSlider(
                value=momentum, min=0.0, max=0.99, step=0.01, description="momentum", **common
            ),
            "beta1": ipywidgets.FloatSlider(
                value=betas[0], min=0.0, max=0.99, step=0.01, description="beta1", **common
            ),
            "beta2": ipywidgets.FloatSlider(
                value=betas[1], min=0.9, max=0.9999, step=0.0001, readout_format=".4f", description="beta2", **common
            ),
        }
        super().__init__(controls, figsize, dpi, key=_MARKER_KEY)
        self.history: training.History | None = None
        self._run_key = None
        self._run: training.History | None = None
        self._run_steps = 0
        self._drawn_key = None
        # One path panel per surface, made on first use, all at the same place;
        # only the current one is visible. Each keeps its contours, and
        # _backgrounds[surface] the rendered pixels of the figure without the
        # per-frame artists, so switching back to a surface costs nothing.
        self._path_axes: dict[str, Any] = {}
        self._backgrounds: dict[str, Any] = {}
        self._surface_lines: dict[str, int] = {}
        self._surface = surface
        self._loss_ax = self._figure.add_axes(_LOSS_RECT)
        self.update()

    @property
    def _path_ax(self):
        return self._path_axes[self._surface]

    # -- what the controls mean ------------------------------------------------

    def _settings(self) -> dict[str, Any]:
        values = {name: widget.value for name, widget in self.controls.items()}
        _, used, _ = _OPTIMIZERS[values["optimizer"]]
        return {name: values[name] for name in ("surface", "optimizer", *used)}

    def _optimizer_kwargs(self, settings: dict[str, Any]) -> dict[str, Any]:
        _, _, fixed = _OPTIMIZERS[settings["optimizer"]]
        kwargs = {"lr": settings["lr"]}
        if "momentum" in settings:
            kwargs["momentum"] = settings["momentum"]
        if "beta1" in settings:
            kwargs["betas"] = (settings["beta1"], settings["beta2"])
        return {**kwargs, **fixed}

    def _label(self, settings: dict[str, Any]) -> str:
        kwargs = self._optimizer_kwargs(settings)
        parts = [f"lr={_fmt(kwargs['lr'])}"]
        if "momentum" in kwargs:
            parts.append(f"momentum={_fmt(kwargs['momentum'])}")
        if "betas" in kwargs:
            parts.append(f"betas=({_fmt(kwargs['betas'][0])}, {_fmt(kwargs['betas'][1])})")
        return f"{settings['optimizer']}({', '.join(parts)})"

    def __repr__(self) -> str:
        """Return the explorer's settings in one short, deterministic line (a notebook's text output)."""
        settings = self._settings()
        label = self._label(settings)
        inner = label[label.index("(") + 1 : -1]
        return (
            f"TrajectoryExplorer(surface={settings['surface']!r}, optimizer={settings['optimizer']!r}, "
            f"{inner}, steps={self.controls['steps'].value})"
        )

    # -- compute, draw ------------------------------------------------------------

    def update(self) -> None:
        """Re-run the optimizer if a control it uses changed, then redraw if anything shown changed."""
        settings = self._settings()
        self._show(tuple(settings) + ("steps",))
        steps = self.controls["steps"].value
        key = tuple(sorted(settings.items()))
        reusable = key == self._run_key and (steps <= self._run_steps or self._run.diverged)
        if not reusable:
            cls, _, _ = _OPTIMIZERS[settings["optimizer"]]
            self._run = training.run(
                cls, settings["surface"], steps, label=self._label(settings), **self._optimizer_kwargs(settings)
            )
            self._run_key, self._run_steps = key, steps
            self.runs += 1
        history = self._run.truncated(steps)
        drawn_key = (key, len(history), history.diverged_at)
        if drawn_key != self._drawn_key:
            self.history = history
            self._draw(settings["surface"], history)
            self._drawn_key = drawn_key
        self.error = None
        self.readout.value = self._readout(history)

    def _draw_background(self, surface: str) -> None:
        """Draw ``surface``'s path panel and render the figure without the per-frame artists, once."""
        ax = self._figure.add_axes(_PATH_RECT, label=f"path panel: {surface}")
        plotting.plot_surface(surface, ax)
        self._path_axes[surface] = ax
        self._surface_lines[surface] = len(ax.lines)
        self._select(surface)
        self._loss_ax.set_visible(False)
        for line in ax.lines:
            line.set_visible(False)
        self._canvas.draw()
        self._backgrounds[surface] = self._canvas.copy_from_bbox(self._figure.bbox)
        for line in ax.lines:
            line.set_visible(True)
        self._loss_ax.set_visible(True)

    def _select(self, surface: str) -> None:
        self._surface = surface
        for name, ax in self._path_axes.items():
            ax.set_visible(name == surface)

    def _draw(self, surface: str, history: training.History) -> None:
        if surface not in self._backgrounds:
            self._draw_background(surface)
        self._select(surface)
        path_ax, loss_ax = self._path_ax, self._loss_ax
        # Remove the previous frame's artists rather than clearing the axes:
        # ax.clear() throws away the tick objects, and rebuilding them (log
        # scale minor ticks included) is most of a redraw's cost.
        for line in list(path_ax.lines[self._surface_lines[surface] :]) + list(loss_ax.lines):
            line.remove()
        # No legend on the path panel: the key under the picture names the
        # markers, the readout names the run.
        plotting.plot_trajectories(history, surface, ax=path_ax, contours=False, legend=False)
        # A previous frame may have fixed the y limits (a near-overflow run) or
        # plain tick labels (a narrow one); start afresh.
        loss_ax.relim()
        loss_ax.autoscale(True)
        if loss_ax.get_yscale() == "log" and isinstance(loss_ax.yaxis.get_major_formatter(), ScalarFormatter):
            loss_ax.set_yscale("log")  # restores the log axis's own locators and formatters
        plotting.plot_losses(history, ax=loss_ax, legend=False)
        _plain_labels_within_a_decade(loss_ax)
        # Fewer step labels on this narrow panel: each tick label costs a text render per frame.
        loss_ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        # Blit: paste the surface's background, then draw only what changes, in
        # the z-order a full draw would use.
        self._canvas.restore_region(self._backgrounds[surface])
        for artist in sorted(path_ax.lines, key=lambda a: a.get_zorder()):
            path_ax.draw_artist(artist)
        self._figure.draw_artist(loss_ax)
        self.image.value = _png(self._canvas)
        self.renders += 1

    def _readout(self, history: training.History) -> str:
        surface = history.surface
        x, y = history.final_position
        parts = [
            f"<b>{html.escape(history.label)}</b>",
            f"{len(history)} step{'' if len(history) == 1 else 's'}",
            f"final loss {history.final_loss:.4g} at ({x:.4g}, {y:.4g})",
        ]
        distance = history.distance_to_minimum
        if distance is None:
            parts.append("this surface has no minimum")
        else:
            parts.append(f"distance to the nearest minimum {distance:.3g}")
        (xmin, xmax), (ymin, ymax) = surface.bounds
        if not (xmin <= x <= xmax and ymin <= y <= ymax):
            parts.append("left the plotted area")
        text = " · ".join(parts)
        if history.diverged:
            text += (
                f' · <span style="color:#b00020"><b>diverged at step {history.diverged_at}</b>: '
                f"{html.escape(history.reason)}</span>"
            )
        return text


def trajectory_explorer(
    surface: str = "rosenbrock",
    optimizer: str = "Adam",
    *,
    lr: float | None = None,
    momentum: float = 0.9,
    betas: tuple[float, float] = (0.9, 0.999),
    steps: int = 200,
) -> TrajectoryExplorer:
    """Return a :class:`TrajectoryExplorer`: one optimizer's path on a surface, with sliders.

    ``optimizer`` is one of ``"SGD"``, ``"SGD+Nesterov"``, ``"Adam"``,
    ``"AdamW"``, ``"RMSprop"``, ``"Adagrad"`` (``myoptim_helpers.optim``'s).
    ``lr=None`` starts at a learning rate that suits the optimizer. Only the
    controls the chosen optimizer uses are shown (momentum for SGD and
    RMSprop, beta1 and beta2 for Adam and AdamW).
    """
    return TrajectoryExplorer(surface, optimizer, lr=lr, momentum=momentum, betas=betas, steps=steps)


# ---------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------


def _milestones(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"milestones must be whole numbers separated by commas, got {text!r}") from None
    return values


def _warmup_cosine(s, opt, c):
    warmup = min(c["total_iters"], c["steps"] - 1)
    return s.SequentialLR(
        opt,
        [
            s.LinearLR(opt, start_factor=c["start_factor"], end_factor=1.0, total_iters=warmup),
            s.CosineAnnealingLR(opt, T_max=c["steps"] - warmup, eta_min=c["eta_min"]),
        ],
        milestones=[warmup],
    )


# name -> (factory (scheduler module, optimizer, control values) -> scheduler, controls it uses)
_SCHEDULERS: dict[str, tuple[Callable, tuple[str, ...]]] = {
    "StepLR": (lambda s, opt, c: s.StepLR(opt, step_size=c["step_size"], gamma=c["gamma"]), ("step_size", "gamma")),
    "MultiStepLR": (
        lambda s, opt, c: s.MultiStepLR(opt, milestones=_milestones(c["milestones"]), gamma=c["gamma"]),
        ("milestones", "gamma"),
    ),
    "ExponentialLR": (lambda s, opt, c: s.ExponentialLR(opt, gamma=c["gamma"]), ("gamma",)),
    "CosineAnnealingLR": (
        lambda s, opt, c: s.CosineAnnealingLR(opt, T_max=c["T_max"], eta_min=c["eta_min"]),
        ("T_max", "eta_min"),
    ),
    "LinearLR": (
        lambda s, opt, c: s.LinearLR(
            opt, start_factor=c["start_factor"], end_factor=c["end_factor"], total_iters=c["total_iters"]
        ),
        ("start_factor", "end_factor", "total_iters"),
    ),
    "SequentialLR": (_warmup_cosine, ("start_factor", "total_iters", "eta_min")),
    "OneCycleLR": (
        lambda s, opt, c: s.OneCycleLR(
            opt,
            max_lr=c["lr"],
            total_steps=c["steps"],
            pct_start=c["pct_start"],
            anneal_strategy=c["anneal_strategy"],
            div_factor=c["div_factor"],
        ),
        ("pct_start", "anneal_strategy", "div_factor"),
    ),
}


_SCHEDULER_LABELS = {"SequentialLR": "SequentialLR: warm-up + cosine"}


class ScheduleExplorer(_Explorer):
    """A learning-rate schedule, redrawn as the scheduler and its parameters change.

    Create it with :func:`schedule_explorer`. ``lrs`` is the current schedule
    (float64 tensor, entry ``k`` used for step ``k + 1``); ``runs`` counts
    schedule computations and ``renders`` redraws.
    """

    def __init__(
        self,
        scheduler: str = "StepLR",
        *,
        lr: float = 0.1,
        steps: int = 100,
        figsize: tuple[float, float] = (8.0, 3.2),
        dpi: int = 72,
    ):
        if scheduler not in _SCHEDULERS:
            valid = ", ".join(repr(n) for n in _SCHEDULERS)
            raise ValueError(f"Unknown scheduler {scheduler!r}; choose one of {valid}")
        training._check_lr(lr)
        training._check_steps(steps)
        if steps < 2:
            raise ValueError(f"steps must be at least 2 for a schedule, got {steps}")
        longest = max(500, steps)
        common = {"continuous_update": False, "layout": _SLIDER_LAYOUT, "style": _SLIDER_STYLE}
        controls = {
            "scheduler": ipywidgets.Dropdown(
                options=[(_SCHEDULER_LABELS.get(n, n), n) for n in _SCHEDULERS],
                value=scheduler,
                description="scheduler",
                layout=_SLIDER_LAYOUT,
                style=_SLIDER_STYLE,
            ),
            "lr": ipywidgets.FloatLogSlider(
                value=lr, base=10, min=-4, max=0, step=0.05, readout_format=".3g", description="lr (max)", **common
            ),
            "steps": ipywidgets.IntSlider(value=steps, min=2, max=longest, description="steps", **common),
            "step_size": ipywidgets.IntSlider(
                value=max(1, steps // 4), min=1, max=longest, description="step_size", **common
            ),
            "gamma": ipywidgets.FloatSlider(value=0.5, min=0.01, max=0.99, step=0.01, description="gamma", **common),
            "milestones": ipywidgets.Text(
                value=f"{steps // 2}, {3 * steps // 4}",
                description="milestones",
                continuous_update=False,
                layout=_SLIDER_LAYOUT,
                style=_SLIDER_STYLE,
            ),
            "T_max": ipywidgets.IntSlider(value=steps, min=1, max=longest, description="T_max", **common),
            "eta_min": ipywidgets.FloatSlider(
                value=0.0, min=0.0, max=0.1, step=0.001, readout_format=".3f", description="eta_min", **common
            ),
            "start_factor": ipywidgets.FloatSlider(
                value=0.1, min=0.01, max=1.0, step=0.01, description="start_factor", **common
            ),
            "end_factor": ipywidgets.FloatSlider(
                value=1.0, min=0.0, max=1.0, step=0.01, description="end_factor", **common
            ),
            "total_iters": ipywidgets.IntSlider(
                value=max(1, steps // 10), min=1, max=longest, description="total_iters", **common
            ),
            "pct_start": ipywidgets.FloatSlider(
                value=0.3, min=0.05, max=0.95, step=0.05, description="pct_start", **common
            ),
            "anneal_strategy": ipywidgets.Dropdown(
                options=["cos", "linear"],
                value="cos",
                description="anneal_strategy",
                layout=_SLIDER_LAYOUT,
                style=_SLIDER_STYLE,
            ),
            "div_factor": ipywidgets.FloatSlider(
                value=25.0, min=1.0, max=100.0, step=1.0, description="div_factor", **common
            ),
        }
        super().__init__(controls, figsize, dpi)
        self.lrs = None
        self._key = None
        self._ax = self._figure.subplots()
        self._figure.subplots_adjust(left=0.1, right=0.98, bottom=0.16, top=0.9)
        self.update()

    def _settings(self) -> dict[str, Any]:
        values = {name: widget.value for name, widget in self.controls.items()}
        _, used = _SCHEDULERS[values["scheduler"]]
        return {name: values[name] for name in ("scheduler", "lr", "steps", *used)}

    def __repr__(self) -> str:
        """Return the explorer's settings in one short, deterministic line (a notebook's text output)."""
        settings = self._settings()
        parts = [repr(settings.pop("scheduler"))]
        parts += [f"{k}={_fmt(v) if isinstance(v, float) else repr(v)}" for k, v in settings.items()]
        return f"ScheduleExplorer({', '.join(parts)})"

    def update(self) -> None:
        """Recompute the schedule if a control the scheduler uses changed, and redraw it."""
        settings = self._settings()
        self._show(tuple(settings))
        key = tuple(sorted(settings.items()))
        if key != self._key:
            factory, _ = _SCHEDULERS[settings["scheduler"]]
            module = _scheduler_module()
            self.lrs = training.lr_schedule(
                lambda opt: factory(module, opt, settings), settings["steps"], lr=settings["lr"]
            )
            self._key = key
            self.runs += 1
            self._draw(settings)
        self.error = None
        lrs = self.lrs
        self.readout.value = (
            f"<b>{html.escape(_SCHEDULER_LABELS.get(settings['scheduler'], settings['scheduler']))}</b>: "
            f"{len(lrs)} steps · first lr {lrs[0]:.4g} · "
            f"largest {lrs.max():.4g} · smallest {lrs.min():.4g} · last {lrs[-1]:.4g}"
        )

    def _draw(self, settings: dict[str, Any]) -> None:
        ax = self._ax
        ax.clear()
        plotting.plot_lr_schedule(self.lrs, ax=ax)
        ax.set_title(_SCHEDULER_LABELS.get(settings["scheduler"], settings["scheduler"]), fontsize="medium")
        self._canvas.draw()
        self.image.value = _png(self._canvas)
        self.renders += 1


def schedule_explorer(scheduler: str = "StepLR", *, lr: float = 0.1, steps: int = 100) -> ScheduleExplorer:
    """Return a :class:`ScheduleExplorer`: a learning-rate schedule with sliders for its parameters.

    ``scheduler`` is one of ``"StepLR"``, ``"MultiStepLR"``,
    ``"ExponentialLR"``, ``"CosineAnnealingLR"``, ``"LinearLR"``,
    ``"SequentialLR"`` (a ``LinearLR`` warm-up, then ``CosineAnnealingLR``
    to the end) or ``"OneCycleLR"`` (``lr`` is its ``max_lr``).
    Only the chosen scheduler's parameters are shown.
    """
    return ScheduleExplorer(scheduler, lr=lr, steps=steps)


# ---------------------------------------------------------------------------
# Batch size × learning rate on a real network
# ---------------------------------------------------------------------------

# name -> (torch optimizer class, fixed keyword arguments)
_BATCH_OPTIMIZERS: dict[str, tuple[Callable, dict]] = {
    "SGD": ("SGD", {}),
    "SGD, momentum 0.9": ("SGD", {"momentum": 0.9}),
    "Adam": ("Adam", {}),
}
_BATCH_SIZES = [8, 16, 32, 64, 128, 256, 512, 1437]


class BatchExplorer(_Explorer):
    """The digits network trained with one batch size and learning rate, redrawn as they move.

    Create it with :func:`batch_explorer`. ``sweep`` is the current one-copy
    :class:`~myoptim_helpers.minibatch.Sweep`; ``runs`` counts trainings and
    ``renders`` redraws.
    """

    def __init__(
        self,
        optimizer: str = "SGD",
        *,
        lr: float = 0.1,
        batch_size: int = 32,
        epochs: int = 3,
        figsize: tuple[float, float] = (10.0, 3.6),
        dpi: int = 72,
    ):
        from . import minibatch  # noqa: F401 - imported here: the data loads only with an explorer

        if optimizer not in _BATCH_OPTIMIZERS:
            valid = ", ".join(repr(n) for n in _BATCH_OPTIMIZERS)
            raise ValueError(f"Unknown optimizer {optimizer!r}; choose one of {valid}")
        training._check_lr(lr)
        if batch_size not in _BATCH_SIZES:
            raise ValueError(f"batch_size must be one of {_BATCH_SIZES}, got {batch_size!r}")
        training._check_steps(epochs, "epochs")
        common = {"continuous_update": False, "layout": _SLIDER_LAYOUT, "style": _SLIDER_STYLE}
        controls = {
            "optimizer": ipywidgets.Dropdown(
                options=list(_BATCH_OPTIMIZERS),
                value=optimizer,
                description="optimizer",
                layout=_SLIDER_LAYOUT,
                style=_SLIDER_STYLE,
            ),
            "lr": ipywidgets.FloatLogSlider(
                value=lr, base=10, min=-4, max=1, step=0.05, readout_format=".3g", description="learning rate", **common
            ),
            "batch_size": ipywidgets.SelectionSlider(
                options=_BATCH_SIZES, value=batch_size, description="batch size", **common
            ),
            "epochs": ipywidgets.IntSlider(value=epochs, min=1, max=max(6, epochs), description="epochs", **common),
        }
        super().__init__(controls, figsize, dpi)
        self._data = problems.digits()
        self.sweep = None
        self._key = None
        self._step_ax, self._epoch_ax = self._figure.subplots(1, 2)
        self._figure.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.9, wspace=0.25)
        self.update()

    def _settings(self) -> dict[str, Any]:
        return {name: widget.value for name, widget in self.controls.items()}

    def __repr__(self) -> str:
        """Return the explorer's settings in one short, deterministic line (a notebook's text output)."""
        c = self._settings()
        return (
            f"BatchExplorer(optimizer={c['optimizer']!r}, lr={_fmt(c['lr'])}, batch_size={c['batch_size']}, "
            f"epochs={c['epochs']})"
        )

    def update(self) -> None:
        """Retrain if a setting changed, then redraw."""
        import torch

        from . import minibatch

        settings = self._settings()
        key = tuple(sorted(settings.items()))
        if key != self._key:
            name, kwargs = _BATCH_OPTIMIZERS[settings["optimizer"]]
            self.sweep = minibatch.lr_sweep(
                problems.digits_mlp,
                getattr(torch.optim, name),
                self._data,
                [settings["lr"]],
                settings["epochs"],
                batch_size=settings["batch_size"],
                progress=False,
                **kwargs,
            )
            self._key = key
            self.runs += 1
            self._draw(settings)
        self.error = None
        self.readout.value = self._readout(settings)

    def _draw(self, settings: dict[str, Any]) -> None:
        sweep = self.sweep
        left, right = self._step_ax, self._epoch_ax
        left.clear()
        right.clear()
        steps = sweep.step_losses[0].numpy()
        per_epoch = len(steps) / sweep.epochs
        x = (np.arange(len(steps)) + 1) / per_epoch
        left.plot(x, steps, linewidth=0.8, color="C0", alpha=0.6, label="loss of each minibatch")
        left.plot(
            np.arange(sweep.epochs + 1), sweep.train_losses[0].numpy(), "o-", color="C1", label="whole training set"
        )
        left.set(
            yscale="log",
            xlabel="epoch",
            ylabel="loss (log scale)",
            title=f"{len(steps)} steps of batch {settings['batch_size']}",
        )
        left.legend(loc="upper right", fontsize="small")
        right.plot(
            np.arange(sweep.epochs + 1),
            100 * sweep.val_accuracy[0].numpy(),
            "o-",
            color="C2",
            label="validation accuracy",
        )
        right.set(
            ylim=(0, 100),
            xlabel="epoch",
            ylabel="validation accuracy (%)",
            title=f"{settings['optimizer']}, lr {_fmt(settings['lr'])}",
        )
        right.legend(loc="lower right", fontsize="small")
        for ax in (left, right):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        self._canvas.draw()
        self.image.value = _png(self._canvas)
        self.renders += 1

    def _readout(self, settings: dict[str, Any]) -> str:
        sweep = self.sweep
        steps = sweep.step_losses.shape[1]
        text = (
            f"<b>{html.escape(settings['optimizer'])}</b>, lr {_fmt(settings['lr'])}, batch "
            f"{settings['batch_size']}: {steps} steps in {settings['epochs']} epoch"
            f"{'' if settings['epochs'] == 1 else 's'}"
        )
        if sweep.diverged_at[0] is not None:
            return text + (f' · <span style="color:#b00020"><b>diverged at step {sweep.diverged_at[0]}</b></span>')
        return (
            text + f" · training loss {float(sweep.final_train_loss[0]):.3g} · validation accuracy "
            f"{float(sweep.final_val_accuracy[0]):.1%}"
        )


def batch_explorer(optimizer: str = "SGD", *, lr: float = 0.1, batch_size: int = 32, epochs: int = 3) -> BatchExplorer:
    """Return a :class:`BatchExplorer`: the digits network trained with sliders for the batch size and the lr.

    ``optimizer`` is ``"SGD"``, ``"SGD, momentum 0.9"`` or ``"Adam"`` (torch's);
    ``batch_size`` one of 8, 16, 32, 64, 128, 256, 512 or 1437 (the whole
    training set). Each setting trains from the same initial weights.
    """
    return BatchExplorer(optimizer, lr=lr, batch_size=batch_size, epochs=epochs)


class Prediction(ipywidgets.VBox):
    """A question from :mod:`myoptim_helpers.predictions` as buttons; choosing one reveals the truth.

    Nothing is selected at first, so the notebook's stored output shows no answer.
    ``choose(index)`` does what a click does (for tests); ``readout.value`` holds the reveal.
    """

    def __init__(self, key: str):
        from . import predictions  # the questions, kept out of the lesson's source

        self.key = key
        self.question = predictions.QUESTIONS[key]
        self.buttons = ipywidgets.RadioButtons(
            options=list(self.question.choices), value=None, layout={"width": "max-content"}
        )
        self.readout = ipywidgets.HTML()
        super().__init__(
            children=[ipywidgets.HTML(f"<b>Predict:</b> {html.escape(self.question.text)}"), self.buttons, self.readout]
        )
        self.buttons.observe(self._on_choice, names="value")

    def choose(self, index: int) -> None:
        """Select choice ``index``, as a click on it would."""
        self.buttons.value = self.question.choices[index]

    def _on_choice(self, change) -> None:
        from . import predictions

        if change["new"] is None:
            return
        text = predictions.answer(self.key, self.question.choices.index(change["new"]))
        self.readout.value = html.escape(text, quote=False)

    def __repr__(self) -> str:
        """One deterministic line without the answer (a notebook's text output)."""
        return f"Prediction({self.key!r}: choose one of {len(self.question.choices)} answers)"


def predict(key: str) -> Prediction:
    """Show prediction ``key`` (e.g. ``"04.scale"``): the learner picks an answer, then sees the truth."""
    return Prediction(key)
