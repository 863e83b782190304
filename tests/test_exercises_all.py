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
    assert f"use hint(\"{key}\", n) with n from 1 to {len(exercise.hints)}" in capsys.readouterr().out


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
    assert f"✗ {key} error: check(\"{key}\", ...) takes {arity(key)} answer(s)" in out, out


@pytest.mark.parametrize("lesson", LESSONS)
def test_an_unknown_key_lists_the_lessons_exercises(lesson, capsys):
    check(f"{lesson}.99", 1)
    out = capsys.readouterr().out
    assert f"there is no exercise {lesson}.99" in out
    assert all(f'"{key}"' in out for key in exercises_of(lesson)), out
