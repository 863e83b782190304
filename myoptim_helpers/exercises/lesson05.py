"""Checkers for lesson 05 · Weight decay: decay/no-decay param groups, predicting one step with
L2 vs decoupled decay, and one AdamW step from scratch.

Each grader builds its own model or inputs, compares with torch.optim (or with the rule
the exercise states), and, for a wrong answer, names the known mistake it matches. The
AdamW step reuses lesson 04's Adam machinery: the same valley, the same step-by-step
comparison, the same Adam mistakes, plus the mistakes that belong to weight decay.
"""

import functools

import torch
from torch import nn

from ._assertions import _type_names, expect_number
from ._calling import call, expect_own_work
from ._engine import Draw, grade_spec, seed_of
from ._feedback import correct, fail
from ._isolation import seeded
from ._registry import exercise
from .lesson04 import _ADAM_MISTAKES, _OWN_COUNTER_MESSAGE, F64, _adam_variant, own_counter, step_spec

# ----------------------------------------------------------------------------- 05.3


def _param_groups(model, weight_decay):
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]  # weight matrices, embeddings, conv kernels
    no_decay = [p for p in params if p.dim() < 2]  # biases, norm weights
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class _CheckerNet(nn.Module):
    """A model unlike the lesson's: an embedding, a Conv1d (a 3-D weight), norms, a Linear without bias."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 8, dtype=F64)
        self.conv = nn.Conv1d(8, 8, kernel_size=3, padding=1, dtype=F64)
        self.norm = nn.LayerNorm(8, dtype=F64)
        self.mlp = nn.Sequential(nn.Linear(8, 16, dtype=F64), nn.GELU(), nn.Linear(16, 8, bias=False, dtype=F64))
        self.head_norm = nn.BatchNorm1d(8, dtype=F64)
        self.head = nn.Linear(8, 3, dtype=F64)

    def forward(self, tokens):
        """Return logits of shape (batch, 3) for integer tokens of shape (batch, length)."""
        h = self.conv(self.embed(tokens).transpose(1, 2)).transpose(1, 2)
        h = self.mlp(self.norm(h)).mean(dim=1)
        return self.head(self.head_norm(h))


def _checker_models():
    with seeded(0):
        small = nn.Sequential(nn.Linear(4, 8, dtype=F64), nn.LayerNorm(8, dtype=F64), nn.Linear(8, 1, dtype=F64))
    # frozen parameters (a frozen layer, a frozen norm bias) belong in no group
    small[0].weight.requires_grad_(False)
    small[1].bias.requires_grad_(False)
    return [_CheckerNet(), small]


def _shape(p):
    return f"shape {tuple(p.shape)}"


def _groups_of(result):
    """Return the learner's groups as a list of (index, dict) with 'params' as a list."""
    if isinstance(result, torch.optim.Optimizer):
        fail(
            f"`param_groups` returned {_type_names(type(result))}; return the list of groups "
            "itself (the optimizer fills every group with its own lr, betas, ...), so that "
            "the caller builds the optimizer: `torch.optim.AdamW(param_groups(model, 0.1), lr=...)`."
        )
    if isinstance(result, dict):
        fail(
            "`param_groups` returned one dict; return a list of groups, e.g. "
            "[{'params': decay, 'weight_decay': weight_decay}, {'params': no_decay, "
            "'weight_decay': 0.0}]."
        )
    if not isinstance(result, (list, tuple)):
        fail(f"`param_groups` should return a list of dicts (param groups), got {type(result).__name__}.")
    groups = []
    for i, group in enumerate(result):
        if isinstance(group, torch.Tensor):
            fail(
                f"item {i} of the list is a tensor: return param groups, dicts like "
                "{'params': [...], 'weight_decay': ...}, not the tensors themselves."
            )
        if not isinstance(group, dict):
            fail(
                f"group {i} should be a dict like {{'params': [...], 'weight_decay': ...}}, got {type(group).__name__}."
            )
        if "params" not in group:
            fail(f"group {i} has no 'params' key: a param group is a dict whose 'params' holds its tensors.")
        params = group["params"]
        params = [params] if isinstance(params, torch.Tensor) else list(params)
        for p in params:
            if not isinstance(p, torch.Tensor):
                fail(
                    f"group {i}'s 'params' holds {_type_names(type(p))}; it should hold the "
                    "parameter tensors (from model.parameters(), not their names)."
                )
        groups.append((i, {**group, "params": params}))
    return groups


def _check_groups(result, model, weight_decay):
    names = {id(p): n for n, p in model.named_parameters()}
    groups = _groups_of(result)
    where = {}
    for i, group in groups:
        extra = sorted(set(group) - {"params", "weight_decay"}, key=str)
        if extra:
            fail(
                f"group {i} sets {', '.join(map(repr, extra))}, which the exercise did not ask "
                f"for: a key in a param group overrides the optimizer's own setting for that "
                "group. Give each group only 'params' and 'weight_decay'."
            )
        for p in group["params"]:
            if id(p) not in names:
                fail(
                    f"group {i} holds a tensor of {_shape(p)} that is not a parameter of the "
                    "`model` argument: did you use another model, or copies of its tensors?"
                )
            if id(p) in where:
                same = " twice in that group" if where[id(p)] == i else f" in groups {where[id(p)]} and {i}"
                fail(
                    f"{names[id(p)]} appears{same}: each parameter belongs to exactly one "
                    "group (torch raises ValueError otherwise)."
                )
            where[id(p)] = i
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad and id(p) in where]
    if frozen:
        fail(
            f"{', '.join(frozen)} {'is' if len(frozen) == 1 else 'are'} frozen "
            "(requires_grad=False) but in a group: leave frozen parameters out, "
            "`[p for p in model.parameters() if p.requires_grad]`."
        )
    missing = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in where]
    if missing:
        fail(
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} in no group: "
            "the optimizer would never train "
            f"{'it' if len(missing) == 1 else 'them'}. Every parameter goes in one group."
        )
    for i, group in groups:
        if group["params"] and "weight_decay" not in group:
            fail(
                f"group {i} has no 'weight_decay' key, so it takes the optimizer's default "
                "(0.01 for AdamW): set it explicitly, 'weight_decay': 0.0 for the group "
                "without decay."
            )
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        i = where[id(p)]
        wd = dict(groups)[i]["weight_decay"]
        if p.dim() >= 2 and wd == 0:
            hint = (
                " (did you test `p.dim() == 2`? A Conv1d weight has 3 dimensions, a Conv2d weight 4)"
                if p.dim() > 2
                else " (select by `p.dim() >= 2`, not by name or module type)"
            )
            fail(
                f"{name} ({_shape(p)}) is in group {i} with weight_decay={wd}: every tensor "
                f"with 2 or more dimensions is decayed{hint}."
            )
        if p.dim() < 2 and wd != 0:
            kind = "a bias" if name.endswith("bias") else "a norm's weight (its gain)"
            fail(
                f"{name} ({_shape(p)}, {kind}) is in group {i} with weight_decay={wd}: "
                "tensors with fewer than 2 dimensions get weight_decay=0.0 (select by "
                "`p.dim() < 2`, not by the name 'bias')."
            )
        if p.dim() >= 2 and wd != weight_decay:
            fail(
                f"the decayed group (group {i}) has weight_decay={wd}; use the "
                f"`weight_decay` argument ({weight_decay})."
            )
    return len(groups)


@exercise(
    "05.3",
    title="Decay and no-decay param groups",
    solution=_param_groups,
    hints=[
        "Loop over `model.parameters()` and sort each tensor by `p.dim()`: 2 or more dimensions "
        "(matrices, embeddings, conv kernels) are decayed; biases and norm weights (1-D) are not.",
        "Return two dicts: `{'params': decay, 'weight_decay': weight_decay}` and "
        "`{'params': no_decay, 'weight_decay': 0.0}`, in either order. Set 0.0 explicitly, or "
        "the optimizer's default applies.",
    ],
)
def grade_param_groups(param_groups):
    """param_groups(model, weight_decay) must split the model's parameters nanoGPT's way."""
    rng = Draw(seed_of("05.3"))
    decays = [rng.choice((0.1, 0.05, 0.3, 0.02)) for _ in range(2)]
    for model in _checker_models():
        for weight_decay in decays:
            flags = [(name, p.requires_grad) for name, p in model.named_parameters()]
            result = call(param_groups, model, weight_decay, returns=object)
            for name, flag in flags:
                if model.get_parameter(name).requires_grad != flag:
                    fail(
                        f"`param_groups` changed `requires_grad` of {name}: sort the parameters "
                        "into groups; freezing them would stop them training at all."
                    )
            _check_groups(result, model, weight_decay)
    expect_own_work(param_groups, "param_groups", "param_groups")
    return correct(
        "every trainable tensor with 2+ dimensions is decayed with the `weight_decay` "
        "you pass (the groups may come in either order: torch treats them alike), "
        "every bias and norm weight has weight_decay=0.0, each parameter "
        "exactly once, frozen ones in no group (4 configurations: a model with an "
        "embedding, a conv and two norms, and one with frozen layers, two weight decays)."
    )


# ----------------------------------------------------------------------------- 05.1

THETA, GRAD, LR, WD = 2.0, -0.3, 0.1, 0.2  # the numbers of exercise 05.1

_PREDICTION = """\
theta_sgd = 2.0 - 0.1 * (-0.3 + 0.2 * 2.0)           # SGD: L2 term in the gradient: 1.99
theta_adam = 2.0 - 0.1 * 1.0                          # Adam: g' = 0.1 > 0, first step = lr: 1.9
theta_adamw = 2.0 * (1 - 0.1 * 0.2) - 0.1 * (-1.0)    # AdamW: decay, then a step of lr up: 2.06
"""


def _torch_one_step(cls):
    """Return θ after one step of torch's optimizer from THETA with loss gradient GRAD."""
    p = torch.tensor([THETA], dtype=F64, requires_grad=True)
    opt = cls([p], lr=LR, weight_decay=WD)
    p.grad = torch.tensor([GRAD], dtype=F64)
    opt.step()
    return p.item()


def _sign(x):
    return 1.0 if x > 0 else -1.0


_L2_GRAD = GRAD + WD * THETA  # 0.1: the gradient Adam and SGD see with L2
_ADAM_FIRST_NO_CORRECTION = THETA - LR * (0.1 * _L2_GRAD) / ((0.001 * _L2_GRAD**2) ** 0.5)

_SGD_MISTAKES = (
    (
        THETA - LR * GRAD,
        "you left out the decay: SGD's weight_decay adds λθ = 0.4 to the gradient, so g' = −0.3 + 0.4 = 0.1.",
    ),
    (
        THETA * (1 - WD) - LR * GRAD,
        "the decay is scaled by lr too: θ − lr·(g + λθ), a shrink of θ by lr·λ = 0.02, not by λ.",
    ),
    (THETA - LR * (GRAD - WD * THETA), "the L2 term is +λθ: the gradient of (λ/2)·θ² is λθ, which pulls θ towards 0."),
    (THETA - LR * (GRAD + WD * THETA / 2), "the gradient of (λ/2)·θ² is λθ, not λθ/2."),
    (
        THETA - LR * _sign(_L2_GRAD),
        "you moved θ by a full lr, as Adam's first step does; SGD's step is lr·g', the gradient times lr.",
    ),
)
_ADAM_MISTAKES_05 = (
    (
        THETA - LR * _L2_GRAD,
        "you took SGD's step, lr·g'. Adam divides m̂ by sqrt(v̂) + eps, and at the "
        "first step m̂ = g', v̂ = g'², so θ moves by lr against the sign of g'.",
    ),
    (
        THETA - LR * _sign(GRAD),
        "that is Adam without decay. Adam(weight_decay) adds λθ to the "
        "gradient first: g' = −0.3 + 0.4 = 0.1 > 0, so θ moves down by lr.",
    ),
    (
        THETA * (1 - LR * WD) - LR * _sign(GRAD),
        "you decoupled the decay (θ·(1 − lr·λ), then a step with g alone); Adam's "
        "weight_decay is an L2 term added to the gradient.",
    ),
    (
        _ADAM_FIRST_NO_CORRECTION,
        "Adam bias-corrects the first step: m̂ = g' and v̂ = g'², so the step is lr · g' / |g'|.",
    ),
)
_ADAMW_MISTAKES = (
    (
        THETA - LR * _sign(_L2_GRAD),
        "the decay went into the gradient (an L2 term); AdamW shrinks θ "
        "directly and steps with the loss gradient g = −0.3 alone.",
    ),
    (
        THETA * (1 - WD) - LR * _sign(GRAD),
        "torch shrinks θ by lr·weight_decay per step: θ·(1 − 0.1·0.2), not θ·(1 − 0.2).",
    ),
    (THETA - LR * _sign(GRAD), "you left out the decay: θ·(1 − lr·λ) before the Adam step."),
    (
        (THETA - LR * _sign(GRAD)) * (1 - LR * WD),
        "torch decays θ before the Adam update "
        "(θ·(1 − lr·λ) first, then − lr·m̂/(√v̂ + ε)), "
        "so the update itself is not shrunk.",
    ),
    (THETA * (1 - LR * WD) - LR * GRAD, "AdamW's gradient step is Adam's: at the first step lr·g/|g|, not SGD's lr·g."),
)
_PREDICT_ATOL = 1e-6  # eps changes Adam's first step by about lr·eps/|g| = 1e-8


@exercise(
    "05.1",
    title="Predict one step: L2 vs decoupled decay",
    solution=_PREDICTION,
    prediction=lambda: tuple(_torch_one_step(cls) for cls in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW)),
    hints=[
        "SGD and Adam with weight_decay see the gradient g' = g + λθ = −0.3 + 0.2·2.0. AdamW sees g "
        "alone and multiplies θ by 1 − lr·λ first.",
        "Adam's first step (bias-corrected) is lr · m̂ / (√v̂ + ε) with m̂ = g', v̂ = g'²: a step of "
        "lr (up to ε) against the sign of its gradient.",
    ],
)
def grade_prediction(theta_sgd, theta_adam, theta_adamw):
    """The three predictions must match torch's SGD, Adam and AdamW after one step."""
    rows = [
        ("theta_sgd", theta_sgd, torch.optim.SGD, "SGD(weight_decay=0.2)", _SGD_MISTAKES),
        ("theta_adam", theta_adam, torch.optim.Adam, "Adam(weight_decay=0.2)", _ADAM_MISTAKES_05),
        ("theta_adamw", theta_adamw, torch.optim.AdamW, "AdamW(weight_decay=0.2)", _ADAMW_MISTAKES),
    ]
    for name, answer, cls, label, mistakes in rows:
        got = expect_number(answer, name)
        expected = _torch_one_step(cls)
        if abs(got - expected) <= _PREDICT_ATOL:
            continue
        # Never the expected number: copied back, it would reach ✓ without the reasoning. Nor
        # the learner's own number next to a named mistake: a mistake here can be another
        # optimizer's right answer (Adam computed as AdamW is AdamW's θ).
        for value, cause in mistakes:
            if abs(got - value) <= _PREDICT_ATOL:
                fail(f"{name} is not what torch's {label} gives: {cause}")
        direction = "too high" if got > expected else "too low"
        moved = "θ should move up from 2.0" if expected > THETA else "θ should move down from 2.0"
        wrong_way = (got - THETA) * (expected - THETA) < 0
        fail(
            f"{name} = {got:.6g} is {direction} for torch's {label}"
            f"{': ' + moved + ', yours moves the other way' if wrong_way else ''}. Write the "
            "step out: the gradient the optimizer sees, the decay, the update."
        )
    return correct(
        "SGD: 1.99, Adam: 1.9 (its L2 gradient 0.1 points the other way from the "
        "loss gradient), AdamW: 2.06. Same weight_decay, three different steps."
    )


# ----------------------------------------------------------------------------- 05.2


def _adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    beta1, beta2 = betas
    param = param * (1 - lr * weight_decay)  # decoupled decay, first
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad  # m_t (no decay term in it)
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad  # v_t
    m_hat = exp_avg / (1 - beta1**step)
    v_hat = exp_avg_sq / (1 - beta2**step)
    param = param - lr * m_hat / (v_hat.sqrt() + eps)  # Adam's step
    return param, exp_avg, exp_avg_sq


def _adamw_variant(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay, *, decay="before", adam=None):
    """One AdamW step with one mistake switched on: where the decay goes, or an Adam mistake."""
    adam = adam or {}
    if decay == "before":
        param = param * (1 - lr * weight_decay)
    elif decay == "without lr":
        param = param * (1 - weight_decay)
    elif decay == "l2":
        grad = grad + weight_decay * param
    elif decay == "both":
        grad = grad + weight_decay * param
        param = param * (1 - lr * weight_decay)
    param, exp_avg, exp_avg_sq = _adam_variant(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, **adam)
    if decay == "after":
        param = param * (1 - lr * weight_decay)
    return param, exp_avg, exp_avg_sq


def _w(**mistake):
    return functools.partial(_adamw_variant, **mistake)


_DECAY_MISTAKES = (
    (
        _w(decay="l2"),
        "this is Adam with an L2 term (weight_decay · param added to the gradient); AdamW leaves "
        "the gradient alone and multiplies param by 1 − lr · weight_decay.",
    ),
    (
        _w(decay="without lr"),
        "the decay must be scaled by lr: param · (1 − lr · weight_decay), not (1 − weight_decay).",
    ),
    (
        _w(decay="after"),
        "the decay comes first: torch multiplies param by 1 − lr · weight_decay before the Adam "
        "update, so the update itself is not shrunk.",
    ),
    (_w(decay="none"), "there is no weight decay in your step: multiply param by 1 − lr · weight_decay first."),
    (
        _w(decay="both"),
        "the decay is applied twice: decoupled (param · (1 − lr · weight_decay)) and as an L2 term "
        "in the gradient. AdamW uses only the first.",
    ),
)


def _adamw_misread(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay, *, power="beta", order="pmv"):
    """AdamW with the bias correction misread ((1 − beta)**step) or the results reordered."""
    beta1, beta2 = betas
    param = param * (1 - lr * weight_decay)
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad
    if power == "one minus beta":  # (1 - beta1)**step where torch has 1 - beta1**step
        bc1, bc2 = (1 - beta1) ** step, (1 - beta2) ** step
    else:
        bc1, bc2 = 1 - beta1**step, 1 - beta2**step
    param = param - lr * (exp_avg / bc1) / ((exp_avg_sq / bc2).sqrt() + eps)
    return (param, exp_avg_sq, exp_avg) if order == "pvm" else (param, exp_avg, exp_avg_sq)


_BIAS_POWER = (
    "the bias correction is 1 − beta**step (one minus the power), not (1 − beta)**step: "
    "m̂ = exp_avg / (1 − beta1**step), v̂ = exp_avg_sq / (1 − beta2**step)."
)
_ORDER_PVM = (
    "the moments are returned in the wrong order: return (param, exp_avg, exp_avg_sq), "
    "the first moment before the second."
)

# Lesson 04's Adam mistakes, each on top of a correct decoupled decay, then 05's own misreadings.
_ADAMW_STEP_MISTAKES = (
    _DECAY_MISTAKES
    + tuple((_w(adam=dict(variant.keywords)), cause) for variant, cause in _ADAM_MISTAKES)
    + (
        (functools.partial(_adamw_misread, power="one minus beta"), _BIAS_POWER),
        (functools.partial(_adamw_misread, order="pvm"), _ORDER_PVM),
        (functools.partial(_adamw_misread, power="one minus beta", order="pvm"), _ORDER_PVM),
    )
)


def _adamw_lesson_numbers(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    """AdamW with the lesson's hyperparameters, whatever the arguments."""
    return _adamw_variant(param, grad, exp_avg, exp_avg_sq, step, 0.05, (0.8, 0.99), 1e-3, 0.5)


_ADAMW_SPEC = step_spec(
    "05.2",
    "adamw_step",
    torch.optim.AdamW,
    ((own_counter(_adamw_step), _OWN_COUNTER_MESSAGE),)
    + _ADAMW_STEP_MISTAKES
    + (
        (
            _adamw_lesson_numbers,
            "these are the numbers of lr=0.05, betas=(0.8, 0.99), eps=1e-3, "
            "weight_decay=0.5 whatever the arguments: use the `lr`, `betas`, "
            "`eps` and `weight_decay` arguments.",
        ),
    ),
    {
        "exp_avg": "check exp_avg = beta1 · exp_avg + (1 − beta1) · grad (no decay term in it).",
        "exp_avg_sq": "check exp_avg_sq = beta2 · exp_avg_sq + (1 − beta2) · grad².",
        "param": "the moments are right, so look at the parameter: param · (1 − lr · "
        "weight_decay) first, then − lr · m̂ / (sqrt(v̂) + eps).",
    },
    "param, exp_avg and exp_avg_sq match torch.optim.AdamW at every step of {n} configurations "
    "(0-d to 2-D, float32 and float64, zero and large gradients, lr and weight_decay drawn "
    "at check time).",
)


@exercise(
    "05.2",
    title="One AdamW step from scratch",
    solution=_adamw_step,
    hints=[
        "AdamW = decoupled decay + Adam: first `param = param * (1 - lr * weight_decay)`, then "
        "exactly lesson 04's Adam step with the unchanged `grad`.",
        "The moments never see weight_decay: exp_avg = beta1·exp_avg + (1 − beta1)·grad, "
        "exp_avg_sq = beta2·exp_avg_sq + (1 − beta2)·grad². Return (param, exp_avg, exp_avg_sq).",
    ],
)
def grade_adamw_step(adamw_step):
    """adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay) must
    match torch.optim.AdamW."""
    feedback = grade_spec(_ADAMW_SPEC, adamw_step, name="`adamw_step`")
    if feedback.status == "correct":  # a wrong wrapper of a reference keeps its own diagnosis
        expect_own_work(adamw_step, "adamw_step", "AdamW step")
    return feedback
