"""Exercises of lesson 00 (start here): attach an optimizer, write a training step, pick Adam's lr.

Every grader builds its own data and model (the same as the lesson's, made here so the
learner's objects are never touched) and compares with torch.
"""

import torch
from torch import nn

from ._core import Reject, _function_label, call, correct, error, exercise, expect_callable, \
    expect_number, first_mismatch, fmt, incorrect, seeded

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


@exercise("00.1", title="Attach SGD to a model", solution=make_optimizer, hints=[
    "An optimizer is built from the tensors it will update: `model.parameters()`.",
    "`torch.optim.SGD(params, lr=...)`; use the `model` argument, not a global one.",
    "`return torch.optim.SGD(model.parameters(), lr=0.1)`",
])
def grade_make_optimizer(make_optimizer):
    """make_optimizer(model) must return SGD over all of model's parameters with lr=0.1."""
    model = make_model()
    try:
        opt = call(make_optimizer, model)
    except Reject as rej:
        if "empty parameter list" in rej.feedback.message:
            raise Reject(error(
                rej.feedback.message + ". `model.parameters()` is a generator: once something "
                "(e.g. `list(...)` or another optimizer) has consumed it, it yields nothing. "
                "Call `model.parameters()` again where you build the optimizer.")) from None
        raise
    if opt is None:
        return incorrect("make_optimizer returned None: did it forget to `return` the optimizer?")
    if isinstance(opt, type):
        return incorrect(f"make_optimizer returned the class {opt.__name__} itself; "
                         "call it: `torch.optim.SGD(model.parameters(), lr=0.1)`.")
    if not isinstance(opt, torch.optim.Optimizer):
        return incorrect(f"make_optimizer should return an optimizer, got {type(opt).__name__}.")
    if type(opt).__name__ != "SGD":
        return incorrect(f"you built {type(opt).__name__}; this exercise asks for SGD.")
    held = [p for group in opt.param_groups for p in group["params"]]
    ours = dict(model.named_parameters())
    foreign = [p for p in held if not any(p is q for q in ours.values())]
    if foreign:
        return incorrect(f"your optimizer holds {len(foreign)} tensor(s) that are not parameters "
                         "of the `model` argument: did you use another model (e.g. the notebook's "
                         "global `model`) or copies of its tensors?")
    missing = [name for name, q in ours.items() if not any(p is q for p in held)]
    if missing:
        return incorrect(f"your optimizer does not update model.{missing[0]}: "
                         "pass all of `model.parameters()`.")
    lrs = sorted({group["lr"] for group in opt.param_groups})
    if lrs != [LR]:
        lr = lrs[0] if len(lrs) == 1 else lrs
        default = " (SGD's default)" if lr == 1e-3 else ""
        return incorrect(f"the learning rate is {lr}{default}; the exercise asks for lr={LR}.")
    return correct(f"SGD over model.weight and model.bias with lr={LR}.")


# --------------------------------------------------------------------------- 00.2

def train_step(model, optimizer, loss_fn, x, y):
    """Do one training step and return the loss before it (solution of 00.2)."""
    optimizer.zero_grad()          # forget the previous step's gradients
    loss = loss_fn(model(x), y)    # forward
    loss.backward()                # gradients into p.grad
    optimizer.step()               # p <- p - lr * p.grad
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


_MISTAKES = [
    (_no_zero_grad, "the gradients add up from step to step: call `optimizer.zero_grad()` "
                    "before `loss.backward()`."),
    (_step_first, "`optimizer.step()` runs before `loss.backward()`, so each update uses the "
                  "previous call's gradients: zero_grad, forward, backward, then step."),
    (_frozen, "the parameters never change: `optimizer.step()` must come after "
              "`loss.backward()`, with no `zero_grad()` in between, and use the `model` and "
              "`optimizer` arguments, not global ones."),
]
STEPS = 4


def _run(train_step, learner=False):
    """Run ``train_step`` STEPS times on fresh objects; return (params per step, losses)."""
    x, y = make_data()
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = nn.MSELoss()
    params, losses = [], []
    for _ in range(STEPS):
        if learner:  # wrapped so that model and optimizer may change whatever the learner names them
            loss = call(lambda model, optimizer, loss_fn, x, y:
                        train_step(model, optimizer, loss_fn, x, y),
                        model, optimizer, loss_fn, x, y, name=_function_label(train_step),
                        may_modify=("model", "optimizer"))
            if loss is None:
                raise Reject(incorrect("train_step returned None: did it forget to "
                                       "`return loss.item()`?"))
            loss = expect_number(loss, "the value returned by train_step")
        else:
            loss = train_step(model, optimizer, loss_fn, x, y)
        params.append({name: p.detach().clone() for name, p in model.named_parameters()})
        losses.append(loss)
    return params, losses


@exercise("00.2", title="One training step", solution=train_step, hints=[
    "Four calls, in this order: zero the gradients, compute the loss, backpropagate, step.",
    "`optimizer.zero_grad()`, `loss = loss_fn(model(x), y)`, `loss.backward()`, "
    "`optimizer.step()`; then `return loss.item()`.",
])
def grade_train_step(train_step):
    """train_step(model, optimizer, loss_fn, x, y) must do one SGD step and return the loss."""
    expect_callable(train_step, "train_step")
    with torch.enable_grad():  # even if the notebook has switched gradients off
        expected_params, expected_losses = _run(_REFERENCE_STEP)
        mistakes = [(_run(mistake)[0], cause) for mistake, cause in _MISTAKES]
        got_params, got_losses = _run(train_step, learner=True)  # last: it may switch them off
    mismatch = first_mismatch(got_params, expected_params)
    if mismatch is not None:
        for mistake_params, cause in mistakes:
            if first_mismatch(got_params, mistake_params) is None:
                return incorrect(f"{mismatch}: {cause}")
        return incorrect(f"{mismatch}: zero_grad, forward, backward, step, in this order, "
                         "with the arguments you are given.")
    mismatch = first_mismatch(got_losses, expected_losses, rtol=1e-5, atol=1e-6)
    if mismatch is not None:
        step = mismatch.step
        return incorrect(f"the parameters match torch, but at step {step} train_step returned "
                         f"{fmt(mismatch.got, mismatch.expected)} instead of the loss "
                         f"{fmt(mismatch.expected, mismatch.got)}: return `loss.item()` of the "
                         "loss computed before the update.")
    return correct(f"{STEPS} steps match torch: zero_grad, forward, backward, step.")


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


@exercise("00.3", title="Switch to Adam: pick its learning rate", solution=_ADAM_SOLUTION, hints=[
    "Try Adam's default lr=0.001 first and watch how little the loss moves in 100 epochs.",
    "Adam moves each parameter by about `lr` per step, whatever the gradient's size. "
    "The bias must travel from -0.44 to 1: how many steps of 0.001 is that?",
])
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
        sgd_text = (f"SGD with the same lr ends at {sgd:.4f}" if sgd == sgd and sgd < 1e6
                    else "SGD with the same lr diverges")
        return correct(f"Adam with lr={lr:g} reaches loss {final:.4f} after {ADAM_EPOCHS} "
                       f"epochs ({sgd_text}).")
    if final != final or final > 1e6:
        return incorrect(f"with lr={lr:g} the loss blows up to {final:.3g}: lr is far too large.")
    still_falling = all(b <= a for a, b in zip(losses[-10:], losses[-9:]))
    if still_falling:
        return incorrect(f"with lr={lr:g} the loss is still {final:.4f} after {ADAM_EPOCHS} "
                         f"epochs (target < {ADAM_TARGET}) and falling slowly: lr is too small. "
                         "Adam's steps are about lr in size.")
    return incorrect(f"with lr={lr:g} the loss ends at {final:.4f} (target < {ADAM_TARGET}) and "
                     f"jumps around (lowest {min(losses):.4f}): lr is too large.")
