"""Assertions on values: is the answer of the kind asked, and is it close to torch's?

Each ``expect_*`` returns the value when it passes and otherwise stops grading with one
sentence that names the answer and says what is wrong ("adam_lr should be a number, got
a list."). :func:`expect_number` is the one policy for "a number was asked",
:func:`expect_tensor`/:func:`expect_result_tensor` for a tensor. :func:`tolerance` is the
project's parity bar, :func:`fmt` prints a number with as many digits as it takes to differ
from the expected one, and :func:`expect_close` compares one value; comparing whole runs,
step by step, is :mod:`._steps`.
"""

from __future__ import annotations

import math
import numbers

import torch

from ._feedback import fail

__all__ = [
    "expect_type",
    "expect_callable",
    "expect_tensor",
    "expect_finite",
    "expect_number",
    "expect_close",
    "tolerance",
    "fmt",
    "got_expected",
    "as_plain",
]

# expect_result_tensor is shared by the lesson modules, not exported by the package.

NUMBER_LIMIT = 1e30  # a number answer larger than this is "too large" (float32 ends at 3.4e38)


def _type_names(types_) -> str:
    """'an Optimizer', 'a Tensor or a float': each type name with its article."""
    types_ = types_ if isinstance(types_, tuple) else (types_,)
    names = [getattr(t, "__qualname__", str(t)) for t in types_]
    return " or ".join(f"{'an' if n[:1].lower() in 'aeiou' else 'a'} {n}" for n in names)


def expect_type(value, types_, name: str):
    """Return ``value`` if it is an instance of ``types_``; otherwise stop with a message."""
    if isinstance(value, types_) and not (
        isinstance(value, bool) and bool not in (types_ if isinstance(types_, tuple) else (types_,))
    ):
        return value
    if value is None:
        fail(f"{name} is None; expected {_type_names(types_)}.")
    fail(f"{name} should be {_type_names(types_)}, got {type(value).__name__}.")


def expect_callable(value, name: str):
    """Return ``value`` if it is callable; otherwise stop with a message."""
    if value is None or not callable(value):
        fail(f"{name} should be a function, got {type(value).__name__}.")
    return value


def expect_tensor(value, name: str, *, shape=None, dtype=None, finite: bool = True):
    """Return ``value`` if it is a tensor with the given shape/dtype (and finite)."""
    expect_type(value, torch.Tensor, name)
    if shape is not None and tuple(value.shape) != tuple(shape):
        fail(f"{name} has shape {tuple(value.shape)}, expected {tuple(shape)}.")
    if dtype is not None and value.dtype != dtype:
        fail(f"{name} has dtype {value.dtype}, expected {dtype}.")
    if finite:
        expect_finite(value, name)
    return value


def expect_finite(value, name: str):
    """Return ``value`` (tensor or number) if it has no NaN/inf; otherwise say where."""
    t = torch.as_tensor(value).detach()
    if t.is_floating_point() or t.is_complex():
        bad = ~torch.isfinite(t)
        if bad.any():
            idx = tuple(int(i) for i in bad.nonzero()[0]) if t.dim() else ()
            what = "NaN" if torch.isnan(t[idx] if idx else t) else "inf"
            at = f" at index {list(idx)}" if idx else ""
            fail(f"{name} contains {what}{at}.")
    return value


def as_plain(value):
    """Return a numpy array or scalar as Python numbers/lists; anything else unchanged.

    Learners compute with numpy too: ``np.float32(1.9)`` or ``np.array([0.25, 0.48])``
    is as good an answer as the Python number or list.
    """
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    return value


def expect_number(value, name: str, *, finite: bool = True, limit: float | None = NUMBER_LIMIT) -> float:
    """Return ``value`` as a float if it is one real, finite number no larger than ``limit``.

    The one policy wherever a number is asked, an answer the learner writes or a value
    their code returns: a Python int or float, a numpy scalar, or a tensor or numpy array
    holding exactly one number (torch reads those as numbers too: ``float(loss)``,
    ``lr=torch.tensor(0.01)``). Everything else is named: None, a bool, a string, a list
    or tuple (even of one number), an array or tensor of several numbers (with its shape),
    NaN or inf, and a number too large to be meant. With ``finite=False`` NaN and inf are
    numbers too (a loss that blew up), and ``limit`` bounds only the finite ones.
    """
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        fail(f"{name} should be a number, got a {type(value).__name__}.")
    from_numpy = type(value).__module__ == "numpy"
    if from_numpy and getattr(value, "size", 1) != 1:
        fail(f"{name} should be a single number, got an array of shape {tuple(value.shape)}.")
    value = as_plain(value)
    while from_numpy and isinstance(value, list):  # a 1-element numpy array, of any rank
        value = value[0]
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            fail(f"{name} should be a single number, got a tensor of shape {tuple(value.shape)}.")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if value is None:
            fail(f"{name} is None; expected a number.")
        fail(f"{name} should be a number, got {type(value).__name__}.")
    try:
        value = float(value)
    except OverflowError:  # a Python int beyond float's range
        fail(f"{name} is too large to be a useful answer.")
    if finite and not math.isfinite(value):
        fail(f"{name} is {value}; expected a finite number.")
    if limit is not None and math.isfinite(value) and abs(value) > limit:
        fail(
            f"{name} = {value:.3g} is too large to be a useful answer (more than {limit:g} "
            "in size; float32 overflows at 3.4e38)."
        )
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


def tolerance(dtype=torch.float32) -> tuple:
    """Return ``(rtol, atol)`` for comparing against torch: float64 1e-12, else 1e-5."""
    return (1e-12, 1e-12) if dtype == torch.float64 else (1e-5, 1e-5)


def fmt(got, expected=None) -> str:
    """Format a number with 4 significant digits, more if needed to differ from ``expected``."""
    got = float(got)
    if expected is None:
        return f"{got:.4g}"
    for digits in range(4, 18):
        a, b = f"{got:.{digits}g}", f"{float(expected):.{digits}g}"
        if a != b:
            return a
    return f"{got:.17g}"


def got_expected(got, expected) -> str:
    """ "got X, expected Y" with enough digits to tell them apart; when they agree to 6 or more
    significant digits, also the difference, which is then the point ("a difference of 1e-11")."""
    text = f"got {fmt(got, expected)}, expected {fmt(expected, got)}"
    g, e = float(got), float(expected)
    if math.isfinite(g) and math.isfinite(e) and g != e and abs(g - e) <= 1e-6 * max(abs(g), abs(e)):
        text += f", a difference of {abs(g - e):.1e}"
    return text


def expect_close(got, expected, name: str, *, rtol=None, atol=None):
    """Stop with "name: got X, expected Y" unless ``got`` is close to ``expected``.

    Works for numbers and tensors (shape is checked first); tolerance defaults to
    :func:`tolerance` of the expected dtype.
    """
    m = _compare(got, expected, rtol, atol)
    if m is not None:
        index, g, e, detail = m
        fail(f"{name}{_index_text(index)}: {detail or got_expected(g, e)}.")
    return got


def _compare(got, expected, rtol, atol):
    """Return None if close, else (index, got_value, expected_value, detail)."""
    if isinstance(expected, torch.Tensor) or isinstance(got, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            if isinstance(got, numbers.Real) and not isinstance(got, bool) and expected.numel() == 1:
                got = torch.tensor(float(got), dtype=expected.dtype)
            else:
                return ((), None, None, f"got {type(got).__name__}, expected a tensor")
        expected = torch.as_tensor(expected)
        if got.shape != expected.shape:
            return ((), None, None, f"shape {tuple(got.shape)}, expected {tuple(expected.shape)}")
        d_rtol, d_atol = tolerance(expected.dtype)
        rtol = d_rtol if rtol is None else rtol
        atol = d_atol if atol is None else atol
        g = got.detach().to(torch.float64)
        e = expected.detach().to(torch.float64)
        close = torch.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
        if bool(close.all()):
            return None
        idx = tuple(int(i) for i in (~close).nonzero()[0]) if close.dim() else ()
        gv = g[idx].item() if idx else g.item()
        ev = e[idx].item() if idx else e.item()
        return (idx if got.numel() > 1 else (), gv, ev, "")
    try:
        g, e = float(got), float(expected)
    except (TypeError, ValueError):
        return ((), None, None, f"got {type(got).__name__}, expected a number")
    d_rtol, d_atol = tolerance(torch.float64 if isinstance(expected, float) else torch.float32)
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    if math.isclose(g, e, rel_tol=rtol, abs_tol=atol) or (math.isnan(g) and math.isnan(e)):
        return None
    return ((), g, e, "")


def _index_text(index) -> str:
    return f"[{', '.join(map(str, index))}]" if index else ""
