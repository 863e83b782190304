"""What every explorer shares: controls in a row, a PNG picture, a readout, safe callbacks, counters.

The picture is rendered with matplotlib's Agg canvas into a figure the
explorer owns (pyplot never sees it) and shown in an ``ipywidgets.Image``,
which looks the same in ipywidgets 7 and 8 and in a static notebook. An
error inside a callback (e.g. torch rejecting a hyperparameter) is shown in
the readout and kept in ``.error`` instead of vanishing into the kernel log.
"""

from __future__ import annotations

import html
import io

import ipywidgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage

SLIDER_LAYOUT = {"width": "360px"}
SLIDER_STYLE = {"description_width": "90px"}


def png(canvas: FigureCanvasAgg) -> bytes:
    """Encode the canvas's current pixels as PNG (fast compression: the bytes go to the browser at once)."""
    rgba = np.asarray(canvas.buffer_rgba())
    buffer = io.BytesIO()
    PILImage.fromarray(rgba[..., :3]).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def fmt(value: float) -> str:
    """Return ``value`` with four significant digits, as every explorer's repr and readout show it."""
    # Four significant digits: enough for beta2 = 0.9999, short enough for the 110-character repr.
    return f"{value:.4g}"


class Explorer(ipywidgets.VBox):
    """Shared wiring: controls in a row, picture, readout; safe callbacks; counters."""

    def __init__(self, controls: dict[str, ipywidgets.Widget], figsize, dpi, key: str = ""):
        self.controls = controls
        self.image = ipywidgets.Image(format="png", layout={"max_width": "100%"})
        self.readout = ipywidgets.HTML()
        self.error: Exception | None = None
        self.runs = 0
        self.renders = 0
        self._figure = Figure(figsize=figsize, dpi=dpi)
        self._canvas = FigureCanvasAgg(self._figure)
        # One wrapping row: hidden controls leave no holes.
        panel = ipywidgets.HBox(list(controls.values()), layout={"flex_flow": "row wrap"})
        children = [panel, self.image, self.readout]
        if key:
            children.append(ipywidgets.HTML(key))
        super().__init__(children=children)
        for widget in controls.values():
            widget.observe(self._on_change, names="value")

    def _on_change(self, change) -> None:
        # A callback's exception would otherwise vanish into the kernel log:
        # show it where the learner is looking, and keep it for inspection.
        try:
            self.update()
        except Exception as error:  # noqa: BLE001 - shown in the readout, kept in .error
            self.error = error
            self.readout.value = (
                f'<span style="color:#b00020"><b>{html.escape(type(error).__name__)}:</b> '
                f"{html.escape(str(error))}</span>"
            )

    def update(self) -> None:  # pragma: no cover - overridden
        """Recompute what the controls' values need and redraw."""
        raise NotImplementedError

    def _show(self, visible: tuple[str, ...]) -> None:
        for name, widget in self.controls.items():
            widget.layout.display = None if name in visible else "none"
