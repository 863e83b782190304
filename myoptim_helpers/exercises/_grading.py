"""Small helpers that several lesson modules share on top of :mod:`._core`.

- :func:`expect_plain_number` — one policy for "a number was asked": a Python or numpy
  scalar is accepted; a list, an array or a tensor is named and rejected.
- :func:`expect_result_tensor` — one policy for "a tensor was asked": a list (of numbers or
  of 0-d tensors) is named and rejected with the call that makes a tensor of it.
"""

from __future__ import annotations

import math
import numbers

import torch

from ._core import expect_tensor, fail

__all__ = ["expect_plain_number", "expect_result_tensor"]


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
