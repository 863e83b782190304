"""The training-loop doctor: every broken loop of the table is diagnosed with the right kind
and the line to change; every correct loop gets no warning at all (a false alarm is a bug).

Each loop is a plain function ``loop(model, optimizer, scheduler, scaler, batches)``, the way a
learner writes one; the table says which problem (if any) it has and which line to change.
"""

import math

import pytest
import torch
from torch import nn
from torch.nn.utils import clip_grad_norm_

from myoptim_helpers import doctor
from myoptim_helpers.production import EMA

F = nn.functional
K = 4  # micro-batches per optimizer step in the accumulation loops


def make_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))


def make_batches(n=8, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(6, 3, generator=g), torch.randn(6, 1, generator=g)) for _ in range(n)]


# --------------------------------------------------------------------------- correct loops


def plain(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()


def zero_grad_last(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        F.mse_loss(model(x), y).backward()
        optimizer.step()
        optimizer.zero_grad()


def model_zero_grad_keep_zeros(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        model.zero_grad(set_to_none=False)
        F.mse_loss(model(x), y).backward()
        optimizer.step()


def with_scheduler(model, optimizer, scheduler, scaler, batches):
    for _epoch in range(2):
        for x, y in batches:
            optimizer.zero_grad()
            F.mse_loss(model(x), y).backward()
            optimizer.step()
        scheduler.step()


def clip_then_step(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        clip_grad_norm_(model.parameters(), max_norm=0.5)
        optimizer.step()


def clip_value_then_step(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        nn.utils.clip_grad_value_(model.parameters(), 0.1)
        optimizer.step()


def accumulate_divided(model, optimizer, scheduler, scaler, batches):
    optimizer.zero_grad()
    for i, (x, y) in enumerate(batches):
        loss = F.mse_loss(model(x), y) / K
        loss.backward()
        if (i + 1) % K == 0:
            clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()


def accumulate_sum_over_all(model, optimizer, scheduler, scaler, batches):
    total = sum(len(x) for x, _ in batches[:K])
    for i, (x, y) in enumerate(batches):
        F.mse_loss(model(x), y, reduction="sum").div(total).backward()
        if (i + 1) % K == 0:
            optimizer.step()
            optimizer.zero_grad(set_to_none=False)


def amp_full_order(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.mse_loss(model(x), y)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()


def amp_accumulate(model, optimizer, scheduler, scaler, batches):
    for i, (x, y) in enumerate(batches):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = F.mse_loss(model(x), y) / K
        scaler.scale(loss).backward()
        if (i + 1) % K == 0:
            scaler.unscale_(optimizer)
            clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad()


def amp_no_clip(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        optimizer.zero_grad()
        scaler.scale(F.mse_loss(model(x), y)).backward()
        scaler.step(optimizer)
        scaler.update()


def amp_skipped_first_step(model, optimizer, scheduler, scaler, batches):
    """An inf gradient makes scaler.step skip optimizer.step; scheduler.step still follows."""
    for i, (x, y) in enumerate(batches):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        scaler.scale(loss * (math.inf if i == 0 else 1.0)).backward()
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()


def frozen_with_none_grads(model, optimizer, scheduler, scaler, batches):
    model[0].weight.requires_grad_(False)
    for x, y in batches:
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()


def freeze_midway_set_to_none(model, optimizer, scheduler, scaler, batches):
    for i, (x, y) in enumerate(batches):
        if i == 3:
            model[0].requires_grad_(False)
        optimizer.zero_grad()  # set_to_none=True: the frozen layer's grads become None
        F.mse_loss(model(x), y).backward()
        optimizer.step()


def with_ema(model, optimizer, scheduler, scaler, batches):
    ema = EMA(model, decay=0.9)
    for x, y in batches:
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
        ema.update_parameters(model)


def with_swa(model, optimizer, scheduler, scaler, batches):
    swa_model = torch.optim.swa_utils.AveragedModel(model)
    for x, y in batches:
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
        swa_model.update_parameters(model)
        scheduler.step()


def with_closure(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:

        def closure(x=x, y=y):
            optimizer.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            return loss

        optimizer.step(closure)


def grads_divided_in_place(model, optimizer, scheduler, scaler, batches):
    for i, (x, y) in enumerate(batches):
        F.mse_loss(model(x), y).backward()
        if (i + 1) % K == 0:
            for p in model.parameters():
                p.grad /= K
            optimizer.step()
            optimizer.zero_grad()


def autograd_backward_then_clip(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        optimizer.zero_grad()
        torch.autograd.backward(F.mse_loss(model(x), y))
        clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()


def plateau_after_epoch(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step(loss.item())


# --------------------------------------------------------------------------- broken loops


def never_cleared(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        F.mse_loss(model(x), y).backward()
        optimizer.step()


def zero_grad_between(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        F.mse_loss(model(x), y).backward()
        optimizer.zero_grad()
        optimizer.step()


def step_first(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        optimizer.zero_grad()
        optimizer.step()
        F.mse_loss(model(x), y).backward()


def head_missing(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()


def frozen_zeros_moved(model, optimizer, scheduler, scaler, batches):
    for i, (x, y) in enumerate(batches):
        if i == 3:
            model[0].requires_grad_(False)
        optimizer.zero_grad(set_to_none=False)
        F.mse_loss(model(x), y).backward()
        optimizer.step()


def scheduler_first(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        scheduler.step()
        optimizer.step()


def clip_after(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
        clip_grad_norm_(model.parameters(), max_norm=0.5)


def amp_clip_scaled(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.mse_loss(model(x), y)
        scaler.scale(loss).backward()
        clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()


def accumulate_not_divided(model, optimizer, scheduler, scaler, batches):
    for i, (x, y) in enumerate(batches):
        F.mse_loss(model(x), y).backward()
        if (i + 1) % K == 0:
            optimizer.step()
            optimizer.zero_grad()


def amp_accumulate_not_divided(model, optimizer, scheduler, scaler, batches):
    for i, (x, y) in enumerate(batches):
        scaler.scale(F.mse_loss(model(x), y)).backward()
        if (i + 1) % K == 0:
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad()


def diverging(model, optimizer, scheduler, scaler, batches):
    for x, y in batches * 4:
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()


def model_zero_grad_between(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        loss = F.mse_loss(model(x), y)
        loss.backward()
        model.zero_grad()
        optimizer.step()


def clip_value_after(model, optimizer, scheduler, scaler, batches):
    for x, y in batches:
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
        for p in model.parameters():
            p.grad.clamp_(-0.1, 0.1)


# --------------------------------------------------------------------------- the table


def sgd(model, **kw):
    return torch.optim.SGD(model.parameters(), lr=0.05, **kw)


def adam(model, **kw):
    return torch.optim.Adam(model.parameters(), lr=0.01, **kw)


def no_scheduler(opt):
    return None


def step_lr(opt):
    return torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.9)


def plateau(opt):
    return torch.optim.lr_scheduler.ReduceLROnPlateau(opt)


def scaler_on(_):
    return torch.amp.GradScaler("cpu")


def scaler_off(_):
    return None


CORRECT = [
    # (loop, make optimizer, make scheduler, make scaler)
    (plain, sgd, no_scheduler, scaler_off),
    (plain, lambda m: adam(m, weight_decay=0.1), no_scheduler, scaler_off),
    (zero_grad_last, lambda m: sgd(m, momentum=0.9), no_scheduler, scaler_off),
    (model_zero_grad_keep_zeros, lambda m: sgd(m, momentum=0.9, weight_decay=0.01), no_scheduler, scaler_off),
    (with_scheduler, sgd, step_lr, scaler_off),
    (clip_then_step, adam, no_scheduler, scaler_off),
    (clip_value_then_step, sgd, no_scheduler, scaler_off),
    (accumulate_divided, lambda m: sgd(m, momentum=0.9), step_lr, scaler_off),
    (accumulate_sum_over_all, adam, no_scheduler, scaler_off),
    (amp_full_order, adam, step_lr, scaler_on),
    (amp_accumulate, sgd, no_scheduler, scaler_on),
    (amp_no_clip, sgd, no_scheduler, scaler_on),
    (amp_skipped_first_step, sgd, step_lr, scaler_on),
    (frozen_with_none_grads, lambda m: adam(m, weight_decay=0.1), no_scheduler, scaler_off),
    (freeze_midway_set_to_none, lambda m: torch.optim.AdamW(m.parameters(), lr=0.01), no_scheduler, scaler_off),
    (with_ema, sgd, no_scheduler, scaler_off),
    (with_swa, sgd, lambda o: torch.optim.swa_utils.SWALR(o, swa_lr=0.01, anneal_epochs=2), scaler_off),
    (with_closure, lambda m: torch.optim.LBFGS(m.parameters(), lr=0.1, max_iter=3), no_scheduler, scaler_off),
    (grads_divided_in_place, sgd, no_scheduler, scaler_off),
    (plateau_after_epoch, sgd, plateau, scaler_off),
    (autograd_backward_then_clip, lambda m: sgd(m, momentum=0.9), no_scheduler, scaler_off),
]

BROKEN = [
    # (loop, make optimizer, make scheduler, make scaler, kind, text of the line to change)
    (never_cleared, sgd, no_scheduler, scaler_off, "grads_not_cleared", "optimizer.step()"),
    (zero_grad_between, sgd, no_scheduler, scaler_off, "zero_grad_before_step", "optimizer.zero_grad()"),
    (model_zero_grad_between, adam, no_scheduler, scaler_off, "zero_grad_before_step", "model.zero_grad()"),
    (step_first, sgd, no_scheduler, scaler_off, "step_before_backward", "optimizer.step()"),
    (
        head_missing,
        lambda m: torch.optim.SGD(m[0].parameters(), lr=0.05),
        no_scheduler,
        scaler_off,
        "params_not_in_optimizer",
        "optimizer.step()",
    ),
    (
        frozen_zeros_moved,
        lambda m: sgd(m, momentum=0.9),
        no_scheduler,
        scaler_off,
        "frozen_params_moved",
        "optimizer.step()",
    ),
    (
        frozen_zeros_moved,
        lambda m: torch.optim.AdamW(m.parameters(), lr=0.01),
        no_scheduler,
        scaler_off,
        "frozen_params_moved",
        "optimizer.step()",
    ),
    (scheduler_first, sgd, step_lr, scaler_off, "scheduler_before_optimizer", "scheduler.step()"),
    (clip_after, sgd, no_scheduler, scaler_off, "clip_after_step", "clip_grad_norm_"),
    (clip_value_after, sgd, no_scheduler, scaler_off, "clip_after_step", "p.grad.clamp_(-0.1, 0.1)"),
    (amp_clip_scaled, sgd, no_scheduler, scaler_on, "clip_before_unscale", "clip_grad_norm_"),
    (accumulate_not_divided, sgd, no_scheduler, scaler_off, "loss_not_divided", ".backward()"),
    (amp_accumulate_not_divided, sgd, no_scheduler, scaler_on, "loss_not_divided", "scaler.scale("),
    (diverging, lambda m: torch.optim.SGD(m.parameters(), lr=3.0), no_scheduler, scaler_off, "lr_diverges", ""),
]


def run(loop, make_optimizer, make_scheduler, make_scaler, *, seed=0):
    model = make_model(seed)
    optimizer = make_optimizer(model)
    scheduler = make_scheduler(optimizer)
    scaler = make_scaler(optimizer)
    batches = make_batches()
    with doctor.watch(model, optimizer, scheduler=scheduler, scaler=scaler, verbose=False) as report:
        loop(model, optimizer, scheduler, scaler, batches)
    return report


@pytest.mark.parametrize(
    "loop, make_optimizer, make_scheduler, make_scaler", CORRECT, ids=[c[0].__name__ for c in CORRECT]
)
def test_a_correct_loop_gets_no_warning(loop, make_optimizer, make_scheduler, make_scaler, recwarn):
    report = run(loop, make_optimizer, make_scheduler, make_scaler)
    assert report.problems == [], str(report)
    assert report.steps > 0 and report.backwards > 0
    assert str(report).startswith("doctor: no problem found")


@pytest.mark.parametrize(
    "loop, make_optimizer, make_scheduler, make_scaler, kind, line",
    BROKEN,
    ids=[f"{c[0].__name__}-{c[4]}" for c in BROKEN],
)
def test_a_broken_loop_is_diagnosed_with_the_line_to_change(
    loop, make_optimizer, make_scheduler, make_scaler, kind, line, recwarn
):
    report = run(loop, make_optimizer, make_scheduler, make_scaler)
    assert report.kinds == [kind], str(report)
    problem = report.problems[0]
    assert problem.where.startswith("test_doctor.py line ") and f"in `{loop.__name__}`" in problem.where
    assert line in problem.where, problem.where
    assert doctor.KINDS[kind] in str(report)


def test_every_kind_is_in_the_table():
    assert {row[4] for row in BROKEN} == set(doctor.KINDS)


def test_the_loop_is_left_unchanged_and_the_hooks_removed():
    """A watched loop computes exactly what the unwatched one does; afterwards nothing is left behind."""
    results = []
    for watched in (False, True):
        model = make_model()
        optimizer = adam(model)
        scheduler = step_lr(optimizer)
        scaler = scaler_on(optimizer)
        if watched:
            with doctor.watch(model, optimizer, scheduler, scaler, verbose=False):
                amp_full_order(model, optimizer, scheduler, scaler, make_batches())
        else:
            amp_full_order(model, optimizer, scheduler, scaler, make_batches())
        results.append([p.detach().clone() for p in model.parameters()])
        leftovers = [
            name
            for obj, name in [
                (optimizer, "zero_grad"),
                (model, "zero_grad"),
                (scheduler, "step"),
                (scaler, "unscale_"),
                (scaler, "step"),
            ]
            if name in vars(obj)
        ]
        assert leftovers == []
        assert not optimizer._optimizer_step_pre_hooks and not optimizer._optimizer_step_post_hooks
        assert all(
            not p._backward_hooks and not getattr(p, "_post_accumulate_grad_hooks", None) for p in model.parameters()
        )
    assert all(torch.equal(a, b) for a, b in zip(*results))


def test_the_report_prints_on_exit_and_an_error_in_the_loop_propagates(capsys):
    model = make_model()
    optimizer = sgd(model)
    with pytest.raises(ZeroDivisionError), doctor.watch(model, optimizer):
        raise ZeroDivisionError
    assert not optimizer._optimizer_step_pre_hooks
    with doctor.watch(model, optimizer):
        never_cleared(model, optimizer, None, None, make_batches())
    out = capsys.readouterr().out
    assert out.startswith("doctor: 1 problem found (8 optimizer steps, 8 backward passes watched):")
    assert "call optimizer.zero_grad() once per optimizer step" in out


def test_bad_arguments_get_a_clear_message():
    with pytest.raises(TypeError, match="needs the optimizer"), doctor.watch(make_model(), make_model()):
        pass
    with pytest.raises(TypeError, match="needs the model"), doctor.watch(torch.zeros(2), None):
        pass
