"""Toy problems made in code: 2-D loss surfaces and small datasets.

Nothing here downloads, prints or plots, and nothing touches torch's global
random number generator: every dataset draws from its own
``torch.Generator`` seeded by the ``seed`` argument, so the same seed gives
the same tensors in every notebook and on every machine.

Surfaces
    ``get_surface(name)`` or ``SURFACES[name]`` gives a :class:`Surface`:
    a function of a parameter tensor of shape ``(2,)`` together with what a
    plot needs (known minima, a suggested start, plot bounds).

Datasets
    ``linear_data``, ``two_moons`` and ``polynomial_data`` (with train and
    validation parts, for the weight-decay lesson); ``digits``, scikit-learn's
    1,797 handwritten 8×8 digits with a fixed train/validation split, and
    ``digits_mlp``, a small network that learns them (lesson 08).
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = [
    "Surface",
    "SURFACES",
    "get_surface",
    "Dataset",
    "SplitDataset",
    "linear_data",
    "two_moons",
    "polynomial_data",
    "polynomial_features",
    "PolynomialFeatures",
    "digits",
    "digits_mlp",
    "DIGITS_VALIDATION",
]


# ---------------------------------------------------------------------------
# Surfaces
# ---------------------------------------------------------------------------

Point = tuple[float, float]


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface ``f(x, y)`` with what a trajectory plot needs.

    Call it like a function: ``surface(torch.tensor([x, y]))`` returns the loss
    as a 0-dim tensor (differentiable, in the input's dtype). It also accepts
    a tensor of shape ``(..., 2)`` and returns shape ``(...)``, which is how
    :meth:`grid` evaluates a whole contour grid in one call.

    Attributes:
        name: the key in :data:`SURFACES`.
        function: the torch function of a ``(..., 2)`` tensor.
        minima: known local minima ``(x, y)``, the global one first; empty
            when the surface has no minimum (``"saddle"``).
        minimum_values: ``f`` at each of ``minima``, in the same order.
        start: a suggested start for optimizers, inside ``bounds``.
        bounds: ``((xmin, xmax), (ymin, ymax))`` for plots.
        description: one line for titles and readouts.
        saddle_points: known saddle points, marked on plots.
    """

    name: str
    function: Callable[[Tensor], Tensor] = field(repr=False, compare=False)
    minima: tuple[Point, ...]
    minimum_values: tuple[float, ...]
    start: Point
    bounds: tuple[Point, Point]
    description: str
    saddle_points: tuple[Point, ...] = ()

    def __call__(self, xy: Tensor) -> Tensor:
        """Return ``f(xy)`` for ``xy`` of shape ``(2,)`` (or ``(..., 2)``)."""
        return self.function(xy)

    @property
    def global_minimum(self) -> Point | None:
        """The global minimum ``(x, y)``, or ``None`` when there is none."""
        return self.minima[0] if self.minima else None

    @property
    def minimum_value(self) -> float | None:
        """``f`` at the global minimum, or ``None`` when there is none."""
        return self.minimum_values[0] if self.minimum_values else None

    def distance_to_minimum(self, xy) -> float | None:
        """Return the Euclidean distance from ``xy`` to the nearest listed minimum (``None`` if there is none)."""
        if not self.minima:
            return None
        x, y = (float(v) for v in xy)
        return min(math.hypot(x - mx, y - my) for mx, my in self.minima)

    def grid(self, n: int = 200, *, dtype: torch.dtype = torch.float64):
        """Return ``(X, Y, Z)``, each of shape ``(n, n)``: ``f`` sampled on ``bounds``.

        ``X[i, j]`` varies along ``j`` (columns) and ``Y[i, j]`` along ``i``,
        the layout ``matplotlib.axes.Axes.contour`` expects.
        """
        (xmin, xmax), (ymin, ymax) = self.bounds
        xs = torch.linspace(xmin, xmax, n, dtype=dtype)
        ys = torch.linspace(ymin, ymax, n, dtype=dtype)
        Y, X = torch.meshgrid(ys, xs, indexing="ij")
        with torch.no_grad():
            Z = self.function(torch.stack((X, Y), dim=-1))
        return X, Y, Z


def _ravine(p: Tensor) -> Tensor:
    # d2l's ill-conditioned quadratic: Hessian diag(0.2, 4), condition number 20.
    x, y = p[..., 0], p[..., 1]
    return 0.1 * x**2 + 2 * y**2


def _rosenbrock(p: Tensor) -> Tensor:
    x, y = p[..., 0], p[..., 1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _beale(p: Tensor) -> Tensor:
    x, y = p[..., 0], p[..., 1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _saddle(p: Tensor) -> Tensor:
    x, y = p[..., 0], p[..., 1]
    return x**2 - y**2


def _bumpy(p: Tensor) -> Tensor:
    # A shallow bowl centred at (0.5, 0.3) plus a cosine ripple: five minima in
    # the plotted square, the global one near the centre.
    x, y = p[..., 0], p[..., 1]
    return 0.1 * ((x - 0.5) ** 2 + (y - 0.3) ** 2) - torch.cos(1.6 * x) * torch.cos(1.6 * y)


# The bumpy minima have no closed form. They were found once by Newton's method
# in float64 from a grid of starts (gradient norm below 1e-15 at every point)
# and are hard-coded to full float64 precision; tests/test_problems.py checks
# that each one is still a stationary point with a positive definite Hessian.
_BUMPY_MINIMA = (
    ((0.03627117422460822, 0.02177721565158303), -0.9684653198052253),
    ((1.8550084662250277, 1.8405145076520026), -0.5450428930917532),
    ((1.8532498478098904, -1.795201457933699), -0.32689205558879597),
    ((-1.7790754230677313, 1.8371238129439222), -0.18159644440321687),
    ((-1.775839178321337, -1.790333136894362), 0.0360610892837111),
)

_SURFACE_LIST = (
    Surface(
        name="ravine",
        function=_ravine,
        minima=((0.0, 0.0),),
        minimum_values=(0.0,),
        start=(-4.0, 2.0),
        bounds=((-5.0, 5.0), (-3.0, 3.0)),
        description="0.1 x² + 2 y²: a long narrow valley (curvatures 0.2 and 4), minimum 0 at (0, 0)",
    ),
    Surface(
        name="rosenbrock",
        function=_rosenbrock,
        minima=((1.0, 1.0),),
        minimum_values=(0.0,),
        start=(-1.2, 1.0),
        bounds=((-2.0, 2.0), (-1.0, 3.0)),
        description="(1 − x)² + 100 (y − x²)²: a curved banana valley, minimum 0 at (1, 1)",
    ),
    Surface(
        name="beale",
        function=_beale,
        minima=((3.0, 0.5),),
        minimum_values=(0.0,),
        start=(1.0, 1.5),
        bounds=((-4.5, 4.5), (-4.5, 4.5)),
        description="Beale's function: flat plateaus and steep walls, minimum 0 at (3, 0.5)",
    ),
    Surface(
        name="saddle",
        function=_saddle,
        minima=(),
        minimum_values=(),
        start=(-2.0, 0.01),
        bounds=((-2.5, 2.5), (-2.5, 2.5)),
        description="x² − y²: a saddle point at (0, 0) and no minimum (unbounded below along y)",
        saddle_points=((0.0, 0.0),),
    ),
    Surface(
        name="bumpy",
        function=_bumpy,
        minima=tuple(point for point, _ in _BUMPY_MINIMA),
        minimum_values=tuple(value for _, value in _BUMPY_MINIMA),
        start=(-2.5, -2.5),
        bounds=((-3.0, 3.0), (-3.0, 3.0)),
        description=("a bowl plus a cosine ripple: five local minima, the global one (−0.968) near (0.04, 0.02)"),
    ),
)

SURFACES = types.MappingProxyType({s.name: s for s in _SURFACE_LIST})
"""Every surface by name (read-only): ravine, rosenbrock, beale, saddle, bumpy."""


def get_surface(name: str | Surface) -> Surface:
    """Return the :class:`Surface` called ``name`` (a Surface is returned unchanged).

    Raises ``ValueError`` naming the valid surfaces for an unknown name.
    """
    if isinstance(name, Surface):
        return name
    if not isinstance(name, str):
        raise TypeError(f"a surface is given by name (a str) or as a Surface, got {name!r} ({type(name).__name__})")
    try:
        return SURFACES[name]
    except KeyError:
        valid = ", ".join(repr(n) for n in SURFACES)
        raise ValueError(f"Unknown surface {name!r}; choose one of {valid}") from None


# ---------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------


class Dataset(NamedTuple):
    """Inputs and targets; unpacks as ``x, y = dataset``."""

    x: Tensor
    y: Tensor


class SplitDataset(NamedTuple):
    """Training and validation parts; unpacks as ``x_train, y_train, x_val, y_val = dataset``."""

    x_train: Tensor
    y_train: Tensor
    x_val: Tensor
    y_val: Tensor


def _generator(seed: int) -> torch.Generator:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r} ({type(seed).__name__})")
    return torch.Generator().manual_seed(seed)


def _check_count(name: str, n: int, minimum: int = 1) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{name} must be an int, got {n!r} ({type(n).__name__})")
    if n < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {n}")


def linear_data(
    n: int = 100,
    *,
    slope: float = 2.0,
    intercept: float = 1.0,
    noise: float = 0.3,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> Dataset:
    """Return ``Dataset(x, y)``, both of shape ``(n, 1)``: ``y = slope·x + intercept + noise``.

    ``x`` is uniform on [-1, 1] and the noise is Gaussian with standard
    deviation ``noise``. The least-squares line is close to, not exactly,
    ``(slope, intercept)``; that gap is the noise.
    """
    _check_count("n", n)
    g = _generator(seed)
    x = torch.rand(n, 1, generator=g, dtype=torch.float64) * 2 - 1
    y = slope * x + intercept + noise * torch.randn(n, 1, generator=g, dtype=torch.float64)
    return Dataset(x.to(dtype), y.to(dtype))


def two_moons(
    n: int = 200,
    *,
    noise: float = 0.1,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> Dataset:
    """Return ``Dataset(x, y)``: two interleaved half circles.

    ``x`` has shape ``(n, 2)``, ``y`` holds class labels 0/1, shape ``(n,)``.

    Class 0 is the upper moon, class 1 the lower one (``n // 2`` points in
    class 0, the rest in class 1), with Gaussian noise of standard deviation
    ``noise`` added to both coordinates. Not linearly separable, so a
    straight-line classifier cannot reach 100% accuracy but a small MLP can.
    The points come in a shuffled order.
    """
    _check_count("n", n, minimum=2)
    g = _generator(seed)
    n0 = n // 2
    n1 = n - n0
    t0 = torch.rand(n0, generator=g, dtype=torch.float64) * math.pi
    t1 = torch.rand(n1, generator=g, dtype=torch.float64) * math.pi
    upper = torch.stack((torch.cos(t0), torch.sin(t0)), dim=1)
    lower = torch.stack((1 - torch.cos(t1), 0.5 - torch.sin(t1)), dim=1)
    x = torch.cat((upper, lower)) + noise * torch.randn(n, 2, generator=g, dtype=torch.float64)
    y = torch.cat((torch.zeros(n0, dtype=torch.long), torch.ones(n1, dtype=torch.long)))
    order = torch.randperm(n, generator=g)
    return Dataset(x[order].to(dtype), y[order])


def _cubic(x: Tensor) -> Tensor:
    return 0.5 + x - 2.0 * x**3


def polynomial_data(
    n_train: int = 12,
    n_val: int = 100,
    *,
    noise: float = 0.2,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> SplitDataset:
    """Return ``SplitDataset(x_train, y_train, x_val, y_val)``, each of shape ``(n, 1)``.

    The truth is the cubic ``y = 0.5 + x − 2x³`` on ``x ∈ [-1, 1]`` plus
    Gaussian noise of standard deviation ``noise``. With few training points a
    high-degree polynomial model (see :class:`PolynomialFeatures`) fits the
    noise: its training loss keeps falling while the validation loss rises,
    which is what weight decay cures.
    """
    _check_count("n_train", n_train)
    _check_count("n_val", n_val)
    g = _generator(seed)
    x_train = torch.rand(n_train, 1, generator=g, dtype=torch.float64) * 2 - 1
    x_val = torch.rand(n_val, 1, generator=g, dtype=torch.float64) * 2 - 1
    y_train = _cubic(x_train) + noise * torch.randn(n_train, 1, generator=g, dtype=torch.float64)
    y_val = _cubic(x_val) + noise * torch.randn(n_val, 1, generator=g, dtype=torch.float64)
    return SplitDataset(*(t.to(dtype) for t in (x_train, y_train, x_val, y_val)))


def polynomial_features(x: Tensor, degree: int) -> Tensor:
    """Return ``[x, x², …, x^degree]`` as columns: shape ``(n, degree)`` for ``x`` of shape ``(n, 1)``."""
    _check_count("degree", degree)
    if x.dim() != 2 or x.shape[1] != 1:
        raise ValueError(f"x must have shape (n, 1), got {tuple(x.shape)}")
    powers = torch.arange(1, degree + 1, dtype=x.dtype, device=x.device)
    return x**powers


class PolynomialFeatures(torch.nn.Module):
    """A module that maps ``x`` of shape ``(n, 1)`` to ``[x, x², …, x^degree]``.

    ``torch.nn.Sequential(PolynomialFeatures(10), torch.nn.Linear(10, 1))`` is
    a degree-10 polynomial model for :func:`polynomial_data`.
    """

    def __init__(self, degree: int):
        super().__init__()
        _check_count("degree", degree)
        self.degree = degree

    def forward(self, x: Tensor) -> Tensor:
        """Return :func:`polynomial_features` of ``x``."""
        return polynomial_features(x, self.degree)

    def extra_repr(self) -> str:
        """Show the degree in the module's repr."""
        return f"degree={self.degree}"


# ---------------------------------------------------------------------------
# Real data: scikit-learn's digits
# ---------------------------------------------------------------------------

DIGITS_VALIDATION = 360
"""How many of the 1,797 digits :func:`digits` keeps for validation (20%)."""


def _digits_table():
    """Return the digits as a float64 numpy array of shape (1797, 65): 64 pixels (0–16), then the label.

    This is the file ``sklearn.datasets.load_digits`` reads. Importing
    scikit-learn costs about 1.5 s (it imports scipy), a large part of a
    lesson's time budget, so the file is located from the installed package
    without importing it; ``tests/test_problems.py`` checks that the table is
    exactly ``load_digits``'s. If the file has moved, ``load_digits`` is used.
    """
    import gzip
    import importlib.util
    import os

    import numpy as np

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("digits() needs scikit-learn, which ships the data set: pip install scikit-learn")
    path = os.path.join(spec.submodule_search_locations[0], "datasets", "data", "digits.csv.gz")
    if os.path.exists(path):
        with gzip.open(path, "rt") as file:
            return np.loadtxt(file, delimiter=",")
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return np.column_stack((x, y))


def digits(
    n_val: int = DIGITS_VALIDATION,
    *,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> SplitDataset:
    """Return scikit-learn's handwritten digits as ``SplitDataset(x_train, y_train, x_val, y_val)``.

    1,797 images of 8×8 pixels, flattened to 64 inputs scaled from 0–16 to
    0–1, with class labels 0–9 (``torch.long``). A permutation drawn from
    ``seed`` picks the ``n_val`` validation digits; the rest (1,437 by
    default) are for training. The same seed gives the same split everywhere.
    The data ships inside scikit-learn: nothing is downloaded.
    """
    _check_count("n_val", n_val)
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    table = torch.from_numpy(_digits_table())
    if n_val >= table.shape[0]:
        raise ValueError(f"n_val must leave digits for training: at most {table.shape[0] - 1}, got {n_val}")
    order = torch.randperm(table.shape[0], generator=_generator(seed))
    x = (table[:, :64] / 16.0).to(dtype)
    y = table[:, 64].long()
    val, train = order[:n_val], order[n_val:]
    return SplitDataset(x[train], y[train], x[val], y[val])


def digits_mlp(hidden: int = 32, *, dtype: torch.dtype = torch.float64) -> torch.nn.Sequential:
    """Return a small network for :func:`digits`: ``Linear(64, hidden)``, ``ReLU``, ``Linear(hidden, 10)``.

    It outputs 10 logits (use ``cross_entropy``); with the default 32 hidden
    units it has 2,410 parameters and reaches about 97% validation accuracy in
    a few epochs. Seed torch before calling it for reproducible weights.
    """
    _check_count("hidden", hidden)
    return torch.nn.Sequential(
        torch.nn.Linear(64, hidden, dtype=dtype),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 10, dtype=dtype),
    )
