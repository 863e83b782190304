"""Muon and SparseAdam (and LBFGS) against torch.optim, each on a model it accepts.

The shared harness of tests/optim_cases.py has 1-D parameters and dense
gradients; Muon takes only 2-D parameters and SparseAdam only sparse
gradients. Each gets a small model of its own here, with the harness's habits:
two parameter groups (group 1 halves lr), a parameter that misses its gradient
every third step and one that never gets one. Every row of ``SPECIAL_CASES``
runs beside torch's optimizer for 24 steps, float64 within 1e-12 and float32
within 1e-5 (in fact bitwise), then through state_dict round trips both ways.
"""

import copy
import doctest
import importlib
import inspect
import io

import pytest
import torch
from optim_cases import (
    BAD_PARAMS,
    CHECKED_HYPERPARAMETERS,
    PERFORMANCE_FLAGS,
    SPECIAL_BAD_PARAMS,
    SPECIAL_CASES,
    SPECIAL_INVALID,
    SPECIAL_OPTIMIZERS,
    batches,
    case_id,
    initial_values,
    loss_fn,
    make_params,
)

import myoptim_helpers.optim as ours

F64 = torch.float64
EXACT = {"atol": 0.0, "rtol": 0.0}
STEPS = 24
# each LBFGS step runs up to max_iter inner iterations: 6 steps already hold 100+ of them
STEPS_OF = {"Muon": STEPS, "SparseAdam": STEPS, "LBFGS": 6}


# ---------------------------------------------------------------- the models


def muon_model(dtype, seed=0):
    """Return (params, groups, loss(step)): matrices only, one tall, one wide, one square."""
    g = torch.Generator().manual_seed(seed)
    shapes = {"w1": (4, 3), "w2": (2, 4), "w3": (5, 2), "sometimes": (3, 3), "never": (2, 2)}
    params = {k: torch.nn.Parameter(torch.randn(s, generator=g, dtype=dtype)) for k, s in shapes.items()}
    data = [
        (torch.randn(5, 3, generator=g, dtype=dtype), torch.randn(5, 2, generator=g, dtype=dtype)) for _ in range(STEPS)
    ]

    def loss(step):
        x, y = data[step % STEPS]
        out = torch.tanh(x @ params["w1"].T) @ params["w2"].T
        value = ((out - y) ** 2).mean() + 0.1 * (params["w3"] @ out.T).pow(2).mean()
        if step % 3 != 1:
            value = value + (params["sometimes"] @ x[0]).pow(2).sum()
        return value

    return params, [["w1", "w3"], ["w2", "sometimes", "never"]], loss


def sparse_model(dtype, seed=0):
    """Return (params, groups, loss(step)): embedding tables with sparse gradients, repeated and empty lookups."""
    g = torch.Generator().manual_seed(seed)
    shapes = {"emb": (10, 3), "emb2": (6, 2), "sometimes": (4, 3), "never": (3, 3)}
    params = {k: torch.nn.Parameter(torch.randn(s, generator=g, dtype=dtype)) for k, s in shapes.items()}
    data = [
        (
            torch.randint(0, 10, (6,), generator=g),
            torch.randint(0, 6, (3,), generator=g),
            torch.randn(6, generator=g, dtype=dtype),
        )
        for _ in range(STEPS)
    ]

    def loss(step):
        idx, idx2, y = data[step % STEPS]
        if step % 5 == 4:
            idx2 = idx2[:0]  # an empty lookup: a sparse gradient without entries
        emb = torch.nn.functional.embedding(idx, params["emb"], sparse=True)
        emb2 = torch.nn.functional.embedding(idx2, params["emb2"], sparse=True)
        value = ((emb.sum(1) - y) ** 2).mean() + emb2.pow(3).sum()
        if step % 3 != 1:
            value = value + torch.nn.functional.embedding(idx[:2] % 4, params["sometimes"], sparse=True).pow(2).sum()
        return value

    return params, [["emb"], ["emb2", "sometimes", "never"]], loss


def dense_model(dtype, seed=0):
    """Return (params, groups, loss(step)): the shared harness's model, its parameters in one group (LBFGS's only)."""
    params = make_params(initial_values(dtype, seed))
    data = batches(dtype, STEPS)
    return params, [list(params)], lambda step: loss_fn(params, data[step % STEPS], step)


MODELS = {"Muon": muon_model, "SparseAdam": sparse_model, "LBFGS": dense_model}
MOVES = {"Muon": "w1", "SparseAdam": "emb", "LBFGS": "w1"}  # a parameter that must have moved


def build(name, which, kwargs, dtype, seed=0, values=None):
    """Return (optimizer, params, loss) for ``which`` in {"ours", "torch"} on ``name``'s model."""
    params, groups, loss = MODELS[name](dtype, seed)
    if values is not None:
        with torch.no_grad():
            for k, v in values.items():
                params[k].copy_(v)
    lr = kwargs.get("lr", inspect.signature(SPECIAL_OPTIMIZERS[name][1]).parameters["lr"].default)
    param_groups = [{"params": [params[k] for k in groups[0]]}]
    if len(groups) > 1:
        param_groups.append({"params": [params[k] for k in groups[1]], "lr": lr * 0.5})
    cls = SPECIAL_OPTIMIZERS[name][0 if which == "ours" else 1]
    return cls(param_groups, **kwargs), params, loss


def train(opt, params, loss, steps, start=0):
    """Take ``steps`` optimizer steps, numbered from ``start``; return the losses."""
    losses = []
    for step in range(start, start + steps):
        if isinstance(opt, (ours.LBFGS, torch.optim.LBFGS)):

            def closure(step=step):
                opt.zero_grad()
                value = loss(step)
                value.backward()
                return value

            value = opt.step(closure)  # LBFGS calls the closure many times, and needs it
        else:
            opt.zero_grad()
            value = loss(step)
            value.backward()
            opt.step()
        losses.append(value.detach())
    return losses


def _close(actual, expected, tol, msg):
    if actual.dtype == expected.dtype and actual.shape == expected.shape and torch.equal(actual, expected):
        return  # the usual case; assert_close is slow
    torch.testing.assert_close(actual, expected, **tol, msg=msg)


def assert_same(a, b, tol, where):
    """Assert that two (optimizer, params) pairs agree in every param and state entry, type included."""
    (opt, params), (ref_opt, ref_params) = a, b
    for k in params:
        _close(params[k].detach(), ref_params[k].detach(), tol, lambda m, k=k: f"{where}, {k}: {m}")
        assert (params[k] in opt.state) == (ref_params[k] in ref_opt.state), f"{where}, {k}: state exists in one only"
        state, ref_state = opt.state.get(params[k], {}), ref_opt.state.get(ref_params[k], {})
        assert sorted(state) == sorted(ref_state), f"{where}, {k}: state keys differ"
        for key, ref_value in ref_state.items():
            _same_value(state[key], ref_value, tol, f"{where}, {k} {key}")


def _same_value(value, ref_value, tol, where):
    """Assert equal types and values; lists (LBFGS's history) element by element."""
    assert type(value) is type(ref_value), f"{where}: {type(value)} vs {type(ref_value)}"
    if isinstance(ref_value, torch.Tensor):
        _close(value, ref_value, tol, lambda m: f"{where}: {m}")
    elif isinstance(ref_value, list):
        assert len(value) == len(ref_value), f"{where}: lengths differ"
        for i, (v, r) in enumerate(zip(value, ref_value)):
            _same_value(v, r, tol, f"{where}[{i}]")
    else:
        assert value == ref_value, f"{where}: {value} vs {ref_value}"


# ---------------------------------------------------------------- parity


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", SPECIAL_CASES, ids=case_id)
def test_matches_torch_at_every_step_bitwise(case, dtype):
    name, kwargs, _ = case
    mine, theirs = build(name, "ours", kwargs, dtype), build(name, "torch", kwargs, dtype)
    for step in range(STEPS_OF[name]):
        loss, ref_loss = train(*mine, 1, step)[0], train(*theirs, 1, step)[0]
        assert torch.equal(loss, ref_loss), f"{case_id(case)}, step {step + 1}: losses differ"
        # held to bitwise equality, stricter than the project's 1e-12 / 1e-5 (TOLERANCES)
        assert_same(mine[:2], theirs[:2], EXACT, f"{case_id(case)}, {dtype}, after step {step + 1}")
    params = mine[1]
    assert params["never"] not in mine[0].state, "a parameter without gradient got state"
    assert not torch.equal(params[MOVES[name]], MODELS[name](dtype)[0][MOVES[name]]), "the model did not move"
    assert torch.equal(params["never"], MODELS[name](dtype)[0]["never"]), "a parameter without gradient moved"


@pytest.mark.parametrize("direction", ["ours -> torch", "torch -> ours", "ours -> ours (torch.save)"])
@pytest.mark.parametrize("case", SPECIAL_CASES, ids=case_id)
def test_state_dict_round_trips(case, direction):
    name, kwargs, _ = case
    source, target = (
        ("torch", "ours") if direction.startswith("torch") else ("ours", "torch" if "-> torch" in direction else "ours")
    )
    half = STEPS_OF[name] // 3
    opt, params, loss = build(name, source, kwargs, F64)
    train(opt, params, loss, half)
    if "torch.save" in direction:
        buffer = io.BytesIO()
        torch.save(opt.state_dict(), buffer)
        buffer.seek(0)
        saved = torch.load(buffer)
    else:
        saved = copy.deepcopy(opt.state_dict())
    values = {k: p.detach().clone() for k, p in params.items()}
    moved = build(name, target, kwargs, F64, values=values)
    moved[0].load_state_dict(saved)
    if source == target:
        # ours -> ours: the reference is the run that was never interrupted, so a state_dict that
        # drops or miscasts anything shows up here
        reference = (opt, params, loss)
    else:
        # across classes, the source class is loaded too, so that both went through torch's
        # load_state_dict casts
        reference = build(name, source, kwargs, F64, values=values)
        reference[0].load_state_dict(copy.deepcopy(saved))
    train(*moved, half, half)
    train(*reference, half, half)
    assert_same(moved[:2], reference[:2], EXACT, f"{case_id(case)}, {direction}, {half} steps after loading")


@pytest.mark.parametrize("name", list(SPECIAL_OPTIMIZERS))
def test_closure_is_called_once_and_its_loss_returned(name):
    kwargs = next(k for n, k, _ in SPECIAL_CASES if n == name)
    opt, params, loss = build(name, "ours", kwargs, F64)
    calls = []

    def closure():
        calls.append(torch.is_grad_enabled())
        opt.zero_grad()
        value = loss(0)
        value.backward()
        return value

    with torch.no_grad():
        returned = opt.step(closure)
    assert calls == [True] * (len(calls) if name == "LBFGS" else 1) and torch.is_tensor(returned)
    ref = build(name, "torch", kwargs, F64)

    def ref_closure():
        ref[0].zero_grad()
        value = ref[2](0)
        value.backward()
        return value

    ref[0].step(ref_closure)
    assert_same((opt, params), ref[:2], EXACT, f"{name}, closure step")


@pytest.mark.parametrize("name", list(SPECIAL_OPTIMIZERS))
def test_signature_and_defaults_are_torchs(name):
    ours_cls, torch_cls = SPECIAL_OPTIMIZERS[name]
    expected = [p for p in inspect.signature(torch_cls).parameters.values() if p.name not in PERFORMANCE_FLAGS]
    actual = list(inspect.signature(ours_cls).parameters.values())
    assert [(p.name, p.default, p.kind) for p in actual] == [(p.name, p.default, p.kind) for p in expected]
    p = torch.nn.Parameter(torch.ones(2, 2))
    assert ours_cls([p]).defaults == {k: v for k, v in torch_cls([p]).defaults.items() if k not in PERFORMANCE_FLAGS}


def _differs(value, default) -> bool:
    """True if a row's ``value`` is not the constructor's ``default`` (a tensor lr always counts)."""
    if isinstance(value, torch.Tensor) or isinstance(default, torch.Tensor):
        return not (
            isinstance(value, torch.Tensor) and isinstance(default, torch.Tensor) and torch.equal(value, default)
        )
    return value != default


@pytest.mark.parametrize("name", list(SPECIAL_OPTIMIZERS))
def test_every_constructor_flag_has_a_parity_row(name):
    rows = [kwargs for n, kwargs, _ in SPECIAL_CASES if n == name]
    for flag, param in inspect.signature(SPECIAL_OPTIMIZERS[name][0]).parameters.items():
        if flag != "params":
            assert any(flag in kwargs and _differs(kwargs[flag], param.default) for kwargs in rows), (
                f"{name}: no row sets {flag}"
            )
    assert any(isinstance(kwargs.get("lr"), torch.Tensor) for kwargs in rows), f"no tensor lr row for {name}"


# ---------------------------------------------------------------- errors


def _make_params(kwargs):
    kwargs = dict(kwargs)
    key = kwargs.pop("params", None)
    make = {**BAD_PARAMS, **SPECIAL_BAD_PARAMS}.get(key, lambda: [torch.zeros(2, 2, requires_grad=True)])
    return make, kwargs


def _error(cls, kwargs):
    make, kwargs = _make_params(kwargs)
    try:
        cls(make(), **kwargs)
    except Exception as error:  # whatever torch raises is what we expect
        return error
    return None


@pytest.mark.parametrize("row", SPECIAL_INVALID, ids=lambda row: f"{row[0]}-{row[1]}")
def test_invalid_arguments_raise_torchs_exception_and_message(row):
    name, kwargs, error_type, message = row
    expected = _error(SPECIAL_OPTIMIZERS[name][1], kwargs)
    assert type(expected) is error_type and str(expected) == message, f"torch raises {expected!r}"
    actual = _error(SPECIAL_OPTIMIZERS[name][0], kwargs)
    assert type(actual) is type(expected) and str(actual) == str(expected), f"ours raises {actual!r}"


@pytest.mark.parametrize("name", list(SPECIAL_OPTIMIZERS))
def test_every_hyperparameter_torch_checks_has_an_invalid_row(name):
    covered = {key for n, kwargs, _, _ in SPECIAL_INVALID if n == name for key in kwargs}
    assert CHECKED_HYPERPARAMETERS[name] <= covered, sorted(CHECKED_HYPERPARAMETERS[name] - covered)


def _step_error(cls, grad):
    p = torch.nn.Parameter(torch.ones(3, 2) if not grad.is_complex() else torch.ones(3, 2, dtype=grad.dtype))
    opt = cls([p])
    p.grad = grad
    try:
        opt.step()
    except Exception as error:  # whatever torch raises is what we expect
        return error
    return None


@pytest.mark.parametrize(
    "name, grad",
    [
        ("Muon", torch.ones(3, 2).to_sparse()),
        ("Muon", torch.ones(3, 2, dtype=torch.complex64)),
        ("SparseAdam", torch.ones(3, 2)),
    ],
    ids=["Muon-sparse grad", "Muon-complex", "SparseAdam-dense grad"],
)
def test_refused_gradients_raise_torchs_error_at_step(name, grad):
    expected, actual = (_step_error(cls, grad.clone()) for cls in reversed(SPECIAL_OPTIMIZERS[name]))
    assert expected is not None and type(actual) is type(expected) and str(actual) == str(expected), (actual, expected)


# ---------------------------------------------------------------- Muon's pieces


def test_newton_schulz_coefficients_and_defaults_are_torchs():
    import torch.optim._muon as torch_muon

    assert (ours.muon.DEFAULT_A, ours.muon.DEFAULT_B, ours.muon.DEFAULT_C) == (
        torch_muon.DEFAULT_A,
        torch_muon.DEFAULT_B,
        torch_muon.DEFAULT_C,
    )
    assert (ours.muon.EPS, ours.muon.DEFAULT_NS_STEPS) == (torch_muon.EPS, torch_muon.DEFAULT_NS_STEPS)


@pytest.mark.parametrize("shape", [(4, 3), (3, 7), (5, 5), (1, 6), (6, 1)])
@pytest.mark.parametrize(
    "coefficients, steps", [((3.4445, -4.7750, 2.0315), 5), ((3.4, -4.7, 2.0), 6), ((2.0, -1.5, 0.5), 10)]
)
def test_newton_schulz_matches_torch_and_drives_singular_values_towards_one(shape, coefficients, steps):
    import torch.optim._muon as torch_muon

    g = torch.randn(shape, generator=torch.Generator().manual_seed(1), dtype=F64) * 50
    ortho = ours.zeropower_via_newtonschulz(g, coefficients, steps, 1e-7)
    assert ortho.dtype == torch.bfloat16 and ortho.shape == g.shape
    assert torch.equal(ortho, torch_muon._zeropower_via_newtonschulz(g, coefficients, steps, 1e-7))
    singular_values = torch.linalg.svdvals(ortho.double())
    assert ((singular_values > 0.6) & (singular_values < 1.3)).all(), singular_values


@pytest.mark.parametrize("bad", [{"ns_steps": 100}, {"ns_coefficients": (1.0, 2.0)}, {"grad": torch.ones(2, 2, 2)}])
def test_newton_schulz_refuses_what_torchs_refuses(bad):
    import torch.optim._muon as torch_muon

    args = {"grad": torch.ones(2, 3), "ns_coefficients": (3.4445, -4.7750, 2.0315), "ns_steps": 5, "eps": 1e-7, **bad}
    with pytest.raises(ValueError) as expected:
        torch_muon._zeropower_via_newtonschulz(**args)
    with pytest.raises(ValueError, match=str(expected.value)):
        ours.zeropower_via_newtonschulz(**args)


@pytest.mark.parametrize("fn", [None, "original", "match_rms_adamw"])
@pytest.mark.parametrize("shape", [(4, 3), (3, 7), (5, 5), (100, 10)])
def test_adjust_lr_options_match_torch(fn, shape):
    import torch.optim._muon as torch_muon

    assert ours.adjust_lr(0.02, fn, torch.Size(shape)) == torch_muon._adjust_lr(0.02, fn, torch.Size(shape))


def test_muon_update_function_alone_matches_torch_and_leaves_grad_alone():
    param = torch.randn(4, 3, generator=torch.Generator().manual_seed(2), dtype=F64)
    reference = torch.nn.Parameter(param.clone())
    hyper = {
        "lr": 0.05,
        "weight_decay": 0.1,
        "momentum": 0.9,
        "nesterov": True,
        "ns_coefficients": (3.4445, -4.7750, 2.0315),
        "ns_steps": 5,
        "eps": 1e-7,
        "adjust_lr_fn": "match_rms_adamw",
    }
    torch_opt = torch.optim.Muon([reference], **hyper)
    state = {"momentum_buffer": torch.zeros_like(param)}
    for step in range(4):
        grad = torch.randn(4, 3, generator=torch.Generator().manual_seed(10 + step), dtype=F64)
        before = grad.clone()
        ours.muon_update(param, grad, state, **hyper)
        assert torch.equal(grad, before)
        reference.grad = grad.clone()
        torch_opt.step()
        assert torch.equal(param, reference.detach()), f"step {step + 1}"
        assert torch.equal(state["momentum_buffer"], torch_opt.state[reference]["momentum_buffer"])


def test_sparse_adam_update_function_alone_matches_torch():
    param = torch.randn(5, 2, generator=torch.Generator().manual_seed(2), dtype=F64)
    reference = torch.nn.Parameter(param.clone())
    torch_opt = torch.optim.SparseAdam([reference], lr=0.1, betas=(0.8, 0.9), eps=1e-6)
    state = {"step": 0, "exp_avg": torch.zeros_like(param), "exp_avg_sq": torch.zeros_like(param)}
    for step, rows in enumerate([[0, 3, 3], [1], [], [4, 0]]):
        grad = torch.sparse_coo_tensor(torch.tensor([rows]), torch.ones(len(rows), 2, dtype=F64) * (step + 1), (5, 2))
        state["step"] += 1
        ours.sparse_adam_update(param, grad, state, lr=0.1, beta1=0.8, beta2=0.9, eps=1e-6, maximize=False)
        reference.grad = grad.clone()
        torch_opt.step()
        assert torch.equal(param, reference.detach()), f"step {step + 1}"
        for key in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(state[key], torch_opt.state[reference][key]), key


@pytest.mark.parametrize(
    "update", [ours.muon_update, ours.zeropower_via_newtonschulz, ours.sparse_adam_update, ours.lbfgs_direction]
)
def test_update_functions_fit_on_one_screen(update):
    assert len(inspect.getsource(update).splitlines()) <= 50
    assert update.__doc__


@pytest.mark.parametrize("module", ["muon", "sparse_adam", "lbfgs"])
def test_docstring_examples_print_what_they_claim(module):
    result = doctest.testmod(
        importlib.import_module(f"myoptim_helpers.optim.{module}"), optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0, result


# ---------------------------------------------------------------- LBFGS on complex parameters and sparse gradients


@pytest.mark.parametrize(
    "kwargs", [{}, {"line_search_fn": "strong_wolfe", "history_size": 4}], ids=["plain", "strong_wolfe"]
)
@pytest.mark.parametrize("kind", ["complex128", "sparse gradient"])
def test_lbfgs_takes_complex_parameters_and_sparse_gradients_as_torch_does(kind, kwargs):
    runs = {}
    for which, cls in zip(("ours", "torch"), SPECIAL_OPTIMIZERS["LBFGS"]):
        g = torch.Generator().manual_seed(4)
        if kind == "complex128":
            w = torch.nn.Parameter(torch.randn(3, 2, generator=g, dtype=torch.complex128))
            x = torch.randn(2, generator=g, dtype=torch.complex128)

            def loss(w=w, x=x):
                return ((w @ x) - 1j).abs().pow(2).sum() + w.abs().pow(4).sum() * 0.1
        else:
            w = torch.nn.Parameter(torch.randn(6, 2, generator=g, dtype=F64))
            idx = torch.tensor([0, 2, 2, 5])

            def loss(w=w, idx=idx):
                return (torch.nn.functional.embedding(idx, w, sparse=True) - 1).pow(2).sum() + 0.1 * w.pow(4).sum()

        opt = cls([w], **kwargs)

        def closure(opt=opt, loss=loss):
            opt.zero_grad()
            value = loss()
            value.backward()
            return value

        for _ in range(3):
            opt.step(closure)
        runs[which] = (opt, w)
    (opt, w), (ref_opt, ref_w) = runs["ours"], runs["torch"]
    assert torch.equal(w, ref_w)
    state, ref_state = opt.state[w], ref_opt.state[ref_w]
    assert state.keys() == ref_state.keys()
    assert state["func_evals"] == ref_state["func_evals"] and state["n_iter"] == ref_state["n_iter"]
    assert torch.equal(state["d"], ref_state["d"])
