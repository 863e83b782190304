"""Adadelta: RMSprop whose step has the units of the parameter.

Zeiler (2012) noticed that in ``lr * g / sqrt(E[g^2])`` the units do not
match: if the parameter is in metres, the step has no unit at all. Adadelta
multiplies by the root mean square of the *past updates* instead,
``delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g``, so the step
is in the parameter's units and, in the paper, needs no learning rate.
torch still multiplies by ``lr`` (default 1.0, which is the paper's method).

The state holds both averages: ``square_avg`` of squared gradients and
``acc_delta`` of squared updates, each decayed by ``rho``.

``adadelta_update`` below is the whole algorithm for one tensor; the
``Adadelta`` class only loops over parameters and creates the state on the
first step.
"""

import torch

from ._base import evaluate_closure, new_step, params_with_grad, read_hyperparameters, read_state, steps_as_tensors
from ._real import real_views

__all__ = ["Adadelta", "adadelta_update"]


def adadelta_update(param, grad, state, *, lr, rho, eps, weight_decay, maximize):
    """Take one Adadelta step on ``param`` in place, updating ``state`` in place; return None.

    ``state`` holds ``step``, ``square_avg`` and ``acc_delta``, as in ``torch.optim.Adadelta``.
    In this function's symbols::

        step += 1                                   # counted, but not used by the update
        g = -grad if maximize else grad
        if weight_decay != 0:   g = g + weight_decay * param
        square_avg = rho * square_avg + (1 - rho) * g * g
        delta      = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
        acc_delta  = rho * acc_delta + (1 - rho) * delta * delta
        param      = param - lr * delta
    """
    state["step"] += 1
    grad = -grad if maximize else grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)  # out of place: p.grad itself stays untouched
    # torch views the state and the gradient as reals, but not the parameter: delta is viewed back
    grad, square_avg, acc_delta = real_views(grad, state["square_avg"], state["acc_delta"])
    square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
    std = square_avg.add(eps).sqrt_()
    # the old acc_delta enters the step; only then is it updated with this step's delta
    delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad)
    acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
    if torch.is_complex(param):
        delta = torch.view_as_complex(delta)
    param.add_(delta, alpha=-lr)


class Adadelta(torch.optim.Optimizer):
    r"""Adadelta (Zeiler): RMSprop scaled by the root mean square of past updates.

    Exact to ``torch.optim.Adadelta`` (same defaults, state, errors and numbers), without
    the performance flags ``foreach``, ``capturable`` and ``differentiable``. Complex
    parameters are updated as pairs of reals, as in torch.

    Update, for each parameter (see ``adadelta_update``)::

        square_avg = rho * square_avg + (1 - rho) * g**2
        delta      = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
        acc_delta  = rho * acc_delta + (1 - rho) * delta**2
        param      = param - lr * delta

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts
            defining parameter groups.
        lr (float or 1-element Tensor): scales ``delta`` (default: 1.0, the paper's method).
        rho (float): decay rate of both running averages (default: 0.9).
        eps (float): added inside both square roots (default: 1e-6); it also sets the
            size of the very first steps, since ``acc_delta`` starts at 0.
        weight_decay (float): L2 penalty coefficient, added to the gradient (default: 0).
        maximize (bool): maximize the objective instead of minimizing it (default: False).

    State per parameter: ``step`` (a 0-dim float tensor on the CPU), ``square_avg`` and ``acc_delta``.

    Example:
        >>> import torch
        >>> w = torch.tensor([1.0, -100.0], requires_grad=True)
        >>> opt = Adadelta([w])
        >>> (w ** 2).sum().backward()
        >>> opt.step()                      # first step about sqrt(eps / (1 - rho)) * sign(g)
        >>> w.detach()
        tensor([  0.9968, -99.9968])

    References:
        Zeiler (2012), "ADADELTA: An Adaptive Learning Rate Method". https://arxiv.org/abs/1212.5701
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False):
        # Same checks, same order, same comparisons as torch.optim.Adadelta (so the same inputs fail).
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay, "maximize": maximize}
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
            hyper = read_hyperparameters(group, ("lr", "rho", "eps", "weight_decay", "maximize"))
            params = []
            for p in params_with_grad(group, "Adadelta"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = new_step()
                    state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["acc_delta"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                read_state(state, "square_avg", "acc_delta", "step")
                params.append(p)
            for p in params:
                adadelta_update(p, p.grad, self.state[p], **hyper)
        return loss
