"""Checkers for lesson 09 · The production training step.

- 09.1 ``production_step``: one optimizer step with float16 autocast, a GradScaler,
  accumulation over micro-batches, clipping after ``unscale_``, and the gradients cleared.
- 09.2 ``ema_update``: the in-place EMA update of ``get_ema_multi_avg_fn(decay)``.
- 09.3 ``resume``: restore model, optimizer, scheduler, scaler, EMA and RNG state from a
  checkpoint, and return the epoch to start from.

Every grader builds its own models, optimizers, scalers and data (other sizes, dtypes and
hyperparameters than the notebook's), runs the reference on twin objects, and compares after
every step. When an answer differs it runs the known wrong variants of the exercise and names
the one the answer matches.
"""

from __future__ import annotations

import io
import math
import warnings

import torch
from torch import nn
from torch.nn import functional as F
from torch.optim.swa_utils import get_ema_multi_avg_fn

from .. import production
from ._assertions import fmt, tolerance
from ._calling import call
from ._feedback import Reject, correct, fail
from ._isolation import seeded
from ._registry import exercise

__all__ = ["ema_update", "production_step", "resume"]


# ----------------------------------------------------------------------------- 09.1


def production_step(model, optimizer, scaler, micro_batches, max_norm):
    """One optimizer step: autocast float16, loss / K, scale, backward, unscale_, clip, step, update, zero_grad."""
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    return total_norm


def _forward_loss(model, x, y, k, dtype=torch.float16, autocast=True):
    with torch.autocast("cpu", dtype=dtype, enabled=autocast):
        return F.cross_entropy(model(x), y) / k


def _step_variant(
    *,
    divide=True,
    clip="after_unscale",
    unscale=True,
    via_scaler=True,
    update=True,
    zero_grad=True,
    dtype=torch.float16,
    autocast=True,
    scale_loss=True,
    clip_fn="norm",
):
    """A production step with one thing changed; the known mistakes of 09.1 are made of these."""

    def step(model, optimizer, scaler, micro_batches, max_norm):
        k = len(micro_batches) if divide else 1
        norm = None

        def clip_now():
            if clip_fn == "value":
                torch.nn.utils.clip_grad_value_(model.parameters(), max_norm)
                return torch.tensor(0.0)
            return torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)

        for x, y in micro_batches:
            loss = _forward_loss(model, x, y, k, dtype, autocast)
            (scaler.scale(loss) if scale_loss else loss).backward()
            if clip == "every_micro_batch":
                norm = clip_now()
        if unscale:
            scaler.unscale_(optimizer)
        if clip in ("after_unscale", "before_unscale"):
            norm = clip_now()
        if via_scaler:
            scaler.step(optimizer)
        else:
            optimizer.step()
        if clip == "after_step":
            norm = clip_now()
        if update:
            scaler.update()
        if zero_grad:
            optimizer.zero_grad()
        return norm if norm is not None else torch.tensor(0.0)

    return step


_STEP_MISTAKES = [
    (
        _step_variant(divide=False),
        "the loss of each micro-batch is not divided by their number: the summed gradient is "
        "len(micro_batches) times the mean gradient. Use `loss / len(micro_batches)`.",
    ),
    (
        _step_variant(unscale=False, clip="before_unscale"),
        "the gradients are clipped before `scaler.unscale_(optimizer)`: clip_grad_norm_ sees them "
        "multiplied by the scale, so it clips far too hard. Call scaler.unscale_(optimizer) first.",
    ),
    (
        _step_variant(clip="every_micro_batch", unscale=False),
        "clipping runs after every micro-batch (on scaled gradients): clip once, after the last "
        "backward() and after scaler.unscale_(optimizer).",
    ),
    (
        _step_variant(clip="none"),
        "the step uses unclipped gradients: clipping after scaler.step() (or not at all) has no "
        "effect. Call torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm) between "
        "scaler.unscale_(optimizer) and scaler.step(optimizer).",
    ),
    (
        _step_variant(via_scaler=False),
        "optimizer.step() is called directly: only scaler.step(optimizer) skips the step when the "
        "gradients hold inf or NaN, so the weights became non-finite on an overflowing step.",
    ),
    (
        _step_variant(clip_fn="value"),
        "that is clip_grad_value_, which clamps each entry: clip the global norm with "
        "torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm).",
    ),
    (
        _step_variant(autocast=False),
        "the forward pass does not run under torch.autocast('cpu', dtype=torch.float16): the numbers are float32 ones.",
    ),
    (
        _step_variant(dtype=torch.bfloat16),
        "the forward pass runs under bfloat16; the exercise asks for float16 "
        "(torch.autocast('cpu', dtype=torch.float16)), the type that needs a GradScaler.",
    ),
    (
        _step_variant(scale_loss=False),
        "loss.backward() is called on the unscaled loss, so scaler.unscale_ divides gradients "
        "that were never multiplied: backward scaler.scale(loss).",
    ),
]

# Micro-batch counts are powers of 2, so that `loss / K`, `loss * (1 / K)` and `scale(loss) / K`
# give the same bits: float16's backward would turn a last-bit difference into 1e-3.
# (layer sizes, classes, optimizer factory, micro-batches, batch size, max_norm, init_scale, steps, frozen)
_STEP_CONFIGS = [
    ((3, 8), 4, lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.9, weight_decay=0.01), 4, 5, 0.05, 2.0**10, 3, False),
    ((5, 6), 3, lambda p: torch.optim.Adam(p, lr=0.01), 1, 7, 100.0, 2.0**12, 2, False),
    ((4, 10), 2, lambda p: torch.optim.AdamW(p, lr=0.02), 2, 6, 0.5, 2.0**40, 4, False),
    ((2, 5), 3, lambda p: torch.optim.SGD(p, lr=0.1), 2, 4, 1.0, 2.0**14, 2, True),
]


def _step_setup(config, seed):
    """Fresh (model, optimizer, scaler, list of per-step micro-batch lists, max_norm) for a config."""
    (d_in, hidden), classes, make_opt, k, batch, max_norm, init_scale, steps, frozen = config
    with seeded(seed):
        model = nn.Sequential(nn.Linear(d_in, hidden), nn.Tanh(), nn.Linear(hidden, classes))
        if frozen:
            model[0].bias.requires_grad_(False)
        data = [
            [(torch.randn(batch, d_in), torch.randint(0, classes, (batch,))) for _ in range(k)] for _ in range(steps)
        ]
    optimizer = make_opt([p for p in model.parameters() if p.requires_grad])
    scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=2)
    return model, optimizer, scaler, data, max_norm


def _step_record(step_fn, config, seed, learner=False):
    """Run ``steps`` calls; return [(norm, params, scale, grads cleared)] after each one."""
    model, optimizer, scaler, data, max_norm = _step_setup(config, seed)
    record = []
    for micro_batches in data:
        if learner:
            norm = call(
                step_fn,
                model,
                optimizer,
                scaler,
                micro_batches,
                max_norm,
                may_modify=(0, 1, 2),
                returns=(torch.Tensor, float, int),
            )
        else:
            norm = step_fn(model, optimizer, scaler, micro_batches, max_norm)
        norm = float(norm)
        params = [p.detach().clone() for p in model.parameters()]
        cleared = all(p.grad is None or not bool(p.grad.any()) for p in model.parameters())
        record.append((norm, params, scaler.get_scale(), cleared))
    return record


def _same_params(a, b, rtol, atol) -> bool:
    return all(x.shape == y.shape and torch.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True) for x, y in zip(a, b))


def _same_norm(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6) or (math.isinf(a) and math.isinf(b)) or (a != a and b != b)


def _record_matches(got, expected, norms=False, rtol=1e-4, atol=1e-6) -> bool:
    return all(
        _same_params(g[1], e[1], rtol, atol) and g[2] == e[2] and (not norms or _same_norm(g[0], e[0]))
        for g, e in zip(got, expected)
    )


def _matching_mistake(got, config, seed, norms=False):
    """The message of the first known mistake whose run gives ``got`` (weights and scales, and
    with ``norms`` the returned norms too), or None."""
    for variant, text in _STEP_MISTAKES:
        try:
            if _record_matches(got, _step_record(variant, config, seed), norms):
                return text
        except Exception:  # noqa: BLE001 (a variant that torch refuses is simply not the answer's)
            continue
    return None


_NO_UPDATE = (
    "scaler.update() is missing: without it the scaler still counts the last step as "
    "taken, so the next scaler.unscale_ raises; it is also what backs the scale off after a "
    "skipped step and grows it. Call scaler.update() after scaler.step(optimizer)."
)


@exercise(
    "09.1",
    title="The production step",
    solution=production_step,
    hints=[
        "Loop over the micro-batches: forward under torch.autocast('cpu', dtype=torch.float16), "
        "loss = F.cross_entropy(model(x), y) / len(micro_batches), then scaler.scale(loss).backward().",
        "After the loop, once: scaler.unscale_(optimizer), total_norm = "
        "torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm), scaler.step(optimizer), "
        "scaler.update(), optimizer.zero_grad(); return total_norm.",
    ],
)
def grade_production_step(production_step):
    """Compare step by step with the reference on four configurations of the checker's own."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for index, config in enumerate(_STEP_CONFIGS):
            seed = 40 + index
            try:
                got = _step_record(production_step, config, seed, learner=True)
            except Reject as reject:
                if "unscale_() is being called after step()" in reject.feedback.message:
                    fail(_NO_UPDATE)
                raise
            expected = _step_record(_production_step, config, seed)
            where = (
                f"with {config[3]} micro-batch{'es' * (config[3] > 1)}, max_norm={config[5]} and "
                f"an initial scale of 2**{int(math.log2(config[6]))}"
            )
            for step, (g, e) in enumerate(zip(got, expected), start=1):
                if not all(math.isfinite(v) for p in g[1] for v in p.flatten().tolist()):
                    fail(
                        f"{where}, the weights hold inf or NaN after step {step}: is the step "
                        "taken by scaler.step(optimizer), which skips steps whose gradients "
                        "overflowed?"
                    )
                if not _same_params(g[1], e[1], 1e-4, 1e-6) or g[2] != e[2]:
                    cause = _matching_mistake(got, config, seed)
                    what = (
                        "the weights differ"
                        if not _same_params(g[1], e[1], 1e-4, 1e-6)
                        else f"the scale is {fmt(g[2], e[2])}, expected {fmt(e[2], g[2])}"
                    )
                    fail(
                        f"{where}, {what} after step {step}: "
                        + (
                            cause
                            or (
                                "check the order: scale(loss / K).backward() for each micro-batch, then "
                                "unscale_, clip_grad_norm_, scaler.step, scaler.update, zero_grad."
                            )
                        )
                    )
                if not _same_norm(g[0], e[0]):
                    fail(
                        f"{where}, the returned norm at step {step} is {fmt(g[0], e[0])}, expected "
                        f"{fmt(e[0], g[0])}: "
                        + (
                            _matching_mistake(got, config, seed, norms=True)
                            or (
                                "return what clip_grad_norm_ returned (the norm of the unscaled "
                                "gradients before clipping)."
                            )
                        )
                    )
                if not g[3]:
                    fail(
                        f"{where}, the gradients are still there after step {step}: call "
                        "optimizer.zero_grad() at the end, or the next step adds to them."
                    )
    return correct(
        "every step matches torch's order: scaled backward per micro-batch, unscale_, "
        "clip, scaler.step (skipped on overflow), update, zero_grad."
    )


_production_step = production_step


# ----------------------------------------------------------------------------- 09.2


def ema_update(averaged, current, decay):
    """Move every tensor of ``averaged`` in place toward ``current``: decay · a + (1 − decay) · c."""
    with torch.no_grad():
        for a, c in zip(averaged, current):
            a.mul_(decay).add_(c, alpha=1 - decay)


_ema_update = ema_update


def _torch_ema(averaged, current, decay):
    """torch's EMA update, dtype group by dtype group, as AveragedModel calls it."""
    update = get_ema_multi_avg_fn(decay)
    with torch.no_grad():
        update([a for a in averaged], [c for c in current], None)


def _ema_variant(rule):
    def update(averaged, current, decay):
        with torch.no_grad():
            for a, c in zip(averaged, current):
                a.copy_(rule(a, c, decay))

    return update


_EMA_MISTAKES = [
    (
        _ema_variant(lambda a, c, d: (1 - d) * a + d * c),
        "decay and 1 − decay are swapped: the average keeps `decay` of its **old** value, a · decay + c · (1 − decay).",
    ),
    (
        _ema_variant(lambda a, c, d: c.clone()),
        "the averaged tensors are simply replaced by the current ones: mix them, "
        "decay · averaged + (1 − decay) · current.",
    ),
    (
        _ema_variant(lambda a, c, d: a + (1 - d) * c),
        "the old average is not multiplied by decay: averaged · decay + (1 − decay) · current.",
    ),
    (_ema_variant(lambda a, c, d: d * a + c), "the current tensor is not multiplied by 1 − decay."),
    (_ema_variant(lambda a, c, d: d * a + d * c), "the current tensor is weighted by decay; its weight is 1 − decay."),
    (
        _ema_variant(lambda a, c, d: (d * a + (1 - d) * c) / (1 - d)),
        "no bias correction here: torch's EMA is plain, decay · averaged + (1 − decay) · current.",
    ),
]


def _ema_configs():
    """(shapes, dtype, decays for successive updates, requires_grad) drawn on the checker's side."""
    return [
        ([(3,), (), (2, 4), (0,)], torch.float64, [0.9, 0.9, 0.9], False),
        ([(5,), (2, 3)], torch.float32, [0.75, 0.75], False),
        ([(4, 2), ()], torch.float64, [0.999, 0.999, 0.999, 0.999], True),
        ([(3,)], torch.float64, [0.0, 0.0], False),
        ([(2, 2)], torch.float32, [1.0, 1.0], True),
        ([(6,), (1,)], torch.float64, [0.3, 0.3, 0.3], False),
    ]


def _ema_tensors(shapes, dtype, requires_grad, seed):
    with seeded(seed):
        return [torch.randn(s, dtype=dtype).requires_grad_(requires_grad) for s in shapes]


def _ema_run(update, config, seed, learner=False):
    shapes, dtype, decays, requires_grad = config
    averaged = _ema_tensors(shapes, dtype, requires_grad, seed)
    record = []
    for round_, decay in enumerate(decays):
        current = _ema_tensors(shapes, dtype, False, seed + 100 + round_)
        if learner:
            result = call(update, averaged, current, decay, may_modify=(0,))
            if result is not None and result is not averaged:
                returned = isinstance(result, (list, tuple)) and len(result) == len(averaged)
                if returned and all(isinstance(r, torch.Tensor) and r is not a for r, a in zip(result, averaged)):
                    fail(
                        "your function returns new tensors and leaves `averaged` as it was: "
                        "update each tensor in place (a.mul_(decay).add_(c, alpha=1 - decay), "
                        "inside torch.no_grad())."
                    )
        else:
            update(averaged, current, decay)
        record.append([a.detach().clone() for a in averaged])
    return record


@exercise(
    "09.2",
    title="An EMA update",
    solution=ema_update,
    hints=[
        "For each pair (a, c): a ← decay · a + (1 − decay) · c, written into `a` itself: "
        "a.mul_(decay).add_(c, alpha=1 - decay), or a.lerp_(c, 1 - decay).",
        "The averaged tensors may be parameters that require grad: do the in-place update inside "
        "`with torch.no_grad():`. Rebinding the loop variable (`a = ...`) changes nothing in the list.",
    ],
)
def grade_ema_update(ema_update):
    """Compare with torch's get_ema_multi_avg_fn over several updates, shapes, dtypes and decays."""
    for index, config in enumerate(_ema_configs()):
        seed = 7 * index + 1
        got = _ema_run(ema_update, config, seed, learner=True)
        expected = _ema_run(_torch_ema, config, seed)
        rtol, atol = tolerance(config[1])
        shapes, dtype, decays, _ = config
        for round_, (g, e) in enumerate(zip(got, expected), start=1):
            if all(torch.allclose(a, b, rtol=rtol, atol=atol) for a, b in zip(g, e)):
                continue
            start = _ema_tensors(shapes, dtype, False, seed)
            if round_ == 1 and all(torch.equal(a, b) for a, b in zip(g, start)):
                fail(
                    "`averaged` did not change: update its tensors in place (a.mul_(...).add_(...) "
                    "or a.copy_(...)); `a = ...` only rebinds a loop variable."
                )
            cause = next(
                (
                    text
                    for variant, text in _EMA_MISTAKES
                    if all(
                        torch.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
                        for a, b in zip(g, _ema_run(variant, config, seed)[round_ - 1])
                    )
                ),
                None,
            )
            first = next(i for i, (a, b) in enumerate(zip(g, e)) if not torch.allclose(a, b, rtol=rtol, atol=atol))
            changed = [i for i, (a, b) in enumerate(zip(g, start)) if not torch.equal(a, b) or a.numel() == 0]
            if cause is None and len(changed) < len(g):
                cause = "only some of the tensors were updated: update every pair of the two lists."
            fail(
                f"with decay={_decay_text(decays[0])} ({str(dtype).replace('torch.', '')}), update "
                f"{round_} differs from torch's for tensor {first} (shape {tuple(g[first].shape)}): "
                + (cause or "averaged = decay · averaged + (1 − decay) · current, in place.")
            )
    return correct(
        "your update matches torch's get_ema_multi_avg_fn for every shape, dtype and decay, update after update."
    )


def _decay_text(decay) -> str:
    return f"{decay:g}"


# ----------------------------------------------------------------------------- 09.3


def resume(checkpoint, model, optimizer, scheduler, scaler, ema):
    """Restore everything ``save_checkpoint`` wrote into fresh objects; return the epoch to start from."""
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    scaler.load_state_dict(checkpoint["scaler"])
    ema.load_state_dict(checkpoint["ema"])
    torch.set_rng_state(checkpoint["rng"]["torch"])
    return checkpoint["epoch"]


_resume = resume

RESUME_EPOCHS = 5
RESUME_SAVED_AFTER = 2


def _resume_data():
    with seeded(11):
        return torch.randn(30, 3, dtype=torch.float64), torch.randint(0, 3, (30,))


def _resume_build(seed):
    with seeded(seed):
        model = nn.Sequential(nn.Linear(3, 12), nn.Dropout(0.3), nn.ReLU(), nn.Linear(12, 3)).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02, weight_decay=0.01)
    # MultiStepLR counts its epochs: a fresh one reaches the milestones late (StepLR(step_size=1)
    # would not show a lost state, it only multiplies the lr the optimizer's state restores)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[3, 4], gamma=0.5)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**6, growth_interval=2)
    return model, optimizer, scheduler, scaler, production.EMA(model, decay=0.8)


def _resume_epoch(model, optimizer, scheduler, scaler, ema, data):
    x, y = data
    losses = []
    for batch in torch.randperm(len(x)).split(8):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x[batch]), y[batch])
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        ema.update_parameters(model)
        losses.append(loss.item())
    scheduler.step()
    return losses


def _resume_state(parts):
    _, optimizer, _, scaler, ema = parts
    return {
        "scale": scaler.get_scale(),
        "growth": int(scaler.state_dict()["_growth_tracker"]),
        "ema": [t.detach().clone() for t in ema.state_dict().values()],
        "lr": optimizer.param_groups[0]["lr"],
    }


def _resume_reference():
    """(losses of the epochs after the save, the state at the end, the checkpoint dict)."""
    data = _resume_data()
    with seeded(5):
        parts = _resume_build(0)
        for _ in range(RESUME_SAVED_AFTER):
            _resume_epoch(*parts, data)
        model, optimizer, scheduler, scaler, ema = parts
        buffer = io.BytesIO()
        production.save_checkpoint(
            buffer,
            model=model,
            optimizer=optimizer,
            scheduler=scheduler,
            scaler=scaler,
            ema=ema,
            epoch=RESUME_SAVED_AFTER,
        )
        rest = [_resume_epoch(*parts, data) for _ in range(RESUME_SAVED_AFTER, RESUME_EPOCHS)]
        return rest, _resume_state(parts), buffer.getvalue()


def _resumed(resume_fn, saved, learner=False):
    data = _resume_data()
    with seeded(77):  # another process: other weights, another RNG state
        parts = _resume_build(3)
        checkpoint = torch.load(io.BytesIO(saved), weights_only=True)
        if learner:
            start = call(resume_fn, checkpoint, *parts, may_modify=(0, 1, 2, 3, 4, 5))
            if not torch.equal(torch.get_rng_state(), checkpoint["rng"]["torch"]):
                fail(_RESUME_MISTAKES[0][1])
        else:
            start = resume_fn(checkpoint, *parts)
        if isinstance(start, bool) or not isinstance(start, int):
            if learner:
                fail(
                    f"`{resume_fn.__name__}` returned {start!r}; return the epoch to start from, "
                    "checkpoint['epoch'] (an int)."
                    if start is not None
                    else f"`{resume_fn.__name__}` returned None: did it forget to `return` checkpoint['epoch']?"
                )
            start = RESUME_SAVED_AFTER
        rest = [_resume_epoch(*parts, data) for _ in range(start, RESUME_EPOCHS)]
        return start, rest, _resume_state(parts)


def _resume_variant(leave_out):
    def resume(checkpoint, model, optimizer, scheduler, scaler, ema):
        for name, obj in (
            ("model", model),
            ("optimizer", optimizer),
            ("scheduler", scheduler),
            ("scaler", scaler),
            ("ema", ema),
        ):
            if name != leave_out:
                obj.load_state_dict(checkpoint[name])
        if leave_out != "rng":
            torch.set_rng_state(checkpoint["rng"]["torch"])
        return checkpoint["epoch"]

    return resume


_RESUME_MISTAKES = [
    (
        "rng",
        "the RNG state is not restored: the batches after the resume are shuffled otherwise "
        "and dropout drops other units. torch.set_rng_state(checkpoint['rng']['torch']).",
    ),
    (
        "scheduler",
        "the scheduler's state is not loaded: it starts its schedule again. "
        "scheduler.load_state_dict(checkpoint['scheduler']).",
    ),
    (
        "optimizer",
        "the optimizer's state is not loaded: Adam's moments and step count start from "
        "zero. optimizer.load_state_dict(checkpoint['optimizer']).",
    ),
    ("model", "the model's weights are not loaded: model.load_state_dict(checkpoint['model'])."),
]


def _same_losses(a, b) -> bool:
    return len(a) == len(b) and all(
        len(x) == len(y) and all(math.isclose(u, v, rel_tol=1e-12, abs_tol=1e-12) for u, v in zip(x, y))
        for x, y in zip(a, b)
    )


@exercise(
    "09.3",
    title="Resume everything",
    solution=resume,
    hints=[
        "Each object has load_state_dict(): checkpoint['model'], ['optimizer'], ['scheduler'], "
        "['scaler'] and ['ema']. The RNG state is checkpoint['rng']['torch']: torch.set_rng_state(...).",
        "Return checkpoint['epoch']: the number of epochs already done is the epoch to start from.",
    ],
)
def grade_resume(resume):
    """Resume a run of the checker's own and compare every loss and state with the uninterrupted run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected_rest, expected_state, saved = _resume_reference()
        start, rest, state = _resumed(resume, saved, learner=True)
    if start != RESUME_SAVED_AFTER:
        fail(
            f"your function returned epoch {start}, but the checkpoint was written after "
            f"{RESUME_SAVED_AFTER} epochs: return checkpoint['epoch']."
        )
    if not _same_losses(rest, expected_rest):
        cause = next(
            (
                text
                for leave_out, text in _RESUME_MISTAKES
                if _same_losses(rest, _resumed(_resume_variant(leave_out), saved)[1])
            ),
            None,
        )
        epoch = next(i for i, (a, b) in enumerate(zip(rest, expected_rest)) if not _same_losses([a], [b]))
        fail(
            f"after resuming, the losses differ from the uninterrupted run in epoch "
            f"{RESUME_SAVED_AFTER + epoch}: "
            + (cause or "restore the model, optimizer, scheduler, scaler, EMA and the RNG state.")
        )
    if state["scale"] != expected_state["scale"] or state["growth"] != expected_state["growth"]:
        fail(
            "the losses are right but the GradScaler's scale and growth tracker are not: "
            "scaler.load_state_dict(checkpoint['scaler'])."
        )
    if not all(torch.equal(a, b) for a, b in zip(state["ema"], expected_state["ema"])):
        fail("the losses are right but the EMA of the weights is not: ema.load_state_dict(checkpoint['ema']).")
    return correct(
        f"epochs {RESUME_SAVED_AFTER}–{RESUME_EPOCHS - 1} after the resume have exactly the "
        "losses of the uninterrupted run, and the scaler and the EMA are where they were."
    )
