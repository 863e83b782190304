"""Checkers for lesson 04 · Adam: the bias-corrected EMA, one Adam step, and the size of the
step a gradient makes after a long run of zero gradients (predicted, then revealed).

Each grader builds its own inputs and compares the learner's result with an independent
reference: torch.optim.Adam for the steps (run for real), the closed-form average for the EMA. When an
answer is wrong, the grader runs the known wrong variants of the exercise (missing bias
correction, eps inside the square root, wrong beta, step counter off by one, ...) and
names the one the learner's answer matches.
"""

import dataclasses
import functools
import math
from types import MappingProxyType

import torch

from ._assertions import _type_names, expect_result_tensor, expect_tensor, fmt, tolerance
from ._calling import call
from ._engine import Draw, Mistake, Spec, config, draw_configs, grade_spec, seed_of
from ._feedback import Reject, correct, fail
from ._isolation import seeded
from ._registry import exercise
from ._steps import first_mismatch

F64 = torch.float64


def _matching_variant(got, variants, run):
    """Return the cause of the first variant whose run matches ``got`` (NaN matches NaN), or None."""
    for variant, cause in variants:
        if first_mismatch(got, run(variant)) is None:
            return cause
    return None


# ----------------------------------------------------------------------------- 04.1


def _bias_corrected_ema(values, beta):
    average = 0.0  # m_0 = 0
    corrected = []
    for t, value in enumerate(values, start=1):  # t counts from 1
        average = beta * average + (1 - beta) * value  # m_t = β·m_{t-1} + (1 − β)·x_t
        corrected.append(average / (1 - beta**t))  # m̂_t = m_t / (1 − β^t)
    return torch.stack(corrected)


def _ema_variant(values, beta, *, correction="t", swap=False, start_at_first=False, feed_back=False):
    """The bias-corrected EMA with one mistake switched on (used to diagnose answers)."""
    average = values[0] if start_at_first else torch.zeros((), dtype=values.dtype)
    out = []
    for t, value in enumerate(values, start=1):
        if not (start_at_first and t == 1):
            old, new = (1 - beta, beta) if swap else (beta, 1 - beta)
            average = old * average + new * value
        power = {"t": t, "t-1": t - 1, "t+1": t + 1}.get(correction)
        corrected = average if correction is None else average / (1 - beta**power)
        if feed_back:
            average = corrected
        out.append(corrected)
    return torch.stack(out)


_EMA_MISTAKES = (
    (
        functools.partial(_ema_variant, correction=None),
        "this is the raw average m_t, which starts near 0 because m_0 = 0: divide it by 1 − beta**t.",
    ),
    (
        functools.partial(_ema_variant, correction="t-1"),
        "at the first value you divide by 1 − beta**0 = 0: count t from 1 (`enumerate(values, start=1)`).",
    ),
    (
        functools.partial(_ema_variant, correction="t+1"),
        "the correction is off by one: the first average (1 − beta)·x_1 must be divided by "
        "1 − beta**1, so use beta**t with t counted from 1.",
    ),
    (
        functools.partial(_ema_variant, swap=True),
        "beta and 1 − beta are swapped: beta weighs the old average, 1 − beta the new value.",
    ),
    (
        functools.partial(_ema_variant, start_at_first=True),
        "the average starts at the first value; the correction 1 − beta**t assumes it starts at 0.",
    ),
    (
        functools.partial(_ema_variant, feed_back=True),
        "the corrected value is fed back into the average: keep updating the uncorrected m_t, "
        "and divide only the value you output.",
    ),
)


def _ema_configs():
    """The configurations 04.1 is graded on, drawn once per check from a seed of the key:
    betas away from the lesson's 0.9, lengths down to one value, float32 and float64, and
    values that are zero, negative or large."""
    rng = Draw(seed_of("04.1"))
    configs = [(0.9, 10, F64, "noisy", 0)]
    for i, (n, dtype, kind) in enumerate(
        ((6, F64, "ramp"), (1, torch.float32, "noisy"), (12, torch.float32, "large"), (7, F64, "zeros"))
    ):
        beta = rng.choice((0.5, 0.3, 0.75, 0.97, 0.6, 0.85))
        configs.append((beta, n, dtype, kind, i + 1))
    return configs


def _ema_inputs(n, dtype, kind, seed):
    with seeded(seed):
        noise = torch.randn(n, dtype=F64)
    t = torch.arange(n, dtype=F64)
    values = {
        "noisy": 2.0 + 0.5 * noise,
        "ramp": -1.0 + 0.5 * noise + 0.1 * t,
        "large": 1e4 * noise,
        "zeros": torch.where(t % 3 == 0, 0.0, -3.0 * noise),
    }[kind]
    return values.to(dtype)


def _dtype_text(dtype):
    return str(dtype).replace("torch.", "")


def _closed_form_ema(values, beta):
    """Return m̂_t = Σ_i (1 − β)·β^(t−i)·x_i / (1 − β^t) for every t: the reference, computed
    without the recursion the learner writes."""
    n = values.shape[0]
    t = torch.arange(1, n + 1, dtype=F64)
    i = torch.arange(1, n + 1, dtype=F64)
    weights = torch.where(
        i[None, :] <= t[:, None], (1 - beta) * beta ** (t[:, None] - i[None, :]), torch.zeros((), dtype=F64)
    )
    return (weights @ values) / (1 - beta**t)


@exercise(
    "04.1",
    title="The bias-corrected moving average",
    solution=_bias_corrected_ema,
    hints=[
        "Keep a running average that starts at 0: `average = beta * average + (1 - beta) * value`.",
        "Output `average / (1 - beta ** t)` with t = 1 for the first value "
        "(`enumerate(values, start=1)`), but keep updating the *uncorrected* average.",
        "Collect the outputs in a list and return `torch.stack(outputs)`.",
    ],
)
def grade_bias_corrected_ema(bias_corrected_ema):
    """bias_corrected_ema(values, beta) must return m_t / (1 − beta**t) after every value."""
    configs = _ema_configs()
    for beta, n, dtype, kind, seed in configs:
        values = _ema_inputs(n, dtype, kind, seed)
        setting = f"beta = {beta} and {n} {_dtype_text(dtype)} value{'s' if n > 1 else ''}"
        result = call(bias_corrected_ema, values, beta, returns=object)
        got = expect_result_tensor(result, "the value returned by `bias_corrected_ema`")
        if tuple(got.shape) != (n,):
            fail(
                f"for {n} values `bias_corrected_ema` returned shape {tuple(got.shape)}; "
                f"return one corrected average per value, shape ({n},)."
            )
        expected = _closed_form_ema(values.to(F64), beta).to(dtype)
        if got.dtype != dtype:
            # Compared at the tolerance of another dtype, rounding would be reported as a wrong formula.
            close = (
                got.is_floating_point()
                and first_mismatch(
                    list(got.detach().to(F64)),
                    list(expected.to(F64)),
                    **dict(zip(("rtol", "atol"), tolerance(torch.float32))),
                )
                is None
            )
            fail(
                f"for {_dtype_text(dtype)} values `bias_corrected_ema` returned a {got.dtype} "
                f"tensor{' (its values are right to that precision)' if close else ''}; keep "
                "the dtype of `values`: `torch.tensor(list_of_floats)` makes float32, "
                "`torch.stack(outputs)` keeps the dtype."
            )
        got = got.detach()
        # float32 rounds each term of the average; where large values cancel, the error is
        # relative to the values, not to the (smaller) average: scale atol by them.
        scale = {} if dtype == F64 else {"rtol": 1e-5, "atol": 1e-5 * max(1.0, float(values.abs().max()))}
        mismatch = first_mismatch(list(got), list(expected), reference="the bias-corrected average", **scale)
        if mismatch is None:
            continue
        cause = _matching_variant(list(got), _EMA_MISTAKES, lambda v, values=values, beta=beta: list(v(values, beta)))
        if (
            cause is None
            and beta != 0.9
            and first_mismatch(list(got), list(_closed_form_ema(values.to(F64), 0.9).to(dtype))) is None
        ):
            cause = "this is the answer for beta = 0.9: use the `beta` argument."
        if (
            cause is None
            and dtype == F64
            and first_mismatch(list(got), list(expected), **dict(zip(("rtol", "atol"), tolerance(torch.float32))))
            is None
        ):
            cause = (
                "the formula is right, but the values are right only to float32 precision: "
                "the running average is kept in float32 somewhere (`torch.tensor(0.0)` and "
                "`torch.zeros(n)` are float32); start from `0.0` or use `dtype=values.dtype`."
            )
        if cause is None and not bool(torch.isfinite(got).all()):
            cause = "it contains NaN or inf: is there a division by zero?"
        fail(
            f"with {setting}: {mismatch}: "
            + (cause or "update m_t = beta·m_(t−1) + (1 − beta)·x_t from m_0 = 0, then output m_t / (1 − beta**t).")
        )
    betas = ", ".join(f"{c[0]:g}" for c in configs)
    return correct(
        f"your averages equal m_t / (1 − beta**t) at every step, in {len(configs)} "
        f"configurations (beta = {betas}; float32 and float64; 1 to 12 values, zero, "
        "negative and large): no bias towards the starting 0."
    )


# ----------------------------------------------------------------------------- 04.2


def _adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad  # m_t = β1·m + (1 − β1)·g
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad  # v_t = β2·v + (1 − β2)·g²
    m_hat = exp_avg / (1 - beta1**step)  # m̂_t = m_t / (1 − β1^t)
    v_hat = exp_avg_sq / (1 - beta2**step)  # v̂_t = v_t / (1 − β2^t)
    param = param - lr * m_hat / (v_hat.sqrt() + eps)  # θ_t = θ − lr·m̂ / (√v̂ + ε)
    return param, exp_avg, exp_avg_sq


_LESSON_HYPER = {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-3}  # the lesson's former checker's
_DEFAULT_HYPER = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}  # torch.optim.Adam's defaults
_HYPER_NAMES = tuple(_DEFAULT_HYPER)
BETAS_TUPLE = "with betas one tuple (beta1, beta2): `beta1, beta2 = betas`"


def _fixed(lr, betas, eps, fixed, source):
    """The hyperparameters with those named in ``fixed`` replaced by ``source``'s values
    (an answer that hard-codes them)."""
    values = {"lr": lr, "betas": betas, "eps": eps}
    values.update({name: source[name] for name in fixed})
    return values["lr"], values["betas"], values["eps"]


def _fixed_mistakes(make, *, lesson: bool):
    """``(variant, message)`` rows for each hyperparameter hard-coded alone, at Adam's
    defaults (and at the lesson's values when ``lesson``); ``make(**mistake)`` builds a variant."""
    sources = [(_DEFAULT_HYPER, "Adam's default")] + ([(_LESSON_HYPER, "the lesson's value")] if lesson else [])
    return tuple(
        (
            make(fixed=(name,), source=source),
            f"{name} is fixed at {source[name]} ({what}) whatever the argument: use the `{name}` argument.",
        )
        for source, what in sources
        for name in _HYPER_NAMES
    )


def _adam_variant(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    step,
    lr,
    betas,
    eps,
    *,
    correct1=True,
    correct2=True,
    eps_at="outside",
    beta_for_v=2,
    step_offset=0,
    square=True,
    root=True,
    sign=-1,
    store_corrected=False,
    momentum=True,
    order="pmv",
    fixed=(),
    source=_DEFAULT_HYPER,
):
    """One Adam step with one mistake switched on (used to diagnose answers)."""
    lr, betas, eps = _fixed(lr, betas, eps, fixed, source)
    beta1, beta2 = betas
    beta_v = beta2 if beta_for_v == 2 else beta1
    t = step + step_offset
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta_v * exp_avg_sq + (1 - beta_v) * (grad * grad if square else grad)
    bc1 = {True: 1 - beta1**t, False: 1.0, "sqrt": (1 - beta1**t) ** 0.5}[correct1]
    bc2 = (1 - beta_v**t) if correct2 else 1.0
    m_hat = exp_avg / bc1
    if eps_at == "inside":
        denom = (exp_avg_sq / bc2 + eps).sqrt()
    elif eps_at == "before correction":
        denom = (exp_avg_sq.sqrt() + eps) / bc2**0.5
    elif eps_at == "nowhere":
        denom = (exp_avg_sq / bc2).sqrt()
    else:
        denom = (exp_avg_sq / bc2).sqrt() + eps if root else exp_avg_sq / bc2 + eps
    param = param + sign * lr * (m_hat if momentum else grad) / denom
    if store_corrected:
        exp_avg, exp_avg_sq = m_hat, exp_avg_sq / bc2
    if order == "mvp":
        return exp_avg, exp_avg_sq, param
    if order == "pvm":
        return param, exp_avg_sq, exp_avg
    return param, exp_avg, exp_avg_sq


EPS_INSIDE = "eps sits inside the square root; torch adds it after: sqrt(v̂) + eps."
EPS_BEFORE_CORRECTION = (
    "eps is added before the bias correction, (sqrt(v) + eps) / sqrt(1 − beta2**step) "
    "(the paper's 'efficient' form, used by Keras); torch adds it after: sqrt(v̂) + eps."
)


def _v(**mistake):
    return functools.partial(_adam_variant, **mistake)


_ADAM_MISTAKES = (
    (
        _v(correct1=False, correct2=False),
        "the bias correction is missing: divide exp_avg by 1 − beta1**step and exp_avg_sq by "
        "1 − beta2**step before the update (return the uncorrected moments).",
    ),
    (_v(correct2=False), "only the first moment is bias-corrected: divide exp_avg_sq by 1 − beta2**step too."),
    (_v(correct1=False), "only the second moment is bias-corrected: divide exp_avg by 1 − beta1**step too."),
    (_v(eps_at="inside"), EPS_INSIDE),
    (_v(eps_at="before correction"), EPS_BEFORE_CORRECTION),
    (
        _v(eps_at="nowhere"),
        "eps is missing: torch divides by sqrt(v̂) + eps, which keeps the step finite where v̂ is 0 "
        "(a zero gradient) and bounded where it is tiny.",
    ),
    (
        _v(correct1="sqrt"),
        "the first moment is divided by sqrt(1 − beta1**step): the square root belongs to the second "
        "moment's correction only (sqrt(v̂)); m̂ = exp_avg / (1 − beta1**step).",
    ),
    (_v(beta_for_v=1), "the second moment uses beta1; exp_avg_sq decays with beta2 (and is corrected with beta2)."),
    (
        _v(step_offset=1),
        "the step counter is off by one: `step` is already 1 at the first step, so use "
        "beta ** step, not beta ** (step + 1).",
    ),
    (
        _v(step_offset=-1),
        "the step counter is off by one: at the first step 1 − beta**(step − 1) = 0 and the update "
        "divides by zero; `step` is already 1, use beta ** step.",
    ),
    (
        _v(store_corrected=True),
        "you return the bias-corrected moments as the new state; keep exp_avg and exp_avg_sq "
        "uncorrected and correct them only inside the update.",
    ),
    (_v(square=False), "the second moment averages the gradient itself; it averages grad * grad."),
    (_v(root=False), "the update divides by v̂ itself; it divides by its square root, sqrt(v̂) + eps."),
    (_v(sign=1), "the parameter moves uphill: subtract lr · m̂ / (sqrt(v̂) + eps)."),
    (_v(momentum=False), "the update uses the raw gradient; Adam steps along the averaged gradient m̂."),
    (_v(order="mvp"), "return the three tensors in the order (param, exp_avg, exp_avg_sq)."),
    (
        _v(order="pvm"),
        "exp_avg and exp_avg_sq are swapped: return the three tensors in the order (param, exp_avg, exp_avg_sq).",
    ),
    (
        _v(fixed=_HYPER_NAMES),
        "these are the numbers for Adam's defaults (lr=1e-3, betas=(0.9, 0.999), eps=1e-8): "
        "use the `lr`, `betas` and `eps` arguments.",
    ),
)

STEP_SHAPES = ((), (3,), (2, 3), (4,), (2,))
STEPS_PER_CONFIG = 5
_GRAD_SCALES = (1.0, 1e3, 1e-2, 30.0, 1.0)


def _step_config(draw, i, *, weight_decay=False):
    """Configuration ``i`` of a step-function exercise (04.2, 05.2): a 0-d to 2-D start in
    float64 or float32, gradients that are zero, negative, tiny or large, and hyperparameters
    away from the lesson's and from torch's defaults."""
    shape, dtype, scale = STEP_SHAPES[i], (torch.float32 if i % 2 else F64), _GRAD_SCALES[i]
    hyper = {
        "lr": draw.choice((0.3, 0.02, 0.1, 0.007, 0.2)),
        "betas": (draw.choice((0.5, 0.6, 0.8, 0.95)), draw.choice((0.9, 0.95, 0.99, 0.999))),
        "eps": draw.choice((0.1, 1e-3, 0.01, 0.05)) * scale,
    }
    if weight_decay:
        hyper["weight_decay"] = draw.choice((0.5, 0.1, 0.3, 0.05))
    start = draw.tensor(shape, F64).to(dtype)
    grads = []
    for t in range(STEPS_PER_CONFIG):
        g = scale * draw.tensor(shape, F64)
        if g.dim() and t in (0, 3):
            g.view(-1)[0] = 0.0  # a coordinate with no gradient: exp_avg_sq stays 0 there
        grads.append(g.to(dtype))
    place = "0-d" if not shape else f"shape {shape}"
    settings = ", ".join(f"{k}={v}" for k, v in hyper.items())
    return config(
        f"a {_dtype_text(dtype)} parameter ({place}), {settings}",
        start=start,
        grads=tuple(grads),
        hyper=hyper,
        offset=i * STEPS_PER_CONFIG,
    )


def step_configs(key, *, weight_decay=False):
    """The configurations of a step-function exercise, drawn from seeds fixed by ``key``."""
    return draw_configs(key, functools.partial(_step_config, weight_decay=weight_decay), len(STEP_SHAPES))


def torch_steps(optimizer_class, cfg):
    """Return torch's param, exp_avg and exp_avg_sq after each step of ``cfg``."""
    p = cfg["start"].clone().requires_grad_(True)
    opt = optimizer_class([p], **cfg["hyper"])
    steps = []
    for grad in cfg["grads"]:
        p.grad = grad.clone()
        opt.step()
        state = opt.state[p]
        steps.append(
            {
                "param": p.detach().clone(),
                "exp_avg": state["exp_avg"].clone(),
                "exp_avg_sq": state["exp_avg_sq"].clone(),
            }
        )
    return steps


def own_counter(step_function):
    """The mistake of counting steps oneself: ``step_function`` fed a counter that never
    starts again (:func:`run_step_function` adds the configuration's offset to ``step``)."""
    return functools.partial(step_function, _own_counter=True)


def run_step_function(invoke, cfg, function="adam_step"):
    """Call ``invoke(param, grad, exp_avg, exp_avg_sq, step, *hyperparameters)`` at every step
    of ``cfg`` from zero moments and check what it returns; stop after a non-finite result."""
    counter = isinstance(invoke, functools.partial) and invoke.keywords.get("_own_counter")
    if counter:
        invoke = invoke.func
    param = cfg["start"].clone()
    exp_avg, exp_avg_sq = torch.zeros_like(param), torch.zeros_like(param)
    steps = []
    for step, grad in enumerate(cfg["grads"], start=1):
        result = invoke(
            param, grad.clone(), exp_avg, exp_avg_sq, step + (cfg["offset"] if counter else 0), *cfg["hyper"].values()
        )
        param, exp_avg, exp_avg_sq = _unpack_adam_result(result, step, function, cfg)
        steps.append({"param": param, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq})
        if not all(bool(torch.isfinite(t).all()) for t in (param, exp_avg, exp_avg_sq)):
            break
    return steps


_NAMES = ("exp_avg", "exp_avg_sq", "param")


def _unpack_adam_result(result, step, function, cfg):
    """Check that a step function returned (param, exp_avg, exp_avg_sq) as tensors of the
    parameter's shape and dtype; return detached copies."""
    label = f"the value `{function}` returned at step {step}"
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        what = f"{len(result)} values" if isinstance(result, (tuple, list)) else _type_names(type(result))
        fail(f"`{function}` should return three tensors (param, exp_avg, exp_avg_sq); it returned {what}.")
    out = []
    start = cfg["start"]
    for name, value in zip(("param", "exp_avg", "exp_avg_sq"), result):
        expect_tensor(value, f"{name} in {label} (with {cfg.label})", shape=start.shape, finite=False)
        if value.dtype != start.dtype:
            fail(
                f"{name} in {label} has dtype {value.dtype} for a {start.dtype} "
                "parameter; keep the dtype of the inputs (build new tensors from them: "
                "`torch.tensor(...)` and `torch.zeros(shape)` make float32)."
            )
        out.append(value.detach().clone())
    return out


def _first_named_mismatch(got, expected):
    """Return the earliest Mismatch over the three tensors, named "exp_avg", ... (moments first)."""
    best = None
    for name in _NAMES:
        m = first_mismatch([s[name] for s in got], [s[name] for s in expected])
        if m is not None and (best is None or m.step < best.step):
            best = dataclasses.replace(m, name=name)
    return best


def step_spec(key, function, optimizer_class, mistakes, causes, success):
    """The engine's :class:`Spec` of a step-function exercise: ``mistakes`` are ``(variant,
    message)`` rows, ``causes`` the advice per first differing tensor when none matches."""

    def otherwise(mismatch, cfg):
        if mismatch.got is not None and not math.isfinite(mismatch.got):
            return (
                "a value became NaN or inf; is there a division by zero (a coordinate "
                "whose gradient is 0 has exp_avg_sq = 0)?"
            )
        return causes[mismatch.name]

    decay = function == "adamw_step"
    return Spec(
        configs=lambda: step_configs(key, weight_decay=decay),
        called_as=f"{function}(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps"
        f"{', weight_decay' if decay else ''}), {BETAS_TUPLE}",
        reference=functools.partial(torch_steps, optimizer_class),
        run=functools.partial(run_step_function, function=function),
        mistakes=[Mistake(f"mistake {i}", variant, message) for i, (variant, message) in enumerate(mistakes)],
        otherwise=otherwise,
        success=success,
        returns=object,
        compare=_first_named_mismatch,
    )


_OWN_COUNTER_MESSAGE = (
    "your step counter does not start again at 1 for a new parameter: use the `step` argument, not a count of your own."
)


@exercise(
    "04.2",
    title="One Adam step from scratch",
    solution=_adam_step,
    hints=[
        "Two running averages first: exp_avg with beta1 and grad, exp_avg_sq with beta2 and grad * grad.",
        "Then the bias corrections with the step number (1 at the first step): "
        "m̂ = exp_avg / (1 - beta1 ** step), v̂ = exp_avg_sq / (1 - beta2 ** step).",
        "The update is `param - lr * m_hat / (v_hat.sqrt() + eps)`: eps after the square root. "
        "Return `param, exp_avg, exp_avg_sq`, the moments uncorrected.",
    ],
)
def grade_adam_step(adam_step):
    """adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps) must match torch.optim.Adam."""
    return grade_spec(_ADAM_SPEC, adam_step, name="`adam_step`")


_ADAM_SPEC = step_spec(
    "04.2",
    "adam_step",
    torch.optim.Adam,
    ((own_counter(_adam_step), _OWN_COUNTER_MESSAGE),)
    + _ADAM_MISTAKES
    + (
        (
            _v(fixed=_HYPER_NAMES, source=_LESSON_HYPER),
            "these are the numbers of lr=0.05, betas=(0.8, 0.99), eps=1e-3 whatever "
            "the arguments: use the `lr`, `betas` and `eps` arguments.",
        ),
    )
    + _fixed_mistakes(_v, lesson=True),
    {
        "exp_avg": "check exp_avg = beta1 · exp_avg + (1 − beta1) · grad.",
        "exp_avg_sq": "check exp_avg_sq = beta2 · exp_avg_sq + (1 − beta2) · grad².",
        "param": "the moments are right, so look at the update: "
        "param − lr · m̂ / (sqrt(v̂) + eps), with m̂ and v̂ bias-corrected by beta**step.",
    },
    "param, exp_avg and exp_avg_sq match torch.optim.Adam at every step of {n} configurations "
    "(0-d to 2-D, float32 and float64, zero and large gradients, hyperparameters drawn at "
    "check time).",
)


# ----------------------------------------------------------------------------- 04.3


# The reference solution, named as in the notebook (show_solution prints this source).
def step_after_zero_grads(grad, step, lr, betas, eps):
    """Return |Δθ| of Adam's step number `step` when every earlier gradient was 0."""
    beta1, beta2 = betas
    m_hat = (1 - beta1) * grad / (1 - beta1**step)  # m_t = (1 − β1)·g, one term; m̂ = m_t / (1 − β1^t)
    v_hat = (1 - beta2) * grad * grad / (1 - beta2**step)  # v_t = (1 − β2)·g²; v̂ = v_t / (1 − β2^t)
    return lr * m_hat.abs() / (v_hat.sqrt() + eps)  # |Δθ| = lr·|m̂| / (√v̂ + ε)


_step_after_zero_grads = step_after_zero_grads  # the grader's parameter shadows the name


def _silence_variant(
    grad,
    step,
    lr,
    betas,
    eps,
    *,
    correct1=True,
    correct2=True,
    at_step=None,
    m_weight=True,
    v_weight=True,
    root=True,
    eps_at="outside",
    swap=False,
    signed=False,
    sgd=False,
    cancel=False,
    first_sign=False,
    bound=False,
    step_offset=0,
    per_lr=False,
    fixed=(),
    source=_DEFAULT_HYPER,
):
    """|Δθ| with one mistake switched on (used to diagnose answers)."""
    lr, betas, eps = _fixed(lr, betas, eps, fixed, source)
    if per_lr:  # |Δθ| / lr, the lesson's "times lr" unit
        return _silence_variant(grad, step, 1.0, betas, eps)
    beta1, beta2 = reversed(betas) if swap else betas
    if sgd:
        return lr * grad.abs()
    if first_sign:  # "the first step is lr·sign(g)", read as every step's size
        return lr * grad.sign().abs()
    if bound:  # §2.1's worst-case bound, read as the size of every step
        return torch.full_like(grad, lr * (1 - beta1) / math.sqrt(1 - beta2))
    t = (step if at_step is None else at_step) + step_offset
    m = (1 - beta1) * grad if m_weight else grad
    v = (1 - beta2) * grad * grad if v_weight else grad * grad
    bc1 = 1 - beta1**t if correct1 else 1.0
    bc2 = 1 - beta2**t if correct2 else 1.0
    m_hat = m / bc1
    if cancel:  # |g| divided out of m̂/√v̂ by hand, which drops what eps does
        return lr * (1 - beta1) / bc1 / math.sqrt((1 - beta2) / bc2) * torch.ones_like(grad)
    if eps_at == "inside":
        denom = (v / bc2 + eps).sqrt()
    elif eps_at == "before correction":
        denom = (v.sqrt() + eps) / math.sqrt(bc2)
    elif eps_at == "none":
        denom = (v / bc2).sqrt()
    else:
        denom = (v / bc2).sqrt() + eps if root else v / bc2 + eps
    size = lr * m_hat / denom
    return {True: -size, "negated": size}.get(signed, size.abs())


def _s(**mistake):
    return functools.partial(_silence_variant, **mistake)


_USE_ABS = "return the size, |Δθ|: use .abs()."
_FIRST_STEP = (
    "this is the size of a *first* step (lr·|sign(grad)|, whatever the gradient's size): the "
    "zero gradients before still count as steps, so the corrections are 1 − beta**step with "
    "this step number, while m_t and v_t hold a single term each."
)
_NO_CORRECTION = (
    "the bias correction is missing: without it this is §2.1's worst case, "
    "lr·(1 − beta1)/sqrt(1 − beta2), at every step. Divide m_t by 1 − beta1**step and "
    "v_t by 1 − beta2**step."
)
_SILENCE_MISTAKES = (
    (
        _s(signed=True),
        f"this is the update Δθ with its sign (negative where grad > 0), and a size is never negative: {_USE_ABS}",
    ),
    (
        _s(signed="negated"),
        "this is lr·m̂ / (sqrt(v̂) + eps) with m̂'s sign, −Δθ (negative where grad < 0), and a size "
        f"is never negative: {_USE_ABS}",
    ),
    (_s(at_step=1), _FIRST_STEP),
    (_s(first_sign=True), _FIRST_STEP),
    (
        _s(correct1=False, correct2=False),
        _NO_CORRECTION,
    ),
    (
        _s(bound=True),
        "this is §2.1's worst-case bound, lr·(1 − beta1)/sqrt(1 − beta2), as the size of every "
        "step: a step nears it only once beta2**step is negligible, and a zero gradient moves 0. "
        "Bias-correct m_t and v_t with this step number.",
    ),
    (_s(correct2=False), "only m_t is bias-corrected: divide v_t by 1 − beta2**step too."),
    (_s(correct1=False), "only v_t is bias-corrected: divide m_t by 1 − beta1**step too."),
    (
        _s(m_weight=False),
        "m_t is missing its factor (1 − beta1): from m_0 = 0 and one gradient, m_t = beta1·0 + (1 − beta1)·grad.",
    ),
    (
        _s(v_weight=False),
        "v_t is missing its factor (1 − beta2): from v_0 = 0 and one gradient, v_t = (1 − beta2)·grad².",
    ),
    (_s(root=False), "the update divides by v̂ itself; Adam divides by its square root, sqrt(v̂) + eps."),
    (_s(eps_at="inside"), EPS_INSIDE),
    (_s(eps_at="before correction"), EPS_BEFORE_CORRECTION),
    (
        _s(eps_at="none"),
        "eps is left out: where grad is 0, m̂/sqrt(v̂) is 0/0; torch divides by sqrt(v̂) + eps, "
        "which moves a zero gradient by 0.",
    ),
    (
        _s(cancel=True),
        "|grad| does not cancel exactly: eps is added to sqrt(v̂), so a gradient near the size "
        "of eps (or 0) moves less. Keep grad and eps in the formula.",
    ),
    (_s(swap=True), "beta1 and beta2 are swapped: beta1 weighs the gradient's average m, beta2 that of grad²."),
    (
        _s(sgd=True),
        "that is SGD's step, lr·|grad|; Adam divides m̂ by sqrt(v̂) + eps, so the gradient's scale mostly cancels.",
    ),
    (
        _s(step_offset=-1),
        "the corrections use beta**(step − 1), one step behind: `step` is already the number of "
        "this step (1 for the first, where step − 1 would divide by zero), so use beta**step.",
    ),
    (_s(step_offset=1), "the corrections use beta**(step + 1); `step` is already this step's number: use beta**step."),
    (
        _s(fixed=_HYPER_NAMES),
        "these are the numbers for Adam's defaults (lr=1e-3, betas=(0.9, 0.999), eps=1e-8): "
        "use the `lr`, `betas` and `eps` arguments.",
    ),
    (
        _s(per_lr=True),
        "this is |Δθ| / lr, the step in units of lr (as the lesson's table shows it); the exercise "
        "asks for |Δθ| itself: multiply by lr.",
    ),
)
_SILENCE_MISTAKES += _fixed_mistakes(_s, lesson=False)

# Configuration i: (shape, dtype, step, kind of gradient, its scale). The first is a typical
# case (its message is the one most learners read); then a first step, zero entries and a
# large one, gradients of eps's size, thousands of steps, a 0-d zero gradient, ...
_SILENCE_CASES = (
    ((3,), F64, 7, "mixed", 1.0),
    ((), torch.float32, 1, "normal", 1.0),
    ((2, 3), F64, 40, "mixed", 1.0),
    ((4,), torch.float32, 300, "normal", 1e-3),
    ((1, 5), F64, 2500, "negative", 30.0),
    ((2,), F64, 2, "normal", 1e-2),
    ((3, 2), torch.float32, 15, "mixed", 1.0),
    ((), F64, 120, "zero", 1.0),
)


def _silence_config(draw, i):
    """Configuration ``i`` of 04.3: the gradient that arrives at step ``step`` after zeros,
    with lr, betas and eps drawn away from torch's defaults (eps near the gradients' size)."""
    shape, dtype, step, kind, scale = _SILENCE_CASES[i]
    lr = draw.choice((0.3, 0.02, 0.1, 0.007, 0.2, 0.05))
    betas = (draw.choice((0.5, 0.6, 0.8, 0.85)), draw.choice((0.9, 0.95, 0.98, 0.99, 0.995)))
    eps = draw.choice((1e-3, 1e-2, 0.05, 0.1)) * scale
    grad = (scale * draw.tensor(shape, F64, kind)).to(dtype)
    place = "0-d" if not shape else f"shape {shape}"
    what = {"zero": "zero ", "negative": "negative ", "mixed": "mixed (zero and large) "}.get(kind, "")
    label = (
        f"a {what}{_dtype_text(dtype)} gradient ({place}) at step {step} after {step - 1} zero "
        f"gradient{'s' if step != 2 else ''}, lr={lr:g}, betas={betas}, eps={eps:g}"
    )
    return config(label, grad=grad, step=step, lr=lr, betas=betas, eps=eps)


def _torch_step_after_zero_grads(cfg):
    """|Δθ| of torch.optim.Adam's step ``cfg["step"]``, run for real after step − 1 zero gradients."""
    grad = cfg["grad"]
    p = torch.zeros_like(grad, requires_grad=True)
    opt = torch.optim.Adam([p], lr=cfg["lr"], betas=cfg["betas"], eps=cfg["eps"])
    for _ in range(cfg["step"] - 1):
        p.grad = torch.zeros_like(grad)  # a zero gradient, not None: torch counts the step
        opt.step()
    before = p.detach().clone()
    p.grad = grad.clone()
    opt.step()
    return [(p.detach() - before).abs()]


def _run_silence(invoke, cfg):
    grad = cfg["grad"]
    result = invoke(grad.clone(), cfg["step"], cfg["lr"], cfg["betas"], cfg["eps"])
    expect_tensor(
        result, f"the value `step_after_zero_grads` returned (with {cfg.label})", shape=grad.shape, finite=False
    )
    if result.dtype != grad.dtype:
        fail(
            f"for a {grad.dtype} gradient `step_after_zero_grads` returned a {result.dtype} tensor; "
            "keep grad's dtype (compute from grad with tensor operations: `torch.tensor(...)` makes float32)."
        )
    return [result.detach()]


@dataclasses.dataclass(frozen=True)
class _SizeMismatch:
    """Where a returned |Δθ| differs from torch's (one value per coordinate, no steps)."""

    index: tuple
    got: float
    expected: float

    def __str__(self):
        where = f"|Δθ|[{', '.join(map(str, self.index))}]" if self.index else "|Δθ|"
        return f"{where} is {fmt(self.got, self.expected)}, torch.optim.Adam moves {fmt(self.expected, self.got)}"


def _compare_sizes(got, expected):
    mismatch = first_mismatch(got, expected, check_dtype=True)
    return None if mismatch is None else _SizeMismatch(mismatch.index, mismatch.got, mismatch.expected)


# The fallback points to the hints rather than giving the whole recipe on a first wrong try.
_SILENCE_GENERIC = (
    'this is not the step torch takes here. hint("04.3") says what m_t and v_t hold after the '
    'zero gradients; hint("04.3", 2) how to correct them.'
)


def _silence_otherwise(mismatch, cfg):
    if not math.isfinite(mismatch.got):
        return "a value is NaN or inf: where grad is 0, m̂ and v̂ are 0 too, and only eps keeps the division finite."
    return _SILENCE_GENERIC


# Probes for an answer that ignores an argument: a base call, and one change per argument
# (each changes torch's |Δθ|: tests/test_exercises_04.py checks it).
_PROBE_BASE = MappingProxyType({"step": 5, "lr": 0.1, "betas": (0.8, 0.99), "eps": 1e-2})
_PROBE_CHANGE = MappingProxyType({"step": 50, "lr": 0.2, "betas": (0.6, 0.9), "eps": 0.1})
_IGNORED_ADVICE = MappingProxyType(
    {
        "step": "the zero gradients before still count as steps: bias-correct with this step number, "
        "1 − beta1**step and 1 − beta2**step",
        "lr": "|Δθ| is proportional to lr",
        "betas": "beta1 weighs m_t and beta2 v_t, and both enter the corrections",
        "eps": "eps, added after the square root, makes a small gradient move less",
    }
)


def _probe_grad():
    return torch.tensor([0.5, -2.0, 0.0, 3e-3], dtype=F64)


def _ignored_arguments(answer) -> list:
    """The arguments whose change leaves the answer's |Δθ| unchanged (where torch's changes);
    [] when the answer cannot run on the probes."""

    def size(**change):
        args = {**_PROBE_BASE, **change}
        return call(answer, _probe_grad(), *args.values(), returns=torch.Tensor, called_as=_SILENCE_CALLED_AS)

    try:
        base = size()
        return [name for name, value in _PROBE_CHANGE.items() if torch.equal(size(**{name: value}), base)]
    except Exception:  # noqa: BLE001 - an answer that fails on a probe gets the message it already has
        return []


_LR_EVERYWHERE = (
    "that is the size of a first step, lr, for every step (and for every gradient, even 0): after "
    "the zero gradients the moments hold one term each, bias-corrected with this step number, so "
    "the size depends on step, betas, eps and the gradient itself."
)


def _is_lr_everywhere(answer) -> bool:
    """True when the answer returns lr in every coordinate of the probes (a first step's size)."""
    try:
        for change in ({}, *({name: value} for name, value in _PROBE_CHANGE.items())):
            args = {**_PROBE_BASE, **change}
            got = call(answer, _probe_grad(), *args.values(), returns=torch.Tensor, called_as=_SILENCE_CALLED_AS)
            if not torch.equal(got, torch.full_like(_probe_grad(), args["lr"])):
                return False
    except Exception:  # noqa: BLE001 - an answer that fails on a probe keeps the message it has
        return False
    return True


def _name_ignored(feedback, answer):
    """Name the arguments an answer ignores, where its message is the fallback (or calls a
    fixed step a missing bias correction: only a fixed step of thousands looks like that)."""
    for reason in (_SILENCE_GENERIC, _NO_CORRECTION):
        if feedback.status == "incorrect" and feedback.message.endswith(reason):
            ignored = _ignored_arguments(answer)
            if _is_lr_everywhere(answer):
                message = feedback.message.removesuffix(reason)
                return dataclasses.replace(feedback, message=message + _LR_EVERYWHERE)
            if reason == _NO_CORRECTION and ignored == ["step"]:
                probe = {**_PROBE_BASE, "step": 2}
                got = call(answer, _probe_grad(), *probe.values())
                uncorrected = _silence_variant(_probe_grad(), *probe.values(), correct1=False, correct2=False)
                if torch.allclose(got, uncorrected, rtol=1e-10, atol=0):
                    return feedback  # no correction at all, not a fixed step
            if not ignored:
                return feedback
            names = " or ".join(f"`{n}`" for n in ignored)
            advice = "; ".join(_IGNORED_ADVICE[n] for n in ignored)
            message = feedback.message.removesuffix(reason)
            return dataclasses.replace(
                feedback, message=f"{message}it gives the same |Δθ| whatever {names} is: use it ({advice})."
            )
    return feedback


_SILENCE_CALLED_AS = f"step_after_zero_grads(grad, step, lr, betas, eps), {BETAS_TUPLE}"

_SILENCE_SPEC = Spec(
    configs=lambda: draw_configs("04.3", _silence_config, len(_SILENCE_CASES)),
    reference=_torch_step_after_zero_grads,
    run=_run_silence,
    mistakes=[Mistake(f"mistake {i}", variant, message) for i, (variant, message) in enumerate(_SILENCE_MISTAKES)],
    otherwise=_silence_otherwise,
    success=(
        "your |Δθ| equals torch.optim.Adam's, run for real after the zero gradients, in all {n} "
        "configurations (0-d to 2-D, float32 and float64, zero, tiny and large gradients, steps 1 "
        "to 2500, lr, betas and eps drawn at check time)."
    ),
    returns=object,
    compare=_compare_sizes,
    called_as=_SILENCE_CALLED_AS,
)

PREDICTED_STEPS = (10, 100, 1000, 10000)  # the steps the lesson's next cell runs torch to


def _prediction_text(answer):
    """What the learner's (correct) function predicts for the lesson's next cell, or ''."""
    try:
        sizes = [
            float(call(answer, torch.ones((), dtype=F64), step, 1e-3, (0.9, 0.999), 1e-8, returns=torch.Tensor)) / 1e-3
            for step in PREDICTED_STEPS
        ]
    except Exception:  # a function right on every configuration but not on this one: no prediction
        return ""
    shown = ", ".join(f"{s:.2f}" for s in sizes[:-1]) + f" and {sizes[-1]:.2f}"
    at = ", ".join(f"{k}" for k in PREDICTED_STEPS[:-1]) + f" and {PREDICTED_STEPS[-1]}"
    return (
        f" Your prediction for the next cell (Adam's defaults, a gradient of 1 first at step {at}): "
        f"|Δθ| = {shown} times lr."
    )


@exercise(
    "04.3",
    title="Predict, then reveal: a gradient after a long silence",
    solution=_step_after_zero_grads,
    hints=[
        "Before this step every gradient was 0, so exp_avg and exp_avg_sq are still 0: after it, "
        "m_t = (1 − beta1)·grad and v_t = (1 − beta2)·grad², a single term each. The zero steps "
        "still count: this is step number `step`.",
        "Bias-correct with that step number, m̂ = m_t / (1 − beta1**step) and v̂ = v_t / (1 − beta2**step); "
        "the size of the update is lr·|m̂| / (sqrt(v̂) + eps), eps after the square root.",
        "Compute from `grad` with tensor operations (`grad.abs()`, `.sqrt()`), so that the result "
        "has grad's shape and dtype; no loop is needed.",
    ],
)
def grade_step_after_zero_grads(step_after_zero_grads):
    """step_after_zero_grads(grad, step, lr, betas, eps) must give torch.optim.Adam's |Δθ|."""
    try:
        feedback = grade_spec(_SILENCE_SPEC, step_after_zero_grads, name="`step_after_zero_grads`")
    except Reject as rej:
        raise Reject(_name_ignored(rej.feedback, step_after_zero_grads)) from None
    return dataclasses.replace(feedback, message=feedback.message + _prediction_text(step_after_zero_grads))
