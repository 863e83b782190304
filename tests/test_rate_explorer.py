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


# --------------------------------------------------------------------------- the edge cases


def _text(explorer):
    return re.sub("<[^>]+>", "", explorer.readout.value)


def _lines(explorer):
    return re.sub("<[^>]+>", "", explorer.readout.value.replace("<br>", "\n")).split("\n")


@pytest.mark.parametrize("mu", [0.0, 0.2, 0.5, 0.9])
def test_on_the_stability_edge_y_never_shrinks_whatever_the_rounding(mu):
    # lr·λ = 2 (1 + μ) puts a root of y at exactly −1; float64 gives 1 − 5e-16 at (0.95, 0.9).
    lr = 2 * (1 + mu) / 4.0
    assert abs(np.roots([1.0, -(1 + mu - lr * 4.0), mu])).max() == pytest.approx(1.0, abs=1e-12)
    y_line = _lines(rate_explorer(lr=lr, momentum=mu))[1]
    assert y_line.startswith("y (λ = 4): factor 1.0000 per step · real roots · never shrinks"), y_line
    assert "steps per factor e" not in y_line and "diverges" not in y_line


def test_a_factor_just_past_the_rounding_tolerance_is_not_rounded_to_one():
    y_line = _lines(rate_explorer(lr=0.951, momentum=0.9))[1]
    assert f"factor {_numpy_rate(0.951, 0.9, 4.0):.4f} per step · real roots · diverges" in y_line, y_line


def test_a_root_off_the_drawn_square_is_an_arrow_at_its_edge_with_its_value():
    explorer = rate_explorer(lr=1.2, momentum=0.0)
    root = min(np.roots([1.0, -(1 - 1.2 * 4.0), 0.0]).real)  # −3.8
    assert f"root {root:.3f} is off the plot" in _lines(explorer)[1]
    assert "off the plot" not in _lines(explorer)[0]
    xs, ys = explorer._off_marks["y"].get_data()
    assert (list(xs), list(ys)) == ([-1.55], [0.0]) and explorer._off_marks["y"].get_marker() == "<"
    assert explorer._off_labels["y"].get_text() == f"{root:.2f}"
    inside = explorer._root_marks["y"].get_data()[0]
    assert all(abs(v) <= 1.55 for v in inside) and len(inside) == 1  # the other root, 0
    explorer.controls["lr"].value = 0.3  # back inside: the arrow goes
    assert list(explorer._off_marks["y"].get_data()[0]) == [] and explorer._off_labels["y"].get_text() == ""


def test_an_error_of_exactly_zero_is_said_since_the_log_plot_cannot_show_it():
    positions = _torch_run(0.25, 0.0, 40)  # 1 − lr·λ = 0: torch puts y at exactly 0 in one step
    assert positions[1, 1].item() == 0.0 and (positions[1:, 1] == 0).all()
    explorer = rate_explorer(lr=0.25, momentum=0.0, steps=40)
    assert "y is exactly 0 after step 1" in _lines(explorer)[1]
    assert "exactly 0" not in _lines(explorer)[0]


def test_the_optimum_button_sets_polyaks_point_exactly_and_both_directions_are_on_the_border():
    explorer = rate_explorer(lr=0.05, momentum=0.9, steps=40)
    runs = explorer.runs
    explorer.optimum_button.click()
    lr, mu = 4 / (math.sqrt(4.0) + math.sqrt(0.2)) ** 2, ((math.sqrt(20) - 1) / (math.sqrt(20) + 1)) ** 2
    assert (explorer.controls["lr"].value, explorer.controls["momentum"].value) == pytest.approx((lr, mu), rel=1e-15)
    assert explorer.runs == runs + 1  # one run for the pair
    torch.testing.assert_close(explorer.history.positions.double(), _torch_run(lr, mu, 40), rtol=1e-12, atol=1e-12)
    lines = _lines(explorer)
    for line in lines[:2]:
        assert f"factor {math.sqrt(mu):.4f} per step · a double root: on the border" in line, line
    assert "both directions sit on the border" in lines[2] and "same pace" in lines[2]
    # The sliders' steps land next to it, which is near the border but not on it.
    explorer.controls["lr"].value, explorer.controls["momentum"].value = 0.668, 0.403
    assert "on the border" not in _text(explorer)


@pytest.mark.parametrize(
    "lr, mu, curvature, kind",
    [(0.16, 0.04, 4.0, "double"), (0.05, 0.81, 0.2, "double"), (0.16, 0.05, 4.0, "complex"), (0.16, 0.03, 4.0, "real")],
)
def test_a_discriminant_of_zero_within_rounding_is_a_double_root(lr, mu, curvature, kind):
    roots = np.roots([1.0, -(1 + mu - lr * curvature), mu])
    assert (abs(roots[0] - roots[1]) < 1e-6) == (kind == "double")
    assert spectral.regime(lr, mu, curvature) == kind
