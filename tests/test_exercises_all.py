"""What every exercise of every lesson promises, checked across the whole series.

The per-lesson files (`test_exercises_NN.py`) test each checker's feedback in detail;
this file holds the contract that all of them share: at least three exercises per lesson,
hints and a reference solution one call away, an unsolved stub is "not attempted", and
misuse of `check`/`hint` answers in one line instead of raising.
"""

import inspect
import pathlib

import pytest

from myoptim_helpers.exercises import check, exercises_of, grade, hint, show_solution

ROOT = pathlib.Path(__file__).resolve().parents[1]
LESSONS = sorted(p.name[:2] for p in (ROOT / "notebooks" / "_source").glob("[0-9][0-9]_*.py"))
KEYS = [key for lesson in LESSONS for key in sorted(exercises_of(lesson))]


def arity(key):
    """How many answers `check(key, ...)` takes: the grader's positional parameters."""
    params = inspect.signature(exercises_of(key[:2])[key].grader).parameters.values()
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_has_at_least_three_exercises(lesson):
    assert len(exercises_of(lesson)) >= 3, sorted(exercises_of(lesson))


@pytest.mark.parametrize("key", KEYS)
def test_hints_are_one_call_away_and_a_hint_out_of_range_says_which_exist(key, capsys):
    exercise = exercises_of(key[:2])[key]
    assert exercise.title and exercise.hints, key
    for n in range(1, len(exercise.hints) + 1):
        hint(key, n)
        assert f"Hint {n}/{len(exercise.hints)} for {key}" in capsys.readouterr().out
    hint(key, len(exercise.hints) + 1)
    assert f'use hint("{key}", n) with n from 1 to {len(exercise.hints)}' in capsys.readouterr().out


@pytest.mark.parametrize("key", KEYS)
def test_the_solution_is_one_call_away_and_is_python(key, capsys):
    show_solution(key)
    out = capsys.readouterr().out
    assert out.startswith(f"# Solution to {key}"), out[:200]
    compile(out, f"<solution {key}>", "exec")  # printed code a learner can paste and run


@pytest.mark.parametrize("key", KEYS)
def test_an_unsolved_stub_is_not_attempted(key):
    feedback = grade(key, *[...] * arity(key))
    assert feedback.status == "not attempted", str(feedback)


@pytest.mark.parametrize("key", KEYS)
def test_check_with_no_answer_says_how_many_it_takes_instead_of_raising(key, capsys):
    check(key)
    out = capsys.readouterr().out
    assert f'✗ {key} error: check("{key}", ...) takes {arity(key)} answer(s)' in out, out


@pytest.mark.parametrize("lesson", LESSONS)
def test_an_unknown_key_lists_the_lessons_exercises(lesson, capsys):
    check(f"{lesson}.99", 1)
    out = capsys.readouterr().out
    assert f"there is no exercise {lesson}.99" in out
    assert all(f'"{key}"' in out for key in exercises_of(lesson)), out


# --------------------------------------------------------------------------- predictions

PREDICTIONS = [key for key in KEYS if exercises_of(key[:2])[key].prediction is not None]


def _wrong_predictions(expected):
    """Plausible wrong answers near each expected number: off a little or a lot, the sign
    flipped, doubled, halved, zero, one entry at a time (the others right), and all at once."""

    def perturb(v):
        return [v + 0.1, v - 0.1, v + 1.0, v - 1.0, -v, 2 * v, v / 2, 0.0, v * 1.01, v + 0.01]

    def flat(answer):
        if callable(answer):  # a function answered next to the numbers: held at the reference
            return []
        return [float(v) for v in (answer if isinstance(answer, (list, tuple)) else [answer])]

    shapes = [isinstance(a, (list, tuple)) for a in expected]
    values = [flat(a) for a in expected]
    slots = [(i, j) for i, vs in enumerate(values) for j in range(len(vs))]
    answers = []
    for i, j in slots:
        for wrong in perturb(values[i][j]):
            if abs(wrong - values[i][j]) < 1e-6:
                continue
            changed = [list(vs) for vs in values]
            changed[i][j] = wrong
            answers.append(changed)
    for k in range(len(perturb(0.0))):
        answers.append([[perturb(v)[k] for v in vs] for vs in values])
    return [
        tuple(fixed if callable(fixed) else vs if shaped else vs[0] for vs, shaped, fixed in zip(a, shapes, expected))
        for a in answers
    ]


@pytest.mark.parametrize("key", PREDICTIONS)
def test_no_incorrect_message_of_a_prediction_states_the_expected_number(key):
    from myoptim_helpers.exercises import reveals

    exercise = exercises_of(key[:2])[key]
    expected = exercise.prediction()
    answers = _wrong_predictions(expected)
    assert len(answers) >= 10
    for answer in answers:
        feedback = _grade_raw(exercise, answer)  # before grade()'s safety net withholds a leak
        if feedback.status == "correct":
            continue
        assert not reveals(feedback.message, expected, answer), (answer, feedback.message)


def _grade_raw(exercise, answers):
    """The grader's own message, before grade() would withhold a leaking one."""
    from myoptim_helpers.exercises import Reject

    try:
        return exercise.grader(*answers)
    except Reject as rej:
        return rej.feedback


def test_the_prediction_exercises_are_marked():
    assert {"02.1", "02.2", "02.3", "03.1", "03.2"} <= set(PREDICTIONS)
