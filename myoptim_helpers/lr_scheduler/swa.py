"""``SWALR`` (torch's ``torch.optim.swa_utils.SWALR``): anneal to the constant lr of stochastic weight averaging."""

from __future__ import annotations

import math

from ._base import LRScheduler, per_group, warn_if_outside_step

__all__ = ["SWALR"]


class SWALR(LRScheduler):
    """Anneal each group's lr from where it is to ``swa_lr`` in ``anneal_epochs`` epochs, then hold it.

    lr_t = swa_lr * alpha(t) + lr_start * (1 - alpha(t)),  t = min(1, step / anneal_epochs)

    with alpha(t) = (1 - cos(pi * t)) / 2 ("cos") or t ("linear"), and
    lr_start the lr when ``SWALR`` took over. Torch does not keep lr_start: each
    step recovers it from the current lr and the previous alpha,
    ``(lr - alpha_prev * swa_lr) / (1 - alpha_prev)``, so another scheduler
    may have moved the lr before. Used late in training next to
    ``torch.optim.swa_utils.AveragedModel``. Izmailov et al.,
    https://arxiv.org/abs/1803.05407

    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = SWALR(opt, swa_lr=0.2, anneal_epochs=4, anneal_strategy="linear")
    >>> lrs = []
    >>> for epoch in range(6):
    ...     lrs.append(round(scheduler.get_last_lr()[0], 4))
    ...     opt.step()
    ...     scheduler.step()
    >>> lrs
    [1.0, 0.8, 0.6, 0.4, 0.2, 0.2]
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        swa_lrs = per_group("swa_lr", optimizer, swa_lr)
        for group_swa_lr, group in zip(swa_lrs, optimizer.param_groups, strict=True):
            group["swa_lr"] = group_swa_lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        # Undo the previous step's mix: lr = swa_lr * alpha + lr_start * (1 - alpha).
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        """Return every group's lr one anneal step further towards its ``swa_lr``."""
        warn_if_outside_step(self)
        # SWALR counts its own steps (_step_count), not last_epoch: step 0 is the constructor's.
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [
            self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha) for group in self.optimizer.param_groups
        ]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [
            group["swa_lr"] * alpha + lr * (1 - alpha)
            for group, lr in zip(self.optimizer.param_groups, prev_lrs, strict=True)
        ]

    def _set_anneal_func(self, anneal_strategy):
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def state_dict(self):
        """Return the state without the optimizer and the anneal function (rebuilt from the strategy on load)."""
        return {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict):
        """Restore the state returned by ``state_dict()``."""
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
