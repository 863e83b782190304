"""Run a function on several ``torch.distributed`` processes of this machine (lesson 11).

- ``distributed/launcher.py``: :func:`launch` starts the ranks, joins them into one gloo
  process group over loopback, returns what each rank returned and turns every failure
  (a rank that raises, hangs or dies) into one :class:`WorkerError` line, cleaning up always.
- ``distributed/workers.py``: what lesson 11 runs on those ranks (one all-reduce, DDP,
  ZeroRedundancyOptimizer, FSDP2, distributed checkpoints) on a small float64 MLP.

::

    >>> from myoptim_helpers.distributed import launch, all_reduce_sum_of_ranks
    >>> launch(all_reduce_sum_of_ranks, world_size=2)   # every rank all-reduces its rank number
    [1.0, 1.0]
"""

# HOST (the loopback address) and STEPS (the workers' step count) are read by the tests, not exported.
from .launcher import HOST as HOST
from .launcher import WorkerError, default_start_method, launch
from .workers import STEPS as STEPS
from .workers import (
    all_reduce_sum_of_ranks,
    checkpoint_and_resume,
    combined_batch,
    ddp_training,
    flat_parameters,
    fsdp_training,
    lesson11_tour,
    make_mlp,
    rank_batch,
    state_bytes,
    train,
    zero_training,
)

__all__ = [
    "WorkerError",
    "launch",
    "default_start_method",
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
