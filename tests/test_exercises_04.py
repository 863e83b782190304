"""Lesson 04's checkers: the reference is accepted, stubs are "not attempted", and realistic
wrong answers get the specific feedback that names the mistake.

One table drives every case: (key, description, answers, expected status, message fragments).
The wrong answers are written the way a learner would write them, independently of the
variants the checkers use to diagnose them.
"""

import math

import pytest
import torch

from myoptim_helpers.exercises import exercises_of, grade
from myoptim_helpers.exercises.lesson04 import _adam_step, _bias_corrected_ema, _step_after_zero_grads

# ----------------------------------------------------------------------------- 04.1 answers


def stub_ema(values, beta): ...


def ema_with_list_result(values, beta):
    m, out = 0.0, []
    for t, x in enumerate(values, start=1):
        m = beta * m + (1 - beta) * x
        out.append(m / (1 - beta**t))
    return out


def ema_vectorised(values, beta):
    t = torch.arange(1, len(values) + 1, dtype=values.dtype)
    weights = (1 - beta) * beta ** (t[:, None] - t[None, :]) * (t[None, :] <= t[:, None])
    return weights @ values / (1 - beta**t)


def ema_uncorrected(values, beta):
    m, out = 0.0, []
    for x in values:
        m = beta * m + (1 - beta) * x
        out.append(m)
    return torch.stack(out)


def ema_t_from_zero(values, beta):
    m, out = 0.0, []
    for t, x in enumerate(values):
        m = beta * m + (1 - beta) * x
        out.append(m / (1 - beta**t))
    return torch.stack(out)


def ema_t_plus_one(values, beta):
    m, out = 0.0, []
    for t, x in enumerate(values, start=1):
        m = beta * m + (1 - beta) * x
        out.append(m / (1 - beta ** (t + 1)))
    return torch.stack(out)


def ema_swapped(values, beta):
    m, out = 0.0, []
    for t, x in enumerate(values, start=1):
        m = (1 - beta) * m + beta * x
        out.append(m / (1 - beta**t))
    return torch.stack(out)


def ema_starts_at_first_value(values, beta):
    m, out = values[0], []
    for t, x in enumerate(values, start=1):
        if t > 1:
            m = beta * m + (1 - beta) * x
        out.append(m / (1 - beta**t))
    return torch.stack(out)


def ema_float32_from_floats(values, beta):
    m, out = 0.0, []
    for t, x in enumerate(values, start=1):
        m = beta * m + (1 - beta) * x.item()
        out.append(m / (1 - beta**t))
    return torch.tensor(out)  # python floats: torch.tensor makes float32


def ema_float32_wrong(values, beta):
    return ema_uncorrected(values, beta).float()


def ema_corrects_in_place(values, beta):
    m, out = 0.0, []
    for t, x in enumerate(values, start=1):
        m = beta * m + (1 - beta) * x
        m = m / (1 - beta**t)
        out.append(m)
    return torch.stack(out)


def ema_hard_coded_beta(values, beta):
    m, out = 0.0, []
    for t, x in enumerate(values, start=1):
        m = 0.9 * m + 0.1 * x
        out.append(m / (1 - 0.9**t))
    return torch.stack(out)


def ema_last_only(values, beta):
    m = 0.0
    for x in values:
        m = beta * m + (1 - beta) * x
    return m / (1 - beta ** len(values))


def ema_in_place(values, beta):
    m = 0.0
    for t in range(len(values)):
        m = beta * m + (1 - beta) * values[t]
        values[t] = m / (1 - beta ** (t + 1))
    return values


def ema_forgets_return(values, beta):
    m, out = 0.0, []
    for t, x in enumerate(values, start=1):
        m = beta * m + (1 - beta) * x
        out.append(m / (1 - beta**t))


def ema_raises(values, beta):
    m = torch.zeros(2)
    for x in values:
        m = beta * m + (1 - beta) * x
    return torch.stack([m, values])


def ema_float32_inside(values, beta):
    m, out = torch.tensor(0.0), []  # a float32 running average ...
    for t, x in enumerate(values, start=1):
        m = beta * m + (1 - beta) * float(x)
        out.append(m / (1 - beta**t))
    return torch.stack(out).to(values.dtype)  # ... handed back as float64


def ema_always_float64(values, beta):
    return _bias_corrected_ema(values, beta).double()


def ema_float32_buffer(values, beta):
    out, m = torch.zeros(len(values)), 0.0
    for t in range(len(values)):
        m = beta * m + (1 - beta) * values[t]
        out[t] = m / (1 - beta ** (t + 1))
    return out


def ema_numpy(values, beta):
    return _bias_corrected_ema(values, beta).numpy()


def ema_fixed_length(values, beta):
    m, out = 0.0, []
    for t in range(1, 11):
        m = beta * m + (1 - beta) * values[t - 1]
        out.append(m / (1 - beta**t))
    return torch.stack(out)


def ema_unbiased_by_mean(values, beta):
    return torch.stack([values[:t].mean() for t in range(1, len(values) + 1)])


# ----------------------------------------------------------------------------- 04.2 answers


def stub_adam(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    """Return (param, exp_avg, exp_avg_sq) after Adam's step number `step` (1, 2, ...)."""
    ...


def adam_torch_order(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    exp_avg = exp_avg.lerp(grad, 1 - beta1)
    exp_avg_sq = exp_avg_sq.mul(beta2).addcmul(grad, grad, value=1 - beta2)
    denom = exp_avg_sq.sqrt() / math.sqrt(1 - beta2**step) + eps
    param = param.addcdiv(exp_avg, denom, value=-lr / (1 - beta1**step))
    return param, exp_avg, exp_avg_sq


def adam_no_bias_correction(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2
    return param - lr * exp_avg / (exp_avg_sq.sqrt() + eps), exp_avg, exp_avg_sq


def adam_eps_inside(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2
    m_hat = exp_avg / (1 - beta1**step)
    v_hat = exp_avg_sq / (1 - beta2**step)
    return param - lr * m_hat / torch.sqrt(v_hat + eps), exp_avg, exp_avg_sq


def adam_keras_eps(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2
    lr_t = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
    return param - lr_t * exp_avg / (exp_avg_sq.sqrt() + eps), exp_avg, exp_avg_sq


def adam_beta1_twice(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta1 * exp_avg_sq + (1 - beta1) * grad**2
    m_hat = exp_avg / (1 - beta1**step)
    v_hat = exp_avg_sq / (1 - beta1**step)
    return param - lr * m_hat / (v_hat.sqrt() + eps), exp_avg, exp_avg_sq


def adam_step_plus_one(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    step = step + 1  # "the step is incremented first", as in torch's code
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2
    m_hat = exp_avg / (1 - beta1**step)
    v_hat = exp_avg_sq / (1 - beta2**step)
    return param - lr * m_hat / (v_hat.sqrt() + eps), exp_avg, exp_avg_sq


def adam_step_from_zero(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2
    m_hat = exp_avg / (1 - beta1 ** (step - 1))
    v_hat = exp_avg_sq / (1 - beta2 ** (step - 1))
    return param - lr * m_hat / (v_hat.sqrt() + eps), exp_avg, exp_avg_sq


def adam_returns_corrected(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    exp_avg = (beta1 * exp_avg + (1 - beta1) * grad) / (1 - beta1**step)
    exp_avg_sq = (beta2 * exp_avg_sq + (1 - beta2) * grad**2) / (1 - beta2**step)
    return param - lr * exp_avg / (exp_avg_sq.sqrt() + eps), exp_avg, exp_avg_sq


def adam_in_place(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    m_hat = exp_avg / (1 - beta1**step)
    v_hat = exp_avg_sq / (1 - beta2**step)
    return param - lr * m_hat / (v_hat.sqrt() + eps), exp_avg, exp_avg_sq


def adam_default_hyperparameters(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    return _adam_step(param, grad, exp_avg, exp_avg_sq, step, 1e-3, (0.9, 0.999), 1e-8)


def adam_returns_param_only(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    return _adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps)[0]


def adam_float32(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    p, m, v = _adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps)
    return p.float(), m, v


def adam_typo(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    return param - lr * exp_avg / exp_avg_sq.sqroot(), exp_avg, exp_avg_sq


def adam_wrong_v_update(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad.abs()  # |g| instead of g²
    m_hat = exp_avg / (1 - beta1**step)
    v_hat = exp_avg_sq / (1 - beta2**step)
    return param - lr * m_hat / (v_hat.sqrt() + eps), exp_avg, exp_avg_sq


_STEP_COUNT = {"t": 0}


def adam_own_counter(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    _STEP_COUNT["t"] += 1  # a counter of its own instead of `step`
    return _adam_step(param, grad, exp_avg, exp_avg_sq, _STEP_COUNT["t"], lr, betas, eps)


def adam_lesson_hyperparameters(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    return _adam_step(param, grad, exp_avg, exp_avg_sq, step, 0.05, (0.8, 0.99), 1e-3)


def adam_hard_coded_eps(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    return _adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, 1e-8)


def adam_missing_eps(param, grad, exp_avg, exp_avg_sq, step, lr, betas):
    return _adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, 1e-8)


def adam_hard_coded_betas(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    return _adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, (0.9, 0.999), eps)


def adam_hard_coded_lr(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    return _adam_step(param, grad, exp_avg, exp_avg_sq, step, 1e-3, betas, eps)


def adam_lesson_betas(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    return _adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, (0.8, 0.99), eps)


def adam_new_tensors_float64(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    p, m, v = _adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps)
    return p.double(), m.double(), v.double()


def adam_flattens(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    p, m, v = _adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps)
    return p.flatten(), m.flatten(), v.flatten()


def adam_abs_second_moment(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad
    m_hat = exp_avg / (1 - beta1**step)
    v_hat = exp_avg_sq / (1 - beta2**step)
    return param - lr * m_hat / (v_hat.sqrt() + eps), exp_avg, exp_avg_sq


def adam_no_eps(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2
    m_hat = exp_avg / (1 - beta1**step)
    v_hat = exp_avg_sq / (1 - beta2**step)
    return param - lr * m_hat / v_hat.sqrt(), exp_avg, exp_avg_sq


def adam_sqrt_on_first_correction(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2
    m_hat = exp_avg / math.sqrt(1 - beta1**step)
    v_hat = exp_avg_sq / (1 - beta2**step)
    return param - lr * m_hat / (v_hat.sqrt() + eps), exp_avg, exp_avg_sq


def adam_moments_swapped(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    p, m, v = _adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps)
    return p, v, m


def adam_uphill(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    p, m, v = _adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps)
    return 2 * param - p, m, v


# ----------------------------------------------------------------------------- 04.3 answers


def stub_silence(grad, step, lr, betas, eps):
    """Return |Δθ| of Adam's step number `step` when every earlier gradient was 0."""
    ...


def _silence(grad, step, lr, betas, eps, t=None):
    """The reference with the step number of the corrections ``t`` (``step`` by default)."""
    beta1, beta2 = betas
    t = step if t is None else t
    m_hat = (1 - beta1) * grad / (1 - beta1**t)
    v_hat = (1 - beta2) * grad * grad / (1 - beta2**t)
    return lr * m_hat.abs() / (v_hat.sqrt() + eps)


def silence_two_betas(grad, step, lr, beta1, beta2, eps):
    return _silence(grad, step, lr, (beta1, beta2), eps)


def silence_fixed_step(grad, step, lr, betas, eps):
    return _silence(grad, 10, lr, betas, eps)


def silence_fixed_step_1000(grad, step, lr, betas, eps):
    return _silence(grad, step, lr, betas, eps, t=1000)


def silence_per_lr(grad, step, lr, betas, eps):
    return _silence(grad, step, lr, betas, eps) / lr


def silence_fixed_lr(grad, step, lr, betas, eps):
    return _silence(grad, step, 0.01, betas, eps)


def silence_fixed_betas(grad, step, lr, betas, eps):
    return _silence(grad, step, lr, (0.9, 0.99), eps)


def silence_fixed_eps(grad, step, lr, betas, eps):
    return _silence(grad, step, lr, betas, 1e-6)


def silence_default_eps(grad, step, lr, betas, eps):
    return _silence(grad, step, lr, betas, 1e-8)


def silence_guarded_step_minus_one(grad, step, lr, betas, eps):
    return _silence(grad, step, lr, betas, eps, t=max(step - 1, 1))


def silence_doubled(grad, step, lr, betas, eps):
    return 2 * _silence(grad, step, lr, betas, eps)


def silence_loop(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    m, v = torch.zeros_like(grad), torch.zeros_like(grad)
    for t in range(1, step + 1):
        g = grad if t == step else torch.zeros_like(grad)  # zeros until this step
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1**step), v / (1 - beta2**step)
    return lr * m_hat.abs() / (v_hat.sqrt() + eps)


def silence_torch_order(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    step_size = lr / (1 - beta1**step)
    denom = ((1 - beta2) * grad * grad).sqrt() / math.sqrt(1 - beta2**step) + eps
    return step_size * ((1 - beta1) * grad).abs() / denom


def silence_signed(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    m_hat = (1 - beta1) * grad / (1 - beta1**step)
    v_hat = (1 - beta2) * grad**2 / (1 - beta2**step)
    return -lr * m_hat / (v_hat.sqrt() + eps)  # the update Δθ itself


def silence_abs_forgotten(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    m_hat = (1 - beta1) * grad / (1 - beta1**step)
    v_hat = (1 - beta2) * grad**2 / (1 - beta2**step)
    return lr * m_hat / (v_hat.sqrt() + eps)  # |m̂| forgotten


def silence_lr_everywhere(grad, step, lr, betas, eps):
    return torch.full_like(grad, lr)  # "Adam's steps are about lr"


def silence_first_step(grad, step, lr, betas, eps):
    return lr * grad.abs() / (grad.abs() + eps)  # "Adam's first step is lr"


def silence_sign(grad, step, lr, betas, eps):
    return lr * grad.sign().abs()  # "Adam's step is lr · sign(g)"


def silence_no_correction(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    m, v = (1 - beta1) * grad, (1 - beta2) * grad**2
    return lr * m.abs() / (v.sqrt() + eps)


def silence_only_m_corrected(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    m_hat = (1 - beta1) * grad / (1 - beta1**step)
    v = (1 - beta2) * grad**2
    return lr * m_hat.abs() / (v.sqrt() + eps)


def silence_only_v_corrected(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    m = (1 - beta1) * grad
    v_hat = (1 - beta2) * grad**2 / (1 - beta2**step)
    return lr * m.abs() / (v_hat.sqrt() + eps)


def silence_m_is_grad(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    m_hat = grad / (1 - beta1**step)  # forgot (1 − beta1)
    v_hat = (1 - beta2) * grad**2 / (1 - beta2**step)
    return lr * m_hat.abs() / (v_hat.sqrt() + eps)


def silence_v_is_grad_squared(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    m_hat = (1 - beta1) * grad / (1 - beta1**step)
    v_hat = grad**2 / (1 - beta2**step)  # forgot (1 − beta2)
    return lr * m_hat.abs() / (v_hat.sqrt() + eps)


def silence_no_sqrt(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    m_hat = (1 - beta1) * grad / (1 - beta1**step)
    v_hat = (1 - beta2) * grad**2 / (1 - beta2**step)
    return lr * m_hat.abs() / (v_hat + eps)


def silence_eps_inside(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    m_hat = (1 - beta1) * grad / (1 - beta1**step)
    v_hat = (1 - beta2) * grad**2 / (1 - beta2**step)
    return lr * m_hat.abs() / torch.sqrt(v_hat + eps)


def silence_keras_eps(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    lr_t = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
    return lr_t * ((1 - beta1) * grad).abs() / (((1 - beta2) * grad**2).sqrt() + eps)


def silence_no_eps(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    m_hat = (1 - beta1) * grad / (1 - beta1**step)
    v_hat = (1 - beta2) * grad**2 / (1 - beta2**step)
    return lr * m_hat.abs() / v_hat.sqrt()


def silence_grad_cancelled(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    ratio = (1 - beta1) / (1 - beta1**step) * math.sqrt((1 - beta2**step) / (1 - beta2))
    return torch.full_like(grad, lr * ratio)  # |g| / |g| = 1, eps "negligible"


def silence_betas_swapped(grad, step, lr, betas, eps):
    beta2, beta1 = betas
    m_hat = (1 - beta1) * grad / (1 - beta1**step)
    v_hat = (1 - beta2) * grad**2 / (1 - beta2**step)
    return lr * m_hat.abs() / (v_hat.sqrt() + eps)


def silence_sgd(grad, step, lr, betas, eps):
    return lr * grad.abs()


def silence_step_minus_one(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    t = step - 1  # "step − 1 zero steps came before"
    m_hat = (1 - beta1) * grad / (1 - beta1**t)
    v_hat = (1 - beta2) * grad**2 / (1 - beta2**t)
    return lr * m_hat.abs() / (v_hat.sqrt() + eps)


def silence_defaults(grad, step, lr, betas, eps):
    return _step_after_zero_grads(grad, step, 1e-3, (0.9, 0.999), 1e-8)


def silence_bound_only(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    return torch.full_like(grad, lr * (1 - beta1) / math.sqrt(1 - beta2))  # §2.1's bound, read as the step


def silence_list(grad, step, lr, betas, eps):
    return _step_after_zero_grads(grad, step, lr, betas, eps).tolist()


def silence_math_on_tensor(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    v_hat = (1 - beta2) * grad**2 / (1 - beta2**step)
    return lr * (1 - beta1) * grad.abs() / (1 - beta1**step) / (math.sqrt(v_hat) + eps)


def silence_float32(grad, step, lr, betas, eps):
    return torch.tensor(_step_after_zero_grads(grad, step, lr, betas, eps).tolist())


def silence_in_place(grad, step, lr, betas, eps):
    beta1, beta2 = betas
    g = grad.abs_()  # changes the caller's gradient
    m_hat = (1 - beta1) * g / (1 - beta1**step)
    v_hat = (1 - beta2) * g**2 / (1 - beta2**step)
    return lr * m_hat / (v_hat.sqrt() + eps)


def silence_flattened(grad, step, lr, betas, eps):
    return _step_after_zero_grads(grad, step, lr, betas, eps).reshape(-1)


# ----------------------------------------------------------------------------- the table

CASES = [
    # 04.1: the bias-corrected moving average
    ("04.1", "reference", (_bias_corrected_ema,), "correct", ["5 configurations", "float32"]),
    (
        "04.1",
        "list of 0-d tensors",
        (ema_with_list_result,),
        "incorrect",
        ["is a list; a tensor was asked", "torch.stack"],
    ),
    ("04.1", "vectorised", (ema_vectorised,), "correct", []),
    ("04.1", "stub", (stub_ema,), "not attempted", []),
    (
        "04.1",
        "no correction",
        (ema_uncorrected,),
        "incorrect",
        ["already at step 1", "raw average", "divide it by 1 − beta**t"],
    ),
    ("04.1", "t from 0", (ema_t_from_zero,), "incorrect", ["got inf", "1 − beta**0 = 0"]),
    ("04.1", "t + 1", (ema_t_plus_one,), "incorrect", ["off by one"]),
    ("04.1", "beta swapped", (ema_swapped,), "incorrect", ["swapped"]),
    ("04.1", "starts at first value", (ema_starts_at_first_value,), "incorrect", ["starts at the first value"]),
    (
        "04.1",
        "corrected value fed back",
        (ema_corrects_in_place,),
        "incorrect",
        ["for step 1, differs at step 2", "fed back"],
    ),
    ("04.1", "hard-coded beta", (ema_hard_coded_beta,), "incorrect", ["use the `beta` argument"]),
    (
        "04.1",
        "float32 running average, float64 result",
        (ema_float32_inside,),
        "incorrect",
        ["formula is right", "only to float32 precision"],
    ),
    (
        "04.1",
        "always float64",
        (ema_always_float64,),
        "incorrect",
        ["for float32 values", "returned a torch.float64 tensor", "keep the dtype of `values`"],
    ),
    (
        "04.1",
        "float32 output buffer",
        (ema_float32_buffer,),
        "incorrect",
        ["for float64 values", "torch.float32 tensor"],
    ),
    ("04.1", "numpy result", (ema_numpy,), "incorrect", ["should be a Tensor, got ndarray"]),
    ("04.1", "fixed length", (ema_fixed_length,), "error", ["raised IndexError"]),
    ("04.1", "running mean", (ema_unbiased_by_mean,), "incorrect", ["differs at step 2"]),
    ("04.1", "last value only", (ema_last_only,), "incorrect", ["returned shape ()", "shape (10,)"]),
    ("04.1", "modifies values", (ema_in_place,), "incorrect", ["modified its argument `values`"]),
    ("04.1", "forgets return", (ema_forgets_return,), "incorrect", ["returned None"]),
    ("04.1", "raises", (ema_raises,), "error", ["raised RuntimeError", "in `ema_raises`"]),
    ("04.1", "not a function", (0.9,), "incorrect", ["should be a function"]),
    (
        "04.1",
        "right values in float32",
        (ema_float32_from_floats,),
        "incorrect",
        ["torch.float32 tensor", "right to that precision", "keep the dtype"],
    ),
    ("04.1", "wrong values in float32", (ema_float32_wrong,), "incorrect", ["torch.float32 tensor; keep the dtype"]),
    # 04.2: one Adam step
    ("04.2", "reference", (_adam_step,), "correct", ["5 configurations", "float32"]),
    ("04.2", "torch's order of operations", (adam_torch_order,), "correct", []),
    ("04.2", "stub", (stub_adam,), "not attempted", []),
    (
        "04.2",
        "no bias correction",
        (adam_no_bias_correction,),
        "incorrect",
        ["already at step 1", "(param:", "bias correction is missing"],
    ),
    ("04.2", "eps inside sqrt", (adam_eps_inside,), "incorrect", ["eps sits inside the square root"]),
    ("04.2", "Keras eps", (adam_keras_eps,), "incorrect", ["before the bias correction", "Keras"]),
    (
        "04.2",
        "beta1 for the second moment",
        (adam_beta1_twice,),
        "incorrect",
        ["(exp_avg_sq:", "second moment uses beta1"],
    ),
    ("04.2", "step + 1", (adam_step_plus_one,), "incorrect", ["off by one", "beta ** (step + 1)"]),
    ("04.2", "step - 1", (adam_step_from_zero,), "incorrect", ["got nan", "divides by zero"]),
    (
        "04.2",
        "returns corrected moments",
        (adam_returns_corrected,),
        "incorrect",
        ["(exp_avg:", "bias-corrected moments as the new state"],
    ),
    ("04.2", "in place", (adam_in_place,), "incorrect", ["modified its argument `exp_avg` in place"]),
    (
        "04.2",
        "ignores hyperparameters",
        (adam_default_hyperparameters,),
        "incorrect",
        ["Adam's defaults", "use the `lr`, `betas` and `eps` arguments"],
    ),
    (
        "04.2",
        "returns param only",
        (adam_returns_param_only,),
        "incorrect",
        ["should return three tensors", "returned a Tensor"],
    ),
    ("04.2", "float32", (adam_float32,), "incorrect", ["dtype torch.float32", "float64"]),
    ("04.2", "returns a number", (lambda *args: 0,), "incorrect", ["it returned an int."]),
    ("04.2", "typo", (adam_typo,), "error", ["raised AttributeError", "sqroot", "in `adam_typo`"]),
    ("04.2", "|g| in the second moment", (adam_wrong_v_update,), "incorrect", ["exp_avg_sq", "(1 − beta2) · grad²"]),
    (
        "04.2",
        "own step counter",
        (adam_own_counter,),
        "incorrect",
        ["does not start again at 1", "use the `step` argument"],
    ),
    (
        "04.2",
        "the lesson's hyperparameters",
        (adam_lesson_hyperparameters,),
        "incorrect",
        ["lr=0.05, betas=(0.8, 0.99), eps=1e-3 whatever the arguments"],
    ),
    (
        "04.2",
        "hard-coded eps",
        (adam_hard_coded_eps,),
        "incorrect",
        ["differs", "eps is fixed at 1e-08 (Adam's default)"],
    ),
    (
        "04.2",
        "no eps parameter",
        (adam_missing_eps,),
        "error",
        [
            "takes 7 positional arguments but 8 were given",
            "The checker calls it as adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps)",
        ],
    ),
    (
        "04.2",
        "hard-coded betas",
        (adam_hard_coded_betas,),
        "incorrect",
        ["betas is fixed at (0.9, 0.999) (Adam's default) whatever the argument: use the `betas` argument."],
    ),
    ("04.2", "hard-coded lr", (adam_hard_coded_lr,), "incorrect", ["lr is fixed at 0.001 (Adam's default)"]),
    ("04.2", "the lesson's betas", (adam_lesson_betas,), "incorrect", ["betas is fixed at (0.8, 0.99) (the lesson's"]),
    (
        "04.2",
        "float64 for float32 parameters",
        (adam_new_tensors_float64,),
        "incorrect",
        ["dtype torch.float64 for a torch.float32 parameter"],
    ),
    ("04.2", "flattens", (adam_flattens,), "incorrect", ["has shape (1,), expected ()"]),
    ("04.2", "g instead of g²", (adam_abs_second_moment,), "incorrect", ["averages the gradient itself"]),
    ("04.2", "no eps", (adam_no_eps,), "incorrect", ["eps is missing: torch divides by sqrt(v̂) + eps"]),
    (
        "04.2",
        "sqrt of the first correction",
        (adam_sqrt_on_first_correction,),
        "incorrect",
        ["the first moment is divided by sqrt(1 − beta1**step)"],
    ),
    ("04.2", "moments swapped", (adam_moments_swapped,), "incorrect", ["exp_avg and exp_avg_sq are swapped"]),
    ("04.2", "uphill", (adam_uphill,), "incorrect", ["moves uphill"]),
    # 04.3: the step a gradient makes after step − 1 zero gradients, against torch.optim.Adam
    (
        "04.3",
        "reference",
        (_step_after_zero_grads,),
        "correct",
        ["8 configurations", "float32", "Your prediction", "0.48, 0.98, 2.51 and 3.16 times lr"],
    ),
    ("04.3", "a loop over the zero steps", (silence_loop,), "correct", []),
    ("04.3", "torch's order of operations", (silence_torch_order,), "correct", []),
    ("04.3", "stub", (stub_silence,), "not attempted", []),
    ("04.3", "signed update", (silence_signed,), "incorrect", ["with its sign", "return the size, |Δθ|: use .abs()."]),
    ("04.3", "abs forgotten", (silence_abs_forgotten,), "incorrect", ["with m̂'s sign", "use .abs()"]),
    (
        "04.3",
        "lr everywhere",
        (silence_lr_everywhere,),
        "incorrect",
        ["that is the size of a first step, lr, for every step", "the moments hold one term each"],
    ),
    ("04.3", "the first step's size", (silence_first_step,), "incorrect", ["size of a *first* step", "still count"]),
    (
        "04.3",
        "no bias correction",
        (silence_no_correction,),
        "incorrect",
        ["torch.optim.Adam moves", "bias correction is missing", "worst case"],
    ),
    ("04.3", "only m corrected", (silence_only_m_corrected,), "incorrect", ["only m_t is bias-corrected"]),
    ("04.3", "only v corrected", (silence_only_v_corrected,), "incorrect", ["only v_t is bias-corrected"]),
    ("04.3", "(1 − beta1) missing", (silence_m_is_grad,), "incorrect", ["m_t is missing its factor (1 − beta1)"]),
    (
        "04.3",
        "(1 − beta2) missing",
        (silence_v_is_grad_squared,),
        "incorrect",
        ["v_t is missing its factor (1 − beta2)"],
    ),
    ("04.3", "no square root", (silence_no_sqrt,), "incorrect", ["divides by v̂ itself"]),
    ("04.3", "eps inside the root", (silence_eps_inside,), "incorrect", ["eps sits inside the square root"]),
    ("04.3", "Keras eps", (silence_keras_eps,), "incorrect", ["before the bias correction", "Keras"]),
    ("04.3", "no eps", (silence_no_eps,), "incorrect", ["|Δθ|[0] is nan", "eps is left out"]),
    ("04.3", "|g| cancelled by hand", (silence_grad_cancelled,), "incorrect", ["does not cancel exactly"]),
    ("04.3", "betas swapped", (silence_betas_swapped,), "incorrect", ["beta1 and beta2 are swapped"]),
    ("04.3", "SGD's step", (silence_sgd,), "incorrect", ["SGD's step"]),
    ("04.3", "step − 1", (silence_step_minus_one,), "incorrect", ["beta**(step − 1)"]),
    ("04.3", "hard-coded defaults", (silence_defaults,), "incorrect", ["Adam's defaults", "use the `lr`, `betas`"]),
    (
        "04.3",
        "§2.1's bound as the step",
        (silence_bound_only,),
        "incorrect",
        ["worst-case bound", "as the size of every"],
    ),
    ("04.3", "lr · sign(grad)", (silence_sign,), "incorrect", ["size of a *first* step", "sign(grad)"]),
    ("04.3", "a list, not a tensor", (silence_list,), "incorrect", ["should be a Tensor, got list"]),
    (
        "04.3",
        "math.sqrt of a tensor",
        (silence_math_on_tensor,),
        "error",
        ["raised ValueError", "in `silence_math_on_tensor`"],
    ),
    (
        "04.3",
        "float32 result",
        (silence_float32,),
        "incorrect",
        ["returned a torch.float32 tensor", "keep grad's dtype"],
    ),
    ("04.3", "modifies grad", (silence_in_place,), "incorrect", ["modified its argument `grad`"]),
    ("04.3", "flattened", (silence_flattened,), "incorrect", ["has shape (1,), expected ()"]),
    ("04.3", "not a function", (0.48,), "incorrect", ["should be a function"]),
    (
        "04.3",
        "two betas",
        (silence_two_betas,),
        "error",
        [
            "missing 1 required positional argument: 'eps'",
            "The checker calls it as step_after_zero_grads(grad, step, lr, betas, eps), with betas one tuple "
            "(beta1, beta2): `beta1, beta2 = betas`",
        ],
    ),
    ("04.3", "a fixed step", (silence_fixed_step,), "incorrect", ["it gives the same |Δθ| whatever `step` is"]),
    ("04.3", "corrections at step 1000", (silence_fixed_step_1000,), "incorrect", ["whatever `step` is"]),
    ("04.3", "|Δθ| / lr", (silence_per_lr,), "incorrect", ["this is |Δθ| / lr", "multiply by lr"]),
    ("04.3", "a fixed lr", (silence_fixed_lr,), "incorrect", ["whatever `lr` is: use it"]),
    ("04.3", "fixed betas", (silence_fixed_betas,), "incorrect", ["whatever `betas` is: use it"]),
    ("04.3", "a fixed eps", (silence_fixed_eps,), "incorrect", ["whatever `eps` is: use it"]),
    ("04.3", "Adam's default eps", (silence_default_eps,), "incorrect", ["eps is fixed at 1e-08 (Adam's default)"]),
    ("04.3", "max(step − 1, 1)", (silence_guarded_step_minus_one,), "incorrect", ["beta**(step − 1), one step behind"]),
    ("04.3", "twice the step", (silence_doubled,), "incorrect", ['hint("04.3") says what m_t and v_t hold']),
]


@pytest.mark.parametrize(
    "key, answers, status, fragments", [pytest.param(k, a, s, f, id=f"{k} {d}") for k, d, a, s, f in CASES]
)
def test_feedback(key, answers, status, fragments):
    feedback = grade(key, *answers)
    assert feedback.status == status, str(feedback)
    for fragment in fragments:
        assert fragment in feedback.message, str(feedback)


def test_every_exercise_has_a_reference_case():
    keys = set(exercises_of("04"))
    assert keys == {"04.1", "04.2", "04.3"}
    assert keys == {k for k, d, _, s, _ in CASES if d == "reference" and s == "correct"}


def test_the_adam_checker_compares_with_torch_not_with_the_reference():
    """The 04.2 reference itself agrees with torch.optim.Adam (so the checker's bar is torch's)."""
    from myoptim_helpers.exercises.lesson04 import _first_named_mismatch, run_step_function, step_configs, torch_steps

    for config in step_configs("04.2"):
        assert (
            _first_named_mismatch(run_step_function(_adam_step, config), torch_steps(torch.optim.Adam, config)) is None
        )


def test_grading_leaves_global_state_alone():
    rng = torch.get_rng_state()
    dtype = torch.get_default_dtype()
    for key, _, answers, _, _ in CASES:
        grade(key, *answers)
    assert torch.equal(torch.get_rng_state(), rng)
    assert torch.get_default_dtype() == dtype
    assert torch.is_grad_enabled()


def test_the_silence_checker_draws_what_it_promises():
    """04.3's configurations: both dtypes, 0-d to 2-D, a zero gradient, a first step and
    thousands of steps, and betas and lr away from torch's defaults (and from the lesson's)."""
    from myoptim_helpers.exercises.lesson04 import _SILENCE_SPEC

    configs = _SILENCE_SPEC.configs()
    grads = [c["grad"] for c in configs]
    assert {g.dtype for g in grads} == {torch.float32, torch.float64}
    assert {g.dim() for g in grads} == {0, 1, 2}
    assert any(bool((g == 0).all()) for g in grads) and any(bool((g == 0).any() & (g != 0).any()) for g in grads)
    assert min(c["step"] for c in configs) == 1 and max(c["step"] for c in configs) >= 1000
    assert all(c["betas"] != (0.9, 0.999) and c["lr"] != 1e-3 for c in configs)


def test_the_generic_04_3_message_points_to_the_hints_without_the_recipe():
    message = grade("04.3", silence_doubled).message
    assert "(1 − beta1)·grad" not in message and "sqrt(v̂) + eps" not in message, message


def test_each_04_3_probe_changes_torchs_step():
    from myoptim_helpers.exercises.lesson04 import (
        _PROBE_BASE,
        _PROBE_CHANGE,
        _probe_grad,
        _torch_step_after_zero_grads,
    )

    def torch_size(**change):
        return _torch_step_after_zero_grads({"grad": _probe_grad(), **_PROBE_BASE, **change})[0]

    base = torch_size()
    for name, value in _PROBE_CHANGE.items():
        assert not torch.allclose(torch_size(**{name: value}), base, rtol=1e-6, atol=0), name


def test_every_known_mistake_of_04_3_is_named_when_made():
    """Each row of 04.3's mistake table is reachable: the variant itself gets its own message
    (no earlier row, and no configuration where it is right, hides it)."""
    from myoptim_helpers.exercises.lesson04 import _SILENCE_MISTAKES

    for variant, message in _SILENCE_MISTAKES:
        feedback = grade("04.3", variant)
        assert feedback.status == "incorrect" and message in feedback.message, (variant.keywords, str(feedback))
