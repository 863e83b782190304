"""The explorers of myoptim_helpers.widgets, driven programmatically as a slider move would drive them."""

import html
import io
import re

import matplotlib

matplotlib.use("Agg")  # the tests' choice; the library never sets a backend

import ipywidgets  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from myoptim_helpers import optim, plotting, predictions, training  # noqa: E402
from myoptim_helpers.widgets import (  # noqa: E402
    ScheduleExplorer,
    TrajectoryExplorer,
    batch_explorer,
    predict,
    rate_explorer,
    schedule_explorer,
    trajectory_explorer,
)


def _pixels(png) -> np.ndarray:
    png = bytes(png)  # ipywidgets 8 holds the image as a memoryview, 7 as bytes
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _displayed_text(widget, monkeypatch) -> str:
    """Return the text/plain output Jupyter shows for ``widget``, in ipywidgets 8 or 7.

    ipywidgets 8 answers ``_repr_mimebundle_``; 7 has no such method and
    publishes the same bundle from ``_ipython_display_`` through ``display``.
    """
    if hasattr(widget, "_repr_mimebundle_"):
        return widget._repr_mimebundle_()["text/plain"]
    published = []
    monkeypatch.setattr(ipywidgets.widgets.widget, "display", lambda data, raw: published.append(data))
    widget._ipython_display_()
    (bundle,) = published
    return bundle["text/plain"]


@pytest.fixture
def adam():
    return trajectory_explorer("rosenbrock", "Adam", lr=0.1, steps=200)


def test_explorer_starts_with_the_run_it_shows(adam):
    assert isinstance(adam, TrajectoryExplorer) and adam.runs == 1 and adam.renders == 1
    expected = training.run(optim.Adam, "rosenbrock", 200, lr=0.1, betas=(0.9, 0.999))
    assert torch.equal(adam.history.positions, expected.positions)
    assert adam.history.label == "Adam(lr=0.1, betas=(0.9, 0.999))"
    assert _pixels(adam.image.value).shape == (288, 720, 3)
    assert "Adam(lr=0.1, betas=(0.9, 0.999))" in adam.readout.value and "200 steps" in adam.readout.value
    assert adam.error is None


def test_repr_is_short_and_deterministic(adam, monkeypatch):
    text = "TrajectoryExplorer(surface='rosenbrock', optimizer='Adam', lr=0.1, betas=(0.9, 0.999), steps=200)"
    assert repr(adam) == text
    # Jupyter shows this as the cell's text/plain output (ipywidgets cuts it at 110 characters).
    assert _displayed_text(adam, monkeypatch) == text


# (control, new value, re-runs the optimizer, redraws)
CHANGES = [
    ("lr", 0.05, True, True),
    ("beta1", 0.8, True, True),
    ("beta2", 0.99, True, True),
    ("steps", 300, True, True),  # longer than the cached run
    ("steps", 120, False, True),  # a prefix of the cached run
    ("steps", 200, False, False),  # unchanged
    ("momentum", 0.5, False, False),  # Adam has no momentum
    ("surface", "beale", True, True),
    ("optimizer", "SGD", True, True),
]


@pytest.mark.parametrize("control, value, reruns, redraws", CHANGES)
def test_a_control_reruns_and_redraws_only_when_it_matters(adam, control, value, reruns, redraws):
    runs, renders, image, history = adam.runs, adam.renders, adam.image.value, adam.history
    adam.controls[control].value = value
    assert adam.error is None, adam.readout.value
    assert adam.runs - runs == int(reruns)
    assert adam.renders - renders == int(redraws)
    assert (adam.image.value != image) == redraws
    assert (adam.history is not history) == redraws


@pytest.mark.parametrize(
    "changes, optimizer, kwargs",
    [
        ({"lr": 0.05}, optim.Adam, {"lr": 0.05, "betas": (0.9, 0.999)}),
        ({"beta1": 0.5, "beta2": 0.95}, optim.Adam, {"lr": 0.1, "betas": (0.5, 0.95)}),
        ({"optimizer": "SGD", "lr": 1e-3, "momentum": 0.5}, optim.SGD, {"lr": 1e-3, "momentum": 0.5}),
        ({"optimizer": "SGD+Nesterov", "lr": 1e-3}, optim.SGD, {"lr": 1e-3, "momentum": 0.9, "nesterov": True}),
        ({"optimizer": "AdamW"}, optim.AdamW, {"lr": 0.1, "betas": (0.9, 0.999)}),
        ({"optimizer": "RMSprop", "lr": 0.01}, optim.RMSprop, {"lr": 0.01, "momentum": 0.9}),
        ({"optimizer": "Adagrad", "lr": 0.5}, optim.Adagrad, {"lr": 0.5}),
    ],
)
def test_the_shown_history_is_the_run_the_controls_describe(adam, changes, optimizer, kwargs):
    for control, value in changes.items():
        adam.controls[control].value = value
    expected = training.run(optimizer, "rosenbrock", 200, **kwargs)
    assert torch.equal(adam.history.positions, expected.positions)
    assert (adam.history.diverged_at, adam.history.reason) == (expected.diverged_at, expected.reason)


def test_fewer_steps_reuse_the_run_exactly(adam):
    adam.controls["steps"].value = 75
    expected = training.run(optim.Adam, "rosenbrock", 75, lr=0.1)
    assert adam.runs == 1 and torch.equal(adam.history.positions, expected.positions)


@pytest.mark.parametrize(
    "optimizer, visible",
    [
        ("SGD", {"surface", "optimizer", "lr", "steps", "momentum"}),
        ("SGD+Nesterov", {"surface", "optimizer", "lr", "steps", "momentum"}),
        ("Adam", {"surface", "optimizer", "lr", "steps", "beta1", "beta2"}),
        ("AdamW", {"surface", "optimizer", "lr", "steps", "beta1", "beta2"}),
        ("RMSprop", {"surface", "optimizer", "lr", "steps", "momentum"}),
        ("Adagrad", {"surface", "optimizer", "lr", "steps"}),
    ],
)
def test_only_the_optimizers_controls_are_shown(adam, optimizer, visible):
    adam.controls["optimizer"].value = optimizer
    shown = {name for name, widget in adam.controls.items() if widget.layout.display != "none"}
    assert shown == visible


def test_the_contour_background_is_drawn_once_per_surface(adam, monkeypatch):
    calls = []
    original = plotting.plot_surface
    monkeypatch.setattr(plotting, "plot_surface", lambda *a, **k: calls.append(a[0]) or original(*a, **k))
    adam.controls["lr"].value = 0.05
    adam.controls["steps"].value = 50
    assert calls == []
    adam.controls["surface"].value = "bumpy"
    adam.controls["lr"].value = 0.02
    adam.controls["surface"].value = "rosenbrock"
    adam.controls["surface"].value = "bumpy"
    assert calls == ["bumpy"]


# (control, value, runs and renders so far): one run is kept, so going back re-runs;
# a control the optimizer does not use costs nothing; contours are drawn once per surface.
BACK_AND_FORTH = [
    ("surface", "beale", 2, 2),
    ("surface", "rosenbrock", 3, 3),
    ("optimizer", "SGD", 4, 4),
    ("beta2", 0.99, 4, 4),  # SGD has no betas
    ("optimizer", "Adam", 5, 5),  # now with beta2 = 0.99
    ("momentum", 0.5, 5, 5),  # Adam has no momentum
    ("optimizer", "SGD", 6, 6),  # now with momentum = 0.5
    ("surface", "beale", 7, 7),
    ("optimizer", "Adagrad", 8, 8),
    ("surface", "rosenbrock", 9, 9),
    ("steps", 10, 9, 10),
]


def test_switching_back_and_forth_counts_every_run_and_render(adam, monkeypatch):
    calls = []
    original = plotting.plot_surface
    monkeypatch.setattr(plotting, "plot_surface", lambda *a, **k: calls.append(a[0]) or original(*a, **k))
    for control, value, runs, renders in BACK_AND_FORTH:
        adam.controls[control].value = value
        assert adam.error is None, (control, value, adam.readout.value)
        assert (adam.runs, adam.renders) == (runs, renders), (control, value)
    assert calls == ["beale"]
    expected = training.run(optim.Adagrad, "rosenbrock", 10, lr=0.1)
    assert torch.equal(adam.history.positions, expected.positions)


def test_the_fast_redraw_equals_a_full_redraw(adam):
    for control, value in [
        ("lr", 0.3),
        ("surface", "bumpy"),
        ("optimizer", "SGD"),
        ("lr", 0.5),
        ("surface", "rosenbrock"),
        ("lr", 0.001),
    ]:
        adam.controls[control].value = value
        blitted = _pixels(adam.image.value)
        adam._canvas.draw()
        full = np.asarray(adam._canvas.buffer_rgba())[..., :3]
        assert np.array_equal(blitted, full), f"after {control}={value!r}"


def _loss_tick_labels(explorer) -> list[str]:
    """Return the tick labels inside the loss panel's y range (set when it was last drawn)."""
    ax = explorer._loss_ax
    low, high = ax.get_ylim()
    ticks = ax.yaxis.get_major_ticks() + ax.yaxis.get_minor_ticks()
    return [t.label1.get_text() for t in ticks if t.label1.get_text() and low <= t.get_loc() <= high]


# (lr, the loss's range in decades, labels as plain numbers)
LOSS_LABELS = [
    (1e-4, "less than one", True),  # rosenbrock: 24.2 -> 18.6
    (0.1, "several", False),
    (1e-4, "less than one", True),
]


def test_a_loss_that_barely_moves_is_labelled_in_plain_numbers(adam):
    # Long labels like 2.42×10¹ would run into the axis label in the panel's fixed margin.
    for lr, _, plain in LOSS_LABELS:
        adam.controls["lr"].value = lr
        labels = _loss_tick_labels(adam)
        assert len(labels) >= 2, (lr, labels)
        if plain:
            assert all(float(label) > 0 for label in labels), (lr, labels)
        else:
            assert all("10^{" in label for label in labels), (lr, labels)
        blitted = _pixels(adam.image.value)
        adam._canvas.draw()
        assert np.array_equal(blitted, np.asarray(adam._canvas.buffer_rgba())[..., :3]), lr


def test_a_diverging_run_is_reported_and_drawn(adam):
    adam.controls["optimizer"].value = "SGD"
    adam.controls["lr"].value = 0.2
    h = adam.history
    assert h.diverged and f"diverged at step {h.diverged_at}" in adam.readout.value
    assert "left the plotted area" in adam.readout.value
    crosses = [line for line in adam._path_ax.lines if line.get_marker() == plotting.DIVERGED_MARKER]
    assert len(crosses) == 1
    assert adam.error is None


def _markers(ax) -> int:
    return sum(line.get_marker() == plotting.DIVERGED_MARKER for line in ax.lines)


@pytest.mark.parametrize("surface", ["ravine", "rosenbrock", "beale", "saddle", "bumpy"])
def test_extreme_learning_rates_give_a_picture_and_a_readout(surface):
    # Every optimizer at the learning-rate slider's ends, switching optimizers
    # back and forth: never an error or a blank panel, and a diverged run is
    # named in the readout and marked on both panels.
    explorer = trajectory_explorer(surface, "SGD", steps=100)
    lr = explorer.controls["lr"]
    ends = (lr.base**lr.min, lr.base**lr.max)
    for optimizer in ["SGD", "Adam", "SGD+Nesterov", "Adagrad", "RMSprop", "AdamW", "SGD"]:
        explorer.controls["optimizer"].value = optimizer
        for value in ends:
            lr.value = value
            where = f"{surface}/{optimizer}/lr={value:g}"
            h = explorer.history
            assert explorer.error is None, (where, explorer.readout.value)
            assert h.label.startswith(f"{optimizer}(lr={value:g}") and h.label in html.unescape(explorer.readout.value)
            assert (f"diverged at step {h.diverged_at}" in explorer.readout.value) == h.diverged, where
            assert (_markers(explorer._path_ax), _markers(explorer._loss_ax)) == ((1, 1) if h.diverged else (0, 0))
            assert len(h) >= 1 and np.isfinite(h.losses.numpy()).all(), where
            pixels = _pixels(explorer.image.value)
            for ax in (explorer._path_ax, explorer._loss_ax):
                assert _colours_inside(ax, pixels) > 8, where  # an empty panel is one or two colours


def _colours_inside(ax, pixels) -> int:
    """Return how many colours the pixels inside ``ax``'s frame have."""
    (x0, y0), (x1, y1) = ax.get_window_extent().get_points()
    height = pixels.shape[0]
    inside = pixels[int(height - y1) + 2 : int(height - y0) - 2, int(x0) + 2 : int(x1) - 2].astype(np.int32)
    return len(np.unique((inside[..., 0] << 16) | (inside[..., 1] << 8) | inside[..., 2]))


# (optimizer, learning rate, slider, its end, what the readout says)
SLIDER_ENDS = [
    ("Adam", 0.1, "steps", "min", "· 1 step ·"),
    ("Adam", 0.1, "steps", "max", "· 1000 steps ·"),
    ("Adam", 0.1, "beta2", "max", "betas=(0.9, 0.9999)"),
    ("Adam", 0.1, "beta2", "min", "betas=(0.9, 0.9)"),
    ("AdamW", 0.1, "beta1", "min", "betas=(0, 0.999)"),
    ("AdamW", 0.1, "beta1", "max", "betas=(0.99, 0.999)"),
    ("SGD", 1e-3, "momentum", "min", "SGD(lr=0.001, momentum=0)"),
    ("SGD", 1e-3, "momentum", "max", "SGD(lr=0.001, momentum=0.99)"),
    ("SGD+Nesterov", 1e-3, "momentum", "max", "SGD+Nesterov(lr=0.001, momentum=0.99)"),
    ("RMSprop", 0.01, "momentum", "max", "RMSprop(lr=0.01, momentum=0.99)"),
    ("Adagrad", 0.1, "lr", "min", "Adagrad(lr=0.0001)"),
    ("Adagrad", 0.1, "lr", "max", "Adagrad(lr=10)"),
]


@pytest.mark.parametrize("optimizer, lr, control, end, text", SLIDER_ENDS)
def test_every_slider_end_gives_a_new_picture_and_a_readout(adam, optimizer, lr, control, end, text):
    adam.controls["optimizer"].value = optimizer
    adam.controls["lr"].value = lr
    image = adam.image.value
    slider = adam.controls[control]
    slider.value = slider.base ** getattr(slider, end) if control == "lr" else getattr(slider, end)
    assert adam.error is None and text in html.unescape(adam.readout.value), adam.readout.value
    assert adam.image.value != image


def test_an_error_in_a_callback_is_shown_and_kept(adam):
    adam.controls["optimizer"].value = "SGD+Nesterov"
    image = adam.image.value
    adam.controls["momentum"].value = 0.0
    assert isinstance(adam.error, ValueError)
    assert "Nesterov momentum requires a momentum and zero dampening" in adam.readout.value
    assert "ValueError" in adam.readout.value and adam.image.value == image
    adam.controls["momentum"].value = 0.5
    assert adam.error is None and "SGD+Nesterov(lr=0.1, momentum=0.5)" in adam.readout.value


@pytest.mark.parametrize(
    "surface, optimizer, lr, steps, text",
    [
        (
            "rosenbrock",
            "SGD+Nesterov",
            1.2589254117941673e-4,
            1000,
            "TrajectoryExplorer(surface='rosenbrock', optimizer='SGD+Nesterov', "
            "lr=0.0001259, momentum=0.9, steps=1000)",
        ),
        (
            "rosenbrock",
            "AdamW",
            1.2589254117941673e-4,
            1000,
            "TrajectoryExplorer(surface='rosenbrock', optimizer='AdamW', lr=0.0001259, betas=(0.9, 0.999), steps=1000)",
        ),
        ("saddle", "Adagrad", 0.5, 10, "TrajectoryExplorer(surface='saddle', optimizer='Adagrad', lr=0.5, steps=10)"),
    ],
)
def test_reprs_fit_jupyters_110_characters(surface, optimizer, lr, steps, text):
    explorer = TrajectoryExplorer(surface, optimizer, lr=lr, steps=steps)
    assert repr(explorer) == text and len(text) <= 110


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("make", [trajectory_explorer, schedule_explorer], ids=["trajectory", "schedule"])
def test_every_widget_option_is_one_this_ipywidgets_knows(make):
    # traitlets only warns about an option a widget does not have (a trait
    # renamed between ipywidgets 7 and 8, a layout or style key) and drops it:
    # the warning filter makes that an error, the asserts check what was kept.
    explorer = make()
    for name, widget in explorer.controls.items():
        assert (widget.layout.width, widget.style.description_width) == ("360px", "90px"), name
        assert getattr(widget, "continuous_update", False) is False, name  # a Dropdown has none
    assert explorer.image.format == "png" and explorer.image.layout.max_width == "100%"
    assert explorer.children[0].layout.flex_flow == "row wrap"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"surface": "rosenbruck"}, ValueError, "Unknown surface 'rosenbruck'"),
        ({"optimizer": "LBFGS"}, ValueError, "Unknown optimizer 'LBFGS'; choose one of 'SGD', 'SGD\\+Nesterov'"),
        ({"lr": 0.0}, ValueError, "Invalid learning rate: 0.0"),
        ({"steps": 0}, ValueError, "steps must be at least 1"),
    ],
)
def test_bad_arguments_fail_at_construction(kwargs, error, message):
    with pytest.raises(error, match=message):
        trajectory_explorer(**kwargs)


# ---------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------

# (scheduler, factory with the explorer's default controls (lr 0.1, 100 steps), controls shown)
SCHEDULES = [
    ("StepLR", lambda s, o: s.StepLR(o, step_size=25, gamma=0.5), {"step_size", "gamma"}),
    ("MultiStepLR", lambda s, o: s.MultiStepLR(o, milestones=[50, 75], gamma=0.5), {"milestones", "gamma"}),
    ("ExponentialLR", lambda s, o: s.ExponentialLR(o, gamma=0.5), {"gamma"}),
    ("CosineAnnealingLR", lambda s, o: s.CosineAnnealingLR(o, T_max=100, eta_min=0.0), {"T_max", "eta_min"}),
    (
        "LinearLR",
        lambda s, o: s.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10),
        {"start_factor", "end_factor", "total_iters"},
    ),
    (
        "SequentialLR",
        lambda s, o: s.SequentialLR(
            o, [s.LinearLR(o, start_factor=0.1, total_iters=10), s.CosineAnnealingLR(o, T_max=90)], milestones=[10]
        ),
        {"start_factor", "total_iters", "eta_min"},
    ),
    (
        "OneCycleLR",
        lambda s, o: s.OneCycleLR(o, max_lr=0.1, total_steps=100, pct_start=0.3),
        {"pct_start", "anneal_strategy", "div_factor"},
    ),
]


@pytest.mark.parametrize("name, factory, controls", SCHEDULES, ids=[row[0] for row in SCHEDULES])
def test_schedule_explorer_shows_torchs_schedule(name, factory, controls):
    explorer = schedule_explorer(name)
    expected = training.lr_schedule(lambda o: factory(torch.optim.lr_scheduler, o), 100, lr=0.1)
    torch.testing.assert_close(explorer.lrs, expected, rtol=1e-15, atol=0.0)
    shown = {n for n, w in explorer.controls.items() if w.layout.display != "none"}
    assert shown == {"scheduler", "lr", "steps"} | controls
    assert explorer.error is None and bytes(explorer.image.value).startswith(b"\x89PNG")
    assert len(repr(explorer)) <= 110 and repr(explorer).startswith(f"ScheduleExplorer({name!r}, lr=0.1, steps=100")


def test_schedule_explorer_recomputes_only_for_its_own_controls():
    explorer = schedule_explorer("StepLR")
    assert isinstance(explorer, ScheduleExplorer) and explorer.runs == 1
    image = explorer.image.value
    explorer.controls["T_max"].value = 10  # CosineAnnealingLR's, not StepLR's
    assert explorer.runs == 1 and explorer.image.value == image
    explorer.controls["gamma"].value = 0.25
    assert explorer.runs == 2 and explorer.image.value != image
    assert explorer.lrs.tolist()[:26] == [0.1] * 25 + [0.025]
    assert repr(explorer) == "ScheduleExplorer('StepLR', lr=0.1, steps=100, step_size=25, gamma=0.25)"


def test_schedule_explorer_reports_bad_milestones():
    explorer = schedule_explorer("MultiStepLR")
    explorer.controls["milestones"].value = "ten, 20"
    assert isinstance(explorer.error, ValueError)
    assert "milestones must be whole numbers separated by commas" in explorer.readout.value
    explorer.controls["milestones"].value = "10, 20"
    assert explorer.error is None and explorer.lrs.tolist()[19:21] == [0.05, 0.025]


@pytest.mark.parametrize("name", [row[0] for row in SCHEDULES])
def test_every_schedule_slider_at_its_ends_gives_a_schedule(name):
    explorer = schedule_explorer(name)
    sliders = [n for n, w in explorer.controls.items() if w.layout.display != "none" and hasattr(w, "min")]
    assert {"lr", "steps"} <= set(sliders)
    for control in sliders:
        slider = explorer.controls[control]
        for end in ("min", "max"):
            settings, runs = repr(explorer), explorer.runs
            slider.value = slider.base ** getattr(slider, end) if control == "lr" else getattr(slider, end)
            where = f"{name}: {control} at its {end}"
            assert explorer.error is None, (where, explorer.readout.value)
            assert torch.isfinite(explorer.lrs).all() and (explorer.lrs >= 0).all(), where
            assert len(explorer.lrs) == explorer.controls["steps"].value, where
            assert f"{len(explorer.lrs)} steps" in explorer.readout.value, where
            assert explorer.runs - runs == int(repr(explorer) != settings) and explorer.renders == explorer.runs, where


# ----------------------------------------------------------------------------- the batch explorer


@pytest.fixture(scope="module")
def batches():
    from myoptim_helpers.widgets import batch_explorer

    return batch_explorer("SGD", lr=0.1, batch_size=128, epochs=1)


def test_batch_explorer_shows_the_run_its_controls_describe(batches):
    from myoptim_helpers import minibatch, problems

    expected = minibatch.lr_sweep(problems.digits_mlp, torch.optim.SGD, problems.digits(), [0.1], 1, batch_size=128)
    torch.testing.assert_close(batches.sweep.step_losses, expected.step_losses, rtol=1e-12, atol=1e-12)
    assert repr(batches) == "BatchExplorer(optimizer='SGD', lr=0.1, batch_size=128, epochs=1)"
    assert "12 steps in 1 epoch" in batches.readout.value and "validation accuracy" in batches.readout.value


def test_batch_explorer_redraws_when_a_slider_moves(batches):
    before, runs = _pixels(batches.image.value), batches.runs
    batches.controls["batch_size"].value = 256
    assert batches.runs == runs + 1 and "6 steps" in batches.readout.value
    assert not np.array_equal(before, _pixels(batches.image.value))
    batches.controls["lr"].value = 10.0
    assert batches.error is None and batches.runs == runs + 2
    batches.controls["optimizer"].value = "Adam"
    batches.controls["lr"].value = 1e-3
    assert "<b>Adam</b>, lr 0.001, batch 256" in batches.readout.value


def test_batch_explorer_rejects_bad_arguments():
    from myoptim_helpers.widgets import batch_explorer

    with pytest.raises(ValueError, match="batch_size must be one of"):
        batch_explorer(batch_size=33)
    with pytest.raises(ValueError, match="Unknown optimizer 'Lion'"):
        batch_explorer("Lion")


# --------------------------------------------------------------------------- static view

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
STATIC_EXPLORERS = {
    "trajectory": lambda: trajectory_explorer("ravine", "SGD", lr=0.1, momentum=0.9, steps=100),
    "schedule": lambda: schedule_explorer("StepLR", lr=0.1, steps=40),
    "batch": lambda: batch_explorer("SGD", lr=0.1, batch_size=128, epochs=1),
    "rate": lambda: rate_explorer(lr=0.05, momentum=0.9),
}


def _readout_lines(markup: str) -> list[str]:
    """The readout's lines as a reader reads them (written out here, not with the code under test)."""
    return [html.unescape(re.sub(r"<[^>]+>", "", part)).strip() for part in markup.split("<br>")]


@pytest.mark.parametrize("name", STATIC_EXPLORERS)
def test_an_explorers_bundle_keeps_the_widget_and_adds_its_picture(name):
    explorer = STATIC_EXPLORERS[name]()
    bundle = explorer._repr_mimebundle_()
    # the live view and the one-line text are those of every ipywidget
    assert bundle[WIDGET_VIEW]["model_id"] == explorer.model_id
    assert bundle["text/plain"] == repr(explorer)
    # one static mimetype: a static renderer would show a text/html one instead of the picture
    assert set(bundle) == {WIDGET_VIEW, "text/plain", "image/png"}
    static, picture = _pixels(bundle["image/png"]), _pixels(explorer.image.value)
    assert static.shape[1] == picture.shape[1] and static.shape[0] > picture.shape[0] + 20
    # the picture on top, in 256 colours: close on average and almost everywhere, as an eye sees it
    error = np.abs(static[: picture.shape[0]].astype(int) - picture).max(axis=2)
    assert error.mean() < 1.0 and np.quantile(error, 0.99) <= 16, (error.mean(), np.quantile(error, 0.99))
    assert (static[picture.shape[0] :] < 128).any(), "the caption strip under the picture holds no text"
    lines = explorer.caption()
    assert lines[0].startswith("Interactive in JupyterLab/Colab: ")
    for control, widget in explorer.controls.items():
        shown = widget.layout.display != "none"
        assert (f"{widget.description} " in lines[0]) == shown, control
    readout = _readout_lines(explorer.readout.value)
    assert readout and all(line in lines for line in readout)
    assert not any("<" in line or "&" in line for line in lines)


def test_the_static_picture_follows_the_controls():
    explorer = STATIC_EXPLORERS["trajectory"]()
    before = _pixels(explorer._repr_mimebundle_()["image/png"])
    explorer.controls["lr"].value = 0.02
    after = _pixels(explorer._repr_mimebundle_()["image/png"])
    assert not np.array_equal(before, after)
    picture = _pixels(explorer.image.value).astype(int)
    assert np.abs(after[:288] - picture).mean() < 1.0 < np.abs(before[:288] - picture).mean()
    assert "learning rate 0.02 " in explorer.caption()[0] and "SGD(lr=0.02" in explorer.caption()[1]


def test_an_error_shows_in_the_static_caption_too():
    explorer = schedule_explorer("MultiStepLR")
    explorer.controls["milestones"].value = "ten, 20"
    assert isinstance(explorer.error, ValueError)
    assert explorer.caption()[1] == f"ValueError: {explorer.error}"
    assert "milestones ten, 20" in explorer.caption()[0]
    _pixels(explorer._repr_mimebundle_()["image/png"])  # the last good picture, captioned


@pytest.mark.parametrize("key", sorted(predictions.QUESTIONS))
def test_a_predictions_static_view_asks_without_answering(key):
    question = predictions.QUESTIONS[key]
    widget = predict(key)
    bundle = widget._repr_mimebundle_()
    assert bundle[WIDGET_VIEW]["model_id"] == widget.model_id
    assert bundle["text/plain"] == f"Prediction({key!r}: choose one of {len(question.choices)} answers)"
    assert set(bundle) == {WIDGET_VIEW, "text/plain", "text/html"}
    page = bundle["text/html"]
    asked = f"<p><b>Predict:</b> {html.escape(question.text, quote=False)}</p>"
    choices = "<ul>" + "".join(f"<li>{html.escape(c, quote=False)}</li>" for c in question.choices) + "</ul>"
    # every choice, in the buttons' order, none marked
    assert page.startswith(f"{asked}\n{choices}\n")
    # the rest names no choice, no index, no verdict and no reveal
    rest = page[len(asked) + len(choices) + 2 :]
    assert rest.startswith("<p><i>") and not re.search(r"\d|✓|✗|correct|right", rest)
    reveal = predictions.answer(key, question.correct)
    assert reveal.startswith("✓ ") and html.escape(reveal[2:], quote=False) not in page
    # deterministic: no model id, the same page for a fresh widget and after a choice
    assert widget.model_id not in page
    widget.choose(question.correct)
    assert widget._repr_mimebundle_()["text/html"] == page == predict(key)._repr_mimebundle_()["text/html"]


def test_an_explorer_without_a_picture_shows_its_repr_statically():
    explorer = STATIC_EXPLORERS["schedule"]()
    explorer.image.value = b""
    assert set(explorer._repr_mimebundle_()) == {WIDGET_VIEW, "text/plain"}
