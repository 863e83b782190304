"""Surfaces and datasets of myoptim_helpers.problems.

Gradients are checked against central finite differences, minima against the
gradient and Hessian computed by autograd, datasets against their
definitions; nothing compares the code with itself.
"""

import dataclasses
import math

import numpy as np
import pytest
import torch

from myoptim_helpers import problems
from myoptim_helpers.problems import SURFACES, get_surface

SURFACE_NAMES = ["ravine", "rosenbrock", "beale", "saddle", "bumpy"]

# (surface, point, value) for every listed minimum, and the known closed forms.
MINIMA = [(s.name, point, value) for s in SURFACES.values() for point, value in zip(s.minima, s.minimum_values)]
KNOWN_MINIMA = [
    ("ravine", (0.0, 0.0), 0.0),
    ("rosenbrock", (1.0, 1.0), 0.0),
    ("beale", (3.0, 0.5), 0.0),
]
SADDLES = [(s.name, point) for s in SURFACES.values() for point in s.saddle_points]


def _points(surface, n=12, seed=0):
    """``n`` points spread over the surface's bounds, plus its start and minima."""
    g = torch.Generator().manual_seed(seed)
    (xmin, xmax), (ymin, ymax) = surface.bounds
    u = torch.rand(n, 2, generator=g, dtype=torch.float64)
    pts = torch.stack((xmin + (xmax - xmin) * u[:, 0], ymin + (ymax - ymin) * u[:, 1]), dim=1)
    extra = [surface.start, *surface.minima]
    return torch.cat((pts, torch.tensor(extra, dtype=torch.float64)))


def _grad(surface, point):
    p = point.clone().requires_grad_(True)
    surface(p).backward()
    return p.grad


def _central_difference(surface, point, h=1e-6):
    grad = torch.zeros(2, dtype=torch.float64)
    for i in range(2):
        step = torch.zeros(2, dtype=torch.float64)
        step[i] = h
        with torch.no_grad():
            grad[i] = (surface(point + step) - surface(point - step)) / (2 * h)
    return grad


def _hessian(surface, point):
    return torch.autograd.functional.hessian(surface.function, torch.tensor(point, dtype=torch.float64))


def test_all_surfaces_are_registered():
    assert list(SURFACES) == SURFACE_NAMES


@pytest.mark.parametrize("name", SURFACE_NAMES)
def test_gradient_matches_central_differences(name):
    surface = get_surface(name)
    for point in _points(surface):
        # Central differences: error O(h²) plus rounding of order eps·|f|/h.
        scale = max(1.0, abs(float(surface(point))))
        torch.testing.assert_close(
            _grad(surface, point),
            _central_difference(surface, point),
            rtol=1e-6,
            atol=1e-7 * scale,
            msg=lambda m, point=point: f"{name} at {point.tolist()}: {m}",
        )


@pytest.mark.parametrize("name", SURFACE_NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_surface_keeps_the_dtype_and_is_differentiable(name, dtype):
    surface = get_surface(name)
    p = torch.tensor(surface.start, dtype=dtype, requires_grad=True)
    loss = surface(p)
    loss.backward()
    assert loss.shape == () and loss.dtype == dtype
    assert p.grad.dtype == dtype and torch.isfinite(p.grad).all()


@pytest.mark.parametrize("name, point, value", MINIMA)
def test_each_listed_minimum_is_a_strict_local_minimum(name, point, value):
    surface = get_surface(name)
    p = torch.tensor(point, dtype=torch.float64)
    assert torch.linalg.vector_norm(_grad(surface, p)) < 1e-10, "not a stationary point"
    assert float(surface(p)) == pytest.approx(value, abs=1e-12)
    eigenvalues = torch.linalg.eigvalsh(_hessian(surface, point))
    assert (eigenvalues > 0).all(), f"Hessian eigenvalues {eigenvalues.tolist()}: not a minimum"


@pytest.mark.parametrize("name, point, value", KNOWN_MINIMA)
def test_closed_form_minima_are_listed_first(name, point, value):
    surface = get_surface(name)
    assert surface.global_minimum == point
    assert surface.minimum_value == value


@pytest.mark.parametrize("name", [n for n in SURFACE_NAMES if SURFACES[n].minima])
def test_the_first_minimum_is_the_lowest_point_in_view(name):
    surface = get_surface(name)
    _, _, Z = surface.grid(301)
    assert surface.minimum_value == min(surface.minimum_values)
    assert float(Z.min()) >= surface.minimum_value - 1e-12


@pytest.mark.parametrize("name, point", SADDLES)
def test_saddle_points_are_stationary_with_mixed_curvature(name, point):
    surface = get_surface(name)
    assert torch.linalg.vector_norm(_grad(surface, torch.tensor(point, dtype=torch.float64))) < 1e-12
    eigenvalues = torch.linalg.eigvalsh(_hessian(surface, point))
    assert eigenvalues.min() < 0 < eigenvalues.max()


def test_saddle_says_it_has_no_minimum():
    saddle = get_surface("saddle")
    assert saddle.minima == () and saddle.global_minimum is None and saddle.minimum_value is None
    assert "no minimum" in saddle.description
    assert saddle.distance_to_minimum((1.0, 2.0)) is None


def test_bumpy_has_five_minima_in_view_with_distinct_values():
    bumpy = get_surface("bumpy")
    assert len(bumpy.minima) == 5
    assert len(set(bumpy.minimum_values)) == 5


@pytest.mark.parametrize("name", SURFACE_NAMES)
def test_start_and_minima_lie_inside_the_bounds(name):
    surface = get_surface(name)
    (xmin, xmax), (ymin, ymax) = surface.bounds
    assert xmin < xmax and ymin < ymax
    for x, y in [surface.start, *surface.minima, *surface.saddle_points]:
        assert xmin < x < xmax and ymin < y < ymax
    start_grad = _grad(surface, torch.tensor(surface.start, dtype=torch.float64))
    assert torch.linalg.vector_norm(start_grad) > 1e-3, "the start should not be a stationary point"


@pytest.mark.parametrize("name", SURFACE_NAMES)
def test_description_is_one_line(name):
    description = get_surface(name).description
    assert description and "\n" not in description


def test_grid_evaluates_the_surface_pointwise():
    surface = get_surface("rosenbrock")
    X, Y, Z = surface.grid(7)
    assert X.shape == Y.shape == Z.shape == (7, 7)
    (xmin, xmax), (ymin, ymax) = surface.bounds
    assert (X[0, 0], X[0, -1], Y[0, 0], Y[-1, 0]) == (xmin, xmax, ymin, ymax)
    i, j = 3, 5
    assert float(Z[i, j]) == (1 - X[i, j].item()) ** 2 + 100 * (Y[i, j].item() - X[i, j].item() ** 2) ** 2


def test_surfaces_are_immutable():
    with pytest.raises(TypeError):
        SURFACES["mine"] = SURFACES["ravine"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        SURFACES["ravine"].start = (0.0, 0.0)


@pytest.mark.parametrize(
    "name, error, message",
    [
        (
            "rosenbruck",
            ValueError,
            "Unknown surface 'rosenbruck'; choose one of 'ravine', 'rosenbrock', 'beale', 'saddle', 'bumpy'",
        ),
        ("", ValueError, "Unknown surface ''"),
        (3, TypeError, "a surface is given by name"),
        (None, TypeError, "a surface is given by name"),
    ],
)
def test_get_surface_rejects_bad_names_clearly(name, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        get_surface(name)


def test_get_surface_passes_a_surface_through():
    surface = SURFACES["beale"]
    assert get_surface(surface) is surface


# ---------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------

# (function, kwargs, expected shapes, expected dtypes)
DATASETS = [
    (problems.linear_data, {}, [(100, 1), (100, 1)], [torch.float32, torch.float32]),
    (problems.linear_data, {"n": 7, "dtype": torch.float64}, [(7, 1), (7, 1)], [torch.float64, torch.float64]),
    (problems.two_moons, {}, [(200, 2), (200,)], [torch.float32, torch.int64]),
    (problems.two_moons, {"n": 31}, [(31, 2), (31,)], [torch.float32, torch.int64]),
    (problems.polynomial_data, {}, [(12, 1), (12, 1), (100, 1), (100, 1)], [torch.float32] * 4),
    (problems.polynomial_data, {"n_train": 5, "n_val": 9}, [(5, 1), (5, 1), (9, 1), (9, 1)], [torch.float32] * 4),
]
DATASET_IDS = [f"{fn.__name__}-{kwargs}" for fn, kwargs, _, _ in DATASETS]


@pytest.mark.parametrize("fn, kwargs, shapes, dtypes", DATASETS, ids=DATASET_IDS)
def test_dataset_shapes_and_dtypes(fn, kwargs, shapes, dtypes):
    parts = fn(**kwargs)
    assert [tuple(t.shape) for t in parts] == shapes
    assert [t.dtype for t in parts] == dtypes


@pytest.mark.parametrize("fn, kwargs, shapes, dtypes", DATASETS, ids=DATASET_IDS)
def test_dataset_is_deterministic_by_seed_and_leaves_the_global_rng_alone(fn, kwargs, shapes, dtypes):
    rng_before = torch.get_rng_state()
    first, again, other = fn(**kwargs, seed=3), fn(**kwargs, seed=3), fn(**kwargs, seed=4)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], other[0])


def test_linear_data_follows_y_equals_2x_plus_1():
    x, y = problems.linear_data(2000, noise=0.3, seed=1, dtype=torch.float64)
    design = torch.cat((x, torch.ones_like(x)), dim=1)
    slope, intercept = torch.linalg.lstsq(design, y).solution.flatten().tolist()
    # Standard error of the slope is about 0.3 / sqrt(2000 / 3) ≈ 0.012.
    assert slope == pytest.approx(2.0, abs=0.06) and intercept == pytest.approx(1.0, abs=0.06)
    residual = y - (2 * x + 1)
    assert float(residual.std()) == pytest.approx(0.3, rel=0.1)
    assert float(x.min()) >= -1 and float(x.max()) <= 1


def test_two_moons_has_two_balanced_interleaved_classes():
    x, y = problems.two_moons(400, noise=0.0, seed=2, dtype=torch.float64)
    assert set(y.tolist()) == {0, 1} and int((y == 0).sum()) == 200
    upper, lower = x[y == 0], x[y == 1]
    # Without noise, class 0 lies on the unit circle's upper half, class 1 on the shifted lower half.
    torch.testing.assert_close(torch.linalg.vector_norm(upper, dim=1), torch.ones(200, dtype=torch.float64))
    torch.testing.assert_close(
        torch.linalg.vector_norm(lower - torch.tensor([1.0, 0.5], dtype=torch.float64), dim=1),
        torch.ones(200, dtype=torch.float64),
    )
    assert (upper[:, 1] >= 0).all() and (lower[:, 1] <= 0.5).all()
    # Shuffled: the classes are mixed along the data, not in two blocks.
    assert int(y[:20].sum()) not in (0, 20)


def test_polynomial_data_overfits_a_high_degree_polynomial():
    x_train, y_train, x_val, y_val = problems.polynomial_data(dtype=torch.float64)
    truth = lambda x: 0.5 + x - 2 * x**3  # noqa: E731 - the documented cubic
    assert float(((y_val - truth(x_val)) ** 2).mean()) == pytest.approx(0.2**2, rel=0.5)

    def least_squares_mse(degree):
        design = lambda x: torch.cat([x**k for k in range(degree + 1)], dim=1)  # noqa: E731
        coef = torch.linalg.lstsq(design(x_train), y_train).solution
        mse = lambda x, y: float(((design(x) @ coef - y) ** 2).mean())  # noqa: E731
        return mse(x_train, y_train), mse(x_val, y_val)

    train3, val3 = least_squares_mse(3)
    train10, val10 = least_squares_mse(10)
    assert train10 < train3 and val10 > 3 * val3, "degree 10 should fit the noise and generalise worse"


def test_polynomial_features_are_powers_one_to_degree():
    x = torch.tensor([[2.0], [-1.0], [0.5]], dtype=torch.float64)
    expected = torch.tensor([[2.0, 4.0, 8.0], [-1.0, 1.0, -1.0], [0.5, 0.25, 0.125]], dtype=torch.float64)
    assert torch.equal(problems.polynomial_features(x, 3), expected)
    module = problems.PolynomialFeatures(3)
    assert torch.equal(module(x), expected) and "degree=3" in repr(module)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: problems.linear_data(0), ValueError, "n must be at least 1, got 0"),
        (lambda: problems.linear_data(2.5), TypeError, r"n must be an int, got 2.5 \(float\)"),
        (lambda: problems.two_moons(1), ValueError, "n must be at least 2, got 1"),
        (lambda: problems.two_moons(seed="a"), TypeError, "seed must be an int"),
        (lambda: problems.polynomial_data(n_val=0), ValueError, "n_val must be at least 1"),
        (
            lambda: problems.polynomial_features(torch.zeros(3), 2),
            ValueError,
            r"x must have shape \(n, 1\), got \(3,\)",
        ),
        (lambda: problems.PolynomialFeatures(0), ValueError, "degree must be at least 1"),
    ],
)
def test_dataset_arguments_are_validated(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_surface_distance_to_minimum_picks_the_nearest():
    bumpy = get_surface("bumpy")
    x, y = bumpy.minima[3]
    assert bumpy.distance_to_minimum((x + 0.3, y - 0.4)) == pytest.approx(0.5)
    assert math.isclose(get_surface("ravine").distance_to_minimum((3.0, 4.0)), 5.0)


# ----------------------------------------------------------------------------- digits


def test_digits_are_scikit_learns_load_digits_split_and_scaled():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    np.testing.assert_array_equal(problems._digits_table(), np.column_stack((x, y)))
    data = problems.digits()
    assert [tuple(t.shape) for t in data] == [(1437, 64), (1437,), (360, 64), (360,)]
    assert data.x_train.dtype == torch.float64 and data.y_train.dtype == torch.long
    both = torch.cat([data.x_train, data.x_val]) * 16
    rows = {tuple(r) for r in torch.from_numpy(x).tolist()}
    assert {tuple(r) for r in both.tolist()} <= rows
    assert sorted(torch.cat([data.y_train, data.y_val]).tolist()) == sorted(y.tolist())


def test_digits_split_depends_on_the_seed_only():
    a, b, c = problems.digits(seed=0), problems.digits(seed=0), problems.digits(seed=1)
    assert all(torch.equal(s, t) for s, t in zip(a, b))
    assert not torch.equal(a.y_val, c.y_val)
    assert problems.digits(n_val=100, dtype=torch.float32).x_val.shape == (100, 64)
    with pytest.raises(ValueError, match="must leave digits for training"):
        problems.digits(n_val=1797)


def test_digits_do_not_import_scikit_learn():
    import subprocess
    import sys

    code = "import sys; from myoptim_helpers import problems; problems.digits(); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_digits_mlp_has_the_documented_shape():
    model = problems.digits_mlp()
    assert sum(p.numel() for p in model.parameters()) == 2410
    assert model(torch.zeros(3, 64, dtype=torch.float64)).shape == (3, 10)
    assert problems.digits_mlp(16, dtype=torch.float32)[0].weight.dtype == torch.float32
