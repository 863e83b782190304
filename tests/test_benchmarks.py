"""The benchmarks still run and print their tables. No timing is asserted here: speed is
measured by running them (`make bench`), and the figures live in the README."""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

RUNS = [
    # (script and arguments, lines the output must contain)
    (
        ["bench_optim.py", "--quick"],
        ["| SGD |", "| Adam |", "| AdamW |", "| RMSprop |", "| Adagrad |", "foreach=False"]
        + [
            f"| {name} |"
            for name in ("NAdam", "RAdam", "Adamax", "Adadelta", "ASGD", "Rprop", "Adafactor", "SparseAdam", "LBFGS")
        ]
        + ["| Muon (model ÷10) |"],
    ),
    (["bench_explorer.py", "--repeats", "2"], ["explorer update (run + redraw + PNG)", "median update"]),
    (["notebook_times.py", "00"], ["| 00_start_here |"]),
]


@pytest.mark.parametrize("argv, expected", RUNS, ids=[argv[0] for argv, _ in RUNS])
def test_benchmark_runs_and_prints_its_table(argv, expected):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,  # fifteen optimizers in the quick run
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    for fragment in expected:
        assert fragment in out.stdout, f"{fragment!r} missing from:\n{out.stdout[-2000:]}"
