"""Plots of myoptim_helpers.plotting: the artists they draw, their labels, and no global side effects."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")  # the tests' choice; the library never sets a backend

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from myoptim_helpers import optim, plotting, problems  # noqa: E402
from myoptim_helpers.training import fit, run  # noqa: E402


@pytest.fixture(autouse=True)
def _close_pyplot_figures():
    """Plots made without an ``ax`` are pyplot figures: close them after each test."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def _axes():
    return Figure(figsize=(5, 4)).add_subplot()


def _labels(ax):
    return [line.get_label() for line in ax.lines if not line.get_label().startswith("_")]


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _diverged_markers(ax):
    return [line for line in ax.lines if line.get_marker() == plotting.DIVERGED_MARKER]


@pytest.fixture(scope="module")
def rosenbrock_runs():
    return {
        "SGD": run(optim.SGD, "rosenbrock", 60, lr=1e-3),
        "Adam": run(optim.Adam, "rosenbrock", 60, lr=0.1, record_state=("exp_avg_sq",)),
        "too fast": run(optim.SGD, "rosenbrock", 60, lr=0.01),
    }


def test_trajectories_one_line_per_run_with_start_minimum_and_divergence(rosenbrock_runs):
    ax = _axes()
    assert plotting.plot_trajectories(rosenbrock_runs, ax=ax) is ax
    k = rosenbrock_runs["too fast"].diverged_at
    assert _legend_texts(ax) == ["minimum", "SGD", "Adam", f"too fast (diverged at step {k})", "start"]
    paths = {line.get_label(): line for line in ax.lines}
    for name, h in rosenbrock_runs.items():
        label = plotting.diverged_label(name, h)
        np.testing.assert_array_equal(paths[label].get_xydata(), h.positions.numpy())
    (minimum,) = [line for line in ax.lines if line.get_label() == "minimum"]
    assert minimum.get_xydata().tolist() == [[1.0, 1.0]] and minimum.get_marker() == "*"
    (start,) = [line for line in ax.lines if line.get_label() == "start"]
    assert start.get_xydata().tolist() == [[-1.2, 1.0]]
    (cross,) = _diverged_markers(ax)
    assert cross.get_color() == paths[f"too fast (diverged at step {k})"].get_color()
    # The last finite point is far outside: the ✕ sits on the plot's edge instead.
    x, y = cross.get_xydata()[0]
    assert (x, y) != tuple(rosenbrock_runs["too fast"].final_position)
    assert -2.0 <= x <= 2.0 and -1.0 <= y <= 3.0 and (x in (-2.0, 2.0) or y in (-1.0, 3.0))
    assert ax.get_xlim() == (-2.0, 2.0) and ax.get_ylim() == (-1.0, 3.0)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")
    assert len(ax.collections) == 2, "filled contours and contour lines"


@pytest.mark.parametrize(
    "surface, marker_labels, contours",
    [
        ("ravine", ["minimum"], "evenly spaced"),
        ("rosenbrock", ["minimum"], "log-spaced"),
        ("beale", ["minimum"], "log-spaced"),
        ("saddle", ["saddle point"], "evenly spaced"),
        ("bumpy", ["global minimum", "local minimum"], "evenly spaced"),
    ],
)
def test_surface_marks_what_it_knows(surface, marker_labels, contours):
    ax = plotting.plot_surface(surface)
    assert isinstance(ax.figure, Figure)
    assert _labels(ax) == marker_labels
    assert contours in ax.get_title()
    s = problems.get_surface(surface)
    points = np.concatenate([line.get_xydata() for line in ax.lines])
    assert sorted(map(tuple, points)) == sorted([*s.minima, *s.saddle_points])


def test_trajectories_of_a_list_take_each_runs_label():
    runs = [run(torch.optim.SGD, "ravine", 10, lr=0.1), run(torch.optim.SGD, "ravine", 10, lr=0.1)]
    ax = plotting.plot_trajectories(runs)
    assert _legend_texts(ax) == ["minimum", "SGD(lr=0.1)", "SGD(lr=0.1) #2", "start"]


def test_losses_one_curve_per_run_on_a_log_axis(rosenbrock_runs):
    ax = plotting.plot_losses(rosenbrock_runs, ax=_axes())
    k = rosenbrock_runs["too fast"].diverged_at
    assert _legend_texts(ax) == ["SGD", "Adam", f"too fast (diverged at step {k})"]
    curves = {line.get_label(): line for line in ax.lines}
    np.testing.assert_array_equal(curves["Adam"].get_ydata(), rosenbrock_runs["Adam"].losses.numpy())
    np.testing.assert_array_equal(curves["Adam"].get_xdata(), np.arange(61))
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "loss (log scale)" and ax.get_xlabel() == "step"
    assert len(_diverged_markers(ax)) == 1


@pytest.mark.parametrize(
    "surface, kwargs, log, yscale, ylabel",
    [
        ("ravine", {"lr": 0.1}, True, "log", "loss (log scale)"),
        ("ravine", {"lr": 0.1}, False, "linear", "loss"),
        ("bumpy", {"lr": 0.05, "momentum": 0.9}, True, "log", "loss − minimum (log scale)"),
        ("saddle", {"lr": 0.05}, True, "symlog", "loss (symmetric log scale)"),
    ],
)
def test_loss_axis_suits_the_values(surface, kwargs, log, yscale, ylabel):
    h = run(optim.SGD, surface, 120, **kwargs)
    ax = plotting.plot_losses(h, log=log)
    assert (ax.get_yscale(), ax.get_ylabel()) == (yscale, ylabel)
    expected = h.losses.numpy()
    if ylabel.startswith("loss − minimum"):
        assert (h.losses <= 0).any(), "the case must need the shift"
        expected = expected - h.surface.minimum_value
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), expected)


def test_a_run_about_to_overflow_still_draws():
    # SGD at lr 0.2 on rosenbrock reaches a loss of ~1e276 before inf; log axes overflow there.
    h = run(optim.SGD, "rosenbrock", 50, lr=0.2)
    assert h.diverged and float(h.losses.max()) > 1e250
    ax = plotting.plot_losses(h)
    ax.figure.savefig(__import__("io").BytesIO(), format="png")
    assert ax.get_ylim()[1] == plotting._LOG_AXIS_LIMIT
    (cross,) = _diverged_markers(ax)
    assert cross.get_ydata()[0] == plotting._LOG_AXIS_LIMIT and not cross.get_clip_on()


def test_an_axis_over_hundreds_of_decades_ticks_on_round_decades():
    # matplotlib's locator would tick 10^1, 10^25, 10^49, ...: a step that reads as a broken axis
    history = run(optim.SGD, "ravine", 2000, lr=0.6)
    ax = Figure().subplots()
    plotting.plot_losses({"lr=0.6": history}, ax=ax)
    low, high = ax.get_ylim()
    exponents = np.log10([t for t in ax.get_yticks() if low <= t <= high])
    assert len(exponents) >= 4
    steps = np.diff(exponents)
    assert np.all(steps == steps[0]) and steps[0] in (25, 50)
    assert np.all(exponents % steps[0] == 0)
    # the bottom of the axis is a labelled decade just below the first loss (9.6)
    assert low == 10.0 ** exponents[0] == 1.0 and history.losses[0] > low


def test_the_bottom_decade_of_a_long_log_axis_has_its_own_tick():
    ax = Figure().subplots()
    ax.set_yscale("log")
    plotting._round_decade_ticks(ax, 1e-3, 1e200)
    exponents = np.log10(ax.yaxis.get_major_locator().tick_values(1e-3, 1e200))
    # 10^0 would sit three decades above 10^-3, its label on top of the other's
    assert exponents.tolist() == [-3, 50, 100, 150, 200]


def test_a_run_alone_in_its_panel_keeps_its_colour():
    runs = {f"lr={lr}": run(optim.SGD, "ravine", 5, lr=lr) for lr in (0.1, 0.3)}
    ax = plotting.plot_trajectories({"lr=0.3": runs["lr=0.3"]}, ax=_axes(), colors=["C1"], legend=False)
    (path,) = [line for line in ax.lines if line.get_label() == "lr=0.3"]
    assert matplotlib.colors.same_color(path.get_color(), "C1")
    with pytest.raises(ValueError, match="2 runs need as many colours, got 1"):
        plotting.plot_trajectories(runs, ax=_axes(), colors=["C1"])


def test_lr_schedule_from_a_list_and_from_a_dict():
    ax = plotting.plot_lr_schedule([0.1, 0.1, 0.05, 0.05])
    assert len(ax.lines) == 1 and ax.get_legend() is None
    assert ax.lines[0].get_drawstyle() == "steps-post"
    assert ax.lines[0].get_ydata().tolist() == [0.1, 0.1, 0.05, 0.05]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step", "learning rate")
    h = run(torch.optim.SGD, "ravine", 6, lr=0.1, scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 2, 0.5))
    ax = plotting.plot_lr_schedule({"step": h, "constant": torch.full((6,), 0.1)}, log=True, xlabel="epoch")
    assert _legend_texts(ax) == ["step", "constant"]
    assert ax.lines[0].get_ydata().tolist() == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_yscale()) == ("epoch", "learning rate (log scale)", "log")


def test_state_per_coordinate(rosenbrock_runs):
    h = rosenbrock_runs["Adam"]
    ax = plotting.plot_state(h, "exp_avg_sq")
    assert _legend_texts(ax) == ["exp_avg_sq, x", "exp_avg_sq, y"]
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), h.state["exp_avg_sq"][:, 1].numpy())
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(1, 61))
    assert ax.get_xlabel() == "step" and ax.get_ylabel().startswith("exp_avg_sq")


def test_effective_lr_of_plain_sgd_is_its_lr():
    h = run(optim.SGD, "ravine", 20, lr=0.05)
    ax = plotting.plot_state(h, "effective_lr", log=False)
    for line in ax.lines:
        np.testing.assert_allclose(line.get_ydata(), 0.05, rtol=1e-12)
    assert ax.get_ylabel() == "effective step size |Δθ| / |g|"
    ax = plotting.plot_state(h, "update")
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), h.updates[:, 0].numpy())


def test_state_that_was_not_recorded_says_how_to_record_it(rosenbrock_runs):
    with pytest.raises(
        KeyError, match=r"state 'exp_avg' was not recorded \(recorded: 'exp_avg_sq'\); run with record_state"
    ):
        plotting.plot_state(rosenbrock_runs["Adam"], "exp_avg")


def test_fit_curves_share_a_colour_per_run():
    data = problems.polynomial_data()
    model = lambda: torch.nn.Sequential(problems.PolynomialFeatures(4), torch.nn.Linear(4, 1))  # noqa: E731
    runs = {"Adam": fit(model, optim.Adam, data, 30, lr=0.05), "AdamW": fit(model, optim.AdamW, data, 30, lr=0.05)}
    ax = plotting.plot_fit(runs)
    assert _legend_texts(ax) == ["Adam, training", "Adam, validation", "AdamW, training", "AdamW, validation"]
    train, val = ax.lines[0], ax.lines[1]
    assert train.get_color() == val.get_color() and val.get_linestyle() == "--"
    np.testing.assert_array_equal(val.get_ydata(), runs["Adam"].val_losses.numpy())
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss (log scale)")


def test_colours_match_across_panels(rosenbrock_runs):
    trajectories = plotting.plot_trajectories(rosenbrock_runs)
    losses = plotting.plot_losses(rosenbrock_runs)
    colour = {line.get_label(): line.get_color() for line in losses.lines}
    for line in trajectories.lines:
        if line.get_label() in colour:
            assert line.get_color() == colour[line.get_label()]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: plotting.plot_trajectories("rosenbrock"), TypeError, "expected a History"),
        (lambda: plotting.plot_losses({}), ValueError, "nothing to plot"),
        (lambda: plotting.plot_losses({"a": 3}), TypeError, "'a' is a int, not a History"),
        (lambda: plotting.plot_fit(run(optim.SGD, "ravine", 2, lr=0.1)), TypeError, "expected a FitHistory"),
        (lambda: plotting.plot_state({}, "exp_avg"), TypeError, "plot_state takes one History"),
        (lambda: plotting.plot_lr_schedule([[0.1, 0.2]]), ValueError, "must be 1-D"),
        (
            lambda: plotting.plot_trajectories(run(optim.SGD, "ravine", 2, lr=0.1), contours=False),
            ValueError,
            "contours=False draws onto an existing ax",
        ),
    ],
)
def test_bad_input_fails_clearly(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_no_global_matplotlib_state_changes(rosenbrock_runs):
    before = dict(matplotlib.rcParams)
    plotting.plot_trajectories(rosenbrock_runs)
    plotting.plot_losses(rosenbrock_runs)
    plotting.plot_state(rosenbrock_runs["Adam"], "exp_avg_sq")
    plotting.plot_lr_schedule([0.1, 0.2])
    plotting.plot_surface("bumpy")
    assert dict(matplotlib.rcParams) == before


def test_plotting_into_a_given_ax_never_touches_pyplot():
    # The widgets draw into their own Figure; pyplot must stay out of that path.
    code = (
        "import sys, torch\n"
        "from matplotlib.figure import Figure\n"
        "from myoptim_helpers import plotting, training, optim\n"
        "ax = Figure().add_subplot()\n"
        "plotting.plot_trajectories(training.run(optim.Adam, 'beale', 5, lr=0.1), ax=ax)\n"
        "ax.figure.savefig(__import__('io').BytesIO(), format='png')\n"
        "print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_an_ax_the_figure_is_a_pyplot_figure_so_a_notebook_shows_it():
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    ax = plotting.plot_lr_schedule([0.1, 0.05, 0.025])
    try:
        assert ax.figure.number in set(plt.get_fignums()) - before
    finally:
        plt.close(ax.figure)


# ----------------------------------------------------------------------------- lesson 08 figures


def _digits_records():
    from myoptim_helpers import minibatch

    data = problems.digits(n_val=60)
    sweep = minibatch.lr_sweep(problems.digits_mlp, torch.optim.SGD, data, [1e-3, 0.1, 1e300], 1, batch_size=256)
    torch.manual_seed(0)
    model = problems.digits_mlp()
    test = minibatch.lr_range_test(
        model,
        torch.optim.SGD(model.parameters(), lr=1e-4),
        data,
        batch_size=64,
        start_lr=1e-4,
        end_lr=10.0,
        num_iter=30,
    )
    noise = minibatch.gradient_noise(model, data, [1, 8, 64], epochs=1)
    return sweep, test, noise


def test_lesson_08_figures_have_labelled_axes_a_legend_and_a_log_lr_axis():
    from matplotlib.figure import Figure

    sweep, test, noise = _digits_records()
    for draw, log_x in [
        (lambda ax: plotting.plot_sweep({"SGD": sweep}, ax=ax, within=0.05), True),
        (lambda ax: plotting.plot_sweep(sweep, ax=ax, metric="train_loss"), True),
        (lambda ax: plotting.plot_lr_range_test(test, ax=ax), True),
        (lambda ax: plotting.plot_gradient_noise(noise, ax=ax), True),
        (lambda ax: plotting.plot_best_lr({"SGD": {32: 0.1, 128: 0.3}}, ax=ax, rules={"linear": 1.0}), True),
    ]:
        ax = Figure().subplots()
        assert draw(ax) is ax
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
        assert (ax.get_xscale() == "log") == log_x
        assert "learning rate" in ax.get_xlabel() or "batch size" in ax.get_xlabel()


def test_plot_sweep_marks_a_diverged_copy():
    from matplotlib.figure import Figure

    sweep, _, _ = _digits_records()
    assert sweep.diverged_at[2] is not None
    ax = plotting.plot_sweep(sweep, ax=Figure().subplots())
    assert "diverged" in [t.get_text() for t in ax.get_legend().get_texts()]
