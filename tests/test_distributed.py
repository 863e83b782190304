"""The launcher of myoptim_helpers.distributed, and lesson 11's workers on real gloo processes.

Failure paths first: a rank that raises, a rank that hangs past the launch timeout, a rank stuck
in a collective, a taken port, a rank that dies without a Python error. Each must end in one
WorkerError line that names the rank, quickly, with no child process left behind.
"""

import os
import socket
import tempfile
import time

import pytest
import torch
import torch.distributed as dist

from myoptim_helpers import distributed as D
from myoptim_helpers.distributed import WorkerError, launch
from myoptim_helpers.optim import Adam


def _record_pid(directory, rank):
    with open(os.path.join(directory, f"pid{rank}"), "w") as f:
        f.write(str(os.getpid()))


def _pids(directory, world_size):
    pids = []
    for rank in range(world_size):
        with open(os.path.join(directory, f"pid{rank}")) as f:
            pids.append(int(f.read()))
    return pids


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for good; only a running or sleeping process counts.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[-1][0] not in "ZX"


def _wait_gone(pids, seconds=3.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


# --------------------------------------------------------------------------- workers (module level)


def echo(rank, world_size, offset):
    value = torch.tensor([float(rank + offset)])
    gathered = [torch.zeros(1) for _ in range(world_size)]
    dist.all_gather(gathered, value)
    return {"rank": rank, "world_size": world_size, "gathered": torch.cat(gathered).tolist()}


def raises_on_rank_1(rank, world_size, directory):
    _record_pid(directory, rank)
    if rank == 1:
        raise ValueError("the learning rate must be positive")
    dist.barrier()  # rank 0 waits for a rank that is gone


def hangs_on_rank_1(rank, world_size, directory):
    _record_pid(directory, rank)
    if rank == 1:
        time.sleep(600)
    dist.barrier()


def skips_a_collective(rank, world_size, directory):
    _record_pid(directory, rank)
    if rank == 0:
        dist.all_reduce(torch.ones(1))  # rank 1 never joins; rank 1 then waits in the barrier
    time.sleep(0.1 if rank == 0 else 600)


def exits_without_error(rank, world_size, directory):
    _record_pid(directory, rank)
    if rank == 1:
        os._exit(3)
    dist.barrier()


# --------------------------------------------------------------------------- the good path


@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_results_come_back_in_rank_order_with_the_arguments_passed(world_size):
    results = launch(echo, 10, world_size=world_size)
    assert [r["rank"] for r in results] == list(range(world_size))
    assert all(r["world_size"] == world_size for r in results)
    assert all(r["gathered"] == [10.0 + k for k in range(world_size)] for r in results)


def test_the_docstring_example():
    assert launch(D.all_reduce_sum_of_ranks, world_size=2) == [1.0, 1.0]


def test_a_taken_port_is_avoided_when_the_port_is_left_to_the_system():
    with socket.socket() as busy:
        busy.bind((D.HOST, 0))
        busy.listen()
        assert launch(D.all_reduce_sum_of_ranks, world_size=2) == [1.0, 1.0]


# --------------------------------------------------------------------------- failure paths


def _failing_launch(worker, **kwargs):
    """Launch ``worker`` on 2 ranks, expect a WorkerError; return it and the seconds it took,
    after checking that no rank's process is left."""
    with tempfile.TemporaryDirectory() as directory:
        start = time.monotonic()
        with pytest.raises(WorkerError) as info:
            launch(worker, directory, world_size=2, **kwargs)
        elapsed = time.monotonic() - start
        assert _wait_gone(_pids(directory, 2)) == []
    return info.value, elapsed


def test_a_rank_that_raises_is_named_with_its_error_and_every_process_is_cleaned_up():
    error, elapsed = _failing_launch(raises_on_rank_1, timeout=30)
    assert elapsed < 10  # not the launch timeout: the failure ends it
    message = str(error)
    assert message.startswith("rank 1 raised ValueError: the learning rate must be positive")
    assert "in `raises_on_rank_1`, line" in message
    assert "\n" not in message and "Traceback" not in message
    assert error.rank == 1 and error.exc_type == "ValueError"


def test_a_rank_that_hangs_past_the_launch_timeout_is_stopped_with_a_clear_message():
    error, elapsed = _failing_launch(hangs_on_rank_1, timeout=3, collective_timeout=60)
    assert 3 <= elapsed < 10
    assert str(error).startswith("ranks 0, 1 did not finish within the launch timeout of 3 s")
    assert "every rank was stopped" in str(error)


def test_a_collective_that_another_rank_never_joins_times_out_and_says_so():
    error, elapsed = _failing_launch(skips_a_collective, timeout=30, collective_timeout=1.5)
    assert elapsed < 10
    message = str(error)
    assert message.startswith("rank 0 raised")
    assert "collective_timeout=1.5 s" in message and "same collectives in the same order" in message
    assert "[/" not in message  # gloo's source path is cut off


def test_an_explicit_port_in_use_is_reported_in_one_line():
    with socket.socket() as busy:
        busy.bind((D.HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(WorkerError, match=f"port {port} on 127.0.0.1 is already in use.*master_port=None"):
            launch(D.all_reduce_sum_of_ranks, world_size=2, master_port=port)


def test_a_rank_that_dies_without_a_python_error_is_reported_by_its_exit_code():
    error, _ = _failing_launch(exits_without_error, timeout=30, collective_timeout=5)
    assert str(error).startswith("rank 1 exited with code 3 without a Python error")


def test_spawn_of_a_function_defined_in_a_notebook_says_why_it_cannot_start():
    def local_worker(rank, world_size):  # not importable by a spawned process
        return rank

    with pytest.raises(WorkerError, match="could not start rank 0.*defined in a module"):
        launch(local_worker, world_size=2, start_method="spawn")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"world_size": 0}, "world_size must be a positive int"),
        ({"timeout": 0}, "timeouts must be positive"),
        ({"collective_timeout": -1}, "timeouts must be positive"),
    ],
)
def test_bad_arguments_fail_before_any_process_starts(kwargs, message):
    with pytest.raises(ValueError, match=message):
        launch(D.all_reduce_sum_of_ranks, **kwargs)


# --------------------------------------------------------------------------- lesson 11's workers


@pytest.fixture(scope="module")
def tour():
    with tempfile.TemporaryDirectory() as directory:
        return launch(D.lesson11_tour, directory, world_size=2)


def _single_process(optimizer_class, **kwargs):
    x, y = D.combined_batch(2)
    model = D.make_mlp()
    D.train(model, optimizer_class(model.parameters(), **kwargs), x, y)
    return D.flat_parameters(model)


def test_ddp_averages_the_ranks_gradients_and_keeps_the_ranks_identical(tour):
    a, b = tour[0]["ddp"], tour[1]["ddp"]
    assert not torch.equal(a["own_grad"], b["own_grad"])
    assert torch.equal(a["averaged_grad"], b["averaged_grad"])
    torch.testing.assert_close(a["averaged_grad"], (a["own_grad"] + b["own_grad"]) / 2, rtol=0, atol=1e-15)
    assert torch.equal(a["weights"], b["weights"])
    single = _single_process(torch.optim.SGD, lr=0.1, momentum=0.9)
    torch.testing.assert_close(a["weights"], single, rtol=0, atol=1e-12)


def test_zero_holds_half_of_adams_state_per_rank_and_takes_the_same_steps(tour):
    full = tour[0]["zero"]["adam_state_bytes"]
    shards = [r["zero"]["zero_state_bytes"] for r in tour]
    assert all(r["zero"]["adam_state_bytes"] == full for r in tour)
    assert sum(shards) == full  # every parameter's state lives on exactly one rank
    assert all(0.4 < s / full < 0.6 for s in shards)
    for r in tour:
        assert torch.equal(r["zero"]["zero_weights"], r["zero"]["adam_weights"])
    single = _single_process(torch.optim.Adam, lr=0.01)
    torch.testing.assert_close(tour[0]["zero"]["zero_weights"], single, rtol=0, atol=1e-12)


def test_fsdp2_state_is_dtensor_shards_and_our_adam_equals_torchs_there(tour):
    for r, (rows, _bytes) in zip(tour, [(2, None), (1, None)]):
        for key in ("fsdp_torch_adam", "fsdp_our_adam"):
            f = r[key]
            assert (f["param_type"], f["exp_avg_type"]) == ("DTensor", "DTensor")
            assert f["placements"] == "(Shard(dim=0),)"
            assert f["global_shape"] == (3, 24)
            assert f["local_shape"] == f["exp_avg_local_shape"] == (rows, 24)
        assert r["fsdp_our_adam"]["state_bytes"] == r["fsdp_torch_adam"]["state_bytes"]
        assert torch.equal(r["fsdp_our_adam"]["weights"], r["fsdp_torch_adam"]["weights"])
    single = _single_process(torch.optim.Adam, lr=0.01)
    torch.testing.assert_close(tour[0]["fsdp_our_adam"]["weights"], single, rtol=0, atol=1e-12)


def test_a_distributed_checkpoint_resumes_our_adam_exactly(tour):
    for r in tour:
        c = r["checkpoint"]
        assert c["step_after_load"] == D.STEPS
        assert torch.equal(c["uninterrupted"], c["resumed"])
        assert c["files"] == [".metadata", "__0_0.distcp", "__1_0.distcp"]


ADAM_FLAGS = [
    {},
    {"amsgrad": True},
    {"weight_decay": 0.1},
    {"maximize": True},
    {"weight_decay": 0.1, "decoupled_weight_decay": True, "amsgrad": True},
    {"lr": torch.tensor(0.02), "betas": (0.8, 0.95)},
]


def fsdp_parity(rank, world_size):
    """Our Adam and torch's on identical FSDP2 models (uneven and empty shards), every step."""
    from torch import nn
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    mesh = init_device_mesh("cpu", (world_size,))
    worst = []
    for dtype in (torch.float64, torch.float32):
        for flags in ADAM_FLAGS:
            runs = []
            for cls in (torch.optim.Adam, Adam):
                torch.manual_seed(0)
                model = nn.Sequential(nn.Linear(5, 3, dtype=dtype), nn.Tanh(), nn.Linear(3, 1, dtype=dtype))
                fully_shard(model, mesh=mesh)  # rows 3 → 2 + 1; the (1, 3) weight → 1 + 0
                kwargs = {"lr": 0.01, **flags}
                optimizer = cls(model.parameters(), **kwargs)
                x = torch.randn(4, 5, dtype=dtype, generator=torch.Generator().manual_seed(rank))
                steps = []
                for _ in range(4):
                    optimizer.zero_grad()
                    model(x).square().mean().backward()
                    optimizer.step()
                    steps.append(D.flat_parameters(model))
                runs.append(steps)
            worst.append(max((a - b).abs().max().item() for a, b in zip(*runs)))
    return worst


def test_our_adam_matches_torchs_on_fsdp2_shards_at_every_step_for_every_flag():
    results = launch(fsdp_parity, world_size=2)
    cases = [(dtype, flags) for dtype in ("float64", "float32") for flags in ADAM_FLAGS]
    for rank_result in results:
        for (dtype, flags), worst in zip(cases, rank_result):
            assert worst <= (1e-12 if dtype == "float64" else 1e-5), (dtype, flags, worst)
