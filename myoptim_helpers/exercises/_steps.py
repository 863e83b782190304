"""Step-by-step comparison: where a learner's run first parts from torch's, and why.

A run is a sequence with one entry per step (a tensor, a number, a list of tensors or a
``{name: tensor}`` dict). :func:`first_mismatch` finds the first step and tensor that
differ and returns a :class:`Mismatch`, whose text is the feedback's core: "matches torch
for steps 1–3, differs at step 4 (param 'w': got 0.8123, expected 0.81)".
:func:`expect_same_steps` turns it into a ✗, with the likely cause a grader diagnoses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import torch

from ._assertions import _compare, _index_text, got_expected
from ._feedback import fail

__all__ = ["Mismatch", "first_mismatch", "expect_same_steps"]


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """Where a learner's run first differs from the reference run.

    ``step`` is 1-based; ``name`` names the tensor within the step ("param 'w'");
    ``str(mismatch)`` reads "matches torch for steps 1–3, differs at step 4 (param 'w':
    got 0.8123, expected 0.8100)".
    """

    step: int
    name: str
    got: float | None
    expected: float | None
    index: tuple = ()
    detail: str = ""
    reference: str = "torch"

    def __str__(self) -> str:
        if self.step == 1:
            head = f"differs from {self.reference} already at step 1"
        elif self.step == 2:
            head = f"matches {self.reference} for step 1, differs at step 2"
        else:
            head = f"matches {self.reference} for steps 1–{self.step - 1}, differs at step {self.step}"
        what = self.detail or got_expected(self.got, self.expected)
        name = (
            f"{self.name}{_index_text(self.index)}"
            if self.name
            else (f"element {_index_text(self.index)}" if self.index else "")
        )
        return f"{head} ({name + ': ' if name else ''}{what})"


def _named(step) -> list:
    if isinstance(step, Mapping):
        return [(f"param {k!r}" if isinstance(k, str) else str(k), v) for k, v in step.items()]
    if isinstance(step, (list, tuple)):
        return [(f"param {i}", v) for i, v in enumerate(step)]
    return [("", step)]


def first_mismatch(
    got: Sequence, expected: Sequence, *, rtol=None, atol=None, reference: str = "torch", check_dtype: bool = False
) -> Mismatch | None:
    """Return the first step where ``got`` differs from ``expected``, or None.

    Both are sequences with one entry per step; an entry is a tensor, a number, a list of
    tensors, or a dict ``{name: tensor}``. Tolerance defaults to :func:`~._assertions.tolerance`. With
    ``check_dtype`` a tensor of another dtype than the expected one is a mismatch too
    (torch keeps a float32 parameter's state in float32).
    """
    got, expected = list(got), list(expected)
    for step, (g_step, e_step) in enumerate(zip(got, expected), start=1):
        g_items = dict(_named(g_step)) if isinstance(g_step, (Mapping, list, tuple)) else {"": g_step}
        for name, e_val in _named(e_step):
            if name not in g_items:
                return Mismatch(step, name, None, None, detail="missing", reference=reference)
            g_val = g_items[name]
            if (
                check_dtype
                and isinstance(e_val, torch.Tensor)
                and isinstance(g_val, torch.Tensor)
                and g_val.dtype != e_val.dtype
            ):
                m = ((), None, None, f"dtype {g_val.dtype}, expected {e_val.dtype}")
            else:
                m = _compare(g_val, e_val, rtol, atol)
            if m is not None:
                index, g, e, detail = m
                return Mismatch(step, name, g, e, index, detail, reference)
    if len(got) != len(expected):
        return Mismatch(
            min(len(got), len(expected)) + 1,
            "",
            None,
            None,
            detail=f"your run has {len(got)} steps, {reference}'s has {len(expected)}",
            reference=reference,
        )
    return None


def expect_same_steps(
    got: Sequence, expected: Sequence, *, diagnose=None, rtol=None, atol=None, reference: str = "torch"
):
    """Stop with an "incorrect" message at the first step where ``got`` differs.

    ``diagnose(mismatch) -> str | None`` adds the likely cause, e.g. for step 2:
    "is the momentum buffer initialised from the first gradient?".
    """
    m = first_mismatch(got, expected, rtol=rtol, atol=atol, reference=reference)
    if m is None:
        return
    cause = diagnose(m) if diagnose is not None else None
    fail(f"{m}{': ' + cause if cause else '.'}")
