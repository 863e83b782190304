"""Checkers for lesson 11 · Optimizers at scale.

- 11.1 ``state_bytes``: predict how many bytes ``optimizer.state[p]`` holds for one parameter,
  for any optimizer, options, shape and dtype; graded against real torch optimizers built
  at check time.
- 11.2 ``shard_shape``: predict the shape of the shard of a parameter that one rank holds
  under FSDP2's ``fully_shard``; graded against ``torch.chunk`` along dim 0, which is how FSDP2
  splits a parameter (ranks past the last chunk hold an empty shard).
- 11.3 ``average_gradients``: the all-reduce average that DistributedDataParallel performs,
  written with ``torch.distributed.all_reduce``; graded by running it in real gloo processes
  (3 ranks with float32, then 2 ranks with float64), against the average of every rank's own
  gradient, which each rank computes without any collective.

Every wrong answer is compared with the known mistakes of its exercise, and the one it matches
is named; no checker prints the number a prediction should have given.
"""

from __future__ import annotations

import math
import random

import torch

from ._assertions import expect_number
from ._calling import call
from ._feedback import Reject, correct, error, fail
from ._registry import exercise

__all__ = ["state_bytes", "shard_shape", "average_gradients"]


# ----------------------------------------------------------------------------- 11.1


def state_bytes(optimizer_name, options, shape, dtype):
    """Return the bytes in ``optimizer.state[p]`` after one step, for one parameter ``p``."""
    numel = math.prod(shape)  # () has 1 element
    size = torch.empty((), dtype=dtype).element_size()  # 4 for float32, 8 for float64
    per_element = {  # state tensors shaped like p
        "SGD": 1 if options.get("momentum", 0) != 0 else 0,  # momentum_buffer
        "Adam": 3 if options.get("amsgrad") else 2,  # exp_avg, exp_avg_sq (, max_exp_avg_sq)
        "AdamW": 3 if options.get("amsgrad") else 2,
        "RMSprop": 1 + (options.get("momentum", 0) != 0) + bool(options.get("centered")),
        "Adagrad": 1,  # sum
    }[optimizer_name]
    step = 0 if optimizer_name == "SGD" else 4  # a float32 0-dim tensor
    return per_element * numel * size + step


_state_bytes = state_bytes

_OPTIMIZER_OPTIONS = {
    "SGD": (
        {},
        {"momentum": 0.9},
        {"momentum": 0.8, "nesterov": True},
        {"momentum": 0.0},
        {"momentum": 0.9, "dampening": 0.5},
    ),
    "Adam": ({}, {"amsgrad": True}, {"weight_decay": 0.1, "amsgrad": True}),
    "AdamW": ({}, {"amsgrad": True}),
    "RMSprop": ({}, {"centered": True}, {"momentum": 0.9}, {"momentum": 0.5, "centered": True}),
    "Adagrad": ({}, {"lr_decay": 0.01}),
}
_SHAPES = ((), (7,), (3, 5), (2, 3, 4), (1,), (6, 1))


def _measured_state_bytes(name, options, shape, dtype, seed):
    """The reference: bytes counted in a real torch optimizer's state after one step."""
    generator = torch.Generator().manual_seed(seed)
    p = torch.randn(shape, generator=generator, dtype=dtype).requires_grad_(True)
    optimizer = getattr(torch.optim, name)([p], lr=0.01, **options)
    p.grad = torch.randn(shape, generator=generator, dtype=dtype)
    optimizer.step()
    return sum(t.numel() * t.element_size() for t in optimizer.state[p].values() if torch.is_tensor(t))


def _state_configurations(rng):
    """Every optimizer and option set, each with a shape and a dtype drawn now."""
    configs = []
    for name, option_sets in _OPTIMIZER_OPTIONS.items():
        for options in option_sets:
            for dtype in (torch.float32, torch.float64):
                configs.append((name, dict(options), rng.choice(_SHAPES), dtype))
    rng.shuffle(configs)
    # A wrong answer is first reported on the lesson's case (Adam, a matrix) when it fails there;
    # 0-dim parameters are always among the cases.
    return [
        ("Adam", {}, (3, 5), torch.float32),
        ("RMSprop", {}, (), torch.float32),
        ("Adam", {"amsgrad": True}, (), torch.float64),
    ] + configs


def _sizes(name, shape, dtype, expected):
    """(elements, bytes per element, step bytes, state tensors shaped like p) of one configuration."""
    numel = math.prod(shape)
    size = 8 if dtype == torch.float64 else 4
    step = 0 if name == "SGD" else 4
    return numel, size, step, (expected - step) // (numel * size)


def _m(rule):
    """A known mistake of 11.1 as a function of one configuration: (name, options, shape, dtype,
    expected) -> the value that mistake gives (the right value where it makes no difference)."""

    def value(name, options, shape, dtype, expected):
        return rule(name, options, shape, dtype, *_sizes(name, shape, dtype, expected))

    return value


_STATE_MISTAKES = (
    (
        _m(lambda n, o, s, d, N, S, step, k: k * N * S),
        "the 0-dim `step` counter is state too (4 bytes: a float32 scalar tensor); every optimizer "
        "here but SGD keeps one",
    ),
    (
        _m(lambda n, o, s, d, N, S, step, k: k * N * S + step * N),
        "`step` is one 0-dim tensor per parameter, 4 bytes, not one number per element",
    ),
    (
        _m(lambda n, o, s, d, N, S, step, k: k * N * S + step * S // 4),
        "`step` is a float32 tensor (4 bytes) even for float64 parameters",
    ),
    (
        _m(lambda n, o, s, d, N, S, step, k: k * N * 4 + step),
        "a float64 state tensor takes 8 bytes per element (`element_size()`), not 4",
    ),
    (_m(lambda n, o, s, d, N, S, step, k: k * N * 8 + step), "a float32 state tensor takes 4 bytes per element, not 8"),
    (
        _m(lambda n, o, s, d, N, S, step, k: (k + 2) * N * S + step),
        "the parameter and its gradient are not optimizer state: count only what `optimizer.state[p]` holds",
    ),
    (
        _m(lambda n, o, s, d, N, S, step, k: k * S + step),
        "the state tensors have the parameter's shape: multiply by its number of elements",
    ),
    (_m(lambda n, o, s, d, N, S, step, k: k * N + step), "bytes, not elements: multiply by the element size"),
    (
        _m(lambda n, o, s, d, N, S, step, k: k * (N if s else 0) * S + step),
        "a 0-dim tensor has one element (math.prod(()) == 1), not zero",
    ),
    (
        _m(lambda n, o, s, d, N, S, step, k: (k - bool(o.get("amsgrad"))) * N * S + step),
        "AMSGrad keeps a third tensor, `max_exp_avg_sq`",
    ),
    (
        _m(lambda n, o, s, d, N, S, step, k: (k + (n in ("Adam", "AdamW") and not o.get("amsgrad"))) * N * S + step),
        "`max_exp_avg_sq` exists only with amsgrad=True",
    ),
    (
        _m(lambda n, o, s, d, N, S, step, k: (k - (n in ("Adam", "AdamW"))) * N * S + step),
        "Adam keeps two running averages, `exp_avg` and `exp_avg_sq`, not one",
    ),
    (
        _m(lambda n, o, s, d, N, S, step, k: (1 if n == "SGD" else k) * N * S + step),
        "SGD keeps a `momentum_buffer` only when momentum is not 0",
    ),
    (
        _m(lambda n, o, s, d, N, S, step, k: (0 if n == "SGD" else k) * N * S + step),
        "SGD with momentum keeps a `momentum_buffer`",
    ),
    (_m(lambda n, o, s, d, N, S, step, k: k * N * S + (4 if n == "SGD" else step)), "SGD keeps no `step` counter"),
    (
        _m(lambda n, o, s, d, N, S, step, k: (1 if n == "RMSprop" else k) * N * S + step),
        "RMSprop's `momentum_buffer` (momentum > 0) and `grad_avg` (centered=True) are extra "
        "tensors next to `square_avg`",
    ),
    (
        _m(lambda n, o, s, d, N, S, step, k: (3 if n == "RMSprop" else k) * N * S + step),
        "RMSprop adds `momentum_buffer` only with momentum > 0 and `grad_avg` only with centered=True",
    ),
    (
        _m(lambda n, o, s, d, N, S, step, k: (k + (n == "Adagrad")) * N * S + step),
        "Adagrad keeps one tensor, `sum`, besides `step`",
    ),
)


def _describe(name, options, shape, dtype):
    opts = ", ".join(f"{k}={v}" for k, v in options.items())
    return f"{name}({opts or 'defaults'}) on a parameter of shape {tuple(shape)}, {str(dtype).replace('torch.', '')}"


@exercise(
    "11.1",
    title="Predict the optimizer's state bytes",
    solution=state_bytes,
    hints=[
        "Count the tensors shaped like the parameter that the optimizer keeps: SGD's "
        "`momentum_buffer` (only if momentum != 0), Adam's `exp_avg` and `exp_avg_sq` (plus "
        "`max_exp_avg_sq` with amsgrad), RMSprop's `square_avg` (plus `momentum_buffer`, `grad_avg`), "
        "Adagrad's `sum`. Each costs numel × element size bytes.",
        "`math.prod(shape)` elements (1 for shape ()), `torch.empty((), dtype=dtype).element_size()` "
        "bytes each; every optimizer but SGD adds a `step` counter, a 0-dim float32 tensor: 4 bytes.",
    ],
)
def grade_state_bytes(state_bytes):
    """state_bytes(name, options, shape, dtype) must equal the bytes counted in torch's state."""
    torch.set_default_dtype(torch.float32)  # torch's `step` is float32 unless this is float64
    configs = _state_configurations(random.Random())
    expected = [_measured_state_bytes(*c, seed=i) for i, c in enumerate(configs)]
    got = [
        expect_number(
            call(state_bytes, name, dict(options), shape, dtype, returns=object),
            f"the value returned by state_bytes({name!r}, ...)",
        )
        for name, options, shape, dtype in configs
    ]
    wrong = [i for i, (g, e) in enumerate(zip(got, expected)) if g != e]
    if wrong:
        i = wrong[0]
        what = f"for {_describe(*configs[i])} your answer is {got[i]:g} bytes"
        for mistake, cause in _STATE_MISTAKES:
            if all(g == mistake(*c, e) for g, c, e in zip(got, configs, expected)):
                fail(f"{what}, which is not what torch keeps: {cause}.")
        fail(
            f"{what}, which is not what torch's optimizer.state holds. List its state tensors "
            "(print `opt.state[p]` after one step) and add their bytes."
        )
    return correct(
        "your prediction matches the bytes in torch's optimizer.state for SGD, Adam, "
        "AdamW, RMSprop and Adagrad, with and without their options, for 0-dim to 3-d "
        "parameters in float32 and float64."
    )


# ----------------------------------------------------------------------------- 11.2


def shard_shape(shape, world_size, rank):
    """Return the shape of rank ``rank``'s shard of a parameter of ``shape`` under fully_shard."""
    rows = -(-shape[0] // world_size)  # torch.chunk: ceil(rows / world_size)
    start = min(rank * rows, shape[0])
    local_rows = min(rows, shape[0] - start)  # the last ranks may get fewer, or none
    return (local_rows, *shape[1:])


def _reference_shard_shape(shape, world_size, rank):
    """FSDP2 splits dim 0 with torch.chunk and gives ranks past the last chunk an empty shard."""
    chunks = torch.empty(shape, device="meta").chunk(world_size, dim=0)
    if rank < len(chunks):
        return tuple(chunks[rank].shape)
    return (0, *shape[1:])


def _chunk_rows(n, world_size, rank):
    ceil = -(-n // world_size)
    return max(0, min(ceil, n - rank * ceil))


_SHARD_MISTAKES = (
    (
        lambda s, ws, r: (s[0] // ws, *s[1:]),
        "rows are split with torch.chunk, ceil(rows / world_size) per rank, not rows // world_size",
    ),
    (
        lambda s, ws, r: (-(-s[0] // ws), *s[1:]),
        "that is the padded shard FSDP2 all-gathers; the local tensor of the last ranks is shorter "
        "(or empty): what is left of the rows",
    ),
    (
        lambda s, ws, r: (s[0] // ws + (1 if r < s[0] % ws else 0), *s[1:]),
        "that is numpy.array_split's rule (the first ranks get one row more); torch.chunk gives "
        "every rank ceil(rows / world_size) rows until they run out",
    ),
    (
        lambda s, ws, r: (min(-(-s[0] // ws), s[0] - r * -(-s[0] // ws)), *s[1:]),
        "a rank past the last row holds 0 rows, not a negative number",
    ),
    (
        lambda s, ws, r: (_chunk_rows(s[0], ws, r + 1), *s[1:]),
        "ranks count from 0: rank 0 holds rows 0 to ceil(rows / world_size) − 1",
    ),
    (lambda s, ws, r: tuple(s), "each rank holds only its shard of dim 0, not the whole parameter"),
    (lambda s, ws, r: (*s[:-1], -(-s[-1] // ws)), "FSDP2 shards dim 0 (the rows), not the last dim"),
    (lambda s, ws, r: tuple(-(-d // ws) for d in s), "only dim 0 is split; the other dims stay whole"),
    (
        lambda s, ws, r: (_chunk_rows(s[0], ws, r),),
        "keep the other dims: the shard's shape is (rows of this rank, *shape[1:])",
    ),
    (
        lambda s, ws, r: (_chunk_rows(s[0], ws, ws - 1 - r), *s[1:]),
        "rank 0 holds the first rows: the short (or empty) shards are on the last ranks",
    ),
)


_SHARD_CASES_FIXED = (
    ((3, 24), 2),
    ((10, 4), 4),
    ((2, 5), 4),
    ((7,), 3),
    ((5, 2, 3), 2),
    ((1, 6), 2),
    ((8, 8), 2),
    ((9,), 4),
)


def _shard_cases(rng):
    cases = [(shape, ws, rank) for shape, ws in _SHARD_CASES_FIXED for rank in range(ws)]
    for _ in range(12):
        ws = rng.randint(2, 8)
        shape = (rng.randint(1, 3 * ws),) + tuple(rng.randint(1, 6) for _ in range(rng.randint(0, 2)))
        cases.append((shape, ws, rng.randrange(ws)))
    return cases


def _as_shape(value, label):
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, int) and not isinstance(value, bool):
        fail(f"{label} is the number {value}; return the whole shape as a tuple, (rows of this rank, *shape[1:]).")
    if not isinstance(value, (tuple, list)) or not all(isinstance(d, int) and not isinstance(d, bool) for d in value):
        fail(f"{label} should be a tuple of ints, got {type(value).__name__}.")
    return tuple(value)


@exercise(
    "11.2",
    title="Predict a rank's FSDP2 shard",
    solution=shard_shape,
    hints=[
        "FSDP2 splits dim 0 with `torch.chunk(world_size, dim=0)`: every chunk has "
        "ceil(rows / world_size) rows, except that the last ones get what is left, possibly nothing.",
        "Rank r's rows start at r · ceil(rows / world_size); clamp at the number of rows, and keep "
        "the other dims: `(local_rows, *shape[1:])`.",
    ],
)
def grade_shard_shape(shard_shape):
    """shard_shape(shape, world_size, rank) must be the local shape fully_shard gives that rank."""
    cases = _shard_cases(random.Random())
    got = [
        _as_shape(
            call(shard_shape, tuple(shape), ws, rank, returns=(tuple, list, torch.Size, int)),
            f"shard_shape({tuple(shape)}, {ws}, {rank})",
        )
        for shape, ws, rank in cases
    ]
    expected = [_reference_shard_shape(*case) for case in cases]
    wrong = [i for i, (g, e) in enumerate(zip(got, expected)) if g != e]
    if wrong:
        shape, ws, rank = cases[wrong[0]]
        where = (
            f"for a parameter of shape {tuple(shape)} on {ws} ranks, rank {rank}: your shape "
            f"{got[wrong[0]]} is not FSDP2's"
        )
        for mistake, cause in _SHARD_MISTAKES:
            # A mistake is named only if it explains every answer, including the right ones.
            if all(g == mistake(*c) for g, c in zip(got, cases)):
                fail(f"{where}: {cause}.")
        fail(f"{where}. Split dim 0 as torch.chunk does.")
    return correct(
        "your shards are FSDP2's for every shape, world size and rank tried: "
        "ceil(rows / world_size) rows per rank, fewer or none on the last ranks."
    )


# ----------------------------------------------------------------------------- 11.3


def average_gradients(model):
    """Average every parameter's gradient over all ranks, in place, as DDP does before step()."""
    import torch.distributed as dist

    world_size = dist.get_world_size()
    for p in model.parameters():
        if p.grad is not None:  # frozen parameters have no gradient
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad /= world_size


_AVERAGE_STEP_TIMEOUT = 6.0  # seconds a collective may wait: learners' hangs end quickly


def _grading_model(dtype):
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(11)
        model = nn.Sequential(nn.Linear(5, 4, dtype=dtype), nn.Tanh(), nn.Linear(4, 3, dtype=dtype))
    model[0].bias.requires_grad_(False)  # frozen: its grad stays None
    return model


def _gradients(model, rank, dtype):
    """Set every trainable parameter's .grad to this rank's own gradient; return them (None kept)."""
    generator = torch.Generator().manual_seed(100 + rank)
    x = torch.randn(6, 5, generator=generator, dtype=dtype)
    y = torch.randn(6, 3, generator=generator, dtype=dtype)
    model.zero_grad(set_to_none=True)
    torch.nn.functional.mse_loss(model(x), y).backward()
    model[2].bias.grad.zero_()  # a zero gradient on every rank
    return [None if p.grad is None else p.grad.clone() for p in model.parameters()]


def _average_worker(rank, world_size, average_gradients, dtype):
    """Runs on every rank: the learner's function on this rank's gradients, and the reference."""
    own = None
    every_rank = []
    for r in range(world_size):  # each rank can compute every rank's gradient without a collective
        grads = _gradients(_grading_model(dtype), r, dtype)
        every_rank.append(grads)
        own = grads if r == rank else own
    expected = [
        None if g is None else torch.stack([grads[i] for grads in every_rank]).sum(0) / world_size
        for i, g in enumerate(own)
    ]
    maximum = [
        None if g is None else torch.stack([grads[i] for grads in every_rank]).amax(0) for i, g in enumerate(own)
    ]
    model = _grading_model(dtype)
    _gradients(model, rank, dtype)
    weights = [p.detach().clone() for p in model.parameters()]
    average_gradients(model)
    got = [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]
    moved = any(not torch.equal(w, p.detach()) for w, p in zip(weights, model.parameters()))
    return {
        "got": got,
        "expected": expected,
        "own": own,
        "max": maximum,
        "moved": moved,
        "names": [n for n, _ in model.named_parameters()],
    }


def _close_all(got, expected, dtype):
    rtol, atol = (1e-12, 1e-14) if dtype == torch.float64 else (1e-5, 1e-7)
    return got.shape == expected.shape and bool(torch.allclose(got.double(), expected.double(), rtol=rtol, atol=atol))


def _diagnose_average(results, world_size, dtype):
    """None if every rank holds the average; otherwise the message naming the mistake."""
    first = results[0]
    names = first["names"]
    if any(r["moved"] for r in results):
        return (
            "it changed the weights: average each parameter's `.grad`, and leave the parameter "
            "itself to optimizer.step()"
        )
    for i, name in enumerate(names):
        exp = first["expected"][i]
        gots = [r["got"][i] for r in results]
        if exp is None:
            if any(g is not None for g in gots):
                return (
                    f"`{name}` is frozen (requires_grad=False) and had no gradient, but has one "
                    "after your function: skip parameters whose `.grad` is None"
                )
            continue
        if any(g is None for g in gots):
            return f"`{name}.grad` became None: average it in place, do not remove it"
        if any(g.dtype != exp.dtype for g in gots):
            return f"`{name}.grad` changed dtype to {gots[0].dtype}: keep the gradient's own dtype"
        if all(_close_all(g, exp, dtype) for g in gots):
            continue
        on = f"`{name}.grad` on {world_size} ranks"
        if all(_close_all(g, exp * world_size, dtype) for g in gots):
            return f"{on} is the sum of the ranks' gradients: all_reduce sums, so divide by dist.get_world_size()"
        if world_size != 2 and all(_close_all(g, exp * world_size / 2, dtype) for g in gots):
            return f"{on} is the sum divided by 2: divide by dist.get_world_size(), not by a fixed 2"
        if all(_close_all(g, r["own"][i], dtype) for g, r in zip(gots, results)):
            return (
                f"{on} is still each rank's own gradient: `dist.all_reduce(p.grad)` must "
                "reduce `p.grad` itself, in place (not a copy, and not `p`)"
            )
        if all(_close_all(g, r["own"][i] / world_size, dtype) for g, r in zip(gots, results)):
            return (
                f"{on} is each rank's own gradient divided by the world size: the all_reduce "
                "did not reach `p.grad` (reduce `p.grad` in place, not a copy)"
            )
        if all(_close_all(g, first["max"][i], dtype) for g in gots):
            return f"{on} is the largest gradient of the ranks (op=MAX): sum, then divide"
        if all(_close_all(g, first["max"][i] / world_size, dtype) for g in gots):
            return f"{on} is the largest gradient divided by the world size: use op=SUM, the default"
        if not all(torch.equal(g, gots[0]) for g in gots):
            return (
                f"{on} differs between ranks: after the average every rank must hold the "
                "same gradient, or their weights drift apart"
            )
        return f"{on} is not the average of the ranks' gradients"
    return None


@exercise(
    "11.3",
    title="The all-reduce average of DDP",
    solution=average_gradients,
    hints=[
        "On every rank, for every parameter with a gradient: `dist.all_reduce(p.grad)` replaces "
        "p.grad, in place, by the sum over all ranks.",
        "Then divide by `dist.get_world_size()`, and skip parameters whose `.grad` is None (frozen ones).",
    ],
)
def grade_average_gradients(average_gradients):
    """average_gradients(model) must leave the mean of all ranks' gradients in every p.grad."""
    from ..distributed import WorkerError, launch

    if not callable(average_gradients):
        fail(f"`average_gradients` should be a function, got {type(average_gradients).__name__}.")
    for world_size, dtype in ((3, torch.float32), (2, torch.float64)):
        try:
            results = launch(
                _average_worker,
                average_gradients,
                dtype,
                world_size=world_size,
                timeout=60.0,
                collective_timeout=_AVERAGE_STEP_TIMEOUT,
            )
        except WorkerError as exc:
            raise Reject(error(_launch_message(exc))) from None
        cause = _diagnose_average(results, world_size, dtype)
        if cause is not None:
            fail(f"with {world_size} ranks and {str(dtype).replace('torch.', '')} gradients: {cause}.")
    return correct(
        "after your function every rank holds the mean of all ranks' gradients "
        "(3 ranks in float32, 2 in float64), frozen parameters untouched: DDP's all-reduce."
    )


def _launch_message(exc) -> str:
    text = str(exc)
    if "NoneType" in text or "Expected parameter `tensor`" in text:
        return f"{text}. A frozen parameter has no gradient: skip parameters whose `.grad` is None."
    if "did not finish" in text or "timed out" in text.lower() or "by peer" in text:
        return (
            f"{text}. A collective waits until every rank calls it: call all_reduce on every "
            "rank, for the same tensors in the same order."
        )
    return f"your `average_gradients` failed in a worker process: {text}."
