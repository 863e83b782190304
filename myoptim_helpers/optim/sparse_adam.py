"""SparseAdam: Adam that only touches the rows a sparse gradient names.

An embedding table with a million rows gets, per batch, gradients for the few
hundred tokens in the batch. ``nn.Embedding(..., sparse=True)`` hands the
optimizer exactly those rows, as a sparse COO gradient. Plain Adam would still
decay ``exp_avg`` and ``exp_avg_sq`` for *every* row and move rows whose
gradient is zero (momentum keeps them going). SparseAdam updates only the
entries present in the gradient: their moments, and their parameters.

So it is a *masked* approximation of Adam, not Adam: a row's moments decay only on
the steps where it appears, while the bias correction uses the parameter's
global ``step`` count. It accepts only sparse gradients (use Adam for dense ones),
dense parameters, and no weight decay.

``sparse_adam_update`` below is the whole algorithm for one tensor; the
``SparseAdam`` class only loops over parameters and creates the state on the
first step.
"""

import math

import torch

from ._base import as_scalar, evaluate_closure

__all__ = ["SparseAdam", "sparse_adam_update"]


def sparse_adam_update(param, grad, state, *, lr, beta1, beta2, eps, maximize):
    """Take one SparseAdam step on ``param`` in place, at the entries of the sparse ``grad``; return None.

    ``state`` holds ``step`` (a plain int, as in torch, already counted for this step by the
    caller: torch counts it even when ``grad`` has no entries), ``exp_avg`` and ``exp_avg_sq``
    (dense). Only the entries ``i`` present in ``grad`` change. In this function's symbols::

        g = -grad if maximize else grad             # summed over repeated indices (coalesce)
        exp_avg[i]    = exp_avg[i]    + (1 - beta1) * (g[i] - exp_avg[i])
        exp_avg_sq[i] = exp_avg_sq[i] + (1 - beta2) * (g[i]**2 - exp_avg_sq[i])
        param[i] = param[i] - lr * sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
                              * exp_avg[i] / (sqrt(exp_avg_sq[i]) + eps)
    """
    grad = grad if not maximize else -grad
    grad = grad.coalesce()  # the update is non-linear, so repeated indices must be summed first
    grad_indices, grad_values = grad._indices(), grad._values()
    if grad_values.numel() == 0:
        return
    exp_avg, exp_avg_sq, step = state["exp_avg"], state["exp_avg_sq"], state["step"]

    def make_sparse(values):
        if grad_indices.dim() == 0 or values.dim() == 0:
            return grad.new().resize_as_(grad)
        return grad.new(grad_indices, values, grad.size())

    # old + (1 - b) * (new - old), computed on the gradient's entries only
    old_exp_avg_values = exp_avg.sparse_mask(grad)._values()
    exp_avg_update_values = grad_values.sub(old_exp_avg_values).mul_(1 - beta1)
    exp_avg.add_(make_sparse(exp_avg_update_values))
    old_exp_avg_sq_values = exp_avg_sq.sparse_mask(grad)._values()
    exp_avg_sq_update_values = grad_values.pow(2).sub_(old_exp_avg_sq_values).mul_(1 - beta2)
    exp_avg_sq.add_(make_sparse(exp_avg_sq_update_values))
    # torch rebuilds the new moments as update + old (not by reading them back): it rounds differently
    numer = exp_avg_update_values.add_(old_exp_avg_values)
    denom = exp_avg_sq_update_values.add_(old_exp_avg_sq_values).sqrt_().add_(eps)
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    step_size = lr * math.sqrt(bias_correction2) / bias_correction1
    param.add_(make_sparse(-step_size * numer.div_(denom)))


class SparseAdam(torch.optim.Optimizer):
    r"""SparseAdam: a masked Adam for sparse gradients, such as ``nn.Embedding(sparse=True)``'s.

    Exact to ``torch.optim.SparseAdam`` (same signature, defaults, state, errors and
    numbers; torch's has no performance flags). Dense gradients, sparse parameters and
    complex parameters are refused, with torch's errors.

    Update, at the entries ``i`` present in the gradient (see ``sparse_adam_update``)::

        exp_avg[i]    = beta1 * exp_avg[i] + (1 - beta1) * g[i]
        exp_avg_sq[i] = beta2 * exp_avg_sq[i] + (1 - beta2) * g[i]**2
        param[i]      = param[i] - lr * sqrt(1 - beta2**t) / (1 - beta1**t) * exp_avg[i] / (sqrt(exp_avg_sq[i]) + eps)

    Note where eps sits: Adam adds it to ``sqrt(exp_avg_sq) / sqrt(1 - beta2**t)``, SparseAdam
    to ``sqrt(exp_avg_sq)``, so the two differ even on a dense problem.

    Args:
        params: an iterable of dense tensors, of ``(name, tensor)`` pairs, or of dicts
            defining parameter groups.
        lr (float or 1-element Tensor): learning rate, above 0 (default: 1e-3).
        betas (tuple of two floats): decay rates of ``exp_avg`` and ``exp_avg_sq`` (default: (0.9, 0.999)).
        eps (float): added to the denominator, above 0 (default: 1e-8).
        maximize (bool): maximize the objective instead of minimizing it (default: False).

    State per parameter: ``step`` (a plain int, as in torch), ``exp_avg`` and ``exp_avg_sq``.

    Example:
        >>> import torch
        >>> emb = torch.nn.Embedding(4, 2, sparse=True)
        >>> opt = SparseAdam(emb.parameters(), lr=0.1)
        >>> before = emb.weight.detach().clone()
        >>> emb(torch.tensor([1, 3])).sum().backward()
        >>> opt.step()
        >>> (emb.weight.detach() != before).any(dim=1)     # only rows 1 and 3 moved
        tensor([False,  True, False,  True])

    References:
        Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", ICLR. https://arxiv.org/abs/1412.6980
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        # Same checks, same order, same comparisons as torch.optim.SparseAdam (so the same inputs fail).
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize})
        sparse_params, complex_params = [], []
        for index, group in enumerate(self.param_groups):
            for d_index, p in enumerate(group["params"]):
                if p.is_sparse:
                    sparse_params.append([index, d_index])
                if p.is_complex():
                    complex_params.append([index, d_index])
        if sparse_params:
            raise ValueError(f"Sparse params at indices {sparse_params}: SparseAdam requires dense parameter tensors")
        if complex_params:
            raise ValueError(
                f"Complex params at indices {complex_params}: SparseAdam does not support complex parameters"
            )

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a (sparse) gradient; return ``closure()``'s loss, or None.

        Args:
            closure (callable, optional): re-evaluates the model and returns the
                loss; it is called exactly once, with gradients enabled.
        """
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            params = [p for p in group["params"] if p.grad is not None]
            for p in params:  # as torch: check, create the state and count the step of every param first
                if not p.grad.is_sparse:
                    raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
            for p in params:
                sparse_adam_update(
                    p,
                    p.grad,
                    self.state[p],
                    lr=as_scalar(group["lr"]),
                    beta1=beta1,
                    beta2=beta2,
                    eps=group["eps"],
                    maximize=group.get("maximize", False),
                )
        return loss
