"""Grading by specification: configurations drawn at check time, a table of known mistakes,
and one policy for unrequested options and for answer types.

An exercise that takes code is graded by running it on several configurations next to a
reference (torch itself), then, where it differs, by running the known wrong variants of
the exercise on the same configuration and naming the one the answer matches::

    def _configs():
        return draw_configs("03.3", _one_config, 12)      # seeded by the key: same verdict every run

    def _one_config(draw, i):
        shape = draw.shape()                               # (), (3,), (2, 3), ...
        dtype = draw.dtype()                               # float32 or float64
        return config(f"shape {shape}, {dtype}", shape=shape, dtype=dtype,
                      lr=draw.uniform(0.01, 0.5))

    SPEC = Spec(configs=_configs,
                reference=lambda cfg: ...,                 # torch's result on cfg
                run=lambda invoke, cfg: ...,               # invoke(...) calls the answer
                mistakes=[Mistake("lr ignored", _lr_ignored, "use the `lr` argument.")],
                otherwise="compare your step with torch's update rule.",
                success="matches torch.optim.SGD in all {n} configurations.")

    @exercise("03.3", ...)
    def grade_step(step):
        return grade_spec(SPEC, step, name="`step`")

``run(invoke, cfg)`` is written once: for the learner's answer ``invoke`` is a safe
:func:`~._calling.call` (time budget, exceptions with the learner's line, in-place changes,
patched torch), for a variant of the mistake table it is the variant itself. Its result
is what ``reference(cfg)`` returns: a list of steps as :func:`~._steps.first_mismatch`
compares them (tensors, numbers, lists, ``{name: tensor}`` dicts).

A run counted in the exercise's own unit compares with :func:`labelled_mismatch` (steps are
``{label: value}`` dicts, reported as "matches the uninterrupted run for epoch 5, differs at
epoch 6 (lr of group 1: ...)"); what is not a run of steps (a state at the end, one predicted
value) is reported by a :class:`Difference` in words. ``Spec(match_every_config=True)`` names
a mistake only where its variant explains the answer in every configuration.

Policies shared by every lesson:

- :func:`expect_options`: a hyperparameter that changes the update and was not asked for
  is named and rejected ("group 0 sets momentum=0.9, which the exercise did not ask
  for"); one that was asked for and differs says both values.
- :func:`expect_instance` / :func:`expect_optimizer`: an answer's type is checked with
  ``isinstance`` against torch's real class, never by name (a class called ``SGD`` that
  subclasses Adam is not SGD), and an optimizer also by behaviour: its ``step()`` must do
  what the real class's does.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import itertools
import math
import random
import zlib
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import torch

from ._assertions import _index_text, expect_callable, fmt, tolerance
from ._calling import call
from ._feedback import Feedback, Reject, correct, fail
from ._steps import Mismatch, first_mismatch

__all__ = [
    "Draw",
    "Config",
    "config",
    "draw_configs",
    "seed_of",
    "flag_grid",
    "Mistake",
    "Spec",
    "grade_spec",
    "run_answer",
    "matching_mistake",
    "expect_options",
    "torch_defaults",
    "NEUTRAL_OPTIONS",
    "expect_instance",
    "expect_optimizer",
]


# --------------------------------------------------------------------------- configurations


def seed_of(key: str, index: int = 0) -> int:
    """A seed that depends only on the exercise key and the index (not on PYTHONHASHSEED)."""
    return zlib.crc32(f"{key}/{index}".encode())


class Draw:
    """The random source of one configuration: reproducible, private (never the notebook's RNG).

    ``draw.shape()``, ``draw.dtype()``, ``draw.uniform(a, b)``, ``draw.choice(options)``,
    ``draw.tensor(shape, dtype, kind)``.
    """

    def __init__(self, seed: int):
        self.seed = seed
        self.random = random.Random(seed)
        self.generator = torch.Generator().manual_seed(seed)

    def choice(self, options: Sequence):
        """One of ``options``."""
        return options[self.random.randrange(len(options))]

    def uniform(self, low: float, high: float, digits: int = 3) -> float:
        """A float between ``low`` and ``high``, rounded to ``digits`` significant digits
        (so that messages quote short numbers)."""
        value = self.random.uniform(low, high)
        return float(f"{value:.{digits}g}")

    def dtype(self, options=(torch.float32, torch.float64)) -> torch.dtype:
        """float32 or float64."""
        return self.choice(options)

    def shape(self, options=((), (3,), (2, 3), (4, 1), (1, 5), (3, 2, 2))) -> tuple:
        """A tensor shape: 0-dim, vectors and non-square matrices by default."""
        return tuple(self.choice(options))

    def tensor(self, shape, dtype=torch.float64, kind: str = "normal") -> torch.Tensor:
        """A tensor of ``kind``: "normal", "zero", "negative", "large" (about 1e4), "small"
        (about 1e-4), or "mixed" (normal, with zeros and a large entry where there is room)."""
        t = torch.randn(shape, generator=self.generator, dtype=torch.float64)
        if kind == "zero":
            t = torch.zeros(shape, dtype=torch.float64)
        elif kind == "negative":
            t = -t.abs() - 0.1
        elif kind == "large":
            t = t * 1e4
        elif kind == "small":
            t = t * 1e-4
        elif kind == "mixed" and t.numel() > 1:
            flat = t.view(-1)
            flat[0] = 0.0
            flat[-1] = flat[-1] * 1e3
        elif kind not in ("normal", "mixed"):
            raise ValueError(f"unknown tensor kind {kind!r}")
        return t.to(dtype)


@dataclasses.dataclass(frozen=True)
class Config:
    """One configuration an answer is graded on: a label for messages ("with momentum=0.9,
    float32") and read-only settings, read as ``cfg["lr"]`` or ``cfg.get("lr")``."""

    label: str
    settings: Mapping

    def __getitem__(self, name):
        return self.settings[name]

    def get(self, name, default=None):
        """The setting ``name``, or ``default``."""
        return self.settings.get(name, default)


def config(label: str, **settings) -> Config:
    """Return a :class:`Config` with read-only ``settings``."""
    return Config(label, MappingProxyType(dict(settings)))


def draw_configs(key: str, build: Callable[[Draw, int], Config], count: int) -> tuple:
    """Return ``build(Draw(seed_of(key, i)), i)`` for ``i`` in ``range(count)``.

    Drawn afresh at every check, but from seeds fixed by the key, so the verdict on an
    answer is the same every time; ``i`` lets ``build`` walk a grid (``flag_grid``) and draw
    the rest.
    """
    return tuple(build(Draw(seed_of(key, i)), i) for i in range(count))


def flag_grid(**axes: Sequence) -> tuple:
    """Every combination of the given values, as read-only dicts: ``flag_grid(nesterov=(False,
    True), maximize=(False, True))`` gives the four pairs, so every pair of flags that
    interact is graded together."""
    names = list(axes)
    return tuple(MappingProxyType(dict(zip(names, values))) for values in itertools.product(*(axes[n] for n in names)))


# --------------------------------------------------------------------------- mistakes and specs


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A known wrong answer: ``variant`` has the form of the answer (a function, a value),
    ``message`` says what is wrong and why, never the expected number."""

    name: str
    variant: Any
    message: str


@dataclasses.dataclass(frozen=True)
class Spec:
    """How to grade one exercise that takes code (see the module docstring).

    - ``configs()``: the configurations, drawn at check time (use :func:`draw_configs`).
    - ``reference(cfg)``: the expected outcome on ``cfg``, from torch.
    - ``run(invoke, cfg)``: the outcome of an answer; ``invoke(*args, **kwargs)`` calls it.
    - ``mistakes``: the table of known mistakes, tried in order.
    - ``otherwise``: the advice when no known mistake matches (a string, or a function of
      the Mismatch and the Config).
    - ``success``: the ✓ message; ``{n}`` becomes the number of configurations.
    - ``may_modify``/``returns``/``seconds``/``called_as``: passed to :func:`~._calling.call`
      for the answer (``called_as`` says how the answer is called when its parameters do not fit).
    - ``compare(got, expected)``: a Mismatch or None (default :func:`~._steps.first_mismatch`
      with dtypes checked: a float32 input gives float32 results).
    - ``match(got, variant_outcome)``: how an answer is matched to a mistake (default
      ``compare``); e.g. on the parameters only, when a returned value may differ too.
    - ``match_every_config``: name a mistake only if its variant reproduces the answer in
      every configuration, not only where the answer first differs: for answers whose
      mistakes coincide on single configurations (a count of bytes, a shape).
    """

    configs: Callable[[], Sequence[Config]]
    reference: Callable[[Config], Any]
    run: Callable[[Callable, Config], Any]
    mistakes: Sequence[Mistake] = ()
    otherwise: Any = "compare your code with the update rule in the lesson."
    success: str = "matches torch in all {n} configurations."
    may_modify: tuple = ()
    returns: Any = None
    seconds: float | None = None
    called_as: str | None = None
    compare: Callable[[Any, Any], Mismatch | None] = functools.partial(first_mismatch, check_dtype=True)
    match: Callable[[Any, Any], Mismatch | None] | None = None
    match_every_config: bool = False


def run_answer(spec: Spec, answer, cfg: Config, *, name: str | None = None):
    """Run the learner's ``answer`` on ``cfg`` through :func:`~._calling.call` (stops grading
    with feedback when it fails)."""
    invoke = functools.partial(
        call,
        answer,
        name=name,
        may_modify=spec.may_modify,
        returns=spec.returns,
        seconds=spec.seconds,
        called_as=spec.called_as,
    )
    return spec.run(invoke, cfg)


def _reproduces(spec: Spec, variant, cfg: Config, got) -> tuple:
    """``(whether the variant's outcome on cfg is got, that outcome)``."""
    try:
        outcome = spec.run(variant, cfg)
    except Exception:  # a variant that cannot run on this configuration does not match
        return False, None
    return (spec.match or spec.compare)(got, outcome) is None, outcome


def matching_mistake(spec: Spec, got, expected, cfg: Config, *, also: Sequence = ()) -> Mistake | None:
    """Return the first mistake of ``spec`` whose variant reproduces ``got`` on ``cfg`` and
    differs from ``expected`` there, or None. ``also`` holds ``(config, answer's outcome)``
    pairs the variant must reproduce too (see ``Spec.match_every_config``)."""
    for mistake in spec.mistakes:
        same, outcome = _reproduces(spec, mistake.variant, cfg, got)
        if not same or spec.compare(outcome, expected) is None:
            continue  # not the answer, or indistinguishable from the right answer here
        if all(_reproduces(spec, mistake.variant, c, g)[0] for c, g in also):
            return mistake
    return None


def _other_runs(spec: Spec, answer, configs, failed: int, seen: list) -> list:
    """``seen`` plus the answer's outcomes on the configurations after ``failed`` (those
    where the answer fails to run are left out: they cannot confirm a mistake)."""
    runs = list(seen)
    for cfg in configs[failed + 1 :]:
        try:
            runs.append((cfg, run_answer(spec, answer, cfg)))
        except Reject:
            continue
    return runs


def grade_spec(spec: Spec, answer, *, name: str | None = None) -> Feedback:
    """Grade ``answer`` over ``spec.configs()``: ✓ when it matches the reference in every
    configuration; else stop at the first configuration where it differs, say where
    ("with momentum=0.9, float32: matches torch for step 1, differs at step 2 (...)") and
    why (the matching mistake's message, or ``spec.otherwise``). ``name`` labels a
    non-function answer ("sgd_step should be a function, got int."); messages about a
    function's run use its own name."""
    expect_callable(answer, name or "your answer")
    configs = spec.configs()
    seen = []
    for index, cfg in enumerate(configs):
        expected = spec.reference(cfg)
        got = run_answer(spec, answer, cfg)
        mismatch = spec.compare(got, expected)
        if mismatch is None:
            if spec.match_every_config:
                seen.append((cfg, got))
            continue
        also = _other_runs(spec, answer, configs, index, seen) if spec.match_every_config else ()
        mistake = matching_mistake(spec, got, expected, cfg, also=also)
        if mistake is not None:
            cause = mistake.message
        elif callable(spec.otherwise):
            cause = spec.otherwise(mismatch, cfg)
        else:
            cause = spec.otherwise
        fail(f"with {cfg.label}: {mismatch}: {cause}")
    return correct(spec.success.format(n=len(configs)))


# --------------------------------------------------------------------------- comparisons for Spec.compare
# Runs counted in the exercise's own unit (epochs, updates), values named by their own labels,
# and differences told in words; lesson modules use them as a Spec's ``compare``.


def counted_head(n: int, *, unit: str = "step", first: int = 1, reference: str = "torch") -> str:
    """'matches torch for epochs 0–2, differs at epoch 3' ({unit}s counted from ``first``)."""
    if n == first:
        return f"differs from {reference} already at {unit} {n}"
    if n == first + 1:
        return f"matches {reference} for {unit} {first}, differs at {unit} {n}"
    return f"matches {reference} for {unit}s {first}–{n - 1}, differs at {unit} {n}"


@dataclasses.dataclass(frozen=True)
class CountedMismatch(Mismatch):
    """A :class:`~._steps.Mismatch` whose steps are counted in ``unit`` from ``first``:
    "matches the uninterrupted run for epoch 5, differs at epoch 6 (lr: got 0.3247, expected
    0.06113)". ``step`` stays the 1-based position in the run; ``name`` is printed as it is."""

    unit: str = "step"
    first: int = 1

    def __str__(self) -> str:
        head = counted_head(self.first + self.step - 1, unit=self.unit, first=self.first, reference=self.reference)
        what = self.detail or f"got {fmt(self.got, self.expected)}, expected {fmt(self.expected, self.got)}"
        return f"{head} ({self.name}{_index_text(self.index)}: {what})"


def labelled_mismatch(
    got: Sequence[Mapping],
    expected: Sequence[Mapping],
    *,
    unit: str = "step",
    first: int = 1,
    reference: str = "torch",
    rtol=None,
    atol=None,
) -> CountedMismatch | None:
    """Return where ``got`` first differs from ``expected``, or None.

    Both are runs with one ``{label: value}`` dict per step (values are tensors or numbers,
    compared as :func:`~._steps.first_mismatch` does, dtypes included); labels are checked in
    the expected dict's order, and a value of None on either side is not compared (a known
    mistake that does not determine that value).
    """
    got, expected = list(got), list(expected)
    for step, (g_step, e_step) in enumerate(zip(got, expected), start=1):
        for label, e_val in e_step.items():
            found = dict(step=step, name=label, reference=reference, unit=unit, first=first)
            if label not in g_step:
                return CountedMismatch(got=None, expected=None, detail="missing", **found)
            if g_step[label] is None or e_val is None:
                continue
            m = first_mismatch([g_step[label]], [e_val], rtol=rtol, atol=atol, check_dtype=True)
            if m is not None:
                return CountedMismatch(got=m.got, expected=m.expected, index=m.index, detail=m.detail, **found)
    if len(got) != len(expected):
        return CountedMismatch(
            step=min(len(got), len(expected)) + 1,
            name="the run",
            got=None,
            expected=None,
            detail=f"{len(got)} {unit}s, {reference} has {len(expected)}",
            reference=reference,
            unit=unit,
            first=first,
        )
    return None


@dataclasses.dataclass(frozen=True)
class Difference:
    """A difference told in words, for what is not a run of steps (a state at the end, one
    predicted value): ``str()`` is ``text``; ``name`` says what differs, for an ``otherwise``."""

    name: str
    text: str

    def __str__(self) -> str:
        return self.text


# --------------------------------------------------------------------------- options policy

# Keys of a param group that do not change the numbers of an update: the performance flags,
# the params themselves, and what schedulers and torch's state_dict add.
NEUTRAL_OPTIONS = frozenset({"params", "foreach", "fused", "differentiable", "capturable", "initial_lr", "param_names"})


def torch_defaults(cls) -> dict:
    """Return the keyword defaults of ``cls.__init__`` (torch's own class: its documented
    defaults), e.g. ``{"lr": 0.001, "momentum": 0, ...}`` for torch.optim.SGD."""
    params = inspect.signature(cls.__init__).parameters.values()
    return {
        p.name: p.default
        for p in params
        if p.default is not inspect.Parameter.empty and p.name not in ("self", "params")
    }


def _value(v):
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return v.item()
    return v


def _same_option(a, b) -> bool:
    a, b = _value(a), _value(b)
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=0.0)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same_option(x, y) for x, y in zip(a, b))
    return a == b


def _show(v) -> str:
    v = _value(v)
    return f"{v:g}" if isinstance(v, float) else repr(v) if isinstance(v, str) else str(v)


def expect_options(
    group: Mapping, *, asked: Mapping, defaults: Mapping, where: str, optimizer: str = "the optimizer"
) -> None:
    """Stop with a message unless every option of ``group`` that changes the update is
    either asked for (with the asked value) or left at ``defaults`` (torch's).

    ``asked`` maps option → value the exercise asks for; ``defaults`` maps option →
    torch's default (see :func:`torch_defaults`). :data:`NEUTRAL_OPTIONS` are ignored.
    """
    for key, value in group.items():
        if key in NEUTRAL_OPTIONS:
            continue
        if key in asked:
            if not _same_option(value, asked[key]):
                fail(f"{where} has {key}={_show(value)}; the exercise asks for {key}={_show(asked[key])}.")
        elif key in defaults:
            if not _same_option(value, defaults[key]):
                fail(
                    f"{where} sets {key}={_show(value)}, which the exercise did not ask for: "
                    f"leave it out ({optimizer}'s default is {key}={_show(defaults[key])})."
                )
        else:
            fail(
                f"{where} has an option {key!r} that {optimizer} does not use: a typo, or a "
                "key from another optimizer? Leave it out."
            )
    for key, value in asked.items():
        if key not in group:
            fail(f"{where} has no {key}; the exercise asks for {key}={_show(value)}.")


# --------------------------------------------------------------------------- answer types


def _class_text(cls) -> str:
    """'torch.optim.SGD' for torch's optimizer classes, the module path otherwise."""
    if getattr(torch.optim, cls.__name__, None) is cls:
        return f"torch.optim.{cls.__name__}"
    module = cls.__module__
    return (
        cls.__qualname__
        if module in ("builtins", "__main__") or module.startswith("<")
        else f"{module}.{cls.__qualname__}"
    )


def _real_base(cls) -> str:
    """' (a subclass of torch.optim.Adam)' for a class whose nearest torch base is Adam."""
    for base in cls.__mro__[1:]:
        if base.__module__.startswith("torch.") and base is not object:
            return f" (a subclass of {_class_text(base)})"
    return ""


def expect_instance(value, classes, name: str, what: str):
    """Return ``value`` if it is an instance of ``classes`` (real classes, by ``isinstance``,
    never by name); otherwise stop with one line saying what was given and what was asked.

    ``what`` names what was asked ("a torch.optim.SGD"). A class instead of an instance gets
    "returned the class X itself; call it".
    """
    classes = classes if isinstance(classes, tuple) else (classes,)
    if isinstance(value, classes) and not (isinstance(value, bool) and bool not in classes):
        return value
    if value is None:
        fail(f"{name} is None; expected {what}.")
    if isinstance(value, type):
        fail(
            f"{name} is the class {value.__name__} itself, not an object built from it: call it, "
            f"e.g. `{value.__name__}(...)`."
        )
    cls = type(value)
    fail(f"{name} is a {cls.__name__}{_real_base(cls)}; expected {what}.")


def expect_optimizer(opt, cls, name: str, *, also: Sequence[type] = (), steps: int = 2, seed: int = 0):
    """Return ``opt`` if it is a ``cls`` (torch's real class, or one of ``also``) that also
    behaves as one: ``steps`` steps on private copies of its parameters, with the same
    gradients, give the numbers of ``cls`` built from the same param groups and state.
    """
    expect_instance(opt, (cls, *also), name, f"a {_class_text(cls)}")
    try:
        mine, theirs = copy.deepcopy(opt), copy.deepcopy(opt)
    except Exception:
        return opt  # an optimizer over tensors that cannot be copied: the type check stands
    groups = [dict(g) for g in theirs.param_groups]
    reference = cls(groups)
    if theirs.state:
        reference.load_state_dict(theirs.state_dict())
    gen = torch.Generator().manual_seed(seed)
    mine_params = [p for g in mine.param_groups for p in g["params"]]
    ref_params = [p for g in reference.param_groups for p in g["params"]]
    for step in range(1, steps + 1):
        for a, b in zip(mine_params, ref_params):
            g = torch.randn(a.shape, generator=gen, dtype=torch.float64).to(a.dtype)
            a.grad, b.grad = g.clone(), g.clone()
        call(mine.step, name=f"{name}.step")
        reference.step()
        for i, (a, b) in enumerate(zip(mine_params, ref_params)):
            rtol, atol = tolerance(b.dtype)
            if not torch.allclose(a.detach(), b.detach(), rtol=rtol, atol=atol):
                fail(
                    f"{name} is a {type(opt).__name__}, but its step() does not do what "
                    f"{_class_text(cls)}'s does (parameter {i} differs at step {step}): "
                    f"use {_class_text(cls)} itself."
                )
    return opt
