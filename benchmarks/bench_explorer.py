"""How long one trajectory-explorer update takes: 200 Adam steps on Rosenbrock plus the redraw to PNG.

Every timed update moves the learning-rate slider to a value not used before,
so each one re-runs the optimizer and redraws (no cache hits). The parts are
timed too: the run alone, and the redraw alone (blitted over the cached
contour background, then PNG-encoded), next to a full redraw of the same
figure for comparison. Prints a table of wall-clock milliseconds (median,
10th and 90th percentile, min, max) and the median CPU time of this process,
which is less disturbed when other work shares the machine.

    .venv/bin/python benchmarks/bench_explorer.py [--repeats 40]

Target: median update under 150 ms on a 2-core CPU machine. Timings on a
shared machine are noisy; compare medians, and re-run when in doubt.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from myoptim_helpers import optim, training
from myoptim_helpers.widgets import trajectory_explorer

TARGET_MS = 150.0


def _time(fn, repeats: int) -> tuple[list[float], list[float]]:
    """Return (wall-clock ms, this process's CPU ms) of ``fn(i)`` for i in range(repeats)."""
    wall, cpu = [], []
    for i in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn(i)
        wall.append((time.perf_counter() - started) * 1e3)
        cpu.append((time.process_time() - started_cpu) * 1e3)
    return wall, cpu


def _row(name: str, times: tuple[list[float], list[float]]) -> str:
    wall, cpu = times
    p10, p90 = np.percentile(wall, [10, 90])
    return (
        f"{name:<44} {statistics.median(wall):8.1f} {p10:8.1f} {p90:8.1f} "
        f"{min(wall):8.1f} {max(wall):8.1f} {statistics.median(cpu):8.1f}"
    )


def main() -> None:
    """Time explorer updates and their parts; print the table and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40, help="timed updates per row (default 40)")
    args = parser.parse_args()
    repeats = args.repeats

    explorer = trajectory_explorer("rosenbrock", "Adam", lr=0.05, steps=200)
    lr_slider = explorer.controls["lr"]
    # Distinct learning rates, so that no update can reuse a cached run.
    lrs = np.geomspace(0.005, 0.5, 3 * repeats + 6)
    for lr in lrs[:3]:  # warm-up: first optimizer step imports, font cache, tick objects
        lr_slider.value = float(lr)

    def update(i):
        lr_slider.value = float(lrs[3 + i])

    def run_only(i):
        training.run(optim.Adam, "rosenbrock", 200, lr=float(lrs[3 + repeats + i]))

    history = explorer.history

    def redraw_blit(i):
        explorer._draw("rosenbrock", history)

    def redraw_full(i):
        explorer._canvas.draw()

    runs_before = explorer.runs
    rows = [
        ("explorer update (run + redraw + PNG)", _time(update, repeats)),
        ("  training.run: 200 Adam steps, float64", _time(run_only, repeats)),
        ("  redraw (blit over cached contours) + PNG", _time(redraw_blit, repeats)),
        ("  for comparison: full canvas.draw()", _time(redraw_full, repeats)),
    ]
    assert explorer.runs - runs_before == repeats, "every timed update must re-run the optimizer"

    print(f"trajectory explorer, rosenbrock, Adam, 200 steps; {repeats} repeats; milliseconds")
    print(f"{'':<44} {'median':>8} {'p10':>8} {'p90':>8} {'min':>8} {'max':>8} {'cpu med':>8}")
    for name, times in rows:
        print(_row(name, times))
    median = statistics.median(rows[0][1][0])
    verdict = "meets" if median < TARGET_MS else "MISSES"
    print(f"median update {median:.1f} ms {verdict} the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
