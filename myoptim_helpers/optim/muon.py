"""Muon: momentum, orthogonalised, for the 2-D weights of hidden layers.

SGD with momentum steps along ``momentum_buffer``. For a weight matrix that
update is typically dominated by a few directions (its singular values span
orders of magnitude), so most directions barely learn. Muon (Jordan et al.,
2024) replaces the update by the nearest *orthogonal* matrix, the polar factor
``U V^T`` of its SVD ``U S V^T``: every singular value becomes 1, and every
direction the update spans moves by the same amount.

An SVD per step would be slow, so Muon runs a few steps of a quintic
**Newton-Schulz iteration**, ``X <- a X + b (X X^T) X + c (X X^T)^2 X``, on the
normalised update. Each step maps every singular value ``s`` to
``a s + b s^3 + c s^5``; the coefficients ``(3.4445, -4.7750, 2.0315)`` are
chosen for the steepest rise near 0, so after 5 steps every singular value
lies roughly in ``[0.7, 1.2]`` rather than exactly at 1, which trains as well.
torch runs the iteration in bfloat16, as the reference implementation does.

Muon is for 2-D parameters only; embeddings, biases, norms and the output
layer are trained with AdamW in a second optimizer. ``adjust_lr_fn`` scales
the learning rate with the matrix's shape: ``"original"`` by
``sqrt(max(1, rows / cols))`` (Jordan's), ``"match_rms_adamw"`` by
``0.2 * sqrt(max(rows, cols))`` (Moonshot's, which lets Muon reuse AdamW's lr
and weight decay).

``muon_update`` below is the whole algorithm for one tensor, with
``zeropower_via_newtonschulz`` and ``adjust_lr``; the ``Muon`` class only loops
over parameters and creates the state on the first step.
"""

import math

import torch

from ._base import as_scalar, evaluate_closure

__all__ = ["Muon", "adjust_lr", "muon_update", "zeropower_via_newtonschulz"]

EPS = 1e-7
DEFAULT_A = 3.4445
DEFAULT_B = -4.7750
DEFAULT_C = 2.0315
DEFAULT_NS_STEPS = 5


def zeropower_via_newtonschulz(grad, ns_coefficients, ns_steps, eps):
    """Return the Newton-Schulz approximation of the polar factor ``U V^T`` of 2-D ``grad``, in bfloat16.

    With ``X = grad / max(||grad||_F, eps)`` (transposed if it has more rows than
    columns, so that ``X X^T`` is the smaller Gram matrix), each of the ``ns_steps``
    steps is ``X = a X + (b A + c A A) X`` with ``A = X X^T``. Dividing by the
    Frobenius norm puts every singular value in ``[0, 1]``, where the iteration
    pushes them towards 1.
    """
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(grad.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    ortho_grad = grad.bfloat16()
    if grad.size(0) > grad.size(1):
        ortho_grad = ortho_grad.T
    ortho_grad.div_(ortho_grad.norm().clamp(min=eps))
    for _ in range(ns_steps):
        gram_matrix = ortho_grad @ ortho_grad.T
        # torch's two fused multiply-adds, in this order: b A + c A A, then a X + (...) X
        gram_update = torch.addmm(gram_matrix, gram_matrix, gram_matrix, beta=b, alpha=c)
        ortho_grad = torch.addmm(ortho_grad, gram_update, ortho_grad, beta=a)
    if grad.size(0) > grad.size(1):
        ortho_grad = ortho_grad.T
    return ortho_grad


def adjust_lr(lr, adjust_lr_fn, param_shape):
    """Return ``lr`` scaled for a ``(rows, cols)`` matrix: ``"original"`` (or None) or ``"match_rms_adamw"``."""
    rows, cols = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        adjusted_ratio = math.sqrt(max(1, rows / cols))
    elif adjust_lr_fn == "match_rms_adamw":
        adjusted_ratio = 0.2 * math.sqrt(max(rows, cols))
    else:
        adjusted_ratio = 1.0
    return lr * adjusted_ratio


def muon_update(
    param, grad, state, *, lr, weight_decay, momentum, nesterov, ns_coefficients, ns_steps, eps, adjust_lr_fn
):
    """Take one Muon step on the 2-D ``param`` in place, updating ``state`` in place; return None.

    ``state`` holds ``momentum_buffer``, as in ``torch.optim.Muon`` (there is no ``step``).
    In this function's symbols::

        momentum_buffer = momentum * momentum_buffer + (1 - momentum) * grad
        update = (1 - momentum) * grad + momentum * momentum_buffer   if nesterov
               = momentum_buffer                                      otherwise
        O      = NewtonSchulz(update)                  # about U V^T of update = U S V^T
        param  = param * (1 - lr * weight_decay)       # decoupled weight decay
        param  = param - adjust_lr(lr, adjust_lr_fn, shape) * O
    """
    if grad.ndim != 2:
        raise ValueError("Param gradient must be a 2D matrix")
    buf = state["momentum_buffer"]
    # torch's momentum is a lerp, an average (not SGD's buf * momentum + grad)
    buf.lerp_(grad, 1 - momentum)
    update = grad.lerp(buf, momentum) if nesterov else buf
    update = zeropower_via_newtonschulz(update, ns_coefficients, ns_steps, eps)
    adjusted_lr = adjust_lr(lr, adjust_lr_fn, param.shape)
    param.mul_(1 - lr * weight_decay)
    param.add_(update, alpha=-adjusted_lr)  # a bfloat16 update added to the param in its own dtype


class Muon(torch.optim.Optimizer):
    r"""Muon (Jordan et al.): SGD-momentum whose update is orthogonalised by Newton-Schulz.

    Exact to ``torch.optim.Muon`` (same signature, defaults, state, errors and numbers; torch's
    has no performance flags). Only 2-D parameters are accepted, as in torch: train the
    others (biases, norms, embeddings) with AdamW in a second optimizer. Complex
    parameters and sparse gradients are refused, as in torch.

    Update, for each matrix ``param`` (see ``muon_update``)::

        momentum_buffer = momentum * momentum_buffer + (1 - momentum) * grad
        O     = NewtonSchulz_{a,b,c}^{ns_steps}(nesterov ? lerp(grad, momentum_buffer, momentum) : momentum_buffer)
        param = param * (1 - lr * weight_decay) - adjust_lr(lr, shape) * O

    Args:
        params: an iterable of 2-D tensors, of ``(name, tensor)`` pairs, or of dicts
            defining parameter groups.
        lr (float or 1-element Tensor): learning rate (default: 1e-3).
        weight_decay (float): decoupled weight decay (default: 0.1).
        momentum (float): momentum factor (default: 0.95).
        nesterov (bool): step along the Nesterov look-ahead instead of the buffer (default: True).
        ns_coefficients (tuple of three floats): ``(a, b, c)`` of the quintic iteration
            (default: (3.4445, -4.7750, 2.0315)).
        eps (float): the smallest norm the update is divided by (default: 1e-7).
        ns_steps (int): Newton-Schulz steps, fewer than 100 (default: 5).
        adjust_lr_fn (str or None): ``"original"`` (also for None) or ``"match_rms_adamw"`` (default: None).

    State per parameter: ``momentum_buffer``.

    Example:
        >>> import torch
        >>> g = torch.tensor([[3.0, 0.0], [0.0, 0.1]])    # singular values 3 and 0.1
        >>> s = torch.linalg.svdvals(zeropower_via_newtonschulz(g, (DEFAULT_A, DEFAULT_B, DEFAULT_C), 5, EPS).float())
        >>> [round(v, 1) for v in s.tolist()]              # a 30x spread squeezed to about 1
        [1.1, 0.7]

    References:
        Jordan, Jin, Boza, You, Cesista, Newhouse & Bernstein (2024), "Muon: An optimizer for
        hidden layers in neural networks". https://kellerjordan.github.io/posts/muon/
        Liu et al. (2025), "Muon is Scalable for LLM Training" (match_rms_adamw).
        https://arxiv.org/abs/2502.16982
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        weight_decay=0.1,
        momentum=0.95,
        nesterov=True,
        ns_coefficients=(DEFAULT_A, DEFAULT_B, DEFAULT_C),
        eps=EPS,
        ns_steps=DEFAULT_NS_STEPS,
        adjust_lr_fn=None,
    ):
        # Same checks, same order, same comparisons as torch.optim.Muon (so the same inputs fail).
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {
            "lr": lr,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "nesterov": nesterov,
            "ns_coefficients": ns_coefficients,
            "eps": eps,
            "ns_steps": ns_steps,
            "adjust_lr_fn": adjust_lr_fn,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(
                        f"Muon only supports 2D parameters whereas we found a parameter with size: {p.size()}"
                    )

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
                    raise RuntimeError("Muon does not support complex parameters")
                if p.grad.is_sparse:
                    raise RuntimeError("Muon does not support sparse gradients")
                if "momentum_buffer" not in self.state[p]:
                    self.state[p]["momentum_buffer"] = torch.zeros_like(p.grad, memory_format=torch.preserve_format)
            for p in params:
                muon_update(
                    p,
                    p.grad,
                    self.state[p],
                    lr=as_scalar(group["lr"]),
                    weight_decay=group["weight_decay"],
                    momentum=group["momentum"],
                    nesterov=group["nesterov"],
                    ns_coefficients=group["ns_coefficients"],
                    ns_steps=group["ns_steps"],
                    eps=group["eps"],
                    adjust_lr_fn=group["adjust_lr_fn"],
                )
        return loss
