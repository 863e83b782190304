"""Stochastic gradient descent, the optimizer every other one is measured against.

Plain SGD moves each parameter a small step against its gradient::

    param = param - lr * grad

Everything else in this file is a refinement of that one line:

- **weight decay** adds ``weight_decay * param`` to the gradient, which is the
  gradient of the L2 penalty ``weight_decay / 2 * ||param||**2``;
- **momentum** replaces the gradient by a running sum of past gradients, the
  ``momentum_buffer``, so that steps keep going in directions where gradients
  agree and cancel where they flip sign (a ball rolling down a ravine);
- **Nesterov momentum** looks one step ahead along that buffer;
- **maximize** climbs instead of descending.

Two details of torch's SGD surprise people who learnt momentum from a paper:

1. torch puts ``lr`` *outside* the buffer (``buf = momentum * buf + grad``, then
   ``param -= lr * buf``). Sutskever et al. put it inside
   (``v = momentum * v + lr * grad``, then ``param -= v``). The two agree while
   ``lr`` is constant and differ as soon as a scheduler changes it.
2. The buffer starts at the first gradient, not at zero, so ``dampening`` is
   not applied on the first step.

``sgd_update`` below is the whole algorithm for one tensor; the ``SGD`` class
only loops over parameters and remembers each one's ``momentum_buffer``.
"""

import torch

from ._base import evaluate_closure, params_with_grad, read_hyperparameters

__all__ = ["SGD", "sgd_update"]


def sgd_update(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov, weight_decay, maximize):
    """Take one SGD step on ``param`` in place and return the new momentum buffer.

    Returns None when ``momentum == 0`` (no buffer is kept). In this function's symbols::

        g = -grad if maximize else grad
        if weight_decay != 0:   g = g + weight_decay * param
        if momentum != 0:
            if momentum_buffer is None:   momentum_buffer = g          # first step: no dampening
            else:   momentum_buffer = momentum * momentum_buffer + (1 - dampening) * g
            g = g + momentum * momentum_buffer   if nesterov   else momentum_buffer
        param = param - lr * g

    ``grad`` is never modified; an existing ``momentum_buffer`` is updated in place.
    """
    grad = -grad if maximize else grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)  # out of place: p.grad itself stays untouched
    if momentum != 0:
        if momentum_buffer is None:
            # torch starts the buffer at the first gradient, not at zero (a copy: grad may be p.grad)
            momentum_buffer = grad.detach().clone()
        else:
            momentum_buffer.mul_(momentum).add_(grad, alpha=1 - dampening)
        grad = grad.add(momentum_buffer, alpha=momentum) if nesterov else momentum_buffer
    param.add_(grad, alpha=-lr)
    return momentum_buffer


class SGD(torch.optim.Optimizer):
    r"""Stochastic gradient descent, optionally with momentum, Nesterov momentum and weight decay.

    Exact to ``torch.optim.SGD`` (same defaults, state, errors and numbers), without
    the performance flags ``foreach``, ``fused`` and ``differentiable``.

    Update, for each parameter ``param`` with gradient ``grad`` (see ``sgd_update``)::

        g     = -grad if maximize else grad
        g     = g + weight_decay * param                       (if weight_decay != 0)
        buf   = g  on the first step,  else  momentum * buf + (1 - dampening) * g
        g     = g + momentum * buf  if nesterov  else  buf     (if momentum != 0)
        param = param - lr * g

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts
            defining parameter groups (each dict may override any hyperparameter).
        lr (float or 1-element Tensor): learning rate (default: 1e-3).
        momentum (float): momentum factor (default: 0).
        dampening (float): dampening for momentum (default: 0).
        weight_decay (float or Tensor): L2 penalty coefficient, added to the gradient (default: 0).
        nesterov (bool): use Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0`` (default: False).
        maximize (bool): maximize the objective instead of minimizing it (default: False).

    State per parameter: ``momentum_buffer`` (only when ``momentum != 0``).

    Complex parameters and sparse gradients work as in torch; a sparse gradient keeps a
    sparse ``momentum_buffer`` and cannot be combined with ``weight_decay``.

    Example:
        >>> import torch
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (w ** 2).sum().backward()   # gradient 2 * w
        ...     opt.step()
        >>> w.detach()
        tensor([ 0.0620, -0.1240])
        >>> opt.state[w]["momentum_buffer"]
        tensor([ 3.9800, -7.9600])

    References:
        Sutskever, Martens, Dahl, Hinton (2013), "On the importance of initialization
        and momentum in deep learning", ICML. http://proceedings.mlr.press/v28/sutskever13.html
        (torch's variant keeps ``lr`` outside the buffer, see the module docstring).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False):
        # Same checks, same order, same comparisons as torch.optim.SGD (so the same inputs fail).
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def __setstate__(self, state):
        """Restore from a pickle or ``load_state_dict``, filling flags that old checkpoints lack."""
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()``'s loss, or None.

        Args:
            closure (callable, optional): re-evaluates the model and returns the
                loss; it is called exactly once, with gradients enabled.
        """
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            params = list(params_with_grad(group))  # sparse gradients are fine for SGD, as for torch's
            # torch keeps no state at all for SGD without momentum
            states = [self.state[p] if group["momentum"] != 0 else {} for p in params]
            # read in torch's order, so that a group loaded from another optimizer fails alike
            hyper = read_hyperparameters(group, ("weight_decay", "momentum", "lr", "dampening", "nesterov", "maximize"))
            for p, state in zip(params, states):
                buf = sgd_update(p, p.grad, state.get("momentum_buffer"), **hyper)
                if buf is not None:
                    state["momentum_buffer"] = buf
        return loss
