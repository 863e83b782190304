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

11.1 and 11.2 are :class:`~._engine.Spec` s: configurations drawn at check time from the key's
seed, and a mistake is named only if its variant reproduces the answer in every configuration
(their mistakes coincide on single ones: 2 tensors of 8 bytes are 4 of 4). 11.3 runs the answer
in worker processes, where the engine's runs do not reach: its configurations are drawn the same
way, and its table of mistakes says what each one leaves in every rank's ``.grad``, computed from
the gradients the workers send back. No checker prints the number a prediction should have given.
"""

from __future__ import annotations

import math

import torch

from ._assertions import expect_number
from ._engine import Difference, Mistake, Spec, config, draw_configs, grade_spec
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


# The lesson's case first (Adam, a matrix), and 0-dim parameters; then every optimizer and option
# set in both dtypes, each on a shape drawn at check time.
_FIRST_11_1 = (
    ("Adam", {}, (3, 5), torch.float32),
    ("RMSprop", {}, (), torch.float32),
    ("Adam", {"amsgrad": True}, (), torch.float64),
)
_GRID_11_1 = tuple(
    (name, options, dtype)
    for name, option_sets in _OPTIMIZER_OPTIONS.items()
    for options in option_sets
    for dtype in (torch.float32, torch.float64)
)


def _config_11_1(draw, i):
    if i < len(_FIRST_11_1):
        name, options, shape, dtype = _FIRST_11_1[i]
    else:
        (name, options, dtype), shape = _GRID_11_1[i - len(_FIRST_11_1)], draw.choice(_SHAPES)
    return config(_describe(name, options, shape, dtype), name=name, options=options, shape=shape, dtype=dtype)


def _configs_11_1():
    return draw_configs("11.1", _config_11_1, len(_FIRST_11_1) + len(_GRID_11_1))


def _run_11_1(invoke, cfg):
    name = cfg["name"]
    value = invoke(name, dict(cfg["options"]), cfg["shape"], cfg["dtype"])
    return expect_number(value, f"the value returned by state_bytes({name!r}, ...)")


def _compare_11_1(got, expected):
    # the learner's number only: the expected one is the answer to predict
    return (
        None if got == expected else Difference("bytes", f"your answer is {got:g} bytes, which is not what torch keeps")
    )


def _sizes(name, shape, dtype, expected):
    """(elements, bytes per element, step bytes, state tensors shaped like p) of one configuration."""
    numel = math.prod(shape)
    size = 8 if dtype == torch.float64 else 4
    step = 0 if name == "SGD" else 4
    return numel, size, step, (expected - step) // (numel * size)


def _m(rule):
    """A known mistake of 11.1 as an answer: ``rule(name, options, shape, dtype, elements, bytes
    per element, step bytes, state tensors)`` gives the bytes that mistake predicts, from the
    tensors torch keeps (the right value where the mistake makes no difference)."""

    def answer(name, options, shape, dtype):
        expected = _measured_state_bytes(name, options, shape, dtype, seed=0)
        return rule(name, options, shape, dtype, *_sizes(name, shape, dtype, expected))

    return answer


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
MISTAKES_11_1 = tuple(
    Mistake(f"11.1 row {i}", answer, f"{cause}.") for i, (answer, cause) in enumerate(_STATE_MISTAKES)
)

SPEC_11_1 = Spec(
    configs=_configs_11_1,
    reference=lambda cfg: _measured_state_bytes(cfg["name"], cfg["options"], cfg["shape"], cfg["dtype"], seed=0),
    run=_run_11_1,
    mistakes=MISTAKES_11_1,
    returns=object,
    compare=_compare_11_1,
    match_every_config=True,
    otherwise="List its state tensors (print `opt.state[p]` after one step) and add their bytes.",
    success=(
        "your prediction matches the bytes in torch's optimizer.state in all {n} configurations: SGD, "
        "Adam, AdamW, RMSprop and Adagrad, with and without their options, for 0-dim to 3-d "
        "parameters in float32 and float64."
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
    return grade_spec(SPEC_11_1, state_bytes, name="`state_bytes`")


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


_SHARD_FIXED_CASES = tuple((shape, ws, rank) for shape, ws in _SHARD_CASES_FIXED for rank in range(ws))
_SHARD_DRAWN = 12


def _config_11_2(draw, i):
    if i < len(_SHARD_FIXED_CASES):
        shape, ws, rank = _SHARD_FIXED_CASES[i]
    else:  # world sizes up to 8, rows from 1 to 3 per rank, 1-d to 3-d
        ws = draw.random.randint(2, 8)
        shape = (draw.random.randint(1, 3 * ws),) + tuple(
            draw.random.randint(1, 6) for _ in range(draw.random.randint(0, 2))
        )
        rank = draw.random.randrange(ws)
    return config(f"a parameter of shape {tuple(shape)} on {ws} ranks, rank {rank}", shape=shape, ws=ws, rank=rank)


def _configs_11_2():
    return draw_configs("11.2", _config_11_2, len(_SHARD_FIXED_CASES) + _SHARD_DRAWN)


def _run_11_2(invoke, cfg):
    shape, ws, rank = cfg["shape"], cfg["ws"], cfg["rank"]
    return _as_shape(invoke(tuple(shape), ws, rank), f"shard_shape({tuple(shape)}, {ws}, {rank})")


def _compare_11_2(got, expected):
    return None if got == expected else Difference("shape", f"your shape {got} is not FSDP2's")


def _as_shape(value, label):
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, int) and not isinstance(value, bool):
        fail(f"{label} is the number {value}; return the whole shape as a tuple, (rows of this rank, *shape[1:]).")
    if not isinstance(value, (tuple, list)) or not all(isinstance(d, int) and not isinstance(d, bool) for d in value):
        fail(f"{label} should be a tuple of ints, got {type(value).__name__}.")
    return tuple(value)


SPEC_11_2 = Spec(
    configs=_configs_11_2,
    reference=lambda cfg: _reference_shard_shape(cfg["shape"], cfg["ws"], cfg["rank"]),
    run=_run_11_2,
    mistakes=tuple(Mistake(f"11.2 row {i}", answer, f"{cause}.") for i, (answer, cause) in enumerate(_SHARD_MISTAKES)),
    returns=(tuple, list, torch.Size, int),
    compare=_compare_11_2,
    match_every_config=True,
    otherwise="Split dim 0 as torch.chunk does.",
    success=(
        "your shards are FSDP2's in all {n} configurations (every rank of 8 parameters, then world "
        "sizes up to 8): ceil(rows / world_size) rows per rank, fewer or none on the last ranks."
    ),
)


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
    return grade_spec(SPEC_11_2, shard_shape, name="`shard_shape`")


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


def _grading_model(dtype, data):
    from torch import nn

    d_in, hidden, d_out = data["sizes"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(data["seed"])
        model = nn.Sequential(nn.Linear(d_in, hidden, dtype=dtype), nn.Tanh(), nn.Linear(hidden, d_out, dtype=dtype))
    model[0].bias.requires_grad_(False)  # frozen: its grad stays None
    return model


def _gradients(model, rank, dtype, data):
    """Set every trainable parameter's .grad to this rank's own gradient; return them (None kept)."""
    d_in, _, d_out = data["sizes"]
    generator = torch.Generator().manual_seed(data["seed"] + 100 + rank)
    x = torch.randn(data["batch"], d_in, generator=generator, dtype=dtype)
    y = torch.randn(data["batch"], d_out, generator=generator, dtype=dtype)
    model.zero_grad(set_to_none=True)
    torch.nn.functional.mse_loss(model(x), y).backward()
    model[2].bias.grad.zero_()  # a zero gradient on every rank
    return [None if p.grad is None else p.grad.clone() for p in model.parameters()]


def _average_worker(rank, world_size, average_gradients, dtype, data):
    """Runs on every rank: the learner's function on this rank's gradients, and the reference."""
    own = None
    every_rank = []
    for r in range(world_size):  # each rank can compute every rank's gradient without a collective
        grads = _gradients(_grading_model(dtype, data), r, dtype, data)
        every_rank.append(grads)
        own = grads if r == rank else own
    expected = [
        None if g is None else torch.stack([grads[i] for grads in every_rank]).sum(0) / world_size
        for i, g in enumerate(own)
    ]
    maximum = [
        None if g is None else torch.stack([grads[i] for grads in every_rank]).amax(0) for i, g in enumerate(own)
    ]
    model = _grading_model(dtype, data)
    _gradients(model, rank, dtype, data)
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


# What each known mistake leaves in a rank's p.grad, from what that rank's worker sent back
# (`r`: its result, `i`: the parameter, `ws`: the world size), or None where it cannot be told
# apart. The answer runs in the workers only, so these are computed from the gradients, not run.
MISTAKES_11_3 = (
    Mistake(
        "sum",
        lambda r, i, ws: r["expected"][i] * ws,
        "{on} is the sum of the ranks' gradients: all_reduce sums, so divide by dist.get_world_size()",
    ),
    Mistake(
        "divided by 2",
        lambda r, i, ws: None if ws == 2 else r["expected"][i] * ws / 2,
        "{on} is the sum divided by 2: divide by dist.get_world_size(), not by a fixed 2",
    ),
    Mistake(
        "own gradient",
        lambda r, i, ws: r["own"][i],
        "{on} is still each rank's own gradient: `dist.all_reduce(p.grad)` must "
        "reduce `p.grad` itself, in place (not a copy, and not `p`)",
    ),
    Mistake(
        "own gradient divided",
        lambda r, i, ws: r["own"][i] / ws,
        "{on} is each rank's own gradient divided by the world size: the all_reduce "
        "did not reach `p.grad` (reduce `p.grad` in place, not a copy)",
    ),
    Mistake(
        "op=MAX",
        lambda r, i, ws: r["max"][i],
        "{on} is the largest gradient of the ranks (op=MAX): sum, then divide",
    ),
    Mistake(
        "op=MAX divided",
        lambda r, i, ws: r["max"][i] / ws,
        "{on} is the largest gradient divided by the world size: use op=SUM, the default",
    ),
)


def _config_11_3(draw, i):
    world_size, dtype = ((3, torch.float32), (2, torch.float64))[i]
    data = {
        "sizes": (draw.choice((3, 5, 7)), draw.choice((2, 4, 6)), draw.choice((2, 3))),
        "batch": draw.choice((4, 6, 9)),
        "seed": draw.random.randrange(2**31),
    }
    label = f"{world_size} ranks and {str(dtype).replace('torch.', '')} gradients"
    return config(label, world_size=world_size, dtype=dtype, data=data)


def _configs_11_3():
    """A launch costs about a second: two, 3 ranks in float32 and 2 in float64, sizes drawn."""
    return draw_configs("11.3", _config_11_3, 2)


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
        for mistake in MISTAKES_11_3:
            left = [mistake.variant(r, i, world_size) for r in results]
            if all(v is not None and _close_all(g, v, dtype) for g, v in zip(gots, left)):
                return mistake.message.format(on=on)
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
    for cfg in _configs_11_3():
        world_size, dtype = cfg["world_size"], cfg["dtype"]
        try:
            results = launch(
                _average_worker,
                average_gradients,
                dtype,
                dict(cfg["data"]),
                world_size=world_size,
                timeout=60.0,
                collective_timeout=_AVERAGE_STEP_TIMEOUT,
            )
        except WorkerError as exc:
            raise Reject(error(_launch_message(exc))) from None
        cause = _diagnose_average(results, world_size, dtype)
        if cause is not None:
            fail(f"with {cfg.label}: {cause}.")
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
