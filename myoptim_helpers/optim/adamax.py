"""Adamax: Adam with the infinity norm in place of the root mean square.

Adam divides by ``sqrt(exp_avg_sq)``, an exponentially weighted L2 norm of
past gradients. Kingma & Ba's paper also gives the limit ``p -> infinity`` of
an Lp version: the weighted *maximum* of past absolute gradients,
``exp_inf = max(beta2 * exp_inf, |g| + eps)``. It needs no bias correction
and no square root, and a single huge gradient cannot blow the step up: the
step of every coordinate is at most ``lr / (1 - beta1**t)``.

``adamax_update`` below is the whole algorithm for one tensor; the ``Adamax``
class only loops over parameters and creates the state on the first step.
"""

import torch

from ._base import evaluate_closure, new_step, params_with_grad, read_hyperparameters, read_state, steps_as_tensors
from ._checks import check_adam_family
from ._real import real_views

__all__ = ["Adamax", "adamax_update"]


def adamax_update(param, grad, state, *, lr, beta1, beta2, eps, weight_decay, maximize):
    """Take one Adamax step on ``param`` in place, updating ``state`` in place; return None.

    ``state`` holds ``step``, ``exp_avg`` and ``exp_inf``, as in ``torch.optim.Adamax``.
    In this function's symbols::

        step += 1
        g = -grad if maximize else grad
        if weight_decay != 0:   g = g + weight_decay * param
        exp_avg = beta1 * exp_avg + (1 - beta1) * g
        exp_inf = max(beta2 * exp_inf, |g| + eps)
        param   = param - lr / (1 - beta1 ** step) * exp_avg / exp_inf
    """
    grad = -grad if maximize else grad
    state["step"] += 1
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)  # out of place: p.grad itself stays untouched
    # torch takes the real views only after the weight decay
    param, grad, exp_avg, exp_inf = real_views(param, grad, state["exp_avg"], state["exp_inf"])
    exp_avg.lerp_(grad, 1 - beta1)
    # eps is added to |g| before the maximum (not to the denominator): exp_inf is never 0
    torch.maximum(exp_inf.mul_(beta2), grad.abs().add_(eps), out=exp_inf)
    clr = lr / (1 - beta1 ** float(state["step"]))
    param.addcdiv_(exp_avg, exp_inf, value=-clr)


class Adamax(torch.optim.Optimizer):
    r"""Adamax (Kingma & Ba): Adam with an exponentially weighted infinity norm.

    Exact to ``torch.optim.Adamax`` (same defaults, state, errors and numbers), without
    the performance flags ``foreach``, ``capturable`` and ``differentiable``. Complex
    parameters are updated as pairs of reals, as in torch.

    Update, for each parameter at step ``t`` (see ``adamax_update``)::

        exp_avg = beta1 * exp_avg + (1 - beta1) * g
        exp_inf = max(beta2 * exp_inf, |g| + eps)
        param   = param - lr / (1 - beta1**t) * exp_avg / exp_inf

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts
            defining parameter groups.
        lr (float or 1-element Tensor): learning rate (default: 2e-3).
        betas (tuple of two floats): decay rates of ``exp_avg`` and ``exp_inf`` (default: (0.9, 0.999)).
        eps (float): added to ``|g|`` before the maximum (default: 1e-8).
        weight_decay (float): L2 penalty coefficient, added to the gradient (default: 0).
        maximize (bool): maximize the objective instead of minimizing it (default: False).

    State per parameter: ``step`` (a 0-dim float tensor on the CPU), ``exp_avg`` and ``exp_inf``.

    Example:
        >>> import torch
        >>> w = torch.tensor([1.0, -100.0], requires_grad=True)
        >>> opt = Adamax([w], lr=0.1)
        >>> (w ** 2).sum().backward()
        >>> opt.step()                      # the first step is lr * sign(g)
        >>> w.detach()
        tensor([  0.9000, -99.9000])

    References:
        Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization", ICLR, section 7.1.
        https://arxiv.org/abs/1412.6980
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *, maximize=False):
        # Same checks, same order, same comparisons as torch.optim.Adamax (so the same inputs fail).
        check_adam_family(lr, eps, betas, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        """Restore from a pickle or ``load_state_dict``, filling flags that old checkpoints lack."""
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("maximize", False)
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
            # torch's order: all hyperparameters first, then each parameter's state
            beta1, beta2 = group["betas"]
            hyper = read_hyperparameters(group, ("eps", "lr", "weight_decay", "maximize"))
            params = []
            for p in params_with_grad(group, "Adamax"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = new_step()
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_inf"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                read_state(state, "exp_avg", "exp_inf", "step")
                params.append(p)
            for p in params:
                adamax_update(p, p.grad, self.state[p], beta1=beta1, beta2=beta2, **hyper)
        return loss
