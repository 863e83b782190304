"""Predict-then-reveal questions of lessons 03-07: each right answer is true (checked against
torch here, independently of the reveal text), every other choice is graded wrong, the
widget shows no answer until a choice is made, and the lesson does not show the answer
before it asks."""

import io
import json
import math
import re
import tokenize
from pathlib import Path

import numpy
import pytest
import torch

from myoptim_helpers import predictions, training, widgets


@pytest.mark.parametrize("key", sorted(predictions.QUESTIONS))
def test_every_choice_gets_a_verdict_and_only_one_is_right(key):
    question = predictions.QUESTIONS[key]
    verdicts = [predictions.answer(key, i) for i in range(len(question.choices))]
    assert [v.startswith("✓") for v in verdicts] == [i == question.correct for i in range(len(verdicts))]
    assert all(v.startswith(("✓", "✗")) for v in verdicts)


@pytest.mark.parametrize("choice", [-1, 99])
def test_a_choice_out_of_range_says_so(choice):
    with pytest.raises(ValueError, match="choice must be"):
        predictions.answer("04.scale", choice)


def test_the_widget_hides_the_answer_until_a_choice():
    w = widgets.predict("05.decay")
    assert w.buttons.value is None and w.readout.value == ""
    assert "0.01" not in repr(w) and "Prediction('05.decay'" in repr(w)
    w.choose(0)
    assert w.readout.value.startswith("✗")
    w.choose(predictions.QUESTIONS["05.decay"].correct)
    assert w.readout.value.startswith("✓")


def _rate(positions, axis, start=100):
    u = positions[:, axis].abs()
    return (u[-1] / u[start]).item() ** (1 / (len(u) - 1 - start))


def test_03_momentum_makes_the_flat_direction_shrink_by_sqrt_mu():
    assert predictions.QUESTIONS["03.rate"].correct == 1
    # torch's run follows u_t = (1 + mu - lr*lam) u_{t-1} - mu u_{t-2} in x, whose roots are
    # complex with modulus sqrt(mu)
    lr, mu, lam = 0.05, 0.9, 0.2
    u = training.run(torch.optim.SGD, "ravine", 60, lr=lr, momentum=mu).positions[:, 0]
    predicted = (1 + mu - lr * lam) * u[1:-1] - mu * u[:-2]
    assert torch.allclose(u[2:], predicted, rtol=0, atol=1e-12)
    roots = numpy.roots([1.0, -(1 + mu - lr * lam), mu])
    assert numpy.iscomplexobj(roots) and numpy.allclose(abs(roots), math.sqrt(mu), rtol=1e-12)


def test_04_adam_ignores_a_loss_scale_and_sgd_does_not():
    assert predictions.QUESTIONS["04.scale"].correct == 1
    steps = {}
    for cls in (torch.optim.SGD, torch.optim.Adam):
        for scale in (1.0, 1e-6):
            w = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)
            opt = cls([w], lr=0.1)
            (scale * (w**2).sum()).backward()
            opt.step()
            steps[cls, scale] = (0.5 - w[0]).item()
    assert steps[torch.optim.SGD, 1e-6] == pytest.approx(1e-6 * steps[torch.optim.SGD, 1.0])
    assert steps[torch.optim.Adam, 1e-6] == pytest.approx(steps[torch.optim.Adam, 1.0], rel=0.02)  # eps: 1%


def test_05_adam_l2_decays_the_weight_with_the_smallest_gradients_most():
    assert predictions.QUESTIONS["05.decay"].correct == 1
    # two Adams on the same gradients, with and without L2 decay from the start: the decay's
    # share of the total displacement is largest for the smallest gradients
    scales = torch.tensor([10.0, 1.0, 0.1, 0.01], dtype=torch.float64)
    ends = []
    for wd in (0.0, 0.1):
        torch.manual_seed(0)
        p = torch.ones(4, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([p], lr=1e-3, weight_decay=wd)
        for _ in range(100):
            p.grad = scales * torch.randn(4, dtype=torch.float64)
            opt.step()
        ends.append(p.detach().clone())
    decay = ends[0] - ends[1]
    assert int(decay.argmax()) == 3 and int(decay.argmin()) == 0


def test_06_sign_sgd_hops_around_the_minimum():
    assert predictions.QUESTIONS["06.sign"].correct == 1
    from myoptim_helpers.exercises.lesson06 import sign_method_runs

    run = sign_method_runs("ravine", 60, start=(-3.95, 2.05), lr=0.1)["sign-SGD, lr=0.1"]
    last = run.positions[-10:]
    assert torch.allclose(last.abs(), torch.full_like(last, 0.05), atol=1e-9)
    assert (last[1:] != last[:-1]).any(dim=1).all()  # it keeps moving


def test_07_after_an_lr_drop_both_steps_tend_to_lr_over_one_minus_mu():
    assert predictions.QUESTIONS["07.drop"].correct == 1
    # Sutskever et al.'s velocity as lesson 03 writes it: v = mu v - lr g, theta += v
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=1.0, momentum=0.9)
    velocity, torch_steps, paper_steps = 0.0, [], []
    for step in range(50):
        lr = 1.0 if step < 4 else 0.1
        opt.param_groups[0]["lr"] = lr
        before = w.item()
        opt.zero_grad()
        w.sum().backward()
        opt.step()
        velocity = 0.9 * velocity - lr * 1.0
        torch_steps.append(before - w.item())
        paper_steps.append(-velocity)
    assert torch_steps[4] < 0.15 * torch_steps[3] and paper_steps[4] > 0.8 * paper_steps[3]  # lesson 03's part
    after = range(4, 49)
    assert all(torch_steps[k + 1] > torch_steps[k] for k in after)  # torch's step grows back
    assert all(paper_steps[k + 1] < paper_steps[k] for k in after)  # Sutskever's shrinks
    assert torch_steps[-1] < 1.0 < paper_steps[-1]
    assert torch_steps[-1] == pytest.approx(1.0, abs=0.01) and paper_steps[-1] == pytest.approx(1.0, abs=0.03)


# --------------------------------------------------------------- the answer is not shown early

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SETTING = re.compile(r"[A-Za-z_]\w*\s*=\s*\d+(?:\.\d+)?")


def _prediction_cells():
    """(notebook, cell index, key) for every ``widgets.predict(key)`` cell of the learner notebooks."""
    found = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for index, cell in enumerate(cells):
            if cell["cell_type"] == "code":
                for key in re.findall(r"widgets\.predict\(\s*[\"']([^\"']+)[\"']", "".join(cell["source"])):
                    found.append((path, index, key))
    return found


def _visible_text(cell) -> str:
    """What a reader of the notebook sees of a cell, besides code: markdown, comments, outputs."""
    source = "".join(cell["source"])
    if cell["cell_type"] == "markdown":
        return source
    parts = [
        token.string
        for token in tokenize.generate_tokens(io.StringIO(source + "\n").readline)
        if token.type == tokenize.COMMENT
    ]
    for output in cell.get("outputs", []):
        parts.append("".join(output.get("text", "")))
        for mime in ("text/plain", "text/markdown", "text/html"):
            parts.append("".join(output.get("data", {}).get(mime, "")))
    return "\n".join(parts)


def _key_figures(question) -> list[str]:
    """The decimal figures of the reveal and of the right choice, less the settings it restates
    (``lr=0.01``) and those that the question or a wrong choice states too."""
    wrong = [choice for i, choice in enumerate(question.choices) if i != question.correct]
    stated = {float(n) for n in _NUMBER.findall(" ".join((question.text, *wrong)))}
    answer = _SETTING.sub("", question.choices[question.correct] + " " + question.reveal())
    answers = _NUMBER.findall(answer)
    return [n for n in dict.fromkeys(answers) if "." in n and float(n) not in stated]


def _shown(figure: str, text: str) -> bool:
    """Whether ``text`` prints ``figure``, at its precision or finer (3.44 is shown by 3.4390).
    A figure of one significant digit must be printed exactly (0.05 by 0.0500, not by 0.047)."""
    decimals = len(figure.split(".")[1])
    rounds = len(figure.replace(".", "").lstrip("0")) >= 2
    return any(
        len(n.split(".")[1]) >= decimals
        and (f"{float(n):.{decimals}f}" == figure if rounds else float(n) == float(figure))
        for n in _NUMBER.findall(text)
        if "." in n
    )


def _giveaways_in(question, text: str) -> list[str]:
    figures = [f for f in _key_figures(question) if _shown(f, text)]
    phrases = [p for p in question.giveaways if p.lower() in text.lower()]
    return figures + phrases


PREDICTION_CELLS = _prediction_cells()


def test_every_question_is_asked_once_in_its_own_lesson():
    asked = [(path.name[:2], key) for path, _, key in PREDICTION_CELLS]
    assert sorted(key for _, key in asked) == sorted(predictions.QUESTIONS)
    assert all(key.startswith(f"{lesson}.") for lesson, key in asked)


@pytest.mark.parametrize(("path", "index", "key"), PREDICTION_CELLS, ids=[key for _, _, key in PREDICTION_CELLS])
def test_the_lesson_does_not_show_the_answer_before_it_asks(path, index, key):
    question = predictions.QUESTIONS[key]
    assert _key_figures(question) or question.giveaways, "nothing to look for: the test could not fail"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    before = "\n".join(_visible_text(cell) for cell in cells[:index])
    after = "\n".join(_visible_text(cell) for cell in cells[index + 1 :])
    assert not _giveaways_in(question, before), f"{path.name} shows {key}'s answer before cell {index}"
    # the same search does find the answer where the lesson discusses it, after the question
    assert _giveaways_in(question, after), f"{path.name}: {key}'s figures never appear after the question"


def test_the_search_reads_a_figure_at_its_own_precision():
    assert _shown("3.44", "step 3.4390") and _shown("0.05", "(0.0500, 0.0500)")
    assert not _shown("0.05", "loss 0.0470") and not _shown("3.44", "about 3.4") and not _shown("0.41", "10.41")
    assert _key_figures(predictions.QUESTIONS["07.drop"])[:2] == ["3.44", "0.41"]  # "lr 1.0" is the question's
