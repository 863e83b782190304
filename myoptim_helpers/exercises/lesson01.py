"""Checkers for lesson 01 · Parameters: what an optimizer sees.

Every grader builds its own models (the lesson's ``Linear → Tanh → … → Linear`` stack,
in two depths so that a hard-coded layer index is caught) and inspects the optimizer the
learner's code returns: which tensors each param group holds, with which hyperparameters.
"""

import math

import torch
from torch import nn

from ._assertions import expect_callable
from ._calling import call
from ._engine import expect_optimizer, expect_options, torch_defaults
from ._feedback import Reject, correct, error, fail
from ._isolation import seeded
from ._registry import exercise

_SGD_DEFAULTS = torch_defaults(torch.optim.SGD)

# ----------------------------------------------------------------------------- shared


def _model(n_linear=3, seed=0):
    """Return the lesson's float64 model: ``n_linear`` Linear layers (2 → 8 → … → 1), Tanh between.

    With 3 layers the Linear layers sit at indices 0, 2, 4 (names ``0.weight`` … ``4.bias``).
    """
    layers, width = [], 2
    with seeded(seed):
        for _ in range(n_linear - 1):
            layers += [nn.Linear(width, 8, dtype=torch.float64), nn.Tanh()]
            width = 8
        layers.append(nn.Linear(width, 1, dtype=torch.float64))
    return nn.Sequential(*layers)


def _data(seed=1):
    """Return a small float64 regression batch ``(x, y)`` for the lesson's model."""
    with seeded(seed):
        x = torch.randn(16, 2, dtype=torch.float64)
    return x, torch.sin(x[:, :1]) * x[:, 1:]


def _names(tensors_or_names):
    """Return names joined for a message: "0.weight, 0.bias"."""
    return ", ".join(tensors_or_names)


def _held(optimizer, model):
    """Return ``[(group index, name or None), ...]`` for every tensor in the optimizer's groups."""
    names = {id(p): n for n, p in model.named_parameters()}
    return [(i, names.get(id(p))) for i, group in enumerate(optimizer.param_groups) for p in group["params"]]


def _call_builder(fn, model, label):
    """Call ``fn(model)``, which must return an SGD optimizer without touching ``model``."""
    flags = [(n, p.requires_grad) for n, p in model.named_parameters()]
    opt = _call_explaining_index(fn, model, label=label)
    for name, flag in flags:
        if model.get_parameter(name).requires_grad != flag:
            fail(
                f"{label} changed `requires_grad` of {name}: choose the parameters you pass "
                "to the optimizer instead of freezing parts of the model."
            )
    from ..optim import SGD as HelpersSGD  # our own SGD is as good an answer

    if not isinstance(opt, (torch.optim.SGD, HelpersSGD)):
        base = next((b.__name__ for b in type(opt).__mro__[1:] if b.__module__.startswith("torch.")), "")
        named = f" (a subclass of {base})" if base and base != type(opt).__name__ else ""
        fail(
            f"{label} returned {type(opt).__name__}{named}; the exercise asks for SGD "
            "(torch.optim.SGD or myoptim_helpers.optim.SGD)."
        )
    return opt


def _expect_sgd_behaviour(opt, label):
    """An SGD subclass must also step as SGD does (a changed step() is not SGD)."""
    from ..optim import SGD as HelpersSGD

    expect_optimizer(opt, torch.optim.SGD, f"the optimizer {label} returned", also=(HelpersSGD,))


def _call_explaining_index(fn, model, *, label):
    try:
        opt = call(fn, model, name=label)
    except Reject as rej:
        message = rej.feedback.message
        n_linear = sum(isinstance(m, nn.Linear) for m in model)
        if "raised IndexError" in message:
            raise Reject(
                error(
                    f"{message}. This checker also tries a model with {n_linear} Linear layers: "
                    "did you hard-code a layer index? `model[-1]` is the last layer of any "
                    "nn.Sequential."
                )
            ) from None
        if "more than one parameter group" in message:
            raise Reject(
                error(
                    f"{message}. torch refuses a parameter in two groups: leave the last layer "
                    "out of the other group(s)."
                )
            ) from None
        raise
    if opt is None:
        fail(f"{label} returned None: did it forget to `return` the optimizer?")
    if not isinstance(opt, torch.optim.Optimizer):
        fail(
            f"{label} returned a {type(opt).__name__}, not an optimizer: pass the parameters "
            "to torch.optim.SGD(...) and return the optimizer."
        )
    return opt


def _expect_no_empty_group(opt):
    for i, group in enumerate(opt.param_groups):
        if len(group["params"]) == 0:
            fail(
                f"param group {i} holds no parameters, and torch did not complain. Was its "
                "generator (`.parameters()`) already consumed, e.g. by counting or printing "
                "it? A generator can be iterated once: wrap it in `list(...)`."
            )


def _expect_only_model_tensors(held):
    strangers = [i for i, name in held if name is None]
    if strangers:
        fail(
            f"param group {strangers[0]} holds a tensor that is not a parameter of the model "
            "you were given: build the optimizer from `model`'s own parameters."
        )


def _lr(value):
    return float(value.item() if isinstance(value, torch.Tensor) else value)


def _is_lr(value, wanted):
    """True if the group's lr is ``wanted``; a float32 tensor lr (torch accepts one) is 0.1 too."""
    return math.isclose(_lr(value), wanted, rel_tol=1e-6)


# ----------------------------------------------------------------------------- 01.1


def last_layer_optimizer(model):
    """Return SGD with lr=0.1 over the last layer of ``model`` only (solves 01.1)."""
    return torch.optim.SGD(model[-1].parameters(), lr=0.1)


@exercise(
    "01.1",
    title="Train only the last layer",
    solution=last_layer_optimizer,
    hints=[
        "An optimizer updates exactly the tensors you hand it. Which module holds the last layer's weight and bias?",
        "`model[-1]` is the last layer of an nn.Sequential; `model[-1].parameters()` yields its "
        "weight and bias. Pass them to torch.optim.SGD with lr=0.1.",
    ],
)
def grade_last_layer(last_layer_optimizer):
    """01.1: ``last_layer_optimizer(model)`` returns SGD(lr=0.1) over the last layer only."""
    label = "`last_layer_optimizer`"
    for n_linear in (3, 2, 4):
        model = _model(n_linear)
        opt = _call_builder(last_layer_optimizer, model, label)
        _expect_no_empty_group(opt)
        held = _held(opt, model)
        _expect_only_model_tensors(held)
        last = str(len(model) - 1)
        wanted = [n for n, _ in model.named_parameters() if n.split(".")[0] == last]
        got = [name for _, name in held]
        extra = [n for n in dict.fromkeys(got) if n not in wanted]
        missing = [n for n in wanted if n not in got]
        if extra and not any(n in got for n in wanted):
            fail(
                f"with a {n_linear}-layer model the optimizer holds {_names(extra)}, but the "
                f"last layer is layer {last} ({_names(wanted)}). Did you hard-code an index? "
                "`model[-1]` is the last layer of any nn.Sequential."
            )
        if extra:
            fail(
                f"the optimizer also holds {_names(extra)}: step() updates every parameter it "
                "holds that has a gradient, so those layers would train too."
            )
        if missing:
            fail(
                f"the optimizer misses {_names(missing)}: the last layer has a weight and a "
                "bias, and both should train."
            )
        lrs = sorted({_lr(g["lr"]) for g in opt.param_groups})
        if not all(_is_lr(lr, 0.1) for lr in lrs):
            fail(
                f"the learning rate is {', '.join(f'{lr:g}' for lr in lrs)}; the exercise asks "
                "for lr=0.1 (SGD's default is 0.001)."
            )
        for i, group in enumerate(opt.param_groups):
            expect_options(group, asked={"lr": 0.1}, defaults=_SGD_DEFAULTS, where=f"param group {i}", optimizer="SGD")
        _expect_sgd_behaviour(opt, label)
    return correct(
        "the optimizer holds exactly the last layer's weight and bias, with lr=0.1 "
        "and nothing else changed from SGD's defaults, for models of 3, 2 and 4 "
        "layers."
    )


# ----------------------------------------------------------------------------- 01.2


def _scenario_01_2():
    """The lesson's 01.2 set-up: layer 0 frozen; the optimizer holds layers 0 and 4."""
    model = _model(3)
    model[0].requires_grad_(False)
    opt = torch.optim.SGD([*model[0].parameters(), *model[4].parameters()], lr=0.1)
    return model, opt


_SOLUTION_01_2 = 'changed = {"4.weight", "4.bias"}'


@exercise(
    "01.2",
    title="Which parameters change?",
    solution=_SOLUTION_01_2,
    hints=[
        "A parameter changes in step() only if (1) the optimizer holds it and (2) its .grad is not None.",
        "A frozen parameter (requires_grad=False) never gets a .grad. Layer 2 gets one, but is it in the optimizer?",
    ],
)
def grade_changed(changed):
    """01.2: the set of parameter names that one step changes in the lesson's scenario."""
    model, opt = _scenario_01_2()
    all_names = [n for n, _ in model.named_parameters()]
    if isinstance(changed, str):
        fail('`changed` is one string; make it a set of names, e.g. {"0.weight", "0.bias"}.')
    if not isinstance(changed, (set, frozenset, list, tuple)):
        fail(f'`changed` should be a set of parameter names, like {{"4.weight"}}; got {type(changed).__name__}.')
    if any(not isinstance(n, str) for n in changed):
        fail('`changed` should hold parameter names as strings, like "2.weight".')
    unknown = [n for n in changed if n not in all_names]
    if unknown:
        fail(f"there is no parameter called {unknown[0]!r} in this model; its names are {_names(all_names)}.")

    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    x, y = _data()
    opt.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    opt.step()
    truth = {n for n, p in model.named_parameters() if not torch.equal(p.detach(), before[n])}

    in_opt = {id(p) for g in opt.param_groups for p in g["params"]}
    for name in all_names:  # explain the first wrong name, in model order
        p = model.get_parameter(name)
        if (name in changed) == (name in truth):
            continue
        if name in truth:
            fail(f"{name} does change: the optimizer holds it and it gets a gradient.")
        if id(p) in in_opt:
            fail(
                f"{name} does not change: the optimizer holds it, but its layer is frozen, so "
                "its .grad stays None, and step() skips parameters whose .grad is None."
            )
        fail(
            f"{name} does not change: it gets a gradient, but the optimizer does not hold it, "
            "and step() updates only the tensors it was given."
        )
    return correct(
        "only the last layer changes: layer 0 is held but frozen (no .grad), layer 2 has a .grad but is not held."
    )


# ----------------------------------------------------------------------------- 01.3


def add_new_head(optimizer, head):
    """Make ``optimizer`` also train ``head``: a group of its own, lr=0.01 (solves 01.3)."""
    optimizer.add_param_group({"params": head.parameters(), "lr": 0.01})


@exercise(
    "01.3",
    title="Add a late layer to the optimizer",
    solution=add_new_head,
    hints=[
        "`optimizer.add_param_group(dict)` appends a param group to an existing optimizer, in "
        "place; the keys you leave out come from the optimizer's defaults.",
        "`optimizer.add_param_group({'params': head.parameters(), 'lr': 0.01})` — nothing to return.",
    ],
)
def grade_add_head(add_new_head):
    """01.3: ``add_new_head(optimizer, head)`` makes the optimizer train ``head`` with lr=0.01,
    for the lesson's SGD with momentum and for an Adam (so that SGD-only keys are caught)."""
    label = "`add_new_head`"
    expect_callable(add_new_head, "add_new_head")
    for kind, make in _OPTIMIZERS_01_3:
        _check_add_head(add_new_head, label, kind, make)
    return correct(
        "the head has its own group with lr=0.01 (everything else from the "
        "optimizer's defaults), and the existing groups and state are untouched, for "
        "SGD with momentum and for Adam."
    )


# The lesson's optimizer, and an Adam: an answer that hard-codes SGD's keys differs on it.
_OPTIMIZERS_01_3 = (
    ("torch.optim.SGD(lr=0.1, momentum=0.9)", lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9)),
    (
        "torch.optim.Adam(lr=0.003, betas=(0.8, 0.99))",
        lambda params: torch.optim.Adam(params, lr=0.003, betas=(0.8, 0.99)),
    ),
)


def _check_add_head(add_new_head, label, kind, make):
    model = _model(3)
    opt = make(model.parameters())
    x, y = _data()
    for _ in range(2):  # some state (momentum buffers, Adam's averages) that must survive
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    with seeded(2):
        model[4] = nn.Linear(8, 1, dtype=torch.float64)
    head = model[4]
    old_groups = [(list(g["params"]), dict((k, v) for k, v in g.items() if k != "params")) for g in opt.param_groups]
    old_state = {id(p): {k: v.clone() for k, v in s.items()} for p, s in opt.state.items()}

    returned = call(
        lambda optimizer, head: add_new_head(optimizer, head), opt, head, name=label, may_modify=("optimizer",)
    )

    for i, group in enumerate(opt.param_groups):
        lacking = [k for k in opt.defaults if k not in group]
        if not isinstance(group.get("params"), list) or lacking:
            fail(
                f"with {kind}: group {i} is not a complete param group (it lacks "
                f"{', '.join(lacking) or 'a list of params'}): was it appended to "
                "`optimizer.param_groups` directly? `optimizer.add_param_group(...)` fills in "
                "the defaults and checks for duplicates."
            )
    head_ids = {id(p): n for n, p in head.named_parameters()}
    holding = [(i, head_ids[id(p)]) for i, g in enumerate(opt.param_groups) for p in g["params"] if id(p) in head_ids]
    if not holding:
        if isinstance(returned, torch.optim.Optimizer):
            fail(
                f"{label} returned a new optimizer, but the `optimizer` it was given still does "
                "not hold the head, and the training loop keeps using that one. "
                "`optimizer.add_param_group(...)` changes the optimizer in place."
            )
        _expect_no_empty_group(opt)
        fail("the optimizer still does not hold the head's weight and bias, so they would never train.")
    _expect_no_empty_group(opt)
    if len(opt.param_groups) < len(old_groups):
        fail(
            f"the optimizer now has {len(opt.param_groups)} group(s), it had "
            f"{len(old_groups)}: keep the existing groups and add one."
        )
    for i, (params, hyper) in enumerate(old_groups):
        group = opt.param_groups[i]
        if [id(p) for p in group["params"]] != [id(p) for p in params]:
            fail(
                f"group {i} changed its parameters; the head's parameters were "
                f"{'added to it' if any(j == i for j, _ in holding) else 'not added correctly'}. "
                "Give the head a group of its own with `add_param_group`."
            )
        for k, v in hyper.items():
            if group.get(k) != v:
                fail(f"group {i} changed {k} from {v} to {group.get(k)}; leave existing groups as they are.")
    for p, state in opt.state.items():
        for k, v in old_state.get(id(p), {}).items():
            if k not in state or not torch.equal(state[k], v):
                fail(
                    f"with {kind}: the optimizer's state of the existing parameters ({k}) "
                    "changed: keep it (rebuilding the optimizer would lose it)."
                )
    if len([p for p in opt.state if id(p) in old_state]) < len(old_state):
        fail(
            f"with {kind}: some of the optimizer's state was lost: keep it (rebuilding the "
            "optimizer would throw it away)."
        )
    names = [n for _, n in holding]
    missing = [n for n in head_ids.values() if n not in names]
    if missing:
        fail(f"the optimizer holds only part of the head: {_names(missing)} is missing.")
    if len(names) != len(set(names)):
        fail("the head's parameters appear twice in the optimizer.")
    optimizer_name = type(opt).__name__
    for i in sorted({i for i, _ in holding}):
        group = opt.param_groups[i]
        if not _is_lr(group["lr"], 0.01):
            fail(
                f"the head's parameters are in group {i} with lr={_lr(group['lr']):g}; the "
                "exercise asks for lr=0.01 (a key you leave out comes from the defaults)."
            )
        expect_options(
            group,
            asked={"lr": group["lr"]},
            defaults=opt.defaults,
            where=f"with {kind}, the head's group",
            optimizer=f"this {optimizer_name}",
        )


# ----------------------------------------------------------------------------- 01.4


def per_layer_sgd(model):
    """Return SGD(momentum=0.9), lr 0.01 for all layers but the last, 0.1 for it (solves 01.4)."""
    return torch.optim.SGD(
        [
            {"params": model[:-1].parameters(), "lr": 0.01},  # every layer but the last
            {"params": model[-1].parameters()},  # the last: the default lr
        ],
        lr=0.1,
        momentum=0.9,
    )


@exercise(
    "01.4",
    title="A learning rate per layer",
    solution=per_layer_sgd,
    hints=[
        "Pass a list of dicts, one per param group: `[{'params': ..., 'lr': 0.01}, "
        "{'params': ...}]`. Keyword arguments after the list are the defaults of every group.",
        "`model[:-1]` is an nn.Sequential of every layer but the last, `model[-1]` the last. "
        "Each parameter may appear in one group only.",
        "`torch.optim.SGD([{'params': model[:-1].parameters(), 'lr': 0.01}, "
        "{'params': model[-1].parameters()}], lr=0.1, momentum=0.9)`",
    ],
)
def grade_per_layer(per_layer_sgd):
    """01.4: SGD(momentum=0.9) with lr 0.01 for all layers but the last and 0.1 for the last."""
    label = "`per_layer_sgd`"
    for n_linear in (3, 2, 4):
        model = _model(n_linear)
        opt = _call_builder(per_layer_sgd, model, label)
        _expect_no_empty_group(opt)
        held = _held(opt, model)
        _expect_only_model_tensors(held)
        _expect_each_once(held, model)
        last = str(len(model) - 1)
        for i, group in enumerate(opt.param_groups):
            names = [name for j, name in held if j == i]
            lr = _lr(group["lr"])
            for name in names:
                wanted = 0.1 if name.split(".")[0] == last else 0.01
                if not _is_lr(lr, wanted):
                    where = "the last layer" if wanted == 0.1 else "a layer before the last"
                    fail(
                        f"{name} (in group {i}) learns with lr={lr:g}, but it is {where}, "
                        f"which should learn with lr={wanted:g}."
                    )
            if group["momentum"] != 0.9:
                fail(
                    f"group {i} has momentum={group['momentum']:g}: pass momentum=0.9 to the "
                    "constructor, which makes it the default of every group."
                )
            expect_options(
                group,
                asked={"lr": group["lr"], "momentum": 0.9},
                defaults=_SGD_DEFAULTS,
                where=f"group {i}",
                optimizer="SGD",
            )
        _expect_sgd_behaviour(opt, label)
    return correct(
        "every parameter is in exactly one group; the body learns with lr=0.01, "
        "the last layer with lr=0.1, all with momentum=0.9 and nothing else changed, "
        "for models of 3, 2 and 4 layers."
    )


def _expect_each_once(held, model):
    seen = {}
    for i, name in held:
        if name in seen:
            where = f"twice in group {i}" if seen[name] == i else f"in groups {seen[name]} and {i}"
            fail(f"{name} appears {where}: each parameter must be in exactly one group.")
        seen[name] = i
    missing = [n for n, _ in model.named_parameters() if n not in seen]
    if missing:
        fail(
            f"{_names(missing)} {'is' if len(missing) == 1 else 'are'} in no group, so "
            f"{'it' if len(missing) == 1 else 'they'} would never train. Every parameter of "
            "the model belongs in one of the groups."
        )
