"""The rate explorer: heavy ball's convergence factor on the ravine as a function of (lr, μ).

Three panels, after Goh's "Why Momentum Really Works" (Distill, 2017):

- the factor map of the slowest direction over (lr, μ), with the chosen point and Polyak's optimum;
- the roots z₁, z₂ of each direction in the complex plane, with the unit circle (inside it a
  direction converges) and the circle of radius √μ (complex roots sit on it); a root off the
  drawn square is an arrow at its edge, and the readout gives its value;
- the error of each coordinate in a real ``torch.optim.SGD`` run on the ravine, against the
  formula's ρᵗ, on a log axis (an error of exactly 0 has no place there: the readout says so).

A button sets (lr, μ) to Polyak's optimum, which the sliders' steps do not hit.
"""

from __future__ import annotations

import html
import math
import numbers

import ipywidgets
import numpy as np
import torch

from .. import spectral, training
from ..training._arguments import check_lr, check_steps
from ._base import SLIDER_LAYOUT, SLIDER_STYLE, Explorer, png

__all__ = ["RateExplorer", "rate_explorer"]

LR_RANGE = (0.005, 1.2)  # the sliders' ranges, and the factor map's axes
MOMENTUM_RANGE = (0.0, 0.99)
_COLORS = {"x": "#1f77b4", "y": "#ff7f0e"}  # matplotlib's tab:blue and tab:orange, also valid CSS for the readout
# Fixed panel positions (figure fractions): the factor map is drawn once, and panels must not move.
_MAP_RECT = (0.05, 0.15, 0.25, 0.72)
_BAR_RECT = (0.305, 0.15, 0.01, 0.72)
_ROOTS_RECT = (0.425, 0.15, 0.21, 0.72)
_RUN_RECT = (0.71, 0.15, 0.28, 0.72)
_ROOTS_EDGE = 1.55  # the roots panel shows [-1.6, 1.6]²; a root beyond this is drawn as an arrow here


def _check_momentum(momentum) -> None:
    if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
        raise TypeError(f"momentum must be a number, got {momentum!r} ({type(momentum).__name__})")
    if momentum < 0:
        raise ValueError(f"Invalid momentum value: {momentum}")  # torch.optim.SGD's words
    if momentum > MOMENTUM_RANGE[1]:
        raise ValueError(
            f"momentum must be at most {MOMENTUM_RANGE[1]} here (the slider's range; at 1 nothing converges), "
            f"got {momentum}"
        )


def _factor(lr: float, mu: float, curvature: float) -> float:
    """The formula's factor per step, with float64 rounding (spectral.ROUNDING) taken out:
    1 within rounding is 1, and a double root's factor is √μ (the square root of a
    discriminant that should be 0 but is 1e-16 would add 1e-8)."""
    if spectral.regime(lr, mu, curvature) == "double":
        return math.sqrt(mu)
    rate = float(spectral.momentum_rate(lr, mu, curvature))
    return 1.0 if abs(rate - 1) <= spectral.ROUNDING else rate


def _steps_text(rate: float) -> str:
    if rate == 1:
        return "never shrinks"
    if rate > 1:
        return "diverges"
    if rate == 0:
        return "gone after one step"
    return f"{spectral.steps_per_e(rate):.1f} steps per factor e"


def _zero_text(name: str, error: np.ndarray) -> str:
    """Say when a coordinate's error is exactly 0: the log plot cannot draw it."""
    zeros = np.flatnonzero(error == 0)
    if not zeros.size:
        return ""
    first = int(zeros[0])
    if (error[first:] == 0).all():
        return f"{name} is exactly 0 after step {first} (so its curve ends there on the log plot)"
    return f"{name} is exactly 0 at step {first} (a gap in its curve on the log plot)"


class RateExplorer(Explorer):
    """Heavy ball on the ravine: the factor per step of each direction as lr and momentum move.

    Create it with :func:`rate_explorer`. ``history`` is the current torch.optim.SGD run
    (a :class:`~myoptim_helpers.training.History`), ``rates`` the formula's factor per
    direction (``{"x": ρ_x, "y": ρ_y}``, 1 and double roots within float64 rounding taken
    as exact, see :data:`~myoptim_helpers.spectral.ROUNDING`); ``runs`` counts runs and
    ``renders`` redraws. :meth:`go_to_optimum` (the button) sets Polyak's optimum.
    """

    def __init__(
        self,
        *,
        lr: float = 0.05,
        momentum: float = 0.9,
        steps: int = 60,
        figsize: tuple[float, float] = (13.0, 4.0),
        dpi: int = 72,
    ):
        check_lr(lr)
        if not LR_RANGE[0] <= lr <= LR_RANGE[1]:
            raise ValueError(f"lr must be from {LR_RANGE[0]} to {LR_RANGE[1]} here (the slider's range), got {lr}")
        _check_momentum(momentum)
        check_steps(steps)
        if steps > 300:
            raise ValueError(f"steps must be at most 300 here (the slider's range), got {steps}")
        common = {"continuous_update": False, "layout": SLIDER_LAYOUT, "style": SLIDER_STYLE}
        controls = {
            "lr": ipywidgets.FloatSlider(
                value=lr,
                min=LR_RANGE[0],
                max=LR_RANGE[1],
                step=0.001,  # fine enough to land next to the optimum (0.668, 0.403)
                readout_format=".3f",
                description="learning rate",
                **common,
            ),
            "momentum": ipywidgets.FloatSlider(
                value=momentum,
                min=MOMENTUM_RANGE[0],
                max=MOMENTUM_RANGE[1],
                step=0.001,
                readout_format=".3f",
                description="momentum",
                **common,
            ),
            "steps": ipywidgets.IntSlider(value=steps, min=5, max=300, description="steps", **common),
        }
        super().__init__(controls, figsize, dpi)
        self.curvatures = dict(spectral.RAVINE_CURVATURES)
        self.history: training.History | None = None
        self.rates: dict[str, float] = {}
        self._key = None
        self._paused = False
        self.optimum_button = ipywidgets.Button(
            description="go to the optimum ★", tooltip="Polyak's (lr*, μ*): both directions on the border"
        )
        self.optimum_button.on_click(self.go_to_optimum)
        panel = self.children[0]
        panel.children = (*panel.children, self.optimum_button)
        self._draw_static()
        self.update()

    def go_to_optimum(self, _button=None) -> None:
        """Set the sliders to Polyak's optimum (lr*, μ*) exactly, and redraw once."""
        best_lr, best_mu, _ = spectral.optimal_momentum(*self._extremes())
        self._paused = True  # one run for the pair, not one per slider
        try:
            self.controls["lr"].value = best_lr
            self.controls["momentum"].value = best_mu
        finally:
            self._paused = False
        self._on_change(None)

    def _extremes(self) -> tuple[float, float]:
        return min(self.curvatures.values()), max(self.curvatures.values())

    # -- the parts drawn once -----------------------------------------------------------

    def _draw_static(self) -> None:
        fig = self._figure
        low, high = self._extremes()
        lrs = np.linspace(*LR_RANGE, 240)
        mus = np.linspace(*MOMENTUM_RANGE, 199)
        grid_lr, grid_mu = np.meshgrid(lrs, mus)
        worst = np.maximum(*(spectral.momentum_rate(grid_lr, grid_mu, lam) for lam in self.curvatures.values()))
        self._map = ax = fig.add_axes(_MAP_RECT)
        mesh = ax.pcolormesh(grid_lr, grid_mu, np.minimum(worst, 1.0), cmap="viridis", shading="auto", vmin=0.6, vmax=1)
        ax.contour(grid_lr, grid_mu, worst, levels=[1.0], colors="red", linewidths=1.2)
        best_lr, best_mu, _ = spectral.optimal_momentum(low, high)
        ax.plot(best_lr, best_mu, "*", color="white", markeredgecolor="black", markersize=13, label="optimum")
        (self._marker,) = ax.plot(
            [], [], "o", color="red", markeredgecolor="white", markersize=9, label="your (lr, μ)", clip_on=False
        )
        ax.plot([], [], color="red", linewidth=1.2, label="factor 1: the edge")
        ax.set(xlabel="learning rate", ylabel="momentum μ", title="factor per step (slowest direction)")
        ax.legend(loc="lower right", fontsize="x-small", framealpha=0.8)
        bar = fig.colorbar(mesh, cax=fig.add_axes(_BAR_RECT))
        bar.set_label("factor ρ per step", fontsize="small")
        bar.ax.tick_params(labelsize="small")

        self._roots = ax = fig.add_axes(_ROOTS_RECT)
        angle = np.linspace(0, 2 * np.pi, 200)
        ax.plot(np.cos(angle), np.sin(angle), color="black", linewidth=1, label="|z| = 1")
        (self._mu_circle,) = ax.plot([], [], color="gray", linestyle="--", linewidth=1, label="|z| = √μ")
        self._root_marks = {
            name: ax.plot([], [], "o", color=_COLORS[name], markersize=8, alpha=0.85, label=f"{name} (λ = {lam:g})")[0]
            for name, lam in self.curvatures.items()
        }
        # A real root beyond the square: an arrow at the edge pointing its way (at most one per
        # direction, the roots' product μ < 1), with its value next to it.
        self._off_marks = {
            name: ax.plot([], [], ">", color=_COLORS[name], markersize=10, markeredgecolor="black")[0]
            for name in self.curvatures
        }
        self._off_labels = {
            name: ax.text(0, 0, "", color=_COLORS[name], fontsize="small", ha="center", va="bottom")
            for name in self.curvatures
        }
        ax.plot([], [], ">", color="gray", markeredgecolor="black", label="root off the plot")
        ax.axhline(0, color="lightgray", linewidth=0.6, zorder=0)
        ax.axvline(0, color="lightgray", linewidth=0.6, zorder=0)
        ax.set(
            xlim=(-1.6, 1.6),
            ylim=(-1.6, 1.6),
            aspect="equal",
            xlabel="Re z",
            ylabel="Im z",
            title="roots z₁, z₂ of each direction",
        )
        ax.legend(loc="lower left", fontsize="x-small", framealpha=0.8, ncol=2)

        self._run_ax = ax = fig.add_axes(_RUN_RECT)
        self._run_lines, self._formula_lines = {}, {}
        for name in self.curvatures:
            (self._run_lines[name],) = ax.plot([], [], color=_COLORS[name], label=rf"$|{name}_t / {name}_0|$, torch")
            (self._formula_lines[name],) = ax.plot(
                [], [], color=_COLORS[name], linestyle=":", label=rf"formula $\rho_{name}^t$"
            )
        ax.set(yscale="log", xlabel="step t", ylabel="error / its start (log)", title="torch.optim.SGD on the ravine")
        ax.legend(loc="lower left", fontsize="x-small", framealpha=0.8, ncol=2)

    # -- compute, draw --------------------------------------------------------------------

    def _settings(self) -> dict:
        return {name: widget.value for name, widget in self.controls.items()}

    def __repr__(self) -> str:
        """Return the explorer's settings in one short, deterministic line (a notebook's text output)."""
        s = self._settings()
        return f"RateExplorer(lr={s['lr']:.4g}, momentum={s['momentum']:.4g}, steps={s['steps']})"

    def update(self) -> None:
        """Re-run torch.optim.SGD and redraw if a control changed."""
        settings = self._settings()
        key = tuple(sorted(settings.items()))
        if self._paused:
            return
        if key != self._key:
            lr, mu, steps = settings["lr"], settings["momentum"], settings["steps"]
            self.history = training.run(torch.optim.SGD, "ravine", steps, lr=lr, momentum=mu)
            self.rates = {name: _factor(lr, mu, lam) for name, lam in self.curvatures.items()}
            self.runs += 1
            self._draw(lr, mu)
            self._key = key
        self.error = None
        self.readout.value = self._readout(settings["lr"], settings["momentum"])

    def _errors(self) -> dict[str, np.ndarray]:
        """Each coordinate's |u_t / u_0| in the current run (the ravine's axes are its eigenvectors)."""
        positions = self.history.positions.double()
        shrunk = (positions / positions[0]).abs().numpy()
        return {name: shrunk[:, k] for k, name in enumerate(self.curvatures)}

    def _draw(self, lr: float, mu: float) -> None:
        self._marker.set_data([lr], [mu])
        angle = np.linspace(0, 2 * np.pi, 100)
        self._mu_circle.set_data(math.sqrt(mu) * np.cos(angle), math.sqrt(mu) * np.sin(angle))
        for name, lam in self.curvatures.items():
            roots = np.array(spectral.momentum_roots(lr, mu, lam))
            inside = (abs(roots.real) <= _ROOTS_EDGE) & (abs(roots.imag) <= _ROOTS_EDGE)
            self._root_marks[name].set_data(roots.real[inside], roots.imag[inside])
            off, label = self._off_marks[name], self._off_labels[name]
            if inside.all():
                off.set_data([], [])
                label.set_text("")
            else:  # complex roots have |z| = √μ < 1, so a root off the square is real
                value = float(roots.real[~inside][0])
                edge = math.copysign(_ROOTS_EDGE, value)
                off.set_data([edge], [0.0])
                off.set_marker(">" if value > 0 else "<")
                label.set_position((edge, 0.12 if name == "x" else -0.3))
                label.set_text(f"{value:.2f}")
                label.set_ha("right" if value > 0 else "left")
        errors, t = self._errors(), np.arange(len(self.history.positions))
        shown = []
        for name, error in errors.items():
            self._run_lines[name].set_data(t, error)
            formula = self.rates[name] ** t.astype(float)
            self._formula_lines[name].set_data(t, formula)
            shown += [error[error > 0], formula[formula > 0]]
        values = np.concatenate(shown)
        finite = values[np.isfinite(values)]
        low = max(float(finite.min()), 1e-16) if finite.size else 1e-16
        high = min(float(finite.max()), 1e12) if finite.size else 10.0
        self._run_ax.set_ylim(low / 2, max(high * 2, 2.0))
        self._run_ax.set_xlim(0, max(len(t) - 1, 1))
        self._canvas.draw()
        self.image.value = png(self._canvas)
        self.renders += 1

    def _readout(self, lr: float, mu: float) -> str:
        parts, kinds = [], []
        errors = self._errors()
        for name, lam in self.curvatures.items():
            rate = self.rates[name]
            kind = spectral.regime(lr, mu, lam)
            kinds.append(kind)
            regime_text = {
                "complex": "complex roots, |z| = √μ",
                "double": "a double root: on the border between real and complex",
                "real": "real roots",
            }[kind]
            notes = [f"factor {rate:.4f} per step", regime_text, _steps_text(rate)]
            off = [z.real for z in spectral.momentum_roots(lr, mu, lam) if abs(z.real) > _ROOTS_EDGE]
            notes += [f"root {z:.3f} is off the plot (the arrow at its edge)" for z in off]
            zero = _zero_text(name, errors[name])
            notes += [zero] if zero else []
            parts.append(
                f'<b style="color:{_COLORS[name]}">{name}</b> (λ = {lam:g}): ' + html.escape(" · ".join(notes))
            )
        slowest = max(self.rates, key=self.rates.get)
        tied = math.isclose(min(self.rates.values()), self.rates[slowest], rel_tol=1e-9)
        pace = "both directions go at the same pace" if tied else f"slowest: <b>{slowest}</b> sets the pace"
        if all(kind == "double" for kind in kinds):
            pace = "both directions sit on the border (double roots within float64 rounding): the optimum · " + pace
        steps = len(self.history.positions) - 1
        measured = ", ".join(f"|{n}/{n}₀| = {e[-1]:.3g}" for n, e in errors.items())
        run = html.escape(f"torch.optim.SGD after {steps} steps: {measured}")
        if self.history.diverged:
            run += f' <span style="color:#b00020">(diverged at step {self.history.diverged_at})</span>'
        return "<br>".join([*parts, f"{pace} · {run}"])


def rate_explorer(*, lr: float = 0.05, momentum: float = 0.9, steps: int = 60) -> RateExplorer:
    """Return a :class:`RateExplorer`: heavy ball's factor per step on the ravine, with sliders
    for the learning rate, the momentum and the number of steps of the torch run shown."""
    return RateExplorer(lr=lr, momentum=momentum, steps=steps)
