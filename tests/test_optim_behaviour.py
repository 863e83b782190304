"""How our optimizers behave as torch.optim optimizers: closures, state_dict, zero_grad,
changing lr, parameters without gradients, hooks, signatures and docs.

Most tests run over every row of ``CASES``; the rest over every optimizer.
Whenever torch can say what should happen, the test asks torch.
"""

import copy
import doctest
import importlib
import inspect
import io
import subprocess
import sys

import pytest
import torch
from optim_cases import (
    CASES,
    COMPLEX_CASES,
    LR_CHANGE_IS_LATE,
    OPTIMIZERS,
    PERFORMANCE_FLAGS,
    SPARSE_REFUSED,
    STATE_CAST_ON_LOAD,
    TOLERANCES,
    assert_same,
    batches,
    case_id,
    initial_values,
    loss_fn,
    make_params,
    param_groups,
    sparse_batches,
    sparse_initial_values,
    sparse_param_groups,
    sparse_train_step,
    train_step,
)

import myoptim_helpers.optim as ours

EXACT = {"atol": 0.0, "rtol": 0.0}
F64 = torch.float64


def build(which, case, values):
    """Return (optimizer, params) for ``which`` in {"ours", "torch"}; torch runs its single-tensor code."""
    name, kwargs, _ = case
    params = make_params(values)
    if which == "ours":
        return OPTIMIZERS[name][0](param_groups(name, kwargs, params), **kwargs), params
    return OPTIMIZERS[name][1](param_groups(name, kwargs, params), **kwargs, foreach=False), params


def run(opt, params, data, start=0):
    """Train for ``len(data)`` steps, numbering them from ``start``."""
    for step, batch in enumerate(data, start):
        train_step(opt, params, batch, step)


def current_values(params):
    """Return detached copies of the parameters' current values."""
    return {name: p.detach().clone() for name, p in params.items()}


# One state-rich row of CASES per optimizer, for the tests that need not run every row.
REPRESENTATIVE = {
    "SGD": "momentum + dampening + weight_decay + maximize",
    "Adam": "decoupled_weight_decay + amsgrad",
    "AdamW": "amsgrad",
    "RMSprop": "centered + momentum",
    "Adagrad": "lr_decay + weight_decay",
}
ONE_CASE_PER_OPTIMIZER = [
    next(case for case in CASES if case[0] == name and case[2] == description)
    for name, description in REPRESENTATIVE.items()
]


# ---------------------------------------------------------------- closure and autograd


@pytest.mark.parametrize("case", ONE_CASE_PER_OPTIMIZER, ids=case_id)
def test_closure_is_called_once_with_grad_enabled_and_its_loss_returned(case):
    opt, params = build("ours", case, initial_values(F64))
    batch = batches(F64, 1)[0]
    calls, losses = [], []

    def closure():
        calls.append(torch.is_grad_enabled())
        opt.zero_grad()
        loss = loss_fn(params, batch, 0)
        loss.backward()
        losses.append(loss)
        return loss

    with torch.no_grad():  # even inside no_grad, the closure can backpropagate
        returned = opt.step(closure)
    assert calls == [True], "the closure must run exactly once, with gradients enabled"
    assert returned is losses[0]
    assert opt.step() is None


@pytest.mark.parametrize("case", ONE_CASE_PER_OPTIMIZER, ids=case_id)
def test_closure_step_matches_torch(case):
    data = batches(F64, 6)
    runs = {which: build(which, case, initial_values(F64)) for which in ("ours", "torch")}
    for step, batch in enumerate(data):
        losses = {}
        for which, (opt, params) in runs.items():

            def closure(opt=opt, params=params, batch=batch, step=step):
                opt.zero_grad()
                loss = loss_fn(params, batch, step)
                loss.backward()
                return loss

            losses[which] = opt.step(closure)
        assert torch.equal(losses["ours"], losses["torch"]), f"step {step + 1}: losses differ"
        assert_same(*runs["ours"], *runs["torch"], TOLERANCES[F64], f"{case_id(case)}, closure step {step + 1}")


@pytest.mark.parametrize("case", ONE_CASE_PER_OPTIMIZER, ids=case_id)
def test_step_records_no_autograd_graph(case):
    opt, params = build("ours", case, initial_values(F64))
    with torch.enable_grad():
        run(opt, params, batches(F64, 3))
    for name, p in params.items():
        assert p.is_leaf and p.grad_fn is None and p.requires_grad, name
        for key, value in opt.state.get(p, {}).items():
            assert not value.requires_grad, f"{name} state {key} requires grad"


# ---------------------------------------------------------------- state_dict


def save_and_resume(which, case, opt, params, through):
    """Return (optimizer, params) of kind ``which``, resumed from ``opt``'s state_dict sent ``through``."""
    if through == "torch.save + torch.load":
        buffer = io.BytesIO()
        torch.save(opt.state_dict(), buffer)
        buffer.seek(0)
        saved = torch.load(buffer)
    else:  # state_dict() shares its tensors with the live state (as torch's does), so keep a copy
        saved = copy.deepcopy(opt.state_dict())
    resumed_opt, resumed_params = build(which, case, current_values(params))
    resumed_opt.load_state_dict(saved)
    return resumed_opt, resumed_params


@pytest.mark.parametrize("through", ["deepcopy(state_dict())", "torch.save + torch.load"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_state_dict_saved_mid_training_continues_exactly(case, through):
    first, second = batches(F64, 16)[:8], batches(F64, 16)[8:]
    opt, params = build("ours", case, initial_values(F64))
    run(opt, params, first)
    resumed_opt, resumed_params = save_and_resume("ours", case, opt, params, through)
    if case[0] in STATE_CAST_ON_LOAD:
        # torch's load_state_dict casts these optimizers' 0-dim float32 state to the parameter's dtype,
        # so a resumed run differs from an uninterrupted one in torch too: follow torch resumed alike
        opt, params = build("torch", case, initial_values(F64))
        run(opt, params, first)
        opt, params = save_and_resume("torch", case, opt, params, through)

    run(opt, params, second, start=8)
    run(resumed_opt, resumed_params, second, start=8)
    assert_same(resumed_opt, resumed_params, opt, params, EXACT, f"{case_id(case)}, resumed through {through}")


@pytest.mark.parametrize("direction", ["ours -> torch", "torch -> ours"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_state_dict_moves_between_ours_and_torch(case, direction):
    move_state_dict_mid_training(case, direction, F64)


def move_state_dict_mid_training(case, direction, dtype):
    """Train 8 steps, load the state dict into the other side's optimizer, train 8 more: both agree."""
    source, target = direction.split(" -> ")
    first, second = batches(dtype, 16)[:8], batches(dtype, 16)[8:]
    opt, params = build(source, case, initial_values(dtype))
    run(opt, params, first)
    moved_opt, moved_params = build(target, case, current_values(params))
    moved_opt.load_state_dict(copy.deepcopy(opt.state_dict()))
    if case[0] in STATE_CAST_ON_LOAD:  # compare loaded with loaded (see the test above)
        opt, params = save_and_resume(source, case, opt, params, "deepcopy(state_dict())")

    run(opt, params, second, start=8)
    run(moved_opt, moved_params, second, start=8)
    runs = {source: (opt, params), target: (moved_opt, moved_params)}
    where = f"{case_id(case)}, {direction}, {dtype}, 8 steps after loading"
    assert_same(*runs["ours"], *runs["torch"], TOLERANCES[dtype], where)


# One state-rich row of COMPLEX_CASES per optimizer.
ONE_COMPLEX_CASE_PER_OPTIMIZER = [
    next(case for case in COMPLEX_CASES if case[0] == name and case[2] == description)
    for name, description in {
        "SGD": "nesterov + weight_decay",
        "Adam": "decoupled_weight_decay + amsgrad",
        "AdamW": "weight_decay + amsgrad",
        "RMSprop": "centered + weight_decay + momentum + maximize",
        "Adagrad": "initial_accumulator_value: real and imaginary parts",
    }.items()
]


@pytest.mark.parametrize("direction", ["ours -> torch", "torch -> ours"])
@pytest.mark.parametrize("case", ONE_COMPLEX_CASE_PER_OPTIMIZER, ids=case_id)
def test_complex_state_dict_moves_between_ours_and_torch(case, direction):
    move_state_dict_mid_training(case, direction, torch.complex128)


@pytest.mark.parametrize(
    "name, extra",
    [
        ("Adam", {}),
        ("Adam", {"amsgrad": True}),
        ("AdamW", {"amsgrad": True}),
        ("RMSprop", {}),
        ("Adagrad", {}),
        ("SGD", {}),
    ],
    ids=str,
)
def test_one_complex_step_is_torchs(name, extra):
    """Adam on 1+2j with gradient 1-3j moves to 0.9+2.1j, as torch's (pairs of reals), not to 0.9+2j."""
    results = []
    for cls in OPTIMIZERS[name]:
        p = torch.nn.Parameter(torch.tensor([1 + 2j], dtype=torch.complex128))
        opt = cls([p], lr=0.1, **extra)
        p.grad = torch.tensor([1 - 3j], dtype=torch.complex128)
        opt.step()
        results.append(p.detach())
    assert torch.equal(results[0], results[1]), f"ours {results[0]}, torch {results[1]}"
    if name == "Adam":  # each real coordinate moves by lr against the sign of its gradient
        torch.testing.assert_close(results[0], torch.tensor([0.9 + 2.1j], dtype=torch.complex128))


@pytest.mark.parametrize("case", ONE_CASE_PER_OPTIMIZER, ids=case_id)
def test_state_dict_looks_like_torchs(case):
    runs = {which: build(which, case, initial_values(F64)) for which in ("ours", "torch")}
    for opt, params in runs.values():
        run(opt, params, batches(F64, 3))
    ours_sd, torch_sd = (opt.state_dict() for opt, _ in runs.values())
    assert ours_sd["state"].keys() == torch_sd["state"].keys()
    for ours_group, torch_group in zip(ours_sd["param_groups"], torch_sd["param_groups"]):
        assert ours_group == {k: v for k, v in torch_group.items() if k not in PERFORMANCE_FLAGS}


@pytest.mark.parametrize("case", ONE_CASE_PER_OPTIMIZER[1:], ids=case_id)  # SGD has no step
def test_old_checkpoint_with_a_plain_number_step_loads_like_torch(case):
    opt, params = build("ours", case, initial_values(F64))
    run(opt, params, batches(F64, 2))
    old_style = copy.deepcopy(opt.state_dict())
    for state in old_style["state"].values():
        state["step"] = int(state["step"])  # how torch < 1.12 saved it
    loaded = {which: build(which, case, current_values(params)) for which in ("ours", "torch")}
    for loaded_opt, _ in loaded.values():
        loaded_opt.load_state_dict(copy.deepcopy(old_style))
    assert_same(*loaded["ours"], *loaded["torch"], EXACT, f"{case_id(case)}, old checkpoint loaded")
    assert all(torch.is_tensor(state["step"]) for state in loaded["ours"][0].state.values())


@pytest.mark.parametrize("case", ONE_CASE_PER_OPTIMIZER, ids=case_id)
def test_whole_optimizer_survives_deepcopy_and_torch_save(case):
    opt, params = build("ours", case, initial_values(F64))
    run(opt, params, batches(F64, 3))
    buffer = io.BytesIO()
    torch.save(opt, buffer)
    buffer.seek(0)
    for copied in (copy.deepcopy(opt), torch.load(buffer, weights_only=False)):
        assert type(copied) is type(opt)
        assert [{k: v for k, v in g.items() if k != "params"} for g in copied.param_groups] == [
            {k: v for k, v in g.items() if k != "params"} for g in opt.param_groups
        ]
        originals, copies = (list(o.state.values()) for o in (opt, copied))
        assert len(originals) == len(copies)
        for original, copy_ in zip(originals, copies):
            assert original.keys() == copy_.keys()
            for key in original:
                torch.testing.assert_close(copy_[key], original[key], **EXACT)


@pytest.mark.parametrize("case", ONE_CASE_PER_OPTIMIZER, ids=case_id)
def test_step_counter_follows_a_float64_default_dtype_like_torch(case):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        runs = {which: build(which, case, initial_values(F64)) for which in ("ours", "torch")}
        for opt, params in runs.values():
            run(opt, params, batches(F64, 3))
    finally:
        torch.set_default_dtype(previous)
    assert_same(*runs["ours"], *runs["torch"], EXACT, f"{case_id(case)}, default dtype float64")


def test_adamw_stays_decoupled_after_loading_an_adam_state_dict():
    p = torch.nn.Parameter(torch.ones(2))
    adamw = ours.AdamW([p])
    adamw.load_state_dict(ours.Adam([p], weight_decay=0.1).state_dict())
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True


# ---------------------------------------------------------------- zero_grad, lr changes, params without grads


@pytest.mark.parametrize("case", ONE_CASE_PER_OPTIMIZER, ids=case_id)
def test_zero_grad_sets_to_none_by_default_and_zeros_in_place_on_request(case):
    opt, params = build("ours", case, initial_values(F64))
    batch = batches(F64, 1)[0]
    loss_fn(params, batch, 0).backward()
    grads = {name: p.grad for name, p in params.items()}
    opt.zero_grad(set_to_none=False)
    for name, p in params.items():
        if grads[name] is None:
            assert p.grad is None, name
        else:
            assert p.grad is grads[name] and not p.grad.any(), f"{name}: not zeroed in place"
    opt.zero_grad()
    assert all(p.grad is None for p in params.values())


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_lr_changed_mid_training_takes_effect_on_the_next_step(case):
    data = batches(F64, 12)
    runs = {which: build(which, case, initial_values(F64)) for which in ("ours", "torch")}
    unchanged = build("ours", case, initial_values(F64))  # ours again, but keeps its lr
    for opt, params in (*runs.values(), unchanged):
        run(opt, params, data[:6])
    for opt, _ in runs.values():
        opt.param_groups[0]["lr"] = 0.02  # a plain float, whatever the lr was before
        opt.param_groups[1]["lr"] = 0.005
    for opt, params in (*runs.values(), unchanged):
        run(opt, params, data[6:7], start=6)
    assert_same(*runs["ours"], *runs["torch"], TOLERANCES[F64], f"{case_id(case)}, step after the lr change")
    ours_params, unchanged_params = runs["ours"][1], unchanged[1]
    if case[0] not in LR_CHANGE_IS_LATE:
        assert not torch.equal(ours_params["w1"], unchanged_params["w1"]), "the new lr had no effect"
    else:  # as in torch (the parity check above): the new lr does not reach the next step
        assert torch.equal(ours_params["w1"], unchanged_params["w1"]), LR_CHANGE_IS_LATE[case[0]]
    for opt, params in runs.values():
        run(opt, params, data[7:], start=7)
    assert_same(*runs["ours"], *runs["torch"], TOLERANCES[F64], f"{case_id(case)}, 5 steps after the lr change")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_params_whose_grad_is_none_are_skipped(case):
    opt, params = build("ours", case, initial_values(F64))
    run(opt, params, batches(F64, 4))
    assert torch.equal(params["never"], initial_values(F64)["never"])
    if case[0] == "Adagrad":  # torch's Adagrad creates every state in __init__
        assert opt.state[params["never"]]["step"].item() == 0
    else:
        assert params["never"] not in opt.state
    # 'sometimes' had no gradient on step 2 (index 1): it took 3 of the 4 steps
    if params["sometimes"] in opt.state and "step" in opt.state[params["sometimes"]]:
        assert opt.state[params["sometimes"]]["step"].item() == 3


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_add_param_group_later_matches_torch(name):
    runs = {}
    for which, cls in zip(("ours", "torch"), OPTIMIZERS[name]):
        first, late = torch.nn.Parameter(torch.ones(3, dtype=F64)), torch.nn.Parameter(torch.full((2,), 2.0, dtype=F64))
        extra = {"initial_accumulator_value": 0.3} if name == "Adagrad" else {}
        opt = cls([first], lr=0.1, **extra)
        opt.add_param_group({"params": [late], "lr": 0.05, **({"initial_accumulator_value": 0.9} if extra else {})})
        for _ in range(3):
            opt.zero_grad()
            ((first**3).sum() + (late**2).sum()).backward()
            opt.step()
        runs[which] = (opt, first, late)
    for a, b in zip(runs["ours"][1:], runs["torch"][1:]):
        torch.testing.assert_close(a, b, **TOLERANCES[F64])
        for key, value in runs["torch"][0].state[b].items():
            torch.testing.assert_close(runs["ours"][0].state[a][key], value, **TOLERANCES[F64])


def _outcome(opt, step):
    """Return ("ok", None) after ``step()``, or (exception type, message) if it raised."""
    try:
        step()
    except Exception as error:  # whatever torch raises is what ours must raise
        return type(error), str(error)
    return "ok", None


def _assert_same_aftermath(runs, where):
    """Assert that ours and torch's runs left parameters and state alike, bit for bit."""
    assert_same(*runs["ours"], *runs["torch"], EXACT, where)


@pytest.mark.parametrize("case", SPARSE_REFUSED, ids=case_id)
def test_a_refused_sparse_gradient_fails_as_in_torch(case):
    """torch's exception and message, raised at the same point: what changed before it is what torch changed."""
    name, kwargs, _ = case
    values, batch = sparse_initial_values(F64), sparse_batches(F64, 1)[0]
    runs, outcomes = {}, {}
    for which, cls in zip(("ours", "torch"), OPTIMIZERS[name]):
        params = make_params(values)
        extra = {"foreach": False} if which == "torch" else {}
        opt = cls(sparse_param_groups(name, kwargs, params), **kwargs, **extra)
        runs[which] = (opt, params)
        outcomes[which] = _outcome(opt, lambda opt=opt, params=params: sparse_train_step(opt, params, batch))
    assert outcomes["torch"][0] is RuntimeError, "torch accepts this: the row does not belong in SPARSE_REFUSED"
    assert outcomes["ours"] == outcomes["torch"]
    _assert_same_aftermath(runs, f"{case_id(case)}, after the refused step")


# ---------------------------------------------------------------- another optimizer's state dict


def _foreign_sources():
    """Return every optimizer class of torch.optim, by name (the state dicts a user might load by mistake)."""
    return {
        name: cls
        for name, cls in vars(torch.optim).items()
        if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer) and cls is not torch.optim.Optimizer
    }


def _foreign_state_dict(source, stepped):
    """Return the state dict of torch's ``source`` optimizer on two 2-d parameters, after one step or none."""
    p, q = (torch.nn.Parameter(torch.ones(shape, dtype=F64)) for shape in ((3, 2), (2, 2)))
    opt = source([p, q], lr=0.1)
    if stepped:

        def closure():
            for t in (p, q):
                t.grad = torch.full_like(t, 0.5)
                if source is torch.optim.SparseAdam:
                    t.grad = t.grad.to_sparse()
            return torch.tensor(1.0, dtype=F64)

        opt.step(closure)
    return opt.state_dict()


@pytest.mark.parametrize("stepped", [True, False], ids=["stepped", "fresh"])
@pytest.mark.parametrize("with_grads", [True, False], ids=["grads", "no grads"])
@pytest.mark.parametrize("source", list(_foreign_sources()))
@pytest.mark.parametrize("target", list(OPTIMIZERS))
def test_loading_another_optimizers_state_dict_fails_as_in_torch(target, source, with_grads, stepped):
    """E.g. RMSprop loaded with Adam's state: torch raises KeyError: 'square_avg' in step, before any update."""
    saved = _foreign_state_dict(_foreign_sources()[source], stepped)
    runs, outcomes = {}, {}
    for which, cls in zip(("ours", "torch"), OPTIMIZERS[target]):
        p, q = (torch.nn.Parameter(torch.ones(shape, dtype=F64)) for shape in ((3, 2), (2, 2)))
        opt = cls([p, q], lr=0.1)
        outcomes[which] = _outcome(opt, lambda opt=opt: opt.load_state_dict(copy.deepcopy(saved)))
        if outcomes[which][0] == "ok":
            if with_grads:
                p.grad, q.grad = torch.full_like(p, 0.5), torch.full_like(q, -0.25)
            outcomes[which] = _outcome(opt, opt.step)
        runs[which] = (opt, {"p": p, "q": q})
    assert outcomes["ours"] == outcomes["torch"]
    _assert_same_aftermath(runs, f"{source} state dict loaded into {target}, then a step")


# (optimizer, kwargs, a flag changed in every group after some steps): the state misses a key.
FLAG_TURNED_ON = [
    ("Adam", {}, {"amsgrad": True}),
    ("AdamW", {}, {"amsgrad": True}),
    ("RMSprop", {}, {"momentum": 0.9}),
    ("RMSprop", {"momentum": 0.9}, {"centered": True}),
    ("SGD", {}, {"momentum": 0.9}),
    ("Adagrad", {}, {"lr_decay": 0.1}),
]


@pytest.mark.parametrize("name, kwargs, change", FLAG_TURNED_ON, ids=lambda x: str(x))
def test_turning_a_flag_on_mid_training_does_what_torch_does(name, kwargs, change):
    data = batches(F64, 6)
    case = (name, kwargs, "")
    runs = {which: build(which, case, initial_values(F64)) for which in ("ours", "torch")}
    outcomes = {}
    for which, (opt, params) in runs.items():
        run(opt, params, data[:3])
        for group in opt.param_groups:
            group.update(change)
        outcomes[which] = _outcome(opt, lambda opt=opt, params=params: run(opt, params, data[3:], start=3))
    assert outcomes["ours"] == outcomes["torch"]
    _assert_same_aftermath(runs, f"{name} {kwargs}, after turning on {change}")


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_step_hooks_are_called(name):
    p = torch.nn.Parameter(torch.ones(3))
    opt = OPTIMIZERS[name][0]([p], lr=0.1)
    calls = []
    opt.register_step_pre_hook(lambda *args: calls.append("pre"))
    opt.register_step_post_hook(lambda *args: calls.append("post"))
    p.grad = torch.ones(3)
    opt.step()
    assert calls == ["pre", "post"]


# ---------------------------------------------------------------- the update functions


def _zeros_with_step(*keys):
    """Return a function that makes a learner's first state: a ``step`` counter and zero tensors."""
    return lambda p: {"step": torch.tensor(0.0), **{key: torch.zeros_like(p) for key in keys}}


# (optimizer, update function, its hyperparameters, the matching torch kwargs, the initial state)
UPDATES = [
    (
        "SGD",
        ours.sgd_update,
        {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "nesterov": True, "weight_decay": 0.1},
        {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "nesterov": True, "weight_decay": 0.1},
        lambda p: {"momentum_buffer": None},
    ),
    (
        "Adam",
        ours.adam_update,
        {
            "lr": 0.1,
            "beta1": 0.8,
            "beta2": 0.9,
            "eps": 1e-8,
            "weight_decay": 0.1,
            "amsgrad": True,
            "decoupled_weight_decay": False,
        },
        {"lr": 0.1, "betas": (0.8, 0.9), "eps": 1e-8, "weight_decay": 0.1, "amsgrad": True},
        _zeros_with_step("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
    ),
    (
        "RMSprop",
        ours.rmsprop_update,
        {"lr": 0.1, "alpha": 0.9, "eps": 1e-8, "weight_decay": 0.1, "momentum": 0.9, "centered": True},
        {"lr": 0.1, "alpha": 0.9, "eps": 1e-8, "weight_decay": 0.1, "momentum": 0.9, "centered": True},
        _zeros_with_step("square_avg", "momentum_buffer", "grad_avg"),
    ),
    (
        "Adagrad",
        ours.adagrad_update,
        {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.1, "eps": 1e-10},
        {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.1, "eps": 1e-10},
        _zeros_with_step("sum"),
    ),
]


@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("name, update, hyper, torch_kwargs, initial_state", UPDATES, ids=[row[0] for row in UPDATES])
def test_update_function_alone_matches_torch_and_leaves_grad_alone(
    name, update, hyper, torch_kwargs, initial_state, maximize
):
    """A notebook can call the pure function on plain tensors and a plain dict."""
    param = torch.tensor([1.0, -2.0, 3.0], dtype=F64)
    grads = [torch.tensor(g, dtype=F64) for g in ([0.5, 0.25, -1.0], [0.1, -0.3, 0.7], [-0.2, 0.4, 0.0])]
    reference = torch.nn.Parameter(param.clone())
    torch_opt = OPTIMIZERS[name][1]([reference], foreach=False, maximize=maximize, **torch_kwargs)
    state = initial_state(param)
    for step, grad in enumerate(grads, 1):
        grad_before = grad.clone()
        if name == "SGD":
            state["momentum_buffer"] = update(param, grad, state["momentum_buffer"], maximize=maximize, **hyper)
        else:
            update(param, grad, state, maximize=maximize, **hyper)
        assert torch.equal(grad, grad_before), f"step {step}: the update function modified grad"
        reference.grad = grad.clone()
        torch_opt.step()
        torch.testing.assert_close(
            param, reference.detach(), **EXACT, msg=lambda m, step=step: f"step {step}, param: {m}"
        )
        for key, value in torch_opt.state[reference].items():
            torch.testing.assert_close(
                state[key], value, **EXACT, msg=lambda m, key=key, step=step: f"step {step}, {key}: {m}"
            )


@pytest.mark.parametrize("update", [ours.sgd_update, ours.adam_update, ours.rmsprop_update, ours.adagrad_update])
def test_update_function_fits_on_one_screen(update):
    lines = inspect.getsource(update).splitlines()
    assert len(lines) <= 50, f"{update.__name__} is {len(lines)} lines long"
    assert update.__doc__ and "::" in update.__doc__, "the docstring should give the update rule as pseudocode"


# ---------------------------------------------------------------- API surface


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_signature_is_torchs_without_performance_flags(name):
    ours_cls, torch_cls = OPTIMIZERS[name]
    expected = [p for p in inspect.signature(torch_cls).parameters.values() if p.name not in PERFORMANCE_FLAGS]
    actual = list(inspect.signature(ours_cls).parameters.values())
    assert [p.name for p in actual] == [p.name for p in expected]
    assert [p.default for p in actual] == [p.default for p in expected]
    for a, e in zip(actual, expected):
        if (name, a.name) in {("RMSprop", "maximize"), ("ASGD", "maximize")}:  # torch's slot follows foreach
            assert a.kind == inspect.Parameter.KEYWORD_ONLY
        else:
            assert a.kind == e.kind, a.name


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_defaults_are_torchs_without_performance_flags(name):
    ours_cls, torch_cls = OPTIMIZERS[name]
    p = torch.nn.Parameter(torch.ones(1))
    expected = {k: v for k, v in torch_cls([p]).defaults.items() if k not in PERFORMANCE_FLAGS}
    assert ours_cls([p]).defaults == expected


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_the_parity_table_covers_every_constructor_flag(name):
    ours_cls, _ = OPTIMIZERS[name]
    flags = {p.name: p.default for p in inspect.signature(ours_cls).parameters.values() if p.name != "params"}
    rows = [kwargs for row_name, kwargs, _ in CASES if row_name == name]
    for flag, default in flags.items():
        values = [kwargs[flag] for kwargs in rows if flag in kwargs]
        assert any(not isinstance(v, type(default)) or v != default for v in values), (
            f"no row of CASES sets {name}'s {flag!r} to a non-default value"
        )
    assert any(isinstance(kwargs.get("lr"), torch.Tensor) for kwargs in rows), f"no tensor lr row for {name}"


def test_public_functions_and_methods_have_docstrings():
    for export in ours.__all__:
        obj = getattr(ours, export)
        assert inspect.getdoc(obj), export
        if inspect.isclass(obj):
            for method in ("step", "__init__"):
                assert inspect.getdoc(getattr(obj, method)), f"{export}.{method}"


@pytest.mark.parametrize("module", ["__init__", "sgd", "adam", "rmsprop", "adagrad"])
def test_docstring_examples_print_what_they_claim(module):
    mod = importlib.import_module("myoptim_helpers.optim" + ("" if module == "__init__" else f".{module}"))
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0, result


def test_importing_the_optimizers_loads_neither_matplotlib_nor_ipywidgets():
    code = (
        "import myoptim_helpers.optim, sys; print(sorted(m for m in ('matplotlib', 'ipywidgets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
