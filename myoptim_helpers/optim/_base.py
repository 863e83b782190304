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


def params_with_grad(group, optimizer_name=None, *, suggestion=None):
    """Yield the parameters of ``group`` that have a gradient, in order.

    A parameter whose ``.grad`` is None did not take part in the loss: it is
    skipped and gets no state, exactly as in ``torch.optim``. Sparse gradients
    pass through; an optimizer that refuses them names itself, and a sparse
    gradient then raises torch's ``RuntimeError``: "``optimizer_name`` does not
    support sparse gradients" (", please consider ``suggestion`` instead").
    """
    for p in group["params"]:
        if p.grad is None:
            continue
        if p.grad.is_sparse and optimizer_name is not None:
            advice = f", please consider {suggestion} instead" if suggestion else ""
            raise RuntimeError(f"{optimizer_name} does not support sparse gradients{advice}")
        yield p


def as_real(tensor):
    """Return a complex tensor viewed as real numbers (a last dimension of 2: real, imaginary), any other unchanged.

    torch updates a complex parameter as pairs of reals: the same memory seen
    through ``torch.view_as_real``, so an in-place update of the view updates
    the complex tensor.
    """
    return torch.view_as_real(tensor) if tensor.is_complex() else tensor


def read_state(state, *keys):
    """Read ``state[key]`` for each of ``keys`` in order, raising torch's ``KeyError`` for the first one missing.

    torch reads the state of a group's parameters before it updates any of
    them, so a state dict of another optimizer fails with torch's missing key
    and leaves that group's parameters as they were.
    """
    for key in keys:
        state[key]


def read_hyperparameters(group, names):
    """Return ``{name: group[name]}`` for ``names``, read in that order, with ``lr`` passed through ``as_scalar``.

    Give the names in the order torch's ``step`` reads them, so that a param
    group loaded from another optimizer's state dict fails with torch's
    ``KeyError``. Like torch, a step reads them even when no parameter has a gradient.
    """
    hyper = {name: group[name] for name in names}
    if "lr" in hyper:
        hyper["lr"] = as_scalar(hyper["lr"])
    return hyper


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
