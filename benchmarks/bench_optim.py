"""Time ``optimizer.step()`` of our optimizers against torch.optim's implementations.

For each optimizer and each model (about 1M and 10M float32 parameters, each
split over 100 tensors) it times one ``step()`` of:

- ours (``myoptim_helpers.optim``),
- torch with ``foreach=False`` (the per-tensor loop that ours mirrors),
- torch with ``foreach=True`` (one kernel per operation over all tensors),
- torch with ``fused=True`` (one kernel for the whole update; "n/a" where
  torch's CPU build does not offer it).

The implementations take turns step by step, so that load from other processes
hits them alike; the table reports the median time per step and its ratio to
torch ``foreach=False``. Gradients are fixed random tensors, so only the
optimizer is timed (no forward or backward pass). Muon, SparseAdam and LBFGS
take no ``foreach``: their one implementation is the single-tensor loop, timed
in the ``foreach=False`` column. Muon and Adafactor see each tensor as a matrix,
SparseAdam a sparse gradient of every tenth row, and LBFGS a closure.

Usage::

    python benchmarks/bench_optim.py            # the full run (a few minutes)
    python benchmarks/bench_optim.py --quick    # a smoke run: small models, few steps
    python benchmarks/bench_optim.py --only Muon LBFGS    # some optimizers only
"""

import argparse
import platform
import statistics
import time

import torch

import myoptim_helpers.optim as ours

# (name, our class, torch's class, hyperparameters): typical settings, with state to update.
OPTIMIZERS = [
    ("SGD", ours.SGD, torch.optim.SGD, {"lr": 0.01, "momentum": 0.9}),
    ("Adam", ours.Adam, torch.optim.Adam, {"lr": 1e-3}),
    ("AdamW", ours.AdamW, torch.optim.AdamW, {"lr": 1e-3, "weight_decay": 1e-2}),
    ("RMSprop", ours.RMSprop, torch.optim.RMSprop, {"lr": 1e-2}),
    ("Adagrad", ours.Adagrad, torch.optim.Adagrad, {"lr": 1e-2}),
    ("NAdam", ours.NAdam, torch.optim.NAdam, {"lr": 2e-3}),
    ("RAdam", ours.RAdam, torch.optim.RAdam, {"lr": 1e-3}),
    ("Adamax", ours.Adamax, torch.optim.Adamax, {"lr": 2e-3}),
    ("Adadelta", ours.Adadelta, torch.optim.Adadelta, {"lr": 1.0}),
    ("ASGD", ours.ASGD, torch.optim.ASGD, {"lr": 1e-2, "t0": 0}),
    ("Rprop", ours.Rprop, torch.optim.Rprop, {"lr": 1e-2}),
    ("Adafactor", ours.Adafactor, torch.optim.Adafactor, {"lr": 1e-2}),
    ("Muon", ours.Muon, torch.optim.Muon, {"lr": 0.02}),
    ("SparseAdam", ours.SparseAdam, torch.optim.SparseAdam, {"lr": 1e-3}),
    ("LBFGS", ours.LBFGS, torch.optim.LBFGS, {"lr": 1.0, "max_iter": 5}),
]

# How a model must look for the optimizers that refuse the default one (flat tensors, dense
# gradients, a step without closure): Muon takes matrices (Adafactor's factored path wants them
# too), SparseAdam sparse gradients (here 10% of the rows), LBFGS a closure (here one returning a
# fixed loss, so that each step() is one L-BFGS iteration on fixed gradients).
MODEL_KIND = {"Adafactor": "matrix", "Muon": "matrix", "SparseAdam": "sparse"}
NEEDS_CLOSURE = {"LBFGS"}
# Muon's Newton-Schulz runs in bfloat16, whose CPU matmuls are about 100x slower than float32's:
# it is timed on a model this many times smaller, for at most 10 steps.
SCALE_DOWN = {"Muon": 10}

# (column label, which class, extra keyword arguments)
IMPLEMENTATIONS = [
    ("ours", "ours", {}),
    ("torch foreach=False", "torch", {"foreach": False}),
    ("torch foreach=True", "torch", {"foreach": True}),
    ("torch fused=True", "torch", {"fused": True}),
]
BASELINE = "torch foreach=False"
TARGET = 1.15  # ours may take at most this many times torch foreach=False


def make_model(total, tensors, seed=0):
    """Return ``tensors`` float32 parameters of ``total // tensors`` elements each, with fixed random grads."""
    g = torch.Generator().manual_seed(seed)
    size = total // tensors
    params = []
    for _ in range(tensors):
        p = torch.nn.Parameter(torch.randn(size, generator=g))
        p.grad = torch.randn(size, generator=g)
        params.append(p)
    return params


def clone_model(params, kind="flat"):
    """Return independent copies of ``params`` with copies of their gradients, shaped for ``kind``.

    ``"matrix"`` views each tensor as a ``rows x cols`` matrix with rows about ``sqrt(size) / 2``;
    ``"sparse"`` does the same and keeps only every tenth row of the gradient, as a sparse COO tensor.
    """
    copies = []
    for p in params:
        value, grad = p.detach().clone(), p.grad.clone()
        if kind in ("matrix", "sparse"):
            rows = next(r for r in range(max(1, int(value.numel() ** 0.5) // 2), 0, -1) if value.numel() % r == 0)
            value, grad = value.view(rows, -1), grad.view(rows, -1)
        c = torch.nn.Parameter(value)
        if kind == "sparse":
            kept = torch.arange(0, grad.size(0), 10)
            grad = torch.sparse_coo_tensor(kept.unsqueeze(0), grad[kept], grad.shape).coalesce()
        c.grad = grad
        copies.append(c)
    return copies


def _loss():
    return torch.tensor(1.0)


CLOCKS = {
    "wall": time.perf_counter,
    # CPU time of this process (all its threads): much less disturbed by other processes on a busy machine
    "cpu": time.process_time,
}


def time_steps(optimizers, warmup, repeats, clock=time.perf_counter):
    """Return {label: [seconds per step]} with the optimizers stepping in turn, after ``warmup`` steps each."""
    closure = _loss if any(type(opt).__name__ in NEEDS_CLOSURE for opt in optimizers.values()) else None
    for opt in optimizers.values():
        for _ in range(warmup):
            opt.step(closure)
    times = {label: [] for label in optimizers}
    labels = list(optimizers)
    for r in range(repeats):
        for label in labels[r % len(labels) :] + labels[: r % len(labels)]:  # rotate who goes first
            start = clock()
            optimizers[label].step(closure)
            times[label].append(clock() - start)
    return times


def bench_one(params, ours_cls, torch_cls, hyper, warmup, repeats, clock=time.perf_counter):
    """Return {label: median ms per step, or None where torch refuses the implementation}."""
    optimizers = {}
    kind = MODEL_KIND.get(ours_cls.__name__, "flat")
    for label, which, extra in IMPLEMENTATIONS:
        cls = ours_cls if which == "ours" else torch_cls
        try:
            optimizers[label] = cls(clone_model(params, kind), **hyper, **extra)
        except (TypeError, RuntimeError, ValueError):  # e.g. RMSprop has no fused implementation
            if label == BASELINE:  # Muon, SparseAdam, LBFGS take no foreach: their only code is single-tensor
                optimizers[label] = cls(clone_model(params, kind), **hyper)
            continue
    times = time_steps(optimizers, warmup, repeats, clock)
    return {
        label: (statistics.median(times[label]) * 1e3 if label in times else None) for label, _, _ in IMPLEMENTATIONS
    }


def markdown_table(results):
    """Return the results as a Markdown table: median ms per step and the ratio to torch foreach=False."""
    header = ["model", "optimizer"] + [label for label, _, _ in IMPLEMENTATIONS] + [f"ours ≤ {TARGET}×"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] * 2 + ["---:"] * len(IMPLEMENTATIONS) + [":---:"]) + "|",
    ]
    for (model, name), medians in results.items():
        base = medians[BASELINE]
        cells = []
        for label, _, _ in IMPLEMENTATIONS:
            ms = medians[label]
            cells.append("n/a" if ms is None else f"{ms:.2f} ms ({ms / base:.2f}×)")
        verdict = "yes" if medians["ours"] <= TARGET * base else "**no**"
        lines.append("| " + " | ".join([model, name] + cells + [verdict]) + " |")
    return "\n".join(lines)


def main(argv=None):
    """Run the benchmark and print the Markdown table with the torch version and thread count."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: models 10x smaller, 1 warm-up and 5 timed steps"
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed steps per implementation (default 60, 20 for 10M)"
    )
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 5)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall: elapsed time (default); cpu: the process's CPU time, steadier on a shared machine",
    )
    parser.add_argument("--tensors", type=int, default=100, help="tensors per model (default 100)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="time only these optimizers (default: all)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    scale = 10 if args.quick else 1
    models = [("1M", 1_000_000 // scale, 60), ("10M", 10_000_000 // scale, 20)]
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 5)
    results = {}
    for model, total, default_repeats in models:
        repeats = args.repeats or (5 if args.quick else default_repeats)
        params = make_model(total, args.tensors)
        label = f"{model} ({args.tensors}×{total // args.tensors:,})" if not args.quick else f"{total:,} (quick)"
        for name, ours_cls, torch_cls, hyper in OPTIMIZERS:
            if args.only and name not in args.only:
                continue
            if name in SCALE_DOWN:
                small = make_model(total // SCALE_DOWN[name], args.tensors)
                row = (label, f"{name} (model ÷{SCALE_DOWN[name]})")
                results[row] = bench_one(
                    small, ours_cls, torch_cls, hyper, min(warmup, 2), min(repeats, 10), CLOCKS[args.clock]
                )
            else:
                row = (label, name)
                results[row] = bench_one(params, ours_cls, torch_cls, hyper, warmup, repeats, CLOCKS[args.clock])
            print(f"  {label} {row[1]}: ours {results[row]['ours']:.2f} ms", flush=True)
        del params

    print()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, Python {platform.python_version()}, "
        f"{platform.machine()}; float32; {args.clock}-clock median ms per step() over "
        + ", ".join(f"{args.repeats or (5 if args.quick else r)} steps ({m})" for m, _, r in models)
        + f" after {warmup} warm-up steps; ratio to torch foreach=False in brackets."
    )
    if args.quick:
        print("Quick run: models are 10x smaller and timings are too short to trust.")
    print()
    print(markdown_table(results))


if __name__ == "__main__":
    main()
