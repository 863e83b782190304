"""Adafactor: Adam's second moment in a fraction of the memory.

Adam keeps two extra numbers per parameter (``exp_avg`` and ``exp_avg_sq``):
for a large model the optimizer state is twice the size of the model.
Shazeer & Stern (2018) cut it to almost nothing:

- **no first moment** at all (torch's Adafactor has no momentum);
- for a matrix (and for the last two dimensions of any tensor of 2 or more
  dimensions) the second moment is *factored*: instead of the full ``n x m``
  average of ``g**2`` it keeps the row means ``row_var`` (``n x 1``) and the
  column means ``col_var`` (``1 x m``), and estimates the full matrix as
  ``row_var @ col_var / mean(row_var)``, the best rank-1 fit. That is
  ``n + m`` numbers instead of ``n * m``;
- vectors keep a full ``variance``, as Adam's ``exp_avg_sq``.

Three schedules replace Adam's constants: the decay ``1 - beta2_t = t ** beta2_decay``
(it averages over more and more steps), the step size ``rho_t = min(lr, 1 / sqrt(t))``
scaled by the parameter's root mean square (a *relative* step, ``alpha``), and the
update is clipped to a root mean square of at most ``d``.

``adafactor_update`` below is the whole algorithm for one tensor; the ``Adafactor``
class only loops over parameters and creates the state on the first step.
"""

import torch

from ._base import as_scalar, evaluate_closure, new_step, steps_as_tensors

__all__ = ["Adafactor", "adafactor_update"]


def adafactor_update(param, grad, state, *, lr, beta2_decay, eps1, eps2, d, weight_decay, maximize):
    """Take one Adafactor step on ``param`` in place, updating ``state`` in place; return None.

    ``state`` holds ``step`` and either ``row_var`` and ``col_var`` (a grad of 2+ dimensions)
    or ``variance`` (0 or 1 dimension), as in ``torch.optim.Adafactor``. ``eps1`` is a number
    here (the class resolves torch's default, None). In this function's symbols::

        step += 1
        g = -grad if maximize else grad
        beta2_hat = step ** beta2_decay                            # this step's weight 1 - beta2_t
        rho   = min(lr, 1 / sqrt(step))
        alpha = max(eps2, rms(param)) * rho                        # a step relative to the param's size
        if weight_decay != 0:   param = param * (1 - lr * weight_decay)
        if g has 2+ dims:
            row_var = row_var + beta2_hat * (mean(g * g, dim=-1) - row_var)
            col_var = col_var + beta2_hat * (mean(g * g, dim=-2) - col_var)
            v = row_var @ col_var / max(mean(row_var, dim=-2), eps1)
        else:
            variance = variance + beta2_hat * (g * g - variance);   v = variance
        u = g / sqrt(max(v, eps1 * eps1))
        param = param - alpha / max(1, rms(u) / d) * u
    """
    grad = -grad if maximize else grad
    state["step"] += 1
    step = state["step"].item()
    one_minus_beta2_t = step**beta2_decay
    rho_t = min(lr, 1 / (step**0.5))
    # the relative step size reads the parameter *before* the weight decay
    alpha = max(eps2, param.norm(2).item() / (param.numel() ** 0.5)) * rho_t
    if weight_decay != 0:
        param.mul_(1 - lr * weight_decay)
    if grad.dim() > 1:
        row_var, col_var = state["row_var"], state["col_var"]
        # torch takes the mean of g * g as norm(g)**2 / n, which rounds differently from (g * g).mean()
        row_var.lerp_(torch.norm(grad, dim=-1, keepdim=True).square_().div_(grad.size(-1)), one_minus_beta2_t)
        col_var.lerp_(torch.norm(grad, dim=-2, keepdim=True).square_().div_(grad.size(-2)), one_minus_beta2_t)
        var_estimate = row_var @ col_var
        var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
    else:
        state["variance"].lerp_(grad * grad, one_minus_beta2_t)
        var_estimate = state["variance"].clone()
    # eps1 is squared because the square root comes after the clamp
    update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_()
    update.mul_(grad)
    denom = max(1.0, update.norm(2).item() / ((update.numel() ** 0.5) * d))
    param.add_(update, alpha=-alpha / denom)


class Adafactor(torch.optim.Optimizer):
    r"""Adafactor (Shazeer & Stern): a factored second moment, relative steps, update clipping.

    Exact to ``torch.optim.Adafactor`` (same defaults, state, errors and numbers), without
    the performance flag ``foreach``. Like torch's, it has no first moment and refuses
    complex parameters and sparse gradients.

    Update, for each parameter at step ``t`` (see ``adafactor_update``)::

        v     = row_var @ col_var / mean(row_var)   (2+ dims: running means of g**2 over rows and columns)
              = variance                            (0 or 1 dim: the running mean of g**2)
              with weight t ** beta2_decay for the new g**2
        u     = g / sqrt(v)
        param = param - min(lr, 1/sqrt(t)) * max(eps2, rms(param)) * u / max(1, rms(u) / d)

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts
            defining parameter groups.
        lr (float or 1-element Tensor): the most the relative step size can be (default: 1e-2).
        beta2_decay (float): the decay of the second-moment weight, ``1 - beta2_t = t ** beta2_decay``,
            at most 0 (default: -0.8).
        eps (tuple of (float or None, float)): ``(eps1, eps2)``: eps1 keeps ``v`` away from 0
            (None: the machine epsilon of the parameter's dtype), eps2 is the smallest
            parameter scale (default: (None, 1e-3)).
        d (float): clipping threshold of the update's root mean square, at least 1 (default: 1.0).
        weight_decay (float): decoupled weight decay, as AdamW (default: 0.0).
        maximize (bool): maximize the objective instead of minimizing it (default: False).

    State per parameter: ``step`` (a 0-dim float tensor on the CPU) and either ``row_var``
    and ``col_var`` (shapes ``(..., n, 1)`` and ``(..., 1, m)``) or ``variance``.

    Example:
        >>> import torch
        >>> w = torch.ones(4, 3, requires_grad=True)
        >>> opt = Adafactor([w])
        >>> (w * torch.arange(12.0).view(4, 3)).sum().backward()
        >>> opt.step()
        >>> opt.state[w]["row_var"].shape, opt.state[w]["col_var"].shape   # 4 + 3 numbers, not 12
        (torch.Size([4, 1]), torch.Size([1, 3]))

    References:
        Shazeer & Stern (2018), "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost",
        ICML. https://arxiv.org/abs/1804.04235
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *, maximize=False):
        # Same checks, same order, same comparisons as torch.optim.Adafactor (so the same inputs fail).
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {
            "lr": lr,
            "beta2_decay": beta2_decay,
            "eps": eps,
            "d": d,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state):
        """Restore from a pickle or ``load_state_dict``, turning old plain-number steps into tensors."""
        super().__setstate__(state)
        steps_as_tensors(self)

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()``'s loss, or None.

        Args:
            closure (callable, optional): re-evaluates the model and returns the
                loss; it is called exactly once, with gradients enabled.
        """
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            for p in params:  # torch checks the whole group before it updates any parameter
                if torch.is_complex(p):
                    raise RuntimeError("Adafactor does not support complex parameters")
                if p.grad.is_sparse:
                    raise RuntimeError("Adafactor does not support sparse gradients")
            eps1, eps2 = group["eps"]
            if eps1 is None and params:
                # as torch: the default eps1 comes from the *first* parameter's dtype, for the whole group
                eps1 = torch.finfo(params[0].dtype).eps
            for p in params:
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = new_step()
                    if p.grad.dim() > 1:
                        state["row_var"] = p.grad.new_zeros((*p.grad.shape[:-1], 1))
                        state["col_var"] = p.grad.new_zeros((*p.grad.shape[:-2], 1, p.grad.shape[-1]))
                    else:
                        state["variance"] = torch.zeros_like(p.grad, memory_format=torch.preserve_format)
                adafactor_update(
                    p,
                    p.grad,
                    state,
                    lr=as_scalar(group["lr"]),
                    beta2_decay=group["beta2_decay"],
                    eps1=eps1,
                    eps2=eps2,
                    d=group["d"],
                    weight_decay=group["weight_decay"],
                    maximize=group["maximize"],
                )
        return loss
