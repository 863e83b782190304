"""Calling learner code: :func:`call` runs it on the grader's inputs, and every failure is
told in one line that says where, and whose fault it is.

- an exception: its type, message and the learner's own line ("line 3 of your cell in
  `step`"), found by walking the traceback past this package, the standard library and
  site-packages (``_where``);
- an argument changed in place: named, with what changed ("[0].weight values changed"),
  found by comparing fingerprints of the inputs before and after (``_fingerprint``,
  ``_first_difference``);
- a patched torch, a time budget spent, ``None`` returned, a wrong return type.

``_blame`` applies the same rule to an exception that escaped a grader: the learner's when
the innermost frame outside this package and the grader's own code is theirs, a checker bug
otherwise.
"""

from __future__ import annotations

import contextlib
import inspect
import linecache
import numbers
import os
import sys
import traceback
import types
from collections.abc import Iterable

import torch

from ._assertions import expect_callable, expect_type
from ._feedback import Feedback, Reject, error, fail, incorrect, not_attempted
from ._isolation import LearnerTimeout, _modes_kept, _restore_namespaces, _snapshot_namespaces, time_limit
from ._stubs import _function_label, stub_reason

__all__ = ["call", "CALL_SECONDS", "expect_own_work", "package_reference"]

CALL_SECONDS = 5.0  # budget of one call of learner code (:func:`call`)


def _library_dirs() -> tuple:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # myoptim_helpers/
    roots = {here, os.path.dirname(os.__file__), os.path.dirname(contextlib.__file__)}
    for path in sys.path:
        if path.endswith(("site-packages", "dist-packages")):
            roots.add(path)
    return tuple(os.path.abspath(r) + os.sep for r in roots)


def _learner_frame(tb, also_library: Iterable = ()):
    """Return the innermost traceback entry that belongs to the learner's code, or None.

    Files under this package, the standard library and site-packages are not the
    learner's, nor the code objects in ``also_library`` (e.g. the grader's own code).
    """
    libs = _library_dirs()
    extra = set(also_library)
    found = None
    for frame, lineno in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        if (
            filename.startswith("<frozen")
            or frame.f_code in extra
            or (not filename.startswith("<") and os.path.abspath(filename).startswith(libs))
        ):
            continue
        found = (frame, lineno)
    return found


def _where(tb, also_library: Iterable = ()) -> str:
    entry = _learner_frame(tb, also_library)
    if entry is None:
        return ""
    frame, lineno = entry
    filename = frame.f_code.co_filename
    func = frame.f_code.co_name
    in_func = f" in `{func}`" if func not in ("<module>", "<lambda>") else ""
    # With IPYKERNEL_CELL_NAME set, every cell shares one file name, so linecache may
    # hold another cell's text: quote the line only where the file name is unique.
    shared = filename == os.environ.get("IPYKERNEL_CELL_NAME")
    text = "" if shared else _source_line(filename, lineno)
    cell = filename.startswith("<") or "ipykernel_" in filename
    place = f"line {lineno} of your cell" if cell else f"line {lineno} of {os.path.basename(filename)}"
    return f" ({place}{in_func}{': ' + text if text else ''})"


def _source_line(filename, lineno) -> str:
    line = linecache.getline(filename, lineno).strip()
    return f"`{line}`" if line else ""


def call(
    fn,
    *args,
    name: str | None = None,
    returns=None,
    may_modify: Iterable[str | int] = (),
    seconds: float | None = None,
    called_as: str | None = None,
    **kwargs,
):
    """Call learner code ``fn(*args, **kwargs)`` safely and return its result.

    Stops grading (raises :class:`Reject`) with a one-line message when ``fn`` is not
    callable or still a stub, when it raises (exception type, message and the line of
    the learner's own code), when it modifies an argument in place (naming the
    argument; arguments listed in ``may_modify`` are allowed to change: by position,
    e.g. ``(0, 1)`` for a training step's model and optimizer, which works whatever the
    learner named them, or by keyword name), or, if ``returns`` is a type, when the result
    is None or not a ``returns``. Pass the grader's own inputs, never the learner's objects.

    The call may take ``seconds`` (default :data:`CALL_SECONDS`) before it ends with "did
    not return within N s: does it loop forever?". When ``fn``'s parameters do not fit the
    arguments (a TypeError from the call itself, not from inside ``fn``), the message adds
    how the checker calls it: ``called_as`` (e.g. ``"adam_step(param, grad, ...)"``), or the
    number of arguments. Any exception but KeyboardInterrupt is
    the learner's (SystemExit included). A change to torch's classes or modules made by
    ``fn`` is undone and named.
    """
    seconds = CALL_SECONDS if seconds is None else seconds
    label = name or _function_label(fn)
    expect_callable(fn, label)
    reason = stub_reason(fn, label)
    if reason:
        raise Reject(not_attempted(reason))
    arg_names = _argument_names(fn, args, kwargs)
    before = [_fingerprint(a) for a in args] + [_fingerprint(v) for v in kwargs.values()]
    namespaces = _snapshot_namespaces(own_modules=False)  # once per check is enough for those
    try:
        with time_limit(seconds, label), _modes_kept():
            result = fn(*args, **kwargs)
    except (Reject, KeyboardInterrupt):
        raise
    except LearnerTimeout as exc:
        _restore_namespaces(namespaces)
        if str(exc).startswith(label):
            raise Reject(error(str(exc))) from None
        raise  # an outer budget ran out: the check as a whole ends
    except BaseException as exc:  # SystemExit and friends are the learner's too
        _restore_namespaces(namespaces)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        where = _where(exc.__traceback__)
        misfit = _signature_misfit(fn, args, kwargs, called_as) if isinstance(exc, TypeError) and not where else ""
        raise Reject(
            error(f"{label} raised {type(exc).__name__}{': ' + message if message else ''}{where}{misfit}")
        ) from None
    patched = _restore_namespaces(namespaces)
    if patched:
        fail(
            f"{label} changed {patched[0]}{' and more' if len(patched) > 1 else ''}: an answer "
            "must use torch as it is, not replace its functions (the change is undone)."
        )
    after = [_fingerprint(a) for a in args] + [_fingerprint(v) for v in kwargs.values()]
    may_modify = tuple(may_modify)
    for position, (arg_name, b, a) in enumerate(zip(arg_names, before, after)):
        if arg_name in may_modify or (position < len(args) and position in may_modify):
            continue
        diff = _first_difference(b, a, arg_name)
        if diff is not None:
            advice = (
                "Compute a new tensor instead of `+=`, `-=` or a method ending in `_`."
                if b[0] == "tensor"
                else "Leave it as it was given: change a copy, or build a new object."
            )
            raise Reject(incorrect(f"{label} modified its argument `{arg_name}` in place ({diff}). {advice}"))
    if returns is not None:
        if result is None:
            fail(f"{label} returned None: did it forget to `return` its result?")
        expect_type(result, returns, f"the value returned by {label}")
    return result


def _signature_misfit(fn, args, kwargs, called_as) -> str:
    """How the checker calls ``fn``, when ``fn``'s parameters cannot take these arguments
    (else ""): the learner sees what to change in their ``def`` line."""
    try:
        inspect.signature(fn).bind(*args, **kwargs)
        return ""  # the parameters fit: the TypeError came from inside
    except TypeError:
        pass
    except ValueError:  # no signature to inspect (a builtin)
        return ""
    if called_as:
        return f". The checker calls it as {called_as}."
    keywords = f" and the keyword arguments {', '.join(kwargs)}" if kwargs else ""
    return f". The checker calls it with {len(args)} positional argument{'s' if len(args) != 1 else ''}{keywords}."


def _argument_names(fn, args, kwargs) -> list:
    try:
        signature = inspect.signature(fn)
        bound = signature.bind(*args, **kwargs)
        names = []
        for pname, value in bound.arguments.items():
            kind = signature.parameters[pname].kind
            if kind == inspect.Parameter.VAR_POSITIONAL:
                names += [f"{pname}[{i}]" for i in range(len(value))]
            elif kind == inspect.Parameter.VAR_KEYWORD:
                names += list(value)
            else:
                names.append(pname)
        if len(names) == len(args) + len(kwargs):
            return names
    except (TypeError, ValueError):
        pass
    return [f"argument {i + 1}" for i in range(len(args))] + list(kwargs)


def _fingerprint(obj, depth: int = 0):
    """A comparable snapshot of the tensors and plain values inside ``obj``.

    Shapes: ("tensor", values, grad), ("value", v), ("array", a), or
    ("map", [(path_piece, fingerprint), ...]) for containers, modules and optimizers.
    Objects of other types are not tracked (None).
    """
    if depth > 6:
        return None
    if isinstance(obj, torch.Tensor):
        grad = obj.grad if obj.is_leaf else None
        return ("tensor", obj.detach().clone(), None if grad is None else grad.detach().clone())
    if isinstance(obj, torch.nn.Module):
        named = list(obj.named_parameters()) + list(obj.named_buffers())
        return ("map", [(f".{n}", _fingerprint(t, depth + 1)) for n, t in named])
    if isinstance(obj, torch.optim.Optimizer):
        items = []
        for i, group in enumerate(obj.param_groups):
            for k, v in group.items():
                items.append((f".param_groups[{i}][{k!r}]", _fingerprint(v, depth + 1)))
        for j, state in enumerate(obj.state.values()):
            for k, v in state.items():
                items.append((f".state[{j}][{k!r}]", _fingerprint(v, depth + 1)))
        return ("map", items)
    if isinstance(obj, (list, tuple)):
        return ("map", [(f"[{i}]", _fingerprint(o, depth + 1)) for i, o in enumerate(obj)])
    if isinstance(obj, dict):
        return ("map", [(f"[{k!r}]", _fingerprint(v, depth + 1)) for k, v in obj.items()])
    if isinstance(obj, (numbers.Number, str, bytes, type(None))):
        return ("value", obj)
    if type(obj).__module__ == "numpy" and hasattr(obj, "copy"):
        return ("array", obj.copy())
    return None


def _first_difference(before, after, where: str = "") -> str | None:
    """Describe the first difference between two fingerprints (e.g. "[0].weight values
    changed"), or None if they are equal."""
    if before is None or after is None:
        return None
    subject = where.lstrip(".") or "it"
    if before[0] != after[0]:
        return f"{subject} changed type"
    kind = before[0]
    if kind == "tensor":
        (_, b, b_grad), (_, a, a_grad) = before, after
        if b.shape != a.shape or b.dtype != a.dtype:
            return f"{subject} changed from shape {tuple(b.shape)} {b.dtype} to {tuple(a.shape)} {a.dtype}"
        if not torch.equal(b.isnan(), a.isnan()) or not torch.equal(torch.nan_to_num(b), torch.nan_to_num(a)):
            return f"the values of {subject} changed"
        if (b_grad is None) != (a_grad is None) or (b_grad is not None and not torch.equal(b_grad, a_grad)):
            return f"{subject}.grad changed"
        return None
    if kind == "value":
        same = before[1] == after[1] or (before[1] != before[1] and after[1] != after[1])
        return None if same else f"{subject} changed from {before[1]!r} to {after[1]!r}"
    if kind == "array":
        import numpy

        try:
            same = numpy.array_equal(before[1], after[1], equal_nan=True)
        except TypeError:  # equal_nan needs numbers; an array of strings compares plainly
            same = numpy.array_equal(before[1], after[1])
        return None if same else f"the values of {subject} changed"
    b_items, a_items = dict(before[1]), dict(after[1])
    for label, b in b_items.items():
        if label in a_items:
            diff = _first_difference(b, a_items[label], where + label)
            if diff is not None:
                return diff
    for label in a_items:
        if label not in b_items:
            return f"{where}{label} appeared".lstrip(".")
    for label in b_items:
        if label not in a_items:
            return f"{where}{label} disappeared".lstrip(".")
    return None


def _blame(exc: BaseException, grader) -> Feedback:
    """Report an exception that escaped a grader: the learner's if their code raised it
    (the innermost frame outside this package and the grader's file is theirs), else a
    checker bug. ``grader`` is the grader function (its own code is not the learner's)."""
    grader_code = _nested_code(getattr(grader, "__code__", None))
    entry = _learner_frame(exc.__traceback__, also_library=grader_code)
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if entry is not None:
        return error(
            f"your code raised {type(exc).__name__}{': ' + message if message else ''}"
            f"{_where(exc.__traceback__, also_library=grader_code)}"
        )
    return error(
        f"the checker itself failed ({type(exc).__name__}{': ' + message if message else ''}). "
        "Check the type of your answer; if it looks right, please report this."
    )


def _nested_code(code) -> tuple:
    """``code`` and the code objects defined inside it (the grader's lambdas and helpers)."""
    if not isinstance(code, types.CodeType):
        return ()
    found = [code]
    for const in code.co_consts:
        found += _nested_code(const)
    return tuple(found)


_PACKAGE = __name__.split(".")[0]  # "myoptim_helpers"


def _from_package(obj) -> bool:
    """True for a module, class or function of this package (its reference implementations)."""
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
    else:
        name = getattr(obj, "__module__", None) or ""
    return name == _PACKAGE or name.startswith(_PACKAGE + ".")


def _globals_used(fn) -> list:
    """The global names ``fn`` (and the functions nested in it) loads, in order."""
    import dis

    names = []
    for code in _nested_code(getattr(fn, "__code__", None)):
        names += [ins.argval for ins in dis.get_instructions(code) if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")]
    return names


def package_reference(answer) -> str | None:
    """Say how ``answer`` uses the package's own implementation ("is X", "subclasses X",
    "calls X": a thin wrapper, a function that loads a global bound to this package's
    module, class or function), or return None for the learner's own code."""
    if _from_package(answer):
        return f"is {answer.__module__}.{getattr(answer, '__qualname__', type(answer).__name__)}"
    if isinstance(answer, type):
        for base in answer.__mro__[1:]:
            if _from_package(base):
                return f"subclasses {base.__module__}.{base.__qualname__}"
        functions = [v for v in vars(answer).values() if isinstance(v, types.FunctionType)]
    else:
        functions = [answer] if isinstance(answer, types.FunctionType) else []
    for fn in functions:
        fn = inspect.unwrap(fn)  # the body under @torch.no_grad()
        for name in _globals_used(fn):
            obj = fn.__globals__.get(name)
            if obj is not None and _from_package(obj):
                return (
                    f"calls {getattr(obj, '__module__', None) or obj.__name__}.{name}"
                    if not isinstance(obj, types.ModuleType)
                    else f"calls into {obj.__name__}"
                )
    return None


def expect_own_work(answer, name: str, what: str) -> None:
    """Stop if ``answer`` is, subclasses or merely calls this package's reference
    implementation of ``what``: it would pass every check without the learner writing it."""
    how = package_reference(answer)
    if how is not None:
        fail(f"`{name}` {how}: that is the package's own {what}; write your own.")
