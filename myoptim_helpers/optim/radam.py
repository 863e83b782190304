"""RAdam: Adam whose adaptive step is switched on only once it can be trusted.

In Adam's first steps ``exp_avg_sq`` is an average of very few squared
gradients, so the per-coordinate step size ``1 / sqrt(exp_avg_sq)`` has a huge
variance; this is why Adam usually needs a learning-rate warm-up. Liu et al.
(2020) computed that variance: with ``rho_inf = 2 / (1 - beta2) - 1``, the
*length of the approximated simple moving average* at step ``t`` is
``rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)``. While ``rho_t <= 5`` the
variance is not even finite, and RAdam takes a plain momentum (SGD) step.
After that it takes Adam's step times the *rectification term* ``r_t``,
which rises from 0 towards 1: a warm-up derived instead of tuned.

``radam_update`` below is the whole algorithm for one tensor; the ``RAdam``
class only loops over parameters and creates the state on the first step.
"""

import torch

from ._base import evaluate_closure, new_step, params_with_grad, read_hyperparameters, read_state, steps_as_tensors
from ._checks import check_adam_family
from ._real import real_views

__all__ = ["RAdam", "radam_update"]


def radam_update(param, grad, state, *, lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize):
    """Take one RAdam step on ``param`` in place, updating ``state`` in place; return None.

    ``state`` holds ``step``, ``exp_avg`` and ``exp_avg_sq``, as in ``torch.optim.RAdam``.
    In this function's symbols::

        step += 1
        g = -grad if maximize else grad
        if weight_decay != 0:
            if decoupled_weight_decay:   param = param * (1 - lr * weight_decay)
            else:                        g = g + weight_decay * param
        exp_avg    = beta1 * exp_avg + (1 - beta1) * g
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
        m_hat   = exp_avg / (1 - beta1 ** step)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t   = rho_inf - 2 * step * beta2 ** step / (1 - beta2 ** step)
        if rho_t > 5:
            r_t   = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
            param = param - lr * m_hat * sqrt(1 - beta2 ** step) / (sqrt(exp_avg_sq) + eps) * r_t
        else:
            param = param - lr * m_hat
    """
    grad = -grad if maximize else grad
    param, grad, exp_avg, exp_avg_sq = real_views(param, grad, state["exp_avg"], state["exp_avg_sq"])
    state["step"] += 1
    step = float(state["step"])
    if weight_decay != 0:
        if decoupled_weight_decay:
            param.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(param, alpha=weight_decay)  # out of place: p.grad itself stays untouched
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    bias_corrected_exp_avg = exp_avg / bias_correction1
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        adaptive_lr = (bias_correction2**0.5) / exp_avg_sq.sqrt().add_(eps)
        # torch multiplies in this order (m_hat * lr * adaptive_lr * rect); it rounds at float32
        param.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
    else:
        param.add_(bias_corrected_exp_avg * lr, alpha=-1.0)


class RAdam(torch.optim.Optimizer):
    r"""RAdam (Liu et al.): Adam with its adaptive step rectified while its variance is large.

    Exact to ``torch.optim.RAdam`` (same defaults, state, errors and numbers), without
    the performance flags ``foreach``, ``capturable`` and ``differentiable``.
    ``decoupled_weight_decay=True`` gives RAdamW. Complex parameters are updated as
    pairs of reals, as in torch.

    Update, for each parameter at step ``t`` (see ``radam_update``)::

        exp_avg    = beta1 * exp_avg + (1 - beta1) * g
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g**2
        rho_t      = rho_inf - 2 t beta2**t / (1 - beta2**t)          rho_inf = 2 / (1 - beta2) - 1
        param      = param - lr * exp_avg / (1 - beta1**t) * (r_t * sqrt(1 - beta2**t) / (sqrt(exp_avg_sq) + eps)
                                                              if rho_t > 5 else 1)

    With the default ``beta2 = 0.999`` the first 5 steps are plain momentum steps.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts
            defining parameter groups.
        lr (float or 1-element Tensor): learning rate (default: 1e-3).
        betas (tuple of two floats): decay rates of ``exp_avg`` and ``exp_avg_sq`` (default: (0.9, 0.999)).
        eps (float): added to the denominator after the square root (default: 1e-8).
        weight_decay (float): weight decay coefficient (default: 0).
        decoupled_weight_decay (bool): shrink the parameter directly, as AdamW (default: False).
        maximize (bool): maximize the objective instead of minimizing it (default: False).

    State per parameter: ``step`` (a 0-dim float tensor on the CPU), ``exp_avg`` and ``exp_avg_sq``.

    Example:
        >>> import torch
        >>> w = torch.tensor([1.0, -100.0], requires_grad=True)
        >>> opt = RAdam([w], lr=0.1)
        >>> (w ** 2).sum().backward()
        >>> opt.step()                      # step 1: rho_t = 1, a plain momentum step
        >>> w.detach()                      # 1 - 0.1 * 2 and -100 + 0.1 * 200
        tensor([  0.8000, -80.0000])

    References:
        Liu, Jiang, He, Chen, Liu, Gao & Han (2020), "On the Variance of the Adaptive
        Learning Rate and Beyond", ICLR. https://arxiv.org/abs/1908.03265
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        decoupled_weight_decay=False,
        *,
        maximize=False,
    ):
        # Same checks, same order, same comparisons as torch.optim.RAdam (so the same inputs fail).
        check_adam_family(lr, eps, betas, weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state):
        """Restore from a pickle or ``load_state_dict``, filling flags that old checkpoints lack."""
        super().__setstate__(state)
        for group in self.param_groups:
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
            for p in params_with_grad(group, "RAdam"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = new_step()
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                read_state(state, "exp_avg", "exp_avg_sq", "step")
                params.append(p)
            hyper = read_hyperparameters(group, ("lr", "weight_decay", "eps", "maximize", "decoupled_weight_decay"))
            for p in params:
                radam_update(p, p.grad, self.state[p], beta1=beta1, beta2=beta2, **hyper)
        return loss
