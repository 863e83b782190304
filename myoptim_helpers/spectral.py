"""The spectral view of heavy-ball momentum on a quadratic (lesson 03, section 8).

On :math:`f(\\theta) = \\tfrac12 \\sum_i \\lambda_i u_i^2` torch's SGD with momentum
:math:`\\mu` moves each eigen-coordinate :math:`u_i` on its own:
:math:`b_t = \\mu b_{t-1} + \\lambda u_{t-1}`, :math:`u_t = u_{t-1} - \\text{lr}\\, b_t`, that is
:math:`u_t = (1 + \\mu - \\text{lr}\\,\\lambda)\\, u_{t-1} - \\mu\\, u_{t-2}`. Its solutions are
:math:`c_1 z_1^t + c_2 z_2^t` with :math:`z_{1,2}` the roots of
:math:`z^2 - (1 + \\mu - \\text{lr}\\,\\lambda) z + \\mu`, and the error along the direction
shrinks by about :math:`\\rho = \\max(|z_1|, |z_2|)` per step (Goh, "Why Momentum Really
Works", Distill 2017; Polyak 1964 for the optimum).

Plain numpy, no plotting: the lesson, :mod:`~myoptim_helpers.predictions` and the rate
explorer (:mod:`~myoptim_helpers.widgets.momentum`) share these functions.
"""

from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np

__all__ = [
    "RAVINE_CURVATURES",
    "ROUNDING",
    "momentum_roots",
    "momentum_rate",
    "regime",
    "steps_per_e",
    "optimal_sgd",
    "optimal_momentum",
]

# The Hessian of problems' ravine 0.1 x² + 2 y² is diag(0.2, 4): its eigenvectors are the axes.
RAVINE_CURVATURES = MappingProxyType({"x": 0.2, "y": 4.0})

# The one tolerance for float64 rounding in these formulas. A factor within ROUNDING of 1 is 1
# (lr = 0.95, μ = 0.9 gives a root of 1 − 5e-16 where the exact one is −1), and a
# discriminant (1 + μ − lr·λ)² − 4μ within ROUNDING of 0 is a double root (Polyak's optimum):
# rounding is a few 1e-16 there, far below any difference the lesson's settings make.
ROUNDING = 1e-12


def momentum_roots(lr, momentum, curvature):
    """Return ``(z1, z2)``, the roots of z² − (1 + μ − lr·λ) z + μ, as complex arrays.

    The arguments broadcast (numbers or numpy arrays). With ``momentum=0`` the roots are
    1 − lr·λ (plain SGD's factor) and 0.
    """
    trace = 1 + np.asarray(momentum) - np.asarray(lr) * curvature
    root = np.sqrt(trace.astype(complex) ** 2 - 4 * np.asarray(momentum))
    return (trace + root) / 2, (trace - root) / 2


def momentum_rate(lr, momentum, curvature):
    """Return ρ = max(|z1|, |z2|): heavy ball's convergence factor per step along a
    direction of curvature λ (arrays broadcast); ρ < 1 converges, and √μ when the roots are complex."""
    z1, z2 = momentum_roots(lr, momentum, curvature)
    return np.maximum(abs(z1), abs(z2))


def regime(lr: float, momentum: float, curvature: float) -> str:
    """Return ``"complex"`` when the roots are complex (the coordinate spirals in, |z| = √μ),
    ``"double"`` on the border between the two (the discriminant is 0 within :data:`ROUNDING`)
    and ``"real"`` otherwise (including plain SGD, μ = 0)."""
    trace = 1 + momentum - lr * curvature
    discriminant = trace * trace - 4 * momentum
    if momentum > 0 and abs(discriminant) <= ROUNDING:
        return "double"
    return "complex" if discriminant < 0 else "real"


def steps_per_e(rate: float) -> float:
    """Return the steps a factor ``rate`` per step needs to shrink an error e-fold, 1 / −ln ρ
    (``math.inf`` when ρ ≥ 1, 0 when ρ = 0)."""
    rate = float(rate)
    if rate >= 1:
        return math.inf
    if rate == 0:
        return 0.0
    return 1 / -math.log(rate)


def optimal_sgd(low: float, high: float) -> tuple[float, float]:
    """Return plain SGD's best ``(lr, factor)`` for curvatures from ``low`` to ``high``:
    lr* = 2 / (λ_min + λ_max), factor (κ − 1) / (κ + 1) with κ = λ_max / λ_min."""
    kappa = high / low
    return 2 / (low + high), (kappa - 1) / (kappa + 1)


def optimal_momentum(low: float, high: float) -> tuple[float, float, float]:
    """Return heavy ball's best ``(lr, momentum, factor)`` for curvatures from ``low`` to
    ``high`` (Polyak): lr* = 4 / (√λ_max + √λ_min)², μ* = ((√κ − 1) / (√κ + 1))², factor √μ*."""
    kappa = high / low
    mu = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    return 4 / (math.sqrt(high) + math.sqrt(low)) ** 2, mu, math.sqrt(mu)
