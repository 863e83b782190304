"""The trajectory explorer: an optimizer's path over a 2-D surface, with sliders for its hyperparameters."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets
from matplotlib.ticker import MaxNLocator, ScalarFormatter

from .. import optim, plotting, problems, training
from ..training._arguments import check_lr, check_steps
from ._base import SLIDER_LAYOUT, SLIDER_STYLE, Explorer, fmt, menu, one_of, png

__all__ = ["TrajectoryExplorer", "trajectory_explorer"]


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

# Fixed panel positions (figure fractions) instead of a layout engine: a
# surface's background is rendered once and must not move between frames.
_PATH_RECT = (0.06, 0.13, 0.41, 0.79)
_LOSS_RECT = (0.575, 0.13, 0.41, 0.79)
_MARKER_KEY = (
    '<span style="color:#555">○ start · ★ minimum (☆ other local minima) · ✚ saddle point · '
    "✖ last finite point of a diverged run (on the edge if it left the plot)</span>"
)


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


class TrajectoryExplorer(Explorer):
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
        one_of(optimizer, _OPTIMIZERS, "optimizer")
        lr = _DEFAULT_LR[optimizer] if lr is None else lr
        check_lr(lr)
        check_steps(steps)
        common = {"continuous_update": False, "layout": SLIDER_LAYOUT, "style": SLIDER_STYLE}
        controls = {
            "surface": menu(list(problems.SURFACES), surface, "surface"),
            "optimizer": menu(list(_OPTIMIZERS), optimizer, "optimizer"),
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
        parts = [f"lr={fmt(kwargs['lr'])}"]
        if "momentum" in kwargs:
            parts.append(f"momentum={fmt(kwargs['momentum'])}")
        if "betas" in kwargs:
            parts.append(f"betas=({fmt(kwargs['betas'][0])}, {fmt(kwargs['betas'][1])})")
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
        self.image.value = png(self._canvas)
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
