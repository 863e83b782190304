"""Predict, then reveal: a question from :mod:`myoptim_helpers.predictions` as buttons."""

from __future__ import annotations

import html

import ipywidgets

from ._base import StaticView

__all__ = ["Prediction", "predict"]


class Prediction(StaticView, ipywidgets.VBox):
    """A question from :mod:`myoptim_helpers.predictions` as buttons; choosing one reveals the truth.

    Nothing is selected at first, so the notebook's stored output shows no answer.
    ``choose(index)`` does what a click does (for tests); ``readout.value`` holds the reveal.
    A static renderer shows :meth:`static_html`: the question and the choices, never the answer.
    """

    def __init__(self, key: str):
        from .. import predictions  # the questions, kept out of the lesson's source

        self.key = key
        self.question = predictions.QUESTIONS[key]
        self.buttons = ipywidgets.RadioButtons(
            options=list(self.question.choices), value=None, layout={"width": "max-content"}
        )
        self.readout = ipywidgets.HTML()
        super().__init__(
            children=[ipywidgets.HTML(f"<b>Predict:</b> {html.escape(self.question.text)}"), self.buttons, self.readout]
        )
        self.buttons.observe(self._on_choice, names="value")

    def choose(self, index: int) -> None:
        """Select choice ``index``, as a click on it would."""
        self.buttons.value = self.question.choices[index]

    def _on_choice(self, change) -> None:
        from .. import predictions

        if change["new"] is None:
            return
        text = predictions.answer(self.key, self.question.choices.index(change["new"]))
        self.readout.value = html.escape(text, quote=False)

    def static_html(self) -> str:
        """The question and its choices in the choices' order, with no mark of the right one nor the reveal."""
        choices = "".join(f"<li>{html.escape(choice, quote=False)}</li>" for choice in self.question.choices)
        return (
            f"<p><b>Predict:</b> {html.escape(self.question.text, quote=False)}</p>\n<ul>{choices}</ul>\n"
            "<p><i>Run the notebook (JupyterLab, Colab) to choose an answer and see why.</i></p>"
        )

    def _static_bundle(self) -> dict:
        return {"text/html": self.static_html()}

    def __repr__(self) -> str:
        """One deterministic line without the answer (a notebook's text output)."""
        return f"Prediction({self.key!r}: choose one of {len(self.question.choices)} answers)"


def predict(key: str) -> Prediction:
    """Show prediction ``key`` (e.g. ``"04.scale"``): the learner picks an answer, then sees the truth."""
    return Prediction(key)
