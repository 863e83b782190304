"""ASGD: SGD with a decaying step size and a running average of the iterates.

Polyak & Juditsky (1992) proved that *averaging* the iterates of SGD,
``ax = mean(param_t0, ..., param_t)``, converges as fast as the best possible
method for a quadratic, even though each iterate keeps bouncing. torch's ASGD
follows Bottou's "averaged SGD" recipe:

- the step size decays as ``eta_t = lr / (1 + lambd * lr * t) ** alpha``;
- every step also shrinks the parameter by ``1 - lambd * eta`` (``lambd`` is
  a regularisation term, separate from ``weight_decay``);
- the average ``ax`` starts at step ``t0``: before it, ``mu = 1`` and ``ax``
  simply copies the parameter; after it, ``mu = 1 / (t - t0)`` makes ``ax``
  the running mean of the iterates since ``t0``.

The optimizer steps the parameter itself; the average is in
``optimizer.state[p]["ax"]``, and it is up to the user to evaluate or copy it.

``asgd_update`` below is the whole algorithm for one tensor; the ``ASGD``
class only loops over parameters and creates the state on the first step.
"""

import torch

from ._base import as_scalar, evaluate_closure, new_step, params_with_grad, read_hyperparameters, read_state, step_dtype
from ._real import real_views, state_as_tensors

__all__ = ["ASGD", "asgd_update"]


def asgd_update(param, grad, state, *, lr, lambd, alpha, t0, weight_decay, maximize):
    """Take one ASGD step on ``param`` in place, updating ``state`` in place; return None.

    ``state`` holds ``step``, ``eta``, ``mu`` (0-dim tensors) and ``ax``, as in
    ``torch.optim.ASGD``. In this function's symbols::

        step += 1
        g = -grad if maximize else grad
        if weight_decay != 0:   g = g + weight_decay * param
        param = param * (1 - lambd * eta) - eta * g       # with this step's eta
        ax    = ax + mu * (param - ax)    if mu != 1 else param
        eta   = lr / (1 + lambd * lr * step) ** alpha     # for the next step
        mu    = 1 / max(1, step - t0)
    """
    grad = -grad if maximize else grad
    param, grad, ax = real_views(param, grad, state["ax"])
    state["step"] += 1
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)  # out of place: p.grad itself stays untouched
    eta = float(state["eta"])
    param.mul_(1 - lambd * eta)
    param.add_(grad, alpha=-eta)
    if state["mu"].item() != 1:
        ax.add_(param.sub(ax).mul_(state["mu"]))
    else:
        ax.copy_(param)
    step = float(state["step"])
    # torch stores eta and mu through torch.as_tensor: a float is rounded to the state's dtype
    state["eta"].copy_(torch.as_tensor(lr / ((1 + lambd * lr * step) ** alpha)))
    state["mu"].copy_(torch.as_tensor(1 / max(1, step - t0)))


class ASGD(torch.optim.Optimizer):
    r"""ASGD: averaged stochastic gradient descent (Polyak & Juditsky; Bottou's schedule).

    Exact to ``torch.optim.ASGD`` (same defaults, state, errors and numbers), without
    the performance flags ``foreach``, ``capturable`` and ``differentiable``. Complex
    parameters are updated as pairs of reals, as in torch.

    Update, for each parameter at step ``t`` (see ``asgd_update``)::

        param = param * (1 - lambd * eta_t) - eta_t * g
        ax    = ax + mu_t * (param - ax)                    (the averaged iterate)
        eta   = lr / (1 + lambd * lr * t) ** alpha,   mu = 1 / max(1, t - t0)

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts
            defining parameter groups.
        lr (float or 1-element Tensor): learning rate (default: 1e-2).
        lambd (float): decay term of the step size, and the parameter shrinkage (default: 1e-4).
        alpha (float): power of the step-size decay (default: 0.75).
        t0 (float): the step at which averaging starts (default: 1e6).
        weight_decay (float): L2 penalty coefficient, added to the gradient (default: 0).
        maximize (bool): maximize the objective instead of minimizing it (default: False).
            Keyword-only here: in torch it follows ``foreach``, which this class does not take.

    State per parameter: ``step``, ``eta`` and ``mu`` (0-dim float tensors) and ``ax``.

    Example:
        >>> import torch
        >>> w = torch.tensor([1.0, -100.0], requires_grad=True)
        >>> opt = ASGD([w], lr=0.1, t0=0)
        >>> for _ in range(3):              # iterates 0.8, 0.64, 0.512 in the first coordinate
        ...     opt.zero_grad()
        ...     (w ** 2).sum().backward()
        ...     opt.step()
        >>> w.detach()
        tensor([  0.5120, -51.1984])
        >>> opt.state[w]["ax"]              # mu = 1 / (t - t0): ax copies step 2, then averages it with step 3
        tensor([  0.5760, -57.5984])

    References:
        Polyak & Juditsky (1992), "Acceleration of Stochastic Approximation by Averaging",
        SIAM J. Control and Optimization 30(4). https://doi.org/10.1137/0330046
        Bottou (2012), "Stochastic Gradient Descent Tricks", Neural Networks: Tricks of the Trade.
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, *, maximize=False):
        # Same checks, same order, same comparisons as torch.optim.ASGD (so the same inputs fail).
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state):
        """Restore from a pickle or ``load_state_dict``, filling flags that old checkpoints lack."""
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("maximize", False)
        state_as_tensors(self, "step", "eta", "mu")

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()``'s loss, or None.

        Args:
            closure (callable, optional): re-evaluates the model and returns the
                loss; it is called exactly once, with gradients enabled.
        """
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            # torch's order: each parameter's state (lr only to create it), then the hyperparameters
            params = []
            for p in params_with_grad(group, "ASGD"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = new_step()
                    # the first step size is the group's lr, copied (a later lr change does not reach it)
                    state["eta"] = torch.as_tensor(as_scalar(group["lr"]), dtype=step_dtype()).clone().detach()
                    state["mu"] = torch.ones((), dtype=step_dtype())
                    state["ax"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                read_state(state, "mu", "ax", "eta", "step")
                params.append(p)
            hyper = read_hyperparameters(group, ("lambd", "lr", "t0", "alpha", "weight_decay", "maximize"))
            for p in params:
                asgd_update(p, p.grad, self.state[p], **hyper)
        return loss
