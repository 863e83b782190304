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
optimizer is timed (no forward or backward pass).

Usage::

    python benchmarks/bench_optim.py            # the full run (a few minutes)
    python benchmarks/bench_optim.py --quick    # a smoke run: small models, few steps
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
]

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


def clone_model(params):
    """Return independent copies of ``params`` with copies of their gradients."""
    copies = []
    for p in params:
        c = torch.nn.Parameter(p.detach().clone())
        c.grad = p.grad.clone()
        copies.append(c)
    return copies


CLOCKS = {
    "wall": time.perf_counter,
    # CPU time of this process (all its threads): much less disturbed by other processes on a busy machine
    "cpu": time.process_time,
}


def time_steps(optimizers, warmup, repeats, clock=time.perf_counter):
    """Return {label: [seconds per step]} with the optimizers stepping in turn, after ``warmup`` steps each."""
    for opt in optimizers.values():
        for _ in range(warmup):
            opt.step()
    times = {label: [] for label in optimizers}
    labels = list(optimizers)
    for r in range(repeats):
        for label in labels[r % len(labels) :] + labels[: r % len(labels)]:  # rotate who goes first
            start = clock()
            optimizers[label].step()
            times[label].append(clock() - start)
    return times


def bench_one(params, ours_cls, torch_cls, hyper, warmup, repeats, clock=time.perf_counter):
    """Return {label: median ms per step, or None where torch refuses the implementation}."""
    optimizers = {}
    for label, which, extra in IMPLEMENTATIONS:
        cls = ours_cls if which == "ours" else torch_cls
        try:
            optimizers[label] = cls(clone_model(params), **hyper, **extra)
        except (TypeError, RuntimeError, ValueError):  # e.g. RMSprop has no fused implementation
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
            results[(label, name)] = bench_one(params, ours_cls, torch_cls, hyper, warmup, repeats, CLOCKS[args.clock])
            print(f"  {label} {name}: ours {results[(label, name)]['ours']:.2f} ms", flush=True)
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
