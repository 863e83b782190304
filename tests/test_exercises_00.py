"""Lesson 00 checkers: each accepts the reference solution, rejects realistic mistakes with
the right message, and calls the stub "not attempted"."""

import pytest
import torch
from learner_classes import SGD, KwargsSGD, SGDWithDrift
from torch import nn

from myoptim_helpers.exercises import exercises_of, grade

OTHER_MODEL = nn.Linear(1, 1)  # stands for the notebook's global `model`


# --------------------------------------------------------------------------- 00.1 answers


def make_optimizer_ref(model):
    return torch.optim.SGD(model.parameters(), lr=0.1)


def make_optimizer_stub(model): ...


def make_optimizer_class(model):
    return torch.optim.SGD


def make_optimizer_adam(model):
    return torch.optim.Adam(model.parameters(), lr=0.1)


def make_optimizer_global(model):
    return torch.optim.SGD(OTHER_MODEL.parameters(), lr=0.1)


def make_optimizer_weight_only(model):
    return torch.optim.SGD([model.weight], lr=0.1)


def make_optimizer_default_lr(model):
    return torch.optim.SGD(model.parameters())


def make_optimizer_wrong_lr(model):
    return torch.optim.SGD(model.parameters(), lr=0.01)


def make_optimizer_exhausted(model):
    params = model.parameters()
    print(len(list(params)))
    return torch.optim.SGD(params, lr=0.1)


def make_optimizer_no_return(model):
    torch.optim.SGD(model.parameters(), lr=0.1)


def make_optimizer_groups(model):
    return torch.optim.SGD([{"params": [model.weight]}, {"params": [model.bias]}], lr=0.1)


def make_optimizer_copies(model):
    return torch.optim.SGD([nn.Parameter(p.detach().clone()) for p in model.parameters()], lr=0.1)


def make_optimizer_helpers_sgd(model):
    from myoptim_helpers.optim import SGD

    return SGD(model.parameters(), lr=0.1)


def make_optimizer_momentum(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def make_optimizer_weight_decay(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-4)


def make_optimizer_maximize(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, maximize=True)


def make_optimizer_nesterov(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5, nesterov=True)


def make_optimizer_dampening(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, dampening=0.1)


def make_optimizer_adam_named_sgd(model):
    return SGD(model.parameters(), lr=0.1)


def make_optimizer_drifting_subclass(model):
    return SGDWithDrift(model.parameters(), lr=0.1)


def make_optimizer_kwargs_subclass(model):
    return KwargsSGD(model.parameters(), lr=0.1)


def make_optimizer_trainable_only(model):
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)


def make_optimizer_tensor_lr(model):
    return torch.optim.SGD(model.parameters(), lr=torch.tensor(0.1))


def make_optimizer_params_list(model):
    return list(model.parameters())


def make_optimizer_first_layer(model):
    first = next(model.children()) if len(list(model.children())) else model
    return torch.optim.SGD(first.parameters(), lr=0.1)


def make_optimizer_foreach(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, foreach=False)


# --------------------------------------------------------------------------- 00.2 answers


def train_step_ref(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_step_stub(model, optimizer, loss_fn, x, y): ...


def train_step_zero_grad_last(model, optimizer, loss_fn, x, y):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()


def train_step_manual_mse(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    optimizer.step()
    return loss.item()


def train_step_no_zero_grad(model, optimizer, loss_fn, x, y):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_step_zero_grad_before_step(model, optimizer, loss_fn, x, y):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def train_step_no_step(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    return loss.item()


def train_step_step_first(model, optimizer, loss_fn, x, y):
    optimizer.step()
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    return loss.item()


def train_step_no_return(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()


def train_step_loss_after(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss_fn(model(x), y).item()


def train_step_sum_loss(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = ((model(x) - y) ** 2).sum()
    loss.backward()
    optimizer.step()
    return loss.item()


def train_step_typo(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backwards()
    optimizer.step()
    return loss.item()


def train_step_modifies_x(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    x /= 2
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_step_own_names(net, opt, criterion, inputs, targets):
    opt.zero_grad()
    loss = criterion(net(inputs), targets)
    loss.backward()
    opt.step()
    return loss.item()


def train_step_switches_grad_off(model, optimizer, loss_fn, x, y):
    torch.set_grad_enabled(False)
    return 1.0


def train_step_returns_tensor(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


def train_step_own_sgd(model, optimizer, loss_fn, x, y):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


def train_step_by_hand(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    return loss.item()


GLOBAL_X = torch.linspace(-2, 2, 40).unsqueeze(1)
GLOBAL_Y = 2 * GLOBAL_X + 1


def train_step_global_data(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(GLOBAL_X), GLOBAL_Y)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_step_global_model(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = loss_fn(OTHER_MODEL(x[:, :1].float()), y[:, :1].float())
    loss.backward()
    optimizer.step()
    return loss.item()


def train_step_returns_int(model, optimizer, loss_fn, x, y):
    train_step_ref(model, optimizer, loss_fn, x, y)
    return 0


def train_step_exits(model, optimizer, loss_fn, x, y):
    raise SystemExit


# --------------------------------------------------------------------------- the table

CASES = [
    # (key, answer, status, message fragment)
    ("00.1", make_optimizer_ref, "correct", "SGD over all the parameters with lr=0.1"),
    ("00.1", make_optimizer_groups, "error", "raised AttributeError: 'Sequential' object has no attribute 'weight'"),
    ("00.1", make_optimizer_groups, "error", "`model.parameters()` yields the parameters of any model"),
    ("00.1", make_optimizer_helpers_sgd, "correct", "with lr=0.1"),
    ("00.1", make_optimizer_kwargs_subclass, "correct", "with lr=0.1"),
    ("00.1", make_optimizer_trainable_only, "correct", "with lr=0.1"),
    ("00.1", make_optimizer_tensor_lr, "correct", "with lr=0.1"),
    ("00.1", make_optimizer_foreach, "correct", "with lr=0.1"),
    ("00.1", make_optimizer_stub, "not attempted", "`make_optimizer_stub` still has an empty body"),
    ("00.1", ..., "not attempted", "is still `...`"),
    ("00.1", make_optimizer_class, "incorrect", "returned the class SGD itself; call it"),
    ("00.1", make_optimizer_adam, "incorrect", "you built Adam; this exercise asks for SGD"),
    (
        "00.1",
        make_optimizer_adam_named_sgd,
        "incorrect",
        "you built SGD (a subclass of Adam); this exercise asks for SGD (torch.optim.SGD).",
    ),
    ("00.1", make_optimizer_drifting_subclass, "incorrect", "its step() does not do what torch.optim.SGD's does"),
    ("00.1", make_optimizer_global, "incorrect", "holds 2 tensor(s) that are not parameters of the `model` argument"),
    ("00.1", make_optimizer_copies, "incorrect", "or copies of its tensors?"),
    ("00.1", make_optimizer_weight_only, "incorrect", "does not update model.bias"),
    (
        "00.1",
        make_optimizer_first_layer,
        "incorrect",
        "for a float64 nn.Sequential of two Linear layers, your optimizer does not update model.2.weight",
    ),
    (
        "00.1",
        make_optimizer_default_lr,
        "incorrect",
        "the learning rate is 0.001 (SGD's default); the exercise asks for lr=0.1.",
    ),
    ("00.1", make_optimizer_wrong_lr, "incorrect", "your optimizer has lr=0.01; the exercise asks for lr=0.1."),
    (
        "00.1",
        make_optimizer_momentum,
        "incorrect",
        "your optimizer sets momentum=0.9, which the exercise did not ask for: leave it out "
        "(SGD's default is momentum=0).",
    ),
    ("00.1", make_optimizer_weight_decay, "incorrect", "sets weight_decay=0.0001, which the exercise did not ask for"),
    ("00.1", make_optimizer_maximize, "incorrect", "sets maximize=True, which the exercise did not ask for"),
    ("00.1", make_optimizer_nesterov, "incorrect", "sets momentum=0.5, which the exercise did not ask for"),
    ("00.1", make_optimizer_dampening, "incorrect", "sets dampening=0.1, which the exercise did not ask for"),
    ("00.1", make_optimizer_exhausted, "error", "raised ValueError: optimizer got an empty parameter list"),
    ("00.1", make_optimizer_exhausted, "error", "`model.parameters()` is a generator"),
    ("00.1", make_optimizer_no_return, "incorrect", "returned None: did it forget to `return`"),
    ("00.1", make_optimizer_params_list, "incorrect", "is a list; expected an optimizer."),
    (
        "00.1",
        torch.optim.SGD([nn.Parameter(torch.ones(1))]),
        "incorrect",
        "make_optimizer should be a function, got SGD.",
    ),
    ("00.2", train_step_ref, "correct", "4 steps match torch in all 4 configurations"),
    ("00.2", train_step_zero_grad_last, "correct", "4 steps match torch"),
    ("00.2", train_step_own_names, "correct", "4 steps match torch"),
    ("00.2", train_step_stub, "not attempted", "`train_step_stub` still has an empty body"),
    ("00.2", train_step_no_zero_grad, "incorrect", "matches torch for step 1, differs at step 2 (param 'weight'"),
    ("00.2", train_step_no_zero_grad, "incorrect", "the gradients add up from step to step"),
    ("00.2", train_step_zero_grad_before_step, "incorrect", "differs from torch already at step 1 (param 'weight'"),
    ("00.2", train_step_zero_grad_before_step, "incorrect", "the parameters never change"),
    ("00.2", train_step_no_step, "incorrect", "the parameters never change"),
    ("00.2", train_step_step_first, "incorrect", "`optimizer.step()` runs before `loss.backward()`"),
    ("00.2", train_step_no_return, "incorrect", "train_step returned None: did it forget to `return loss.item()`?"),
    (
        "00.2",
        train_step_returns_tensor,
        "incorrect",
        "train_step returned a Tensor; the exercise asks for the loss as a Python float",
    ),
    ("00.2", train_step_returns_int, "incorrect", "train_step returned int"),
    ("00.2", train_step_loss_after, "incorrect", "did not return the loss computed before the update"),
    ("00.2", train_step_manual_mse, "incorrect", "not with the `loss_fn` you were given"),
    ("00.2", train_step_sum_loss, "incorrect", "zero_grad, forward, backward, step, in this order"),
    ("00.2", train_step_own_sgd, "incorrect", "did your step build its own optimizer, or update"),
    ("00.2", train_step_by_hand, "incorrect", "or update the parameters by hand?"),
    ("00.2", train_step_global_data, "incorrect", "and `y` you are given (not the notebook's)"),
    ("00.2", train_step_global_model, "incorrect", "the parameters never change"),
    (
        "00.2",
        train_step_typo,
        "error",
        "`train_step_typo` raised AttributeError: 'Tensor' object has no attribute 'backwards'",
    ),
    ("00.2", train_step_exits, "error", "`train_step_exits` raised SystemExit"),
    ("00.2", train_step_modifies_x, "incorrect", "modified its argument `x` in place"),
    ("00.2", train_step_switches_grad_off, "incorrect", "the parameters never change"),
    ("00.2", 3, "incorrect", "train_step should be a function, got int."),
    (
        "00.3",
        0.1,
        "correct",
        "Adam with lr=0.1 reaches loss 0.0090 after 100 epochs (SGD with the same lr ends at 0.0089).",
    ),
    ("00.3", 1.0, "correct", "(SGD with the same lr diverges)."),
    ("00.3", torch.tensor(0.05), "correct", "Adam with lr=0.05 reaches"),
    ("00.3", ..., "not attempted", "`adam_lr` is still `...`"),
    (
        "00.3",
        0.001,
        "incorrect",
        "with lr=0.001 the loss is still 4.5315 after 100 epochs (target < 0.02) and falling slowly: lr is too small.",
    ),
    ("00.3", 0.01, "incorrect", "lr is too small"),
    ("00.3", 1000.0, "incorrect", "jumps around (lowest 0.0593): lr is too large."),
    ("00.3", 1e9, "incorrect", "the loss blows up"),
    ("00.3", -0.1, "incorrect", "ValueError: Invalid learning rate: -0.1"),
    ("00.3", 0, "incorrect", "with lr=0 Adam never moves the parameters."),
    ("00.3", "0.1", "incorrect", "adam_lr should be a number, got str."),
    ("00.3", float("nan"), "incorrect", "adam_lr is nan; expected a finite number."),
    ("00.3", 3e38, "incorrect", "adam_lr = 3e+38 is too large to be a useful answer"),
    ("00.3", None, "incorrect", "adam_lr is None; expected a number."),
    ("00.3", True, "incorrect", "adam_lr should be a number, got bool."),
    ("00.3", (0.05, 0.1), "incorrect", "adam_lr should be a number, got a tuple."),
    ("00.3", [0.1, 1.0], "incorrect", "adam_lr should be a number, got a list."),
    ("00.3", torch.tensor([0.1, 0.2]), "incorrect", "should be a single number, got a tensor of shape (2,)"),
    ("00.3", 0.003, "incorrect", "lr is too small"),
]


@pytest.mark.parametrize(
    "key, answer, status, fragment",
    CASES,
    ids=[f"{c[0]}-{getattr(c[1], '__name__', repr(c[1])[:20])}-{c[2]}" for c in CASES],
)
def test_checker(key, answer, status, fragment):
    feedback = grade(key, answer)
    assert (feedback.status, fragment in feedback.message) == (status, True), feedback.message


def test_every_exercise_has_hints_and_a_solution():
    found = exercises_of("00")
    assert list(found) == ["00.1", "00.2", "00.3"]
    for exercise in found.values():
        assert exercise.hints and exercise.solution_source(), exercise.key


@pytest.mark.parametrize("key", ["00.1", "00.2"])
def test_the_shown_solution_is_accepted(key):
    namespace = {"torch": torch, "nn": nn}
    exec(exercises_of("00")[key].solution_source(), namespace)
    solution = namespace[{"00.1": "make_optimizer", "00.2": "train_step"}[key]]
    assert grade(key, solution).status == "correct"


def test_the_shown_adam_solution_is_accepted():
    namespace = {}
    exec(exercises_of("00")["00.3"].solution_source(), namespace)
    assert grade("00.3", namespace["adam_lr"]).status == "correct"


def test_the_learners_model_is_left_alone():
    model = nn.Linear(1, 1)
    before = [p.detach().clone() for p in model.parameters()]
    grade("00.1", lambda m: torch.optim.SGD(model.parameters(), lr=0.1))
    assert all(torch.equal(a, p.detach()) for a, p in zip(before, model.parameters()))


@pytest.mark.parametrize(
    "key, answer", [("00.2", train_step_ref), ("00.2", train_step_no_step), ("00.3", 0.1), ("00.3", 0.001)]
)
def test_grading_works_with_the_notebooks_grad_mode_off_and_leaves_it_off(key, answer):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with torch.no_grad():
        feedback = grade(key, answer)
        assert not torch.is_grad_enabled()
    assert torch.equal(torch.rand(3), expected)
    assert "checker itself failed" not in feedback.message, feedback.message
