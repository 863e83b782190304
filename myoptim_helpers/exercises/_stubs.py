"""Stubs: telling an exercise the learner has not attempted yet from a wrong answer.

The learner's notebook holds ``...`` where an answer goes, and functions or classes whose
body is only ``...``/``pass``/a docstring. Such an answer gets "not attempted yet", never a
✗. A function is judged on its bytecode, so one that merely forgets ``return`` is an
attempt (and :func:`~._calling.call` says it returned None).
"""

from __future__ import annotations

import dis
import types

__all__ = ["stub_reason", "is_stub"]


def _significant_ops(code: types.CodeType) -> list:
    skip = {"RESUME", "NOP", "CACHE", "COPY_FREE_VARS", "MAKE_CELL", "PRECALL", "PUSH_NULL", "EXTENDED_ARG"}
    return [(ins.opname, ins.argval) for ins in dis.get_instructions(code) if ins.opname not in skip]


def _is_stub_code(code: types.CodeType) -> bool:
    """True for bytecode of a body that is only ``...``, ``pass``, a docstring,
    ``return ...`` or ``raise NotImplementedError``."""
    ops = _significant_ops(code)
    if ops in (
        [("LOAD_CONST", None), ("RETURN_VALUE", None)],
        [("LOAD_CONST", Ellipsis), ("RETURN_VALUE", None)],
        [("RETURN_CONST", None)],
        [("RETURN_CONST", Ellipsis)],
    ):
        return True
    names = [op for op in ops if op[0] in ("LOAD_GLOBAL", "LOAD_NAME")]
    return bool(names) and names[0][1] == "NotImplementedError" and ops[-1][0] == "RAISE_VARARGS" and len(ops) <= 4


def stub_reason(answer, name: str = "your answer") -> str:
    """Return why ``answer`` is still an unsolved stub, or "" if it is not one.

    A stub is ``...``; a container holding ``...``; a function whose body is only
    ``...``/``pass``/a docstring/``raise NotImplementedError`` (checked on bytecode, so a
    function that merely forgets ``return`` is *not* a stub; a body of only ``return None``
    is, as its bytecode is that of ``pass``); or a class with such a method.
    """
    if answer is Ellipsis:
        return f"{name} is still `...`: replace it with your answer, then run this cell again."
    if isinstance(answer, (list, tuple)) and any(a is Ellipsis for a in answer):
        return f"{name} still contains `...`: fill in every entry, then run this cell again."
    if isinstance(answer, dict) and any(v is Ellipsis for v in answer.values()):
        return f"{name} still contains `...`: fill in every entry, then run this cell again."
    if isinstance(answer, types.FunctionType) and _is_stub_code(answer.__code__):
        return f"{_function_label(answer)} still has an empty body: write its code, then run this cell again."
    if isinstance(answer, type):
        for attr, member in vars(answer).items():
            func = getattr(member, "__func__", member)
            if isinstance(func, types.FunctionType) and _is_stub_code(func.__code__):
                return f"`{answer.__name__}.{attr}` still has an empty body: write its code, then run this cell again."
    return ""


def is_stub(answer) -> bool:
    """True if ``answer`` is still an unsolved stub (see :func:`stub_reason`)."""
    return bool(stub_reason(answer))


def _function_label(fn) -> str:
    """How feedback names a learner's function: "`step`", "your lambda" or "your answer"."""
    fname = getattr(fn, "__name__", None)
    if fname is None or not callable(fn):
        return "your answer"
    return "your lambda" if fname == "<lambda>" else f"`{fname}`"
