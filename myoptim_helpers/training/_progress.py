"""The progress bar of a long fit: a tqdm bar over epochs that appears only when it is wanted."""

from __future__ import annotations

import os
import time

# A fit whose projected duration exceeds this many seconds shows a progress bar
# when progress=None.
_AUTO_PROGRESS_SECONDS = 5.0
_AUTO_PROGRESS_DECIDE_AFTER = 1.0


class Progress:
    """A tqdm bar over epochs that appears only when it is wanted.

    ``progress=True`` shows it from the start and ``False`` never. With
    ``None`` the decision waits until a second has passed, then projects the
    total from the epochs after the first (the first pays one-off import and
    warm-up costs): runs shorter than a second never show a bar, and longer
    ones only when projected past ``_AUTO_PROGRESS_SECONDS``.
    """

    def __init__(self, progress: bool | None, epochs: int, label: str):
        self.epochs = epochs
        self.label = label
        self.started = time.perf_counter()
        self.first_epoch_done = None
        # TQDM_DISABLE=1 (set by the notebook build and `make test`) means no bar at all: the
        # automatic choice depends on the machine's speed, so a recorded output must not hold
        # one. tqdm.notebook, which tqdm.auto picks in a kernel, ignores the variable itself.
        if os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false"):
            progress = False
        self.decided = progress is not None
        self.bar = self._open(0) if progress else None

    def _open(self, initial: int):
        from tqdm.auto import tqdm  # imported only when a bar is shown

        # disable=False: the choice is made above (tqdm reads TQDM_DISABLE once, at its import)
        return tqdm(total=self.epochs, initial=initial, desc=self.label, unit="epoch", disable=False)

    def update(self, epoch: int, loss: float) -> None:
        """Record that ``epoch`` finished with training loss ``loss``."""
        if not self.decided:
            now = time.perf_counter()
            if epoch == 1:
                self.first_epoch_done = now
            elif now - self.started > _AUTO_PROGRESS_DECIDE_AFTER:
                self.decided = True
                per_epoch = (now - self.first_epoch_done) / (epoch - 1)
                projected = (now - self.started) + per_epoch * (self.epochs - epoch)
                if projected > _AUTO_PROGRESS_SECONDS and epoch < self.epochs:
                    self.bar = self._open(epoch - 1)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)

    def close(self) -> None:
        """Close the bar, if one was shown."""
        if self.bar is not None:
            self.bar.close()
