"""The schedule explorer: a learning-rate schedule, with sliders for its scheduler's parameters."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets

from .. import plotting, training
from ..training._arguments import check_lr, check_steps
from ._base import SLIDER_LAYOUT, SLIDER_STYLE, Explorer, fmt, menu, one_of, png

__all__ = ["ScheduleExplorer", "schedule_explorer"]


def _scheduler_module():
    """The scheduler classes the schedule explorer uses.

    Ours; torch's ``torch.optim.lr_scheduler`` has the same names.
    """
    from .. import lr_scheduler

    return lr_scheduler


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


class ScheduleExplorer(Explorer):
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
        one_of(scheduler, _SCHEDULERS, "scheduler")
        check_lr(lr)
        check_steps(steps)
        if steps < 2:
            raise ValueError(f"steps must be at least 2 for a schedule, got {steps}")
        longest = max(500, steps)
        common = {"continuous_update": False, "layout": SLIDER_LAYOUT, "style": SLIDER_STYLE}
        controls = {
            "scheduler": menu([(_SCHEDULER_LABELS.get(n, n), n) for n in _SCHEDULERS], scheduler, "scheduler"),
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
                layout=SLIDER_LAYOUT,
                style=SLIDER_STYLE,
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
            "anneal_strategy": menu(["cos", "linear"], "cos", "anneal_strategy"),
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
        parts += [f"{k}={fmt(v) if isinstance(v, float) else repr(v)}" for k, v in settings.items()]
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
        self.image.value = png(self._canvas)
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
