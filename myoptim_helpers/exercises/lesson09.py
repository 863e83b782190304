"""Checkers for lesson 09 · The production training step.

- 09.1 ``production_step``: one optimizer step with float16 autocast, a GradScaler,
  accumulation over micro-batches, clipping after ``unscale_``, and the gradients cleared.
- 09.2 ``ema_update``: the in-place EMA update of ``get_ema_multi_avg_fn(decay)``.
- 09.3 ``resume``: restore model, optimizer, scheduler, scaler, EMA and RNG state from a
  checkpoint, and return the epoch to start from.

Each exercise is a :class:`~._engine.Spec`: configurations drawn at check time from the key's
seed (models, optimizers, scales, micro-batch counts, shapes, dtypes, decays, the epoch a run
stops at), fresh objects for every run, the reference on twin objects, and a table of known
mistakes whose variant names the one a wrong answer matches.
"""

from __future__ import annotations

import functools
import io
import math
import warnings

import torch
from torch import nn
from torch.nn import functional as F
from torch.optim import lr_scheduler
from torch.optim.swa_utils import get_ema_multi_avg_fn

from .. import production
from ._engine import Difference, Mistake, Spec, config, draw_configs, grade_spec, labelled_mismatch
from ._feedback import Reject, fail
from ._isolation import seeded
from ._registry import exercise

__all__ = ["ema_update", "production_step", "resume"]


def _one_thread():
    """Run the check's small models on one thread (restored after the check): the numbers are
    the same, and two threads on a busy 2-core machine wait on each other for seconds."""
    torch.set_num_threads(1)


def _options_text(options) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items())


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


_production_step = production_step


def _step_variant(
    *,
    divide=True,
    clip="after_unscale",
    unscale=True,
    via_scaler=True,
    dtype=torch.float16,
    autocast=True,
    scale_loss=True,
    clip_fn="norm",
    own_scaler=False,
):
    """A production step with one thing changed; the known mistakes of 09.1 are made of these.

    It returns None where the mistake does not say what a learner would return (no clipping,
    or clip_grad_value_, which returns nothing): the returned norm is then not compared."""

    def step(model, optimizer, scaler, micro_batches, max_norm):
        k = len(micro_batches) if divide else 1
        scaler = torch.amp.GradScaler("cpu") if own_scaler else scaler
        norm = None

        def clip_now():
            if clip_fn == "value":
                torch.nn.utils.clip_grad_value_(model.parameters(), max_norm)
                return None
            return torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)

        for x, y in micro_batches:
            with torch.autocast("cpu", dtype=dtype, enabled=autocast):
                loss = F.cross_entropy(model(x), y) / k
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
        scaler.update()
        optimizer.zero_grad()
        return norm

    return step


_UNCLIPPED = (
    "the step uses unclipped gradients: clipping after scaler.step(), to another norm than "
    "`max_norm`, or not at all has no effect. Call "
    "torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm) between "
    "scaler.unscale_(optimizer) and scaler.step(optimizer)."
)


def _leaves_all_alone(model, optimizer, scaler, micro_batches, max_norm):
    """A step that works on other objects than its arguments (the notebook's, or its own)."""
    return None


MISTAKES_09_1 = (
    Mistake(
        "other objects",
        _leaves_all_alone,
        "the `model`, `optimizer` and `scaler` you were given did not change: does your step use "
        "the notebook's own objects, or build its own? Use the arguments.",
    ),
    Mistake(
        "not divided",
        _step_variant(divide=False),
        "the loss of each micro-batch is not divided by their number: the summed gradient is "
        "len(micro_batches) times the mean gradient. Use `loss / len(micro_batches)`.",
    ),
    Mistake(
        "clipped before unscale_",
        _step_variant(unscale=False, clip="before_unscale"),
        "the gradients are clipped before `scaler.unscale_(optimizer)`: clip_grad_norm_ sees them "
        "multiplied by the scale, so it clips far too hard. Call scaler.unscale_(optimizer) first.",
    ),
    Mistake(
        "clipped per micro-batch",
        _step_variant(clip="every_micro_batch", unscale=False),
        "clipping runs after every micro-batch (on scaled gradients): clip once, after the last "
        "backward() and after scaler.unscale_(optimizer).",
    ),
    Mistake("not clipped", _step_variant(clip="none"), _UNCLIPPED),
    Mistake("clipped after the step", _step_variant(clip="after_step"), _UNCLIPPED),
    Mistake(
        "optimizer.step()",
        _step_variant(via_scaler=False),
        "optimizer.step() is called directly: only scaler.step(optimizer) skips the step when the "
        "gradients hold inf or NaN, so the weights became non-finite on an overflowing step.",
    ),
    Mistake(
        "clip_grad_value_",
        _step_variant(clip_fn="value"),
        "that is clip_grad_value_, which clamps each entry: clip the global norm with "
        "torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm).",
    ),
    Mistake(
        "own scaler",
        _step_variant(own_scaler=True),
        "the scale of the `scaler` you are given never moves: did your step build a GradScaler "
        "of its own? Scale, unscale_, step and update with the `scaler` you are given.",
    ),
    Mistake(
        "no autocast",
        _step_variant(autocast=False),
        "the forward pass does not run under torch.autocast('cpu', dtype=torch.float16): the numbers are float32 ones.",
    ),
    Mistake(
        "bfloat16",
        _step_variant(dtype=torch.bfloat16),
        "the forward pass runs under bfloat16; the exercise asks for float16 "
        "(torch.autocast('cpu', dtype=torch.float16)), the type that needs a GradScaler.",
    ),
    Mistake(
        "unscaled backward",
        _step_variant(scale_loss=False),
        "loss.backward() is called on the unscaled loss, so scaler.unscale_ divides gradients "
        "that were never multiplied: backward scaler.scale(loss).",
    ),
)

# (optimizer, its options, micro-batches, log2 of the initial scale, a frozen bias, clipping
# hard): every kind of step is drawn; the rest (sizes, lr, max_norm, steps, growth) is drawn
# per configuration. Micro-batch counts are powers of 2, so that `loss / K`, `loss * (1 / K)`
# and `scale(loss) / K` give the same bits: float16's backward would turn a last-bit difference
# into 1e-3. An initial scale of 2**20 or more
# overflows float16: the first steps are skipped, and the scale backs off until one is taken.
_SETUPS_09_1 = (
    ("SGD", {"momentum": 0.9, "weight_decay": 0.01}, 4, 10, False, True),
    ("Adam", {}, 1, 12, False, False),
    ("AdamW", {"weight_decay": 0.05}, 2, 20, False, True),
    ("SGD", {}, 2, 14, True, True),
    ("RMSprop", {"momentum": 0.5}, 4, 16, True, False),
    ("Adam", {"amsgrad": True}, 2, 21, False, True),
)
_LR_RANGES = {"SGD": (0.05, 0.3), "Adam": (0.005, 0.03), "AdamW": (0.005, 0.03), "RMSprop": (0.002, 0.02)}
OVERFLOWING_SCALE = 2.0**20


def _config_09_1(draw, i):
    name, options, k, log_scale, frozen, hard = _SETUPS_09_1[i]
    options = {"lr": draw.uniform(*_LR_RANGES[name]), **options}
    max_norm = draw.uniform(0.02, 0.2) if hard else draw.choice((5.0, 100.0))
    sizes = (draw.choice((2, 3, 5)), draw.choice((4, 6, 8, 10)), draw.choice((2, 3, 4)))
    batch, steps, growth = draw.choice((4, 5, 6, 7)), draw.choice((2, 3, 4)), draw.choice((1, 2, 3))
    if log_scale >= math.log2(OVERFLOWING_SCALE):
        steps = 4  # room for the skipped steps and a step taken after them
    label = (
        f"torch.optim.{name}({_options_text(options)}), {k} micro-batch{'es' * (k > 1)} of {batch}, "
        f"max_norm={max_norm} and an initial scale of 2**{log_scale}" + (", a frozen bias" if frozen else "")
    )
    return config(
        label,
        optimizer=name,
        options=options,
        micro_batches=k,
        init_scale=2.0**log_scale,
        growth_interval=growth,
        frozen=frozen,
        max_norm=max_norm,
        sizes=sizes,
        batch=batch,
        steps=steps,
        seed=draw.seed % 2**31,
    )


def _configs_09_1():
    return draw_configs("09.1", _config_09_1, len(_SETUPS_09_1))


def _step_setup(cfg):
    """Fresh (model, optimizer, scaler, list of per-step micro-batch lists) for a configuration."""
    d_in, hidden, classes = cfg["sizes"]
    with seeded(cfg["seed"]):
        model = nn.Sequential(nn.Linear(d_in, hidden), nn.Tanh(), nn.Linear(hidden, classes))
        if cfg["frozen"]:
            model[0].bias.requires_grad_(False)
        data = [
            [
                (torch.randn(cfg["batch"], d_in), torch.randint(0, classes, (cfg["batch"],)))
                for _ in range(cfg["micro_batches"])
            ]
            for _ in range(cfg["steps"])
        ]
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = getattr(torch.optim, cfg["optimizer"])(params, **cfg["options"])
    scaler = torch.amp.GradScaler("cpu", init_scale=cfg["init_scale"], growth_interval=cfg["growth_interval"])
    return model, optimizer, scaler, data


def _norm_value(norm):
    """The returned total norm as a float (None, a variant's "any norm", stays None)."""
    if isinstance(norm, torch.Tensor):
        if norm.numel() != 1:
            fail(
                f"your step returned a tensor of shape {tuple(norm.shape)}; return the one total norm "
                "that clip_grad_norm_ returns."
            )
        return norm.item()
    return None if norm is None else float(norm)


def _run_09_1(invoke, cfg):
    """After each step: every parameter, the scale and the returned norm."""
    model, optimizer, scaler, data = _step_setup(cfg)
    record = []
    for step, micro_batches in enumerate(data, start=1):
        norm = invoke(model, optimizer, scaler, micro_batches, cfg["max_norm"])
        params = {f"`{n}`": p.detach().clone() for n, p in model.named_parameters()}
        if not all(bool(torch.isfinite(p).all()) for p in params.values()):
            fail(
                f"with {cfg.label}: the weights hold inf or NaN after step {step}: is the step taken "
                "by scaler.step(optimizer), which skips steps whose gradients overflowed?"
            )
        if any(p.grad is not None and bool(p.grad.any()) for p in model.parameters()):
            fail(
                f"with {cfg.label}: the gradients are still there after step {step}: call "
                "optimizer.zero_grad() at the end, or the next step adds to them."
            )
        record.append({**params, "the scale": scaler.get_scale(), "the returned norm": _norm_value(norm)})
    return record


def _otherwise_09_1(mismatch, cfg):
    if mismatch.name == "the returned norm":
        return "return what clip_grad_norm_ returned (the norm of the unscaled gradients before clipping)."
    return (
        "check the order: scale(loss / K).backward() for each micro-batch, then unscale_, "
        "clip_grad_norm_, scaler.step, scaler.update, zero_grad."
    )


SPEC_09_1 = Spec(
    configs=_configs_09_1,
    reference=functools.partial(_run_09_1, _production_step),
    run=_run_09_1,
    mistakes=MISTAKES_09_1,
    otherwise=_otherwise_09_1,
    may_modify=(0, 1, 2),
    returns=(torch.Tensor, float, int),
    # float16's forward makes the last bits of a right answer depend on how it is written
    compare=functools.partial(labelled_mismatch, rtol=1e-4, atol=1e-6),
    success=(
        "every step matches torch's order in all {n} configurations (SGD, Adam, AdamW and "
        "RMSprop; 1 to 4 micro-batches; skipped overflow steps; a frozen bias): scaled backward "
        "per micro-batch, unscale_, clip, scaler.step (skipped on overflow), update, zero_grad."
    ),
)

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
    """Compare step by step with the reference on configurations of the checker's own."""
    _one_thread()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return grade_spec(SPEC_09_1, production_step, name="`production_step`")
        except Reject as reject:
            if "unscale_() is being called after step()" in reject.feedback.message:
                fail(_NO_UPDATE)
            raise


# ----------------------------------------------------------------------------- 09.2


def ema_update(averaged, current, decay):
    """Move every tensor of ``averaged`` in place toward ``current``: decay · a + (1 − decay) · c."""
    with torch.no_grad():
        for a, c in zip(averaged, current):
            a.mul_(decay).add_(c, alpha=1 - decay)


def _torch_ema(averaged, current, decay):
    """torch's EMA update, dtype group by dtype group, as AveragedModel calls it."""
    update = get_ema_multi_avg_fn(decay)
    with torch.no_grad():
        update(list(averaged), list(current), None)


def _ema_variant(rule, which=slice(None)):
    """An update that writes ``rule(a, c, decay)`` into the tensors ``which`` of ``averaged``."""

    def update(averaged, current, decay):
        with torch.no_grad():
            for a, c in list(zip(averaged, current))[which]:
                a.copy_(rule(a, c, decay))

    return update


def _ema_right(a, c, d):
    return d * a + (1 - d) * c


_ONLY_SOME = "only some of the tensors were updated: update every pair of the two lists."

MISTAKES_09_2 = (
    Mistake(
        "nothing changed",
        _ema_variant(lambda a, c, d: a),
        "`averaged` did not change: update its tensors in place (a.mul_(...).add_(...) "
        "or a.copy_(...)); `a = ...` only rebinds a loop variable.",
    ),
    Mistake(
        "swapped",
        _ema_variant(lambda a, c, d: (1 - d) * a + d * c),
        "decay and 1 − decay are swapped: the average keeps `decay` of its **old** value, a · decay + c · (1 − decay).",
    ),
    Mistake(
        "replaced",
        _ema_variant(lambda a, c, d: c.clone()),
        "the averaged tensors are simply replaced by the current ones: mix them, "
        "decay · averaged + (1 − decay) · current.",
    ),
    Mistake(
        "old not decayed",
        _ema_variant(lambda a, c, d: a + (1 - d) * c),
        "the old average is not multiplied by decay: averaged · decay + (1 − decay) · current.",
    ),
    Mistake(
        "current unweighted",
        _ema_variant(lambda a, c, d: d * a + c),
        "the current tensor is not multiplied by 1 − decay.",
    ),
    Mistake(
        "both decay",
        _ema_variant(lambda a, c, d: d * a + d * c),
        "the current tensor is weighted by decay; its weight is 1 − decay.",
    ),
    Mistake(
        "bias corrected",
        _ema_variant(lambda a, c, d: (d * a + (1 - d) * c) / (1 - d)),
        "no bias correction here: torch's EMA is plain, decay · averaged + (1 − decay) · current.",
    ),
    Mistake("first only", _ema_variant(_ema_right, slice(0, 1)), _ONLY_SOME),
    Mistake("last only", _ema_variant(_ema_right, slice(-1, None)), _ONLY_SOME),
)

_EMA_SHAPES = ((), (3,), (2, 4), (0,), (5,), (2, 3), (1,), (4, 2))
# (dtype, the averaged tensors require grad, decay): decay 0 copies, decay 1 keeps, "drawn" is
# drawn away from the lesson's 0.95; "near 1" is where real EMAs live (0.99 to 0.9995).
_SETUPS_09_2 = (
    (torch.float64, False, "drawn"),
    (torch.float32, False, "drawn"),
    (torch.float64, True, "near 1"),
    (torch.float64, False, 0.0),
    (torch.float32, True, 1.0),
    (torch.float32, False, "near 1"),
    (torch.float64, True, "drawn"),
)


def _config_09_2(draw, i):
    dtype, requires_grad, decay = _SETUPS_09_2[i]
    if decay == "drawn":
        decay = draw.uniform(0.3, 0.93)
    elif decay == "near 1":
        decay = draw.uniform(0.99, 0.9995, digits=4)
    count = 4 if i == 0 else draw.choice((1, 2, 3, 4))
    shapes = [draw.shape(_EMA_SHAPES) for _ in range(count)]
    updates = draw.choice((2, 3, 4))
    kind = "normal" if i == 0 else draw.choice(("normal", "mixed", "large", "small"))
    start = tuple(draw.tensor(s, dtype, kind) for s in shapes)
    current = tuple(tuple(draw.tensor(s, dtype, kind) for s in shapes) for _ in range(updates))
    label = (
        f"decay={decay:g}, {count} {str(dtype).replace('torch.', '')} tensor{'s' * (count > 1)} of shape "
        f"{', '.join(map(str, shapes))}{' that require grad' if requires_grad else ''}, {updates} updates"
    )
    return config(label, decay=decay, requires_grad=requires_grad, start=start, current=current)


def _configs_09_2():
    return draw_configs("09.2", _config_09_2, len(_SETUPS_09_2))


def _run_09_2(invoke, cfg):
    """After each update: every averaged tensor."""
    averaged = [t.clone().requires_grad_(cfg["requires_grad"]) for t in cfg["start"]]
    record = []
    for current in cfg["current"]:
        result = invoke(averaged, [c.clone() for c in current], cfg["decay"])
        if (
            isinstance(result, (list, tuple))
            and len(result) == len(averaged)
            and all(isinstance(r, torch.Tensor) and r is not a for r, a in zip(result, averaged))
        ):
            fail(
                "your function returns new tensors and leaves `averaged` as it was: "
                "update each tensor in place (a.mul_(decay).add_(c, alpha=1 - decay), "
                "inside torch.no_grad())."
            )
        record.append({f"averaged[{i}]": a.detach().clone() for i, a in enumerate(averaged)})
    return record


SPEC_09_2 = Spec(
    configs=_configs_09_2,
    reference=functools.partial(_run_09_2, _torch_ema),
    run=_run_09_2,
    mistakes=MISTAKES_09_2,
    otherwise="averaged = decay · averaged + (1 − decay) · current, in place, with the `decay` you are given.",
    may_modify=(0,),
    compare=functools.partial(labelled_mismatch, unit="update"),
    success=(
        "your update matches torch's get_ema_multi_avg_fn in all {n} configurations (0-dim to "
        "2-D and empty tensors, float32 and float64, parameters that require grad, decays from "
        "0 to 1), update after update."
    ),
)


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
    _one_thread()
    return grade_spec(SPEC_09_2, ema_update, name="`ema_update`")


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


_PARTS = ("model", "optimizer", "scheduler", "scaler", "ema")


def _resume_variant(leave_out):
    def resume(checkpoint, model, optimizer, scheduler, scaler, ema):
        for name, obj in zip(_PARTS, (model, optimizer, scheduler, scaler, ema)):
            if name != leave_out:
                obj.load_state_dict(checkpoint[name])
        torch.set_rng_state(checkpoint["rng"]["torch"])
        return checkpoint["epoch"]

    return resume


_RNG_NOT_RESTORED = (
    "the RNG state is not restored: the batches after the resume are shuffled otherwise "
    "and dropout drops other units. torch.set_rng_state(checkpoint['rng']['torch'])."
)
_SCALER_NOT_LOADED = "scaler.load_state_dict(checkpoint['scaler'])."
_EMA_NOT_LOADED = "ema.load_state_dict(checkpoint['ema'])."

MISTAKES_09_3 = (
    Mistake(
        "scheduler",
        _resume_variant("scheduler"),
        "the scheduler's state is not loaded: it starts its schedule again. "
        "scheduler.load_state_dict(checkpoint['scheduler']).",
    ),
    Mistake(
        "optimizer",
        _resume_variant("optimizer"),
        "the optimizer's state is not loaded: its moments (or momentum buffers) and step count "
        "start from zero. optimizer.load_state_dict(checkpoint['optimizer']).",
    ),
    Mistake(
        "model",
        _resume_variant("model"),
        "the model's weights are not loaded: model.load_state_dict(checkpoint['model']).",
    ),
    Mistake("scaler", _resume_variant("scaler"), _SCALER_NOT_LOADED),
    Mistake("ema", _resume_variant("ema"), _EMA_NOT_LOADED),
)

# The exercise's run first (Adam with weight decay and MultiStepLR, float64, saved after 2 of 5
# epochs), then other optimizers and schedules whose lost state shows: a MultiStepLR or StepLR
# rebuilt counts its epochs from 0 and decays at other epochs, a LinearLR warms up again.
# (optimizer, options, scheduler, dtype)
_SETUPS_09_3 = (
    ("Adam", {"lr": 0.02, "weight_decay": 0.01}, "MultiStepLR", torch.float64),
    ("SGD", {"momentum": 0.9, "nesterov": True}, "StepLR", torch.float32),
    ("AdamW", {"weight_decay": 0.1}, "LinearLR", torch.float64),
    ("RMSprop", {"momentum": 0.5}, "MultiStepLR", torch.float32),
)


def _config_09_3(draw, i):
    name, options, scheduler, dtype = _SETUPS_09_3[i]
    if i == 0:
        cfg = dict(epochs=5, saved_after=2, seeds=(11, 0, 5, 3, 77), samples=30, batch=8, sizes=(3, 12))
        cfg.update(dropout=0.3, decay=0.8, init_scale=2.0**6, growth_interval=2, scheduler_options={})
    else:
        epochs = draw.choice((4, 5, 6))
        cfg = dict(epochs=epochs, saved_after=draw.choice(range(1, epochs - 1)))
        cfg.update(seeds=tuple(draw.random.randrange(2**31) for _ in range(5)), samples=draw.choice((24, 30, 36)))
        cfg.update(batch=draw.choice((6, 8, 10)), sizes=(draw.choice((3, 4)), draw.choice((8, 12, 16))))
        cfg.update(dropout=draw.uniform(0.1, 0.5), decay=draw.uniform(0.5, 0.95))
        cfg.update(init_scale=2.0 ** draw.choice((4, 8, 12)), growth_interval=draw.choice((1, 2, 3)))
        options = {"lr": draw.uniform(0.005, 0.05), **options}
    saved = cfg["saved_after"]
    cfg["scheduler_options"] = {
        "MultiStepLR": {"milestones": [saved + 1, saved + 2], "gamma": 0.5},
        "StepLR": {"step_size": saved + 1, "gamma": 0.3},
        "LinearLR": {"start_factor": 0.25, "total_iters": cfg["epochs"]},
    }[scheduler]
    label = (
        f"torch.optim.{name}({_options_text(options)}) and {scheduler}({_options_text(cfg['scheduler_options'])}), "
        f"{str(dtype).replace('torch.', '')}, saved after {saved} of {cfg['epochs']} epochs"
    )
    return config(label, optimizer=name, options=options, scheduler=scheduler, dtype=dtype, **cfg)


def _configs_09_3():
    return draw_configs("09.3", _config_09_3, len(_SETUPS_09_3))


def _resume_data(cfg):
    with seeded(cfg["seeds"][0]):
        x = torch.randn(cfg["samples"], cfg["sizes"][0], dtype=cfg["dtype"])
        return x, torch.randint(0, 3, (cfg["samples"],))


def _resume_build(cfg, seed):
    d_in, hidden = cfg["sizes"]
    with seeded(seed):
        model = nn.Sequential(nn.Linear(d_in, hidden), nn.Dropout(cfg["dropout"]), nn.ReLU(), nn.Linear(hidden, 3))
    model = model.to(cfg["dtype"])
    optimizer = getattr(torch.optim, cfg["optimizer"])(model.parameters(), **cfg["options"])
    scheduler = getattr(lr_scheduler, cfg["scheduler"])(optimizer, **cfg["scheduler_options"])
    scaler = torch.amp.GradScaler("cpu", init_scale=cfg["init_scale"], growth_interval=cfg["growth_interval"])
    return model, optimizer, scheduler, scaler, production.EMA(model, decay=cfg["decay"])


def _resume_epoch(model, optimizer, scheduler, scaler, ema, data, batch):
    x, y = data
    losses = []
    for indices in torch.randperm(len(x)).split(batch):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x[indices]), y[indices])
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        ema.update_parameters(model)
        losses.append(loss.item())
    scheduler.step()
    return {"the batch losses": torch.tensor(losses, dtype=torch.float64)}


def _resume_outcome(parts, data, cfg, start):
    """The epochs from ``start`` on, and where the scaler and the EMA end."""
    epochs = [_resume_epoch(*parts, data, cfg["batch"]) for _ in range(start, cfg["epochs"])]
    _, _, _, scaler, ema = parts
    return {
        "first": start,
        "epochs": epochs,
        "scaler": (scaler.get_scale(), int(scaler.state_dict()["_growth_tracker"])),
        "ema": [t.detach().clone() for t in ema.state_dict().values()],
    }


def _checkpoint_09_3(cfg):
    """The checkpoint bytes after ``saved_after`` epochs, and the uninterrupted outcome."""
    data_seed, model_seed, run_seed, _, _ = cfg["seeds"]
    data = _resume_data(cfg)
    with seeded(run_seed):
        parts = _resume_build(cfg, model_seed)
        for _ in range(cfg["saved_after"]):
            _resume_epoch(*parts, data, cfg["batch"])
        model, optimizer, scheduler, scaler, ema = parts
        buffer = io.BytesIO()
        production.save_checkpoint(
            buffer,
            model=model,
            optimizer=optimizer,
            scheduler=scheduler,
            scaler=scaler,
            ema=ema,
            epoch=cfg["saved_after"],
        )
        return buffer.getvalue(), _resume_outcome(parts, data, cfg, cfg["saved_after"])


def _run_09_3(invoke, cfg):
    """Resume into objects built in another "process" (other weights, another RNG state)."""
    saved, _ = _checkpoint_09_3(cfg)
    *_, other_model_seed, other_run_seed = cfg["seeds"]
    with seeded(other_run_seed):
        parts = _resume_build(cfg, other_model_seed)
        checkpoint = torch.load(io.BytesIO(saved), weights_only=True)
        start = invoke(checkpoint, *parts)
        if not torch.equal(torch.get_rng_state(), checkpoint["rng"]["torch"]):
            fail(_RNG_NOT_RESTORED)
        if isinstance(start, bool) or not isinstance(start, int):
            if start is None:
                fail("your `resume` returned None: did it forget to `return` checkpoint['epoch']?")
            fail(f"your `resume` returned {start!r}; return the epoch to start from, checkpoint['epoch'] (an int).")
        if start != cfg["saved_after"]:
            fail(
                f"your function returned epoch {start}, but the checkpoint was written after "
                f"{cfg['saved_after']} epochs: return checkpoint['epoch']."
            )
        return _resume_outcome(parts, _resume_data(cfg), cfg, start)


def _compare_09_3(got, expected):
    """The losses epoch by epoch, then the scaler's state, then the EMA's."""
    mismatch = labelled_mismatch(
        got["epochs"], expected["epochs"], unit="epoch", first=expected["first"], reference="the uninterrupted run"
    )
    if mismatch is not None:
        return mismatch
    if got["scaler"] != expected["scaler"]:
        return Difference("scaler", "the losses are right but the GradScaler's scale and growth tracker are not")
    if len(got["ema"]) != len(expected["ema"]) or not all(map(torch.equal, got["ema"], expected["ema"])):
        return Difference("ema", "the losses are right but the EMA of the weights is not")
    return None


def _otherwise_09_3(mismatch, cfg):
    name = getattr(mismatch, "name", "")
    if name == "scaler":
        return _SCALER_NOT_LOADED
    if name == "ema":
        return _EMA_NOT_LOADED
    return "restore the model, optimizer, scheduler, scaler, EMA and the RNG state."


SPEC_09_3 = Spec(
    configs=_configs_09_3,
    reference=lambda cfg: _checkpoint_09_3(cfg)[1],
    run=_run_09_3,
    mistakes=MISTAKES_09_3,
    otherwise=_otherwise_09_3,
    may_modify=(0, 1, 2, 3, 4, 5),
    compare=_compare_09_3,
    success=(
        "in all {n} configurations (Adam, SGD, AdamW and RMSprop; MultiStepLR, StepLR and "
        "LinearLR; float32 and float64; runs stopped at different epochs) every epoch after the "
        "resume has exactly the losses of the uninterrupted run, and the scaler and the EMA are "
        "where they were."
    ),
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
    """Resume runs of the checker's own and compare every loss and state with the uninterrupted runs."""
    _one_thread()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return grade_spec(SPEC_09_3, resume, name="`resume`")
