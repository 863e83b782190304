"""The harness lesson 06's checkers run optimizers in: a toy problem with parameters of
several shapes and dtypes (one never gets a gradient), runs of a learner's optimizer class
or update function next to a trusted reference with parameters and state recorded at every
step, the side effects a step must not have, and the wrong variants that name a mistake.

An update function is run inside :class:`_Wrapped`, a trusted class, so its mistakes are
told apart from a class's; :class:`_Rule` and :func:`_variant` build the known wrong
variants from a per-tensor rule ``update(p, grad, state, group)``.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import pickle
from collections.abc import Callable

import torch
from torch.optim import Optimizer

from ._assertions import expect_callable, expect_finite, expect_tensor, fmt
from ._calling import call
from ._feedback import Reject, fail, not_attempted
from ._steps import first_mismatch
from ._stubs import is_stub

_DTYPE = torch.float64
_STEPS = 6


# ----------------------------------------------------------------------------- the toy problem


def _generator(seed):
    return torch.Generator().manual_seed(seed)


_SHAPES = {"w": (3, 2), "b": (2,), "s": (), "frozen": (4,)}


def _fresh_params(dtype=_DTYPE, seed=0):
    """Return ``{"w": (3, 2), "b": (2,), "s": 0-d, "frozen": (4,)}``: leaves of ``dtype`` that
    require grad (``frozen`` never gets a gradient)."""
    g = _generator(seed)
    return {
        name: torch.randn(shape, generator=g, dtype=_DTYPE).to(dtype).requires_grad_()
        for name, shape in _SHAPES.items()
    }


def _loss_terms(seed=1, steps=_STEPS):
    """Return curvature, centre and per-step noise for ``w`` and ``b`` (``frozen`` is never used)."""
    g = _generator(seed)
    terms = {}
    for name, shape in (("w", (3, 2)), ("b", (2,)), ("s", ())):
        curvature = 0.5 + 1.5 * torch.rand(shape, generator=g, dtype=_DTYPE)
        centre = torch.randn(shape, generator=g, dtype=_DTYPE)
        noise = torch.randn((steps, *shape), generator=g, dtype=_DTYPE)
        terms[name] = (curvature, centre, noise)
    return terms


def _loss(params, t, scale=1.0):
    """The loss at step ``t``: ``scale · sum 0.5 a (θ - c)^2 + n_t · θ`` over ``w``, ``b``, ``s``."""
    terms = _loss_terms()
    total = 0
    for name, (a, c, noise) in terms.items():
        p = params[name]
        a, c, n = (x.to(p.dtype) for x in (a, c, noise[t % len(noise)]))
        total = total + scale * ((0.5 * a * (p - c) ** 2).sum() + (n * p).sum())
    return total


@dataclasses.dataclass(frozen=True)
class _Case:
    """One configuration: constructor kwargs and, optionally, how to group the parameters."""

    label: str
    kwargs: dict
    groups: Callable | None = None
    dtype: torch.dtype = _DTYPE
    scale: float = 1.0  # of the loss, so of every gradient

    def param_groups(self, params):
        if self.groups is None:
            return [params["w"], params["b"], params["s"], params["frozen"]]
        return self.groups(params)

    def __post_init__(self):
        extra = [] if self.dtype == _DTYPE else ["float32 parameters"]
        extra += [] if self.scale == 1.0 else [f"gradients ×{self.scale:g}"]
        if extra:
            object.__setattr__(self, "label", f"{self.label}, {', '.join(extra)}")


@dataclasses.dataclass
class _Run:
    """What happened in one run: parameters and state after every step."""

    params: list  # per step: {name: tensor}
    state: list  # per step: {name: {key: tensor}}


def _snapshot(params, opt):
    values = {n: p.detach().clone() for n, p in params.items()}
    names = {id(p): n for n, p in params.items()}
    state = {}
    for p, s in opt.state.items():
        if isinstance(p, torch.Tensor) and id(p) in names:
            state[names[id(p)]] = {k: (v.detach().clone() if isinstance(v, torch.Tensor) else v) for k, v in s.items()}
    return values, state


def _backward(params, t, scale=1.0):
    for p in params.values():
        p.grad = None
    _loss(params, t, scale).backward()
    # Zero gradients: b[0] never gets one, w[1, 1] every other step, so that a buffer
    # that starts at 0 is exactly 0 there (sign(0) = 0, and x / |x| is NaN).
    params["b"].grad[0] = 0.0
    if t % 2 == 0:
        params["w"].grad[1, 1] = 0.0


def _reference_run(make, case, steps=_STEPS, start=0, params=None, opt=None):
    """Run a trusted optimizer (torch's, a reference or a variant) and record every step."""
    params = _fresh_params(case.dtype) if params is None else params
    opt = make(case.param_groups(params), **case.kwargs) if opt is None else opt
    run = _Run([], [])
    for t in range(start, start + steps):
        _backward(params, t, case.scale)
        opt.step()
        values, state = _snapshot(params, opt)
        run.params.append(values)
        run.state.append(state)
    return run


# ----------------------------------------------------------------------------- running learner classes

# Exception text → the likely cause, appended to the one-line error message.
_STEP_ADVICE = (
    (
        "leaf Variable that requires grad is being used in an in-place operation",
        "decorate `step` with `@torch.no_grad()` so the in-place update is not recorded by autograd.",
    ),
    ("NoneType", "a parameter without a gradient has `p.grad is None`: skip it with `if p.grad is None: continue`."),
    (
        "does not require grad and does not have a grad_fn",
        "`step` runs under `@torch.no_grad()`, so the closure's `backward()` needs "
        "`with torch.enable_grad(): loss = closure()`.",
    ),
    ("positional argument but 2 were given", "give `step` an optional closure: `def step(self, closure=None):`."),
    ("object has no attribute 'param_groups'", "call `super().__init__(params, defaults)` at the end of `__init__`."),
    (
        "must match the size of tensor",
        "is some state shared between parameters (kept in the group dict instead of `self.state[p]`)?",
    ),
)


# The same, for an update function run inside the trusted class.
_FUNCTION_ADVICE = (
    (
        "NoneType",
        "on the first step the buffer is None: create it first (`torch.zeros_like(param)`, or "
        "`grad.clone()` for torch's SGD).",
    ),
    (
        "leaf Variable that requires grad is being used in an in-place operation",
        "the optimizer calls your function under `torch.no_grad()`; did it switch gradients back on?",
    ),
)


def _with_advice(reject, table=_STEP_ADVICE):
    message = reject.feedback.message
    for needle, advice in table:
        if needle in message:
            return Reject(
                dataclasses.replace(reject.feedback, message=f"{message.rstrip('.')}. Likely cause: {advice}")
            )
    return reject


def _construct(cls, groups, kwargs):
    args = ", ".join(["params"] + [f"{k}={v!r}" for k, v in kwargs.items()])
    try:
        # torch's add_param_group fills the defaults into the group dicts it is given
        return call(cls, groups, name=f"`{cls.__name__}({args})`", may_modify=_parameter_names(cls), **kwargs)
    except Reject as rej:
        message = rej.feedback.message
        if "ValueError" in message and "Invalid" in message:
            # valid hyperparameters refused: a bound written with <= where torch writes <
            zero = [k for k, v in {**_defaults_of(cls), **kwargs}.items() if isinstance(v, (int, float)) and v == 0]
            fail(
                f"`{cls.__name__}({args})` raised ValueError for valid hyperparameters "
                f"({message.split('raised ValueError', 1)[-1].strip(' :.')}): "
                f"{' and '.join(f'{k} = 0' for k in zero) or 'the boundary value'} must be accepted "
                f"(momentum = 0 is plain SGD); torch refuses only negative values, `if momentum < 0.0:`."
            )
        raise _with_advice(rej) from None


def _defaults_of(cls) -> dict:
    """The keyword defaults of ``cls.__init__`` (what ``cls(params)`` uses)."""
    try:
        parameters = inspect.signature(cls.__init__).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def _learner_step(opt, closure=None, label=None):
    label = label or f"`{type(opt).__name__}.step`"
    table = _FUNCTION_ADVICE if isinstance(opt, _Wrapped) else _STEP_ADVICE
    try:
        if closure is None:
            return call(opt.step, name=label)
        return call(opt.step, closure, name=label)
    except Reject as rej:
        raise _with_advice(rej, table) from None


def _learner_run(cls, case, steps=_STEPS, start=0, params=None, opt=None, label=None):
    """Run the learner's optimizer on the toy problem, checking each step's side effects.

    ``label`` names the learner's code in messages (the class's ``step`` by default).
    """
    params = _fresh_params(case.dtype) if params is None else params
    opt = _construct(cls, case.param_groups(params), case.kwargs) if opt is None else opt
    label = label or f"`{cls.__name__}.step`"
    if not isinstance(opt, _Wrapped) and opt.state.get(params["frozen"]):
        fail(
            f"`{cls.__name__}.__init__` created state {sorted(opt.state[params['frozen']])} for every "
            "parameter, before any step, including one whose `.grad` stays None: create state "
            "lazily, in `step`, after the `p.grad is None` check (torch's optimizers do)."
        )
    run = _Run([], [])
    for t in range(start, start + steps):
        _backward(params, t, case.scale)
        grads = {n: p.grad.clone() for n, p in params.items() if p.grad is not None}
        frozen = params["frozen"].detach().clone()
        _learner_step(opt, label=label)
        for n, g in grads.items():
            if params[n].grad is None or not torch.equal(params[n].grad, g):
                fail(
                    f"{label} changed `{n}.grad` (step {t + 1}, with {case.label}): read the "
                    "gradient, never modify it; use out-of-place operations such as "
                    "`grad.add(...)`, `grad.mul(...)` or a new tensor."
                )
        if not torch.equal(params["frozen"].detach(), frozen):
            fail(
                f"{label} changed a parameter whose `.grad` is None (step {t + 1}): "
                "skip it with `if p.grad is None: continue`, as torch does."
            )
        _expect_no_aliasing(opt, params, label)
        values, state = _snapshot(params, opt)
        for n, v in values.items():
            bad = ~torch.isfinite(v)
            if bool(bad.any()) and n in grads and bool((grads[n][bad] == 0).all()):
                fail(
                    f"after step {t + 1} (with {case.label}), param '{n}' contains NaN or inf, "
                    "where its gradient is 0: is there a division by a buffer that is 0 "
                    "there? `x / x.abs()` is 0/0; `x.sign()` is 0 at 0, as the step needs."
                )
            expect_finite(v, f"after step {t + 1} (with {case.label}), param '{n}'")
        if state.get("frozen"):
            fail(
                f"{label} created state {sorted(state['frozen'])} for a parameter whose "
                "`.grad` is None: create state lazily, inside the loop, after the "
                "`p.grad is None` check."
            )
        run.params.append(values)
        run.state.append(state)
    return run


def _expect_no_aliasing(opt, params, label):
    """A state tensor must not share memory with its parameter's gradient (or the parameter)."""
    for n, p in params.items():
        for key, value in opt.state.get(p, {}).items():
            if not isinstance(value, torch.Tensor):
                continue
            ptr = value.untyped_storage().data_ptr()
            if p.grad is not None and ptr == p.grad.untyped_storage().data_ptr():
                fail(
                    f"{label} keeps `{n}.grad` itself as state['{key}']: the next `zero_grad()` "
                    "or `backward()` would overwrite your state. Store a copy, "
                    "`grad.clone()` (torch does the same)."
                )
            if ptr == p.untyped_storage().data_ptr():
                fail(
                    f"{label} keeps the parameter `{n}` itself as state['{key}']: store a new "
                    "tensor (`torch.zeros_like(p)` or a `.clone()`)."
                )


def _expect_optimizer_class(answer, name):
    """Stop unless ``answer`` is a subclass of torch.optim.Optimizer whose methods are not stubs."""
    if isinstance(answer, Optimizer):
        fail(f"pass the class `{name}` itself, not an instance: `check(..., {name})` without parentheses.")
    if not isinstance(answer, type):
        fail(f"`{name}` should be a class (a subclass of torch.optim.Optimizer), got {type(answer).__name__}.")
    if not issubclass(answer, Optimizer):
        fail(
            f"`{answer.__name__}` must subclass torch.optim.Optimizer: "
            f"`class {answer.__name__}(torch.optim.Optimizer):`."
        )
    # torch wraps `step` in a hook wrapper the first time the class is instantiated;
    # look through it, so an empty `step` is still recognised as a stub.
    for attr in ("__init__", "step"):
        method = _unwrap(getattr(answer, attr))
        if method is _unwrap(getattr(Optimizer, attr)):
            fail(f"`{answer.__name__}` does not define `{attr}`: write `def {attr}(self, ...)` in the class.")
        if is_stub(method):
            raise Reject(
                not_attempted(
                    f"`{answer.__name__}.{attr}` still has an empty body: write its code, then run this cell again."
                )
            )


def _unwrap(fn):
    while hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__
    return fn


def _expect_validation(cls, rows):
    """Each row ``(kwargs, message)``: ``cls(params, **kwargs)`` must raise torch's ValueError."""
    for kwargs, message in rows:
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        p = torch.zeros(2, dtype=_DTYPE, requires_grad=True)
        try:
            cls([p], **kwargs)
        except ValueError as exc:
            if str(exc) != message:
                fail(
                    f"`{cls.__name__}(params, {args})` raised ValueError({str(exc)!r}); "
                    f"torch's words are ValueError({message!r})."
                )
            continue
        except Exception as exc:  # noqa: BLE001 - reported to the learner
            fail(
                f"`{cls.__name__}(params, {args})` raised {type(exc).__name__} "
                f"({str(exc).strip().splitlines()[0] if str(exc).strip() else ''}); "
                f"expected ValueError({message!r})."
            )
        fail(
            f"`{cls.__name__}(params, {args})` should raise ValueError({message!r}) "
            "before calling `super().__init__`, as torch's optimizers do; it raised nothing."
        )


def _expect_defaults(cls, defaults):
    p = torch.zeros(2, dtype=_DTYPE, requires_grad=True)
    opt = _construct(cls, [p], {})
    group = opt.param_groups[0]
    for key, value in defaults.items():
        if key not in group:
            fail(
                f"`{cls.__name__}(params)` has no '{key}' in its param group: put every "
                "hyperparameter in the `defaults` dict you pass to `super().__init__`."
            )
        got = group[key]
        got = tuple(got) if isinstance(value, tuple) and isinstance(got, (list, tuple)) else got
        if got != value:
            fail(f"the default {key} should be {value!r}, got {got!r}.")


def _state_text(state):
    return ", ".join(f"'{k}'" for k in sorted(state)) or "nothing"


def _near(m) -> bool:
    """True if a mismatch is tiny (within 1e-5 relative): an approximation, not another rule."""
    if m.got is None or m.expected is None:
        return False
    return abs(m.got - m.expected) <= 1e-5 * max(abs(m.got), abs(m.expected))


def _compare_runs(name, case, got, expected, reference, diagnose, near_miss=None):
    """Stop at the first step where params or state differ; ``diagnose(kind)`` adds the cause,
    ``near_miss`` the cause of a tiny difference that no known variant explains."""
    m = first_mismatch(got.params, expected.params, reference=reference)
    if m is not None:
        cause = diagnose("params") or (near_miss if near_miss and _near(m) else None)
        fail(f"with {case.label}: {m}{': ' + cause if cause else '.'}")
    for step, (g_state, e_state) in enumerate(zip(got.state, expected.state), start=1):
        for pname, g_entries in g_state.items():
            extra = sorted(set(g_entries) - set(e_state.get(pname, {})))
            if extra:
                kept = f"keeps {_state_text(e_state[pname])}" if e_state.get(pname) else "keeps no state for it"
                no_momentum = case.kwargs.get("momentum", 0) == 0 and "momentum_buffer" in extra
                fail(
                    f"with {case.label}: after step {step}, `self.state` of param '{pname}' "
                    f"holds {', '.join(map(repr, extra))}; {reference} {kept}. Store only "
                    f"what the step needs{' (with momentum 0 there is no buffer)' if no_momentum else ''}: "
                    "`state_dict()` saves everything in `self.state`."
                )
        for pname, e_entries in e_state.items():
            g_entries = g_state.get(pname, {})
            for key, e_val in e_entries.items():
                if key not in g_entries:
                    fail(
                        f"with {case.label}: after step {step}, `self.state` of param '{pname}' "
                        f"holds {_state_text(g_entries)}; {reference} keeps '{key}'. "
                        f"Store it as `self.state[p]['{key}']`: `state_dict()` saves only "
                        "`self.state` and the param groups."
                    )
                mm = first_mismatch([g_entries[key]], [e_val], reference=reference, check_dtype=True)
                if mm is not None:
                    cause = (
                        diagnose("state")
                        if mm.got is not None
                        else f"torch keeps the state in the parameter's dtype ({e_val.dtype}): build it "
                        "from `p` or `p.grad` without changing its dtype"
                    )
                    where = f"[{', '.join(map(str, mm.index))}]" if mm.index else ""
                    fail(
                        f"with {case.label}: the parameters match {reference}, but after step "
                        f"{step} state['{key}'] of param '{pname}'{where} is "
                        f"{fmt(mm.got, mm.expected) if mm.got is not None else mm.detail}"
                        f"{'' if mm.got is None else ', expected ' + fmt(mm.expected, mm.got)}"
                        f"{': ' + cause if cause else '.'}"
                    )


def _matches(got, variant, with_state=False):
    if first_mismatch(got.params, variant.params) is not None:
        return False
    if not with_state:
        return True
    for g_state, v_state in zip(got.state, variant.state):
        for pname, entries in v_state.items():
            for key, value in entries.items():
                g = g_state.get(pname, {}).get(key)
                if g is None or first_mismatch([g], [value]) is not None:
                    return False
    return True


def _diagnoser(got, case, variants):
    """Return ``diagnose(kind)``: the message of the known wrong variant ``got`` matches.

    A variant that matches parameters *and* state wins over one that matches parameters
    only (two mistakes can move the parameters alike and still leave different buffers).
    Variants marked ``state_required`` must match the state as well.
    """

    def diagnose(kind):
        runs = []
        for message, make, state_required in variants:
            try:
                runs.append((message, state_required, _reference_run(make, case)))
            except Exception:  # noqa: BLE001 - a variant that cannot run this case
                continue
        for message, _, variant in runs:
            if _matches(got, variant, with_state=True):
                return message
        if kind == "params":
            for message, state_required, variant in runs:
                if not state_required and _matches(got, variant):
                    return message
        return None

    return diagnose


def _expect_closure_support(cls, case, make_reference):
    """``step(closure)`` calls the closure once with grad enabled and returns its loss."""
    params = _fresh_params(case.dtype)
    opt = _construct(cls, case.param_groups(params), case.kwargs)
    calls = []

    def closure():
        calls.append(1)
        _backward(params, 0, case.scale)
        return _loss(params, 0, case.scale).detach()

    returned = _learner_step(opt, closure)
    name = cls.__name__
    if not calls:
        fail(
            f"`{name}.step(closure)` never called the closure: start `step` with "
            "`if closure is not None: with torch.enable_grad(): loss = closure()`."
        )
    if len(calls) > 1:
        fail(f"`{name}.step(closure)` called the closure {len(calls)} times; call it once.")
    if returned is None:
        fail(f"`{name}.step(closure)` returned None: return the loss the closure returned, as torch's optimizers do.")
    if not isinstance(returned, torch.Tensor) or returned.numel() != 1:
        fail(f"`{name}.step(closure)` returned {type(returned).__name__}; return the closure's loss.")
    expected = _reference_run(make_reference, case, steps=1)
    m = first_mismatch([_snapshot(params, opt)[0]], expected.params, reference="the reference")
    if m is not None:
        fail(
            f"`{name}.step(closure)` updated the parameters differently from `step()` after "
            f"`backward()` ({m}): compute the closure's loss first, then take the step."
        )


def _expect_round_trip(cls, case, make_reference, split=3):
    """Save after ``split`` steps (``torch.save`` to memory), load into a new optimizer, continue."""
    name = cls.__name__
    params = _fresh_params(case.dtype)
    opt = _construct(cls, case.param_groups(params), case.kwargs)
    _learner_run(cls, case, steps=split, params=params, opt=opt)
    try:
        buffer = io.BytesIO()
        torch.save(opt.state_dict(), buffer)
        buffer.seek(0)
        saved = torch.load(buffer, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, TypeError, AttributeError) as exc:
        fail(
            f"`{name}().state_dict()` could not be saved and loaded with torch.save/torch.load "
            f"({type(exc).__name__}): keep only tensors and plain numbers in `self.state[p]` "
            "and in the param groups."
        )
    resumed = {n: p.detach().clone().requires_grad_() for n, p in params.items()}
    opt2 = _construct(cls, case.param_groups(resumed), case.kwargs)
    try:
        opt2.load_state_dict(saved)
    except Exception as exc:  # noqa: BLE001 - reported to the learner
        fail(f"`load_state_dict` failed on your optimizer's own state_dict ({type(exc).__name__}: {exc}).")
    got = _learner_run(cls, case, steps=_STEPS - split, start=split, params=resumed, opt=opt2)
    expected = _reference_run(make_reference, case)
    m = first_mismatch(got.params, expected.params[split:], reference="the uninterrupted run")
    if m is not None:
        fail(
            f"after saving at step {split} (with {case.label}) and loading into a new "
            f"`{name}`, the resumed run differs at step {split + m.step} "
            f"({m.name}): everything a step "
            "needs must live in `self.state[p]` and the param groups, the only things "
            "`state_dict()` saves, not in attributes of the optimizer (a step counter, "
            "`self.lr`, a dict of buffers)."
        )


def _grade_optimizer_class(
    answer, name, *, reference, make_reference, validation, defaults, cases, variants, round_trip_case
):
    """Stop at the first way the learner's optimizer class differs from ``make_reference``."""
    _expect_optimizer_class(answer, name)
    name = answer.__name__
    _expect_validation(answer, validation)
    _expect_defaults(answer, defaults)
    for case in cases:
        got = _learner_run(answer, case, label=f"`{name}.step`")
        expected = _reference_run(make_reference, case)
        _expect_moved(got, f"`{name}.step`", case)
        _compare_runs(name, case, got, expected, reference, _diagnoser(got, case, variants))
    _expect_closure_support(answer, cases[0], make_reference)
    _expect_round_trip(answer, round_trip_case, make_reference)


@dataclasses.dataclass(frozen=True)
class _UpdateSpec:
    """How the trusted class calls an update function ``fn(param, grad, buffer, **hyper)``."""

    key: str  # the state key of the buffer: "momentum_buffer", "exp_avg"
    hyper: Callable  # group -> keyword arguments of the function
    needs_buffer: Callable  # group -> must the function return a buffer?


class _Wrapped(Optimizer):
    """A trusted optimizer around a learner's update function, so the function is graded alone."""

    def __init__(self, params, *, fn, spec, defaults, **kwargs):
        self._fn = fn
        self._spec = spec
        super().__init__(params, {**defaults, **kwargs})

    @torch.no_grad()
    def step(self, closure=None):
        with torch.enable_grad():
            loss = closure() if closure is not None else None
        key, label = self._spec.key, _function_name(self._fn)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                keep = self._spec.needs_buffer(group)
                state = self.state[p] if keep else {}
                buf = self._fn(p, p.grad, state.get(key), **self._spec.hyper(group))
                if buf is not None and not keep:
                    fail(
                        f"{label} returned a buffer with momentum=0; return None then: "
                        "torch keeps no momentum_buffer without momentum."
                    )
                if buf is None and keep:
                    fail(
                        f"{label} returned None: return the new `{key}`; the optimizer stores "
                        f"it in `state['{key}']` and passes it back at the next step."
                    )
                if buf is not None:
                    expect_tensor(buf, f"the `{key}` returned by {label}", shape=p.shape, finite=False)
                    if buf.dtype != p.dtype:  # else float32 rounding is reported as a wrong rule
                        fail(
                            f"the `{key}` returned by {label} is {buf.dtype}, but the "
                            f"parameter is {p.dtype}: make it from the parameter or the "
                            "gradient (`torch.zeros_like(param)`, `grad.clone()`), so that it "
                            "has the parameter's dtype; `torch.zeros(shape)` is always float32."
                        )
                    state[key] = buf
        return loss


def _function_name(fn):
    """'`momentum_update`' for a named function; 'your lambda' or 'your function' otherwise."""
    name = getattr(fn, "__name__", None)
    if name is None:
        return "your function"
    return "your lambda" if name == "<lambda>" else f"`{name}`"


def _expect_update_function(fn, name):
    """Stop unless ``fn`` is a function (a class or an optimizer is the wrong answer here)."""
    if isinstance(fn, (Optimizer, type)):
        fail(
            f"`{name}` should be the update function itself, got "
            f"{'an optimizer' if isinstance(fn, Optimizer) else 'a class'}."
        )
    expect_callable(fn, f"`{name}`")


def _grade_update_function(fn, name, *, spec, reference, make_reference, defaults, cases, variants, near_miss=None):
    """Run ``fn`` inside the trusted :class:`_Wrapped` on every case, against the reference;
    ``near_miss`` names the likely cause of a difference in the last digits only."""
    _expect_update_function(fn, name)
    label = _function_name(fn)

    def make(params, **kwargs):
        return _Wrapped(params, fn=fn, spec=spec, defaults=defaults, **kwargs)

    # The learner's buffer is the state: a variant must match it as well as the parameters.
    variants = [(message, make_variant, True) for message, make_variant, _ in variants]
    for case in cases:
        params = _fresh_params(case.dtype)
        opt = make(case.param_groups(params), **case.kwargs)
        got = _learner_run(make, case, params=params, opt=opt, label=label)
        expected = _reference_run(make_reference, case)
        _expect_moved(got, label, case)
        _compare_runs(label, case, got, expected, reference, _diagnoser(got, case, variants), near_miss)
    return len(cases)


def _expect_moved(got, label, case):
    start = _fresh_params(case.dtype)
    if all(torch.equal(step[n], start[n].detach()) for step in got.params for n in ("w", "b")):
        fail(
            f"{label} did not change any parameter (with {case.label}): update `param` in "
            "place, e.g. `param.add_(..., alpha=-lr)`."
        )


class _Rule(Optimizer):
    """A trusted loop around ``update(p, grad, state, group)``, used to build wrong variants.

    ``hyper="defaults"`` reads the hyperparameters from ``self.defaults`` instead of the
    group (the mistake of ignoring param groups); ``fresh_state=True`` forgets the state
    between steps.
    """

    def __init__(self, params, *, update, defaults, hyper="group", fresh_state=False, **kwargs):
        self._update = update
        self._hyper = hyper
        self._fresh_state = fresh_state
        super().__init__(params, {**defaults, **kwargs})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            hyper = self.defaults if self._hyper == "defaults" else group
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = {} if self._fresh_state else self.state[p]
                self._update(p, p.grad, state, hyper)


def _variant(update, defaults, **options):
    def make(params, **kwargs):
        return _Rule(params, update=update, defaults=defaults, **options, **kwargs)

    return make


def _parameter_names(fn):
    """The names of ``fn``'s parameters (make_closure may leave its arguments' grads alone or not)."""
    try:
        return tuple(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return ()
