"""AdamWScheduleFree against the ``schedulefree`` package's, at every step and through train()/eval().

The package's single-tensor path (``foreach=False``) is the reference held to the project's
bar (float64 1e-12, float32 1e-5); its ``foreach=True`` path is checked too.
"""

import copy

import pytest
import schedulefree  # test-only reference, pinned in requirements.txt
import torch

from myoptim_helpers.optim import AdamWScheduleFree

TOL = {torch.float64: {"rtol": 1e-12, "atol": 1e-12}, torch.float32: {"rtol": 1e-5, "atol": 1e-5}}

CASES = [
    {},
    {"lr": 0.05},
    {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-6},
    {"lr": 0.02, "weight_decay": 0.1},
    {"lr": 0.03, "warmup_steps": 5},
    {"lr": 0.03, "warmup_steps": 4, "r": 1.0, "weight_lr_power": 1.0},
    {"lr": 0.01, "weight_lr_power": 0.0, "weight_decay": 0.01, "betas": (0.95, 0.99)},
]


def _params(dtype):
    g = torch.Generator().manual_seed(0)
    shapes = {"w": (4, 3), "b": (4,), "s": (), "never": (2,)}
    return {n: torch.randn(s, generator=g, dtype=torch.float64).to(dtype).requires_grad_() for n, s in shapes.items()}


def _loss(p, step):
    g = torch.Generator().manual_seed(100 + step)
    x = torch.randn(5, 3, generator=g, dtype=torch.float64).to(p["w"].dtype)
    out = torch.tanh(x @ p["w"].T + p["b"]) * p["s"]
    return (out**2).mean() + (torch.randn(4, generator=g, dtype=torch.float64).to(p["w"].dtype) * p["b"]).sum()


def _groups(params, kwargs):
    return [{"params": [params["w"], params["s"]]}, {"params": [params["b"], params["never"]], **kwargs}]


def _train(opt, params, steps, start):
    for step in range(start, start + steps):
        opt.zero_grad()
        _loss(params, step).backward()
        opt.step()


def _same(ours, theirs, tol, where):
    for name in ours:
        torch.testing.assert_close(ours[name], theirs[name], **tol, msg=lambda m, name=name: f"{where}, {name}: {m}")


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("kwargs", CASES, ids=str)
def test_matches_schedulefree_at_every_step(kwargs, dtype, foreach):
    ours_p, ref_p = _params(dtype), _params(dtype)
    ours = AdamWScheduleFree(_groups(ours_p, kwargs), **kwargs)
    ref = schedulefree.AdamWScheduleFree(_groups(ref_p, kwargs), foreach=foreach, **kwargs)
    tol = TOL[dtype]
    for phase in range(3):
        ours.train(), ref.train()
        for step in range(8):
            _train(ours, ours_p, 1, 8 * phase + step)
            _train(ref, ref_p, 1, 8 * phase + step)
            _same(ours_p, ref_p, tol, f"train, step {8 * phase + step}")
            for o, r in zip(ours.param_groups, ref.param_groups):
                for key in ("k", "weight_sum", "lr_max", "scheduled_lr", "train_mode"):
                    assert o[key] == pytest.approx(r[key], rel=1e-12), key
        ours.eval(), ref.eval()
        _same(ours_p, ref_p, tol, f"eval after phase {phase}")
    for name in ("w", "b", "s"):
        for key in ("z", "exp_avg_sq"):
            torch.testing.assert_close(ours.state[ours_p[name]][key], ref.state[ref_p[name]][key], **tol)
    assert ours.state[ours_p["never"]] == {}


def test_eval_then_train_returns_to_the_training_point_and_step_refuses_eval_mode():
    p = _params(torch.float64)
    opt = AdamWScheduleFree(_groups(p, {}), lr=0.05)
    opt.train()
    _train(opt, p, 5, 0)
    y = p["w"].detach().clone()
    opt.eval()
    assert not torch.equal(p["w"], y)  # eval moves the parameter to the average x
    opt.train()
    torch.testing.assert_close(p["w"].detach(), y, rtol=1e-12, atol=1e-12)
    opt.eval()
    with pytest.raises(Exception, match="not in train mode"):
        opt.step()


def test_state_dict_moves_between_ours_and_the_package():
    ours_p, ref_p = _params(torch.float64), _params(torch.float64)
    ours = AdamWScheduleFree(_groups(ours_p, {}), lr=0.02)
    ref = schedulefree.AdamWScheduleFree(_groups(ref_p, {}), lr=0.02, foreach=False)
    ours.train(), ref.train()
    _train(ref, ref_p, 4, 0)
    with torch.no_grad():
        for n in ours_p:
            ours_p[n].copy_(ref_p[n])
    ours.load_state_dict(copy.deepcopy(ref.state_dict()))  # else both would share z and exp_avg_sq
    _train(ours, ours_p, 4, 4)
    _train(ref, ref_p, 4, 4)
    _same(ours_p, ref_p, TOL[torch.float64], "after loading the package's state_dict")
