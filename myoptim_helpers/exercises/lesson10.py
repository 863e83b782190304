"""Checkers for lesson 10 · Modern optimizers.

- 10.1 ``nadam_momentum``: NAdam's momentum schedule ``mu_t`` and ``mu_{t+1}``, checked
  against the momentum torch.optim.NAdam stores (the ratio of its ``mu_product``).
- 10.2 ``newton_schulz_step``: one quintic Newton-Schulz step of Muon, checked against
  the same polynomial applied to the singular values of an SVD (an independent route).
- 10.3 ``adafactor_factors``: Adafactor's row and column factors and the rank-1
  estimate of the second moment, checked against torch.optim.Adafactor's state.

Every answer is graded on configurations drawn at check time (shapes, float32/float64,
hyperparameters away from the lesson's, zero rows and large gradients), and a wrong one
is run against a table of known mistakes so that the message names the one it matches.
"""

import torch

from ._assertions import expect_number, expect_tensor
from ._engine import Mistake, Spec, config, draw_configs, grade_spec
from ._feedback import fail
from ._registry import exercise

__all__ = ["adafactor_factors", "nadam_momentum", "newton_schulz_step"]


# ----------------------------------------------------------------------------- 10.1


def nadam_momentum(step, beta1, momentum_decay):
    """Return NAdam's momentum coefficients ``(mu_t, mu_{t+1})`` at ``step`` (counted from 1)."""
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    return mu, mu_next


def _configs_10_1():
    def build(draw, i):
        step = draw.choice((1, 2, 3, 7, 50, 400))
        beta1 = draw.uniform(0.5, 0.97)
        # large decays too, so that 0.96 ** (step * decay) moves visibly within a few steps
        momentum_decay = draw.choice((0.004, draw.uniform(0.01, 0.2), draw.uniform(1.0, 30.0)))
        return config(
            f"step={step}, beta1={beta1}, momentum_decay={momentum_decay}",
            step=step,
            beta1=beta1,
            momentum_decay=momentum_decay,
        )

    return draw_configs("10.1", build, 12)


def _reference_10_1(cfg):
    # the closed form torch.optim.NAdam evaluates (tests/test_exercises_10.py checks it against
    # the mu_product torch stores); grading against it costs no NAdam run per configuration
    mu, mu_next = nadam_momentum(cfg["step"], cfg["beta1"], cfg["momentum_decay"])
    return [{"mu": mu, "mu_next": mu_next}]


def _run_10_1(invoke, cfg):
    result = invoke(cfg["step"], cfg["beta1"], cfg["momentum_decay"])
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(
            "`nadam_momentum` should return a pair (mu, mu_next), got "
            + type(result).__name__
            + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
            + "."
        )
    return [{"mu": expect_number(result[0], "mu"), "mu_next": expect_number(result[1], "mu_next")}]


def _mu_variant(
    *,
    base=0.96,
    half=0.5,
    shift=0,
    next_shift=1,
    beta=None,
    decay=None,
    product=False,
    no_beta=False,
    swap=False,
    half_outside=False,
):
    def answer(step, beta1, momentum_decay):
        b = beta1 if beta is None else beta
        d = momentum_decay if decay is None else decay

        def mu(t):
            if product:
                return b * (1.0 - half * base**t * d)
            inner = half * (1.0 - base ** (t * d)) if half_outside else 1.0 - half * base ** (t * d)
            return inner if no_beta else b * inner

        pair = (mu(step + shift), mu(step + next_shift))
        return pair[::-1] if swap else pair

    return answer


MISTAKES_10_1 = (
    Mistake(
        "step from 0",
        _mu_variant(shift=-1, next_shift=0),
        "the schedule is one step late: torch counts `step` from 1 and uses it as it is, "
        "mu_t with t = step and mu_next with t = step + 1.",
    ),
    Mistake(
        "mu_next = mu",
        _mu_variant(next_shift=0),
        "mu_next is the *next* step's coefficient: evaluate the schedule at step + 1.",
    ),
    Mistake("swapped", _mu_variant(swap=True), "the pair is in the wrong order: return (mu, mu_next)."),
    Mistake(
        "no decay",
        _mu_variant(decay=1.0),
        "momentum_decay is missing from the exponent: 0.96 is raised to step * momentum_decay.",
    ),
    Mistake(
        "decay outside",
        _mu_variant(product=True),
        "momentum_decay multiplies the exponent, not the power: 0.96 ** (step * momentum_decay).",
    ),
    Mistake(
        "no half",
        _mu_variant(half=1.0),
        "the schedule starts near beta1 / 2: it is 1 - 0.5 * 0.96 ** (...), with the 0.5.",
    ),
    Mistake(
        "half outside",
        _mu_variant(half_outside=True),
        "the 0.5 multiplies only the power: 1 - 0.5 * 0.96 ** (...), which rises towards 1.",
    ),
    Mistake(
        "no beta1", _mu_variant(no_beta=True), "beta1 is missing: the schedule is beta1 * (1 - 0.5 * 0.96 ** (...))."
    ),
    Mistake("fixed beta1", _mu_variant(beta=0.9), "beta1 is fixed at 0.9: use the `beta1` argument."),
    Mistake(
        "fixed decay",
        _mu_variant(decay=0.004),
        "momentum_decay is fixed at torch's default 0.004: use the `momentum_decay` argument.",
    ),
    Mistake("base 0.9", _mu_variant(base=0.9), "the base of the power is 0.96 (Dozat's schedule), not 0.9."),
)

SPEC_10_1 = Spec(
    configs=_configs_10_1,
    reference=_reference_10_1,
    run=_run_10_1,
    mistakes=MISTAKES_10_1,
    returns=object,
    otherwise="mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay)), at t = step and t = step + 1.",
    success="mu_t and mu_(t+1) are torch.optim.NAdam's in all {n} configurations (early and late steps, "
    "betas and decays away from the defaults).",
)


@exercise(
    "10.1",
    title="NAdam's momentum schedule",
    solution=nadam_momentum,
    hints=[
        "mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay)).",
        "Return the pair for t = step and t = step + 1: `return mu, mu_next`.",
    ],
)
def grade_nadam_momentum(nadam_momentum):
    """nadam_momentum(step, beta1, momentum_decay) -> (mu_t, mu_{t+1})."""
    return grade_spec(SPEC_10_1, nadam_momentum, name="`nadam_momentum`")


# ----------------------------------------------------------------------------- 10.2


def newton_schulz_step(X, a, b, c):
    """Return one quintic Newton-Schulz step ``a X + b (X X^T) X + c (X X^T)^2 X``."""
    A = X @ X.T
    return a * X + (b * A + c * A @ A) @ X


def _configs_10_2():
    def build(draw, i):
        shape = draw.choice(((3, 5), (4, 4), (6, 2), (1, 4), (5, 3), (2, 7)))
        dtype = draw.dtype()
        coefficients = draw.choice(
            (
                (3.4445, -4.7750, 2.0315),
                (1.5, -0.5, 0.0),
                (draw.uniform(1.0, 4.0), draw.uniform(-5.0, -0.5), draw.uniform(0.2, 3.0)),
            )
        )
        x = draw.tensor(shape, torch.float64, kind=draw.choice(("normal", "mixed")))
        x = (x / x.norm()).to(dtype)  # as Muon feeds it: singular values in [0, 1]
        a, b, c = coefficients
        return config(f"X of shape {shape}, {dtype}, (a, b, c) = {coefficients}", X=x, a=a, b=b, c=c)

    return draw_configs("10.2", build, 10)


def _reference_10_2(cfg):
    # independent route: the step maps each singular value s to a s + b s^3 + c s^5
    x = cfg["X"]
    U, S, Vh = torch.linalg.svd(x.double(), full_matrices=False)
    p = cfg["a"] * S + cfg["b"] * S**3 + cfg["c"] * S**5
    return [((U * p) @ Vh).to(x.dtype)]


def _run_10_2(invoke, cfg):
    x = cfg["X"].clone()
    out = invoke(x, cfg["a"], cfg["b"], cfg["c"])
    return [expect_tensor(out, "the returned matrix", finite=False)]


def _ns(form):
    def answer(X, a, b, c):
        A = X @ X.T
        return form(X, A, a, b, c)

    return answer


MISTAKES_10_2 = (
    Mistake(
        "b and c swapped",
        _ns(lambda X, A, a, b, c: a * X + (c * A + b * A @ A) @ X),
        "b and c are swapped: b multiplies (X X^T) X, the cubic term, and c the quintic (X X^T)^2 X.",
    ),
    Mistake("no a", _ns(lambda X, A, a, b, c: X + (b * A + c * A @ A) @ X), "the linear term is a X, not X."),
    Mistake("no c", _ns(lambda X, A, a, b, c: a * X + b * A @ X), "the quintic term c (X X^T)^2 X is missing."),
    Mistake(
        "c A X",
        _ns(lambda X, A, a, b, c: a * X + (b * A + c * A) @ X),
        "the quintic term is c (X X^T)(X X^T) X: A @ A, not A once.",
    ),
    Mistake(
        "elementwise",
        lambda X, a, b, c: a * X + b * (X * X) * X + c * (X * X) ** 2 * X,
        "the powers are matrix products, not elementwise: A = X @ X.T, then A @ X and A @ A @ X.",
    ),
    Mistake(
        "elementwise A A",
        _ns(lambda X, A, a, b, c: a * X + (b * A + c * A * A) @ X),
        "(X X^T)^2 is the matrix product A @ A, not the elementwise A * A.",
    ),
    Mistake(
        "septic",
        _ns(lambda X, A, a, b, c: a * X + (b * A + c * A @ A @ A) @ X),
        "the last term is c (X X^T)^2 X, a fifth power of X: A @ A @ X, not A @ A @ A @ X.",
    ),
    Mistake(
        "X^T X on the left",
        lambda X, a, b, c: a * X + (b * (X.T @ X) + c * (X.T @ X) @ (X.T @ X)) @ X,
        "X^T X belongs on the right of X (X (X^T X) = (X X^T) X); on the left it is another matrix.",
    ),
    Mistake(
        "default coefficients",
        _ns(lambda X, A, a, b, c: 3.4445 * X + (-4.7750 * A + 2.0315 * A @ A) @ X),
        "the coefficients are torch's defaults: use the `a`, `b`, `c` arguments.",
    ),
    Mistake(
        "transposed",
        _ns(lambda X, A, a, b, c: (a * X + (b * A + c * A @ A) @ X).T),
        "the result is transposed: return a matrix of X's shape.",
    ),
    Mistake(
        "minus b",
        _ns(lambda X, A, a, b, c: a * X - (b * A - c * A @ A) @ X),
        "the signs of b and c are flipped: the step adds b A X and c A A X (b is negative already).",
    ),
)

SPEC_10_2 = Spec(
    configs=_configs_10_2,
    reference=_reference_10_2,
    run=_run_10_2,
    mistakes=MISTAKES_10_2,
    returns=object,
    otherwise="A = X @ X.T, then a * X + (b * A + c * A @ A) @ X.",
    success="your step maps every singular value s to a s + b s^3 + c s^5, as an SVD says, "
    "in all {n} configurations (wide, tall and square X, float32 and float64, three coefficient sets).",
)


@exercise(
    "10.2",
    title="One Newton-Schulz step",
    solution=newton_schulz_step,
    hints=[
        "Build the small Gram matrix first: `A = X @ X.T`.",
        "Then `a * X + (b * A + c * A @ A) @ X`. Keep X's dtype; do not normalise X here.",
    ],
)
def grade_newton_schulz_step(newton_schulz_step):
    """newton_schulz_step(X, a, b, c) -> a X + b (X X^T) X + c (X X^T)^2 X."""
    return grade_spec(SPEC_10_2, newton_schulz_step, name="`newton_schulz_step`")


# ----------------------------------------------------------------------------- 10.3


def adafactor_factors(grad):
    """Return Adafactor's ``(row_var, col_var, v)`` for ``grad`` (2 or more dimensions) at its first step.

    ``row_var`` is the mean of ``grad ** 2`` over the last dimension (keepdim), ``col_var``
    over the second-to-last, and ``v = row_var @ col_var / mean(row_var)`` the rank-1
    estimate of ``grad ** 2``.
    """
    sq = grad * grad
    row_var = sq.mean(dim=-1, keepdim=True)
    col_var = sq.mean(dim=-2, keepdim=True)
    v = row_var @ col_var / row_var.mean(dim=-2, keepdim=True)
    return row_var, col_var, v


def _configs_10_3():
    def build(draw, i):
        shape = draw.choice(((3, 4), (5, 2), (1, 6), (4, 1), (2, 3, 4), (4, 4), (3, 2, 5)))
        dtype = draw.dtype()
        kind = draw.choice(("normal", "large", "small", "mixed", "zero row"))
        g = draw.tensor(shape, torch.float64, kind="normal" if kind == "zero row" else kind)
        if kind == "zero row" and shape[-2] > 1:
            g[..., 0, :] = 0.0  # a unit with no gradient: its row factor is 0
        return config(f"grad of shape {shape}, {dtype}, {kind} values", grad=g.to(dtype))

    return draw_configs("10.3", build, 10)


def _reference_10_3(cfg):
    """torch.optim.Adafactor's state after one step (beta2_hat = 1 ** decay = 1 copies the means)."""
    grad = cfg["grad"]
    p = torch.zeros_like(grad, requires_grad=True)
    opt = torch.optim.Adafactor([p], lr=0.0)
    p.grad = grad.clone()
    opt.step()
    row_var, col_var = opt.state[p]["row_var"], opt.state[p]["col_var"]
    v = row_var @ col_var / row_var.mean(dim=-2, keepdim=True)
    return [{"row_var": row_var, "col_var": col_var, "v": v}]


def _run_10_3(invoke, cfg):
    result = invoke(cfg["grad"].clone())
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        fail(
            "`adafactor_factors` should return three tensors (row_var, col_var, v), got "
            f"{type(result).__name__}"
            + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
            + "."
        )
    return [{name: expect_tensor(t, name, finite=False) for name, t in zip(("row_var", "col_var", "v"), result)}]


def _factors(*, sq=lambda g: g * g, reduce=torch.mean, rows=-1, cols=-2, keepdim=True, estimate=None):
    def answer(grad):
        s = sq(grad)
        row_var = reduce(s, dim=rows, keepdim=keepdim)
        col_var = reduce(s, dim=cols, keepdim=keepdim)
        v = (estimate or (lambda r, c: r @ c / r.mean(dim=-2, keepdim=True)))(row_var, col_var)
        return row_var, col_var, v

    return answer


def _full_v(grad):
    row_var, col_var, _ = adafactor_factors(grad)
    return row_var, col_var, grad * grad


def _var(s, dim, keepdim):
    return s.var(dim=dim, keepdim=keepdim)


MISTAKES_10_3 = (
    Mistake(
        "swapped",
        _factors(rows=-2, cols=-1, estimate=lambda r, c: c.mT @ r.mT / c.mean(dim=-1, keepdim=True)),
        "rows and columns are swapped: row_var averages over the last dimension (one number per row).",
    ),
    Mistake(
        "no keepdim",
        _factors(
            keepdim=False,
            estimate=lambda r, c: r.unsqueeze(-1) @ c.unsqueeze(-2) / r.mean(dim=-1, keepdim=True).unsqueeze(-1),
        ),
        "keep the reduced dimension (`keepdim=True`): torch stores row_var as (..., n, 1) and col_var as (..., 1, m).",
    ),
    Mistake(
        "sum",
        _factors(reduce=torch.sum, estimate=lambda r, c: r @ c / r.sum(dim=-2, keepdim=True)),
        "the factors are means of grad ** 2, not sums.",
    ),
    Mistake("not squared", _factors(sq=lambda g: g), "the factors average grad ** 2 (a second moment), not grad."),
    Mistake("abs", _factors(sq=torch.abs), "the factors average grad ** 2, not |grad|."),
    Mistake(
        "variance",
        _factors(reduce=_var, sq=lambda g: g),
        "the factors are means of grad ** 2 (uncentred), not the variance of grad.",
    ),
    Mistake(
        "mean squared",
        _factors(sq=lambda g: g, reduce=lambda s, dim, keepdim: s.mean(dim=dim, keepdim=keepdim) ** 2),
        "square first, then average: mean(grad ** 2), not mean(grad) ** 2.",
    ),
    Mistake(
        "no normalisation",
        _factors(estimate=lambda r, c: r @ c),
        "row_var @ col_var counts the mean of grad ** 2 twice: divide by the mean of row_var.",
    ),
    Mistake(
        "divided by sum",
        _factors(estimate=lambda r, c: r @ c / r.sum(dim=-2, keepdim=True)),
        "divide row_var @ col_var by the *mean* of row_var, not its sum.",
    ),
    Mistake("full v", _full_v, "v is the rank-1 estimate from the two factors, not grad ** 2 itself."),
    Mistake(
        "sqrt",
        _factors(estimate=lambda r, c: (r @ c / r.mean(dim=-2, keepdim=True)).sqrt()),
        "v estimates grad ** 2 itself; the square root comes later, in the update.",
    ),
)
SPEC_10_3 = Spec(
    configs=_configs_10_3,
    reference=_reference_10_3,
    run=_run_10_3,
    mistakes=MISTAKES_10_3,
    returns=object,
    otherwise="row_var = (grad ** 2).mean(dim=-1, keepdim=True), col_var = (grad ** 2).mean(dim=-2, keepdim=True), "
    "v = row_var @ col_var / row_var.mean(dim=-2, keepdim=True).",
    success="row_var and col_var are torch.optim.Adafactor's state and v its estimate, in all {n} configurations "
    "(2-D and 3-D, float32 and float64, large, small and zero rows).",
)


@exercise(
    "10.3",
    title="Adafactor's row and column factors",
    solution=adafactor_factors,
    hints=[
        (
            "Square the gradient, then average it over one dimension at a time, with `keepdim=True`: "
            "dim=-1 gives one number per row, dim=-2 one per column."
        ),
        "The estimate is `row_var @ col_var / row_var.mean(dim=-2, keepdim=True)`.",
    ],
)
def grade_adafactor_factors(adafactor_factors):
    """adafactor_factors(grad) -> (row_var, col_var, v)."""
    return grade_spec(SPEC_10_3, adafactor_factors, name="`adafactor_factors`")
