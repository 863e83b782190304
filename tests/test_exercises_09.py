"""Lesson 09 checkers: each accepts the reference solution and other correct variants, rejects
realistic mistakes with the mistake named, and calls the stub "not attempted".

The answers below are written out as a learner would write them, independently of the
checker's own variants; the expected verdicts are written by hand.
"""

import random

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from myoptim_helpers import production
from myoptim_helpers.exercises import exercises_of, grade

clip = torch.nn.utils.clip_grad_norm_

# --------------------------------------------------------------------------- 09.1 answers


def step_ref(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = clip(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    return norm


def step_ours_clip_and_set_to_none_false(model, optimizer, scaler, micro_batches, max_norm):
    k = len(micro_batches)
    for x, y in micro_batches:
        with torch.autocast(device_type="cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) * (1 / k)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = production.clip_grad_norm_(list(model.parameters()), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=False)
    return norm.item()


def step_divides_scaled(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y)
        (scaler.scale(loss) / len(micro_batches)).backward()
    scaler.unscale_(optimizer)
    norm = clip(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    model.zero_grad()
    return norm


def step_stub(model, optimizer, scaler, micro_batches, max_norm): ...


def step_not_divided(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = clip(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    return norm


def step_clip_before_unscale(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    norm = clip(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    return norm


def step_clip_after_step(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    scaler.step(optimizer)
    norm = clip(model.parameters(), max_norm)
    scaler.update()
    optimizer.zero_grad()
    return norm


def step_no_clip(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    return torch.tensor(0.0)


def step_optimizer_step(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = clip(model.parameters(), max_norm)
    optimizer.step()
    scaler.update()
    optimizer.zero_grad()
    return norm


def step_no_update(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = clip(model.parameters(), max_norm)
    scaler.step(optimizer)
    optimizer.zero_grad()
    return norm


def step_no_zero_grad(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = clip(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    return norm


def step_clip_value(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_value_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    return torch.tensor(max_norm)


def step_bfloat16(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = clip(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    return norm


def step_no_autocast(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = clip(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    return norm


def step_clip_every_micro_batch(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
        norm = clip(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    return norm


def step_returns_norm_after(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip(model.parameters(), max_norm)
    norm = clip(model.parameters(), max_norm)  # the norm after clipping
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    return norm


def step_no_return(model, optimizer, scaler, micro_batches, max_norm):
    step_ref(model, optimizer, scaler, micro_batches, max_norm)


def step_unscaled_backward(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        loss.backward()
    scaler.unscale_(optimizer)
    norm = clip(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    return norm


def step_fixed_max_norm(model, optimizer, scaler, micro_batches, max_norm):
    return step_ref(model, optimizer, scaler, micro_batches, 1.0)  # the lesson's max_norm


def step_own_scaler(model, optimizer, scaler, micro_batches, max_norm):
    own = torch.amp.GradScaler("cpu")  # ignores the scaler it is given
    return step_ref(model, optimizer, own, micro_batches, max_norm)


NOTEBOOK_MODEL = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
NOTEBOOK_OPTIMIZER = torch.optim.SGD(NOTEBOOK_MODEL.parameters(), lr=0.1)
NOTEBOOK_SCALER = torch.amp.GradScaler("cpu")


def step_uses_globals(model, optimizer, scaler, micro_batches, max_norm):
    x, y = torch.randn(8, 2), torch.randint(0, 2, (8,))  # the notebook's batch, not the argument
    return step_ref(NOTEBOOK_MODEL, NOTEBOOK_OPTIMIZER, NOTEBOOK_SCALER, [(x, y)], max_norm)


def step_clips_frozen_too(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    params = [p for group in optimizer.param_groups for p in group["params"]]  # also correct
    norm = clip(params, max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    return norm


# --------------------------------------------------------------------------- 09.2 answers


def ema_ref(averaged, current, decay):
    with torch.no_grad():
        for a, c in zip(averaged, current):
            a.mul_(decay).add_(c, alpha=1 - decay)


def ema_lerp(averaged, current, decay):
    with torch.no_grad():
        for a, c in zip(averaged, current):
            a.lerp_(c, 1 - decay)


def ema_copy(averaged, current, decay):
    for a, c in zip(averaged, current):
        with torch.no_grad():
            a.copy_(decay * a + (1 - decay) * c)


def ema_foreach(averaged, current, decay):
    with torch.no_grad():
        torch._foreach_mul_(averaged, decay)
        torch._foreach_add_(averaged, current, alpha=1 - decay)


def ema_stub(averaged, current, decay):
    pass


def ema_swapped(averaged, current, decay):
    with torch.no_grad():
        for a, c in zip(averaged, current):
            a.mul_(1 - decay).add_(c, alpha=decay)


def ema_rebinds(averaged, current, decay):
    for a, c in zip(averaged, current):
        a = decay * a + (1 - decay) * c  # noqa: PLW2901 (the mistake)


def ema_returns_new(averaged, current, decay):
    return [decay * a.detach() + (1 - decay) * c for a, c in zip(averaged, current)]


def ema_no_decay_on_old(averaged, current, decay):
    with torch.no_grad():
        for a, c in zip(averaged, current):
            a.add_(c, alpha=1 - decay)


def ema_copies_current(averaged, current, decay):
    with torch.no_grad():
        for a, c in zip(averaged, current):
            a.copy_(c)


def ema_no_no_grad(averaged, current, decay):
    for a, c in zip(averaged, current):
        a.mul_(decay).add_(c, alpha=1 - decay)


def ema_updates_current(averaged, current, decay):
    with torch.no_grad():
        for a, c in zip(averaged, current):
            c.mul_(1 - decay).add_(a, alpha=decay)


def ema_first_only(averaged, current, decay):
    with torch.no_grad():
        averaged[0].mul_(decay).add_(current[0], alpha=1 - decay)


def ema_bias_corrected(averaged, current, decay):
    with torch.no_grad():
        for a, c in zip(averaged, current):
            a.mul_(decay).add_(c, alpha=1 - decay).div_(1 - decay)


def ema_current_unweighted(averaged, current, decay):
    with torch.no_grad():
        for a, c in zip(averaged, current):
            a.mul_(decay).add_(c)


def ema_both_decay(averaged, current, decay):
    with torch.no_grad():
        for a, c in zip(averaged, current):
            a.mul_(decay).add_(c, alpha=decay)


def ema_fixed_decay(averaged, current, decay):
    with torch.no_grad():
        for a, c in zip(averaged, current):
            a.mul_(0.95).add_(c, alpha=0.05)


def ema_last_only(averaged, current, decay):
    with torch.no_grad():
        for a, c in zip(averaged, current):
            new = decay * a + (1 - decay) * c
        a.copy_(new)  # one indent too far out: only the last pair is written


def ema_fixed_decay_999(averaged, current, decay):
    with torch.no_grad():
        for a, c in zip(averaged, current):
            a.mul_(0.999).add_(c, alpha=0.001)


def ema_data(averaged, current, decay):
    for a, c in zip(averaged, current):
        a.data = decay * a.data + (1 - decay) * c


# --------------------------------------------------------------------------- 09.3 answers


def resume_ref(checkpoint, model, optimizer, scheduler, scaler, ema):
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    scaler.load_state_dict(checkpoint["scaler"])
    ema.load_state_dict(checkpoint["ema"])
    torch.set_rng_state(checkpoint["rng"]["torch"])
    return checkpoint["epoch"]


def resume_helper(checkpoint, model, optimizer, scheduler, scaler, ema):
    for name, obj in [
        ("ema", ema),
        ("scaler", scaler),
        ("scheduler", scheduler),
        ("optimizer", optimizer),
        ("model", model),
    ]:
        obj.load_state_dict(checkpoint[name])
    production.set_rng_state(checkpoint["rng"])  # torch's and Python's
    return int(checkpoint["epoch"])


def resume_stub(checkpoint, model, optimizer, scheduler, scaler, ema): ...


def _resume_without(*left_out):
    def resume(checkpoint, model, optimizer, scheduler, scaler, ema):
        for name, obj in [
            ("model", model),
            ("optimizer", optimizer),
            ("scheduler", scheduler),
            ("scaler", scaler),
            ("ema", ema),
        ]:
            if name not in left_out:
                obj.load_state_dict(checkpoint[name])
        if "rng" not in left_out:
            torch.set_rng_state(checkpoint["rng"]["torch"])
        return checkpoint["epoch"]

    resume.__name__ = "resume_without_" + "_".join(left_out)
    return resume


def resume_epoch_plus_one(checkpoint, model, optimizer, scheduler, scaler, ema):
    resume_ref(checkpoint, model, optimizer, scheduler, scaler, ema)
    return checkpoint["epoch"] + 1


def resume_returns_nothing(checkpoint, model, optimizer, scheduler, scaler, ema):
    resume_ref(checkpoint, model, optimizer, scheduler, scaler, ema)


def resume_returns_zero(checkpoint, model, optimizer, scheduler, scaler, ema):
    resume_ref(checkpoint, model, optimizer, scheduler, scaler, ema)
    return 0


def resume_seeds_with_epoch(checkpoint, model, optimizer, scheduler, scaler, ema):
    for name, obj in [
        ("model", model),
        ("optimizer", optimizer),
        ("scheduler", scheduler),
        ("scaler", scaler),
        ("ema", ema),
    ]:
        obj.load_state_dict(checkpoint[name])
    torch.manual_seed(checkpoint["epoch"])
    return checkpoint["epoch"]


def resume_rng_dict(checkpoint, model, optimizer, scheduler, scaler, ema):
    model.load_state_dict(checkpoint["model"])
    torch.set_rng_state(checkpoint["rng"])
    return checkpoint["epoch"]


def resume_python_rng_only(checkpoint, model, optimizer, scheduler, scaler, ema):
    for name, obj in [
        ("model", model),
        ("optimizer", optimizer),
        ("scheduler", scheduler),
        ("scaler", scaler),
        ("ema", ema),
    ]:
        obj.load_state_dict(checkpoint[name])
    random.setstate(checkpoint["rng"]["python"])
    return checkpoint["epoch"]


def resume_into_new_optimizer(checkpoint, model, optimizer, scheduler, scaler, ema):
    model.load_state_dict(checkpoint["model"])
    fresh = torch.optim.Adam(model.parameters())  # loads into an optimizer of its own
    fresh.load_state_dict(checkpoint["optimizer"])
    for name, obj in [("scheduler", scheduler), ("scaler", scaler), ("ema", ema)]:
        obj.load_state_dict(checkpoint[name])
    torch.set_rng_state(checkpoint["rng"]["torch"])
    return checkpoint["epoch"]


def resume_epoch_as_float(checkpoint, model, optimizer, scheduler, scaler, ema):
    resume_ref(checkpoint, model, optimizer, scheduler, scaler, ema)
    return str(checkpoint["epoch"])


# --------------------------------------------------------------------------- the table

UNDIVIDED = "not divided by their number"
UNCLIPPED = "the step uses unclipped gradients"

CASES = [
    # (key, answer, status, message fragment)
    ("09.1", step_ref, "correct", "every step matches"),
    ("09.1", step_ours_clip_and_set_to_none_false, "correct", ""),
    ("09.1", step_divides_scaled, "correct", ""),
    ("09.1", step_stub, "not attempted", ""),
    ("09.1", step_not_divided, "incorrect", UNDIVIDED),
    ("09.1", step_clip_before_unscale, "incorrect", "clipped before `scaler.unscale_(optimizer)`"),
    ("09.1", step_clip_after_step, "incorrect", UNCLIPPED),
    ("09.1", step_no_clip, "incorrect", UNCLIPPED),
    ("09.1", step_optimizer_step, "incorrect", "the weights hold inf or NaN after step 1"),
    ("09.1", step_no_update, "incorrect", "scaler.update() is missing"),
    ("09.1", step_no_zero_grad, "incorrect", "the gradients are still there after step 1"),
    ("09.1", step_clip_value, "incorrect", "that is clip_grad_value_"),
    ("09.1", step_bfloat16, "incorrect", "runs under bfloat16"),
    ("09.1", step_no_autocast, "incorrect", "does not run under torch.autocast"),
    ("09.1", step_clip_every_micro_batch, "incorrect", "clipping runs after every micro-batch"),
    ("09.1", step_returns_norm_after, "incorrect", "return what clip_grad_norm_ returned"),
    ("09.1", step_no_return, "incorrect", "returned None: did it forget to `return`"),
    ("09.1", step_unscaled_backward, "error", "Attempted unscale_ but _scale is None"),
    ("09.1", step_clips_frozen_too, "correct", ""),
    ("09.1", step_fixed_max_norm, "incorrect", "to another norm than `max_norm`"),
    ("09.1", step_own_scaler, "incorrect", "the `scaler` you are given"),
    ("09.1", step_uses_globals, "incorrect", "did not change: does your step use the notebook's own objects"),
    ("09.2", ema_ref, "correct", "matches torch's get_ema_multi_avg_fn"),
    ("09.2", ema_lerp, "correct", ""),
    ("09.2", ema_copy, "correct", ""),
    ("09.2", ema_foreach, "correct", ""),
    ("09.2", ema_data, "correct", ""),  # assigning .data changes the tensor the list holds
    ("09.2", ema_stub, "not attempted", ""),
    ("09.2", ema_swapped, "incorrect", "decay and 1 − decay are swapped"),
    ("09.2", ema_rebinds, "incorrect", "`averaged` did not change"),
    ("09.2", ema_returns_new, "incorrect", "returns new tensors and leaves `averaged` as it was"),
    ("09.2", ema_no_decay_on_old, "incorrect", "the old average is not multiplied by decay"),
    ("09.2", ema_copies_current, "incorrect", "simply replaced by the current ones"),
    ("09.2", ema_no_no_grad, "error", "a leaf Variable that requires grad"),
    ("09.2", ema_updates_current, "incorrect", "modified its argument `current` in place"),
    ("09.2", ema_first_only, "incorrect", "only some of the tensors were updated"),
    ("09.2", ema_bias_corrected, "incorrect", "no bias correction"),
    ("09.2", ema_current_unweighted, "incorrect", "the current tensor is not multiplied by 1 − decay"),
    ("09.2", ema_both_decay, "incorrect", "the current tensor is weighted by decay"),
    ("09.2", ema_fixed_decay, "incorrect", "with the `decay` you are given"),
    ("09.2", ema_fixed_decay_999, "incorrect", "with the `decay` you are given"),
    ("09.2", ema_last_only, "incorrect", "only some of the tensors were updated"),
    ("09.3", resume_ref, "correct", "exactly the losses of the uninterrupted run"),
    ("09.3", resume_helper, "correct", ""),
    ("09.3", resume_stub, "not attempted", ""),
    ("09.3", _resume_without("rng"), "incorrect", "the RNG state is not restored"),
    ("09.3", _resume_without("scheduler"), "incorrect", "the scheduler's state is not loaded"),
    ("09.3", _resume_without("optimizer"), "incorrect", "the optimizer's state is not loaded"),
    ("09.3", _resume_without("model"), "incorrect", "the model's weights are not loaded"),
    ("09.3", _resume_without("scaler"), "incorrect", "the GradScaler's scale and growth tracker"),
    ("09.3", _resume_without("ema"), "incorrect", "the EMA of the weights is not"),
    ("09.3", _resume_without("ema", "scaler"), "incorrect", "the GradScaler's scale"),
    ("09.3", resume_epoch_plus_one, "incorrect", "returned epoch 3, but the checkpoint was written after 2"),
    ("09.3", resume_returns_zero, "incorrect", "returned epoch 0"),
    ("09.3", resume_returns_nothing, "incorrect", "returned None: did it forget to `return`"),
    ("09.3", resume_epoch_as_float, "incorrect", "returned '2'; return the epoch to start from"),
    ("09.3", resume_seeds_with_epoch, "incorrect", "the RNG state is not restored"),
    ("09.3", resume_python_rng_only, "incorrect", "the RNG state is not restored"),
    ("09.3", resume_rng_dict, "error", "raised TypeError"),
    ("09.3", resume_into_new_optimizer, "incorrect", "the optimizer's state is not loaded"),
]


@pytest.mark.parametrize("key, answer, status, fragment", CASES, ids=[f"{c[0]}-{c[1].__name__}-{c[2]}" for c in CASES])
def test_checker(key, answer, status, fragment):
    feedback = grade(key, answer)
    assert (feedback.status, fragment in feedback.message) == (status, True), feedback.message


def test_the_table_has_ten_wrong_answers_and_two_correct_variants_per_exercise():
    for key in exercises_of("09"):
        statuses = [c[2] for c in CASES if c[0] == key]
        assert (
            statuses.count("correct") >= 2
            and len(statuses) - statuses.count("correct") - statuses.count("not attempted") >= 10
        ), key


def test_every_exercise_has_hints_and_a_solution():
    found = exercises_of("09")
    assert list(found) == ["09.1", "09.2", "09.3"]
    for exercise in found.values():
        assert exercise.hints and exercise.solution_source(), exercise.key


@pytest.mark.parametrize("key, name", [("09.1", "production_step"), ("09.2", "ema_update"), ("09.3", "resume")])
def test_the_shown_solution_is_accepted(key, name):
    namespace = {"torch": torch, "nn": nn, "F": F}
    exec(exercises_of("09")[key].solution_source(), namespace)
    assert grade(key, namespace[name]).status == "correct"


def test_a_skipped_step_is_part_of_the_check():
    """Some configurations start at a scale that overflows float16: their first step is skipped
    (the weights stay, the scale halves), which only scaler.step(optimizer) gets right."""
    from myoptim_helpers.exercises import lesson09

    overflowing = [c for c in lesson09._configs_09_1() if c["init_scale"] >= lesson09.OVERFLOWING_SCALE]
    assert len(overflowing) >= 2
    for cfg in overflowing:
        model, optimizer, scaler, data = lesson09._step_setup(cfg)
        before = [p.detach().clone() for p in model.parameters()]
        step_ref(model, optimizer, scaler, data[0], cfg["max_norm"])
        assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
        assert scaler.get_scale() == cfg["init_scale"] / 2


def test_the_configurations_are_drawn_from_the_key_and_vary():
    """Same draws at every check (a verdict is reproducible), different settings across them."""
    from myoptim_helpers.exercises import lesson09

    for draw in (lesson09._configs_09_1, lesson09._configs_09_2, lesson09._configs_09_3):
        assert [c.label for c in draw()] == [c.label for c in draw()]
        assert len({c.label for c in draw()}) == len(draw()) >= 4
    assert {c["optimizer"] for c in lesson09._configs_09_1()} == {"SGD", "Adam", "AdamW", "RMSprop"}
    assert {c["decay"] for c in lesson09._configs_09_2()} >= {0.0, 1.0}
    assert len({c["saved_after"] for c in lesson09._configs_09_3()}) >= 2
