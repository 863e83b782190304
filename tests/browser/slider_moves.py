"""Move an explorer's slider with the keyboard, as a learner does, and wait for its plot to redraw.

:func:`move_slider` returns a :class:`SliderMove` (readouts, text and whether the plot's pixels
changed); :func:`settle` waits until an explorer has finished redrawing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

# A digest of the pixels an <img> shows, decoded: the same picture re-encoded counts as the
# same, and nothing around the image (a scroll position, a panel) can change it.
_IMAGE_DIGEST_JS = """
(img) => {
  if (!img.complete || !img.naturalWidth) return 'not loaded: ' + img.src.slice(0, 64);
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let h1 = 0x811c9dc5, h2 = 0;
  for (let i = 0; i < data.length; i++) {
    h1 = Math.imul(h1 ^ data[i], 16777619);
    h2 = (h2 + data[i] * (i % 251 + 1)) >>> 0;
  }
  return `${canvas.width}x${canvas.height}:${(h1 >>> 0).toString(16)}:${h2.toString(16)}`;
}
"""


def image_digest(locator) -> str:
    """Return a digest of the pixels the ``<img>`` behind ``locator`` shows."""
    return locator.evaluate(_IMAGE_DIGEST_JS)


@dataclass
class SliderMove:
    """What happened when a slider of an explorer was moved."""

    label: str
    keys: str
    readout_before: str
    readout_after: str
    text_before: str
    text_after: str
    plot_changed: bool
    seconds: float

    @property
    def text_changed(self) -> bool:
        """Whether the explorer's own text readout changed."""
        return self.text_after != self.text_before


def _wait_for(check, seconds: float, every: float = 0.25) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(every)


def move_slider(page, explorer, slider, plot, timeout: float) -> SliderMove:
    """Move ``slider`` with the keyboard, wait for the plot to change, then for it to settle.

    Focuses the handle and presses ArrowRight three times (ArrowLeft when the slider is at its
    maximum); if the plot has not changed after that, PageUp twice for a bigger move. Waits up
    to ``timeout`` seconds for the plot's pixels to change, then until neither the plot nor the
    text has changed for a second and a half: each key press is a separate update, and the
    first redraw is not the last.
    """
    labels = slider.locator(".widget-label")
    label = labels.first.inner_text().strip() if labels.count() else "?"
    handle = slider.locator(".noUi-handle").first
    readout_before = slider_readout(slider)
    text_before = explorer_text(explorer)
    plot_before = image_digest(plot)
    started = time.monotonic()
    pressed = []

    def press(key: str, times: int) -> None:
        handle.focus()
        for _ in range(times):
            page.keyboard.press(key)
        pressed.append(f"{key} x{times}")

    press("ArrowRight", 3)
    if not _wait_for(lambda: slider_readout(slider) != readout_before, 3.0):
        press("ArrowLeft", 6)  # it was at its maximum: go the other way
        _wait_for(lambda: slider_readout(slider) != readout_before, 3.0)
    plot_changed = _wait_for(lambda: image_digest(plot) != plot_before, timeout)
    if not plot_changed:
        press("PageUp", 2)
        plot_changed = _wait_for(lambda: image_digest(plot) != plot_before, timeout)
    seconds = time.monotonic() - started
    settle(explorer, plot, quiet=1.5, timeout=timeout)
    return SliderMove(
        label,
        ", ".join(pressed),
        readout_before,
        slider_readout(slider),
        text_before,
        explorer_text(explorer),
        plot_changed,
        seconds,
    )


def settle(explorer, plot, quiet: float, timeout: float) -> bool:
    """Wait until the plot and the explorer's text stay the same for ``quiet`` seconds."""

    def state():
        return image_digest(plot), explorer_text(explorer)

    deadline = time.monotonic() + timeout
    last, since = state(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = state()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return True
    return False


def slider_readout(slider) -> str:
    """Return what a slider shows as its value: the readout, else the handle's aria value."""
    readout = slider.locator(".widget-readout")
    if readout.count() and readout.first.is_visible():
        return readout.first.inner_text().strip()
    handle = slider.locator(".noUi-handle").first
    return handle.get_attribute("aria-valuetext") or handle.get_attribute("aria-valuenow") or ""


def explorer_text(explorer) -> str:
    """Return the explorer's own text (its readout, status lines), controls excluded."""
    return explorer.evaluate(
        "(el) => { const c = el.cloneNode(true);"
        " c.querySelectorAll('.widget-slider, .widget-dropdown, .widget-text, .widget-toggle-buttons,"
        " .widget-checkbox, .widget-button, .widget-label').forEach(s => s.remove());"
        " return (c.textContent || '').replace(/\\s+/g, ' ').trim(); }"
    )
