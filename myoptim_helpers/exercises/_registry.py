"""The registry and the notebook API: from a key such as "03.2" to the line ``check`` prints.

A lesson module (``lesson03.py``) registers graders with :func:`exercise`::

    from ._assertions import expect_tensor
    from ._calling import call
    from ._feedback import correct, incorrect
    from ._registry import exercise

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
2. Any answer that is still a stub (:mod:`._stubs`) gives "not attempted yet" without
   calling the grader.
3. The grader runs isolated (:mod:`._isolation`): global state is restored afterwards,
   learner code it runs has :data:`CHECK_SECONDS` in all, and its printing is capped. The
   grader must not modify the learner's answers: :func:`grade` verifies this, and reports a
   checker bug if it does.
4. Helpers raise :class:`~._feedback.Reject` to end grading with their feedback, so a
   grader is a straight line of ``expect_*``/``call`` and a final ``return correct(...)``.
5. Whatever else escapes a grader is blamed on the learner when the innermost frame outside
   this package is the learner's code, and on the checker only otherwise (:mod:`._calling`).
6. A prediction exercise's ✗ never states the expected number (:func:`reveals`): such a
   message is replaced by one that points to the hints.
7. Predict, then reveal: the cell after a prediction starts with ``if reveal("04.3"):``.
   :func:`reveal` is true once the exercise was attempted in this kernel (any answer that is
   not a stub reached its grader); until then it prints what to do first. So the learner's
   notebook, committed executed with its stubs, stores the instruction in that cell, not the
   truth, while the solved notebook stores the truth.

The declarative side (configurations drawn at check time, tables of known mistakes, one
policy for unrequested options and answer types) lives in :mod:`._engine`.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import numbers
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from ._assertions import as_plain
from ._calling import _blame, _fingerprint, _first_difference
from ._feedback import CORRECT, Feedback, Reject, error, not_attempted
from ._isolation import LearnerTimeout, _capped_output, preserved_global_state, time_limit
from ._stubs import stub_reason

__all__ = [
    "check",
    "hint",
    "show_solution",
    "grade",
    "exercise",
    "Exercise",
    "exercises_of",
    "CHECK_SECONDS",
    "numbers_in",
    "reveals",
    "reveal",
    "attempted",
]

_KEY_RE = re.compile(r"^(\d\d)\.(\d+)$")

CHECK_SECONDS = 60.0  # budget of a whole check, for learner code a grader runs without `call`

# The one piece of state the exercises keep: which keys were attempted in this kernel, so that
# a reveal cell (:func:`reveal`) shows the truth only after the learner has committed to an
# answer. Keys of ``predictions.QUESTIONS`` are added when a choice is made.
_ATTEMPTED: set = set()


# --------------------------------------------------------------------------- registration


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


# --------------------------------------------------------------------------- grading


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
    _ATTEMPTED.add(ex.key)
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
        result = _blame(exc, ex.grader)
    if not isinstance(result, Feedback):
        return error(f"the checker returned {type(result).__name__}, not Feedback (a checker bug).")
    for label, b, answer in zip(labels, before, answers):
        changed = _first_difference(b, _fingerprint(answer), label.strip("`"))
        if changed is not None:
            return error(f"the checker modified your answer ({changed}); please report this bug.")
    if ex.prediction is not None and result.status != CORRECT:
        result = _withhold_prediction(ex, answers, result)
    return result


def _answer_labels(ex: Exercise, count: int) -> list:
    names = ex.answer_names()
    return [f"`{names[i]}`" if i < len(names) else f"answer {i + 1}" for i in range(count)]


# --------------------------------------------------------------------------- predictions


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


# --------------------------------------------------------------------------- notebook API


def check(key: str | None = None, *answers, **keywords) -> None:
    """Grade your answer to exercise ``key`` (e.g. "03.2") and print the feedback."""
    print(grade(key, *answers, **keywords))


def attempted(key: str) -> bool:
    """Whether exercise (or prediction) ``key`` has been attempted in this kernel."""
    return key in _ATTEMPTED


def record_attempt(key: str) -> None:
    """Note that prediction ``key`` was answered (what a prediction's choice calls)."""
    _ATTEMPTED.add(key)


def reveal(key: str) -> bool:
    """True once ``key`` was attempted; otherwise print what to do first and return False.

    A lesson's reveal cell is ``if reveal("04.3"): <run torch and show the truth>``, so the
    truth appears only after the learner has committed to a prediction."""
    if not isinstance(key, str):
        raise TypeError(f'reveal takes the key of an exercise, such as reveal("04.3"), not {type(key).__name__}')
    if key in _ATTEMPTED:
        return True
    if _KEY_RE.match(key):
        try:
            _lookup(key)
        except Reject as rej:  # an unknown key is a typo in the lesson: fail loudly, here
            raise ValueError(rej.feedback.message) from None
        print(
            f"○ {key}: this cell shows its result once you have checked an answer of your own above "
            f'(right or wrong): run check("{key}", ...), then run this cell again.'
        )
    else:
        from .. import predictions

        if key not in predictions.QUESTIONS:
            known = ", ".join(predictions.QUESTIONS)
            raise ValueError(f"there is no exercise or prediction {key!r}; the predictions are {known}")
        print(f"○ {key}: choose an answer in the question above, then run this cell again to see the truth.")
    return False


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
