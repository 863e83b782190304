"""The parts of a production training step, rebuilt from scratch (lesson 09).

- :func:`clip_grad_norm_` and :func:`clip_grad_value_`: torch.nn.utils' clipping,
  number for number (the total norm returned, ``error_if_nonfinite``), without ``foreach``.
- :class:`EMA`: an exponential moving average of a model's weights, equal to
  ``torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))``.
- :func:`save_checkpoint` and :func:`load_checkpoint`: everything a run needs to go on
  exactly (model, optimizer, scheduler, scaler, EMA, RNG states, epoch), in a file that
  ``torch.load(..., weights_only=True)`` reads.
"""

from __future__ import annotations

import copy
import random
import types
import warnings

import torch
from torch import Tensor, nn

__all__ = [
    "EMA",
    "clip_grad_norm_",
    "clip_grad_value_",
    "load_checkpoint",
    "rng_state",
    "save_checkpoint",
    "set_rng_state",
]


def _by_dtype(tensors: list) -> list:
    """The tensors in the order torch takes them: grouped by (device, dtype).

    torch groups before computing norms (for its foreach kernels) and keeps that order even
    without foreach; the order of the per-tensor norms decides the rounding of the total
    norm when dtypes are mixed. The group order comes from a hash map in C++, so we ask
    torch's own grouping utility for it rather than guess."""
    from torch.utils._foreach_utils import _group_tensors_by_device_and_dtype

    groups = _group_tensors_by_device_and_dtype([tensors])
    return [t for ([group], _) in groups.values() for t in group]


@torch.no_grad()
def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    r"""Scale all gradients by one factor so that their joint norm is at most ``max_norm``.

    Return that norm before clipping.

    .. math::
        \|g\| = \big\| (\|g_1\|_p, \dots, \|g_n\|_p) \big\|_p, \qquad
        g_i \leftarrow g_i \cdot \min\!\Big(\frac{\text{max\_norm}}{\|g\| + 10^{-6}}, 1\Big)

    The norm is *global*: one factor for every gradient, so the direction of the whole
    update is kept. Equal to ``torch.nn.utils.clip_grad_norm_`` (``foreach`` left out).
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)  # a generator would be used up by the first pass
        if is_generator and not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=3)
    grads = [p.grad for p in parameters if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return torch.tensor(0.0)
    norms = [torch.linalg.vector_norm(g, norm_type) for g in _by_dtype(grads)]
    total_norm = torch.linalg.vector_norm(torch.stack(norms), norm_type)
    if error_if_nonfinite and (total_norm.isnan() or total_norm.isinf()):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    # torch multiplies even when the factor is 1 (no device sync on a comparison): so do we
    clip_coef = torch.clamp(float(max_norm) / (total_norm + 1e-6), max=1.0)
    for g in grads:
        g.mul_(clip_coef)
    return total_norm


@torch.no_grad()
def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient entry into ``[-clip_value, clip_value]``, in place.

    Per entry, so the direction of the update changes. Equal to
    ``torch.nn.utils.clip_grad_value_`` (``foreach`` left out)."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    clip_value = float(clip_value)
    for p in parameters:
        if p.grad is not None:
            p.grad.clamp_(min=-clip_value, max=clip_value)


class EMA(nn.Module):
    r"""An exponential moving average of a model's parameters: ``ema.module`` is the averaged copy.

    .. math::
        W^{\text{EMA}}_0 = W_0, \qquad
        W^{\text{EMA}}_{t+1} = \text{decay} \cdot W^{\text{EMA}}_t + (1 - \text{decay}) \cdot W_{t+1}

    Call :meth:`update_parameters` after each ``optimizer.step()``. The first call copies
    the weights; buffers (BatchNorm statistics) are copied, not averaged. Equal to
    ``AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))``, state-dict keys included.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999):
        super().__init__()
        if decay < 0.0 or decay > 1.0:
            raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")
        self.module = copy.deepcopy(model)
        self.decay = decay
        self.register_buffer("n_averaged", torch.tensor(0, dtype=torch.long))

    def forward(self, *args, **kwargs):
        """Run the averaged model."""
        return self.module(*args, **kwargs)

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """Move every averaged parameter toward ``model``'s by ``1 - decay`` (copy on the first call)."""
        for averaged, current in zip(self.module.parameters(), model.parameters()):
            if self.n_averaged == 0:
                averaged.copy_(current)
            elif averaged.is_floating_point() or averaged.is_complex():
                # lerp, as torch's _foreach_lerp_: a + (1 - decay)(b - a), not decay·a + (1 - decay)·b
                averaged.lerp_(current, 1 - self.decay)
            else:
                averaged.copy_(averaged * self.decay + current * (1 - self.decay))
        for averaged, current in zip(self.module.buffers(), model.buffers()):
            averaged.copy_(current)
        self.n_averaged += 1


def rng_state() -> dict:
    """The state of torch's and Python's random generators, as tensors and tuples of ints
    (so that ``torch.load(..., weights_only=True)`` can read it back)."""
    return {"torch": torch.get_rng_state(), "python": random.getstate()}


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]  # weights_only gives lists back where tuples went in
    random.setstate((version, tuple(internal), gauss))


def save_checkpoint(
    f,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    epoch: int,
    scheduler=None,
    scaler=None,
    ema: nn.Module | None = None,
) -> dict:
    """Save everything a run needs to go on exactly, with ``torch.save``; return the dict saved.

    ``epoch`` is the number of epochs done. The RNG states come last, so that they are
    the states *after* the epoch: the next epoch draws the same batches as an
    uninterrupted run."""
    checkpoint = {"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict()}
    for name, obj in (("scheduler", scheduler), ("scaler", scaler), ("ema", ema)):
        if obj is not None:
            checkpoint[name] = obj.state_dict()
    checkpoint["rng"] = rng_state()
    torch.save(checkpoint, f)
    return checkpoint


def load_checkpoint(
    f,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler=None,
    scaler=None,
    ema: nn.Module | None = None,
    map_location="cpu",
) -> int:
    """Load a :func:`save_checkpoint` file into freshly built objects; return the epoch to start from.

    Build the optimizer **and** the scheduler before calling this: a scheduler's
    constructor writes the optimizer's lrs, so it must not run after the load.
    ``map_location`` puts tensors saved on another device (a GPU) where you need them."""
    checkpoint = torch.load(f, map_location=map_location, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    for name, obj in (("scheduler", scheduler), ("scaler", scaler), ("ema", ema)):
        if obj is not None:
            if name not in checkpoint:
                raise KeyError(f"the checkpoint holds no {name!r} state; it has {sorted(checkpoint)}")
            obj.load_state_dict(checkpoint[name])
    set_rng_state(checkpoint["rng"])
    return checkpoint["epoch"]
