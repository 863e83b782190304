"""The spectral view (myoptim_helpers.spectral) and the rate explorer built on it.

Every expected number comes from somewhere else than the code under test: numpy's
polynomial roots, the ravine's Hessian by autograd, and torch.optim.SGD run step by step.
"""

import io
import math
import re

import matplotlib

matplotlib.use("Agg")  # the tests' choice; the library never sets a backend

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from myoptim_helpers import problems, spectral  # noqa: E402
from myoptim_helpers.widgets import RateExplorer, rate_explorer  # noqa: E402

# --------------------------------------------------------------------------- the formula

POINTS = [(0.05, 0.9, 0.2), (0.05, 0.9, 4.0), (0.3, 0.0, 4.0), (0.5, 0.4, 4.0), (1.1, 0.2, 4.0), (0.01, 0.5, 0.2)]


def _numpy_rate(lr, mu, curvature):
    """max |z| over the roots numpy finds for z² − (1 + μ − lr·λ) z + μ."""
    return max(abs(np.roots([1.0, -(1 + mu - lr * curvature), mu])))


@pytest.mark.parametrize("lr, mu, curvature", POINTS)
def test_the_factor_is_the_largest_root_of_the_recurrence(lr, mu, curvature):
    assert math.isclose(float(spectral.momentum_rate(lr, mu, curvature)), _numpy_rate(lr, mu, curvature), rel_tol=1e-9)


def test_the_factor_broadcasts_over_a_grid_as_point_by_point():
    lrs, mus = np.meshgrid(np.linspace(0.01, 1.0, 7), np.linspace(0.0, 0.95, 5))
    grid = spectral.momentum_rate(lrs, mus, 4.0)
    expected = np.vectorize(_numpy_rate)(lrs, mus, 4.0)
    np.testing.assert_allclose(grid, expected, rtol=1e-9)


@pytest.mark.parametrize("lr, curvature", [(0.05, 0.2), (0.3, 4.0), (0.49, 4.0), (0.6, 4.0)])
def test_without_momentum_the_factor_is_plain_sgds(lr, curvature):
    assert float(spectral.momentum_rate(lr, 0.0, curvature)) == pytest.approx(abs(1 - lr * curvature), rel=1e-12)
    assert spectral.regime(lr, 0.0, curvature) == "real"


def test_complex_roots_have_the_size_of_the_square_root_of_momentum():
    assert spectral.regime(0.05, 0.9, 4.0) == "complex"
    assert float(spectral.momentum_rate(0.05, 0.9, 4.0)) == pytest.approx(math.sqrt(0.9), rel=1e-12)
    assert spectral.regime(0.05, 0.3, 4.0) == "real"  # (0.8 + 0.3)² > 4 · 0.3


def test_the_ravine_curvatures_are_its_hessian():
    ravine = problems.get_surface("ravine")
    hessian = torch.autograd.functional.hessian(ravine, torch.tensor([0.3, -0.7], dtype=torch.float64))
    assert torch.equal(
        hessian, torch.diag(torch.tensor(list(spectral.RAVINE_CURVATURES.values()), dtype=torch.float64))
    )


def test_the_optimum_is_the_sweeps_and_sits_on_the_border_of_both_regimes():
    lr, mu, factor = spectral.optimal_momentum(0.2, 4.0)
    lrs, mus = np.meshgrid(np.linspace(0.3, 1.0, 701), np.linspace(0.2, 0.6, 401))
    worst = np.maximum(spectral.momentum_rate(lrs, mus, 0.2), spectral.momentum_rate(lrs, mus, 4.0))
    best = np.unravel_index(worst.argmin(), worst.shape)
    assert (lrs[best], mus[best]) == pytest.approx((lr, mu), abs=2e-3)
    assert worst[best] == pytest.approx(factor, abs=1e-3)
    for lam in (0.2, 4.0):  # a double root: the discriminant is 0
        assert (1 + mu - lr * lam) ** 2 == pytest.approx(4 * mu, abs=1e-12)
    sgd_lr, sgd_factor = spectral.optimal_sgd(0.2, 4.0)
    assert (sgd_lr, sgd_factor) == pytest.approx((2 / 4.2, 19 / 21))


@pytest.mark.parametrize("rate, steps", [(math.exp(-0.5), 2.0), (0.0, 0.0), (1.0, math.inf), (1.3, math.inf)])
def test_steps_per_factor_e(rate, steps):
    assert spectral.steps_per_e(rate) == pytest.approx(steps)


# --------------------------------------------------------------------------- the explorer


def _torch_run(lr, mu, steps):
    """torch.optim.SGD on the ravine from its start, step by step: positions (steps + 1, 2)."""
    ravine = problems.get_surface("ravine")
    p = torch.tensor(ravine.start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=mu)
    points = [p.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        ravine(p).backward()
        opt.step()
        points.append(p.detach().clone())
    return torch.stack(points)


def _pixels(explorer):
    return np.asarray(Image.open(io.BytesIO(bytes(explorer.image.value))).convert("RGB"))


@pytest.fixture(scope="module")
def explorer():
    return rate_explorer(lr=0.05, momentum=0.9, steps=40)


def _readout_numbers(explorer):
    text = re.sub("<[^>]+>", "", explorer.readout.value)
    factors = [float(v) for v in re.findall(r"factor (\d\.\d{4}) per step", text)]
    errors = [float(v) for v in re.findall(r"\|[xy]/[xy]₀\| = ([-+.\deE]+)", text)]
    return text, factors, errors


@pytest.mark.parametrize("lr, mu", [(0.05, 0.9), (0.5, 0.4), (0.3, 0.0), (0.6, 0.0), (0.2, 0.65)])
def test_the_readout_gives_the_formulas_factors_and_torchs_run(explorer, lr, mu):
    explorer.controls["lr"].value, explorer.controls["momentum"].value = lr, mu
    text, factors, errors = _readout_numbers(explorer)
    assert factors == [round(_numpy_rate(lr, mu, lam), 4) for lam in (0.2, 4.0)], text
    positions = _torch_run(lr, mu, 40)
    torch.testing.assert_close(explorer.history.positions.double(), positions, rtol=1e-12, atol=1e-12)
    shrunk = (positions[-1] / positions[0]).abs().tolist()
    assert errors == [float(f"{v:.3g}") for v in shrunk], text
    for name, lam in (("x", 0.2), ("y", 4.0)):
        regime = "complex roots" if (1 + mu - lr * lam) ** 2 < 4 * mu else "real roots"
        assert f"{name} (λ = {lam:g}): factor" in text and regime in text.split(f"{name} (λ")[1].split("·")[1], text
    if max(factors) >= 1:
        assert "diverges" in text


def test_steps_per_factor_e_in_the_readout_are_one_over_minus_log_factor(explorer):
    explorer.controls["lr"].value, explorer.controls["momentum"].value = 0.5, 0.4
    text = re.sub("<[^>]+>", "", explorer.readout.value)
    shown = [float(v) for v in re.findall(r"(\d+\.\d) steps per factor e", text)]
    assert shown == [round(-1 / math.log(_numpy_rate(0.5, 0.4, lam)), 1) for lam in (0.2, 4.0)]
    assert "slowest: x sets the pace" in text


@pytest.mark.parametrize("control, value", [("lr", 0.3), ("momentum", 0.5), ("steps", 80)])
def test_each_slider_reruns_and_redraws(control, value):
    explorer = rate_explorer()
    before, pixels, text = (explorer.runs, explorer.renders), _pixels(explorer), explorer.readout.value
    explorer.controls[control].value = value
    assert (explorer.runs, explorer.renders) == (before[0] + 1, before[1] + 1)
    assert not np.array_equal(_pixels(explorer), pixels)
    assert explorer.readout.value != text and explorer.error is None
    explorer.update()  # nothing changed: no new run, no new picture
    assert (explorer.runs, explorer.renders) == (before[0] + 1, before[1] + 1)


def test_a_diverging_run_is_drawn_and_reported():
    explorer = rate_explorer(lr=1.2, momentum=0.0, steps=300)
    text = re.sub("<[^>]+>", "", explorer.readout.value)
    assert "factor 3.8000 per step · real roots · diverges" in text
    assert explorer.error is None and _pixels(explorer).std() > 0


def test_equal_factors_are_called_the_same_pace():
    text = rate_explorer(lr=0.3, momentum=0.6).readout.value
    assert "both directions go at the same pace" in text


def test_repr_is_one_short_deterministic_line():
    assert repr(rate_explorer(lr=0.05, momentum=0.9)) == "RateExplorer(lr=0.05, momentum=0.9, steps=60)"
    assert isinstance(rate_explorer(), RateExplorer)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"lr": 0.0}, ValueError, "Invalid learning rate: 0.0"),
        ({"lr": -0.1}, ValueError, "Invalid learning rate: -0.1"),
        ({"lr": 5.0}, ValueError, "lr must be from 0.005 to 1.2 here"),
        ({"lr": "0.1"}, TypeError, "lr must be a positive, finite number, got '0.1'"),
        ({"momentum": -0.5}, ValueError, "Invalid momentum value: -0.5"),
        ({"momentum": 1.0}, ValueError, "momentum must be at most 0.99 here"),
        ({"momentum": None}, TypeError, "momentum must be a number, got None"),
        ({"steps": 0}, ValueError, "steps must be at least 1"),
        ({"steps": 1000}, ValueError, "steps must be at most 300 here"),
        ({"steps": 2.5}, TypeError, "steps must be an int"),
    ],
)
def test_bad_arguments_fail_at_construction_with_a_clear_message(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        rate_explorer(**kwargs)


def test_torch_rejects_a_negative_momentum_with_the_same_words():
    with pytest.raises(ValueError, match=re.escape("Invalid momentum value: -0.5")):
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=-0.5)
