"""Lesson 10 checkers: each accepts the reference solution and other correct forms, rejects
realistic mistakes with the mistake named, and calls the stub "not attempted"."""

import pytest
import torch

from myoptim_helpers.exercises import exercises_of, grade, lesson10

# --------------------------------------------------------------------------- 10.1 answers


def mu_math(step, beta1, momentum_decay):
    import math

    mu = beta1 * (1 - 0.5 * math.pow(0.96, step * momentum_decay))
    return mu, beta1 * (1 - 0.5 * math.pow(0.96, (step + 1) * momentum_decay))


def mu_tensor(step, beta1, momentum_decay):
    t = torch.tensor([step, step + 1], dtype=torch.float64)
    mus = beta1 * (1 - 0.5 * torch.pow(0.96, t * momentum_decay))
    return [mus[0], mus[1]]


def mu_stub(step, beta1, momentum_decay): ...


def mu_one(step, beta1, momentum_decay):
    return beta1 * (1 - 0.5 * 0.96 ** (step * momentum_decay))


def mu_crash(step, beta1, momentum_decay):
    return beta1 * (1 - 0.5 * 0.96 ** (step * momentum_decay)), undefined_name  # noqa: F821


def _v10_1(name):
    return next(m.variant for m in lesson10.MISTAKES_10_1 if m.name == name)


# --------------------------------------------------------------------------- 10.2 answers


def ns_right_gram(X, a, b, c):
    B = X.T @ X  # X (X^T X) = (X X^T) X
    return a * X + X @ (b * B + c * B @ B)


def ns_expanded(X, a, b, c):
    A = X @ X.T
    return a * X + b * (A @ X) + c * (A @ (A @ X))


def ns_in_place(X, a, b, c):
    A = X @ X.T
    X.mul_(a).add_((b * A + c * A @ A) @ (X / a))
    return X


def ns_float64(X, a, b, c):
    X = X.double()
    A = X @ X.T
    return a * X + (b * A + c * A @ A) @ X


def _v10_2(name):
    return next(m.variant for m in lesson10.MISTAKES_10_2 if m.name == name)


# --------------------------------------------------------------------------- 10.3 answers


def factors_pow(grad):
    sq = grad.pow(2)
    row_var, col_var = sq.mean(-1, keepdim=True), sq.mean(-2, keepdim=True)
    return row_var, col_var, row_var * col_var / col_var.mean(-1, keepdim=True)


def factors_norm(grad):
    row_var = torch.linalg.vector_norm(grad, dim=-1, keepdim=True) ** 2 / grad.shape[-1]
    col_var = torch.linalg.vector_norm(grad, dim=-2, keepdim=True) ** 2 / grad.shape[-2]
    return (row_var, col_var, row_var @ col_var / row_var.mean(dim=-2, keepdim=True))


def factors_batch_dims(grad):
    sq = grad * grad
    row_var, col_var = sq.mean(1, keepdim=True), sq.mean(0, keepdim=True)
    return row_var, col_var, row_var @ col_var / row_var.mean(0, keepdim=True)


def factors_two(grad):
    sq = grad * grad
    return sq.mean(-1, keepdim=True), sq.mean(-2, keepdim=True)


def _v10_3(name):
    return next(m.variant for m in lesson10.MISTAKES_10_3 if m.name == name)


CASES = [
    ("10.1", (lesson10.nadam_momentum,), "correct", "torch.optim.NAdam"),
    ("10.1", (mu_math,), "correct", "torch.optim.NAdam"),
    ("10.1", (mu_tensor,), "correct", "torch.optim.NAdam"),
    ("10.1", (mu_stub,), "not attempted", ""),
    ("10.1", (_v10_1("step from 0"),), "incorrect", "one step late"),
    ("10.1", (_v10_1("mu_next = mu"),), "incorrect", "*next* step's coefficient"),
    ("10.1", (_v10_1("swapped"),), "incorrect", "wrong order"),
    ("10.1", (_v10_1("no decay"),), "incorrect", "momentum_decay is missing"),
    ("10.1", (_v10_1("decay outside"),), "incorrect", "multiplies the exponent"),
    ("10.1", (_v10_1("no half"),), "incorrect", "with the 0.5"),
    ("10.1", (_v10_1("half outside"),), "incorrect", "multiplies only the power"),
    ("10.1", (_v10_1("no beta1"),), "incorrect", "beta1 is missing"),
    ("10.1", (_v10_1("fixed beta1"),), "incorrect", "fixed at 0.9"),
    ("10.1", (_v10_1("fixed decay"),), "incorrect", "fixed at torch's default 0.004"),
    ("10.1", (_v10_1("base 0.9"),), "incorrect", "not 0.9"),
    ("10.1", (mu_one,), "incorrect", "should return a pair"),
    ("10.1", (mu_crash,), "error", "NameError"),
    ("10.1", (0.9,), "incorrect", "should be a function"),
    ("10.2", (lesson10.newton_schulz_step,), "correct", "s^5"),
    ("10.2", (ns_right_gram,), "correct", "s^5"),
    ("10.2", (ns_expanded,), "correct", "s^5"),
    ("10.2", (_v10_2("b and c swapped"),), "incorrect", "b and c are swapped"),
    ("10.2", (_v10_2("no a"),), "incorrect", "the linear term is a X"),
    ("10.2", (_v10_2("no c"),), "incorrect", "quintic term c (X X^T)^2 X is missing"),
    ("10.2", (_v10_2("c A X"),), "incorrect", "A @ A, not A once"),
    ("10.2", (_v10_2("elementwise"),), "incorrect", "not elementwise"),
    ("10.2", (_v10_2("elementwise A A"),), "incorrect", "not the elementwise A * A"),
    ("10.2", (_v10_2("septic"),), "incorrect", "not A @ A @ A @ X"),
    ("10.2", (_v10_2("X^T X on the left"),), "incorrect", "on the right of X"),
    ("10.2", (_v10_2("default coefficients"),), "incorrect", "use the `a`, `b`, `c` arguments"),
    ("10.2", (_v10_2("transposed"),), "incorrect", "transposed"),
    ("10.2", (_v10_2("minus b"),), "incorrect", "signs of b and c are flipped"),
    ("10.2", (ns_in_place,), "incorrect", "modified"),
    ("10.2", (ns_float64,), "incorrect", "dtype"),
    ("10.3", (lesson10.adafactor_factors,), "correct", "torch.optim.Adafactor"),
    ("10.3", (factors_pow,), "correct", "torch.optim.Adafactor"),
    ("10.3", (factors_norm,), "correct", "torch.optim.Adafactor"),
    ("10.3", (_v10_3("swapped"),), "incorrect", "rows and columns are swapped"),
    ("10.3", (_v10_3("no keepdim"),), "incorrect", "keepdim=True"),
    ("10.3", (_v10_3("sum"),), "incorrect", "not sums"),
    ("10.3", (_v10_3("not squared"),), "incorrect", "not grad."),
    ("10.3", (_v10_3("abs"),), "incorrect", "not |grad|"),
    ("10.3", (_v10_3("variance"),), "incorrect", "not the variance"),
    ("10.3", (_v10_3("mean squared"),), "incorrect", "square first"),
    ("10.3", (_v10_3("no normalisation"),), "incorrect", "divide by the mean of row_var"),
    ("10.3", (_v10_3("divided by sum"),), "incorrect", "not its sum"),
    ("10.3", (_v10_3("full v"),), "incorrect", "not grad ** 2 itself"),
    ("10.3", (_v10_3("sqrt"),), "incorrect", "the square root comes later"),
    ("10.3", (factors_batch_dims,), "error", "RuntimeError"),
    ("10.3", (factors_two,), "incorrect", "three tensors"),
]


def _case_id(case):
    key, answers, status = case[:3]
    return f"{key}-{getattr(answers[0], '__name__', repr(answers)[:24])}-{status}"


@pytest.mark.parametrize("key, answers, status, fragment", CASES, ids=[_case_id(c) for c in CASES])
def test_checker(key, answers, status, fragment):
    feedback = grade(key, *answers)
    assert (feedback.status, fragment in feedback.message) == (status, True), feedback.message


def test_every_exercise_has_a_table_of_ten_mistakes_and_two_correct_variants():
    for key in ("10.1", "10.2", "10.3"):
        rows = [c for c in CASES if c[0] == key]
        assert sum(c[2] == "correct" for c in rows) >= 2, key
        assert sum(c[2] in ("incorrect", "error") for c in rows) >= 10, key


def test_every_exercise_has_hints_and_a_solution():
    found = exercises_of("10")
    assert list(found) == ["10.1", "10.2", "10.3"]
    for exercise in found.values():
        assert exercise.hints and exercise.solution_source(), exercise.key


@pytest.mark.parametrize("beta1, momentum_decay", [(0.9, 0.004), (0.6, 3.0)])
def test_the_closed_form_momentum_is_torchs_nadam(beta1, momentum_decay):
    """The grader's reference against torch.optim.NAdam's stored mu_product, step by step."""
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.NAdam([w], lr=0.0, betas=(beta1, 0.999), momentum_decay=momentum_decay)
    product = 1.0
    for step in range(1, 8):
        w.grad = torch.ones(1, dtype=torch.float64)
        opt.step()
        product *= lesson10.nadam_momentum(step, beta1, momentum_decay)[0]
        assert float(opt.state[w]["mu_product"]) == pytest.approx(product, rel=1e-6)


def test_the_svd_reference_is_torchs_newton_schulz_polynomial():
    """One step of torch's Muon iteration (in float32 instead of bfloat16) equals the SVD route."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(3, 5, generator=g, dtype=torch.float64)
    X = X / X.norm()
    cfg = lesson10.config("x", X=X, a=3.4445, b=-4.7750, c=2.0315)
    A = X @ X.T
    by_addmm = torch.addmm(X, torch.addmm(A, A, A, beta=-4.7750, alpha=2.0315), X, beta=3.4445)
    torch.testing.assert_close(lesson10._reference_10_2(cfg)[0], by_addmm, rtol=1e-12, atol=1e-12)
