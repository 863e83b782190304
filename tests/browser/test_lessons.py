"""Every lesson, as a learner sees it in JupyterLab: it runs clean and its explorers respond.

Each learner notebook ``notebooks/NN_*.ipynb`` is opened in chromium, its old outputs are
cleared and *Run → Run All Cells* is clicked (fixture ``lesson`` in ``conftest.py``). Then:

- no cell shows an error, a traceback or a broken widget (a lesson shows an intended error
  with ``expect_error``, which prints it without raising), and every code cell ran, so Run All
  reaches the end as it must in Colab;
- every widget with a slider draws a plot, and moving its first slider with the keyboard
  changes the slider's readout and the pixels of the plot;
- lesson 03's rate explorer redraws for each of its two main sliders, learning rate and momentum.

Run:  .venv/bin/python -m pytest tests/browser --artifacts=test-artifacts/browser
"""

from __future__ import annotations

import pytest
from slider_moves import explorer_text, move_slider

pytestmark = pytest.mark.browser

# How long one explorer may take to redraw after a slider move (a loaded 2-core machine).
REDRAW_TIMEOUT = 30.0


def test_run_all_cells_shows_no_error(lesson):
    """After Run All Cells no cell shows an error and every cell ran."""
    problems = lesson.problems()
    if problems:
        lesson.scroll_to_cell(problems[0].cell)  # the failure screenshot shows the first one
    details = "\n".join(str(p) for p in problems)
    console = "\n".join(f"    {line[:300]}" for line in lesson.console_errors[-10:])
    if problems:
        pytest.fail(
            f"{lesson.notebook}: {len(problems)} problem(s) after Run All Cells:\n{details}"
            + (f"\n  browser console errors:\n{console}" if console else ""),
            pytrace=False,
        )


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


def _describe_plot(plot) -> dict:
    return plot.evaluate(
        "(img) => ({w: img.getBoundingClientRect().width, h: img.getBoundingClientRect().height,"
        " natural: img.naturalWidth, complete: img.complete})"
    )


def test_explorers_redraw_when_a_slider_moves(lesson):
    """Each widget with a slider shows a plot that redraws, with its readouts, when a slider moves."""
    explorers = lesson.explorers()
    if not explorers:
        pytest.skip(f"{lesson.notebook} shows no widget with a slider")
    failures = []
    for number, explorer in enumerate(explorers, start=1):
        cell = lesson.cell_of(explorer)
        where = f"explorer {number} (cell {cell})"
        name = f"explorer-{number}-cell-{cell}"
        explorer.scroll_into_view_if_needed()
        sliders = [
            s
            for s in explorer.locator(".widget-slider").all()
            if s.is_visible() and not s.locator(".noUi-handle[disabled]").count()
        ]
        plots = [p for p in explorer.locator("img").all() if p.is_visible()]
        if not sliders:
            failures.append(f"{where}: no visible, enabled slider")
            continue
        if not plots:
            failures.append(
                f"{where}: sliders but no visible plot image; text shown: {explorer_text(explorer)[:200]!r}"
            )
            continue
        plot = plots[0]
        size = _describe_plot(plot)
        if not (size["w"] > 0 and size["h"] > 0 and size["natural"] > 0):
            failures.append(f"{where}: the plot image is empty ({size})")
            continue
        lesson.screenshot(f"{name}-before", explorer)
        log_offset = lesson.server.log_size()
        log_entries = len(lesson.log_console_entries())
        move = move_slider(lesson.page, explorer, sliders[0], plot, timeout=REDRAW_TIMEOUT)
        lesson.screenshot(f"{name}-after", explorer)
        moved = (
            f"{where}: slider {move.label!r} moved with {move.keys} ({move.readout_before!r} -> {move.readout_after!r})"
        )
        wrong = []
        if move.readout_after == move.readout_before:
            wrong.append("the slider's readout did not change")
        if not move.plot_changed:
            wrong.append(f"the plot did not change within {REDRAW_TIMEOUT:.0f} s")
        if move.text_before and not move.text_changed:
            wrong.append(f"the explorer's readout did not change: {move.text_after[:300]!r}")
        tracebacks = lesson.log_console_tracebacks(skip=log_entries)
        if tracebacks:
            wrong.append(
                f"the log console shows {len(tracebacks)} traceback(s); the last one:\n"
                + _indent(tracebacks[-1].strip()[-2500:], 6)
            )
        kernel_log = lesson.server.log_since(log_offset).strip()
        if wrong and kernel_log:
            wrong.append("the JupyterLab server log meanwhile:\n" + _indent(kernel_log[-2000:], 6))
        if wrong:
            failures.append(moved + ":\n" + "\n".join(f"  - {w}" for w in wrong))
        redrawn = f"plot redrawn in {move.seconds:.1f} s" if move.plot_changed else "plot NOT redrawn"
        lesson.record(f"{where}: {move.label!r} {move.readout_before} -> {move.readout_after}, {redrawn}")
    if failures:
        pytest.fail(f"{lesson.notebook}:\n" + "\n".join(failures), pytrace=False)


def test_the_rate_explorer_redraws_for_lr_and_for_momentum(lesson):
    """Lesson 03's rate explorer: moving the learning rate, then the momentum, redraws its
    three panels and changes each direction's factor in its readout."""
    if not lesson.notebook.startswith("03_"):
        pytest.skip("the rate explorer is in lesson 03")
    found = [e for e in lesson.explorers() if "steps per factor e" in explorer_text(e)]
    if len(found) != 1:
        pytest.fail(f"{lesson.notebook}: expected one rate explorer, found {len(found)}", pytrace=False)
    explorer = found[0]
    explorer.scroll_into_view_if_needed()
    plot = explorer.locator("img").first
    failures = []
    for label in ("learning rate", "momentum"):
        slider = explorer.locator(".widget-slider").filter(has_text=label).first
        move = move_slider(lesson.page, explorer, slider, plot, timeout=REDRAW_TIMEOUT)
        lesson.screenshot(f"rate-explorer-after-{label.replace(' ', '-')}", explorer)
        wrong = [
            what
            for what, bad in (
                ("the slider's readout did not change", move.readout_after == move.readout_before),
                (f"the plot did not change within {REDRAW_TIMEOUT:.0f} s", not move.plot_changed),
                ("the factors in the readout did not change", not move.text_changed),
            )
            if bad
        ]
        if wrong:
            failures.append(f"{label} ({move.readout_before!r} -> {move.readout_after!r}): " + "; ".join(wrong))
        lesson.record(f"rate explorer: {label} {move.readout_before} -> {move.readout_after}, {move.seconds:.1f} s")
    if failures:
        pytest.fail(f"{lesson.notebook}, rate explorer:\n" + "\n".join(failures), pytrace=False)
