"""Schedule-free AdamW: no learning-rate schedule, and no horizon to choose in advance.

A cosine or linear-decay schedule needs the length of the run before it starts, and
the model is only good at the end of it. Defazio et al. (2024) replace the schedule by
*averaging*: the optimizer keeps two sequences,

- ``z``, the plain AdamW-style iterate, stepped with a constant learning rate, and
- ``x``, a running average of the ``z``'s (weighted by ``lr_max ** weight_lr_power``),

and evaluates the gradient at ``y``, an interpolation of the two (``beta1`` plays the
part of momentum). Only one of ``x`` and ``y`` is stored, in the parameter itself:
``y`` while training, ``x`` for evaluation. That is why the optimizer has
``train()`` and ``eval()``: they move the parameter between the two points, and must
be called with the model's.

``schedulefree_adamw_update`` below is the whole algorithm for one tensor; the
``AdamWScheduleFree`` class keeps the running weights per group.
"""

import torch

from ._base import evaluate_closure

__all__ = ["AdamWScheduleFree", "schedulefree_adamw_update"]


def schedulefree_adamw_update(y, grad, state, *, lr, ckp1, beta1, beta2, eps, weight_decay, k):
    """Take one schedule-free AdamW step on ``y`` (the parameter in train mode) in place; return None.

    ``state`` holds ``z`` and ``exp_avg_sq``, as the ``schedulefree`` package's
    ``AdamWScheduleFree``. ``k`` counts the steps before this one, ``ckp1`` is this step's
    weight in the average ``x``. In this function's symbols::

        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad
        u = grad / (sqrt(exp_avg_sq / (1 - beta2 ** (k + 1))) + eps) + weight_decay * y
        y = (1 - ckp1) * y + ckp1 * z + lr * (beta1 * (1 - ckp1) - 1) * u
        z = z - lr * u
    """
    z, exp_avg_sq = state["z"], state["exp_avg_sq"]
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = exp_avg_sq.div(1 - beta2 ** (k + 1)).sqrt_().add_(eps)
    update = grad.div(denom)  # out of place: p.grad stays the gradient (the package divides it in place)
    if weight_decay != 0:
        update.add_(y, alpha=weight_decay)  # decay evaluated at y, as in the package
    # y moves towards the new average x = (1 - ckp1) x + ckp1 z, plus its share of the z step
    y.lerp_(end=z, weight=ckp1)
    y.add_(update, alpha=lr * (beta1 * (1 - ckp1) - 1))
    z.sub_(update, alpha=lr)


class AdamWScheduleFree(torch.optim.Optimizer):
    r"""Schedule-free AdamW (Defazio et al., 2024), exact to ``schedulefree.AdamWScheduleFree``.

    Same signature (without ``foreach``), defaults, group keys (``k``, ``train_mode``,
    ``weight_sum``, ``lr_max``, ``scheduled_lr``) and state (``z``, ``exp_avg_sq``) as the
    ``schedulefree`` package's class. Call ``opt.train()`` before training and
    ``opt.eval()`` before evaluating or saving: the parameter holds ``y`` in train mode
    and the average ``x`` in eval mode.

    Per step ``k`` (from 0), with ``sched = min(1, (k + 1) / warmup_steps)``::

        lr     = group_lr * sched;   lr_max = max(lr_max, lr)
        weight = (k + 1) ** r * lr_max ** weight_lr_power;   ckp1 = weight / sum of weights
        then schedulefree_adamw_update(y, grad, state, ...)

    ``eval()``: ``x = y + (1 - 1 / beta1) * (z - y)``; ``train()``: ``y = x + (1 - beta1) * (z - x)``.

    Args:
        params: an iterable of tensors or of dicts defining parameter groups.
        lr (float): learning rate, constant after the warmup (default: 0.0025).
        betas (tuple of two floats): interpolation ``beta1`` and second-moment ``beta2``
            (default: (0.9, 0.999)).
        eps (float): added to the denominator (default: 1e-8).
        weight_decay (float): weight decay, added to the normalised gradient (default: 0).
        warmup_steps (int): steps of linear warmup (default: 0).
        r (float): polynomial weighting ``(k + 1) ** r`` of the average (default: 0).
        weight_lr_power (float): the average weighs each step by ``lr_max ** weight_lr_power``
            (default: 2.0).

    Reference: Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky (2024), "The Road Less
    Scheduled". https://arxiv.org/abs/2405.15682
    """

    def __init__(
        self,
        params,
        lr=0.0025,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        warmup_steps=0,
        r=0.0,
        weight_lr_power=2.0,
    ):
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "r": r,
            "k": 0,
            "warmup_steps": warmup_steps,
            "train_mode": False,
            "weight_sum": 0.0,
            "lr_max": -1.0,
            "scheduled_lr": 0.0,
            "weight_lr_power": weight_lr_power,
            "weight_decay": weight_decay,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def eval(self):
        """Put the average ``x`` into the parameters (for evaluation and checkpoints)."""
        for group in self.param_groups:
            if group["train_mode"]:
                beta1 = group["betas"][0]
                for p in group["params"]:
                    if "z" in self.state[p]:
                        p.lerp_(end=self.state[p]["z"], weight=1 - 1 / beta1)
                group["train_mode"] = False

    @torch.no_grad()
    def train(self):
        """Put the gradient point ``y`` into the parameters (before training steps)."""
        for group in self.param_groups:
            if not group["train_mode"]:
                beta1 = group["betas"][0]
                for p in group["params"]:
                    if "z" in self.state[p]:
                        p.lerp_(end=self.state[p]["z"], weight=1 - beta1)
                group["train_mode"] = True

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()``'s loss, or None.

        Raises the package's Exception when called in eval mode.
        """
        if not self.param_groups[0]["train_mode"]:
            # the package's exception type and message, so code written for it behaves the same
            raise Exception(
                "Optimizer was not in train mode when step is called. "  # noqa: TRY002
                "Please insert .train() and .eval() calls on the "
                "optimizer. See documentation for details."
            )
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            k = group["k"]
            beta1, beta2 = group["betas"]
            warmup_steps = group["warmup_steps"]
            sched = (k + 1) / warmup_steps if k < warmup_steps else 1.0
            lr = group["lr"] * sched
            group["scheduled_lr"] = lr
            lr_max = group["lr_max"] = max(lr, group["lr_max"])
            weight = ((k + 1) ** group["r"]) * (lr_max ** group["weight_lr_power"])
            weight_sum = group["weight_sum"] = group["weight_sum"] + weight
            ckp1 = weight / weight_sum if weight_sum != 0 else 0
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "z" not in state:
                    state["z"] = torch.clone(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                schedulefree_adamw_update(
                    p,
                    p.grad,
                    state,
                    lr=lr,
                    ckp1=ckp1,
                    beta1=beta1,
                    beta2=beta2,
                    eps=group["eps"],
                    weight_decay=group["weight_decay"],
                    k=k,
                )
            group["k"] = k + 1
        return loss
