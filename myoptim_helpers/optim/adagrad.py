"""Adagrad: every coordinate's step shrinks with the sum of its squared gradients.

Adagrad (Duchi, Hazan & Singer, 2011) adds each squared gradient into a
per-coordinate ``sum`` that only ever grows, and steps along
``grad / sqrt(sum)``. Coordinates with frequent, large gradients slow down;
rare ones (think of the embedding of an unusual word) keep large steps. That
made it the optimizer of choice for sparse features.

Because ``sum`` never forgets, the effective step size keeps falling, and on
long runs Adagrad can stop learning. RMSprop and Adam fix exactly this by
replacing the sum with an exponential moving average.

Two things differ from the other optimizers here:

- torch creates the state (``step`` and ``sum``) for every parameter when the
  optimizer is *constructed*, not on the first step, so ``sum`` can start at
  ``initial_accumulator_value``;
- ``lr_decay`` divides the learning rate by ``1 + (step - 1) * lr_decay``.

``adagrad_update`` below is the whole algorithm for one tensor; the ``Adagrad``
class only loops over parameters.
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

__all__ = ["Adagrad", "adagrad_update"]


def adagrad_update(param, grad, state, *, lr, lr_decay, weight_decay, eps, maximize):
    """Take one Adagrad step on ``param`` in place, updating ``state`` in place; return None.

    ``state`` holds ``step`` and ``sum``, as in ``torch.optim.Adagrad``. In this function's symbols::

        step += 1
        g = -grad if maximize else grad
        if weight_decay != 0:   g = g + weight_decay * param
        clr = lr / (1 + (step - 1) * lr_decay)
        sum = sum + g * g
        param = param - clr * g / (sqrt(sum) + eps)

    A sparse ``grad`` changes only the entries of ``sum`` and ``param`` where it has values
    (and refuses weight_decay, as torch does).
    """
    state["step"] += 1
    step = float(state["step"])
    grad = -grad if maximize else grad
    if weight_decay != 0:
        if grad.is_sparse:
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        grad = grad.add(param, alpha=weight_decay)  # out of place: p.grad itself stays untouched
    clr = lr / (1 + (step - 1) * lr_decay)
    if grad.is_sparse:  # as torch: only the rows (entries) that have a gradient are touched
        grad = grad.coalesce()  # repeated indices summed first: the update is not linear in grad
        grad_sq = torch.sparse_coo_tensor(grad.indices(), grad.values().pow(2), grad.size())
        state["sum"].add_(grad_sq)
        std_values = state["sum"].sparse_mask(grad).values().sqrt_().add_(eps)
        param.add_(torch.sparse_coo_tensor(grad.indices(), grad.values() / std_values, grad.size()), alpha=-clr)
        return
    # as torch: a complex tensor is updated as pairs of reals (weight decay above stays complex)
    param, grad, state_sum = map(as_real, (param, grad, state["sum"]))
    state_sum.addcmul_(grad, grad, value=1)
    std = state_sum.sqrt().add_(eps)  # eps after the square root, as torch
    param.addcdiv_(grad, std, value=-clr)


class Adagrad(torch.optim.Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer), with learning-rate decay and weight decay.

    Exact to ``torch.optim.Adagrad`` (same defaults, state, errors and numbers), without
    the performance flags ``foreach``, ``fused`` and ``differentiable``.

    Update, for each parameter ``param`` with gradient ``grad`` at step ``t`` (see ``adagrad_update``)::

        g     = -grad if maximize else grad
        g     = g + weight_decay * param                (if weight_decay != 0)
        sum   = sum + g**2                              (sum starts at initial_accumulator_value)
        param = param - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts
            defining parameter groups (each dict may override any hyperparameter).
        lr (float or 1-element Tensor): learning rate (default: 1e-2).
        lr_decay (float): learning rate decay (default: 0).
        weight_decay (float): L2 penalty coefficient, added to the gradient (default: 0).
        initial_accumulator_value (float): starting value of ``sum`` (default: 0).
        eps (float): added to the denominator after the square root (default: 1e-10).
        maximize (bool): maximize the objective instead of minimizing it (default: False).

    State per parameter, created in ``__init__`` for every parameter: ``step`` (a 0-dim
    float tensor on the CPU) and ``sum``. A parameter added later with ``add_param_group``
    gets its state on its first step, starting from the *constructor's*
    ``initial_accumulator_value`` (as in torch).

    Sparse gradients update only the entries they touch (not with ``weight_decay``, as in
    torch); a complex parameter's ``sum`` keeps the real and imaginary parts apart.

    Example:
        >>> import torch
        >>> w = torch.tensor([1.0, -100.0], requires_grad=True)
        >>> opt = Adagrad([w], lr=0.5)
        >>> for _ in range(2):
        ...     opt.zero_grad()
        ...     (w ** 2).sum().backward()
        ...     opt.step()
        >>> w.detach()
        tensor([  0.2764, -99.1473])
        >>> opt.state[w]["sum"]
        tensor([5.0000e+00, 7.9601e+04])

    References:
        Duchi, Hazan & Singer (2011), "Adaptive Subgradient Methods for Online Learning and
        Stochastic Optimization", JMLR 12. http://jmlr.org/papers/v12/duchi11a.html
    """

    def __init__(
        self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, *, maximize=False
    ):
        # Same checks, same order, same comparisons as torch.optim.Adagrad (so the same inputs fail).
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "maximize": maximize,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    def _init_state(self, p):
        """Give ``p`` torch's initial Adagrad state: ``step`` 0 and ``sum`` full of the initial value."""
        state = self.state[p]
        state["step"] = new_step()
        # torch reads the constructor's value here, even for a group that sets its own
        initial = self.defaults["initial_accumulator_value"]
        if p.is_complex():  # both the real and the imaginary part start at the value
            initial = complex(initial, initial)
        state["sum"] = torch.full_like(p, initial, memory_format=torch.preserve_format)

    def __setstate__(self, state):
        """Restore from a pickle or ``load_state_dict``, filling flags that old checkpoints lack."""
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("maximize", False)
        steps_as_tensors(self)

    def share_memory(self):
        """Move every ``sum`` to shared memory (for Hogwild-style multiprocessing), as torch's Adagrad does."""
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["sum"].share_memory_()

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
            for p in params_with_grad(group):  # Adagrad takes sparse gradients, as torch's does
                state = self.state[p]
                if len(state) == 0:  # only for parameters added after construction
                    self._init_state(p)
                read_state(state, "sum", "step")
                params.append(p)
            hyper = read_hyperparameters(group, ("lr", "weight_decay", "lr_decay", "eps", "maximize"))
            for p in params:
                adagrad_update(p, p.grad, self.state[p], **hyper)
        return loss
