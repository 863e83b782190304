"""Predict, then reveal: multiple-choice questions that lessons 03-07 ask before showing a result.

Each question lives here, not in the notebook, so that the lesson's source does not show the
answer before the learner has chosen. :func:`myoptim_helpers.widgets.predict` shows one as
buttons; :func:`answer` grades a choice without widgets (what the buttons call, and what the
tests call). The revealed text is computed when asked for, from torch (or from a lesson's
reference optimizer where torch has none), never stored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["QUESTIONS", "Question", "answer"]


@dataclass(frozen=True)
class Question:
    """One prediction: the question, the choices, the index of the right one, and the reveal.

    ``giveaways`` are phrases that state the answer: the lesson must not show them (nor the
    reveal's figures) before it asks (``tests/test_predictions.py`` reads the notebook).
    """

    text: str
    choices: tuple[str, ...]
    correct: int
    reveal: Callable[[], str]
    giveaways: tuple[str, ...] = ()


def _reveal_momentum_rate() -> str:
    from .spectral import momentum_rate

    flat, steep = (float(momentum_rate(0.05, 0.9, lam)) for lam in (0.2, 4.0))
    return (
        f"With momentum 0.9 both directions have complex roots, and |z| = √0.9 = {flat:.3f} "
        f"for the flat one as for the steep one ({steep:.3f}). Without momentum the flat "
        f"direction shrinks by {1 - 0.05 * 0.2:.3f} per step: momentum made it about "
        f"{math.log(flat) / math.log(0.99):.0f} times faster (in steps per factor e)."
    )


def _first_step(optimizer_class, scale: float) -> float:
    w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = optimizer_class([w], lr=0.01)
    (scale * ((w - torch.tensor([3.0, 0.85], dtype=torch.float64)) ** 2).sum()).backward()
    opt.step()
    return (w.detach() - torch.tensor([1.0, -2.0], dtype=torch.float64)).abs().max().item()


def _reveal_scale() -> str:
    sgd, sgd_small = (_first_step(torch.optim.SGD, s) for s in (1.0, 1e-6))
    adam, adam_small = (_first_step(torch.optim.Adam, s) for s in (1.0, 1e-6))
    # six decimals show eps's small share at gradients of about 6e-6, and give the lesson's
    # give-away test figures that no earlier output prints by chance
    return (
        f"First step, lr=0.01: SGD moves {sgd:.3g}, and {sgd_small:.3g} with the loss × 1e-6 "
        f"(a million times less). Adam moves {adam:.6f} and {adam_small:.6f}: the same, "
        "because it divides the gradient by its own size. The small difference is eps = 1e-8, "
        "added to that size, which takes over once the gradient is about as small as eps."
    )


def _reveal_decay() -> str:
    scales = torch.tensor([10.0, 1.0, 0.1, 0.01], dtype=torch.float64)
    torch_state = torch.get_rng_state()
    try:
        torch.manual_seed(0)
        p = torch.ones(4, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([p], lr=1e-3, weight_decay=0.1)
        decay_avg = torch.zeros(4, dtype=torch.float64)
        for t in range(1, 102):  # noqa: B007 - the last t is the step count read below
            theta = p.detach().clone()
            decay_avg.mul_(0.9).add_(0.1 * theta, alpha=0.1)
            p.grad = scales * torch.randn(4, dtype=torch.float64)
            opt.step()
        denom = (opt.state[p]["exp_avg_sq"] / (1 - 0.999**t)).sqrt() + 1e-8
        ratios = (decay_avg / (1 - 0.9**t) / denom / (0.1 * theta)).tolist()
    finally:
        torch.set_rng_state(torch_state)
    table = ", ".join(f"size {s:g}: {r:.2f}" for s, r in zip(scales.tolist(), ratios))
    return (
        "The weight with the smallest gradients. Adam divides the L2 term by √v̂ like the "
        f"gradient, so the decay per weight, relative to AdamW's, is {table}. AdamW gives "
        "every weight 1."
    )


def _reveal_sign() -> str:
    from .exercises.lesson06 import sign_method_runs  # the lesson's own reference Signum

    run = sign_method_runs("ravine", 60, start=(-3.95, 2.05), lr=0.1)["sign-SGD, lr=0.1"]
    (a, b), (x, y) = run.positions[-2].tolist(), run.final_position
    near = (run.positions.abs() <= 0.05 + 1e-9).all(dim=1)
    settled = len(near) - int(near.flip(0).cumprod(0).sum())  # first step of the last run of Trues
    return (
        f"It hops around the minimum forever: after 60 steps it is at ({x:.4f}, {y:.4f}), and "
        f"from step {settled} on it jumps between the corners ({a:.2f}, {b:.2f}) and "
        f"({x:.2f}, {y:.2f}) with the loss stuck at {run.final_loss:.5f}. Every sign-SGD step moves each "
        "coordinate by exactly lr = 0.1, however close the minimum is: a sign method needs "
        "a decaying lr."
    )


def _drop_steps(steps: int) -> tuple[list[float], list[float]]:
    """Step lengths of torch's SGD and of Sutskever et al.'s velocity, momentum 0.9, gradient 1,
    lr 1.0 for 4 steps then 0.1 (torch's MultiStepLR)."""
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    sgd = torch.optim.SGD([w], lr=1.0, momentum=0.9)
    drop = torch.optim.lr_scheduler.MultiStepLR(sgd, milestones=[4], gamma=0.1)
    velocity, torch_steps, paper_steps = 0.0, [], []
    for _ in range(steps):
        lr, before = sgd.param_groups[0]["lr"], w.item()
        sgd.zero_grad()
        w.sum().backward()
        sgd.step()
        drop.step()
        velocity = 0.9 * velocity - lr * 1.0  # v_t = μ v_{t−1} − lr · g_t, θ_t = θ_{t−1} + v_t
        torch_steps.append(before - w.item())
        paper_steps.append(-velocity)
    return torch_steps, paper_steps


def _reveal_lr_drop() -> str:
    ours, paper = _drop_steps(50)
    return (
        f"Both approach 1.0 = 0.1 / (1 − 0.9), from opposite sides. Step 4, lr 1.0: both "
        f"{ours[3]:.2f}. Step 5, lr 0.1: torch {ours[4]:.2f}, Sutskever {paper[4]:.2f}. Step 20: "
        f"torch {ours[19]:.2f}, Sutskever {paper[19]:.2f}. Step 50: torch {ours[49]:.3f}, "
        f"Sutskever {paper[49]:.3f}. torch's buffer fills up again with gradients towards "
        "1 / (1 − μ) = 10, so its step grows back; Sutskever's velocity loses the old lr's "
        "terms as 0.9^k. With the lr constant again, both tend to lr · g / (1 − μ)."
    )


QUESTIONS: dict[str, Question] = {
    "03.rate": Question(
        "SGD with lr=0.05 and momentum=0.9 on the ravine 0.1x² + 2y²: by what factor per step "
        "does the flat x direction (curvature 0.2) shrink, once the first steps are over?",
        (
            "0.990, as without momentum: momentum only smooths the path",
            "0.949 = √0.9, exactly as fast as the steep direction",
            "0.900 = μ",
            "0.5: momentum multiplies the speed by 1/(1 − μ) = 10",
        ),
        1,
        _reveal_momentum_rate,
        # the complex regime's |z| = √μ for any lr and curvature is the answer: lesson 03
        # derives it after asking
        giveaways=("whatever lr and", "as fast as the steep", "\\sqrt{0.9}", "√0.9", "\\sqrt{\\mu}", "√μ"),
    ),
    "04.scale": Question(
        "The loss is multiplied by 1e-6 (say, a loss already averaged over a million elements "
        "is averaged over them once more by mistake). What happens to the first step of SGD and "
        "of Adam, same lr?",
        (
            "both steps become a million times smaller",
            "SGD's step a million times smaller, Adam's the same",
            "SGD's step the same, Adam's a million times smaller",
            "Adam's step a thousand times smaller (the square root of 1e-6)",
        ),
        1,
        _reveal_scale,
        giveaways=(
            "ignores the gradient's scale",
            "whatever the gradient",
            "`lr` for any gradient",
            "by its own size",
        ),
    ),
    "05.decay": Question(
        "Adam(weight_decay=0.1), decay on from the start, four weights whose gradients have "
        "sizes 10, 1, 0.1 and 0.01. Which weight is decayed the most per step?",
        ("the one with gradients of size 10", "the one with gradients of size 0.01", "all four the same, as with SGD"),
        1,
        _reveal_decay,
        giveaways=("small is decayed", "decayed a lot", "barely decayed", "smallest gradients", "how *little*"),
    ),
    "06.sign": Question(
        "sign-SGD (a step of lr · sign(gradient)), lr=0.1, 60 steps on the ravine from "
        "(−3.95, 2.05). Where is it at the end?",
        (
            "exactly at the minimum (0, 0)",
            "hopping around the minimum at a fixed distance, forever",
            "far away: it diverged",
            "still at x ≈ −2, crawling like SGD in the flat direction",
        ),
        1,
        _reveal_sign,
        giveaways=("hop", "corners", "lands on", "never shrinks", "needs a learning rate that decays"),
    ),
    "07.drop": Question(
        "Momentum 0.9, gradient always 1, lr 1.0 for 4 steps, then 0.1 from step 5 on. Right "
        "after the drop torch's step is short and Sutskever et al.'s still long (lesson 03). "
        "What do the two step lengths do over the next 50 steps?",
        (
            "torch's settles at 0.1 / (1 − 0.9) = 1.0, Sutskever's at 1.0 / (1 − 0.9) = 10, ten times longer",
            "torch's grows, Sutskever's shrinks, until both are 0.1 / (1 − 0.9) = 1.0",
            "both shrink to the new lr times the gradient, 0.1 × 1 = 0.1",
            "Sutskever's falls to torch's first step after the drop, 0.1 · b₅, and both stay there",
        ),
        1,
        _reveal_lr_drop,
        giveaways=("grows back", "grows again", "fills up", "from opposite sides", "both tend to"),
    ),
}


def answer(key: str, choice: int) -> str:
    """Grade ``choice`` (an index into the question's choices) and return the reveal text.

    Raises ``KeyError`` for an unknown key and ``ValueError`` for a choice out of range.
    """
    question = QUESTIONS[key]
    if not 0 <= choice < len(question.choices):
        raise ValueError(f"choice must be 0 to {len(question.choices) - 1}, got {choice}")
    from .exercises._registry import record_attempt

    record_attempt(key)  # a later `if reveal(key):` cell now shows the truth
    verdict = "✓ Right." if choice == question.correct else f"✗ Not quite: you chose “{question.choices[choice]}”."
    return f"{verdict} {question.reveal()}"
