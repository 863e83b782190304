"""Lesson 05's checkers: the reference is accepted, stubs are "not attempted", and realistic
wrong answers get the specific feedback that names the mistake.

One table drives every case: (key, description, answers, expected status, message fragments).
The wrong answers are written the way a learner would write them, independently of the
variants the checkers use to diagnose them.
"""

import copy
import math

import pytest
import torch
from learner_classes import as_written

from myoptim_helpers.exercises import exercises_of, grade
from myoptim_helpers.exercises.lesson05 import _adamw_step, _param_groups

# ----------------------------------------------------------------------------- 05.3 answers


def stub_groups(model, weight_decay):
    """Return [decay group, no-decay group] for torch.optim.AdamW."""
    ...


def groups_nanogpt_dict(model, weight_decay):
    param_dict = {pn: p for pn, p in model.named_parameters() if p.requires_grad}
    decay = [p for n, p in param_dict.items() if p.dim() >= 2]
    nodecay = [p for n, p in param_dict.items() if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": nodecay, "weight_decay": 0.0}]


def groups_as_optimizer(model, weight_decay):
    return torch.optim.AdamW(_param_groups(model, weight_decay), lr=1e-3)


def groups_with_lr(model, weight_decay):
    groups = _param_groups(model, weight_decay)
    return [{**g, "lr": 1e-3} for g in groups]


def groups_with_betas(model, weight_decay):
    decay, no_decay = _param_groups(model, weight_decay)
    return [decay, {**no_decay, "betas": (0.9, 0.95)}]


def groups_ignore_requires_grad(model, weight_decay):
    params = list(model.parameters())
    return [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]


def groups_frozen_in_no_decay(model, weight_decay):
    params = list(model.parameters())
    return [
        {"params": [p for p in params if p.dim() >= 2 and p.requires_grad], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2 or not p.requires_grad], "weight_decay": 0.0},
    ]


def groups_generator_params(model, weight_decay):
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": (p for p in params if p.dim() >= 2), "weight_decay": weight_decay},
        {"params": (p for p in params if p.dim() < 2), "weight_decay": 0.0},
    ]


def groups_by_name(model, weight_decay):
    decay = [p for n, p in model.named_parameters() if not n.endswith("bias")]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias")]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def groups_dim_equals_two(model, weight_decay):
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() != 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def groups_linear_only(model, weight_decay):
    decay = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    rest = [p for p in model.parameters() if not any(p is q for q in decay)]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def groups_no_key(model, weight_decay):
    return [
        {"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in model.parameters() if p.dim() < 2]},
    ]


def groups_hard_coded(model, weight_decay):
    return _param_groups(model, 0.1)


def groups_all_in_decay(model, weight_decay):
    return [
        {"params": list(model.parameters()), "weight_decay": weight_decay},
        {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0},
    ]


def groups_forgets_no_decay(model, weight_decay):
    return [{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": weight_decay}]


def groups_copies(model, weight_decay):
    return _param_groups(copy.deepcopy(model), weight_decay)


def groups_names(model, weight_decay):
    return [
        {"params": [n for n, p in model.named_parameters() if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [n for n, p in model.named_parameters() if p.dim() < 2], "weight_decay": 0.0},
    ]


def groups_tensors_only(model, weight_decay):
    return [p for p in model.parameters() if p.dim() >= 2]


def groups_one_dict(model, weight_decay):
    return {"params": list(model.parameters()), "weight_decay": weight_decay}


def groups_freezes(model, weight_decay):
    for p in model.parameters():
        if p.dim() < 2:
            p.requires_grad_(False)
    return _param_groups(model, weight_decay)


# ----------------------------------------------------------------------------- 05.2 answers


def stub_adamw(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    """Return (param, exp_avg, exp_avg_sq) after AdamW's step number `step` (1, 2, ...)."""
    ...


def _adam(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    beta1, beta2 = betas
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2
    m_hat = exp_avg / (1 - beta1**step)
    v_hat = exp_avg_sq / (1 - beta2**step)
    return param - lr * m_hat / (v_hat.sqrt() + eps), exp_avg, exp_avg_sq


def adamw_torch_order(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    beta1, beta2 = betas
    param = param.mul(1 - lr * weight_decay)
    exp_avg = exp_avg.lerp(grad, 1 - beta1)
    exp_avg_sq = exp_avg_sq.mul(beta2).addcmul(grad, grad, value=1 - beta2)
    denom = exp_avg_sq.sqrt() / math.sqrt(1 - beta2**step) + eps
    return param.addcdiv(exp_avg, denom, value=-lr / (1 - beta1**step)), exp_avg, exp_avg_sq


def adamw_as_l2(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    return _adam(param, grad + weight_decay * param, exp_avg, exp_avg_sq, step, lr, betas, eps)


def adamw_without_lr(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    return _adam(param * (1 - weight_decay), grad, exp_avg, exp_avg_sq, step, lr, betas, eps)


def adamw_decay_after(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    param, exp_avg, exp_avg_sq = _adam(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps)
    return param * (1 - lr * weight_decay), exp_avg, exp_avg_sq


def adamw_subtracts_decay_after(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    new, exp_avg, exp_avg_sq = _adam(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps)
    return new - lr * weight_decay * param, exp_avg, exp_avg_sq  # the same as decaying first


def adamw_no_decay(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    return _adam(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps)


def adamw_both(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    return _adam(
        param * (1 - lr * weight_decay), grad + weight_decay * param, exp_avg, exp_avg_sq, step, lr, betas, eps
    )


def adamw_no_bias_correction(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    beta1, beta2 = betas
    param = param * (1 - lr * weight_decay)
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2
    return param - lr * exp_avg / (exp_avg_sq.sqrt() + eps), exp_avg, exp_avg_sq


def adamw_eps_inside(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    beta1, beta2 = betas
    param = param * (1 - lr * weight_decay)
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2
    m_hat = exp_avg / (1 - beta1**step)
    v_hat = exp_avg_sq / (1 - beta2**step)
    return param - lr * m_hat / (v_hat + eps).sqrt(), exp_avg, exp_avg_sq


def adamw_in_place(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    param.mul_(1 - lr * weight_decay)
    return _adam(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps)


def adamw_returns_tuple_of_two(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    p, m, v = _adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay)
    return p, (m, v)


_COUNT = {"t": 0}


def adamw_own_counter(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    _COUNT["t"] += 1
    return _adamw_step(param, grad, exp_avg, exp_avg_sq, _COUNT["t"], lr, betas, eps, weight_decay)


def adamw_lesson_numbers(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    return _adamw_step(param, grad, exp_avg, exp_avg_sq, step, 0.05, (0.8, 0.99), 1e-3, 0.5)


def adamw_hard_coded_decay(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    return _adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, 0.01)


def adamw_float64_result(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    return tuple(t.double() for t in _adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay))


def adamw_decay_in_moment(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    beta1, beta2 = betas
    param = param * (1 - lr * weight_decay)
    exp_avg = beta1 * exp_avg + (1 - beta1) * (grad + weight_decay * param)
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad
    m_hat = exp_avg / (1 - beta1**step)
    v_hat = exp_avg_sq / (1 - beta2**step)
    return param - lr * m_hat / (v_hat.sqrt() + eps), exp_avg, exp_avg_sq


def adamw_nan(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    p, m, v = _adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay)
    return p / (v - v), m, v


def adamw_power_of_one_minus_beta(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    beta1, beta2 = betas
    param = param * (1 - lr * weight_decay)
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2
    m_hat, v_hat = exp_avg / (1 - beta1) ** step, exp_avg_sq / (1 - beta2) ** step
    return param - lr * m_hat / (v_hat.sqrt() + eps), exp_avg, exp_avg_sq


def adamw_returns_p_v_m(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    p, m, v = _adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay)
    return p, v, m


def groups_no_decay_first(model, weight_decay):
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
    ]


def groups_wraps_the_reference(model, weight_decay):
    return _param_groups(model, weight_decay)


def adamw_wraps_the_reference(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    return _adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay)


# ----------------------------------------------------------------------------- the table

CASES = [
    # 05.3: decay and no-decay param groups
    ("05.3", "reference", (as_written(_param_groups)["_param_groups"],), "correct", ["each parameter exactly once"]),
    ("05.3", "the module's own", (_param_groups,), "incorrect", ["is myoptim_helpers.exercises.lesson05"]),
    ("05.3", "a wrapper of the module's", (groups_wraps_the_reference,), "incorrect", ["write your own"]),
    ("05.3", "nanoGPT's dict version", (groups_nanogpt_dict,), "correct", []),
    ("05.3", "generators as params", (groups_generator_params,), "correct", []),
    ("05.3", "no-decay group first", (groups_no_decay_first,), "correct", ["either order"]),
    (
        "05.3",
        "returns the optimizer",
        (groups_as_optimizer,),
        "incorrect",
        ["returned an AdamW", "return the list of groups"],
    ),
    ("05.3", "extra lr key", (groups_with_lr,), "incorrect", ["group 0 sets 'lr'", "did not ask for"]),
    ("05.3", "extra betas key", (groups_with_betas,), "incorrect", ["group 1 sets 'betas'"]),
    (
        "05.3",
        "ignores requires_grad",
        (groups_ignore_requires_grad,),
        "incorrect",
        ["0.weight, 1.bias are frozen", "leave frozen parameters out"],
    ),
    (
        "05.3",
        "frozen in the no-decay group",
        (groups_frozen_in_no_decay,),
        "incorrect",
        ["are frozen (requires_grad=False) but in a group"],
    ),
    ("05.3", "stub", (stub_groups,), "not attempted", []),
    (
        "05.3",
        "selects by name",
        (groups_by_name,),
        "incorrect",
        ["norm.weight", "a norm's weight", "is in group 0 with weight_decay=", "not by the name 'bias'"],
    ),
    ("05.3", "dim == 2", (groups_dim_equals_two,), "incorrect", ["conv.weight", "shape (8, 8, 3)", "`p.dim() == 2`"]),
    (
        "05.3",
        "Linear weights only",
        (groups_linear_only,),
        "incorrect",
        ["embed.weight", "2 or more dimensions is decayed", "not by name or module type"],
    ),
    (
        "05.3",
        "no weight_decay key",
        (groups_no_key,),
        "incorrect",
        ["group 1 has no 'weight_decay' key", "0.01 for AdamW"],
    ),
    (
        "05.3",
        "hard-coded 0.1",
        (groups_hard_coded,),
        "incorrect",
        ["weight_decay=0.1", "use the `weight_decay` argument"],
    ),
    (
        "05.3",
        "everything in the decay group",
        (groups_all_in_decay,),
        "incorrect",
        ["appears in groups 0 and 1", "exactly one group"],
    ),
    ("05.3", "forgets the no-decay group", (groups_forgets_no_decay,), "incorrect", ["are in no group", "never train"]),
    ("05.3", "copies of the parameters", (groups_copies,), "incorrect", ["not a parameter of the `model` argument"]),
    ("05.3", "names instead of tensors", (groups_names,), "incorrect", ["holds a str", "not their names"]),
    ("05.3", "tensors, not groups", (groups_tensors_only,), "incorrect", ["item 0 of the list is a tensor"]),
    ("05.3", "one dict", (groups_one_dict,), "incorrect", ["returned one dict"]),
    (
        "05.3",
        "freezes parameters",
        (groups_freezes,),
        "incorrect",
        ["changed `requires_grad` of conv.bias", "freezing"],
    ),
    ("05.3", "not a function", ([],), "incorrect", ["should be a function"]),
    # 05.1: predict one step
    ("05.1", "reference", (1.99, 1.9, 2.06), "correct", ["SGD: 1.99"]),
    (
        "05.1",
        "torch's exact numbers",
        (1.99, 2.0 - 0.1 * 0.1 / (0.1 + 1e-8), 1.96 + 0.1 * 0.3 / (0.3 + 1e-8)),
        "correct",
        [],
    ),
    ("05.1", "stub", (..., ..., ...), "not attempted", []),
    ("05.1", "one stub left", (1.99, 1.9, ...), "not attempted", []),
    ("05.1", "SGD without decay", (2.03, 1.9, 2.06), "incorrect", ["theta_sgd", "left out the decay"]),
    ("05.1", "SGD decay without lr", (1.63, 1.9, 2.06), "incorrect", ["scaled by lr too"]),
    ("05.1", "SGD as Adam's first step", (1.9, 1.9, 2.06), "incorrect", ["theta_sgd", "a full lr"]),
    ("05.1", "Adam as SGD", (1.99, 1.99, 2.06), "incorrect", ["theta_adam", "you took SGD's step"]),
    (
        "05.1",
        "Adam ignoring the decay",
        (1.99, 2.1, 2.06),
        "incorrect",
        ["Adam without decay", "g' = −0.3 + 0.4 = 0.1"],
    ),
    (
        "05.1",
        "Adam as AdamW",
        (1.99, 2.06, 2.06),
        "incorrect",
        ["theta_adam is not what torch's Adam", "you decoupled the decay"],
    ),
    ("05.1", "AdamW as Adam", (1.99, 1.9, 1.9), "incorrect", ["theta_adamw", "the decay went into the gradient"]),
    ("05.1", "AdamW decay without lr", (1.99, 1.9, 1.7), "incorrect", ["θ·(1 − 0.1·0.2)"]),
    ("05.1", "AdamW decays after", (1.99, 1.9, 2.058), "incorrect", ["decays θ before the Adam update"]),
    ("05.1", "unexplained", (1.99, 1.9, 2.5), "incorrect", ["theta_adamw = 2.5", "too high"]),
    (
        "05.1",
        "unexplained, wrong way",
        (1.99, 1.9, 1.95),
        "incorrect",
        ["theta_adamw = 1.95", "too low", "should move up from 2.0"],
    ),
    ("05.1", "SGD moving up", (2.05, 1.9, 2.06), "incorrect", ["too high", "should move down"]),
    ("05.1", "string", ("1.99", 1.9, 2.06), "incorrect", ["theta_sgd should be a number, got str"]),
    ("05.1", "list", ([1.99], 1.9, 2.06), "incorrect", ["theta_sgd should be a number", "got a list"]),
    ("05.1", "0-d tensor", (1.99, torch.tensor(1.9), 2.06), "correct", []),
    (
        "05.1",
        "tensor of two",
        (1.99, torch.tensor([1.9, 2.06]), 2.06),
        "incorrect",
        ["theta_adam should be a single number", "shape (2,)"],
    ),
    ("05.1", "too few answers", (1.99, 1.9), "error", ["takes 3 answer(s)"]),
    # 05.2: one AdamW step
    ("05.2", "reference", (as_written(_adamw_step)["_adamw_step"],), "correct", ["5 configurations", "float32"]),
    ("05.2", "the module's own", (_adamw_step,), "incorrect", ["the package's own AdamW step"]),
    ("05.2", "a wrapper of the module's", (adamw_wraps_the_reference,), "incorrect", ["calls myoptim_helpers"]),
    ("05.2", "torch's order of operations", (adamw_torch_order,), "correct", []),
    ("05.2", "subtracts lr·λ·θ_old after", (adamw_subtracts_decay_after,), "correct", []),
    ("05.2", "stub", (stub_adamw,), "not attempted", []),
    ("05.2", "L2 instead of decoupled", (adamw_as_l2,), "incorrect", ["(exp_avg:", "Adam with an L2 term"]),
    ("05.2", "decay without lr", (adamw_without_lr,), "incorrect", ["scaled by lr"]),
    ("05.2", "decay after the update", (adamw_decay_after,), "incorrect", ["the decay comes first"]),
    ("05.2", "no decay", (adamw_no_decay,), "incorrect", ["no weight decay in your step"]),
    ("05.2", "decay twice", (adamw_both,), "incorrect", ["applied twice"]),
    ("05.2", "no bias correction", (adamw_no_bias_correction,), "incorrect", ["bias correction is missing"]),
    ("05.2", "(1 - beta)**step", (adamw_power_of_one_minus_beta,), "incorrect", ["not (1 − beta)**step"]),
    (
        "05.2",
        "returns (p, v, m)",
        (adamw_returns_p_v_m,),
        "incorrect",
        ["exp_avg and exp_avg_sq are swapped", "in the order (param, exp_avg, exp_avg_sq)"],
    ),
    ("05.2", "eps inside", (adamw_eps_inside,), "incorrect", ["eps sits inside the square root"]),
    ("05.2", "in place", (adamw_in_place,), "incorrect", ["modified its argument `param` in place"]),
    (
        "05.2",
        "wrong return shape",
        (adamw_returns_tuple_of_two,),
        "incorrect",
        ["`adamw_step` should return three tensors", "returned 2 values"],
    ),
    ("05.2", "inf", (adamw_nan,), "incorrect", ["already at step 1", "inf, expected", "NaN or inf"]),
    ("05.2", "own step counter", (adamw_own_counter,), "incorrect", ["does not start again at 1"]),
    ("05.2", "the lesson's numbers", (adamw_lesson_numbers,), "incorrect", ["weight_decay=0.5 whatever the arguments"]),
    ("05.2", "hard-coded weight_decay", (adamw_hard_coded_decay,), "incorrect", ["(param:"]),
    (
        "05.2",
        "float64 for float32",
        (adamw_float64_result,),
        "incorrect",
        ["dtype torch.float64 for a torch.float32 parameter"],
    ),
    ("05.2", "decay inside the moment", (adamw_decay_in_moment,), "incorrect", ["(exp_avg:", "no decay term in it"]),
]


@pytest.mark.parametrize(
    "key, answers, status, fragments", [pytest.param(k, a, s, f, id=f"{k} {d}") for k, d, a, s, f in CASES]
)
def test_feedback(key, answers, status, fragments):
    feedback = grade(key, *answers)
    assert feedback.status == status, str(feedback)
    for fragment in fragments:
        assert fragment in feedback.message, str(feedback)


_PREDICTIONS = (1.99, 1.9, 2.06)


@pytest.mark.parametrize("answers", [a for k, _, a, s, _ in CASES if k == "05.1" and s != "correct"])
def test_prediction_feedback_never_states_the_expected_numbers(answers):
    """Copying a number from a ✗ message back must not be a way to ✓."""
    from myoptim_helpers.exercises import reveals

    message = grade("05.1", *answers).message
    assert not reveals(message, _PREDICTIONS, answers), message
    assert "that is not what torch computes" not in message, message  # not withheld by grade


@pytest.mark.parametrize("answers", [(1.99, 2.06, 2.06), (1.99, 1.9, 1.9), (1.99, 1.99, 2.06), (1.9, 1.9, 2.06)])
def test_a_mistake_that_is_another_answer_is_named_without_its_number(answers):
    """Adam computed as AdamW gives AdamW's θ: "theta_adam = 2.06 … decoupled" would tell it."""
    message = grade("05.1", *answers).message
    assert not any(f"{v:.6g}" in message for v in answers), message


def test_every_exercise_has_a_reference_case():
    keys = set(exercises_of("05"))
    assert keys == {"05.1", "05.2", "05.3"}
    assert keys == {k for k, d, _, s, _ in CASES if d == "reference" and s == "correct"}


def test_prediction_reference_is_torch():
    """05.1's stated answers are what torch computes (to the eps effect of 1e-8)."""
    from myoptim_helpers.exercises.lesson05 import _torch_one_step

    assert _torch_one_step(torch.optim.SGD) == pytest.approx(1.99, abs=1e-12)
    assert _torch_one_step(torch.optim.Adam) == pytest.approx(1.9, abs=1e-7)
    assert _torch_one_step(torch.optim.AdamW) == pytest.approx(2.06, abs=1e-7)


def test_grading_leaves_global_state_alone():
    rng = torch.get_rng_state()
    dtype = torch.get_default_dtype()
    for key, _, answers, _, _ in CASES:
        grade(key, *answers)
    assert torch.equal(torch.get_rng_state(), rng)
    assert torch.get_default_dtype() == dtype
    assert torch.is_grad_enabled()
