"""Small helpers that several lesson modules share on top of :mod:`._core`.

- :func:`expect_plain_number` — one policy for "a number was asked": a Python or numpy
  scalar is accepted; a list, an array or a tensor is named and rejected.
- :func:`expect_result_tensor` — one policy for "a tensor was asked": a list (of numbers or
  of 0-d tensors) is named and rejected with the call that makes a tensor of it.
- :func:`labelled_mismatch` — the first difference between two runs whose steps are
  ``{label: value}`` dicts, each value named by its label ("the scale", "`0.weight`") and
  the steps counted in the exercise's unit ("differs at epoch 6"): a :class:`CountedMismatch`,
  whose head :func:`counted_head` also serves graders that write their own messages.
- :class:`Difference` — a difference told in words, for what is not a run of steps.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence

import torch

from ._core import Mismatch, _index_text, expect_tensor, fail, first_mismatch, fmt

__all__ = [
    "expect_plain_number",
    "expect_result_tensor",
    "counted_head",
    "CountedMismatch",
    "labelled_mismatch",
    "Difference",
]


def expect_plain_number(value, name: str) -> float:
    """Return ``value`` as a float if it is a real finite number (int, float, numpy scalar).

    A list, a tuple, an array or a tensor is not a number, even with one element: the
    message says what was given and what was asked.
    """
    if isinstance(value, torch.Tensor):
        fail(
            f"{name} should be a number (a Python float), got a tensor of shape "
            f"{tuple(value.shape)}: use `.item()`, or write the number itself."
        )
    if isinstance(value, (list, tuple, dict, set)):
        fail(f"{name} should be a number (a Python float), got a {type(value).__name__}.")
    if type(value).__module__ == "numpy":
        if getattr(value, "ndim", 0) != 0:
            fail(f"{name} should be a number (a Python float), got an array of shape {tuple(value.shape)}.")
        value = value.item()
    if value is None:
        fail(f"{name} is None; expected a number.")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        fail(f"{name} should be a number, got {type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value):
        fail(f"{name} is {value}; expected a finite number.")
    return value


def expect_result_tensor(value, name: str, *, shape=None, dtype=None):
    """Return ``value`` if it is a tensor (shape/dtype checked, NaN allowed); a list or tuple
    gets a one-line message saying what was given and what was asked."""
    if isinstance(value, (list, tuple)):
        fail(
            f"{name} is a {type(value).__name__}; a tensor was asked: "
            "`torch.stack(outputs)` turns a list of 0-d tensors into one tensor and keeps "
            "their dtype."
        )
    return expect_tensor(value, name, shape=shape, dtype=dtype, finite=False)


def counted_head(n: int, *, unit: str = "step", first: int = 1, reference: str = "torch") -> str:
    """'matches torch for epochs 0–2, differs at epoch 3' ({unit}s counted from ``first``)."""
    if n == first:
        return f"differs from {reference} already at {unit} {n}"
    if n == first + 1:
        return f"matches {reference} for {unit} {first}, differs at {unit} {n}"
    return f"matches {reference} for {unit}s {first}–{n - 1}, differs at {unit} {n}"


@dataclasses.dataclass(frozen=True)
class CountedMismatch(Mismatch):
    """A :class:`~._core.Mismatch` whose steps are counted in ``unit`` from ``first``:
    "matches the uninterrupted run for epoch 5, differs at epoch 6 (lr: got 0.3247, expected
    0.06113)". ``step`` stays the 1-based position in the run; ``name`` is printed as it is."""

    unit: str = "step"
    first: int = 1

    def __str__(self) -> str:
        head = counted_head(self.first + self.step - 1, unit=self.unit, first=self.first, reference=self.reference)
        what = self.detail or f"got {fmt(self.got, self.expected)}, expected {fmt(self.expected, self.got)}"
        return f"{head} ({self.name}{_index_text(self.index)}: {what})"


def labelled_mismatch(
    got: Sequence[Mapping],
    expected: Sequence[Mapping],
    *,
    unit: str = "step",
    first: int = 1,
    reference: str = "torch",
    rtol=None,
    atol=None,
) -> CountedMismatch | None:
    """Return where ``got`` first differs from ``expected``, or None.

    Both are runs with one ``{label: value}`` dict per step (values are tensors or numbers,
    compared as :func:`~._core.first_mismatch` does, dtypes included); labels are checked in
    the expected dict's order, and a value of None on either side is not compared (a known
    mistake that does not determine that value).
    """
    got, expected = list(got), list(expected)
    for step, (g_step, e_step) in enumerate(zip(got, expected), start=1):
        for label, e_val in e_step.items():
            found = dict(step=step, name=label, reference=reference, unit=unit, first=first)
            if label not in g_step:
                return CountedMismatch(got=None, expected=None, detail="missing", **found)
            if g_step[label] is None or e_val is None:
                continue
            m = first_mismatch([g_step[label]], [e_val], rtol=rtol, atol=atol, check_dtype=True)
            if m is not None:
                return CountedMismatch(got=m.got, expected=m.expected, index=m.index, detail=m.detail, **found)
    if len(got) != len(expected):
        return CountedMismatch(
            step=min(len(got), len(expected)) + 1,
            name="the run",
            got=None,
            expected=None,
            detail=f"{len(got)} {unit}s, {reference} has {len(expected)}",
            reference=reference,
            unit=unit,
            first=first,
        )
    return None


@dataclasses.dataclass(frozen=True)
class Difference:
    """A difference told in words, for what is not a run of steps (a state at the end, one
    predicted value): ``str()`` is ``text``; ``name`` says what differs, for an ``otherwise``."""

    name: str
    text: str

    def __str__(self) -> str:
        return self.text
