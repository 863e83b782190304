"""Predict, then reveal: a reveal cell shows the truth only after the learner committed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from myoptim_helpers import predictions
from myoptim_helpers.exercises import _registry, attempted, check, reveal


@pytest.fixture(autouse=True)
def fresh_kernel(monkeypatch):
    # each test starts as a kernel in which nothing was attempted yet
    monkeypatch.setattr(_registry, "_ATTEMPTED", set())


def test_a_stub_does_not_count_as_an_attempt(capsys):
    check("04.3", ...)
    capsys.readouterr()
    assert not attempted("04.3")
    assert reveal("04.3") is False
    shown = capsys.readouterr().out
    assert shown.startswith("○ 04.3: this cell shows its result once you have checked an answer of your own")
    assert 'check("04.3", ...)' in shown


def test_a_wrong_answer_counts_and_only_for_its_own_key(capsys):
    check("04.3", lambda grad, step, lr, betas, eps: grad * 0)
    assert "✗" in capsys.readouterr().out
    assert reveal("04.3") is True
    assert capsys.readouterr().out == ""  # the reveal cell prints only the truth itself
    assert reveal("03.1") is False


def test_misusing_check_is_not_an_attempt(capsys):
    check("04.3", lambda *a: 0, lambda *a: 0)  # two answers for a one-answer exercise
    assert "takes 1 answer" in capsys.readouterr().out
    assert not attempted("04.3")


def test_a_prediction_choice_counts(capsys):
    key = next(iter(predictions.QUESTIONS))
    assert reveal(key) is False
    assert "choose an answer in the question above" in capsys.readouterr().out
    predictions.answer(key, 0)
    assert reveal(key) is True


@pytest.mark.parametrize(
    "key, words", [("04.99", "there is no exercise 04.99"), ("99.nope", "no exercise or prediction")]
)
def test_an_unknown_key_is_the_lessons_typo_and_says_so(key, words):
    with pytest.raises(ValueError, match=words):
        reveal(key)


def test_a_key_that_is_not_a_string():
    with pytest.raises(TypeError, match=r'reveal\("04.3"\)'):
        reveal(4.3)


# ------------------------------------------------------- the committed notebooks keep the rule

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
_REVEAL_CELL = re.compile(r'^if (reveal|attempted)\("([^"]+)"\):', re.M)


def _reveal_cells(path: Path) -> list:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = []
    for index, cell in enumerate(cells):
        source = "".join(cell["source"])
        match = _REVEAL_CELL.search(source) if cell["cell_type"] == "code" else None
        if match:
            text = "".join("".join(o.get("text", "")) for o in cell["outputs"] if o["output_type"] == "stream")
            found.append((index, match.group(1), match.group(2), text, len(cell["outputs"])))
    return found


LEARNER_NOTEBOOKS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
REVEALING = [p for p in LEARNER_NOTEBOOKS if _reveal_cells(p)]


def test_the_lessons_use_reveal_cells():
    assert {p.name[:2] for p in REVEALING} >= {"03", "04"}


@pytest.mark.parametrize("path", REVEALING, ids=[p.name for p in REVEALING])
def test_a_learner_notebook_stores_the_instruction_and_the_solved_one_the_truth(path):
    learner = _reveal_cells(path)
    solved = _reveal_cells(NOTEBOOKS / "solutions" / path.name)
    assert [c[:3] for c in learner] == [c[:3] for c in solved]
    for (index, kind, key, text, count), (_, _, _, solved_text, solved_count) in zip(learner, solved):
        if kind == "reveal":
            assert text.startswith(f"○ {key}: this cell shows its result once"), (path.name, index, text)
            assert count == 1, f"{path.name} cell {index} stores more than the instruction"
            assert not solved_text.startswith("○"), f"the solved {path.name} cell {index} shows no result"
        else:  # a cell after the first reveal cell of its key stays empty until then
            assert count == 0, f"{path.name} cell {index} stores output before an attempt"
        assert solved_count >= 1, f"the solved {path.name} cell {index} stores nothing"
