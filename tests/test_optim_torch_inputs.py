"""The newer optimizers against torch's own test configurations, complex parameters and errors.

torch 2.13 ships the configurations its optimizer tests run, in
``torch/testing/_internal/common_optimizers.py`` (``optim_db``: per optimizer an
``optim_inputs_func`` of constructor kwargs and an ``optim_error_inputs_func`` of
inputs that must fail). This module reads that file and checks that

- every CPU configuration torch lists is a row of ``CASES`` (marked "torch:"),
  so the step-by-step parity tests run all of them;
- every error input torch lists fails here with torch's exception and message;
- where torch supports complex parameters, ours match torch's on them at every step;
- where ``tests/optim_cases.py`` skips a comparison because torch's foreach code disagrees
  with its single-tensor code, torch really does disagree with itself there.

It also holds the update-function, docstring and validation-coverage checks of these
optimizers (the first five have theirs in test_optim_behaviour.py and test_optim_validation.py).
"""

import doctest
import importlib
import inspect
import warnings

import pytest
import torch
from optim_cases import (
    CASES,
    CHECKED_HYPERPARAMETERS,
    INVALID,
    PERFORMANCE_FLAGS,
    SPECIAL_CASES,
    SPECIAL_OPTIMIZERS,
    TOLERANCES,
    assert_same,
    batches,
    case_id,
    initial_values,
    make_params,
    param_groups,
    torch_foreach_split,
    train_step,
)
from optim_cases import OPTIMIZERS as HARNESS_OPTIMIZERS

import myoptim_helpers.optim as ours

common_optimizers = pytest.importorskip("torch.testing._internal.common_optimizers")  # needs expecttest

NEW = ["NAdam", "RAdam", "Adamax", "Adadelta", "ASGD", "Rprop", "Adafactor", "Muon", "SparseAdam", "LBFGS"]
OPTIMIZERS = {**HARNESS_OPTIMIZERS, **SPECIAL_OPTIMIZERS}
INFO = {info.optim_cls.__name__: info for info in common_optimizers.optim_db}
F64 = torch.float64
EXACT = {"atol": 0.0, "rtol": 0.0}


def _same_kwargs(a, b):
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
            if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor) and torch.equal(x, y)):
                return False
        elif x != y or type(x) is not type(y):
            return False
    return True


def torch_configurations(name):
    """Return torch's CPU test configurations for ``name``, without the performance flags."""
    configs = []
    for optim_input in INFO[name].optim_inputs_func(device="cpu"):
        if any(flag in optim_input.kwargs for flag in PERFORMANCE_FLAGS):
            continue  # CUDA-only rows (capturable): this package leaves the flag out
        configs.append((optim_input.desc, optim_input.kwargs))
    return configs


@pytest.mark.parametrize("name", NEW)
def test_every_torch_configuration_is_a_parity_row(name):
    rows = [(description, kwargs) for row_name, kwargs, description in CASES + SPECIAL_CASES if row_name == name]
    configs = torch_configurations(name)
    assert configs, f"torch lists no CPU configuration for {name}"
    for desc, kwargs in configs:
        assert any(_same_kwargs(kwargs, row_kwargs) for _, row_kwargs in rows), (
            f"torch's {name} configuration {desc!r} {kwargs} is not a row of CASES or SPECIAL_CASES"
        )
    for description, kwargs in rows:  # and a row that claims to be torch's is torch's
        if description.startswith("torch:"):
            assert any(_same_kwargs(kwargs, c) for _, c in configs), f"{name} row {description!r} is not torch's"


def _error_inputs(name):
    return list(INFO[name].optim_error_inputs_func(device="cpu", dtype=torch.float32))


def _raised(cls, optim_input, on_step):
    """Return the exception (or warning) raised by constructing ``cls`` (and stepping it, if ``on_step``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            opt = cls(optim_input.params, **optim_input.kwargs)
            if on_step:
                opt.step()
        except Exception as error:  # whatever torch raises is what we expect
            return error
    user_warnings = [w.message for w in caught if issubclass(w.category, UserWarning)]
    return user_warnings[0] if user_warnings else None


@pytest.mark.parametrize("name", NEW)
def test_torchs_error_inputs_fail_with_torchs_exception_and_message(name):
    for error_input in _error_inputs(name):
        optim_input = error_input.optimizer_error_input
        if optim_input.params is None:
            optim_input.params = [torch.nn.Parameter(torch.randn(2, 2))]
        on_step = error_input.error_on == common_optimizers.OptimizerErrorEnum.STEP_ERROR
        expected = _raised(OPTIMIZERS[name][1], optim_input, on_step)
        actual = _raised(OPTIMIZERS[name][0], optim_input, on_step)
        where = f"{name}, torch's error input {optim_input.desc!r}"
        assert isinstance(expected, error_input.error_type), f"{where}: torch raises {expected!r}"
        assert type(actual) is type(expected), f"{where}: ours raises {actual!r}, torch {expected!r}"
        assert str(actual) == str(expected), where


@pytest.mark.parametrize("name", [name for name in NEW if name in HARNESS_OPTIMIZERS])
def test_every_hyperparameter_torch_checks_has_an_invalid_row(name):
    covered = {key for row_name, kwargs, _, _ in INVALID if row_name == name for key in kwargs}
    missing = CHECKED_HYPERPARAMETERS[name] - covered
    assert not missing, f"{name}: no INVALID row for {sorted(missing)}"


SPLITS = [
    (case, dtype)
    for case in CASES
    for dtype in (torch.float64, torch.float32)
    if torch_foreach_split(case, "torch foreach=True", dtype)
]


@pytest.mark.parametrize("case, dtype", SPLITS, ids=[f"{case_id(c)}-{d}" for c, d in SPLITS])
def test_skipped_foreach_comparisons_are_torch_disagreeing_with_itself(case, dtype):
    """A skipped comparison must be one where torch's two implementations really differ."""
    name, kwargs, _ = case
    values, data = initial_values(dtype), batches(dtype, 24)
    runs = {}
    for foreach in (False, True):
        params = make_params(values)
        runs[foreach] = (OPTIMIZERS[name][1](param_groups(name, kwargs, params), **kwargs, foreach=foreach), params)
    differ = False
    for step, batch in enumerate(data):
        for opt, params in runs.values():
            train_step(opt, params, batch, step)
        try:
            assert_same(*runs[False], *runs[True], TOLERANCES[dtype], "")
        except AssertionError:
            differ = True
            break
    assert differ, f"torch's foreach=True agrees with foreach=False on {case_id(case)}: compare ours with it"


# ---------------------------------------------------------------- complex parameters


def complex_run(cls, kwargs, dtype, steps=12, **extra):
    """Train a complex matrix and a complex vector with ``cls``; return (optimizer, params) after each step."""
    g = torch.Generator().manual_seed(3)
    w = torch.nn.Parameter(torch.randn(3, 2, generator=g, dtype=dtype))
    b = torch.nn.Parameter(torch.randn(3, generator=g, dtype=dtype))
    x = torch.randn(steps, 2, generator=g, dtype=dtype)
    opt = cls([{"params": [w]}, {"params": [b], "lr": 0.5 * kwargs.get("lr", 0.01)}], **kwargs, **extra)
    for step in range(steps):
        opt.zero_grad()
        loss = (w @ x[step] + b - 1j).abs().pow(2).sum()
        loss.backward()
        opt.step()
        yield opt, {"w": w, "b": b}


COMPLEX_CASES = [case for case in CASES if case[0] in NEW and INFO[case[0]].supports_complex]


@pytest.mark.parametrize("dtype", [torch.complex128, torch.complex64], ids=["complex128", "complex64"])
@pytest.mark.parametrize("case", COMPLEX_CASES, ids=case_id)
def test_complex_parameters_match_torch_at_every_step(case, dtype):
    name, kwargs, _ = case
    tol = TOLERANCES[F64 if dtype == torch.complex128 else torch.float32]
    mine = complex_run(OPTIMIZERS[name][0], kwargs, dtype)
    theirs = complex_run(OPTIMIZERS[name][1], kwargs, dtype, foreach=False)
    for step, ((opt, params), (ref_opt, ref_params)) in enumerate(zip(mine, theirs), 1):
        for key in params:
            where = f"{case_id(case)}, {dtype}, step {step}, {key}"
            torch.testing.assert_close(params[key], ref_params[key], **tol, msg=lambda m, where=where: f"{where}: {m}")
            state, ref_state = opt.state[params[key]], ref_opt.state[ref_params[key]]
            assert state.keys() == ref_state.keys(), where
            for k, v in ref_state.items():
                torch.testing.assert_close(state[k], v, **tol, msg=lambda m, where=where, k=k: f"{where} {k}: {m}")


# ---------------------------------------------------------------- the update functions and the docs


def _state(*keys, **scalars):
    """Return a function that makes a fresh first state: a ``step`` counter, zero tensors, extra 0-dim tensors."""
    return lambda p: {
        "step": torch.tensor(0.0),
        **{key: torch.zeros_like(p) for key in keys},
        **{key: torch.tensor(value) for key, value in scalars.items()},
    }


# (optimizer, update function, its hyperparameters, the matching torch kwargs, the initial state)
UPDATES = [
    (
        "NAdam",
        ours.nadam_update,
        {
            "lr": 0.1,
            "beta1": 0.8,
            "beta2": 0.9,
            "eps": 1e-8,
            "weight_decay": 0.1,
            "momentum_decay": 0.1,
            "decoupled_weight_decay": False,
        },
        {"lr": 0.1, "betas": (0.8, 0.9), "eps": 1e-8, "weight_decay": 0.1, "momentum_decay": 0.1},
        _state("exp_avg", "exp_avg_sq", mu_product=1.0),
    ),
    (
        "RAdam",
        ours.radam_update,
        {"lr": 0.1, "beta1": 0.8, "beta2": 0.5, "eps": 1e-8, "weight_decay": 0.1, "decoupled_weight_decay": True},
        {"lr": 0.1, "betas": (0.8, 0.5), "eps": 1e-8, "weight_decay": 0.1, "decoupled_weight_decay": True},
        _state("exp_avg", "exp_avg_sq"),
    ),
    (
        "Adamax",
        ours.adamax_update,
        {"lr": 0.1, "beta1": 0.8, "beta2": 0.9, "eps": 1e-8, "weight_decay": 0.1},
        {"lr": 0.1, "betas": (0.8, 0.9), "eps": 1e-8, "weight_decay": 0.1},
        _state("exp_avg", "exp_inf"),
    ),
    (
        "Adadelta",
        ours.adadelta_update,
        {"lr": 0.5, "rho": 0.8, "eps": 1e-6, "weight_decay": 0.1},
        {"lr": 0.5, "rho": 0.8, "eps": 1e-6, "weight_decay": 0.1},
        _state("square_avg", "acc_delta"),
    ),
    (
        "ASGD",
        ours.asgd_update,
        {"lr": 0.1, "lambd": 0.1, "alpha": 0.5, "t0": 1, "weight_decay": 0.1},
        {"lr": 0.1, "lambd": 0.1, "alpha": 0.5, "t0": 1, "weight_decay": 0.1},
        _state("ax", eta=0.1, mu=1.0),
    ),
    (
        "Rprop",
        ours.rprop_update,
        {"etaminus": 0.4, "etaplus": 1.3, "step_size_min": 1e-3, "step_size_max": 0.5},
        {"lr": 0.1, "etas": (0.4, 1.3), "step_sizes": (1e-3, 0.5)},
        lambda p: {"step": torch.tensor(0.0), "prev": torch.zeros_like(p), "step_size": torch.full_like(p, 0.1)},
    ),
    (
        "Adafactor",
        ours.adafactor_update,
        {"lr": 0.1, "beta2_decay": -0.5, "eps1": 1e-30, "eps2": 1e-3, "d": 1.2, "weight_decay": 0.1},
        {"lr": 0.1, "beta2_decay": -0.5, "eps": (1e-30, 1e-3), "d": 1.2, "weight_decay": 0.1},
        _state("variance"),
    ),
]


@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("name, update, hyper, torch_kwargs, initial_state", UPDATES, ids=[row[0] for row in UPDATES])
def test_update_function_alone_matches_torch_and_leaves_grad_alone(
    name, update, hyper, torch_kwargs, initial_state, maximize
):
    """A notebook can call the pure function on plain tensors and a plain dict."""
    param = torch.tensor([1.0, -2.0, 3.0], dtype=F64)
    grads = [
        torch.tensor(g, dtype=F64) for g in ([0.5, 0.25, -1.0], [0.1, -0.3, 0.7], [-0.2, 0.4, 0.0], [0.3, 0.3, 0.3])
    ]
    reference = torch.nn.Parameter(param.clone())
    torch_opt = OPTIMIZERS[name][1]([reference], foreach=False, maximize=maximize, **torch_kwargs)
    state = initial_state(param)
    for step, grad in enumerate(grads, 1):
        grad_before = grad.clone()
        update(param, grad, state, maximize=maximize, **hyper)
        assert torch.equal(grad, grad_before), f"step {step}: the update function modified grad"
        reference.grad = grad.clone()
        torch_opt.step()
        torch.testing.assert_close(
            param, reference.detach(), **EXACT, msg=lambda m, step=step: f"step {step}, param: {m}"
        )
        for key, value in torch_opt.state[reference].items():
            torch.testing.assert_close(
                state[key],
                value,
                **EXACT,
                check_dtype=False,
                msg=lambda m, key=key, step=step: f"step {step}, {key}: {m}",
            )


@pytest.mark.parametrize("update", [row[1] for row in UPDATES], ids=[row[0] for row in UPDATES])
def test_update_function_fits_on_one_screen(update):
    lines = inspect.getsource(update).splitlines()
    assert len(lines) <= 50, f"{update.__name__} is {len(lines)} lines long"
    assert update.__doc__ and "::" in update.__doc__, "the docstring should give the update rule as pseudocode"


MODULES = ["nadam", "radam", "adamax", "adadelta", "asgd", "rprop", "adafactor"]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_print_what_they_claim(module):
    result = doctest.testmod(
        importlib.import_module(f"myoptim_helpers.optim.{module}"), optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0, result


# ---------------------------------------------------------------- Adafactor's shapes and dtypes


@pytest.mark.parametrize("eps", [(None, 1e-3), (1e-20, 1e-3)], ids=["eps1 None", "eps1 set"])
def test_adafactor_factors_the_last_two_dimensions_and_takes_eps1_from_the_first_param(eps):
    """A 3-D tensor is factored over its last two dimensions, a 0-dim one is not; with eps1=None
    torch takes the machine epsilon of the group's *first* parameter for every parameter of it."""
    runs = {}
    for which, cls in zip(("ours", "torch"), OPTIMIZERS["Adafactor"]):
        g = torch.Generator().manual_seed(5)
        shapes = {"w3": ((2, 3, 4), torch.float32), "s": ((), torch.float64), "m": ((3, 2), torch.float64)}
        params = {k: torch.nn.Parameter(torch.randn(shape, generator=g, dtype=dt)) for k, (shape, dt) in shapes.items()}
        opt = cls(list(params.values()), eps=eps, **({"foreach": False} if which == "torch" else {}))
        for step in range(6):
            opt.zero_grad()
            loss = sum(
                ((p.double() * (step + 1)) ** 2).sum() * 1e-12 for p in params.values()
            )  # tiny grads: eps1 matters
            loss.backward()
            opt.step()
        runs[which] = (opt, params)
    (opt, params), (ref_opt, ref_params) = runs["ours"], runs["torch"]
    assert opt.state[params["w3"]]["row_var"].shape == (2, 3, 1)
    assert opt.state[params["w3"]]["col_var"].shape == (2, 1, 4)
    assert "variance" in opt.state[params["s"]]
    for key, p in params.items():
        torch.testing.assert_close(p, ref_params[key], **EXACT)
        for k, v in ref_opt.state[ref_params[key]].items():
            torch.testing.assert_close(opt.state[p][k], v, **EXACT)
