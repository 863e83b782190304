"""The batch explorer: the digits network trained with one batch size and learning rate, with sliders."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets
import numpy as np
from matplotlib.ticker import MaxNLocator

from .. import problems
from ..training._arguments import check_lr, check_steps
from ._base import SLIDER_LAYOUT, SLIDER_STYLE, Explorer, fmt, menu, one_of, png

__all__ = ["BatchExplorer", "batch_explorer"]

# name -> (torch optimizer class, fixed keyword arguments)
_BATCH_OPTIMIZERS: dict[str, tuple[Callable, dict]] = {
    "SGD": ("SGD", {}),
    "SGD, momentum 0.9": ("SGD", {"momentum": 0.9}),
    "Adam": ("Adam", {}),
}
_BATCH_SIZES = [8, 16, 32, 64, 128, 256, 512, 1437]


class BatchExplorer(Explorer):
    """The digits network trained with one batch size and learning rate, redrawn as they move.

    Create it with :func:`batch_explorer`. ``sweep`` is the current one-copy
    :class:`~myoptim_helpers.minibatch.Sweep`; ``runs`` counts trainings and
    ``renders`` redraws.
    """

    def __init__(
        self,
        optimizer: str = "SGD",
        *,
        lr: float = 0.1,
        batch_size: int = 32,
        epochs: int = 3,
        figsize: tuple[float, float] = (10.0, 3.6),
        dpi: int = 72,
    ):
        from .. import minibatch  # noqa: F401 - imported here: the data loads only with an explorer

        one_of(optimizer, _BATCH_OPTIMIZERS, "optimizer")
        check_lr(lr)
        if batch_size not in _BATCH_SIZES:
            raise ValueError(f"batch_size must be one of {_BATCH_SIZES}, got {batch_size!r}")
        check_steps(epochs, "epochs")
        common = {"continuous_update": False, "layout": SLIDER_LAYOUT, "style": SLIDER_STYLE}
        controls = {
            "optimizer": menu(list(_BATCH_OPTIMIZERS), optimizer, "optimizer"),
            "lr": ipywidgets.FloatLogSlider(
                value=lr, base=10, min=-4, max=1, step=0.05, readout_format=".3g", description="learning rate", **common
            ),
            "batch_size": ipywidgets.SelectionSlider(
                options=_BATCH_SIZES, value=batch_size, description="batch size", **common
            ),
            "epochs": ipywidgets.IntSlider(value=epochs, min=1, max=max(6, epochs), description="epochs", **common),
        }
        super().__init__(controls, figsize, dpi)
        self._data = problems.digits()
        self.sweep = None
        self._key = None
        self._step_ax, self._epoch_ax = self._figure.subplots(1, 2)
        self._figure.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.9, wspace=0.25)
        self.update()

    def _settings(self) -> dict[str, Any]:
        return {name: widget.value for name, widget in self.controls.items()}

    def __repr__(self) -> str:
        """Return the explorer's settings in one short, deterministic line (a notebook's text output)."""
        c = self._settings()
        return (
            f"BatchExplorer(optimizer={c['optimizer']!r}, lr={fmt(c['lr'])}, batch_size={c['batch_size']}, "
            f"epochs={c['epochs']})"
        )

    def update(self) -> None:
        """Retrain if a setting changed, then redraw."""
        import torch

        from .. import minibatch

        settings = self._settings()
        key = tuple(sorted(settings.items()))
        if key != self._key:
            name, kwargs = _BATCH_OPTIMIZERS[settings["optimizer"]]
            self.sweep = minibatch.lr_sweep(
                problems.digits_mlp,
                getattr(torch.optim, name),
                self._data,
                [settings["lr"]],
                settings["epochs"],
                batch_size=settings["batch_size"],
                progress=False,
                **kwargs,
            )
            self._key = key
            self.runs += 1
            self._draw(settings)
        self.error = None
        self.readout.value = self._readout(settings)

    def _draw(self, settings: dict[str, Any]) -> None:
        sweep = self.sweep
        left, right = self._step_ax, self._epoch_ax
        left.clear()
        right.clear()
        steps = sweep.step_losses[0].numpy()
        per_epoch = len(steps) / sweep.epochs
        x = (np.arange(len(steps)) + 1) / per_epoch
        left.plot(x, steps, linewidth=0.8, color="C0", alpha=0.6, label="loss of each minibatch")
        left.plot(
            np.arange(sweep.epochs + 1), sweep.train_losses[0].numpy(), "o-", color="C1", label="whole training set"
        )
        left.set(
            yscale="log",
            xlabel="epoch",
            ylabel="loss (log scale)",
            title=f"{len(steps)} steps of batch {settings['batch_size']}",
        )
        left.legend(loc="upper right", fontsize="small")
        right.plot(
            np.arange(sweep.epochs + 1),
            100 * sweep.val_accuracy[0].numpy(),
            "o-",
            color="C2",
            label="validation accuracy",
        )
        right.set(
            ylim=(0, 100),
            xlabel="epoch",
            ylabel="validation accuracy (%)",
            title=f"{settings['optimizer']}, lr {fmt(settings['lr'])}",
        )
        right.legend(loc="lower right", fontsize="small")
        for ax in (left, right):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        self._canvas.draw()
        self.image.value = png(self._canvas)
        self.renders += 1

    def _readout(self, settings: dict[str, Any]) -> str:
        sweep = self.sweep
        steps = sweep.step_losses.shape[1]
        text = (
            f"<b>{html.escape(settings['optimizer'])}</b>, lr {fmt(settings['lr'])}, batch "
            f"{settings['batch_size']}: {steps} steps in {settings['epochs']} epoch"
            f"{'' if settings['epochs'] == 1 else 's'}"
        )
        if sweep.diverged_at[0] is not None:
            return text + (f' · <span style="color:#b00020"><b>diverged at step {sweep.diverged_at[0]}</b></span>')
        return (
            text + f" · training loss {float(sweep.final_train_loss[0]):.3g} · validation accuracy "
            f"{float(sweep.final_val_accuracy[0]):.1%}"
        )


def batch_explorer(optimizer: str = "SGD", *, lr: float = 0.1, batch_size: int = 32, epochs: int = 3) -> BatchExplorer:
    """Return a :class:`BatchExplorer`: the digits network trained with sliders for the batch size and the lr.

    ``optimizer`` is ``"SGD"``, ``"SGD, momentum 0.9"`` or ``"Adam"`` (torch's);
    ``batch_size`` one of 8, 16, 32, 64, 128, 256, 512 or 1437 (the whole
    training set). Each setting trains from the same initial weights.
    """
    return BatchExplorer(optimizer, lr=lr, batch_size=batch_size, epochs=epochs)
