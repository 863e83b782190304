"""Feedback: the verdict a grader returns, and :class:`Reject`, the way a helper ends grading.

A grader returns ``correct(...)`` or ``incorrect(...)``; a helper deep inside it stops
grading with ``fail(message)``, which raises :class:`Reject` carrying an "incorrect"
:class:`Feedback` (:func:`~._registry.grade` catches it). So a grader reads as a straight
line of checks and a final ``return correct(...)``. ``str(feedback)`` is the one line
``check`` prints, and the build script reads those lines back.
"""

from __future__ import annotations

import dataclasses
from typing import NoReturn

__all__ = [
    "NOT_ATTEMPTED",
    "CORRECT",
    "INCORRECT",
    "ERROR",
    "Feedback",
    "correct",
    "incorrect",
    "not_attempted",
    "error",
    "Reject",
    "fail",
]

NOT_ATTEMPTED = "not attempted"
CORRECT = "correct"
INCORRECT = "incorrect"
ERROR = "error"

# What check() prints before the key; the build script reads these lines back.
_MARKS = {CORRECT: "✓", INCORRECT: "✗", ERROR: "✗", NOT_ATTEMPTED: "○"}
_LABELS = {CORRECT: "correct", INCORRECT: "incorrect", ERROR: "error", NOT_ATTEMPTED: "not attempted yet"}


@dataclasses.dataclass(frozen=True)
class Feedback:
    """The result of grading one attempt: a status and a message for the learner.

    ``status`` is one of "not attempted", "correct", "incorrect", "error".
    ``str(feedback)`` is the line :func:`check` prints, e.g.
    ``✗ 03.2 incorrect: matches torch for step 1, differs at step 2 ...``.
    """

    status: str
    message: str
    key: str = ""

    def __post_init__(self):
        if self.status not in _MARKS:
            raise ValueError(f"unknown feedback status {self.status!r}; use one of {list(_MARKS)}")

    @property
    def ok(self) -> bool:
        """True when the answer is correct."""
        return self.status == CORRECT

    def __str__(self) -> str:
        head = f"{_MARKS[self.status]} {self.key} {_LABELS[self.status]}".replace("  ", " ")
        return f"{head}: {self.message}" if self.message else head


def correct(message: str = "well done.") -> Feedback:
    """Return a "correct" Feedback (say what the learner got right)."""
    return Feedback(CORRECT, message)


def incorrect(message: str) -> Feedback:
    """Return an "incorrect" Feedback: say what is wrong and, if you can, why."""
    return Feedback(INCORRECT, message)


def not_attempted(message: str = "") -> Feedback:
    """Return a "not attempted" Feedback (the answer is still the stub)."""
    return Feedback(NOT_ATTEMPTED, message or _NOT_ATTEMPTED_MESSAGE)


def error(message: str) -> Feedback:
    """Return an "error" Feedback (learner code raised, or the call itself was wrong)."""
    return Feedback(ERROR, message)


_NOT_ATTEMPTED_MESSAGE = "replace the `...` with your answer, then run this cell again."


class Reject(Exception):
    """Raised by grader helpers to stop grading with ``feedback``; :func:`grade` catches it."""

    def __init__(self, feedback: Feedback):
        super().__init__(feedback.message)
        self.feedback = feedback


def fail(message: str) -> NoReturn:
    """Stop grading with an "incorrect" Feedback carrying ``message``."""
    raise Reject(incorrect(message))
