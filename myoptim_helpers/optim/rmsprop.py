"""RMSprop: divide each gradient by the root mean square of its recent values.

Geoffrey Hinton proposed RMSprop in a lecture, never in a paper. It keeps a
running average of the squared gradient for every coordinate, ``square_avg``,
and steps along ``grad / sqrt(square_avg)``. A coordinate whose gradients are
large gets a small step and one whose gradients are small gets a large step:
the same idea as Adam's second moment, without Adam's first moment or bias
correction.

The options, in torch's words:

- ``alpha`` is how slowly ``square_avg`` forgets (0.99 averages over about 100 steps);
- ``centered`` also tracks the average gradient ``grad_avg`` and divides by the
  standard deviation ``sqrt(square_avg - grad_avg**2)`` instead of the root mean
  square (Graves, 2013);
- ``momentum`` accumulates the *normalised* step in a ``momentum_buffer``;
- ``eps`` is added *after* the square root (TensorFlow adds it inside).

``rmsprop_update`` below is the whole algorithm for one tensor; the ``RMSprop``
class only loops over parameters and creates the state on the first step.
"""

import torch

from ._base import (
    as_real,
    evaluate_closure,
    new_step,
    params_with_grad,
    read_hyperparameters,
    read_state,
    steps_as_tensors,
)

__all__ = ["RMSprop", "rmsprop_update"]


def rmsprop_update(param, grad, state, *, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    """Take one RMSprop step on ``param`` in place, updating ``state`` in place; return None.

    ``state`` holds ``step``, ``square_avg`` (and ``momentum_buffer`` if momentum > 0,
    ``grad_avg`` if centered), as in ``torch.optim.RMSprop``. In this function's symbols::

        step += 1                                    # counted, but not used by the update
        g = -grad if maximize else grad
        if weight_decay != 0:   g = g + weight_decay * param
        square_avg = alpha * square_avg + (1 - alpha) * g * g
        if centered:
            grad_avg = alpha * grad_avg + (1 - alpha) * g
            avg = sqrt(square_avg - grad_avg * grad_avg) + eps
        else:
            avg = sqrt(square_avg) + eps
        if momentum > 0:
            momentum_buffer = momentum * momentum_buffer + g / avg
            param = param - lr * momentum_buffer
        else:
            param = param - lr * g / avg
    """
    state["step"] += 1
    grad = -grad if maximize else grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)  # out of place: p.grad itself stays untouched
    # as torch: a complex tensor is updated as pairs of reals from here on (weight decay stays complex)
    param, grad, square_avg = map(as_real, (param, grad, state["square_avg"]))
    square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    if centered:
        grad_avg = as_real(state["grad_avg"])
        grad_avg.lerp_(grad, 1 - alpha)  # torch uses lerp here, unlike for square_avg
        avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
    else:
        avg = square_avg.sqrt()
    avg = avg.add_(eps)  # eps after the square root, as torch (TensorFlow puts it inside)
    if momentum > 0:
        buf = as_real(state["momentum_buffer"])
        buf.mul_(momentum).addcdiv_(grad, avg)
        param.add_(buf, alpha=-lr)
    else:
        param.addcdiv_(grad, avg, value=-lr)


class RMSprop(torch.optim.Optimizer):
    r"""RMSprop (Hinton), optionally centered (Graves) and with momentum.

    Exact to ``torch.optim.RMSprop`` (same defaults, state, errors and numbers), without
    the performance flags ``foreach``, ``capturable`` and ``differentiable``.

    Update, for each parameter ``param`` with gradient ``grad`` (see ``rmsprop_update``)::

        g          = -grad if maximize else grad
        g          = g + weight_decay * param                    (if weight_decay != 0)
        square_avg = alpha * square_avg + (1 - alpha) * g**2
        avg        = sqrt(square_avg) + eps                      (centered: sqrt(square_avg - grad_avg**2) + eps)
        buf        = momentum * buf + g / avg                    (if momentum > 0, else buf = g / avg)
        param      = param - lr * buf

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts
            defining parameter groups (each dict may override any hyperparameter).
        lr (float or 1-element Tensor): learning rate (default: 1e-2).
        alpha (float): smoothing constant of ``square_avg`` and ``grad_avg`` (default: 0.99).
        eps (float): added to the denominator after the square root (default: 1e-8).
        weight_decay (float): L2 penalty coefficient, added to the gradient (default: 0).
        momentum (float): momentum factor (default: 0).
        centered (bool): divide by an estimate of the gradient's standard deviation (default: False).
        maximize (bool): maximize the objective instead of minimizing it (default: False).
            Keyword-only here: torch accepts it positionally only after ``capturable``
            and ``foreach``, which this class does not have.

    State per parameter: ``step`` (a 0-dim float tensor on the CPU), ``square_avg``,
    ``momentum_buffer`` (if momentum > 0, starting at zero) and ``grad_avg`` (if centered).
    A complex parameter is updated as pairs of reals, as in torch; a sparse gradient
    raises torch's error.

    Example:
        >>> import torch
        >>> w = torch.tensor([1.0, -100.0], requires_grad=True)
        >>> opt = RMSprop([w], lr=0.01)
        >>> opt.zero_grad()
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w.detach()                      # first step: lr * g / sqrt(0.01 * g**2) = 10 * lr, either sign
        tensor([  0.9000, -99.9000])

    References:
        Hinton, Srivastava, Swersky, "Neural Networks for Machine Learning", lecture 6e (2012).
        https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf
        Graves (2013), "Generating Sequences With Recurrent Neural Networks" (centered). https://arxiv.org/abs/1308.0850
    """

    def __init__(
        self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *, maximize=False
    ):
        # Same checks, same order, same comparisons as torch.optim.RMSprop (so the same inputs fail).
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state):
        """Restore from a pickle or ``load_state_dict``, filling flags that old checkpoints lack."""
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
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
            params = []  # torch's order: each parameter's state, then the hyperparameters
            for p in params_with_grad(group, "RMSprop"):
                state = self.state[p]
                if len(state) == 0:  # lazy: state appears on a parameter's first gradient
                    state["step"] = new_step()
                    state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if group["momentum"] > 0:
                        state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if group["centered"]:
                        state["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                read_state(state, "square_avg", "step")
                read_state(state, *(["momentum_buffer"] if group["momentum"] > 0 else []))
                read_state(state, *(["grad_avg"] if group["centered"] else []))
                params.append(p)
            hyper = read_hyperparameters(
                group, ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")
            )
            for p in params:
                rmsprop_update(p, p.grad, self.state[p], **hyper)
        return loss
