# ---
# summary: Single-tensor vs foreach vs fused, optimizer-state bytes per parameter, DDP, ZeroRedundancyOptimizer and FSDP2 on 2 gloo processes, our Adam on a sharded model, distributed checkpoints.
# ---

# %% [markdown]
# # 11 · Optimizers at scale
#
# {{badges}}
#
# An optimizer that is right can still be too slow or too big. This lesson measures how fast
# torch's three implementations of the same update are, counts how many bytes of memory an
# optimizer keeps per parameter, and then splits the work over several processes with
# `torch.distributed`, the engine PyTorch users scale with: data parallel (DDP), sharded
# optimizer state (ZeRO) and sharded parameters (FSDP2). Everything runs here on 2 CPU
# processes talking over loopback with the gloo backend; the same code runs on GPUs with NCCL.
#
# ## You will learn
# - why `foreach=True` and `fused=True` are faster (or not), measured against the memory bandwidth
# - how many bytes per parameter SGD, Adam, AMSGrad, Adafactor and Muon keep, and the 16-bytes rule
# - what DistributedDataParallel does before `step()`: an all-reduce average of the gradients
# - how `ZeroRedundancyOptimizer` and FSDP2's `fully_shard` split the optimizer state across ranks,
#   and that our from-scratch Adam runs on sharded parameters unchanged
# - how to save and resume sharded optimizer state with `torch.distributed.checkpoint`
#
# ## You should already know
# - Adam's state `exp_avg`, `exp_avg_sq` and `step` (lesson 04), SGD's momentum buffer (lesson 03)
# - the training loop and `optimizer.state` (lessons 00–02); a state dict round trip (lesson 07)

# %%
# {{colab_setup}}
import inspect
import tempfile
import time

import matplotlib.pyplot as plt
import torch
from torch import nn

from myoptim_helpers import distributed, optim
from myoptim_helpers.exercises import check, hint, show_solution

_ = torch.manual_seed(0)  # `_ =` hides the returned generator

# %% [markdown]
# ## Three implementations of one update
#
# torch's optimizers come in three flavours, chosen with a flag:
#
# | flag | how it runs `step()` |
# |---|---|
# | `foreach=False` (*single-tensor*) | a Python loop over parameters; each line of the update is one kernel per tensor |
# | `foreach=True` (*multi-tensor*) | each line is one `torch._foreach_*` call over the list of all tensors |
# | `fused=True` | one kernel per tensor does the whole update in a single pass over memory |
#
# Our classes in `myoptim_helpers.optim` follow the single-tensor loop. Below: ten
# `Linear(1000, 1000)` layers, 10 million parameters in 20 tensors, one step timed for each.

# %%
model = nn.Sequential(*[nn.Linear(1000, 1000) for _ in range(10)])
params = list(model.parameters())
for p in params:
    p.grad = 1e-3 * torch.randn_like(p)
n_params = sum(p.numel() for p in params)
print(f"{n_params:,} parameters in {len(params)} tensors, {4 * n_params / 1e6:.0f} MB of float32 weights")


def best_step_ms(optimizer, repeats=3):
    """Fastest of `repeats` timed optimizer.step() calls, in ms, after a warm-up step that creates
    the state. The fastest run is the one least disturbed by other programs on the machine."""
    optimizer.step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return 1000 * min(times)

# %% tags=["nbval-ignore-output"]
variants = {"single-tensor": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}
timings = {}
for name, torch_class, ours, hyper in [("SGD", torch.optim.SGD, optim.SGD, {"lr": 1e-3, "momentum": 0.9}),
                                       ("Adam", torch.optim.Adam, optim.Adam, {"lr": 1e-3})]:
    for variant, flag in variants.items():
        timings[name, variant] = best_step_ms(torch_class(params, **hyper, **flag))
    timings[name, "ours"] = best_step_ms(ours(params, **hyper))
print(f"{'optimizer':9s} {'implementation':15s} {'ms/step':>8s} {'× single-tensor':>16s}")
for (name, variant), ms in timings.items():
    print(f"{name:9s} {variant:15s} {ms:8.2f} {ms / timings[name, 'single-tensor']:15.2f}×")

# %% [markdown]
# Times vary from run to run, ratios less, and the table above is one run on a shared machine.
# On 2 CPU cores, torch 2.13, fused Adam is several times faster than the single-tensor loop,
# `foreach` is no faster (sometimes slower), and ours is close to single-tensor. On a GPU the picture
# changes: each kernel launch costs microseconds, so launching one kernel per *list* of tensors
# (`foreach`) instead of one per tensor wins there, which is why it is the default on CUDA. On
# the CPU a launch is cheap, and `foreach` loses by writing each intermediate to a list of new
# tensors. `torch.compile(optimizer.step)` would generate a fused kernel for any optimizer, but
# compiling takes tens of seconds on a CPU, beyond this lesson's budget.
#
# ## The memory-bandwidth limit
#
# An optimizer step does very little arithmetic per byte: it is limited by how fast memory can
# be read and written. Fused Adam reads `param`, `grad`, `exp_avg`, `exp_avg_sq` and writes three
# of them back: 7 × 4 = 28 bytes per float32 parameter. SGD with momentum moves
# 5 × 4 = 20 bytes. A plain copy measures what this machine can move per second:

# %% tags=["nbval-ignore-output"]
source, target = torch.randn(n_params), torch.empty(n_params)
copy_times = []
for _ in range(5):
    start = time.perf_counter()
    target.copy_(source)
    copy_times.append(time.perf_counter() - start)
bandwidth = 2 * 4 * n_params / min(copy_times)  # a copy reads and writes 4 bytes each
print(f"copy bandwidth: {bandwidth / 1e9:.1f} GB/s")
for name, bytes_per_param in [("SGD", 20), ("Adam", 28)]:
    bound_ms = 1000 * bytes_per_param * n_params / bandwidth
    for variant in ("single-tensor", "fused"):
        ms = timings[name, variant]
        print(f"{name:4s} {variant:13s} {ms:6.2f} ms: {bound_ms / ms:4.0%} of the bandwidth bound ({bound_ms:.2f} ms)")

# %% [markdown]
# The fused step comes much closer to the bound than the single-tensor loop, which makes about a
# dozen passes over memory (one per operation: `lerp_`, `mul_`, `addcmul_`, `sqrt`, `div`,
# `add_`, `addcdiv_`), each reading and writing whole tensors.
#
# ## Fused is not bit-identical
#
# The fused kernel computes the same formula in another order (and keeps intermediates in
# registers), so it rounds differently. Twenty Adam steps from the same start with the same
# gradients, then the largest difference to the single-tensor loop:

# %%
def after_20_steps(make_optimizer, dtype):
    """The parameter after 20 steps of make_optimizer([p]) on seeded random gradients."""
    generator = torch.Generator().manual_seed(0)
    p = torch.randn(100, 100, generator=generator, dtype=dtype).requires_grad_(True)
    optimizer = make_optimizer([p])
    for _ in range(20):
        p.grad = torch.randn(p.shape, generator=generator, dtype=dtype)
        optimizer.step()
    return p.detach()


for dtype in (torch.float32, torch.float64):
    single = after_20_steps(lambda ps: torch.optim.Adam(ps, foreach=False), dtype)
    for variant, make in [("foreach", lambda ps: torch.optim.Adam(ps, foreach=True)),
                          ("fused", lambda ps: torch.optim.Adam(ps, fused=True)),
                          ("ours", lambda ps: optim.Adam(ps))]:
        diff = (after_20_steps(make, dtype) - single).abs()
        share = (diff > 0).double().mean()
        differ = "none" if share == 0 else "fewer than 1%" if share < 0.01 else "1% or more"
        print(f"{str(dtype)[6:]:7s} {variant:7s} bit-identical: {str(bool(share == 0)):5s} "
              f"largest difference {diff.max():.0e}, entries that differ: {differ}")

# %% [markdown]
# `foreach` and ours round exactly as the single-tensor loop does; fused differs in the last
# bit of a few entries (1e-07 is one float32 step for numbers between 0.5 and 1). That is far
# below what training notices, but it is why
# a test that compares a fused run with a reference needs a tolerance, not `torch.equal`.
#
# ## Memory: bytes of optimizer state per parameter
#
# Each optimizer keeps its own tensors in `optimizer.state[p]`. We count their bytes after one
# step (the state appears lazily, on the first step), for one float32 weight matrix. Muon
# orthogonalises 2-d updates only, so the model here has weight matrices and no biases.

# %%
def state_bytes_per_parameter(optimizer, params):
    """Bytes of all tensors in optimizer.state, divided by the number of parameter elements."""
    total = sum(t.numel() * t.element_size() for p in params for t in optimizer.state[p].values()
                if torch.is_tensor(t))
    return total / sum(p.numel() for p in params)


weights = [torch.randn(256, 128, requires_grad=True), torch.randn(128, 64, requires_grad=True)]
makers = {"SGD": lambda ps: torch.optim.SGD(ps, lr=0.01),
          "SGD momentum": lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9),
          "Adam": lambda ps: torch.optim.Adam(ps), "AMSGrad": lambda ps: torch.optim.Adam(ps, amsgrad=True),
          "Adafactor": lambda ps: torch.optim.Adafactor(ps), "Muon": lambda ps: torch.optim.Muon(ps)}
state_per_param = {}
for name, make in makers.items():
    optimizer = make(weights)
    for w in weights:
        w.grad = torch.randn_like(w)
    optimizer.step()
    state_per_param[name] = state_bytes_per_parameter(optimizer, weights)
    keys = sorted({k for w in weights for k in optimizer.state[w]})
    print(f"{name:12s} {state_per_param[name]:6.3f} bytes/param  state: {', '.join(keys) or '(none)'}")

# %% [markdown]
# SGD keeps nothing; momentum adds one float32 tensor (4 bytes per parameter); Adam two
# (`exp_avg`, `exp_avg_sq`: 8 bytes), AMSGrad three (12 bytes). The 0-dim `step` counters
# (4 bytes per *tensor*) are invisible at this scale. Adafactor factors the second moment of
# an m × n matrix into a row vector and a column vector, m + n numbers instead of m · n, which is
# why it was made for huge models. Muon (torch's class; lesson 10 builds it) keeps only a momentum buffer.
#
# **The 16-bytes rule.** Training with Adam in float32 costs per parameter 4 bytes of weights, 4
# of gradients and 8 of optimizer state: 16 bytes. A 7-billion-parameter model needs 112 GB
# before a single activation is stored, more than any single GPU holds. The optimizer state is
# half of it, and the first thing to shard.

# %%
fig, ax = plt.subplots(figsize=(7, 3))
names = list(state_per_param)
ax.barh(names, [4] * len(names), label="weights (float32)")
ax.barh(names, [4] * len(names), left=[4] * len(names), label="gradients")
ax.barh(names, [state_per_param[n] for n in names], left=[8] * len(names), label="optimizer state")
ax.axvline(16, color="k", linestyle="--", linewidth=1, label="16 bytes: Adam's rule")
ax.set(xlabel="bytes per parameter", title="Training memory per parameter, before activations")
ax.invert_yaxis()
ax.legend(loc="lower right", fontsize=8)
plt.show()

# %% [markdown]
# ## Common mistake: counting the state before the first step
#
# torch creates the state lazily, in the first `step()`. Measured right after construction,
# every optimizer looks free:

# %%
optimizer = torch.optim.Adam(weights)
entries = len(optimizer.state)
print(f"before step(): {entries} entries, {state_bytes_per_parameter(optimizer, weights):.1f} bytes/param")
for w in weights:
    w.grad = torch.randn_like(w)
optimizer.step()
print(f"after step():  {len(optimizer.state)} entries, {state_bytes_per_parameter(optimizer, weights):.1f} bytes/param")

# %% [markdown]
# Measure memory after one step (or build the state yourself). The same trap hides a
# parameter that never got a gradient: it has no state at all (lesson 02).
#
# ### 11.1 Predict the state bytes
#
# Complete `state_bytes(optimizer_name, options, shape, dtype)`: the number of bytes in
# `optimizer.state[p]` after one step, for one parameter `p` of that shape and dtype, with
# `optimizer_name` one of `"SGD"`, `"Adam"`, `"AdamW"`, `"RMSprop"`, `"Adagrad"` and `options`
# its keyword arguments (e.g. `{"momentum": 0.9}`, `{"amsgrad": True}`, `{"centered": True}`).
# Count every tensor, the `step` counter too. The checker draws optimizers, options, shapes
# (0-dim included) and dtypes, and counts what torch really keeps.

# %%
import math


def state_bytes(optimizer_name, options, shape, dtype):
    # BEGIN SOLUTION
    numel = math.prod(shape)
    size = torch.empty((), dtype=dtype).element_size()
    tensors = {"SGD": int(options.get("momentum", 0) != 0),
               "Adam": 2 + bool(options.get("amsgrad")), "AdamW": 2 + bool(options.get("amsgrad")),
               "RMSprop": 1 + (options.get("momentum", 0) != 0) + bool(options.get("centered")),
               "Adagrad": 1}[optimizer_name]
    step = 0 if optimizer_name == "SGD" else 4
    return tensors * numel * size + step
    # END SOLUTION


check("11.1", state_bytes)

# %% [markdown]
# ## More than one process: `torch.distributed`
#
# From here on, the work is split across **ranks**, processes that each run the same program on
# their own data and talk through *collectives* such as `all_reduce`, which leaves the sum of
# every rank's tensor on every rank. `myoptim_helpers.distributed.launch(worker, ...)` starts
# 2 processes, joins them into a gloo process group over loopback (127.0.0.1, a free port chosen
# at run time, a timeout on every collective) and returns what each rank's `worker` returned:

# %%
print(inspect.getsource(distributed.all_reduce_sum_of_ranks))
print("each rank returns:", distributed.launch(distributed.all_reduce_sum_of_ranks, world_size=2))

# %% [markdown]
# Starting processes is the slow part, so one launch runs every experiment of the rest of
# the lesson, and the sections below read its results. The workers are short functions in
# `myoptim_helpers.distributed`; we print each one where it is discussed. They train the same
# small float64 model, `Linear(24, 32) → Tanh → Linear(32, 24) → Tanh → Linear(24, 3)`, on
# 4 rows of data per rank, 5 steps, so that every comparison is exact or within 1e-12.

# %%
checkpoint_dir = tempfile.TemporaryDirectory()
results = distributed.launch(distributed.lesson11_tour, checkpoint_dir.name, world_size=2)
x, y = distributed.combined_batch(world_size=2)   # both ranks' rows: for single-process runs
print(f"{len(results)} ranks returned: {', '.join(results[0])}")

# %% [markdown]
# ## Data parallel: DistributedDataParallel
#
# Each rank holds a full copy of the model and computes the gradient of its own rows. DDP hooks
# into `backward()`: as gradients become ready it **all-reduces** them and divides by the number
# of ranks, so every rank ends `backward()` with the same average gradient and takes the same
# `step()`. The optimizer is an ordinary one and knows nothing about it.

# %%
print(inspect.getsource(distributed.ddp_training))

# %%
rank0, rank1 = results[0]["ddp"], results[1]["ddp"]
print("own gradients differ between ranks:    ", not torch.equal(rank0["own_grad"], rank1["own_grad"]))
print("after DDP's backward, bit for bit equal:", torch.equal(rank0["averaged_grad"], rank1["averaged_grad"]))
mean = (rank0["own_grad"] + rank1["own_grad"]) / 2
print("... and equal to the mean of the two:   ", torch.equal(rank0["averaged_grad"], mean))
print("weights after 5 steps, equal on both ranks:", torch.equal(rank0["weights"], rank1["weights"]))

single = distributed.make_mlp()
distributed.train(single, torch.optim.SGD(single.parameters(), lr=0.1, momentum=0.9), x, y)
gap = (distributed.flat_parameters(single) - rank0["weights"]).abs().max().item()
print(f"one process on the combined batch (8 rows): same weights within 1e-12: {gap < 1e-12}")

# %% [markdown]
# The ranks agree bit for bit: they apply the same averaged gradient with the same optimizer.
# The single process on all 8 rows gets the same weights up to rounding (the mean of two
# 4-row means is computed in another order than one 8-row mean), which is why we state a
# tolerance, 1e-12 in float64, rather than exact equality.
#
# ### 11.3 The all-reduce average of DDP
#
# Write `average_gradients(model)`, what DDP does after `backward()`: replace every
# parameter's `.grad`, in place, by its average over all ranks, with
# `torch.distributed.all_reduce` (which sums by default) and `dist.get_world_size()`.
# Frozen parameters (`.grad` is None) are left alone. The checker runs your function in real
# gloo processes, on 3 ranks in float32 and 2 ranks in float64, and compares every rank's result
# with the mean of all ranks' gradients.

# %%
import torch.distributed as dist


def average_gradients(model):
    # BEGIN SOLUTION
    world_size = dist.get_world_size()
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)     # the sum over ranks, in place, on every rank
            p.grad /= world_size
    # END SOLUTION


check("11.3", average_gradients)

# %% [markdown]
# ## Sharded optimizer state: ZeroRedundancyOptimizer
#
# With DDP every rank holds the full Adam state, the same numbers N times. ZeRO (stage 1)
# gives each rank the state of only some of the parameters: each rank steps its own
# parameters and then broadcasts them to the others. `torch.distributed.optim.ZeroRedundancyOptimizer`
# wraps any optimizer class:

# %%
print(inspect.getsource(distributed.zero_training))

# %%
for rank, result in enumerate(results):
    zero = result["zero"]
    share = zero["zero_state_bytes"] / zero["adam_state_bytes"]
    print(f"rank {rank}: Adam state {zero['adam_state_bytes']:,} bytes; with ZeRO "
          f"{zero['zero_state_bytes']:,} bytes ({share:.1%}) for {zero['zero_local_tensors']} of 6 tensors")
print("ZeRO's weights equal plain Adam's, bit for bit:",
      all(torch.equal(r["zero"]["zero_weights"], r["zero"]["adam_weights"]) for r in results))

# %% [markdown]
# ZeRO assigns whole tensors, largest first, to the rank with the least so far: here 2 and 4
# tensors, about half the bytes each. The steps are Adam's own, so the trajectory is the same
# to the last bit.
#
# ## Sharded parameters: FSDP2's `fully_shard`
#
# FSDP goes further: each rank keeps only a slice of every parameter (dim 0, the rows), and the
# full tensor exists only for a moment, all-gathered for the forward and backward of its layer.
# Gradients are reduce-scattered: each rank receives the average gradient of its own rows. The
# parameters become `DTensor`s, and the optimizer, which creates its state with
# `torch.zeros_like(p)`, gets `DTensor` state with the same slices.
#
# ### 11.2 Predict a rank's shard
#
# FSDP2 splits dim 0 of each parameter as `torch.chunk(world_size, dim=0)` does. Complete
# `shard_shape(shape, world_size, rank)`: the shape of the local tensor that rank `rank` holds
# for a parameter of `shape`. (Our model's last weight is (3, 24), on 2 ranks.)

# %%
def shard_shape(shape, world_size, rank):
    # BEGIN SOLUTION
    rows = -(-shape[0] // world_size)                 # ceil(rows / world_size) per chunk
    start = min(rank * rows, shape[0])
    return (min(rows, shape[0] - start), *shape[1:])  # the last ranks get what is left, maybe 0
    # END SOLUTION


check("11.2", shard_shape)

# %%
print(inspect.getsource(distributed.fsdp_training))

# %%
for rank, result in enumerate(results):
    f = result["fsdp_our_adam"]
    print(f"rank {rank}: last weight {f['param_type']} {f['placements']}, global {f['global_shape']}, "
          f"local {f['local_shape']}; exp_avg {f['exp_avg_type']} local {f['exp_avg_local_shape']}; "
          f"state {f['state_bytes']:,} bytes")
print("our Adam on FSDP2 = torch's Adam on FSDP2, bit for bit:",
      all(torch.equal(r["fsdp_our_adam"]["weights"], r["fsdp_torch_adam"]["weights"]) for r in results))
single = distributed.make_mlp()
distributed.train(single, torch.optim.Adam(single.parameters(), lr=0.01), x, y)
gap = (distributed.flat_parameters(single) - results[0]["fsdp_our_adam"]["weights"]).abs().max().item()
print(f"and equal to one process on the combined batch within 1e-12: {gap < 1e-12}")

# %% [markdown]
# The 3 rows of the last weight are split 2 + 1, and `exp_avg` has exactly the parameter's
# slices. **Our from-scratch Adam needed no change**: its update is a chain of in-place tensor
# operations (`lerp_`, `mul_`, `addcmul_`, `sqrt`, `addcdiv_`), which `DTensor` runs on each
# rank's local slice, and its state comes from `torch.zeros_like(p)`, which returns a `DTensor`
# sharded like `p`. Every rank stores about half the state, and the steps are torch's to the
# last bit (the package's tests check every Adam flag, float32 and float64, at every step).
#
# ## Saving and resuming sharded state: `torch.distributed.checkpoint`
#
# A sharded optimizer cannot be saved with one `torch.save`: no rank has all of it.
# `get_state_dict(model, optimizer)` returns state dicts of `DTensor`s keyed by parameter name,
# `dcp.save` lets each rank write its own shards (plus one `.metadata` file), and `dcp.load` fills
# the shards of a fresh model and optimizer in place, even with another number of ranks.

# %%
print(inspect.getsource(distributed.checkpoint_and_resume))

# %%
checkpoint = results[0]["checkpoint"]
print("files written:", checkpoint["files"])
print(f"step counter after loading: {checkpoint['step_after_load']:.0f} (saved after 5 steps)")
print("resumed run = uninterrupted run, bit for bit:",
      all(torch.equal(r["checkpoint"]["resumed"], r["checkpoint"]["uninterrupted"]) for r in results))
checkpoint_dir.cleanup()

# %% [markdown]
# ## Recap
#
# - `foreach=True` and `fused=True` change how a step runs, not what it computes. On the CPU fused
#   Adam is several times faster than the single-tensor loop, `foreach` no faster; a step is bound by
#   memory bandwidth (28 bytes per float32 parameter for fused Adam). Fused rounds differently,
#   by a bit or two: compare it with a tolerance.
# - Optimizer state per parameter: SGD 0, momentum 4 bytes, Adam 8, AMSGrad 12 (float32), plus
#   4 bytes of `step` per tensor; Adafactor factors its second moment. Adam training costs 16 bytes
#   per parameter before activations. Count after the first `step()`.
# - DDP all-reduces and averages the gradients in `backward()`: every rank takes the same step,
#   equal to one process on the combined batch up to rounding.
# - ZeRO shards the optimizer state by whole tensors (about 1/N each), FSDP2 shards every parameter
#   by rows, and the state follows as `DTensor` slices. Our own Adam runs on them unchanged.
# - `torch.distributed.checkpoint` saves and loads sharded model and optimizer state; a resumed
#   run continues exactly.
#
# This is the last lesson of the series. [00 · Start here](00_start_here.ipynb) lists them all.
