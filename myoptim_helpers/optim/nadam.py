"""NAdam: Adam with Nesterov momentum.

Nesterov's trick in SGD is to take the gradient step from where momentum is
about to carry the parameters, not from where they are. Dozat (2016) carried
it into Adam: the step mixes the *current* gradient, weighted by this step's
momentum coefficient ``mu_t``, with the *next* step's momentum ``mu_{t+1}``
applied to ``exp_avg``. The first moment therefore looks one step ahead.

torch follows Dozat's *momentum schedule*: the momentum coefficient is not
``beta1`` but ``mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))``,
which starts near ``beta1 / 2`` and rises towards ``beta1``. Their running
product ``mu_product`` takes the place of Adam's ``beta1 ** t`` in the bias
correction, so it is kept in the state next to ``step``.

``nadam_update`` below is the whole algorithm for one tensor; the ``NAdam``
class only loops over parameters and creates the state on the first step.
"""

import torch

from ._base import evaluate_closure, new_step, params_with_grad, read_hyperparameters, read_state, step_dtype
from ._checks import check_adam_family
from ._real import real_views, state_as_tensors

__all__ = ["NAdam", "nadam_update"]


def nadam_update(
    param, grad, state, *, lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize
):
    """Take one NAdam step on ``param`` in place, updating ``state`` in place; return None.

    ``state`` holds ``step``, ``mu_product``, ``exp_avg`` and ``exp_avg_sq``, as in
    ``torch.optim.NAdam``. In this function's symbols::

        step += 1
        g = -grad if maximize else grad
        if weight_decay != 0:
            if decoupled_weight_decay:   param = param * (1 - lr * weight_decay)
            else:                        g = g + weight_decay * param
        mu      = beta1 * (1 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        mu_product = mu_product * mu
        exp_avg    = beta1 * exp_avg + (1 - beta1) * g
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
        denom = sqrt(exp_avg_sq / (1 - beta2 ** step)) + eps
        param = param - lr * (1 - mu) / (1 - mu_product) * g / denom
        param = param - lr * mu_next / (1 - mu_product * mu_next) * exp_avg / denom
    """
    grad = -grad if maximize else grad
    param, grad, exp_avg, exp_avg_sq = real_views(param, grad, state["exp_avg"], state["exp_avg_sq"])
    state["step"] += 1
    step = float(state["step"])
    bias_correction2 = 1 - beta2**step
    if weight_decay != 0:
        if decoupled_weight_decay:
            param.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(param, alpha=weight_decay)  # out of place: p.grad itself stays untouched
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
    # mu_product is a 0-dim float32 tensor (as torch keeps it): the product rounds at float32
    state["mu_product"] *= mu
    mu_product = float(state["mu_product"])
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    # torch divides by the bias correction *inside* the square root, then adds eps
    denom = exp_avg_sq.div(bias_correction2).sqrt().add_(eps)
    # two addcdiv_ calls in torch's order: the current gradient first, then the look-ahead momentum
    param.addcdiv_(grad, denom, value=(-lr * (1.0 - mu) / (1.0 - mu_product)))
    param.addcdiv_(exp_avg, denom, value=(-lr * mu_next) / (1.0 - mu_product * mu_next))


class NAdam(torch.optim.Optimizer):
    r"""NAdam (Dozat): Adam with Nesterov momentum and a momentum schedule.

    Exact to ``torch.optim.NAdam`` (same defaults, state, errors and numbers), without
    the performance flags ``foreach``, ``capturable`` and ``differentiable``.
    ``decoupled_weight_decay=True`` gives NAdamW. Complex parameters are updated as
    pairs of reals, as in torch.

    Update, for each parameter at step ``t`` (see ``nadam_update``)::

        mu_t       = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        exp_avg    = beta1 * exp_avg + (1 - beta1) * g
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g**2
        param      = param - lr * [(1 - mu_t) / (1 - prod mu_1..mu_t) * g
                                   + mu_{t+1} / (1 - prod mu_1..mu_{t+1}) * exp_avg]
                                 / (sqrt(exp_avg_sq / (1 - beta2**t)) + eps)

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts
            defining parameter groups.
        lr (float or 1-element Tensor): learning rate (default: 2e-3).
        betas (tuple of two floats): decay rates of ``exp_avg`` and ``exp_avg_sq`` (default: (0.9, 0.999)).
        eps (float): added to the denominator after the square root (default: 1e-8).
        weight_decay (float): weight decay coefficient (default: 0).
        momentum_decay (float): how fast ``mu_t`` rises towards ``beta1`` (default: 4e-3).
        decoupled_weight_decay (bool): shrink the parameter directly, as AdamW (default: False).
        maximize (bool): maximize the objective instead of minimizing it (default: False).

    State per parameter: ``step`` and ``mu_product`` (0-dim float tensors on the CPU),
    ``exp_avg`` and ``exp_avg_sq``.

    Example:
        >>> import torch
        >>> w = torch.tensor([1.0, -100.0], requires_grad=True)
        >>> opt = NAdam([w], lr=0.1)
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w.detach()                      # moved by lr * (1 + 0.1 * mu_2 / (1 - mu_1 * mu_2)) = 0.1056
        tensor([  0.8944, -99.8944])
        >>> opt.state[w]["mu_product"]      # mu_1 = 0.9 * (1 - 0.5 * 0.96 ** 0.004), a little above beta1 / 2
        tensor(0.4501)

    References:
        Dozat (2016), "Incorporating Nesterov Momentum into Adam", ICLR workshop.
        https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ
    """

    def __init__(
        self,
        params,
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        momentum_decay=4e-3,
        decoupled_weight_decay=False,
        *,
        maximize=False,
    ):
        # Same checks, same order, same comparisons as torch.optim.NAdam (so the same inputs fail).
        check_adam_family(lr, eps, betas, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state):
        """Restore from a pickle or ``load_state_dict``, filling flags that old checkpoints lack."""
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("maximize", False)
            group.setdefault("decoupled_weight_decay", False)
        state_as_tensors(self, "step", "mu_product")

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
            for p in params_with_grad(group, "NAdam"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = new_step()
                    state["mu_product"] = torch.tensor(1.0, dtype=step_dtype())
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                read_state(state, "exp_avg", "exp_avg_sq", "mu_product", "step")
                params.append(p)
            hyper = read_hyperparameters(
                group, ("lr", "weight_decay", "momentum_decay", "eps", "maximize", "decoupled_weight_decay")
            )
            for p in params:
                nadam_update(p, p.grad, self.state[p], beta1=beta1, beta2=beta2, **hyper)
        return loss
