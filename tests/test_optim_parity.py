"""Our optimizers against torch.optim, step by step, on the same model.

Every row of ``CASES`` runs for 24 steps in float64 and float32 beside torch's
optimizer with ``foreach=False`` (the single-tensor code ours mirrors), with
torch's default choice, and with ``foreach=True``. After every step every
parameter and every state tensor must agree: float64 within 1e-12, float32
within 1e-5.

``COMPLEX_CASES`` run the same way with complex128 and complex64 parameters
(held to the float64 and float32 tolerances), ``SPARSE_CASES`` on an embedding
model whose gradients are sparse.

Because ours runs the same kernels in the same order as torch's single-tensor
code, it is in fact bitwise equal to ``foreach=False``; a separate test holds it
to that, so a change in the order of operations shows even where it stays
inside the tolerances.
"""

import pytest
import torch
from optim_cases import (
    CASES,
    COMPLEX_CASES,
    COMPLEX_DTYPES,
    OPTIMIZERS,
    SPARSE_CASES,
    TOLERANCES,
    assert_same,
    batches,
    case_id,
    initial_values,
    make_params,
    param_groups,
    sparse_batches,
    sparse_initial_values,
    sparse_param_groups,
    sparse_train_step,
    torch_foreach_split,
    train_step,
)

STEPS = 24

REFERENCES = {
    "torch foreach=False": {"foreach": False},
    "torch default": {},
    "torch foreach=True": {"foreach": True},
}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("reference", list(REFERENCES))
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_torch_at_every_step(case, reference, dtype):
    run_beside_torch(case, reference, dtype)


def run_beside_torch(case, reference, dtype, exact=False):
    """Train ours and torch's optimizer side by side on the same model; compare after every step."""
    name, kwargs, _ = case
    split = torch_foreach_split(case, reference, dtype)
    if split:
        pytest.skip(f"torch disagrees with itself here: {split}")
    ours_cls, torch_cls = OPTIMIZERS[name]
    values, data = initial_values(dtype), batches(dtype, STEPS)

    ours_params, ref_params = make_params(values), make_params(values)
    ours_opt = ours_cls(param_groups(name, kwargs, ours_params), **kwargs)
    try:
        ref_opt = torch_cls(param_groups(name, kwargs, ref_params), **kwargs, **REFERENCES[reference])
    except ValueError as error:  # e.g. a tensor lr with foreach=True
        pytest.skip(f"{reference} refuses these arguments: {error}")

    tol = {"atol": 0.0, "rtol": 0.0} if exact else TOLERANCES[dtype]
    assert_same(ours_opt, ours_params, ref_opt, ref_params, tol, "before the first step")
    for step, batch in enumerate(data):
        ours_loss = train_step(ours_opt, ours_params, batch, step)
        ref_loss = train_step(ref_opt, ref_params, batch, step)
        where = f"{case_id(case)} vs {reference}, {dtype}, after step {step + 1}"
        if exact:
            where += " (bitwise: is torch's order of operations kept?)"
        torch.testing.assert_close(ours_loss, ref_loss, **tol, msg=lambda m, where=where: f"{where}, loss: {m}")
        assert_same(ours_opt, ours_params, ref_opt, ref_params, tol, where)


def test_every_step_is_compared_and_the_model_moves():
    """Guard the harness itself: over the run the parameters really change, and the
    'sometimes' and 'never' parameters get and miss their gradients as intended."""
    name, kwargs = "Adam", {"lr": 0.01}
    values, data = initial_values(torch.float64), batches(torch.float64, STEPS)
    params = make_params(values)
    opt = OPTIMIZERS[name][0](param_groups(name, kwargs, params), **kwargs)
    seen_grad = {"sometimes": [], "never": []}
    for step, batch in enumerate(data):
        train_step(opt, params, batch, step)
        for n in seen_grad:
            seen_grad[n].append(params[n].grad is not None)
    assert seen_grad["never"] == [False] * STEPS
    assert seen_grad["sometimes"] == [step % 3 != 1 for step in range(STEPS)]
    for n in ("w1", "b1", "w2", "sometimes"):
        assert not torch.equal(params[n].detach(), values[n]), f"{n} did not move"
    assert torch.equal(params["never"].detach(), values["never"])
    assert opt.state[params["sometimes"]]["step"].item() == sum(seen_grad["sometimes"])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_bitwise_equal_to_torch_single_tensor(case, dtype):
    run_beside_torch(case, "torch foreach=False", dtype, exact=True)


# ---------------------------------------------------------------- complex parameters, sparse gradients


@pytest.mark.parametrize("dtype", list(COMPLEX_DTYPES.values()), ids=list(COMPLEX_DTYPES))
@pytest.mark.parametrize("reference", list(REFERENCES))
@pytest.mark.parametrize("case", COMPLEX_CASES, ids=case_id)
def test_complex_parameters_match_torch_at_every_step(case, reference, dtype):
    run_beside_torch(case, reference, dtype)


@pytest.mark.parametrize("dtype", list(COMPLEX_DTYPES.values()), ids=list(COMPLEX_DTYPES))
@pytest.mark.parametrize("case", COMPLEX_CASES, ids=case_id)
def test_complex_parameters_bitwise_equal_to_torch_single_tensor(case, dtype):
    run_beside_torch(case, "torch foreach=False", dtype, exact=True)


def test_the_complex_model_is_complex_and_moves():
    """Guard the harness: the complex rows really train complex parameters, imaginary parts included."""
    values = initial_values(torch.complex128)
    params = make_params(values)
    opt = OPTIMIZERS["Adam"][0](param_groups("Adam", {}, params), lr=0.01)
    for step, batch in enumerate(batches(torch.complex128, 3)):
        loss = train_step(opt, params, batch, step)
        assert not loss.is_complex()
    for n in ("w1", "b1", "w2", "sometimes"):
        assert params[n].is_complex()
        moved = params[n].detach() - values[n]
        assert moved.real.abs().min() > 0 and moved.imag.abs().min() > 0, f"{n}: a part did not move"


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("reference", list(REFERENCES))
@pytest.mark.parametrize("case", SPARSE_CASES, ids=case_id)
def test_sparse_gradients_match_torch_at_every_step(case, reference, dtype):
    name, kwargs, _ = case
    ours_cls, torch_cls = OPTIMIZERS[name]
    values = sparse_initial_values(dtype)
    ours_params, ref_params = make_params(values), make_params(values)
    ours_opt = ours_cls(sparse_param_groups(name, kwargs, ours_params), **kwargs)
    try:
        ref_opt = torch_cls(sparse_param_groups(name, kwargs, ref_params), **kwargs, **REFERENCES[reference])
    except ValueError as error:
        pytest.skip(f"{reference} refuses these arguments: {error}")
    for step, batch in enumerate(sparse_batches(dtype, STEPS)):
        sparse_train_step(ours_opt, ours_params, batch)
        sparse_train_step(ref_opt, ref_params, batch)
        assert ours_params["emb"].grad.is_sparse and not ours_params["head"].grad.is_sparse
        where = f"{case_id(case)} vs {reference}, {dtype}, sparse gradients, after step {step + 1}"
        # a sparse momentum_buffer is compared as torch keeps it: same indices, same values
        assert_same(ours_opt, ours_params, ref_opt, ref_params, TOLERANCES[dtype], where)


def _comparable(kwargs):
    """Return kwargs with tensors as plain numbers, so that two configurations compare with ==."""
    return {k: v.tolist() if torch.is_tensor(v) else v for k, v in kwargs.items()}


def _torch_optimizer_infos():
    """Return torch's own test metadata (OptimizerInfo) for the optimizers of these tables, by name."""
    import torch.testing._internal.common_optimizers as common_optimizers  # needs expecttest (requirements.txt)

    names = {row[0] for row in COMPLEX_CASES}
    return {info.optim_cls.__name__: info for info in common_optimizers.optim_db if info.optim_cls.__name__ in names}


def test_complex_and_sparse_rows_cover_torchs_own_test_configurations():
    """Every CPU configuration torch tests complex parameters with is a row; sparse rows exist exactly
    where torch supports sparse gradients, torch's own sparse configuration among them."""
    infos = _torch_optimizer_infos()
    assert set(infos) == {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"}
    sparse_names = {row[0] for row in SPARSE_CASES}
    for name, info in infos.items():
        assert info.supports_complex, f"torch no longer supports complex {name}: drop its COMPLEX_CASES rows"
        rows = [_comparable(kwargs) for row_name, kwargs, _ in COMPLEX_CASES if row_name == name]
        for optim_input in info.optim_inputs_func("cpu", torch.float64):
            assert _comparable(optim_input.kwargs) in rows, f"{name}: torch's {optim_input.desc!r} config has no row"
        assert info.supports_sparse == (name in sparse_names), name
        if info.supports_sparse:
            sparse_kwargs, _ = info.metadata_for_sparse
            rows = [kwargs for row_name, kwargs, _ in SPARSE_CASES if row_name == name]
            defaults = OPTIMIZERS[name][1]([torch.zeros(1, requires_grad=True)]).defaults
            expected = _comparable({**defaults, **sparse_kwargs})
            assert expected in [_comparable({**defaults, **kwargs}) for kwargs in rows], name


@pytest.mark.parametrize("dtype", list(COMPLEX_DTYPES.values()), ids=list(COMPLEX_DTYPES))
@pytest.mark.parametrize("case", SPARSE_CASES, ids=case_id)
def test_sparse_complex_gradients_match_torch_at_every_step(case, dtype):
    """Sparse gradients of a complex parameter, set by hand (embedding cannot backpropagate complex)."""
    name, kwargs, _ = case
    g = torch.Generator().manual_seed(0)
    rows = [torch.randint(0, 5, (1, 6), generator=g) for _ in range(STEPS)]  # repeated rows included
    grads = [torch.sparse_coo_tensor(r, torch.randn(6, 2, generator=g, dtype=dtype), (5, 2)) for r in rows]
    runs = {}
    for which, cls in zip(("ours", "torch"), OPTIMIZERS[name]):
        params = {"p": torch.nn.Parameter(torch.ones(5, 2, dtype=dtype))}
        extra = {"foreach": False} if which == "torch" else {}
        runs[which] = (cls(list(params.values()), **kwargs, **extra), params)
    for step, grad in enumerate(grads):
        for opt, params in runs.values():
            params["p"].grad = grad.clone()
            opt.step()
        where = f"{case_id(case)}, {dtype}, sparse complex gradients, after step {step + 1}"
        assert_same(*runs["ours"], *runs["torch"], TOLERANCES[dtype], where)
