"""Lesson 11's checkers: the reference and other correct answers pass, stubs are "not attempted",
and realistic wrong answers are rejected with their mistake named.

One table drives every case: (key, description, answers, expected status, message fragments).
The wrong answers are written the way a learner would write them, independently of the
variants the checkers use to diagnose them. 11.3's answers run in real gloo processes.
"""

import math

import numpy as np
import pytest
import torch
import torch.distributed as dist

from myoptim_helpers.exercises import exercises_of, grade
from myoptim_helpers.exercises.lesson11 import (
    _measured_state_bytes,
    _reference_shard_shape,
    average_gradients,
    shard_shape,
    state_bytes,
)

# ----------------------------------------------------------------------------- 11.1 answers

TENSORS = {
    "SGD": lambda o: int(o.get("momentum", 0) != 0),
    "Adam": lambda o: 2 + bool(o.get("amsgrad")),
    "AdamW": lambda o: 2 + bool(o.get("amsgrad")),
    "RMSprop": lambda o: 1 + (o.get("momentum", 0) != 0) + bool(o.get("centered")),
    "Adagrad": lambda o: 1,
}


def bytes_stub(optimizer_name, options, shape, dtype): ...


def bytes_with_numpy(optimizer_name, options, shape, dtype):
    size = 8 if dtype == torch.float64 else 4
    step = np.int64(0 if optimizer_name == "SGD" else 4)
    return np.int64(TENSORS[optimizer_name](options)) * int(np.prod(shape)) * size + step


def bytes_by_building_one(optimizer_name, options, shape, dtype):
    p = torch.zeros(shape, dtype=dtype, requires_grad=True)
    opt = getattr(torch.optim, optimizer_name)([p], **options)
    p.grad = torch.ones_like(p)
    opt.step()
    return sum(v.nbytes for v in opt.state[p].values())


def _bytes(optimizer_name, options, shape, dtype, *, step=4, size=None, numel=None, extra=0, sgd_step=False):
    size = size or (8 if dtype == torch.float64 else 4)
    numel = math.prod(shape) if numel is None else numel
    tensors = TENSORS[optimizer_name](options) + extra
    s = step if optimizer_name != "SGD" or sgd_step else 0
    return tensors * numel * size + s


def bytes_no_step(n, o, s, d):
    return _bytes(n, o, s, d, step=0)


def bytes_step_per_element(n, o, s, d):
    return _bytes(n, o, s, d) + 4 * (math.prod(s) - 1) * (n != "SGD")


def bytes_step_as_dtype(n, o, s, d):
    return _bytes(n, o, s, d, step=8 if d == torch.float64 else 4)


def bytes_always_4(n, o, s, d):
    return _bytes(n, o, s, d, size=4)


def bytes_always_8(n, o, s, d):
    return _bytes(n, o, s, d, size=8)


def bytes_with_param_and_grad(n, o, s, d):
    return _bytes(n, o, s, d, extra=2)


def bytes_ignores_shape(n, o, s, d):
    return _bytes(n, o, s, d, numel=1)


def bytes_counts_elements(n, o, s, d):
    return _bytes(n, o, s, d, size=1)


def bytes_len_of_shape(n, o, s, d):
    return _bytes(n, o, s, d, numel=math.prod(s) if s else 0)


def bytes_no_amsgrad(n, o, s, d):
    return _bytes(n, {k: v for k, v in o.items() if k != "amsgrad"}, s, d)


def bytes_sgd_always_momentum(n, o, s, d):
    return _bytes(n, {**o, "momentum": 0.9} if n == "SGD" else o, s, d)


def bytes_sgd_has_step(n, o, s, d):
    return _bytes(n, o, s, d, sgd_step=True)


def bytes_rmsprop_one_tensor(n, o, s, d):
    return _bytes(n, {} if n == "RMSprop" else o, s, d)


def bytes_adam_one_tensor(n, o, s, d):
    return _bytes(n, o, s, d, extra=-1 if n in ("Adam", "AdamW") else 0)


# ----------------------------------------------------------------------------- 11.2 answers


def shard_stub(shape, world_size, rank): ...


def shard_with_chunk(shape, world_size, rank):
    chunks = torch.zeros(shape).chunk(world_size)
    return tuple(chunks[rank].shape) if rank < len(chunks) else (0, *shape[1:])


def shard_with_ceil(shape, world_size, rank):
    per_rank = math.ceil(shape[0] / world_size)
    rows = max(0, min(per_rank, shape[0] - rank * per_rank))
    return torch.Size([rows, *shape[1:]])


def shard_floor(shape, world_size, rank):
    return (shape[0] // world_size, *shape[1:])


def shard_padded(shape, world_size, rank):
    return (math.ceil(shape[0] / world_size), *shape[1:])


def shard_array_split(shape, world_size, rank):
    return (len(np.array_split(np.arange(shape[0]), world_size)[rank]), *shape[1:])


def shard_negative(shape, world_size, rank):
    per_rank = math.ceil(shape[0] / world_size)
    return (min(per_rank, shape[0] - rank * per_rank), *shape[1:])


def shard_rank_from_one(shape, world_size, rank):
    per_rank = math.ceil(shape[0] / world_size)
    return (max(0, min(per_rank, shape[0] - (rank + 1) * per_rank)), *shape[1:])


def shard_whole(shape, world_size, rank):
    return tuple(shape)


def shard_last_dim(shape, world_size, rank):
    return (*shape[:-1], math.ceil(shape[-1] / world_size))


def shard_every_dim(shape, world_size, rank):
    return tuple(math.ceil(d / world_size) for d in shape)


def shard_rows_only(shape, world_size, rank):
    return (shard_shape(shape, world_size, rank)[0],)


def shard_reversed_ranks(shape, world_size, rank):
    return shard_shape(shape, world_size, world_size - 1 - rank)


def shard_numel(shape, world_size, rank):
    return math.prod(shard_shape(shape, world_size, rank))


def shard_numpy_shape(shape, world_size, rank):
    return np.zeros(shape)[:1].shape  # a tuple, but of the wrong sizes


# ----------------------------------------------------------------------------- 11.3 answers


def average_stub(model): ...


def average_divide_first(model):
    for p in model.parameters():
        if p.grad is not None:
            p.grad /= dist.get_world_size()
            dist.all_reduce(p.grad)


def average_with_op_avg(model):
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.AVG)


def average_sum_only(model):
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)


def average_by_two(model):
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= 2


def average_no_reduce(model):
    for p in model.parameters():
        if p.grad is not None:
            p.grad = p.grad / dist.get_world_size() * dist.get_world_size()


def average_a_copy(model):
    for p in model.parameters():
        if p.grad is not None:
            g = p.grad.clone()
            dist.all_reduce(g)
            g /= dist.get_world_size()


def average_copy_then_divide(model):
    for p in model.parameters():
        if p.grad is not None:
            g = p.grad.clone()
            dist.all_reduce(g)
            p.grad /= dist.get_world_size()


def average_max(model):
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.MAX)


def average_weights(model):
    for p in model.parameters():
        dist.all_reduce(p.data)
        p.data /= dist.get_world_size()


def average_crashes_on_frozen(model):
    for p in model.parameters():
        dist.all_reduce(p.grad)
        p.grad /= dist.get_world_size()


def average_first_only(model):
    p = next(model.parameters())
    dist.all_reduce(p.grad)
    p.grad /= dist.get_world_size()


def average_on_rank_0_only(model):
    if dist.get_rank() == 0:
        for p in model.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= dist.get_world_size()


def average_fills_frozen(model):
    for p in model.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)
        p.grad /= dist.get_world_size()


def average_in_float64(model):
    for p in model.parameters():
        if p.grad is not None:
            g = p.grad.double()
            dist.all_reduce(g)
            p.grad = g / dist.get_world_size()


CASES = [
    # 11.1: predict the state bytes
    ("11.1", "reference", (state_bytes,), "correct", ["SGD, Adam"]),
    ("11.1", "numpy numbers", (bytes_with_numpy,), "correct", []),
    ("11.1", "measures a real optimizer", (bytes_by_building_one,), "correct", []),
    ("11.1", "stub", (bytes_stub,), "not attempted", []),
    ("11.1", "no step counter", (bytes_no_step,), "incorrect", ["`step` counter is state too"]),
    ("11.1", "step per element", (bytes_step_per_element,), "incorrect", ["one 0-dim tensor per parameter"]),
    (
        "11.1",
        "step as the param dtype",
        (bytes_step_as_dtype,),
        "incorrect",
        ["float32 tensor (4 bytes) even for float64"],
    ),
    ("11.1", "4 bytes always", (bytes_always_4,), "incorrect", ["8 bytes per element"]),
    ("11.1", "8 bytes always", (bytes_always_8,), "incorrect", ["4 bytes per element, not 8"]),
    ("11.1", "parameter and gradient counted", (bytes_with_param_and_grad,), "incorrect", ["are not optimizer state"]),
    ("11.1", "ignores the shape", (bytes_ignores_shape,), "incorrect", ["multiply by its number"]),
    ("11.1", "counts elements", (bytes_counts_elements,), "incorrect", ["bytes, not elements"]),
    ("11.1", "0-dim has no elements", (bytes_len_of_shape,), "incorrect", ["a 0-dim tensor has one element"]),
    ("11.1", "forgets AMSGrad", (bytes_no_amsgrad,), "incorrect", ["`max_exp_avg_sq`"]),
    ("11.1", "SGD always has a buffer", (bytes_sgd_always_momentum,), "incorrect", ["only when momentum is not 0"]),
    ("11.1", "SGD has a step", (bytes_sgd_has_step,), "incorrect", ["SGD keeps no `step`"]),
    ("11.1", "RMSprop one tensor", (bytes_rmsprop_one_tensor,), "incorrect", ["extra tensors next to `square_avg`"]),
    ("11.1", "Adam one tensor", (bytes_adam_one_tensor,), "incorrect", ["not one"]),
    ("11.1", "a number, not a function", (16,), "incorrect", ["should be a function"]),
    ("11.1", "returns a string", (lambda n, o, s, d: "16 bytes",), "incorrect", ["should be a number, got str"]),
    # 11.2: predict the shard shape
    ("11.2", "reference", (shard_shape,), "correct", ["ceil(rows / world_size)"]),
    ("11.2", "torch.chunk", (shard_with_chunk,), "correct", []),
    ("11.2", "math.ceil, torch.Size", (shard_with_ceil,), "correct", []),
    ("11.2", "stub", (shard_stub,), "not attempted", []),
    ("11.2", "floor division", (shard_floor,), "incorrect", ["not rows // world_size"]),
    ("11.2", "padded size", (shard_padded,), "incorrect", ["the padded shard FSDP2 all-gathers"]),
    ("11.2", "numpy.array_split", (shard_array_split,), "incorrect", ["numpy.array_split's rule"]),
    ("11.2", "negative rows", (shard_negative,), "incorrect", ["not a negative number"]),
    ("11.2", "ranks from 1", (shard_rank_from_one,), "incorrect", ["ranks count from 0"]),
    ("11.2", "whole parameter", (shard_whole,), "incorrect", ["not the whole parameter"]),
    ("11.2", "last dim", (shard_last_dim,), "incorrect", ["not the last dim"]),
    ("11.2", "every dim", (shard_every_dim,), "incorrect", ["only dim 0 is split"]),
    ("11.2", "rows only", (shard_rows_only,), "incorrect", ["keep the other dims"]),
    ("11.2", "ranks reversed", (shard_reversed_ranks,), "incorrect", ["rank 0 holds the first rows"]),
    ("11.2", "number of elements", (shard_numel,), "incorrect", ["return the whole shape as a tuple"]),
    ("11.2", "unexplained", (shard_numpy_shape,), "incorrect", ["Split dim 0 as torch.chunk does"]),
    # 11.3: DDP's all-reduce average, in real gloo processes
    ("11.3", "reference", (average_gradients,), "correct", ["every rank holds the mean"]),
    ("11.3", "divide, then all_reduce", (average_divide_first,), "correct", []),
    ("11.3", "ReduceOp.AVG", (average_with_op_avg,), "correct", []),
    ("11.3", "stub", (average_stub,), "not attempted", []),
    ("11.3", "sum only", (average_sum_only,), "incorrect", ["the sum of the ranks' gradients"]),
    ("11.3", "divides by 2", (average_by_two,), "incorrect", ["not by a fixed 2"]),
    ("11.3", "no all_reduce", (average_no_reduce,), "incorrect", ["still each rank's own gradient"]),
    ("11.3", "reduces a copy", (average_a_copy,), "incorrect", ["not a copy"]),
    ("11.3", "reduces a copy, divides p.grad", (average_copy_then_divide,), "incorrect", ["did not reach `p.grad`"]),
    ("11.3", "op=MAX", (average_max,), "incorrect", ["(op=MAX)"]),
    ("11.3", "averages the weights", (average_weights,), "incorrect", ["it changed the weights"]),
    (
        "11.3",
        "crashes on a frozen parameter",
        (average_crashes_on_frozen,),
        "error",
        ["raised TypeError", "in `average_crashes_on_frozen`", "skip parameters whose `.grad` is None"],
    ),
    (
        "11.3",
        "first parameter only",
        (average_first_only,),
        "incorrect",
        ["`2.weight.grad`", "still each rank's own gradient"],
    ),
    (
        "11.3",
        "all_reduce on rank 0 only",
        (average_on_rank_0_only,),
        "error",
        ["collective", "call all_reduce on every rank"],
    ),
    ("11.3", "gives frozen parameters a gradient", (average_fills_frozen,), "incorrect", ["`0.bias` is frozen"]),
    ("11.3", "float64 gradients", (average_in_float64,), "error", ["raised RuntimeError", "dtype 'double'"]),
    ("11.3", "not a function", ("all_reduce",), "incorrect", ["should be a function"]),
]


@pytest.mark.parametrize(
    "key, answers, status, fragments", [pytest.param(k, a, s, f, id=f"{k} {d}") for k, d, a, s, f in CASES]
)
def test_feedback(key, answers, status, fragments):
    feedback = grade(key, *answers)
    assert feedback.status == status, str(feedback)
    for fragment in fragments:
        assert fragment in feedback.message, str(feedback)


def test_every_exercise_has_a_reference_case_and_enough_wrong_answers():
    keys = set(exercises_of("11"))
    assert keys == {"11.1", "11.2", "11.3"}
    assert keys == {k for k, d, _, s, _ in CASES if d == "reference" and s == "correct"}
    for key in keys:
        assert sum(k == key and s == "correct" for k, _, _, s, _ in CASES) >= 3, key
        assert sum(k == key and s in ("incorrect", "error") for k, _, _, s, _ in CASES) >= 10, key


def test_the_state_bytes_reference_is_torchs_optimizer_state():
    """The grader's reference counts what torch keeps; a few values checked by hand."""
    assert _measured_state_bytes("SGD", {}, (10,), torch.float32, 0) == 0
    assert _measured_state_bytes("SGD", {"momentum": 0.9}, (10,), torch.float32, 0) == 40
    assert _measured_state_bytes("Adam", {}, (10,), torch.float32, 0) == 2 * 40 + 4
    assert _measured_state_bytes("Adam", {"amsgrad": True}, (10,), torch.float64, 0) == 3 * 80 + 4
    assert _measured_state_bytes("RMSprop", {"centered": True, "momentum": 0.5}, (), torch.float32, 0) == 3 * 4 + 4


def test_the_shard_reference_is_what_fully_shard_gives():
    """The lesson's FSDP2 run gives a (3, 24) weight shards of 2 and 1 rows on 2 ranks
    (tests/test_distributed.py); torch.chunk's reference agrees, and gives late ranks nothing."""
    assert [_reference_shard_shape((3, 24), 2, r) for r in range(2)] == [(2, 24), (1, 24)]
    assert [_reference_shard_shape((2, 5), 4, r) for r in range(4)] == [(1, 5), (1, 5), (0, 5), (0, 5)]
    assert [_reference_shard_shape((10,), 4, r) for r in range(4)] == [(3,), (3,), (3,), (1,)]


def test_grading_leaves_global_state_alone():
    rng = torch.get_rng_state()
    dtype = torch.get_default_dtype()
    for key, _, answers, _, _ in CASES:
        if key != "11.3":  # 11.3 runs in other processes
            grade(key, *answers)
    assert torch.equal(torch.get_rng_state(), rng)
    assert torch.get_default_dtype() == dtype
    assert torch.is_grad_enabled()


def test_the_configurations_are_drawn_from_the_key():
    """The same configurations at every check, so that a verdict is reproducible; 0-dim
    parameters and every optimizer among them, and world sizes beyond the fixed cases."""
    from myoptim_helpers.exercises import lesson11

    for draw in (lesson11._configs_11_1, lesson11._configs_11_2, lesson11._configs_11_3):
        assert [(c.label, dict(c.settings).get("data")) for c in draw()] == [
            (c.label, dict(c.settings).get("data")) for c in draw()
        ]
    states = lesson11._configs_11_1()
    assert {c["name"] for c in states} == {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"}
    assert () in {c["shape"] for c in states} and {c["dtype"] for c in states} == {torch.float32, torch.float64}
    assert max(c["ws"] for c in lesson11._configs_11_2()) > 4
