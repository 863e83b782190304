"""Lesson 01's checkers: the reference is accepted, stubs are "not attempted", and realistic
wrong answers get the specific feedback that names the mistake.

One table drives every case: (key, answers, expected status, fragments of the message).
"""

import pytest
import torch
from learner_classes import SGD, KwargsSGD, SGDWithDrift

from myoptim_helpers.exercises import grade
from myoptim_helpers.exercises.lesson01 import add_new_head, last_layer_optimizer, per_layer_sgd

# 01.4 "head weight twice" passes a duplicated tensor on purpose; torch warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:optimizer contains a parameter group with duplicate")


# ------------------------------------------------- 01.1 answers (01.2 answers are sets, in the table)


def stub_builder(model): ...


def all_parameters(model):
    return torch.optim.SGD(model.parameters(), lr=0.1)


def weight_only(model):
    return torch.optim.SGD([model[-1].weight], lr=0.1)


def default_lr(model):
    return torch.optim.SGD(model[-1].parameters())


def adam_instead(model):
    return torch.optim.Adam(model[-1].parameters(), lr=0.1)


def freezes_the_body(model):
    for p in model[:-1].parameters():
        p.requires_grad_(False)
    return torch.optim.SGD(model.parameters(), lr=0.1)


def hard_coded_index(model):
    return torch.optim.SGD(model[4].parameters(), lr=0.1)


def hard_coded_middle(model):
    return torch.optim.SGD(model[2].parameters(), lr=0.1)


def counted_then_reused(model):
    params = model[-1].parameters()
    print_count = sum(p.numel() for p in params)  # noqa: F841 - consumes the generator
    return torch.optim.SGD([{"params": params}], lr=0.1)


def forgets_return(model):
    torch.optim.SGD(model[-1].parameters(), lr=0.1)


def returns_parameters(model):
    return model[-1].parameters()


def tensor_lr(model):
    return torch.optim.SGD(model[-1].parameters(), lr=torch.tensor(0.1))


def ours_sgd(model):
    from myoptim_helpers.optim import SGD

    return SGD(model[-1].parameters(), lr=0.1)


# ----------------------------------------------------------------------------- 01.4 answers


def lrs_swapped(model):
    return torch.optim.SGD(
        [{"params": model[:-1].parameters(), "lr": 0.1}, {"params": model[-1].parameters(), "lr": 0.01}], momentum=0.9
    )


def first_layer_only(model):
    return torch.optim.SGD(
        [{"params": model[0].parameters(), "lr": 0.01}, {"params": model[-1].parameters()}], lr=0.1, momentum=0.9
    )


def head_generator_counted(model):
    head = model[-1].parameters()
    n_head = sum(p.numel() for p in head)  # noqa: F841 - consumes the generator
    body = [p for layer in list(model)[:-1] for p in layer.parameters()]
    return torch.optim.SGD([{"params": body, "lr": 0.01}, {"params": head}], lr=0.1, momentum=0.9)


def no_momentum(model):
    return torch.optim.SGD(
        [{"params": model[:-1].parameters(), "lr": 0.01}, {"params": model[-1].parameters()}], lr=0.1
    )


def overlapping_groups(model):
    return torch.optim.SGD(
        [{"params": model.parameters(), "lr": 0.01}, {"params": model[-1].parameters()}], lr=0.1, momentum=0.9
    )


def one_group_per_layer(model):
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    groups = [{"params": m.parameters(), "lr": 0.01} for m in linears[:-1]]
    return torch.optim.SGD(groups + [{"params": linears[-1].parameters(), "lr": 0.1}], momentum=0.9)


def head_twice(model):
    return torch.optim.SGD(
        [{"params": model[:-1].parameters(), "lr": 0.01}, {"params": [*model[-1].parameters(), model[-1].weight]}],
        lr=0.1,
        momentum=0.9,
    )


def tensor_lrs(model):
    return torch.optim.SGD(
        [{"params": model[:-1].parameters(), "lr": torch.tensor(0.01)}, {"params": model[-1].parameters()}],
        lr=torch.tensor(0.1),
        momentum=0.9,
    )


def tensor_lr_too_large(model):
    return torch.optim.SGD(
        [{"params": model[:-1].parameters(), "lr": torch.tensor(0.0101)}, {"params": model[-1].parameters()}],
        lr=0.1,
        momentum=0.9,
    )


def momentum_only_on_head(model):
    return torch.optim.SGD(
        [{"params": model[:-1].parameters(), "lr": 0.01}, {"params": model[-1].parameters(), "momentum": 0.9}], lr=0.1
    )


# ----------------------------------------------------------------------------- 01.3 answers


def stub_add(optimizer, head): ...


def returns_new_optimizer(optimizer, head):
    return torch.optim.SGD(head.parameters(), lr=0.01)


def default_lr_group(optimizer, head):
    optimizer.add_param_group({"params": head.parameters()})


def appended_to_group_0(optimizer, head):
    optimizer.param_groups[0]["params"].extend(head.parameters())


def counted_head_generator(optimizer, head):
    params = head.parameters()
    n = len(list(params))  # noqa: F841 - consumes the generator
    optimizer.add_param_group({"params": params, "lr": 0.01})


def momentum_zero(optimizer, head):
    optimizer.add_param_group({"params": head.parameters(), "lr": 0.01, "momentum": 0})


def added_twice(optimizer, head):
    optimizer.add_param_group({"params": head.parameters(), "lr": 0.01})
    optimizer.add_param_group({"params": head.parameters(), "lr": 0.01})


def appended_raw_dict(optimizer, head):
    optimizer.param_groups.append({"params": list(head.parameters()), "lr": 0.01})


def tensor_lr_group(optimizer, head):
    optimizer.add_param_group({"params": head.parameters(), "lr": torch.tensor(0.01)})


def state_cleared(optimizer, head):
    optimizer.state.clear()
    optimizer.add_param_group({"params": head.parameters(), "lr": 0.01})


# ------------------------------------------------- answers with options or classes nobody asked for


def last_layer_momentum(model):
    return torch.optim.SGD(model[-1].parameters(), lr=0.1, momentum=0.9)


def last_layer_weight_decay(model):
    return torch.optim.SGD(model[-1].parameters(), lr=0.1, weight_decay=0.01)


def last_layer_maximize(model):
    return torch.optim.SGD(model[-1].parameters(), lr=0.1, maximize=True)


def last_layer_adam_named_sgd(model):
    return SGD(model[-1].parameters(), lr=0.1)


def last_layer_drifting(model):
    return SGDWithDrift(model[-1].parameters(), lr=0.1)


def last_layer_kwargs_subclass(model):
    return KwargsSGD(model[-1].parameters(), lr=0.1)


def last_layer_hard_coded_three(model):
    return (
        torch.optim.SGD(model[4].parameters(), lr=0.1)
        if len(model) > 4
        else torch.optim.SGD(model[2].parameters(), lr=0.1)
    )


def head_with_sgd_keys(optimizer, head):
    optimizer.add_param_group({"params": head.parameters(), "lr": 0.01, "momentum": 0.9})


def head_with_weight_decay(optimizer, head):
    optimizer.add_param_group({"params": head.parameters(), "lr": 0.01, "weight_decay": 1e-4})


def head_with_nesterov(optimizer, head):
    optimizer.add_param_group({"params": head.parameters(), "lr": 0.01, "nesterov": True})


def head_rebuilt_sgd(optimizer, head):
    params = [p for g in optimizer.param_groups for p in g["params"]]
    optimizer.__init__([{"params": params}, {"params": head.parameters(), "lr": 0.01}], lr=0.1, momentum=0.9)


def per_layer_weight_decay(model):
    return torch.optim.SGD(
        [{"params": model[:-1].parameters(), "lr": 0.01}, {"params": model[-1].parameters()}],
        lr=0.1,
        momentum=0.9,
        weight_decay=1e-4,
    )


def per_layer_nesterov(model):
    return torch.optim.SGD(
        [{"params": model[:-1].parameters(), "lr": 0.01}, {"params": model[-1].parameters()}],
        lr=0.1,
        momentum=0.9,
        nesterov=True,
    )


def per_layer_dampening_on_head(model):
    return torch.optim.SGD(
        [{"params": model[:-1].parameters(), "lr": 0.01}, {"params": model[-1].parameters(), "dampening": 0.1}],
        lr=0.1,
        momentum=0.9,
    )


def per_layer_maximize(model):
    return torch.optim.SGD(
        [{"params": model[:-1].parameters(), "lr": 0.01}, {"params": model[-1].parameters()}],
        lr=0.1,
        momentum=0.9,
        maximize=True,
    )


def per_layer_adam_named_sgd(model):
    return SGD([{"params": model[:-1].parameters(), "lr": 0.01}, {"params": model[-1].parameters()}], lr=0.1)


def per_layer_hard_coded(model):
    return torch.optim.SGD(
        [{"params": [*model[0].parameters(), *model[2].parameters()], "lr": 0.01}, {"params": model[4].parameters()}],
        lr=0.1,
        momentum=0.9,
    )


# ----------------------------------------------------------------------------- the table

CASES = [
    # 01.1: an optimizer over the last layer only
    ("01.1", "reference", (last_layer_optimizer,), "correct", ["exactly the last layer"]),
    ("01.1", "myoptim_helpers SGD", (ours_sgd,), "correct", ["exactly the last layer"]),
    ("01.1", "stub", (stub_builder,), "not attempted", []),
    ("01.1", "lr as a float32 tensor", (tensor_lr,), "correct", ["exactly the last layer"]),
    (
        "01.1",
        "all parameters",
        (all_parameters,),
        "incorrect",
        ["also holds 0.weight, 0.bias, 2.weight, 2.bias", "every parameter it holds"],
    ),
    ("01.1", "weight only", (weight_only,), "incorrect", ["misses 4.bias"]),
    ("01.1", "default lr", (default_lr,), "incorrect", ["learning rate is 0.001", "lr=0.1"]),
    ("01.1", "Adam", (adam_instead,), "incorrect", ["returned Adam", "SGD"]),
    ("01.1", "freezes the body", (freezes_the_body,), "incorrect", ["changed `requires_grad` of 0.weight"]),
    (
        "01.1",
        "hard-coded model[4]",
        (hard_coded_index,),
        "error",
        ["raised IndexError", "2 Linear layers", "model[-1]"],
    ),
    (
        "01.1",
        "hard-coded model[2]",
        (hard_coded_middle,),
        "incorrect",
        ["holds 2.weight, 2.bias", "last layer is layer 4", "hard-code"],
    ),
    (
        "01.1",
        "exhausted generator",
        (counted_then_reused,),
        "incorrect",
        ["group 0 holds no parameters", "already consumed", "list(...)"],
    ),
    ("01.1", "forgets return", (forgets_return,), "incorrect", ["returned None", "forget to `return` the optimizer"]),
    ("01.1", "returns parameters", (returns_parameters,), "incorrect", ["returned a generator, not an optimizer"]),
    ("01.1", "not a function", (0.1,), "incorrect", ["should be a function"]),
    ("01.1", "kwargs subclass", (last_layer_kwargs_subclass,), "correct", ["exactly the last layer"]),
    (
        "01.1",
        "momentum",
        (last_layer_momentum,),
        "incorrect",
        ["param group 0 sets momentum=0.9, which the exercise did not ask for"],
    ),
    (
        "01.1",
        "weight decay",
        (last_layer_weight_decay,),
        "incorrect",
        ["sets weight_decay=0.01, which the exercise did not ask for"],
    ),
    ("01.1", "maximize", (last_layer_maximize,), "incorrect", ["sets maximize=True"]),
    (
        "01.1",
        "Adam named SGD",
        (last_layer_adam_named_sgd,),
        "incorrect",
        ["returned SGD (a subclass of Adam)", "the exercise asks for SGD"],
    ),
    (
        "01.1",
        "SGD subclass with another step",
        (last_layer_drifting,),
        "incorrect",
        ["its step() does not do what torch.optim.SGD's does"],
    ),
    (
        "01.1",
        "hard-coded for 3 layers",
        (last_layer_hard_coded_three,),
        "incorrect",
        ["with a 4-layer model the optimizer holds 4.weight, 4.bias", "last layer is layer 6"],
    ),
    # 01.2: which parameters change
    ("01.2", "reference", ({"4.weight", "4.bias"},), "correct", ["only the last layer"]),
    ("01.2", "as a list", (["4.bias", "4.weight"],), "correct", ["only the last layer"]),
    ("01.2", "stub", (...,), "not attempted", []),
    (
        "01.2",
        "frozen but held",
        ({"0.weight", "0.bias", "4.weight", "4.bias"},),
        "incorrect",
        ["0.weight does not change", "frozen", ".grad stays None"],
    ),
    (
        "01.2",
        "has grad but not held",
        ({"2.weight", "2.bias", "4.weight", "4.bias"},),
        "incorrect",
        ["2.weight does not change", "does not hold it"],
    ),
    ("01.2", "forgot the bias", ({"4.weight"},), "incorrect", ["4.bias does change"]),
    (
        "01.2",
        "everything with a grad",
        ({"2.weight", "2.bias", "4.weight"},),
        "incorrect",
        ["2.weight does not change"],
    ),
    (
        "01.2",
        "unknown name",
        ({"layer4.weight"},),
        "incorrect",
        ["no parameter called 'layer4.weight'", "0.weight, 0.bias"],
    ),
    ("01.2", "one string", ("4.weight",), "incorrect", ["one string"]),
    ("01.2", "a number", (2,), "incorrect", ["should be a set of parameter names", "got int"]),
    ("01.2", "only the frozen layer", ({"0.weight", "0.bias"},), "incorrect", ["0.weight does not change", "frozen"]),
    ("01.2", "nothing changes", (set(),), "incorrect", ["4.weight does change"]),
    (
        "01.2",
        "everything",
        ({"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"},),
        "incorrect",
        ["0.weight does not change"],
    ),
    (
        "01.2",
        "names with a model prefix",
        ({"model.4.weight", "model.4.bias"},),
        "incorrect",
        ["no parameter called 'model.4.weight'"],
    ),
    ("01.2", "layer indices", ({4},), "incorrect", ["should hold parameter names as strings"]),
    ("01.2", "None", (None,), "incorrect", ["should be a set of parameter names", "got NoneType"]),
    # 01.3: add a late layer with add_param_group
    ("01.3", "reference", (add_new_head,), "correct", ["its own group with lr=0.01"]),
    ("01.3", "stub", (stub_add,), "not attempted", []),
    ("01.3", "lr as a float32 tensor", (tensor_lr_group,), "correct", ["its own group"]),
    ("01.3", "not a function", (None,), "incorrect", ["add_new_head should be a function"]),
    (
        "01.3",
        "returns a new optimizer",
        (returns_new_optimizer,),
        "incorrect",
        ["returned a new optimizer", "in place"],
    ),
    ("01.3", "default lr", (default_lr_group,), "incorrect", ["lr=0.1", "lr=0.01"]),
    (
        "01.3",
        "appended to group 0",
        (appended_to_group_0,),
        "incorrect",
        ["group 0 changed its parameters", "added to it"],
    ),
    ("01.3", "consumed generator", (counted_head_generator,), "incorrect", ["holds no parameters", "already consumed"]),
    (
        "01.3",
        "momentum 0",
        (momentum_zero,),
        "incorrect",
        ["the head's group sets momentum=0, which the exercise did not ask for", "this SGD's default is momentum=0.9"],
    ),
    (
        "01.3",
        "SGD's keys written out",
        (head_with_sgd_keys,),
        "incorrect",
        [
            "with torch.optim.Adam(lr=0.003, betas=(0.8, 0.99)), the head's group has an option "
            "'momentum' that this Adam does not use"
        ],
    ),
    (
        "01.3",
        "weight decay on the head",
        (head_with_weight_decay,),
        "incorrect",
        ["sets weight_decay=0.0001, which the exercise did not ask for"],
    ),
    (
        "01.3",
        "nesterov on the head",
        (head_with_nesterov,),
        "incorrect",
        ["sets nesterov=True, which the exercise did not ask for"],
    ),
    (
        "01.3",
        "optimizer rebuilt in place",
        (head_rebuilt_sgd,),
        "incorrect",
        ["some of the optimizer's state was lost"],
    ),
    ("01.3", "added twice", (added_twice,), "error", ["raised ValueError", "more than one parameter group"]),
    ("01.3", "state cleared", (state_cleared,), "incorrect", ["some of the optimizer's state was lost"]),
    (
        "01.3",
        "appended to param_groups",
        (appended_raw_dict,),
        "incorrect",
        ["group 1 is not a complete param group", "momentum", "add_param_group"],
    ),
    # 01.4: a learning rate per layer
    ("01.4", "reference", (per_layer_sgd,), "correct", ["exactly one group"]),
    ("01.4", "one group per layer", (one_group_per_layer,), "correct", ["exactly one group"]),
    ("01.4", "stub", (stub_builder,), "not attempted", []),
    ("01.4", "lrs as float32 tensors", (tensor_lrs,), "correct", ["exactly one group"]),
    ("01.4", "tensor lr 0.0101", (tensor_lr_too_large,), "incorrect", ["0.weight (in group 0) learns with lr=0.0101"]),
    (
        "01.4",
        "lrs swapped",
        (lrs_swapped,),
        "incorrect",
        ["0.weight (in group 0) learns with lr=0.1", "should learn with lr=0.01"],
    ),
    ("01.4", "first layer only", (first_layer_only,), "incorrect", ["2.weight, 2.bias are in no group", "never train"]),
    (
        "01.4",
        "consumed head generator",
        (head_generator_counted,),
        "incorrect",
        ["group 1 holds no parameters", "already consumed"],
    ),
    ("01.4", "no momentum", (no_momentum,), "incorrect", ["momentum=0", "momentum=0.9"]),
    ("01.4", "momentum only on the head", (momentum_only_on_head,), "incorrect", ["group 0 has momentum=0"]),
    (
        "01.4",
        "overlapping groups",
        (overlapping_groups,),
        "error",
        ["raised ValueError", "more than one parameter group", "leave the last layer out"],
    ),
    ("01.4", "head weight twice", (head_twice,), "incorrect", ["4.weight appears twice in group 1"]),
    (
        "01.4",
        "weight decay",
        (per_layer_weight_decay,),
        "incorrect",
        ["group 0 sets weight_decay=0.0001, which the exercise did not ask for"],
    ),
    ("01.4", "nesterov", (per_layer_nesterov,), "incorrect", ["group 0 sets nesterov=True"]),
    ("01.4", "dampening on the head", (per_layer_dampening_on_head,), "incorrect", ["group 1 sets dampening=0.1"]),
    ("01.4", "maximize", (per_layer_maximize,), "incorrect", ["sets maximize=True"]),
    ("01.4", "Adam named SGD", (per_layer_adam_named_sgd,), "incorrect", ["(a subclass of Adam)"]),
    (
        "01.4",
        "hard-coded layers",
        (per_layer_hard_coded,),
        "error",
        ["raised IndexError", "2 Linear layers", "model[-1]"],
    ),
]


@pytest.mark.parametrize(
    "key, answers, status, fragments", [pytest.param(k, a, s, f, id=f"{k} {d}") for k, d, a, s, f in CASES]
)
def test_feedback(key, answers, status, fragments):
    feedback = grade(key, *answers)
    assert feedback.status == status, str(feedback)
    for fragment in fragments:
        assert fragment in feedback.message, str(feedback)


def test_every_exercise_has_a_reference_case():
    from myoptim_helpers.exercises import exercises_of

    keys = set(exercises_of("01"))
    assert keys == {"01.1", "01.4", "01.2", "01.3"}
    assert keys == {k for k, d, _, s, _ in CASES if d == "reference" and s == "correct"}


def test_grading_leaves_global_state_alone():
    rng = torch.get_rng_state()
    dtype = torch.get_default_dtype()
    for key, _, answers, _, _ in CASES:
        grade(key, *answers)
    assert torch.equal(torch.get_rng_state(), rng)
    assert torch.get_default_dtype() == dtype
    assert torch.is_grad_enabled()
