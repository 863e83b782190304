"""Clipping, EMA and checkpoints of ``myoptim_helpers.production`` against torch's, at every step."""

import io
import random
import warnings

import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from myoptim_helpers import production

INF = float("inf")
DTYPES = [(torch.float64,), (torch.float32,), (torch.float32, torch.float64, torch.float32)]
SHAPES = [(3, 4), (), (5,), (0,)]


def make_params(dtypes, scale=10.0, seed=0, none_at=None, shapes=SHAPES):
    g = torch.Generator().manual_seed(seed)
    params = []
    for i, shape in enumerate(shapes):
        dtype = dtypes[i % len(dtypes)]
        p = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype).requires_grad_()
        if i != none_at:
            p.grad = (scale * torch.randn(shape, generator=g, dtype=torch.float64)).to(dtype)
        params.append(p)
    return params


def twin(params):
    out = []
    for p in params:
        q = p.detach().clone().requires_grad_()
        q.grad = None if p.grad is None else p.grad.clone()
        out.append(q)
    return out


@pytest.mark.parametrize("dtypes", DTYPES)
@pytest.mark.parametrize("norm_type", [2.0, 1.0, INF, 3.0, 0.5])
@pytest.mark.parametrize("max_norm", [0.1, 1e6])
@pytest.mark.parametrize("none_at", [None, 0])
@pytest.mark.parametrize("with_empty", [True, False])
def test_clip_grad_norm_is_torchs(dtypes, norm_type, max_norm, none_at, with_empty):
    ours = make_params(dtypes, none_at=none_at, shapes=SHAPES if with_empty else SHAPES[:3])
    theirs = twin(ours)
    try:
        expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type, foreach=False)
    except RuntimeError as e:  # the inf norm of the empty gradient: the same error from ours
        with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor"):
            production.clip_grad_norm_(ours, max_norm, norm_type)
        assert "empty tensor" in str(e)
        return
    total = production.clip_grad_norm_(ours, max_norm, norm_type)
    assert total.dtype == expected.dtype and torch.equal(total, expected)
    for p, q in zip(ours, theirs):
        assert (p.grad is None) == (q.grad is None)
        if p.grad is not None:
            assert torch.equal(p.grad, q.grad)


def test_clip_grad_norm_edge_cases_are_torchs():
    assert torch.equal(production.clip_grad_norm_([], 1.0), torch.nn.utils.clip_grad_norm_([], 1.0))
    p = torch.ones(3, requires_grad=True)
    p.grad = torch.full((3,), 4.0)
    q = twin([p])[0]
    assert torch.equal(production.clip_grad_norm_(p, 1.0), torch.nn.utils.clip_grad_norm_(q, 1.0))
    assert torch.equal(p.grad, q.grad)
    with pytest.warns(UserWarning, match="empty generator"):
        production.clip_grad_norm_((x for x in []), 1.0)
    # a generator is used once, not exhausted by the norm before the scaling
    r = twin([p])[0]
    r.grad = torch.full((3,), 4.0)
    production.clip_grad_norm_((x for x in [r]), 1.0)
    assert r.grad.norm() < 1.0 + 1e-6


@pytest.mark.parametrize("bad", [INF, float("nan")])
def test_error_if_nonfinite_raises_torchs_error(bad):
    ours = make_params((torch.float32,))
    ours[0].grad[0, 0] = bad
    theirs = twin(ours)
    with pytest.raises(RuntimeError) as expected:
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as got:
        production.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    assert str(got.value) == str(expected.value)
    # without the flag, both scale by the non-finite norm alike
    ours = make_params((torch.float32,))
    ours[0].grad[0, 0] = bad
    theirs = twin(ours)
    got, expected = production.clip_grad_norm_(ours, 1.0), torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert torch.equal(got, expected) or (got.isnan() and expected.isnan())
    for p, q in zip(ours, theirs):
        assert torch.equal(p.grad.isnan(), q.grad.isnan())


@pytest.mark.parametrize("dtypes", DTYPES)
@pytest.mark.parametrize("clip_value", [0.5, 3, 1e9])
def test_clip_grad_value_is_torchs(dtypes, clip_value):
    ours = make_params(dtypes, none_at=2)
    theirs = twin(ours)
    assert production.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value, foreach=False)
    for p, q in zip(ours, theirs):
        assert (p.grad is None and q.grad is None) or torch.equal(p.grad, q.grad)


def bn_model(dtype, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 1)).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("decay", [0.9, 0.999, 0.0, 1.0])
def test_ema_is_averaged_model_with_get_ema_multi_avg_fn(dtype, decay):
    model = bn_model(dtype)
    ours = production.EMA(model, decay=decay)
    theirs = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    g = torch.Generator().manual_seed(1)
    for step in range(8):
        x = torch.randn(7, 3, generator=g, dtype=torch.float64).to(dtype)
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
        ours.update_parameters(model)
        theirs.update_parameters(model)
        a, b = ours.state_dict(), theirs.state_dict()
        assert list(a) == list(b)
        for key in a:
            assert torch.equal(a[key], b[key]), (step, key)
        assert torch.equal(ours(x), theirs(x))


def test_ema_rejects_a_bad_decay_with_torchs_message():
    for decay in (-0.1, 1.5):
        with pytest.raises(ValueError) as expected:
            get_ema_multi_avg_fn(decay)
        with pytest.raises(ValueError) as got:
            production.EMA(nn.Linear(1, 1), decay=decay)
        assert str(got.value) == str(expected.value)


# --------------------------------------------------------------------------- checkpoints


def train_epoch(model, optimizer, scheduler, scaler, ema, x, y):
    """One epoch of shuffled minibatches with dropout: uses torch's RNG and Python's."""
    losses = []
    order = torch.randperm(len(x))
    for batch in order.split(4):
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=scaler.is_enabled()):
            loss = nn.functional.mse_loss(model(x[batch]), y[batch])
        scaler.scale(loss + 0.0 * random.random()).backward()
        scaler.step(optimizer)
        scaler.update()
        ema.update_parameters(model)
        losses.append(loss.item())
    scheduler.step()
    return losses


def build(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 16), nn.Dropout(0.2), nn.ReLU(), nn.Linear(16, 1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, total_steps=6)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8, growth_interval=2)
    ema = production.EMA(model, decay=0.9)
    return model, optimizer, scheduler, scaler, ema


def test_a_checkpoint_resumes_with_identical_losses():
    g = torch.Generator().manual_seed(5)
    x, y = torch.randn(24, 3, generator=g), torch.randn(24, 1, generator=g)
    torch.manual_seed(1)
    random.seed(1)
    parts = build()
    uninterrupted = [train_epoch(*parts, x, y) for _ in range(6)]

    torch.manual_seed(1)
    random.seed(1)
    parts = build()
    first = [train_epoch(*parts, x, y) for _ in range(3)]
    buffer = io.BytesIO()
    model, optimizer, scheduler, scaler, ema = parts
    production.save_checkpoint(
        buffer, model=model, optimizer=optimizer, scheduler=scheduler, scaler=scaler, ema=ema, epoch=3
    )
    torch.manual_seed(99)  # the "new process" has another RNG state and other weights
    random.seed(99)
    parts = build(seed=7)
    model, optimizer, scheduler, scaler, ema = parts
    buffer.seek(0)
    epoch = production.load_checkpoint(
        buffer, model=model, optimizer=optimizer, scheduler=scheduler, scaler=scaler, ema=ema
    )
    assert epoch == 3
    rest = [train_epoch(*parts, x, y) for _ in range(epoch, 6)]
    assert first + rest == uninterrupted
    assert scaler.get_scale() != 2.0**8  # the scale moved, and was restored


def test_a_checkpoint_loads_with_weights_only_and_says_what_is_missing():
    model, optimizer, scheduler, _, _ = build()
    buffer = io.BytesIO()
    production.save_checkpoint(buffer, model=model, optimizer=optimizer, epoch=0)
    buffer.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.load(buffer, weights_only=True)
    buffer.seek(0)
    with pytest.raises(KeyError, match="holds no 'scheduler' state"):
        production.load_checkpoint(buffer, model=model, optimizer=optimizer, scheduler=scheduler)
