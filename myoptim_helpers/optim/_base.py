"""Bookkeeping shared by the optimizers of this package.

Nothing here is maths: every update rule lives in its own algorithm's file.
These helpers only remove repetition from the classes (closure handling,
which parameters take part in a step, the type of the ``step`` counter).
"""

import torch


def evaluate_closure(closure):
    """Return ``closure()`` evaluated once with gradients enabled, or None without a closure.

    ``step`` runs under ``torch.no_grad()``; the closure must still be able to
    call ``backward()``, so it runs under ``torch.enable_grad()`` as in torch.
    """
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


def params_with_grad(group, optimizer_name):
    """Yield the parameters of ``group`` that have a gradient, in order.

    A parameter whose ``.grad`` is None did not take part in the loss: it is
    skipped and gets no state, exactly as in ``torch.optim``. A sparse gradient
    raises a ``RuntimeError`` naming the optimizer.
    """
    for p in group["params"]:
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            raise RuntimeError(
                f"{optimizer_name} does not support sparse gradients "
                f"(myoptim_helpers implements dense updates only); use torch.optim.{optimizer_name}"
            )
        yield p


def as_scalar(value):
    """Return a 1-element tensor hyperparameter as a 0-dim tensor; any other value unchanged.

    Mirrors torch's ``_to_scalar``: an ``lr`` given as ``torch.tensor([0.1])``
    is used as ``torch.tensor(0.1)``.
    """
    if isinstance(value, torch.Tensor) and value.dim() != 0:
        return value.squeeze()
    return value


def step_dtype():
    """Return the dtype torch gives the ``step`` counter: float64 if that is the default dtype, else float32."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def new_step():
    """Return a fresh ``step`` counter as torch keeps it: a 0-dim float tensor on the CPU, holding 0."""
    return torch.tensor(0.0, dtype=step_dtype())


def steps_as_tensors(optimizer):
    """Turn ``step`` counters stored as plain numbers (old checkpoints) into tensors, in place.

    torch's ``__setstate__`` does the same, so a checkpoint written by an old
    torch (where ``step`` was an int) loads into these optimizers too.
    """
    for group in optimizer.param_groups:
        for p in group["params"]:
            p_state = optimizer.state.get(p, {})
            if len(p_state) != 0 and not torch.is_tensor(p_state["step"]):
                p_state["step"] = torch.tensor(float(p_state["step"]), dtype=step_dtype())
