"""Schedulers made of schedulers: one after another (``SequentialLR``) or all at once (``ChainedScheduler``).

The parts may be ours or torch's, mixed: both are ``LRScheduler`` instances
and share torch's bookkeeping (``_initial_step``, ``_update_lr``).
"""

from __future__ import annotations

from bisect import bisect_right

from ._base import LRScheduler, group_values, is_reduce_lr_on_plateau, set_group_value

__all__ = ["SequentialLR", "ChainedScheduler"]


def _check_schedulers(name, optimizer, schedulers):
    """Raise torch's error for a scheduler without an optimizer, a ReduceLROnPlateau, or another optimizer's."""
    for i, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(f"{name} at index {i} should have `optimizer` as its attribute.")
        if is_reduce_lr_on_plateau(scheduler):
            raise ValueError(
                f"{name} does not support `ReduceLROnPlateau` scheduler as it "
                "requires additional kwargs to be specified when calling `step`, "
                f"but got one at index {i} in the given schedulers sequence."
            )
        if optimizer != scheduler.optimizer:
            raise ValueError(
                f"{name} expects all schedulers to belong to the same optimizer, but "
                f"got scheduler {scheduler.__class__.__name__} at index {i} has {scheduler.optimizer}, "
                f"which is different from {optimizer.__class__.__name__}."
            )


class _CompositeScheduler(LRScheduler):
    """The state_dict of a scheduler made of schedulers: its own state plus each part's ``state_dict()``."""

    def state_dict(self):
        """Return the state without the optimizer, with every sub-scheduler's own ``state_dict()``."""
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        """Restore the state and every sub-scheduler's state."""
        self.__dict__.update({key: value for key, value in state_dict.items() if key != "_schedulers"})
        for scheduler, saved in zip(self._schedulers, state_dict["_schedulers"]):
            scheduler.load_state_dict(saved)


class SequentialLR(_CompositeScheduler):
    """Run a list of schedulers one after another, switching at the milestone epochs.

    ``schedulers[i]`` drives the lr from ``milestones[i-1]`` up to ``milestones[i]``.
    At its milestone a scheduler starts afresh: its ``last_epoch`` becomes 0
    and the lr is its closed formula at epoch 0 (``base_lr`` for most), so the
    schedule does not continue from where the previous one left the lr.
    Build every scheduler on the same optimizer first; ``SequentialLR`` resets
    the lrs to ``initial_lr`` and undoes their constructors' steps.

    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> warmup = LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> decay = ExponentialLR(opt, gamma=0.5)
    >>> scheduler = SequentialLR(opt, schedulers=[warmup, decay], milestones=[3])
    >>> lrs = []
    >>> for epoch in range(6):
    ...     lrs.append(round(scheduler.get_last_lr()[0], 4))
    ...     opt.step()
    ...     scheduler.step()
    >>> lrs
    [0.25, 0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        name = self.__class__.__name__
        if len(schedulers) < 1:
            raise ValueError(f"{name} expects at least one scheduler, but got no scheduler.")
        _check_schedulers(name, optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more "
                f"than the number of milestone points, but got number of schedulers {len(schedulers)} and the "
                f"number of milestones to be equal to {len(milestones)}"
            )
        # As in torch, the base constructor is not called: the sub-schedulers do the work.
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer

        for group in optimizer.param_groups:
            set_group_value(group, "lr", group["initial_lr"])
        self.recursive_undo()
        # Only the scheduler in charge at epoch 0 takes its constructor's step again.
        first = bisect_right(self._milestones, 0)
        self._schedulers[first]._initial_step()
        self._last_lr = schedulers[first].get_last_lr()

    def recursive_undo(self, sched=None):
        """Take back the step each sub-scheduler's constructor took (``last_epoch -= 1``), nested ones too."""
        scheds = self if sched is None else sched
        if hasattr(scheds, "_schedulers"):
            for s in scheds._schedulers:
                self.recursive_undo(s)
        elif hasattr(scheds, "last_epoch"):
            scheds.last_epoch -= 1

    def step(self):
        """Advance one epoch: restart the next scheduler at its milestone, else step the current one."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)  # jump to epoch 0: the closed formula where there is one
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_CompositeScheduler):
    """Step several schedulers at once: each multiplies the lr the one before it left.

    lr(epoch) = base_lr * factor_1(epoch) * factor_2(epoch) * ...

    for chainable (recursive) schedulers such as ``ConstantLR``,
    ``ExponentialLR`` or ``MultiplicativeLR``; each ``step()`` steps them all,
    in order. ``optimizer`` defaults to the first scheduler's.

    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> warmup = ConstantLR(opt, factor=0.1, total_iters=2)
    >>> decay = ExponentialLR(opt, gamma=0.5)
    >>> scheduler = ChainedScheduler([warmup, decay], optimizer=opt)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(round(scheduler.get_last_lr()[0], 4))
    ...     opt.step()
    ...     scheduler.step()
    >>> lrs
    [0.1, 0.05, 0.25, 0.125, 0.0625]
    """

    def __init__(self, schedulers, optimizer=None):
        if len(schedulers) < 1:
            raise ValueError(
                f"{self.__class__.__name__} expects at least one scheduler to be chained, but got no scheduler."
            )
        optimizer = optimizer or schedulers[0].optimizer
        _check_schedulers(self.__class__.__name__, optimizer, schedulers)
        # As in torch, the base constructor is not called: the parts have taken their first step already.
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = group_values(self._schedulers[-1].optimizer, "lr")

    def step(self):
        """Step every scheduler, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = group_values(self._schedulers[-1].optimizer, "lr")
