"""What every explorer shares: controls in a row, a PNG picture, a readout, safe callbacks, counters,
and a static view for renderers that run no widgets.

The picture is rendered with matplotlib's Agg canvas into a figure the
explorer owns (pyplot never sees it) and shown in an ``ipywidgets.Image``,
which looks the same in ipywidgets 7 and 8 and in a static notebook. An
error inside a callback (e.g. torch rejecting a hyperparameter) is shown in
the readout and kept in ``.error`` instead of vanishing into the kernel log.

A widget's display bundle holds only a reference to its model and a one-line
``text/plain`` repr, so GitHub and nbviewer (which run no widgets) would show
that line alone. :class:`StaticView` adds a static view to the bundle; live
front-ends still show the widget: JupyterLab (and Notebook 7, built on it)
ranks the widget renderer first (-10, before text/html at 50 and image/png at
90) for every output it trusts, which includes every output of a cell run in
this session. An untrusted stored output gets its best *safe* mimetype, which
is now the static view instead of the one line.
"""

from __future__ import annotations

import html
import io
import re
import textwrap

import ipywidgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage

SLIDER_LAYOUT = {"width": "360px"}
SLIDER_STYLE = {"description_width": "90px"}


def one_of(value, options, what: str) -> None:
    """Stop with a clear message if ``value`` is not one of a menu's ``options``."""
    if value not in options:
        valid = ", ".join(repr(n) for n in options)
        raise ValueError(f"Unknown {what} {value!r}; choose one of {valid}")


def menu(options, value, description: str) -> ipywidgets.Dropdown:
    """A drop-down menu laid out like the sliders (``options``: names, or (label, name) pairs)."""
    return ipywidgets.Dropdown(
        options=list(options), value=value, description=description, layout=SLIDER_LAYOUT, style=SLIDER_STYLE
    )


def png(canvas: FigureCanvasAgg) -> bytes:
    """Encode the canvas's current pixels as PNG (fast compression: the bytes go to the browser at once)."""
    rgba = np.asarray(canvas.buffer_rgba())
    buffer = io.BytesIO()
    PILImage.fromarray(rgba[..., :3]).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def html_to_text(markup: str) -> list[str]:
    """Return the lines of a readout's HTML as plain text (``<br>`` ends a line, tags are dropped)."""
    lines = re.split(r"<br\s*/?>", markup)
    return [html.unescape(re.sub(r"<[^>]+>", "", line)).strip() for line in lines if line.strip()]


class StaticView:
    """Mixin for an ipywidgets widget: adds :meth:`_static_bundle` to the widget's display bundle.

    ``text/plain`` stays the widget's repr. ipywidgets 7 publishes its bundle from
    ``_ipython_display_`` instead of ``_repr_mimebundle_`` and so keeps its plain bundle;
    the committed notebooks are built with ipywidgets 8.
    """

    def _static_bundle(self) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs):
        base = getattr(super(), "_repr_mimebundle_", None)
        data = base(**kwargs) if base is not None else None
        if data is not None:  # None for a widget without a view
            data.update(self._static_bundle())
        return data


def fmt(value: float) -> str:
    """Return ``value`` with four significant digits, as every explorer's repr and readout show it."""
    # Four significant digits: enough for beta2 = 0.9999, short enough for the 110-character repr.
    return f"{value:.4g}"


class Explorer(StaticView, ipywidgets.VBox):
    """Shared wiring: controls in a row, picture, readout; safe callbacks; counters; a static view.

    The static view is one ``image/png``: the current picture with a caption under it (the
    controls and their values, then the readout's text). A text/html view would be of no use
    next to it: static renderers pick one mimetype per output and rank text/html before
    image/png, and GitHub drops images embedded in HTML.
    """

    CAPTION_FONTSIZE = 11

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
        self.legend = ipywidgets.HTML(key) if key else None  # e.g. what the markers mean
        if key:
            children.append(self.legend)
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

    def _static_bundle(self) -> dict:
        # No picture yet (never the case after construction): a static renderer shows the repr.
        return {"image/png": self.static_png()} if self.image.value else {}

    def caption(self) -> list[str]:
        """The static view's caption: where the explorer is live and its shown controls, then the readout."""
        settings = []
        for name, widget in self.controls.items():
            if widget.layout.display == "none":
                continue
            value = widget.value
            shown = fmt(value) if isinstance(value, float) else str(value)
            settings.append(f"{widget.description or name} {shown}")
        legend = html_to_text(self.legend.value) if self.legend is not None else []
        return ["Interactive in JupyterLab/Colab: " + " · ".join(settings), *html_to_text(self.readout.value), *legend]

    def static_png(self) -> bytes:
        """Return the current picture with :meth:`caption` under it, as PNG (what a static renderer shows)."""
        picture = np.asarray(PILImage.open(io.BytesIO(bytes(self.image.value))).convert("RGB"))
        dpi = self._figure.dpi
        width = picture.shape[1] / dpi  # inches
        # DejaVu Sans is about 0.55 em wide per character; 0.58 wraps safely before the right edge.
        per_line = max(20, int(width * 72 / (self.CAPTION_FONTSIZE * 0.58)))
        lines = [part for line in self.caption() for part in textwrap.wrap(line, per_line) or [""]]
        line_height = self.CAPTION_FONTSIZE * 1.45 / 72
        strip = Figure(figsize=(width, line_height * len(lines) + 0.12), dpi=dpi)
        canvas = FigureCanvasAgg(strip)
        for index, line in enumerate(lines):
            strip.text(
                0.08,
                strip.get_figheight() - 0.06 - line_height * (index + 0.8),
                line,
                fontsize=self.CAPTION_FONTSIZE,
                transform=strip.dpi_scale_trans,
                parse_math=False,  # a readout's $ or _ is text, not mathtext
            )
        canvas.draw()
        text = np.asarray(canvas.buffer_rgba())[..., :3]
        static = PILImage.fromarray(np.concatenate([picture, text[:, : picture.shape[1]]]))
        # 256 colours look the same in a plot and make the stored notebook about 60 kB smaller per explorer.
        buffer = io.BytesIO()
        static.quantize(256, method=PILImage.Quantize.MEDIANCUT).save(buffer, format="png", optimize=True)
        return buffer.getvalue()

    def update(self) -> None:  # pragma: no cover - overridden
        """Recompute what the controls' values need and redraw."""
        raise NotImplementedError

    def _show(self, visible: tuple[str, ...]) -> None:
        for name, widget in self.controls.items():
            widget.layout.display = None if name in visible else "none"
