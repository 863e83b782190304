"""What lesson 11 runs on the ranks that :func:`~myoptim_helpers.distributed.launch` starts.

Each worker takes ``(rank, world_size, ...)``, runs inside the gloo process group the launcher
set up, and returns plain data for the notebook to compare: :func:`all_reduce_sum_of_ranks`
(one collective), :func:`ddp_training` (DistributedDataParallel), :func:`zero_training`
(ZeroRedundancyOptimizer), :func:`fsdp_training` (FSDP2 shards, ours and torch's Adam),
:func:`checkpoint_and_resume` (a distributed checkpoint) and :func:`lesson11_tour` (all of
them in one launch). The lesson prints each with ``inspect.getsource`` where it discusses it.
"""

from __future__ import annotations

import os

import torch

__all__ = [
    "all_reduce_sum_of_ranks",
    "make_mlp",
    "train",
    "rank_batch",
    "combined_batch",
    "flat_parameters",
    "state_bytes",
    "ddp_training",
    "zero_training",
    "fsdp_training",
    "checkpoint_and_resume",
    "lesson11_tour",
]


def all_reduce_sum_of_ranks(rank, world_size):
    """Worker: all-reduce (sum) every rank's number and return the total, as a float."""
    import torch.distributed as dist

    value = torch.tensor(float(rank))
    dist.all_reduce(value)  # default op: SUM
    return value.item()


# A small float64 MLP, so that every comparison below is exact or within 1e-12 and the whole
# tour runs in a fraction of a second per rank. Its layer sizes split evenly enough across two
# ranks for ZeroRedundancyOptimizer (whole tensors per rank) and leave one uneven tensor for
# FSDP2 (3 output rows: shards of 2 and 1).

IN_FEATURES, HIDDEN, OUT_FEATURES = 24, 32, 3
STEPS = 5


def make_mlp(seed=0, dtype=torch.float64):
    """Return the lesson's model, Linear(24, 32) → Tanh → Linear(32, 24) → Tanh → Linear(24, 3), seeded."""
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Linear(IN_FEATURES, HIDDEN, dtype=dtype),
            nn.Tanh(),
            nn.Linear(HIDDEN, IN_FEATURES, dtype=dtype),
            nn.Tanh(),
            nn.Linear(IN_FEATURES, OUT_FEATURES, dtype=dtype),
        )


def combined_batch(world_size, per_rank=4, seed=1, dtype=torch.float64):
    """Return ``(x, y)``, the batch of all ranks together: ``per_rank`` rows for each rank."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(world_size * per_rank, IN_FEATURES, generator=generator, dtype=dtype)
    y = torch.randn(world_size * per_rank, OUT_FEATURES, generator=generator, dtype=dtype)
    return x, y


def rank_batch(rank, world_size, per_rank=4, seed=1, dtype=torch.float64):
    """Return rank ``rank``'s share of :func:`combined_batch`: rows ``rank*per_rank`` to the next rank's."""
    x, y = combined_batch(world_size, per_rank, seed, dtype)
    rows = slice(rank * per_rank, (rank + 1) * per_rank)
    return x[rows], y[rows]


def train(model, optimizer, x, y, steps=STEPS):
    """Run ``steps`` steps of MSE regression of ``model(x)`` on ``y``; return the losses as floats."""
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _full(tensor):
    """The whole tensor: a DTensor shard is gathered from every rank, a plain tensor is itself."""
    return tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor


def _local(tensor):
    """This rank's part of a tensor: a DTensor's local shard, a plain tensor itself."""
    return tensor.to_local() if hasattr(tensor, "to_local") else tensor


def flat_parameters(model):
    """Return every parameter of ``model`` (gathered if sharded), flattened into one detached vector."""
    return torch.cat([_full(p.detach()).reshape(-1) for p in model.parameters()])


def state_bytes(optimizer):
    """Return the bytes of the tensors in ``optimizer.state`` that this process holds (local shards only)."""
    total = 0
    for state in optimizer.state.values():
        for value in state.values():
            if torch.is_tensor(value):
                local = _local(value)
                total += local.numel() * local.element_size()
    return total


def ddp_training(rank, world_size):
    """Worker: train the MLP with DistributedDataParallel and SGD on this rank's batch.

    Returns this rank's own gradient at the first step (computed under ``no_sync``, without the
    all-reduce), the gradient DDP leaves in ``.grad`` after its all-reduce, and the final weights.
    """
    from torch.nn.parallel import DistributedDataParallel as DDP

    x, y = rank_batch(rank, world_size)
    model = DDP(make_mlp())
    with model.no_sync():  # this rank's gradient alone: backward without DDP's all-reduce
        torch.nn.functional.mse_loss(model(x), y).backward()
    own_grad = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    model.zero_grad()
    torch.nn.functional.mse_loss(model(x), y).backward()  # DDP all-reduces the gradients here
    averaged_grad = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    train(model, optimizer, x, y)
    return {"own_grad": own_grad, "averaged_grad": averaged_grad, "weights": flat_parameters(model.module)}


def zero_training(rank, world_size):
    """Worker: DDP with Adam, once plain and once inside ZeroRedundancyOptimizer.

    Returns the state bytes each optimizer holds on this rank, how many parameter tensors
    ZeRO gave this rank, and both runs' final weights.
    """
    from torch.distributed.optim import ZeroRedundancyOptimizer
    from torch.nn.parallel import DistributedDataParallel as DDP

    x, y = rank_batch(rank, world_size)
    model = DDP(make_mlp())
    adam = torch.optim.Adam(model.parameters(), lr=0.01)
    train(model, adam, x, y)
    sharded_model = DDP(make_mlp())
    zero = ZeroRedundancyOptimizer(sharded_model.parameters(), optimizer_class=torch.optim.Adam, lr=0.01)
    train(sharded_model, zero, x, y)
    local_params = sum(len(group["params"]) for group in zero.optim.param_groups)
    return {
        "adam_state_bytes": state_bytes(adam),
        "zero_state_bytes": state_bytes(zero.optim),
        "zero_local_tensors": local_params,
        "adam_weights": flat_parameters(model.module),
        "zero_weights": flat_parameters(sharded_model.module),
    }


def fsdp_training(rank, world_size, optimizer_class):
    """Worker: shard the MLP with FSDP2's ``fully_shard`` and train it with ``optimizer_class``.

    Returns, for the last layer's weight and its ``exp_avg``: the type, the placement, the global
    and the local shape; the state bytes on this rank; the final (gathered) weights.
    """
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    mesh = init_device_mesh("cpu", (world_size,))
    model = make_mlp()
    for layer in model[::2]:  # each Linear is one unit that is all-gathered for its forward
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    optimizer = optimizer_class(model.parameters(), lr=0.01)
    x, y = rank_batch(rank, world_size)
    train(model, optimizer, x, y)
    weight = model[4].weight
    exp_avg = optimizer.state[weight]["exp_avg"]
    return {
        "param_type": type(weight).__name__,
        "placements": str(weight.placements),
        "global_shape": tuple(weight.shape),
        "local_shape": tuple(weight.to_local().shape),
        "exp_avg_type": type(exp_avg).__name__,
        "exp_avg_local_shape": tuple(exp_avg.to_local().shape),
        "state_bytes": state_bytes(optimizer),
        "weights": flat_parameters(model),
    }


def _sharded_adam(mesh, seed):
    from torch.distributed.fsdp import fully_shard

    from ..optim import Adam

    model = make_mlp(seed)
    for layer in model[::2]:
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    return model, Adam(model.parameters(), lr=0.01)


def checkpoint_and_resume(rank, world_size, checkpoint_dir):
    """Worker: our Adam on an FSDP2 model, saved with torch.distributed.checkpoint and resumed.

    Trains STEPS steps, saves the sharded model and optimizer state (each rank writes its own
    shards), trains STEPS more; then a fresh model with other initial weights loads the checkpoint
    and trains the same STEPS steps. Returns both final weights and the checkpoint's file names.
    """
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict
    from torch.distributed.device_mesh import init_device_mesh

    mesh = init_device_mesh("cpu", (world_size,))
    x, y = rank_batch(rank, world_size)
    model, optimizer = _sharded_adam(mesh, seed=0)
    train(model, optimizer, x, y)
    model_state, optimizer_state = get_state_dict(model, optimizer)
    dcp.save({"model": model_state, "optimizer": optimizer_state}, checkpoint_id=checkpoint_dir)
    train(model, optimizer, x, y)

    resumed, resumed_optimizer = _sharded_adam(mesh, seed=123)  # other weights, empty state
    model_state, optimizer_state = get_state_dict(resumed, resumed_optimizer)
    loaded = {"model": model_state, "optimizer": optimizer_state}
    dcp.load(loaded, checkpoint_id=checkpoint_dir)  # fills the shards in place
    set_state_dict(resumed, resumed_optimizer, model_state_dict=loaded["model"], optim_state_dict=loaded["optimizer"])
    step = float(next(iter(resumed_optimizer.state.values()))["step"])
    train(resumed, resumed_optimizer, x, y)
    return {
        "uninterrupted": flat_parameters(model),
        "resumed": flat_parameters(resumed),
        "step_after_load": step,
        "files": sorted(os.listdir(checkpoint_dir)),
    }


def lesson11_tour(rank, world_size, checkpoint_dir):
    """Worker: every distributed experiment of lesson 11 in one launch; a dict of their results."""
    from ..optim import Adam

    dist_results = {
        "ddp": ddp_training(rank, world_size),
        "zero": zero_training(rank, world_size),
        "fsdp_torch_adam": fsdp_training(rank, world_size, torch.optim.Adam),
        "fsdp_our_adam": fsdp_training(rank, world_size, Adam),
    }
    dist_results["checkpoint"] = checkpoint_and_resume(rank, world_size, checkpoint_dir)
    return dist_results
