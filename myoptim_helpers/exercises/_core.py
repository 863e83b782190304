"""The exercise system: registration, grading, and the helpers graders share.

A lesson module (``lesson03.py``) registers graders with :func:`exercise`::

    from ._core import exercise, correct, incorrect, call, expect_tensor, first_mismatch

    def _sgd_step(param, grad, lr):                 # the reference solution
        return param - lr * grad

    @exercise("03.1", title="One SGD step", solution=_sgd_step,
              hints=["The update is p - lr * g.", "Return a new tensor; don't modify `param`."])
    def grade_sgd_step(sgd_step):                   # one argument per answer passed to check()
        p, g = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0])
        got = expect_tensor(call(sgd_step, p, g, 0.1), "the value returned by sgd_step",
                            shape=p.shape)
        if not torch.allclose(got, _sgd_step(p, g, 0.1)):
            return incorrect("wrong values: did you subtract lr * grad?")
        return correct("your SGD step matches torch.optim.SGD.")

Notebooks call ``check("03.1", sgd_step)``, ``hint("03.1")`` and ``show_solution("03.1")``.

How grading works (:func:`grade`):

1. The key "03.1" imports ``myoptim_helpers.exercises.lesson03`` on first use; the
   module itself is the registry (every :class:`Exercise` found in it), so there is no
   global mutable state.
2. Any answer that is still a stub (``...``, or a function/class whose body is only
   ``...``/``pass``/a docstring) gives "not attempted yet" without calling the grader.
3. The grader runs inside :func:`preserved_global_state` (torch/python/numpy RNG,
   default dtype and grad mode are restored afterwards) and must not modify the
   learner's answers (:func:`grade` verifies this, and reports a checker bug if it does).
4. Helpers raise :class:`Reject` to end grading with their feedback, so a grader is a
   straight line of ``expect_*``/``call`` and a final ``return correct(...)``.
5. Learner code runs under a time budget (:func:`time_limit`, :data:`CALL_SECONDS` per
   :func:`call`, :data:`CHECK_SECONDS` per check), with its printing capped
   (:data:`PRINT_LIMIT` characters per check) and with torch's classes watched: an answer
   that patches ``torch.optim``, ``torch.Tensor`` or ``torch.optim.Optimizer`` is named,
   and the patch undone. Whatever escapes a grader is blamed on the learner when the
   innermost frame outside this package is the learner's code, and on the checker only
   otherwise.

The declarative side (configurations drawn at check time, tables of known mistakes, one
policy for unrequested options and answer types) lives in :mod:`._engine`.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import dis
import functools
import importlib
import inspect
import io
import linecache
import math
import numbers
import os
import random
import re
import signal
import sys
import textwrap
import threading
import time
import traceback
import types
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn

import torch

__all__ = [
    # what notebooks call
    "check",
    "hint",
    "show_solution",
    "grade",
    # registration
    "exercise",
    "Exercise",
    "Feedback",
    "exercises_of",
    "NOT_ATTEMPTED",
    "CORRECT",
    "INCORRECT",
    "ERROR",
    "correct",
    "incorrect",
    "not_attempted",
    "error",
    "Reject",
    "fail",
    # helpers for graders
    "stub_reason",
    "is_stub",
    "call",
    "private_copy",
    "seeded",
    "preserved_global_state",
    "time_limit",
    "LearnerTimeout",
    "CALL_SECONDS",
    "CHECK_SECONDS",
    "PRINT_LIMIT",
    "numbers_in",
    "reveals",
    "expect_type",
    "expect_callable",
    "expect_tensor",
    "expect_finite",
    "expect_number",
    "expect_close",
    "expect_same_steps",
    "first_mismatch",
    "Mismatch",
    "tolerance",
    "fmt",
    "as_plain",
]

NOT_ATTEMPTED = "not attempted"
CORRECT = "correct"
INCORRECT = "incorrect"
ERROR = "error"

# What check() prints before the key; the build script reads these lines back.
_MARKS = {CORRECT: "✓", INCORRECT: "✗", ERROR: "✗", NOT_ATTEMPTED: "○"}
_LABELS = {CORRECT: "correct", INCORRECT: "incorrect", ERROR: "error", NOT_ATTEMPTED: "not attempted yet"}
_KEY_RE = re.compile(r"^(\d\d)\.(\d+)$")

CALL_SECONDS = 5.0  # budget of one call of learner code (:func:`call`)
CHECK_SECONDS = 60.0  # budget of a whole check, for learner code a grader runs without `call`
PRINT_LIMIT = 2000  # characters of the learner's own printing shown during one check
NUMBER_LIMIT = 1e30  # a number answer larger than this is "too large" (float32 ends at 3.4e38)


# --------------------------------------------------------------------------- feedback


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


# --------------------------------------------------------------------------- registry


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One registered exercise: its key, title, grader, hints and reference solution."""

    key: str
    title: str
    grader: Callable[..., Feedback]
    hints: tuple = ()
    solution: Any = None  # a callable (its source is shown) or a source string
    # For a prediction exercise (the answers are numbers the learner works out): a function
    # returning the expected answers, as check() takes them. A ✗ message must never contain
    # them; :func:`grade` withholds one that would, and tests assert none does.
    prediction: Callable[[], tuple] | None = None

    def solution_source(self) -> str:
        """Return the reference solution as source code."""
        if self.solution is None:
            return ""
        if isinstance(self.solution, str):
            return textwrap.dedent(self.solution).strip("\n")
        try:
            return textwrap.dedent(inspect.getsource(self.solution)).strip("\n")
        except (OSError, TypeError):  # defined where no source file exists
            return ""

    def answer_names(self) -> list:
        """Return the names of the answers the grader takes, in order."""
        return [
            p.name
            for p in inspect.signature(self.grader).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]


def exercise(
    key: str,
    *,
    title: str,
    hints: Sequence[str] = (),
    solution: Any = None,
    prediction: Callable[[], tuple] | None = None,
):
    """Decorator: register ``grader(*answers) -> Feedback`` as exercise ``key`` ("NN.k").

    The decorated name becomes an :class:`Exercise`; give each grader its own name.
    ``solution`` is the reference solution, a function (``show_solution`` prints its
    source) or a string of code. ``prediction`` marks a prediction exercise: a function
    returning the expected answers (computed by torch), which no ✗ message may show.
    """
    _split_key(key)
    if isinstance(hints, str):
        raise TypeError("hints must be a list of strings, not one string")

    def register(grader):
        return Exercise(
            key=key, title=title, grader=grader, hints=tuple(hints), solution=solution, prediction=prediction
        )

    return register


def _split_key(key) -> tuple:
    if not isinstance(key, str) or not _KEY_RE.match(key):
        shown = repr(key) if isinstance(key, (str, numbers.Number)) else f"the first argument ({type(key).__name__})"
        raise ValueError(
            f'{shown} is not an exercise key: keys look like "03.2" '
            '(lesson 03, exercise 2), as in check("03.2", your_answer)'
        )
    lesson, number = _KEY_RE.match(key).groups()
    return lesson, int(number)


def exercises_of(lesson: str) -> dict:
    """Return ``{key: Exercise}`` of lesson "NN", in exercise order (imports lessonNN)."""
    modname = f"{__package__}.lesson{lesson}"
    try:
        module = importlib.import_module(modname)
    except ModuleNotFoundError as exc:
        if exc.name != modname:
            raise
        return {}
    found = {}
    for obj in vars(module).values():
        if isinstance(obj, Exercise) and obj.key.startswith(lesson + "."):
            if obj.key in found and found[obj.key] is not obj:
                raise ValueError(f"{modname} registers {obj.key} twice")
            found[obj.key] = obj
    return dict(sorted(found.items(), key=lambda kv: _split_key(kv[0])[1]))


def _lookup(key) -> Exercise:
    """Return the Exercise for ``key`` or raise Reject with a message listing valid keys."""
    try:
        lesson, _ = _split_key(key)
    except ValueError as exc:
        raise Reject(error(str(exc))) from None
    try:
        known = exercises_of(lesson)
    except Exception as exc:  # a broken lesson module must not break the notebook
        raise Reject(
            error(
                f"the checkers of lesson {lesson} could not be loaded "
                f"({type(exc).__name__}: {exc}); please report this."
            )
        ) from None
    if key in known:
        return known[key]
    if not known:
        raise Reject(error(f"lesson {lesson} has no exercises."))
    listing = "; ".join(f'"{k}" ({ex.title})' for k, ex in known.items())
    raise Reject(error(f"there is no exercise {key}. Lesson {lesson} has: {listing}."))


# --------------------------------------------------------------------------- notebook API


def grade(key: str | None = None, *answers, **keywords) -> Feedback:
    """Grade ``answers`` for exercise ``key`` and return the Feedback (never raises,
    except KeyboardInterrupt)."""
    shown_key = key if isinstance(key, str) else ""
    if key is None:
        return error('check needs the exercise key first: check("03.2", your_answer).')
    if keywords:
        return dataclasses.replace(
            error(
                f"check takes the answers by position, not by name: "
                f'check("{shown_key or "NN.k"}", {", ".join(keywords)}), without '
                f"`{next(iter(keywords))}=`."
            ),
            key=shown_key,
        )
    try:
        ex = _lookup(key)
    except Reject as rej:
        return dataclasses.replace(rej.feedback, key=shown_key)
    try:
        feedback = _grade(ex, answers)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # never let the checker's own machinery break the notebook
        feedback = error(f"the checker itself failed ({type(exc).__name__}: {exc}); please report this.")
    return dataclasses.replace(feedback, key=key)


def _grade(ex: Exercise, answers: tuple) -> Feedback:
    for name, answer in zip(_answer_labels(ex, len(answers)), answers):
        reason = stub_reason(answer, name)
        if reason:
            return not_attempted(reason)
    try:
        inspect.signature(ex.grader).bind(*answers)
    except TypeError:
        names = ex.answer_names()
        return error(f'check("{ex.key}", ...) takes {len(names)} answer(s) ({", ".join(names)}); got {len(answers)}.')
    labels = _answer_labels(ex, len(answers))
    before = [_fingerprint(a) for a in answers]
    try:
        with (
            preserved_global_state(),
            _capped_output(),
            time_limit(CHECK_SECONDS, "your code (all calls of this check together)"),
        ):
            result = ex.grader(*answers)
    except Reject as rej:
        result = rej.feedback
    except KeyboardInterrupt:
        raise
    except LearnerTimeout as exc:
        result = error(str(exc))
    except BaseException as exc:  # learner code the grader ran directly, or a checker bug
        result = _blame(exc, ex)
    if not isinstance(result, Feedback):
        return error(f"the checker returned {type(result).__name__}, not Feedback (a checker bug).")
    for label, b, answer in zip(labels, before, answers):
        changed = _first_difference(b, _fingerprint(answer), label.strip("`"))
        if changed is not None:
            return error(f"the checker modified your answer ({changed}); please report this bug.")
    if ex.prediction is not None and result.status != CORRECT:
        result = _withhold_prediction(ex, answers, result)
    return result


def _blame(exc: BaseException, ex: Exercise) -> Feedback:
    """Report an exception that escaped a grader: the learner's if their code raised it
    (the innermost frame outside this package and the grader's file is theirs), else a
    checker bug."""
    grader_code = _nested_code(getattr(ex.grader, "__code__", None))
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


_NUMBER_RE = re.compile(r"[-−]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def numbers_in(obj) -> list:
    """Return every real number inside ``obj`` (numbers, tensors, arrays, nested containers)."""
    obj = as_plain(obj)
    if isinstance(obj, torch.Tensor):
        return [float(v) for v in obj.detach().reshape(-1).tolist()]
    if isinstance(obj, bool):
        return []
    if isinstance(obj, numbers.Real):
        try:
            return [float(obj)]
        except OverflowError:  # an int beyond float's range states no expected number
            return []
    if isinstance(obj, Mapping):
        obj = list(obj.values())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [v for item in obj for v in numbers_in(item)]
    return []


def reveals(message: str, expected, given=()) -> list:
    """Return the expected numbers that ``message`` states (up to the rounding a learner
    would type), leaving out those the learner gave themselves."""
    shown = [float(t.replace("−", "-")) for t in _NUMBER_RE.findall(message)]
    given = numbers_in(given)

    def near(a, b):
        return math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-9)

    return [e for e in numbers_in(expected) if not any(near(e, g) for g in given) and any(near(e, v) for v in shown)]


def _withhold_prediction(ex: Exercise, answers: tuple, result: Feedback) -> Feedback:
    """A ✗ message of a prediction exercise must not state the expected number: if one
    would, say only that the prediction is wrong (the test tables catch such messages)."""
    try:
        expected = ex.prediction()
    except Exception:
        return result
    if not reveals(result.message, expected, answers):
        return result
    return dataclasses.replace(
        result, message=(f'that is not what torch computes. hint("{ex.key}") walks you through it, step by step.')
    )


def _answer_labels(ex: Exercise, count: int) -> list:
    names = ex.answer_names()
    return [f"`{names[i]}`" if i < len(names) else f"answer {i + 1}" for i in range(count)]


def check(key: str | None = None, *answers, **keywords) -> None:
    """Grade your answer to exercise ``key`` (e.g. "03.2") and print the feedback."""
    print(grade(key, *answers, **keywords))


def hint(key: str, n: int | None = None) -> None:
    """Print hint ``n`` (1-based) for exercise ``key``, or the first hint."""
    try:
        ex = _lookup(key)
    except Reject as rej:
        print(dataclasses.replace(rej.feedback, key=key))
        return
    count = len(ex.hints)
    if count == 0:
        print(f'{key} has no hints; show_solution("{key}") prints the solution.')
        return
    i = 1 if n is None else n
    if not isinstance(i, int) or not 1 <= i <= count:
        print(f'{key} has {count} hint(s): use hint("{key}", n) with n from 1 to {count}.')
        return
    more = f'  (next: hint("{key}", {i + 1}))' if i < count else f'  (still stuck? show_solution("{key}"))'
    print(f"Hint {i}/{count} for {key} ({ex.title}): {ex.hints[i - 1]}{more}")


def show_solution(key: str) -> None:
    """Print the reference solution of exercise ``key`` as source code."""
    try:
        ex = _lookup(key)
    except Reject as rej:
        print(dataclasses.replace(rej.feedback, key=key))
        return
    source = ex.solution_source()
    print(
        f"# Solution to {key}: {ex.title}\n{source}"
        if source
        else f"{key} has no stored solution{' source' if ex.solution is not None else ''}."
    )


# --------------------------------------------------------------------------- stubs


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


# --------------------------------------------------------------------------- global state


@functools.cache
def _torch_namespaces() -> tuple:
    """torch's objects whose attributes learner code must not change: its optimizer classes,
    ``torch.Tensor``, ``torch.nn.Module`` and the ``torch``, ``torch.optim`` and
    ``torch.nn.functional`` modules."""
    found = [torch, torch.optim, torch.nn.functional, torch.Tensor, torch.nn.Module, torch.optim.Optimizer]
    found += [
        c
        for c in vars(torch.optim).values()
        if isinstance(c, type) and issubclass(c, torch.optim.Optimizer) and c is not torch.optim.Optimizer
    ]
    return tuple(found)


def _watched_namespaces(own_modules: bool = True) -> list:
    """torch's namespaces (:func:`_torch_namespaces`) and, with ``own_modules``, this
    package's checker and optimizer modules (their constants)."""
    found = list(_torch_namespaces())
    if own_modules:
        package = __package__.rsplit(".", 1)[0]  # myoptim_helpers
        found += [
            m
            for name, m in list(sys.modules.items())
            if m is not None and name.startswith((__package__, package + ".optim"))
        ]
    return found


@functools.cache
def _torch_warmed_up() -> bool:
    """Let torch do its own lazy patching once, before the first snapshot: the first
    optimizer imports torch._dynamo (which wraps e.g. ``torch.manual_seed``), and each
    optimizer class wraps its ``step`` on first construction. Without this, torch's own
    first-use changes would be taken for the learner's."""
    import torch._dynamo  # noqa: F401

    for cls in vars(torch.optim).values():
        if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer) and cls is not torch.optim.Optimizer:
            with contextlib.suppress(Exception), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cls([torch.nn.Parameter(torch.zeros(2, 2))])
    return True


def _public_class_name(cls) -> str:
    """'torch.optim.SGD', 'torch.Tensor', 'torch.nn.Module': where a learner reaches the class."""
    for module, prefix in ((torch.optim, "torch.optim"), (torch, "torch"), (torch.nn, "torch.nn")):
        if getattr(module, cls.__name__, None) is cls:
            return f"{prefix}.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def _snapshot_namespaces(own_modules: bool = True) -> list:
    _torch_warmed_up()
    return [(ns, dict(vars(ns))) for ns in _watched_namespaces(own_modules)]


def _restore_namespaces(snapshot) -> list:
    """Undo attribute changes since ``snapshot``; return the names changed ("torch.optim.SGD.step").

    An attribute added to a module is kept when it is a module (a lazy import, e.g. torch
    importing ``torch._dynamo`` on first use), removed otherwise; on a class every added
    attribute is removed.
    """
    changed = []
    for ns, before in snapshot:
        now = vars(ns)
        is_module = isinstance(ns, types.ModuleType)
        label = ns.__name__ if is_module else _public_class_name(ns)
        for name in [n for n in now if n not in before]:
            if is_module and isinstance(now[name], types.ModuleType):
                continue
            if is_module and name.startswith("__"):
                continue
            changed.append(f"{label}.{name}")
            with contextlib.suppress(AttributeError, TypeError):
                delattr(ns, name)
        for name, value in before.items():
            if name not in now or now[name] is not value:
                if name in ("__doc__", "__dict__", "__weakref__"):
                    continue
                changed.append(f"{label}.{name}")
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(ns, name, value)
    return changed


@contextlib.contextmanager
def preserved_global_state():
    """Run with gradients enabled (graders train models, even when the notebook has
    switched gradients off), then restore on exit: torch/python/numpy RNG state, default
    dtype, default device, grad mode, anomaly mode, deterministic mode, thread count,
    print options, warning filters, and any attribute of torch's optimizer classes,
    ``torch.Tensor``, ``torch.optim``, ``torch`` or this package's modules that was changed."""
    torch_rng = torch.get_rng_state()
    py_rng = random.getstate()
    np_random = sys.modules.get("numpy.random")
    np_rng = np_random.get_state() if np_random is not None else None
    dtype = torch.get_default_dtype()
    device = torch.get_default_device()
    grad = torch.is_grad_enabled()
    anomaly = (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled())
    deterministic = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    threads = torch.get_num_threads()
    print_options = (
        dataclasses.asdict(torch._tensor_str.PRINT_OPTS)
        if dataclasses.is_dataclass(torch._tensor_str.PRINT_OPTS)
        else dict(vars(torch._tensor_str.PRINT_OPTS))
    )
    filters = warnings.filters[:]
    namespaces = _snapshot_namespaces()
    try:
        torch.set_grad_enabled(True)
        yield
    finally:
        _restore_namespaces(namespaces)
        torch.set_rng_state(torch_rng)
        random.setstate(py_rng)
        if np_rng is not None:
            np_random.set_state(np_rng)
        torch.set_default_dtype(dtype)
        if torch.get_default_device() != device:
            torch.set_default_device(device)
        torch.set_grad_enabled(grad)
        torch.set_anomaly_enabled(*anomaly)
        torch.use_deterministic_algorithms(deterministic[0], warn_only=deterministic[1])
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        for name, value in print_options.items():
            setattr(torch._tensor_str.PRINT_OPTS, name, value)
        warnings.filters[:] = filters


@contextlib.contextmanager
def _modes_kept():
    """Restore grad mode, default dtype and default device after one call of learner code,
    so that the grader's next steps run as they should (the whole state is restored after
    the check by :func:`preserved_global_state`)."""
    grad, dtype, device = torch.is_grad_enabled(), torch.get_default_dtype(), torch.get_default_device()
    try:
        yield
    finally:
        torch.set_grad_enabled(grad)
        torch.set_default_dtype(dtype)
        if torch.get_default_device() != device:
            torch.set_default_device(device)


class LearnerTimeout(BaseException):
    """Raised inside learner code when its time budget is spent. A BaseException, so that
    a learner's ``except Exception:`` does not swallow it."""


def _alarm_available() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def time_limit(seconds: float, label: str = "your function"):
    """Raise :class:`LearnerTimeout` in the block once it has run ``seconds``.

    Uses ``signal.setitimer`` (Linux, macOS, Colab), re-firing every 0.1 s so that a bare
    ``except:`` in a loop cannot hold on; nests (an outer budget keeps counting); where
    there is no alarm (Windows, a thread other than the main one) the block runs unlimited.
    A single long C call (one huge matrix product) is interrupted only when it returns.
    """
    if not _alarm_available() or seconds is None:
        yield
        return
    start = time.monotonic()
    message = f"{label} did not return within {seconds:g} s: does it loop forever?"

    def on_alarm(signum, frame):
        raise LearnerTimeout(message)

    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
    if 0 < old_delay < seconds:  # an outer budget ends first: keep it
        signal.setitimer(signal.ITIMER_REAL, old_delay, old_interval)
        signal.signal(signal.SIGALRM, old_handler)
        old_handler, old_delay = None, -1.0
    try:
        yield
    finally:
        if old_delay >= 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
            if old_delay > 0:
                remaining = max(old_delay - (time.monotonic() - start), 1e-3)
                signal.setitimer(signal.ITIMER_REAL, remaining, old_interval)


class _CappedStream(io.TextIOBase):
    """Forwards up to ``budget[0]`` characters to ``target``, then says once that the rest
    was cut."""

    def __init__(self, target, budget: list):
        self.target, self.budget = target, budget

    def write(self, text):
        if self.budget[0] > 0:
            self.target.write(text[: self.budget[0]])
            self.budget[0] -= len(text)
            if self.budget[0] <= 0:
                self.target.write(
                    f"\n[... the rest of what your code printed during this "
                    f"check is cut: it printed more than {PRINT_LIMIT} "
                    "characters]\n"
                )
        return len(text)

    def flush(self):
        with contextlib.suppress(Exception):
            self.target.flush()

    @property
    def encoding(self):
        """The encoding of the stream written to (code that prints may ask for it)."""
        return getattr(self.target, "encoding", "utf-8")


@contextlib.contextmanager
def _capped_output():
    """Let learner code print at most :data:`PRINT_LIMIT` characters during one check."""
    budget = [PRINT_LIMIT]
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _CappedStream(out, budget), _CappedStream(err, budget)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


@contextlib.contextmanager
def seeded(seed: int):
    """Run a block with ``torch.manual_seed(seed)``, restoring the caller's RNG state after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def private_copy(*objs):
    """Return a deep copy of ``objs`` (as a tuple, or the object if one), links between
    them kept: ``model, opt = private_copy(model, opt)`` gives an optimizer over the copy."""
    copied = copy.deepcopy(objs)
    return copied[0] if len(objs) == 1 else copied


# --------------------------------------------------------------------------- calling learner code


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
    not return within N s: does it loop forever?". Any exception but KeyboardInterrupt is
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
        raise Reject(
            error(f"{label} raised {type(exc).__name__}{': ' + message if message else ''}{_where(exc.__traceback__)}")
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


def _function_label(fn) -> str:
    fname = getattr(fn, "__name__", None)
    if fname is None or not callable(fn):
        return "your answer"
    return "your lambda" if fname == "<lambda>" else f"`{fname}`"


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


# --------------------------------------------------------------------------- checks on values


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


def expect_number(value, name: str, *, limit: float = NUMBER_LIMIT) -> float:
    """Return ``value`` as a float if it is a real finite number (int, float, numpy scalar,
    1-element tensor) no larger than ``limit`` in size."""
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
    if not math.isfinite(value):
        fail(f"{name} is {value}; expected a finite number.")
    if limit is not None and abs(value) > limit:
        fail(
            f"{name} = {value:.3g} is too large to be a useful answer (more than {limit:g} "
            "in size; float32 overflows at 3.4e38)."
        )
    return value


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


def expect_close(got, expected, name: str, *, rtol=None, atol=None):
    """Stop with "name: got X, expected Y" unless ``got`` is close to ``expected``.

    Works for numbers and tensors (shape is checked first); tolerance defaults to
    :func:`tolerance` of the expected dtype.
    """
    m = _compare(got, expected, rtol, atol)
    if m is not None:
        index, g, e, detail = m
        fail(f"{name}{_index_text(index)}: {detail or f'got {fmt(g, e)}, expected {fmt(e, g)}'}.")
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


# --------------------------------------------------------------------------- step-by-step comparison


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
        what = self.detail or f"got {fmt(self.got, self.expected)}, expected {fmt(self.expected, self.got)}"
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
    tensors, or a dict ``{name: tensor}``. Tolerance defaults to :func:`tolerance`. With
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
