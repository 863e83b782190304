"""Predict, then reveal: multiple-choice questions that lessons 03-07 ask before showing a result.

Each question lives here, not in the notebook, so that the lesson's source does not show the
answer before the learner has chosen. :func:`myoptim_helpers.widgets.predict` shows one as
buttons; :func:`answer` grades a choice without widgets (what the buttons call, and what the
tests call). The revealed text is computed when asked for, from torch, never stored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["QUESTIONS", "Question", "answer"]


@dataclass(frozen=True)
class Question:
    """One prediction: the question, the choices, the index of the right one, and the reveal."""

    text: str
    choices: tuple[str, ...]
    correct: int
    reveal: Callable[[], str]


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
    (scale * ((w - torch.tensor([3.0, 0.5], dtype=torch.float64)) ** 2).sum()).backward()
    opt.step()
    return (w.detach() - torch.tensor([1.0, -2.0], dtype=torch.float64)).abs().max().item()


def _reveal_scale() -> str:
    sgd, sgd_small = (_first_step(torch.optim.SGD, s) for s in (1.0, 1e-6))
    adam, adam_small = (_first_step(torch.optim.Adam, s) for s in (1.0, 1e-6))
    return (
        f"First step, lr=0.01: SGD moves {sgd:.3g}, and {sgd_small:.3g} with the loss × 1e-6 "
        f"(a million times less). Adam moves {adam:.4f} and {adam_small:.4f}: the same, "
        "because it divides the gradient by its own size. Only eps = 1e-8 notices, once the "
        "gradient is as small as eps."
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
    return (
        "It hops around the minimum forever. Every sign-SGD step moves each coordinate by "
        "exactly lr = 0.1, however close the minimum is, so it ends jumping between the "
        "corners (±0.05, ±0.05) with a constant loss. A sign method needs a decaying lr."
    )


def _reveal_lr_drop() -> str:
    return (
        "torch's. Its buffer holds gradients, and the new lr multiplies all of it: at the "
        "drop the step shrinks about tenfold at once (0.29 → 0.044 in lesson 03's run). "
        "Sutskever et al.'s velocity holds steps already scaled by the old lr; the old "
        "terms fade as 0.9^k, so its steps stay long for about ten more steps."
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
    ),
    "04.scale": Question(
        "The loss is multiplied by 1e-6 (say, a mean over a million elements became a sum "
        "divided twice). What happens to the first step of SGD and of Adam, same lr?",
        (
            "both steps become a million times smaller",
            "SGD's step a million times smaller, Adam's the same",
            "SGD's step the same, Adam's a million times smaller",
            "Adam's step a thousand times smaller (the square root of 1e-6)",
        ),
        1,
        _reveal_scale,
    ),
    "05.decay": Question(
        "Adam(weight_decay=0.1), decay on from the start, four weights whose gradients have "
        "sizes 10, 1, 0.1 and 0.01. Which weight is decayed the most per step?",
        ("the one with gradients of size 10", "the one with gradients of size 0.01", "all four the same, as with SGD"),
        1,
        _reveal_decay,
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
    ),
    "07.drop": Question(
        "Momentum 0.9, and the lr drops tenfold in the middle of training. Whose step becomes about "
        "ten times shorter at once: torch's (lr outside the buffer) or Sutskever et al.'s "
        "(lr inside the velocity)?",
        ("torch's", "Sutskever et al.'s", "both", "neither: momentum keeps both steps long"),
        0,
        _reveal_lr_drop,
    ),
}


def answer(key: str, choice: int) -> str:
    """Grade ``choice`` (an index into the question's choices) and return the reveal text.

    Raises ``KeyError`` for an unknown key and ``ValueError`` for a choice out of range.
    """
    question = QUESTIONS[key]
    if not 0 <= choice < len(question.choices):
        raise ValueError(f"choice must be 0 to {len(question.choices) - 1}, got {choice}")
    verdict = "✓ Right." if choice == question.correct else f"✗ Not quite: you chose “{question.choices[choice]}”."
    return f"{verdict} {question.reveal()}"
