"""Exercises of lesson 00 (start here): attach an optimizer, write a training step, pick Adam's lr.

Every grader builds its own objects, never the learner's: 00.1 runs the answer on the
lesson's model and on two others (deeper and float64, one with a frozen layer), checks the
optimizer by class and by behaviour, and rejects options the exercise did not ask for; 00.2
runs the training step on the lesson's set-up and on three others (Adam, Nesterov SGD,
RMSprop; other models, losses and data, a frozen layer and a parameter without gradient),
so that an answer using the notebook's globals or its own optimizer differs.
"""

import dataclasses
from types import MappingProxyType

import torch
from torch import nn

from ._assertions import expect_callable, expect_number
from ._calling import call
from ._engine import (
    Mistake,
    Spec,
    config,
    draw_configs,
    expect_instance,
    expect_optimizer,
    expect_options,
    grade_spec,
    torch_defaults,
)
from ._feedback import Reject, correct, error, fail, incorrect
from ._isolation import seeded
from ._registry import exercise
from ._steps import first_mismatch

LR = 0.1  # the learning rate exercise 00.1 asks for
ADAM_EPOCHS = 100
ADAM_TARGET = 0.02  # the noise floor of the data is about 0.009


def make_data():
    """Return ``(x, y)``: 40 points of y = 2x + 1 plus noise, exactly as in the lesson."""
    with seeded(0):
        x = torch.linspace(-2, 2, 40).unsqueeze(1)
        y = 2 * x + 1 + 0.1 * torch.randn_like(x)
    return x, y


def make_model():
    """Return the lesson's ``nn.Linear(1, 1)``, initialised with seed 1."""
    with seeded(1):
        return nn.Linear(1, 1)


# --------------------------------------------------------------------------- 00.1


def make_optimizer(model):
    """Return SGD over all of ``model``'s parameters with lr=0.1 (solution of 00.1)."""
    return torch.optim.SGD(model.parameters(), lr=0.1)


def _models_00_1():
    """The lesson's model, a deeper float64 one, and one with a frozen layer (whose
    parameters an answer may leave out: they never train anyway)."""
    with seeded(5):
        deep = nn.Sequential(nn.Linear(3, 4, dtype=torch.float64), nn.Tanh(), nn.Linear(4, 2, dtype=torch.float64))
        frozen = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    frozen[0].requires_grad_(False)
    return (
        ("the lesson's nn.Linear(1, 1)", make_model()),
        ("a float64 nn.Sequential of two Linear layers", deep),
        ("a model whose first layer is frozen", frozen),
    )


_SGD_DEFAULTS = torch_defaults(torch.optim.SGD)


@exercise(
    "00.1",
    title="Attach SGD to a model",
    solution=make_optimizer,
    hints=[
        "An optimizer is built from the tensors it will update: `model.parameters()`.",
        "`torch.optim.SGD(params, lr=...)`; use the `model` argument, not a global one.",
        "`return torch.optim.SGD(model.parameters(), lr=0.1)`",
    ],
)
def grade_make_optimizer(make_optimizer):
    """make_optimizer(model) must return SGD over all of model's parameters with lr=0.1,
    for the lesson's model and two others, and nothing else changed from SGD's defaults."""
    expect_callable(make_optimizer, "make_optimizer")
    from ..optim import SGD as HelpersSGD  # our own SGD is as good an answer

    for what, model in _models_00_1():
        try:
            opt = call(make_optimizer, model)
        except Reject as rej:
            if "empty parameter list" in rej.feedback.message:
                raise Reject(
                    error(
                        rej.feedback.message + ". `model.parameters()` is a generator: once something "
                        "(e.g. `list(...)` or another optimizer) has consumed it, it yields nothing. "
                        "Call `model.parameters()` again where you build the optimizer."
                    )
                ) from None
            if "raised AttributeError" in rej.feedback.message and what != _models_00_1()[0][0]:
                raise Reject(
                    error(
                        f"{rej.feedback.message}. This checker also tries {what}: "
                        "`model.parameters()` yields the parameters of any model."
                    )
                ) from None
            raise
        if opt is None:
            return incorrect("make_optimizer returned None: did it forget to `return` the optimizer?")
        if isinstance(opt, type):
            return incorrect(
                f"make_optimizer returned the class {opt.__name__} itself; "
                "call it: `torch.optim.SGD(model.parameters(), lr=0.1)`."
            )
        expect_instance(opt, (torch.optim.Optimizer,), "the value make_optimizer returned", "an optimizer")
        if not isinstance(opt, (torch.optim.SGD, HelpersSGD)):
            return incorrect(
                f"you built {type(opt).__name__}"
                f"{' (a subclass of ' + type(opt).__mro__[1].__name__ + ')' if type(opt).__name__ == 'SGD' else ''}"
                "; this exercise asks for SGD (torch.optim.SGD)."
            )
        held = [p for group in opt.param_groups for p in group["params"]]
        ours = dict(model.named_parameters())
        foreign = [p for p in held if not any(p is q for q in ours.values())]
        if foreign:
            return incorrect(
                f"for {what}, your optimizer holds {len(foreign)} tensor(s) that are "
                "not parameters of the `model` argument: did you use another model "
                "(e.g. the notebook's global `model`) or copies of its tensors?"
            )
        missing = [name for name, q in ours.items() if q.requires_grad and not any(p is q for p in held)]
        if missing:
            return incorrect(
                f"for {what}, your optimizer does not update model.{missing[0]}: pass all of `model.parameters()`."
            )
        for i, group in enumerate(opt.param_groups):
            lr = group.get("lr")
            if lr is not None and not isinstance(lr, torch.Tensor) and lr == 1e-3 and LR != 1e-3:
                return incorrect(f"the learning rate is {lr} (SGD's default); the exercise asks for lr={LR}.")
            expect_options(
                group,
                asked={"lr": LR},
                defaults=_SGD_DEFAULTS,
                where=f"param group {i}" if len(opt.param_groups) > 1 else "your optimizer",
                optimizer="SGD",
            )
        expect_optimizer(opt, torch.optim.SGD, "your optimizer", also=(HelpersSGD,))
    return correct(f"SGD over all the parameters with lr={LR}, for the lesson's model and two others.")


# --------------------------------------------------------------------------- 00.2


def train_step(model, optimizer, loss_fn, x, y):
    """Do one training step and return the loss before it (solution of 00.2)."""
    optimizer.zero_grad()  # forget the previous step's gradients
    loss = loss_fn(model(x), y)  # forward
    loss.backward()  # gradients into p.grad
    optimizer.step()  # p <- p - lr * p.grad
    return loss.item()


_REFERENCE_STEP = train_step  # the graders' parameters shadow the name


def _no_zero_grad(model, optimizer, loss_fn, x, y):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def _step_first(model, optimizer, loss_fn, x, y):
    optimizer.step()
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    return loss.item()


def _frozen(model, optimizer, loss_fn, x, y):
    return loss_fn(model(x), y).item()


def _own_sgd(model, optimizer, loss_fn, x, y):
    return _REFERENCE_STEP(model, torch.optim.SGD(model.parameters(), lr=LR), loss_fn, x, y)


def _global_data(model, optimizer, loss_fn, x, y):
    gx, gy = make_data()
    return _REFERENCE_STEP(
        model, optimizer, loss_fn, gx.to(x.dtype).expand(-1, x.shape[1]), gy.to(y.dtype).expand(-1, y.shape[1])
    )


def _own_loss(model, optimizer, loss_fn, x, y):
    return _REFERENCE_STEP(model, optimizer, nn.MSELoss(), x, y)


_MISTAKES_00_2 = (
    Mistake(
        "no zero_grad",
        _no_zero_grad,
        "the gradients add up from step to step: call `optimizer.zero_grad()` before `loss.backward()`.",
    ),
    Mistake(
        "step first",
        _step_first,
        "`optimizer.step()` runs before `loss.backward()`, so each update uses the previous "
        "call's gradients: zero_grad, forward, backward, then step.",
    ),
    Mistake(
        "frozen",
        _frozen,
        "the parameters never change: `optimizer.step()` must come after `loss.backward()`, "
        "with no `zero_grad()` in between, and use the `model` and `optimizer` arguments, "
        "not global ones.",
    ),
    Mistake(
        "own optimizer",
        _own_sgd,
        "the parameters moved as SGD with lr=0.1 moves them, not as the `optimizer` you were "
        "given: did your step build its own optimizer, or update the parameters by hand? "
        "Call `optimizer.step()` on the argument.",
    ),
    Mistake(
        "global data",
        _global_data,
        "the parameters moved as if trained on the lesson's data, not on the `x` and `y` "
        "you were given: use the arguments.",
    ),
    Mistake(
        "own loss",
        _own_loss,
        "the parameters moved as with nn.MSELoss, not with the `loss_fn` you were given: "
        "compute `loss_fn(model(x), y)`.",
    ),
)
STEPS = 4

# Each configuration other than the lesson's: another model, optimizer, loss and data, so that
# an answer that uses the notebook's globals, or builds its own optimizer, differs.
_SETUPS_00_2 = (
    (
        "the lesson's nn.Linear(1, 1) and torch.optim.SGD(lr=0.1), nn.MSELoss, 40 new points",
        lambda: nn.Linear(1, 1),
        "SGD",
        {"lr": 0.1},
        nn.MSELoss,
        (40, 1, 1),
        torch.float32,
    ),
    (
        "a float64 Linear-Tanh-Linear model (3 → 4 → 2), torch.optim.Adam(lr=0.01), nn.L1Loss, 7 samples",
        lambda: nn.Sequential(nn.Linear(3, 4, dtype=torch.float64), nn.Tanh(), nn.Linear(4, 2, dtype=torch.float64)),
        "Adam",
        {"lr": 0.01},
        nn.L1Loss,
        (7, 3, 2),
        torch.float64,
    ),
    (
        "nn.Linear(2, 1), torch.optim.SGD(lr=0.05, momentum=0.9, nesterov=True), nn.HuberLoss, 12 samples",
        lambda: nn.Linear(2, 1),
        "SGD",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True},
        nn.HuberLoss,
        (12, 2, 1),
        torch.float32,
    ),
    (
        "a model with a frozen first layer and an unused parameter (its .grad stays None), "
        "torch.optim.RMSprop(lr=0.01), nn.MSELoss, 9 samples",
        "frozen",
        "RMSprop",
        {"lr": 0.01},
        nn.MSELoss,
        (9, 2, 1),
        torch.float64,
    ),
)


class _WithUnused(nn.Module):
    """Two Linear layers, the first frozen, plus a parameter forward never uses."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(2, 3, dtype=torch.float64).requires_grad_(False)
        self.head = nn.Linear(3, 1, dtype=torch.float64)
        self.unused = nn.Parameter(torch.ones(2, dtype=torch.float64))

    def forward(self, x):
        return self.head(torch.tanh(self.body(x)))


def _configs_00_2():
    def build(draw, i):
        label, make, name, options, loss, (n, d_in, d_out), dtype = _SETUPS_00_2[i]
        return config(
            label,
            make=make,
            optimizer=name,
            options=MappingProxyType(options),
            loss=loss,
            sizes=(n, d_in, d_out),
            dtype=dtype,
            seed=draw.seed % 2**31,
        )

    return draw_configs("00.2", build, len(_SETUPS_00_2))


def _objects(cfg):
    """Fresh model, optimizer, loss and data for one configuration."""
    n, d_in, d_out = cfg["sizes"]
    with seeded(cfg["seed"]):
        model = _WithUnused() if cfg["make"] == "frozen" else cfg["make"]()
        x = torch.randn(n, d_in, dtype=cfg["dtype"])
        y = 3 * x[:, :1].expand(-1, d_out) - 1 + 0.1 * torch.randn(n, d_out, dtype=cfg["dtype"])
    optimizer = getattr(torch.optim, cfg["optimizer"])(model.parameters(), **cfg["options"])
    return model, optimizer, cfg["loss"](), x, y


def _run_00_2(invoke, cfg):
    model, optimizer, loss_fn, x, y = _objects(cfg)
    params, losses = [], []
    with torch.enable_grad():  # even if the notebook has switched gradients off
        for _ in range(STEPS):
            loss = invoke(model, optimizer, loss_fn, x, y)
            if loss is None:
                fail("train_step returned None: did it forget to `return loss.item()`?")
            if isinstance(loss, torch.Tensor):
                fail(
                    "train_step returned a Tensor; the exercise asks for the loss as a Python "
                    "float: `return loss.item()`."
                )
            if isinstance(loss, bool) or not isinstance(loss, float):
                fail(
                    f"train_step returned {type(loss).__name__}; the exercise asks for the loss "
                    "as a Python float: `return loss.item()`."
                )
            params.append({name: p.detach().clone() for name, p in model.named_parameters()})
            losses.append(loss)
    return params, losses


def _compare_00_2(got, expected):
    mismatch = first_mismatch(got[0], expected[0], check_dtype=True)
    if mismatch is not None:
        return mismatch
    mismatch = first_mismatch(got[1], expected[1], rtol=1e-5, atol=1e-6)
    return None if mismatch is None else dataclasses.replace(mismatch, name="the returned loss")


def _otherwise_00_2(mismatch, cfg):
    if mismatch.name == "the returned loss":
        return (
            "the parameters match torch, but train_step did not return the loss computed "
            "before the update: return `loss.item()` of that loss."
        )
    return (
        "zero_grad, forward, backward, step, in this order, with the `model`, `optimizer`, "
        "`loss_fn`, `x` and `y` you are given (not the notebook's)."
    )


SPEC_00_2 = Spec(
    configs=_configs_00_2,
    reference=lambda cfg: _run_00_2(lambda *args: _REFERENCE_STEP(*args), cfg),
    run=_run_00_2,
    mistakes=_MISTAKES_00_2,
    otherwise=_otherwise_00_2,
    compare=_compare_00_2,
    match=lambda got, variant: first_mismatch(got[0], variant[0]),
    may_modify=(0, 1, 2),
    success=(
        f"{STEPS} steps match torch in all {{n}} configurations (SGD, SGD with Nesterov "
        "momentum, Adam, RMSprop; other models, losses and data): zero_grad, forward, "
        "backward, step."
    ),
)


@exercise(
    "00.2",
    title="One training step",
    solution=train_step,
    hints=[
        "Four calls, in this order: zero the gradients, compute the loss, backpropagate, step.",
        "`optimizer.zero_grad()`, `loss = loss_fn(model(x), y)`, `loss.backward()`, "
        "`optimizer.step()`; then `return loss.item()`.",
    ],
)
def grade_train_step(train_step):
    """train_step(model, optimizer, loss_fn, x, y) must do one step with the objects it is
    given and return the loss, on the lesson's set-up and on others."""
    return grade_spec(SPEC_00_2, train_step, name="train_step")


# --------------------------------------------------------------------------- 00.3


def _adam_losses(lr, epochs=ADAM_EPOCHS, optimizer_class=torch.optim.Adam):
    x, y = make_data()
    model = make_model()
    optimizer = optimizer_class(model.parameters(), lr=lr)
    losses = []
    with torch.enable_grad():  # even if the notebook has switched gradients off
        for _ in range(epochs):
            losses.append(_REFERENCE_STEP(model, optimizer, nn.MSELoss(), x, y))
    return losses


_ADAM_SOLUTION = """\
adam_lr = 0.1   # anything from about 0.03 to 10 works: Adam's steps are about lr in size
"""


@exercise(
    "00.3",
    title="Switch to Adam: pick its learning rate",
    solution=_ADAM_SOLUTION,
    hints=[
        "Try Adam's default lr=0.001 first and watch how little the loss moves in 100 epochs.",
        "Adam moves each parameter by about `lr` per step, whatever the gradient's size. "
        "The bias must travel from -0.44 to 1: how many steps of 0.001 is that?",
    ],
)
def grade_adam_lr(adam_lr):
    """Adam with lr=adam_lr must bring the loss below ADAM_TARGET within ADAM_EPOCHS epochs."""
    lr = expect_number(adam_lr, "adam_lr")
    if lr < 0:
        return incorrect(f"torch.optim.Adam rejects it: ValueError: Invalid learning rate: {adam_lr}")
    if lr == 0:
        return incorrect("with lr=0 Adam never moves the parameters.")
    losses = _adam_losses(lr)
    final = losses[-1]
    if final < ADAM_TARGET:
        sgd = _adam_losses(lr, optimizer_class=torch.optim.SGD)[-1]
        sgd_text = (
            f"SGD with the same lr ends at {sgd:.4f}" if sgd == sgd and sgd < 1e6 else "SGD with the same lr diverges"
        )
        return correct(f"Adam with lr={lr:g} reaches loss {final:.4f} after {ADAM_EPOCHS} epochs ({sgd_text}).")
    if final != final or final > 1e6:
        return incorrect(f"with lr={lr:g} the loss blows up to {final:.3g}: lr is far too large.")
    still_falling = all(b <= a for a, b in zip(losses[-10:], losses[-9:]))
    if still_falling:
        return incorrect(
            f"with lr={lr:g} the loss is still {final:.4f} after {ADAM_EPOCHS} "
            f"epochs (target < {ADAM_TARGET}) and falling slowly: lr is too small. "
            "Adam's steps are about lr in size."
        )
    return incorrect(
        f"with lr={lr:g} the loss ends at {final:.4f} (target < {ADAM_TARGET}) and "
        f"jumps around (lowest {min(losses):.4f}): lr is too large."
    )
