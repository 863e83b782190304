"""Adam and AdamW: momentum plus a per-coordinate step size.

Adam keeps two running averages for every parameter:

- ``exp_avg``, the average gradient (momentum, the *first moment*), and
- ``exp_avg_sq``, the average *squared* gradient (the *second moment*).

It then steps along ``exp_avg / sqrt(exp_avg_sq)``. Dividing by the root mean
square of recent gradients gives every coordinate its own step size: a
coordinate with huge gradients takes the same size of step as one with tiny
gradients. Steep directions are tamed and flat ones sped up, which is why Adam
works out of the box on problems where plain SGD needs a carefully tuned ``lr``.

Both averages start at zero, so early on they are biased towards zero. Dividing
by ``1 - beta ** step`` (the *bias correction*) removes that bias exactly. The
second moment is the more biased of the two, so without the correction the
first steps would be too *large*, by ``(1 - beta1**t) / sqrt(1 - beta2**t)``:
about 3.2x at step 1 with the default betas.

**Adam vs AdamW.** With ``weight_decay``, Adam adds ``weight_decay * param`` to
the gradient (an L2 penalty), which then passes through the division by
``sqrt(exp_avg_sq)``: parameters with large gradients are barely decayed.
AdamW (``decoupled_weight_decay=True``) instead shrinks the parameter directly,
``param *= 1 - lr * weight_decay``, the same for every coordinate. Loshchilov and
Hutter showed this *decoupled* decay regularizes better; it is the default for
training transformers.

**AMSGrad** divides by the largest ``exp_avg_sq`` seen so far instead of the
current one, so a coordinate's step size can never grow back.

``adam_update`` below is the whole algorithm for one tensor; ``Adam`` and
``AdamW`` only loop over parameters and create the state on the first step.
"""

import torch

from ._base import (
    as_real,
    as_scalar,
    evaluate_closure,
    new_step,
    params_with_grad,
    read_hyperparameters,
    read_state,
    steps_as_tensors,
)

__all__ = ["Adam", "AdamW", "adam_update"]


def adam_update(param, grad, state, *, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay):
    """Take one Adam step on ``param`` in place, updating ``state`` in place; return None.

    ``state`` holds ``step``, ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq`` with amsgrad),
    as in ``torch.optim.Adam``'s ``optimizer.state[param]``. In this function's symbols::

        step += 1
        g = -grad if maximize else grad
        if weight_decay != 0:
            if decoupled_weight_decay:   param = param * (1 - lr * weight_decay)   # AdamW
            else:                        g = g + weight_decay * param              # Adam: L2 penalty
        exp_avg    = beta1 * exp_avg    + (1 - beta1) * g
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
        if amsgrad:   max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq)
        v = max_exp_avg_sq if amsgrad else exp_avg_sq
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        param = param - lr / bias_correction1 * exp_avg / (sqrt(v) / sqrt(bias_correction2) + eps)
    """
    state["step"] += 1
    grad = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(param, alpha=weight_decay)  # out of place: p.grad itself stays untouched
    # as torch: a complex tensor is updated as pairs of reals from here on (weight decay stays complex)
    param, grad, exp_avg, exp_avg_sq = map(as_real, (param, grad, state["exp_avg"], state["exp_avg_sq"]))
    # torch writes the first moment as a lerp (exp_avg + (1 - beta1) * (g - exp_avg)), which rounds
    # differently from beta1 * exp_avg + (1 - beta1) * g at float32; a tensor beta1 is cast to the
    # param's dtype first. The second moment is mul_ then addcmul_.
    exp_avg.lerp_(grad, 1 - (beta1.to(param.dtype) if torch.is_tensor(beta1) else beta1))
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

    step = float(state["step"])
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    step_size = lr / bias_correction1
    if amsgrad:
        v = as_real(state["max_exp_avg_sq"])
        torch.maximum(v, exp_avg_sq, out=v)
    else:
        v = exp_avg_sq
    # torch divides sqrt(v) by sqrt(bias_correction2) and only then adds eps: eps is not bias-corrected
    denom = (v.sqrt() / bias_correction2**0.5).add_(eps)
    param.addcdiv_(exp_avg, denom, value=-step_size)


class Adam(torch.optim.Optimizer):
    r"""Adam (Kingma & Ba), with optional AMSGrad and decoupled (AdamW) weight decay.

    Exact to ``torch.optim.Adam`` (same defaults, state, errors and numbers), without
    the performance flags ``foreach``, ``fused``, ``capturable`` and ``differentiable``.

    Update, for each parameter ``param`` with gradient ``grad`` at step ``t`` (see ``adam_update``)::

        g          = -grad if maximize else grad
        g          = g + weight_decay * param          (L2; or param *= 1 - lr * weight_decay if decoupled)
        exp_avg    = beta1 * exp_avg + (1 - beta1) * g
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g**2     (amsgrad: divide by its running max)
        param      = param - lr / (1 - beta1**t) * exp_avg / (sqrt(exp_avg_sq) / sqrt(1 - beta2**t) + eps)

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts
            defining parameter groups (each dict may override any hyperparameter).
        lr (float or 1-element Tensor): learning rate (default: 1e-3).
        betas (tuple of two floats, or of two 1-element Tensors): decay rates of
            ``exp_avg`` and ``exp_avg_sq`` (default: (0.9, 0.999)).
        eps (float): added to the denominator *after* the square root and the bias
            correction (default: 1e-8). Other libraries put it elsewhere.
        weight_decay (float): weight decay coefficient (default: 0).
        amsgrad (bool): use AMSGrad, the running max of ``exp_avg_sq`` (default: False).
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        decoupled_weight_decay (bool): shrink the parameter directly instead of adding
            an L2 term to the gradient; ``True`` makes this optimizer AdamW (default: False).

    State per parameter: ``step`` (a 0-dim float32 tensor on the CPU, float64 if that
    is the default dtype), ``exp_avg``, ``exp_avg_sq`` and, with amsgrad, ``max_exp_avg_sq``.
    A complex parameter is updated as pairs of reals, as in torch; a sparse gradient
    raises torch's error.

    Example:
        >>> import torch
        >>> w = torch.tensor([1.0, -100.0], requires_grad=True)
        >>> opt = Adam([w], lr=0.1)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (w ** 2).sum().backward()   # gradients 2 and -200: very different scales
        ...     opt.step()
        >>> w.detach()                      # yet both coordinates moved by about 3 * lr
        tensor([  0.7016, -99.7000])
        >>> opt.state[w]["step"]
        tensor(3.)

    References:
        Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", ICLR. https://arxiv.org/abs/1412.6980
        Reddi, Kale & Kumar (2018), "On the Convergence of Adam and Beyond", ICLR (AMSGrad).
        https://openreview.net/forum?id=ryQu7f-RZ
        Loshchilov & Hutter (2019), "Decoupled Weight Decay Regularization", ICLR. https://arxiv.org/abs/1711.05101
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        amsgrad=False,
        *,
        maximize=False,
        decoupled_weight_decay=False,
    ):
        # Same checks, same order, same comparisons as torch.optim.Adam (so the same inputs fail).
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not (
            (isinstance(betas[0], float) and isinstance(betas[1], float))
            or (isinstance(betas[0], torch.Tensor) and isinstance(betas[1], torch.Tensor))
        ):
            raise ValueError("betas must be either both floats or both Tensors")
        for i, beta in enumerate(betas):
            if isinstance(beta, torch.Tensor) and beta.numel() != 1:
                raise ValueError(f"Tensor betas[{i}] must be 1-element")
        defaults = {
            "lr": lr,
            "betas": tuple(as_scalar(beta) for beta in betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state):
        """Restore from a pickle or ``load_state_dict``, filling flags that old checkpoints lack."""
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("decoupled_weight_decay", False)
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
            # torch's order: betas, then each parameter's state, then the other hyperparameters
            beta1, beta2 = group["betas"]
            params = []
            for p in params_with_grad(group, "Adam", suggestion="SparseAdam"):  # AdamW's error says Adam too
                state = self.state[p]
                if len(state) == 0:  # lazy: state appears on a parameter's first gradient
                    state["step"] = new_step()
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                read_state(state, "exp_avg", "exp_avg_sq", *(["max_exp_avg_sq"] if group["amsgrad"] else []), "step")
                params.append(p)
            hyper = read_hyperparameters(
                group, ("amsgrad", "lr", "weight_decay", "eps", "maximize", "decoupled_weight_decay")
            )
            for p in params:
                adam_update(p, p.grad, self.state[p], beta1=beta1, beta2=beta2, **hyper)
        return loss


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay, ``Adam(..., decoupled_weight_decay=True)``.

    Exact to ``torch.optim.AdamW``. The only differences from ``Adam`` are where weight
    decay acts and its default, 1e-2 instead of 0::

        param      = param * (1 - lr * weight_decay)           (decay first, not through the gradient)
        exp_avg    = beta1 * exp_avg + (1 - beta1) * g
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g**2
        param      = param - lr / (1 - beta1**t) * exp_avg / (sqrt(exp_avg_sq) / sqrt(1 - beta2**t) + eps)

    Because the decay never enters ``exp_avg_sq``, every coordinate is shrunk by the same
    factor, however large its gradients are.

    Args:
        params, lr, betas, eps, amsgrad, maximize: as for ``Adam``.
        weight_decay (float): decoupled weight decay coefficient (default: 1e-2).

    Example:
        >>> import torch
        >>> w = torch.tensor([1.0, -100.0], requires_grad=True)
        >>> opt = AdamW([w], lr=0.1, weight_decay=0.1)
        >>> opt.zero_grad()
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w.detach()                      # each coordinate shrank by 1%, then moved by lr
        tensor([  0.8900, -98.9000])

    References:
        Loshchilov & Hutter (2019), "Decoupled Weight Decay Regularization", ICLR. https://arxiv.org/abs/1711.05101
    """

    def __init__(
        self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *, maximize=False
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True)

    def __setstate__(self, state):
        """Restore as ``Adam`` does, keeping ``decoupled_weight_decay=True`` whatever was saved (as torch)."""
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
