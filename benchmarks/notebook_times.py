#!/usr/bin/env python3
"""How long each lesson takes to run top to bottom, kernel start included.

Executes the committed learner and solved notebooks one after the other, each in a fresh
``python3`` kernel (as a learner's "Restart and run all" would), and prints a Markdown
table against the target::

    python benchmarks/notebook_times.py            # every lesson
    python benchmarks/notebook_times.py 00 03      # some lessons
    python benchmarks/notebook_times.py --strict   # exit 1 if any notebook exceeds the target

Timings are wall-clock and noisy on a shared machine; run it when the machine is quiet
and read them as an upper bound.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
# TQDM_DISABLE: a recorded (or timed) run shows no progress bar; an interactive session does.
KERNEL_ENV = {"IPYKERNEL_CELL_NAME": "<IPY-INPUT>", "PYTHONHASHSEED": "0", "TQDM_DISABLE": "1"}


def time_notebook(path: Path, timeout: int = 300) -> float:
    """Execute the notebook at ``path`` in a fresh kernel; return the seconds it took."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        # no "running over TCP without encryption" warning per kernel: local runs only
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute(env={**os.environ, **KERNEL_ENV})  # starts, runs, shuts down the kernel
    return time.perf_counter() - start


def lesson_slugs(numbers=None) -> list:
    """The slugs of the committed lessons ("00_start_here", ...), optionally filtered."""
    slugs = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if numbers:
        wanted = {n.zfill(2) for n in numbers}
        slugs = [s for s in slugs if s[:2] in wanted]
    return slugs


def main(argv=None) -> int:
    """Print the table; return 1 with --strict if a notebook exceeds the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers (default: all)")
    parser.add_argument("--target", type=float, default=20.0, help="seconds per notebook")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any exceeds the target")
    args = parser.parse_args(argv)

    slugs = lesson_slugs(args.lessons)
    if not slugs:
        print("no lesson notebooks found", file=sys.stderr)
        return 1
    print(f"| lesson | learner s | solved s | target {args.target:g} s |")
    print("|---|---:|---:|---|")
    slow = []
    for slug in slugs:
        times = []
        for path in (NOTEBOOKS / f"{slug}.ipynb", NOTEBOOKS / "solutions" / f"{slug}.ipynb"):
            try:
                times.append(time_notebook(path))
            except Exception as exc:  # a failing notebook is reported, not timed
                print(
                    f"{path.relative_to(ROOT)}: {type(exc).__name__}: "
                    f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}",
                    file=sys.stderr,
                )
                times.append(float("nan"))
        over = [t for t in times if not t <= args.target]
        slow += [slug] if over else []
        verdict = "ok" if not over else "**over**"
        print(f"| {slug} | {times[0]:.1f} | {times[1]:.1f} | {verdict} |", flush=True)
    if slow:
        print(f"\nover {args.target:g} s (or failed): {', '.join(slow)}")
    return 1 if (args.strict and slow) else 0


if __name__ == "__main__":
    sys.exit(main())
