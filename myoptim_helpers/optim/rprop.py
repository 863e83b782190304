"""Rprop: each coordinate adapts its own step size from the signs of its gradients.

Riedmiller & Braun (1993) threw away the *size* of the gradient altogether.
Every coordinate keeps its own ``step_size``. When the gradient keeps its sign
from one step to the next, the step size grows by ``etaplus`` (1.2); when the
sign flips, we jumped over a minimum, so the step size shrinks by
``etaminus`` (0.5) and that coordinate makes no move this step. The parameter
moves by ``step_size * sign(g)``, and ``step_size`` stays within
``step_sizes = (min, max)``.

Rprop is meant for full-batch training: with minibatch noise the signs flip
at random and the step sizes collapse.

``rprop_update`` below is the whole algorithm for one tensor; the ``Rprop``
class only loops over parameters and creates the state on the first step.
"""

import torch

from ._base import as_scalar, evaluate_closure, new_step, params_with_grad, steps_as_tensors
from ._real import real_views

__all__ = ["Rprop", "rprop_update"]


def rprop_update(param, grad, state, *, etaminus, etaplus, step_size_min, step_size_max, maximize):
    """Take one Rprop step on ``param`` in place, updating ``state`` in place; return None.

    ``state`` holds ``step``, ``prev`` (the last gradient used) and ``step_size``, as in
    ``torch.optim.Rprop``; the learning rate only sets the initial ``step_size``.
    In this function's symbols::

        step += 1                                   # counted, but not used by the update
        g = -grad if maximize else grad
        factor    = etaplus if g * prev > 0 else etaminus if g * prev < 0 else 1
        step_size = clamp(step_size * factor, step_size_min, step_size_max)
        g         = 0 where the sign flipped (factor == etaminus)
        param     = param - sign(g) * step_size
        prev      = g
    """
    grad = -grad if maximize else grad
    state["step"] += 1
    param, grad, prev, step_size = real_views(param, grad, state["prev"], state["step_size"])
    sign = grad.mul(prev).sign()
    # torch writes the factors into the sign tensor in this order: an etaplus < 0 or etaminus > 1
    # would be overwritten by the later masks (the constructor forbids both)
    sign[sign.gt(0)] = etaplus
    sign[sign.lt(0)] = etaminus
    sign[sign.eq(0)] = 1
    step_size.mul_(sign).clamp_(step_size_min, step_size_max)
    grad = grad.clone(memory_format=torch.preserve_format)
    grad[sign.eq(etaminus)] = 0  # after a sign flip: no move now, and no sign to compare next step
    param.addcmul_(grad.sign(), step_size, value=-1)
    prev.copy_(grad)


class Rprop(torch.optim.Optimizer):
    r"""Rprop (Riedmiller & Braun): resilient backpropagation, a step size per coordinate.

    Exact to ``torch.optim.Rprop`` (same defaults, state, errors and numbers), without
    the performance flags ``foreach``, ``capturable`` and ``differentiable``. Complex
    parameters are updated as pairs of reals, as in torch.

    Update, for each coordinate (see ``rprop_update``)::

        step_size = clamp(step_size * (etaplus if g * prev > 0 else etaminus if g * prev < 0 else 1), *step_sizes)
        param     = param - step_size * sign(g)         (no move, and prev = 0, where the sign flipped)

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts
            defining parameter groups.
        lr (float or 1-element Tensor): the initial step size of every coordinate (default: 1e-2).
        etas (tuple of two floats): ``(etaminus, etaplus)``, the factors that shrink and grow
            the step size, ``0 < etaminus < 1 < etaplus`` (default: (0.5, 1.2)).
        step_sizes (tuple of two floats): the smallest and largest step size (default: (1e-6, 50)).
        maximize (bool): maximize the objective instead of minimizing it (default: False).

    State per parameter: ``step`` (a 0-dim float tensor on the CPU), ``prev`` and ``step_size``.

    Example:
        >>> import torch
        >>> w = torch.tensor([1.0, -100.0], requires_grad=True)
        >>> opt = Rprop([w], lr=0.1)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (w ** 2).sum().backward()
        ...     opt.step()
        >>> w.detach()                      # 0.1 + 0.12 + 0.144 in each coordinate
        tensor([  0.6360, -99.6360])
        >>> opt.state[w]["step_size"]
        tensor([0.1440, 0.1440])

    References:
        Riedmiller & Braun (1993), "A Direct Adaptive Method for Faster Backpropagation Learning:
        The RPROP Algorithm", IEEE International Conference on Neural Networks.
        https://doi.org/10.1109/ICNN.1993.298623
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, maximize=False):
        # Same checks, same order, same comparisons as torch.optim.Rprop (so the same inputs fail).
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "maximize": maximize}
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
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            for p in params_with_grad(group, "Rprop"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = new_step()
                    state["prev"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    # a complex coordinate is two real ones: both parts start at lr
                    lr = group["lr"]
                    initial = complex(lr, lr) if p.dtype.is_complex else as_scalar(lr)
                    state["step_size"] = torch.full_like(p.grad, initial)
                rprop_update(
                    p,
                    p.grad,
                    state,
                    etaminus=etaminus,
                    etaplus=etaplus,
                    step_size_min=step_size_min,
                    step_size_max=step_size_max,
                    maximize=group["maximize"],
                )
        return loss
