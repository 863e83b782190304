"""Checkers for lesson 04 · Adam: the bias-corrected EMA, one Adam step, Adam's learning rate.

Each grader builds its own inputs and compares the learner's result with an independent
reference: torch.optim.Adam for the step, the closed-form average for the EMA. When an
answer is wrong, the grader runs the known wrong variants of the exercise (missing bias
correction, eps inside the square root, wrong beta, step counter off by one, ...) and
names the one the learner's answer matches.
"""

import dataclasses
import functools
import math

import torch

from ._assertions import _type_names, expect_result_tensor, expect_tensor, tolerance
from ._assertions import expect_number as expect_plain_number  # the one number policy
from ._calling import call
from ._engine import Draw, Mistake, Spec, config, draw_configs, grade_spec, seed_of
from ._feedback import correct, fail, incorrect
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
    defaults=False,
    lesson=False,
):
    """One Adam step with one mistake switched on (used to diagnose answers)."""
    if defaults:
        lr, betas, eps = 1e-3, (0.9, 0.999), 1e-8
    if lesson:
        lr, betas, eps = _LESSON_HYPER["lr"], _LESSON_HYPER["betas"], _LESSON_HYPER["eps"]
    beta1, beta2 = betas
    beta_v = beta2 if beta_for_v == 2 else beta1
    t = step + step_offset
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta_v * exp_avg_sq + (1 - beta_v) * (grad * grad if square else grad)
    bc1 = (1 - beta1**t) if correct1 else 1.0
    bc2 = (1 - beta_v**t) if correct2 else 1.0
    m_hat = exp_avg / bc1
    if eps_at == "inside":
        denom = (exp_avg_sq / bc2 + eps).sqrt()
    elif eps_at == "before correction":
        denom = (exp_avg_sq.sqrt() + eps) / bc2**0.5
    else:
        denom = (exp_avg_sq / bc2).sqrt() + eps if root else exp_avg_sq / bc2 + eps
    param = param + sign * lr * (m_hat if momentum else grad) / denom
    if store_corrected:
        exp_avg, exp_avg_sq = m_hat, exp_avg_sq / bc2
    if order == "mvp":
        return exp_avg, exp_avg_sq, param
    return param, exp_avg, exp_avg_sq


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
    (_v(eps_at="inside"), "eps sits inside the square root; torch adds it after: sqrt(v̂) + eps."),
    (
        _v(eps_at="before correction"),
        "eps is added before the bias correction, (sqrt(v) + eps) / sqrt(1 − beta2**step) "
        "(the paper's 'efficient' form, used by Keras); torch adds it after: sqrt(v̂) + eps.",
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
        _v(defaults=True),
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

    return Spec(
        configs=lambda: step_configs(key, weight_decay=function == "adamw_step"),
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
            _v(lesson=True),
            "these are the numbers of lr=0.05, betas=(0.8, 0.99), eps=1e-3 whatever "
            "the arguments: use the `lr`, `betas` and `eps` arguments.",
        ),
    ),
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

LR_SURFACE = "beale"
LR_STEPS = 200
LR_TARGET = 1e-5
LR_SMALLEST_WORKING = 0.3  # measured: 0.25 ends at 1.4e-5, 0.3 at 1.4e-6 (and 0.8 to 1.0 fail again)

_PICK_LR = """\
adam_lr = 0.5   # from about 0.3 to 0.7 works (and, by luck of the landscape, 1.5 to 2)
"""


def _adam_on_surface(lr, optimizer=torch.optim.Adam):
    from .. import training  # imported here: training is only needed when grading 04.3

    return training.run(optimizer, LR_SURFACE, LR_STEPS, lr=lr)


@exercise(
    "04.3",
    title="Pick a learning rate for Adam",
    solution=_PICK_LR,
    hints=[
        'Try a few values with `training.run(torch.optim.Adam, "beale", 200, lr=...)` and '
        "look at `.final_loss`; start from Adam's default 0.001 and multiply by about 3 "
        "(factors of 10 step over the range that works).",
        "Adam moves each coordinate by about lr per step, and the minimum (3, 0.5) is "
        "about 2.2 away from the start (1, 1.5): 200 steps of 0.001 cannot get there.",
    ],
)
def grade_adam_lr(adam_lr):
    """Adam with lr=adam_lr must bring Beale's function below LR_TARGET in LR_STEPS steps."""
    lr = expect_plain_number(adam_lr, "adam_lr")
    if lr < 0:
        return incorrect(f"torch.optim.Adam rejects it: ValueError: Invalid learning rate: {adam_lr}")
    if lr == 0:
        return incorrect("with lr=0 Adam never moves.")
    history = _adam_on_surface(lr)
    final = history.final_loss
    if history.diverged:
        return incorrect(f"with lr={lr:g} Adam diverged at step {history.diverged_at}: lr is far too large.")
    if final < LR_TARGET:
        sgd = _adam_on_surface(lr, torch.optim.SGD)
        sgd_text = (
            "SGD with the same lr diverges"
            if sgd.diverged or sgd.final_loss > 1e6
            else f"SGD with the same lr ends at {sgd.final_loss:.2g}"
        )
        return correct(f"with lr={lr:g} Adam reaches loss {final:.2g} after {LR_STEPS} steps ({sgd_text}).")
    losses = history.losses
    rises = int((losses[1:] > losses[:-1]).sum())
    if lr < LR_SMALLEST_WORKING:
        falling = "it fell at every step" if rises == 0 else f"it fell at {LR_STEPS - rises} of the {LR_STEPS} steps"
        return incorrect(
            f"with lr={lr:g} the loss is still {final:.3g} after {LR_STEPS} steps "
            f"(target < {LR_TARGET:g}); {falling}, just not far enough: lr is too "
            "small. Adam moves each coordinate by about lr per step, or less."
        )
    return incorrect(
        f"with lr={lr:g} the loss ends at {final:.3g} (target < {LR_TARGET:g}) and "
        f"went up at {rises} of the {LR_STEPS} steps: Adam overshoots, so lr is too "
        "large (and after a big overshoot exp_avg_sq keeps the huge gradients it "
        "met, which shrinks every later step)."
    )
