"""Tables and a tiny harness shared by the optimizer tests.

``CASES`` drives every parity and behaviour test: one row per
(optimizer, constructor kwargs, description). Adding an optimizer or a flag
combination means adding rows here, nothing else.

``INVALID`` drives the validation tests: one row per
(optimizer, constructor kwargs, exception type, message or None). The expected
message is always read from torch itself; a message written in the row is an
extra, explicit check.

The harness builds the same small model for ours and torch's optimizer:

- two parameter groups with different hyperparameters (group 1 halves ``lr`` and
  sets its own ``weight_decay``);
- ``sometimes``, a parameter left out of the loss on steps 1, 4, 7, ... so that
  its gradient is None there;
- ``never``, a parameter that never gets a gradient.
"""

import inspect

import torch

import myoptim_helpers.optim as ours

OPTIMIZERS = {
    "SGD": (ours.SGD, torch.optim.SGD),
    "Adam": (ours.Adam, torch.optim.Adam),
    "AdamW": (ours.AdamW, torch.optim.AdamW),
    "RMSprop": (ours.RMSprop, torch.optim.RMSprop),
    "Adagrad": (ours.Adagrad, torch.optim.Adagrad),
}

# torch's performance flags, which our optimizers leave out on purpose.
PERFORMANCE_FLAGS = ("foreach", "fused", "capturable", "differentiable")

T = torch.tensor

# (optimizer, kwargs, description). Every constructor flag of every optimizer appears
# in at least one row (tests/test_optim_behaviour.py checks that), and so do the pairs
# whose interaction is easy to get wrong.
CASES = [
    ("SGD", {}, "defaults: lr=1e-3, no momentum"),
    ("SGD", {"lr": 0.1}, "plain SGD"),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}, "weight_decay without momentum"),
    ("SGD", {"lr": 0.1, "momentum": 0.9}, "momentum"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}, "momentum + dampening"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}, "nesterov"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}, "nesterov + weight_decay"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}, "nesterov + maximize"),
    ("SGD", {"lr": 0.1, "maximize": True}, "maximize without momentum"),
    (
        "SGD",
        {"lr": 0.05, "momentum": 0.5, "dampening": 0.5, "weight_decay": 0.01, "maximize": True},
        "momentum + dampening + weight_decay + maximize",
    ),
    ("SGD", {"lr": T(0.1), "momentum": 0.9}, "0-dim tensor lr + momentum"),
    ("SGD", {"lr": T([0.1]), "momentum": 0.9, "nesterov": True}, "1-element 1-dim tensor lr + nesterov"),
    ("SGD", {"lr": 0.1, "weight_decay": T(0.1)}, "tensor weight_decay"),
    ("Adam", {}, "defaults: lr=1e-3, betas=(0.9, 0.999)"),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99)}, "other betas"),
    ("Adam", {"lr": 0.01, "betas": (0.0, 0.0)}, "betas zero: no averaging at all"),
    ("Adam", {"lr": 0.01, "eps": 1e-2}, "large eps, so where eps enters shows"),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}, "L2 weight_decay"),
    ("Adam", {"lr": 0.01, "maximize": True}, "maximize"),
    ("Adam", {"lr": 0.01, "amsgrad": True}, "amsgrad"),
    ("Adam", {"lr": 0.01, "amsgrad": True, "maximize": True}, "amsgrad + maximize"),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}, "amsgrad + L2 weight_decay"),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}, "decoupled_weight_decay"),
    (
        "Adam",
        {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "amsgrad": True},
        "decoupled_weight_decay + amsgrad",
    ),
    ("Adam", {"lr": T(0.01), "weight_decay": 0.1}, "tensor lr + L2 weight_decay"),
    ("Adam", {"lr": T([0.01]), "weight_decay": 0.1, "decoupled_weight_decay": True}, "1-dim tensor lr + decoupled"),
    ("Adam", {"lr": 0.01, "betas": (T(0.1), T(0.999))}, "tensor betas: float32 values, float32 bias corrections"),
    ("AdamW", {}, "defaults: weight_decay=1e-2"),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}, "strong decoupled decay"),
    ("AdamW", {"lr": 0.01, "amsgrad": True}, "amsgrad"),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.0, "maximize": True}, "maximize, no decay"),
    ("AdamW", {"lr": T(0.01), "betas": (0.5, 0.9), "eps": 1e-4}, "tensor lr + betas + eps"),
    ("RMSprop", {}, "defaults: lr=1e-2, alpha=0.99"),
    ("RMSprop", {"alpha": 0.9, "eps": 1e-3}, "alpha + eps"),
    ("RMSprop", {"weight_decay": 0.1}, "weight_decay"),
    ("RMSprop", {"maximize": True}, "maximize"),
    ("RMSprop", {"momentum": 0.9}, "momentum"),
    ("RMSprop", {"centered": True}, "centered"),
    ("RMSprop", {"centered": True, "momentum": 0.9}, "centered + momentum"),
    ("RMSprop", {"centered": True, "weight_decay": 0.1, "maximize": True}, "centered + weight_decay + maximize"),
    ("RMSprop", {"lr": T(0.01), "momentum": 0.5, "centered": True}, "tensor lr + centered + momentum"),
    ("Adagrad", {}, "defaults: lr=1e-2"),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}, "lr_decay"),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1}, "weight_decay"),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.1}, "lr_decay + weight_decay"),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5}, "initial_accumulator_value"),
    ("Adagrad", {"lr": 0.1, "eps": 1e-3, "maximize": True}, "eps + maximize"),
    (
        "Adagrad",
        {"lr": T([0.1]), "lr_decay": 0.05, "initial_accumulator_value": 0.1, "weight_decay": 0.01},
        "1-dim tensor lr + lr_decay + initial_accumulator_value + weight_decay",
    ),
]


def case_id(case):
    """Return a readable pytest id for a CASES row, e.g. ``SGD-nesterov + maximize``."""
    name, _, description = case
    return f"{name}-{description}"


# Parameters that the validation rows can pass instead of a good parameter list.
def good_params():
    """Return a valid parameter list: one tensor that requires grad."""
    return [torch.zeros(2, requires_grad=True)]


def _same_param_in_two_groups():
    p = torch.zeros(2, requires_grad=True)
    return [{"params": [p]}, {"params": [p]}]


BAD_PARAMS = {
    "a single tensor": lambda: torch.zeros(2, requires_grad=True),
    "the same parameter in two groups": _same_param_in_two_groups,
    "an empty list": lambda: [],
    "a non-leaf tensor": lambda: [torch.zeros(2, requires_grad=True) * 2],
    "a group whose params are a set": lambda: [{"params": {torch.zeros(2, requires_grad=True)}}],
}

_TYPE = "params argument given to the optimizer should be an iterable of Tensors or dicts, but got torch.FloatTensor"
_TWO = "some parameters appear in more than one parameter group"
_EMPTY = "optimizer got an empty parameter list"
_NESTEROV = "Nesterov momentum requires a momentum and zero dampening"

# (optimizer, kwargs, exception type, explicit message or None). A kwargs key "params"
# names an entry of BAD_PARAMS; without it the parameters are fine.
INVALID = [
    ("SGD", {"lr": -0.1}, ValueError, "Invalid learning rate: -0.1"),
    ("SGD", {"lr": T([0.1, 0.2])}, ValueError, "Tensor lr must be 1-element"),
    ("SGD", {"lr": T(-0.1)}, ValueError, None),
    ("SGD", {"momentum": -0.5}, ValueError, "Invalid momentum value: -0.5"),
    ("SGD", {"weight_decay": -1e-4}, ValueError, "Invalid weight_decay value: -0.0001"),
    ("SGD", {"nesterov": True}, ValueError, _NESTEROV),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, ValueError, _NESTEROV),
    ("SGD", {"lr": -1.0, "momentum": -1.0}, ValueError, "Invalid learning rate: -1.0"),
    ("SGD", {"params": "a single tensor"}, TypeError, _TYPE),
    ("SGD", {"params": "the same parameter in two groups"}, ValueError, _TWO),
    ("SGD", {"params": "an empty list"}, ValueError, _EMPTY),
    ("SGD", {"params": "an empty list", "lr": -1.0}, ValueError, "Invalid learning rate: -1.0"),
    ("SGD", {"params": "a non-leaf tensor"}, ValueError, "can't optimize a non-leaf Tensor"),
    ("SGD", {"params": "a group whose params are a set"}, TypeError, None),
    ("Adam", {"lr": -1e-3}, ValueError, "Invalid learning rate: -0.001"),
    ("Adam", {"lr": float("nan")}, ValueError, "Invalid learning rate: nan"),
    ("Adam", {"lr": T([1e-3, 1e-3])}, ValueError, "Tensor lr must be 1-element"),
    ("Adam", {"eps": -1e-8}, ValueError, "Invalid epsilon value: -1e-08"),
    ("Adam", {"betas": (-0.1, 0.999)}, ValueError, "Invalid beta parameter at index 0: -0.1"),
    ("Adam", {"betas": (1.0, 0.999)}, ValueError, "Invalid beta parameter at index 0: 1.0"),
    ("Adam", {"betas": (0.9, 1.0)}, ValueError, "Invalid beta parameter at index 1: 1.0"),
    ("Adam", {"betas": (0.9, -0.5)}, ValueError, "Invalid beta parameter at index 1: -0.5"),
    ("Adam", {"betas": (0, 0.999)}, ValueError, "betas must be either both floats or both Tensors"),
    ("Adam", {"betas": (T(0.9), 0.999)}, ValueError, "betas must be either both floats or both Tensors"),
    ("Adam", {"betas": (T([0.9, 0.8]), T(0.999))}, RuntimeError, None),
    ("Adam", {"weight_decay": -0.1}, ValueError, "Invalid weight_decay value: -0.1"),
    ("Adam", {"lr": -1.0, "eps": -1.0}, ValueError, "Invalid learning rate: -1.0"),
    ("Adam", {"params": "a single tensor"}, TypeError, _TYPE),
    ("Adam", {"params": "the same parameter in two groups"}, ValueError, _TWO),
    ("Adam", {"params": "an empty list"}, ValueError, _EMPTY),
    ("Adam", {"params": "a non-leaf tensor"}, ValueError, "can't optimize a non-leaf Tensor"),
    ("AdamW", {"lr": -1e-3}, ValueError, "Invalid learning rate: -0.001"),
    ("AdamW", {"lr": T([1e-3, 1e-3])}, ValueError, "Tensor lr must be 1-element"),
    ("AdamW", {"eps": -1.0}, ValueError, None),
    ("AdamW", {"betas": (0.9, 1.5)}, ValueError, "Invalid beta parameter at index 1: 1.5"),
    ("AdamW", {"betas": (2.0, 0.999)}, ValueError, None),
    ("AdamW", {"weight_decay": -1e-2}, ValueError, "Invalid weight_decay value: -0.01"),
    ("AdamW", {"params": "a single tensor"}, TypeError, _TYPE),
    ("AdamW", {"params": "an empty list"}, ValueError, _EMPTY),
    ("RMSprop", {"lr": -0.01}, ValueError, "Invalid learning rate: -0.01"),
    ("RMSprop", {"lr": T([0.01, 0.01])}, ValueError, "Tensor lr must be 1-element"),
    ("RMSprop", {"eps": -1e-8}, ValueError, None),
    ("RMSprop", {"momentum": -0.9}, ValueError, "Invalid momentum value: -0.9"),
    ("RMSprop", {"weight_decay": -0.1}, ValueError, None),
    ("RMSprop", {"alpha": -0.99}, ValueError, "Invalid alpha value: -0.99"),
    ("RMSprop", {"momentum": -1.0, "alpha": -1.0}, ValueError, "Invalid momentum value: -1.0"),
    ("RMSprop", {"params": "the same parameter in two groups"}, ValueError, _TWO),
    ("RMSprop", {"params": "an empty list"}, ValueError, _EMPTY),
    ("Adagrad", {"lr": -0.01}, ValueError, "Invalid learning rate: -0.01"),
    ("Adagrad", {"lr": T([0.01, 0.01])}, ValueError, "Tensor lr must be 1-element"),
    ("Adagrad", {"lr_decay": -0.1}, ValueError, "Invalid lr_decay value: -0.1"),
    ("Adagrad", {"weight_decay": -0.1}, ValueError, None),
    (
        "Adagrad",
        {"initial_accumulator_value": -0.1},
        ValueError,
        "Invalid initial_accumulator_value value: -0.1",
    ),
    ("Adagrad", {"eps": -1e-10}, ValueError, "Invalid epsilon value: -1e-10"),
    ("Adagrad", {"params": "a single tensor"}, TypeError, _TYPE),
    ("Adagrad", {"params": "the same parameter in two groups"}, ValueError, _TWO),
    ("Adagrad", {"params": "an empty list"}, ValueError, _EMPTY),
]

# (optimizer, kwargs, description): unusual values that torch accepts, so ours must too.
VALID_EDGES = [
    ("SGD", {"lr": 0.0}, "lr=0"),
    ("SGD", {"lr": float("nan")}, "SGD checks lr < 0, which is False for nan"),
    ("SGD", {"momentum": 0.9, "dampening": 1.5}, "dampening is not range-checked"),
    ("SGD", {"dampening": -1.0}, "negative dampening without nesterov"),
    ("Adam", {"betas": (0.0, 0.0), "eps": 0.0, "weight_decay": 0.0}, "all zeros"),
    ("Adam", {"betas": (T(0.9), T([0.999]))}, "tensor betas, one of them 1-dim"),
    ("AdamW", {"weight_decay": 0}, "AdamW without decay"),
    ("RMSprop", {"alpha": 1.5}, "alpha above 1 is not checked"),
    ("Adagrad", {"lr_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 0.0}, "all zeros"),
]


# ---------------------------------------------------------------- NAdam, RAdam, Adamax, Adadelta, ASGD, Rprop
# Rows whose description starts with "torch:" copy, flag for flag, the CPU configurations of
# torch 2.13's own optimizer tests (``optim_inputs_func_<name>`` in
# torch/testing/_internal/common_optimizers.py; the CUDA-only "capturable" rows are left out with
# the flag). tests/test_optim_torch_inputs.py reads that file and fails if a configuration of it
# is missing here. The other rows add what torch's list lacks: a tensor lr, the remaining flags,
# and settings that make a branch of the update rule show within the 24 steps of the harness.
OPTIMIZERS.update(
    {
        "NAdam": (ours.NAdam, torch.optim.NAdam),
        "RAdam": (ours.RAdam, torch.optim.RAdam),
        "Adamax": (ours.Adamax, torch.optim.Adamax),
        "Adadelta": (ours.Adadelta, torch.optim.Adadelta),
        "ASGD": (ours.ASGD, torch.optim.ASGD),
        "Rprop": (ours.Rprop, torch.optim.Rprop),
        "Adafactor": (ours.Adafactor, torch.optim.Adafactor),
    }
)

CASES += [
    ("NAdam", {}, "torch: default"),
    ("NAdam", {"lr": 1e-3}, "torch: non-default lr"),
    ("NAdam", {"momentum_decay": 6e-3}, "torch: non-zero momentum_decay"),
    ("NAdam", {"weight_decay": 0.1}, "torch: weight_decay"),
    ("NAdam", {"weight_decay": 0.1, "momentum_decay": 6e-3}, "torch: weight_decay, momentum_decay"),
    (
        "NAdam",
        {"weight_decay": 0.1, "momentum_decay": 6e-3, "decoupled_weight_decay": True},
        "torch: decoupled_weight_decay",
    ),
    ("NAdam", {"weight_decay": 0.1, "maximize": True}, "torch: maximize"),
    ("NAdam", {"lr": T(0.01), "betas": (0.8, 0.99), "eps": 1e-3}, "tensor lr + betas + large eps"),
    ("NAdam", {"lr": T([0.01]), "weight_decay": 0.1, "decoupled_weight_decay": True}, "1-dim tensor lr + decoupled"),
    ("NAdam", {"lr": 0.01, "momentum_decay": 0.5, "betas": (0.5, 0.9)}, "fast momentum schedule"),
    ("RAdam", {}, "torch: default"),
    ("RAdam", {"lr": 2e-3}, "torch: non-default lr"),
    ("RAdam", {"eps": 1e-6}, "torch: non-default eps"),
    ("RAdam", {"weight_decay": 0.1}, "torch: nonzero weight_decay"),
    ("RAdam", {"weight_decay": 0.1, "decoupled_weight_decay": True}, "torch: decoupled_weight_decay"),
    ("RAdam", {"weight_decay": 0.1, "maximize": True}, "torch: maximize"),
    ("RAdam", {"lr": T(0.01), "betas": (0.8, 0.9)}, "tensor lr; beta2 0.9: rho_inf 19, rectified from step 7"),
    ("RAdam", {"lr": 0.01, "betas": (0.9, 0.5)}, "beta2 0.5: rho_inf 3, never rectified"),
    (
        "RAdam",
        {"lr": T([0.01]), "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True},
        "1-dim tensor lr + decoupled + maximize",
    ),
    ("Adamax", {}, "torch: default"),
    ("Adamax", {"lr": 0.1}, "torch: non-default lr"),
    ("Adamax", {"weight_decay": 0.1}, "torch: nonzero weight_decay"),
    ("Adamax", {"maximize": True}, "torch: maximize"),
    ("Adamax", {"weight_decay": 0.1, "maximize": True}, "torch: maximize, weight_decay"),
    ("Adamax", {"lr": T(0.01), "betas": (0.8, 0.9), "eps": 1e-2}, "tensor lr + betas + large eps"),
    ("Adamax", {"lr": T([0.01]), "betas": (0.0, 0.0)}, "1-dim tensor lr; betas zero: sign-like steps"),
    ("Adadelta", {}, "torch: default"),
    ("Adadelta", {"lr": 0.01}, "torch: non-default lr"),
    ("Adadelta", {"weight_decay": 0.1}, "torch: nonzero weight_decay"),
    ("Adadelta", {"maximize": True}, "torch: maximize"),
    ("Adadelta", {"weight_decay": 0.1, "maximize": True}, "torch: maximize, weight_decay"),
    ("Adadelta", {"rho": 0.95, "weight_decay": 0.9}, "torch: rho"),
    ("Adadelta", {"lr": T(0.5), "eps": 1e-3, "rho": 0.5}, "tensor lr + eps + rho"),
    ("Adadelta", {"lr": T([0.5]), "rho": 1.0}, "1-dim tensor lr; rho 1: the averages never move"),
    ("ASGD", {}, "torch: default"),
    ("ASGD", {"lambd": 0.1}, "torch: non-default lambd"),
    ("ASGD", {"lr": 0.02}, "torch: non-default lr"),
    ("ASGD", {"t0": 100}, "torch: t0"),
    ("ASGD", {"maximize": True}, "torch: maximize"),
    ("ASGD", {"weight_decay": 0.1}, "torch: nonzero weight_decay"),
    ("ASGD", {"weight_decay": 0.1, "maximize": True}, "torch: maximize, nonzero weight_decay"),
    ("ASGD", {"lr": 0.05, "t0": 5, "lambd": 0.05, "alpha": 0.5}, "t0 5: averaging starts within the run"),
    ("ASGD", {"lr": T(0.05), "t0": 3, "weight_decay": 0.1}, "tensor lr + averaging + weight_decay"),
    ("ASGD", {"lr": T([0.05]), "t0": 0, "alpha": 1.0, "maximize": True}, "1-dim tensor lr; t0 0: average from step 1"),
    ("Rprop", {}, "torch: default"),
    ("Rprop", {"lr": 2e-4}, "torch: non-default lr"),
    ("Rprop", {"etas": (0.5, 1.5)}, "torch: non-default etas"),
    ("Rprop", {"step_sizes": (2e-6, 100)}, "torch: non-default step_sizes"),
    ("Rprop", {"maximize": True}, "torch: maximize"),
    ("Rprop", {"lr": T(0.01), "step_sizes": (5e-3, 0.02)}, "tensor lr; tight step_sizes: both clamps bite"),
    ("Rprop", {"lr": T([0.05]), "etas": (0.3, 1.1), "maximize": True}, "1-dim tensor lr + etas + maximize"),
    ("Adafactor", {}, "torch: default"),
    ("Adafactor", {"weight_decay": 0.1, "lr": 0.01}, "torch: nonzero weight_decay"),
    ("Adafactor", {"weight_decay": 0.1, "maximize": True}, "torch: maximize"),
    ("Adafactor", {"beta2_decay": -1.0}, "torch: non-default beta2_decay"),
    ("Adafactor", {"d": 1.5}, "torch: non-default clipping threshold d"),
    ("Adafactor", {"lr": T(0.5), "eps": (1e-3, 1e-1)}, "tensor lr above 1/sqrt(t) + large eps1 and eps2"),
    (
        "Adafactor",
        {"lr": T([0.05]), "beta2_decay": 0.0, "d": 20.0, "maximize": True},
        "1-dim tensor lr; beta2_decay 0: no averaging; no clipping",
    ),
]

# Validation rows: torch's own (``optim_error_inputs_func_<name>``: each is also checked, with its
# exact parameters, by tests/test_optim_torch_inputs.py) and one per hyperparameter torch checks.
INVALID += [
    ("NAdam", {"lr": -2e-3}, ValueError, "Invalid learning rate: -0.002"),
    ("NAdam", {"lr": T([1e-3, 1e-3])}, ValueError, "Tensor lr must be 1-element"),
    ("NAdam", {"eps": -1e-8}, ValueError, "Invalid epsilon value: -1e-08"),
    ("NAdam", {"lr": 1e-2, "betas": (1.0, 0.0)}, ValueError, "Invalid beta parameter at index 0: 1.0"),
    ("NAdam", {"betas": (0.9, 1.0)}, ValueError, "Invalid beta parameter at index 1: 1.0"),
    ("NAdam", {"weight_decay": -0.1}, ValueError, "Invalid weight_decay value: -0.1"),
    ("NAdam", {"lr": 1e-2, "momentum_decay": -0.2}, ValueError, "Invalid momentum_decay value: -0.2"),
    ("NAdam", {"params": "a single tensor"}, TypeError, _TYPE),
    ("NAdam", {"params": "the same parameter in two groups"}, ValueError, _TWO),
    ("NAdam", {"params": "an empty list"}, ValueError, _EMPTY),
    ("RAdam", {"lr": -1e-3}, ValueError, "Invalid learning rate: -0.001"),
    ("RAdam", {"lr": T([1e-3, 1e-3])}, ValueError, "Tensor lr must be 1-element"),
    ("RAdam", {"eps": -1.0}, ValueError, "Invalid epsilon value: -1.0"),
    ("RAdam", {"lr": 1e-2, "betas": (1.0, 0.0)}, ValueError, "Invalid beta parameter at index 0: 1.0"),
    ("RAdam", {"betas": (0.9, -0.1)}, ValueError, "Invalid beta parameter at index 1: -0.1"),
    ("RAdam", {"lr": 1e-2, "weight_decay": -1}, ValueError, "Invalid weight_decay value: -1"),
    ("RAdam", {"params": "a single tensor"}, TypeError, _TYPE),
    ("RAdam", {"params": "an empty list"}, ValueError, _EMPTY),
    ("Adamax", {"lr": -2e-3}, ValueError, "Invalid learning rate: -0.002"),
    ("Adamax", {"lr": T([1e-3, 1e-3])}, ValueError, "Tensor lr must be 1-element"),
    ("Adamax", {"eps": -1e-8}, ValueError, "Invalid epsilon value: -1e-08"),
    ("Adamax", {"betas": (-0.5, 0.999)}, ValueError, "Invalid beta parameter at index 0: -0.5"),
    ("Adamax", {"lr": 1e-2, "betas": (0.0, 1.0)}, ValueError, "Invalid beta parameter at index 1: 1.0"),
    ("Adamax", {"weight_decay": -0.1}, ValueError, "Invalid weight_decay value: -0.1"),
    ("Adamax", {"params": "the same parameter in two groups"}, ValueError, _TWO),
    ("Adamax", {"params": "an empty list"}, ValueError, _EMPTY),
    ("Adadelta", {"lr": -1.0}, ValueError, "Invalid learning rate: -1.0"),
    ("Adadelta", {"lr": T([1.0, 1.0])}, ValueError, "Tensor lr must be 1-element"),
    ("Adadelta", {"lr": 1e-2, "rho": 1.1}, ValueError, "Invalid rho value: 1.1"),
    ("Adadelta", {"rho": -0.1}, ValueError, "Invalid rho value: -0.1"),
    ("Adadelta", {"eps": -1e-6}, ValueError, "Invalid epsilon value: -1e-06"),
    ("Adadelta", {"weight_decay": -0.1}, ValueError, "Invalid weight_decay value: -0.1"),
    ("Adadelta", {"params": "a single tensor"}, TypeError, _TYPE),
    ("Adadelta", {"params": "an empty list"}, ValueError, _EMPTY),
    ("ASGD", {"lr": -0.01}, ValueError, "Invalid learning rate: -0.01"),
    ("ASGD", {"lr": T([0.01, 0.01])}, ValueError, "Tensor lr must be 1-element"),
    ("ASGD", {"lr": 1e-2, "weight_decay": -0.5}, ValueError, "Invalid weight_decay value: -0.5"),
    ("ASGD", {"params": "a single tensor"}, TypeError, _TYPE),
    ("ASGD", {"params": "the same parameter in two groups"}, ValueError, _TWO),
    ("ASGD", {"params": "an empty list"}, ValueError, _EMPTY),
    ("Rprop", {"lr": -0.01}, ValueError, "Invalid learning rate: -0.01"),
    ("Rprop", {"lr": T([0.01, 0.01])}, ValueError, "Tensor lr must be 1-element"),
    ("Rprop", {"lr": 1e-2, "etas": (1.0, 0.5)}, ValueError, "Invalid eta values: 1.0, 0.5"),
    ("Rprop", {"etas": (0.0, 1.2)}, ValueError, "Invalid eta values: 0.0, 1.2"),
    ("Rprop", {"etas": (0.5, 1.0)}, ValueError, "Invalid eta values: 0.5, 1.0"),
    ("Rprop", {"params": "a single tensor"}, TypeError, _TYPE),
    ("Rprop", {"params": "an empty list"}, ValueError, _EMPTY),
    ("Adafactor", {"lr": -0.01}, ValueError, "Learning rate should be >= 0 but is: -0.01"),
    ("Adafactor", {"lr": T([0.01, 0.01])}, ValueError, "Tensor lr must be 1-element"),
    ("Adafactor", {"beta2_decay": 0.8}, ValueError, "beta2_decay should be <= 0 but is: 0.8"),
    ("Adafactor", {"eps": (-1e-30, 1e-3)}, ValueError, "epsilon1 should be >= 0 but is: -1e-30"),
    ("Adafactor", {"eps": (None, -1e-3)}, ValueError, "epsilon2 should be >= 0 but is: -0.001"),
    ("Adafactor", {"d": 0.0}, ValueError, "Clipping threshold d should be >= 1 but is: 0.0"),
    ("Adafactor", {"weight_decay": -0.1}, ValueError, "weight_decay should be >= 0 but is: -0.1"),
    ("Adafactor", {"params": "a single tensor"}, TypeError, _TYPE),
    ("Adafactor", {"params": "an empty list"}, ValueError, _EMPTY),
]

VALID_EDGES += [
    ("NAdam", {"momentum_decay": 0.0, "betas": (0.0, 0.0)}, "momentum_decay 0: mu is beta1 / 2 for ever"),
    ("RAdam", {"betas": (0.0, 0.0), "eps": 0.0}, "all zeros"),
    ("Adamax", {"eps": 0.0}, "eps 0"),
    ("Adadelta", {"rho": 0.0}, "rho 0 and rho 1 are both allowed"),
    ("ASGD", {"lambd": -1.0, "alpha": -1.0, "t0": -5.0}, "lambd, alpha and t0 are not range-checked"),
    ("Rprop", {"step_sizes": (10.0, 1.0)}, "step_sizes are not checked"),
    ("Adafactor", {"eps": (0.0, 0.0), "beta2_decay": 0.0, "d": 1.0}, "boundary values"),
]

# The hyperparameters whose checks torch makes, per optimizer (the validation test asks for a row each).
CHECKED_HYPERPARAMETERS = {
    "NAdam": {"lr", "eps", "betas", "weight_decay", "momentum_decay", "params"},
    "RAdam": {"lr", "eps", "betas", "weight_decay", "params"},
    "Adamax": {"lr", "eps", "betas", "weight_decay", "params"},
    "Adadelta": {"lr", "rho", "eps", "weight_decay", "params"},
    "ASGD": {"lr", "weight_decay", "params"},
    "Rprop": {"lr", "etas", "params"},
    "Adafactor": {"lr", "beta2_decay", "eps", "d", "weight_decay", "params"},
}


def default_lr(name):
    """Return torch's default ``lr`` for optimizer ``name``."""
    return inspect.signature(OPTIMIZERS[name][1]).parameters["lr"].default


PARAM_SHAPES = {"w1": (4, 3), "b1": (4,), "w2": (2, 4), "sometimes": (3,), "never": (2,)}
GROUPS = (("w1", "b1"), ("w2", "sometimes", "never"))


def initial_values(dtype, seed=0):
    """Return the starting value of every parameter, by name, drawn from a seeded generator."""
    g = torch.Generator().manual_seed(seed)
    return {name: torch.randn(shape, generator=g, dtype=dtype) for name, shape in PARAM_SHAPES.items()}


def batches(dtype, steps, seed=1):
    """Return ``steps`` (x, y) batches for the model, drawn from a seeded generator."""
    g = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(5, 3, generator=g, dtype=dtype), torch.randn(5, 2, generator=g, dtype=dtype)) for _ in range(steps)
    ]


def make_params(values):
    """Return fresh leaf parameters (by name) holding copies of ``values``."""
    return {name: torch.nn.Parameter(v.clone()) for name, v in values.items()}


def param_groups(name, kwargs, params):
    """Return the two parameter groups for optimizer ``name``: group 1 halves lr and sets weight_decay=0.05."""
    lr = kwargs.get("lr", default_lr(name))
    return [
        {"params": [params[n] for n in GROUPS[0]]},
        {"params": [params[n] for n in GROUPS[1]], "lr": lr * 0.5, "weight_decay": 0.05},
    ]


def loss_fn(params, batch, step):
    """Return the model's loss on ``batch``; ``sometimes`` takes part except on steps 1, 4, 7, ...

    ``never`` never takes part, so its gradient stays None.
    """
    x, y = batch
    hidden = x @ params["w1"].T + params["b1"]
    if not hidden.is_complex():  # complex tanh has poles (at i * pi / 2): complex models stay linear
        hidden = torch.tanh(hidden)
    loss = _square(hidden @ params["w2"].T - y).mean()
    if step % 3 != 1:
        s = params["sometimes"]
        loss = loss + 0.5 * _square(s).sum() + (s * x[0]).real.sum()
    return loss


def _square(t):
    """Return ``t ** 2``, or ``|t| ** 2`` for a complex ``t`` (so that the loss is real)."""
    return t.abs() ** 2 if t.is_complex() else t**2


def train_step(opt, params, batch, step):
    """Run zero_grad, forward, backward and ``opt.step()`` once; return the loss."""
    opt.zero_grad()
    loss = loss_fn(params, batch, step)
    loss.backward()
    opt.step()
    return loss


TOLERANCES = {
    torch.float64: {"atol": 1e-12, "rtol": 1e-12},
    torch.float32: {"atol": 1e-5, "rtol": 1e-5},
    torch.complex128: {"atol": 1e-12, "rtol": 1e-12},  # pairs of float64
    torch.complex64: {"atol": 1e-5, "rtol": 1e-5},  # pairs of float32
}


def _assert_close(actual, expected, tol, msg):
    # assert_close is slow; identical tensors (the usual case here) need no closer look
    if (
        actual.dtype == expected.dtype
        and actual.device == expected.device
        and actual.shape == expected.shape
        and actual.layout == expected.layout == torch.strided
        and torch.equal(actual, expected)
    ):
        return
    torch.testing.assert_close(actual, expected, **tol, msg=msg)


def assert_same(ours_opt, ours_params, ref_opt, ref_params, tol, where):
    """Assert that every parameter and every state entry agree within ``tol``; name what differs.

    State must have the same keys, the same value types, and tensors the same
    dtype, device and shape (``torch.testing.assert_close`` checks those).
    """
    for name in ours_params:
        ours_p, ref_p = ours_params[name], ref_params[name]
        _assert_close(ours_p.detach(), ref_p.detach(), tol, lambda m, name=name: f"{where}, param {name!r}: {m}")
        assert (ours_p in ours_opt.state) == (ref_p in ref_opt.state), (
            f"{where}, param {name!r}: state exists in one only"
        )
        ours_state, ref_state = ours_opt.state.get(ours_p, {}), ref_opt.state.get(ref_p, {})
        assert sorted(ours_state) == sorted(ref_state), f"{where}, param {name!r}: state keys differ"
        for key, ref_value in ref_state.items():
            value = ours_state[key]
            assert type(value) is type(ref_value), (
                f"{where}, {name!r} state {key!r}: {type(value)} vs {type(ref_value)}"
            )
            if isinstance(ref_value, torch.Tensor):
                _assert_close(
                    value, ref_value, tol, lambda m, name=name, key=key: f"{where}, {name!r} state {key!r}: {m}"
                )
            else:
                assert value == ref_value, f"{where}, {name!r} state {key!r}: {value} vs {ref_value}"


# ---------------------------------------------------------------- complex parameters, sparse gradients
# torch updates a complex parameter as pairs of reals (torch.view_as_real); SGD and Adagrad also take
# sparse gradients. COMPLEX_CASES run on the model above with complex128 and complex64 parameters;
# SPARSE_CASES on the embedding model below. The rows hold every CPU configuration of torch's own
# tests (torch.testing._internal.common_optimizers, checked by tests/test_optim_parity.py) and the
# flags those leave out.

COMPLEX_DTYPES = {"complex128": torch.complex128, "complex64": torch.complex64}

# (optimizer, kwargs, description)
COMPLEX_CASES = [
    ("SGD", {}, "defaults"),
    ("SGD", {"lr": 0.01}, "non-default lr"),
    ("SGD", {"lr": T(0.001)}, "tensor lr"),
    ("SGD", {"weight_decay": 0.5}, "weight_decay"),
    ("SGD", {"momentum": 0.9}, "momentum"),
    ("SGD", {"weight_decay": 0.1, "maximize": True}, "weight_decay + maximize"),
    ("SGD", {"momentum": 0.9, "dampening": 0.5}, "momentum + dampening"),
    ("SGD", {"momentum": 0.9, "weight_decay": 0.1}, "momentum + weight_decay"),
    ("SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}, "nesterov + weight_decay"),
    ("Adam", {}, "defaults"),
    ("Adam", {"lr": 0.01}, "non-default lr"),
    ("Adam", {"weight_decay": 0.1}, "L2 weight_decay"),
    ("Adam", {"weight_decay": 0.1, "maximize": True}, "weight_decay + maximize"),
    ("Adam", {"weight_decay": 0.1, "amsgrad": True}, "weight_decay + amsgrad"),
    ("Adam", {"lr": 0.01, "amsgrad": True, "maximize": True}, "amsgrad + maximize"),
    (
        "Adam",
        {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "amsgrad": True},
        "decoupled_weight_decay + amsgrad",
    ),
    ("Adam", {"lr": T(0.01), "betas": (T(0.8), T(0.99))}, "tensor lr + tensor betas: cast to the real dtype"),
    ("AdamW", {}, "defaults"),
    ("AdamW", {"lr": 0.01}, "non-default lr"),
    ("AdamW", {"weight_decay": 0.1}, "weight_decay"),
    ("AdamW", {"weight_decay": 0.1, "maximize": True}, "weight_decay + maximize"),
    ("AdamW", {"weight_decay": 0.1, "amsgrad": True}, "weight_decay + amsgrad"),
    ("AdamW", {"lr": T(0.01), "eps": 1e-3}, "tensor lr + large eps"),
    ("RMSprop", {}, "defaults"),
    ("RMSprop", {"lr": 0.001}, "non-default lr"),
    ("RMSprop", {"weight_decay": 0.1}, "weight_decay"),
    ("RMSprop", {"maximize": True}, "maximize"),
    ("RMSprop", {"weight_decay": 0.1, "centered": True}, "centered + weight_decay"),
    ("RMSprop", {"maximize": True, "weight_decay": 0.1}, "maximize + weight_decay"),
    ("RMSprop", {"weight_decay": 0.1, "centered": True, "momentum": 0.1}, "centered + weight_decay + momentum"),
    (
        "RMSprop",
        {"weight_decay": 0.1, "centered": True, "momentum": 0.1, "maximize": True},
        "centered + weight_decay + momentum + maximize",
    ),
    ("RMSprop", {"lr": T(0.01), "momentum": 0.9, "alpha": 0.9, "eps": 1e-3}, "tensor lr + momentum + alpha + eps"),
    ("Adagrad", {}, "defaults"),
    ("Adagrad", {"weight_decay": 0.1}, "weight_decay"),
    ("Adagrad", {"weight_decay": 0.1, "maximize": True}, "weight_decay + maximize"),
    ("Adagrad", {"lr": 0.1}, "non-default lr"),
    (
        "Adagrad",
        {"initial_accumulator_value": 0.1, "weight_decay": 0.1},
        "initial_accumulator_value: real and imaginary parts",
    ),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.5, "weight_decay": 0.1}, "lr_decay + weight_decay"),
    ("Adagrad", {"lr": T(0.001)}, "tensor lr"),
    ("Adagrad", {"lr": 0.1, "eps": 1e-3, "maximize": True}, "eps + maximize"),
]

# (optimizer, kwargs, description): the optimizers torch lets take sparse gradients, on SPARSE_SHAPES.
SPARSE_CASES = [
    ("SGD", {"lr": 4.8e-3}, "torch's own sparse configuration"),
    ("SGD", {"lr": 0.1}, "plain"),
    ("SGD", {"lr": 0.1, "momentum": 0.9}, "momentum: a sparse momentum_buffer"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}, "momentum + dampening"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}, "nesterov"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}, "nesterov + maximize"),
    ("SGD", {"lr": T(0.1), "momentum": 0.5}, "tensor lr + momentum"),
    ("Adagrad", {"lr": 0.1}, "torch's own sparse configuration"),
    ("Adagrad", {}, "defaults"),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.5}, "lr_decay"),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1}, "initial_accumulator_value"),
    ("Adagrad", {"lr": 0.1, "eps": 1e-3, "maximize": True}, "eps + maximize"),
    ("Adagrad", {"lr": T([0.1]), "lr_decay": 0.1}, "1-dim tensor lr + lr_decay"),
]

# (optimizer, kwargs, description): a sparse gradient that torch refuses; ours must raise the same
# exception with the same message, and leave parameters and state as torch leaves them.
SPARSE_REFUSED = [
    ("Adam", {}, "Adam"),
    ("Adam", {"amsgrad": True, "decoupled_weight_decay": True}, "Adam with every flag"),
    ("AdamW", {}, "AdamW: torch's message names Adam"),
    ("RMSprop", {}, "RMSprop"),
    ("RMSprop", {"momentum": 0.9, "centered": True}, "RMSprop with momentum, centered"),
    ("Adagrad", {"weight_decay": 0.1}, "Adagrad refuses weight_decay with sparse gradients"),
    ("SGD", {"weight_decay": 0.1}, "SGD: sparse + dense is not defined"),
    ("SGD", {"weight_decay": 0.1, "momentum": 0.9}, "SGD: weight_decay with momentum"),
]

# An embedding model: "emb" and "emb2" get sparse gradients (rows looked up several times, so the
# gradient has repeated indices), "head" a dense one, "never" none.
SPARSE_SHAPES = {"emb": (10, 3), "head": (2, 3), "emb2": (6, 3), "never": (2,)}
SPARSE_GROUPS = (("emb", "head"), ("emb2", "never"))


def sparse_initial_values(dtype, seed=0):
    """Return the starting value of every parameter of the embedding model, by name."""
    g = torch.Generator().manual_seed(seed)
    return {name: torch.randn(shape, generator=g, dtype=dtype) for name, shape in SPARSE_SHAPES.items()}


def sparse_batches(dtype, steps, seed=1):
    """Return ``steps`` (indices, indices2, y) batches for the embedding model."""
    g = torch.Generator().manual_seed(seed)
    return [
        (
            torch.randint(0, 10, (7,), generator=g),
            torch.randint(0, 6, (7,), generator=g),
            torch.randn(7, 2, generator=g, dtype=dtype),
        )
        for _ in range(steps)
    ]


def sparse_param_groups(name, kwargs, params):
    """Return the two groups of the embedding model; group 1 halves lr."""
    lr = kwargs.get("lr", default_lr(name))
    return [
        {"params": [params[n] for n in SPARSE_GROUPS[0]]},
        {"params": [params[n] for n in SPARSE_GROUPS[1]], "lr": lr * 0.5},
    ]


def sparse_train_step(opt, params, batch):
    """Run zero_grad, forward, backward (sparse gradients for the embeddings) and ``opt.step()``."""
    opt.zero_grad()
    idx, idx2, y = batch
    emb = torch.nn.functional.embedding(idx, params["emb"], sparse=True)
    emb2 = torch.nn.functional.embedding(idx2, params["emb2"], sparse=True)
    loss = (((emb + emb2) @ params["head"].T - y) ** 2).mean()
    loss.backward()
    opt.step()
    return loss


def torch_foreach_split(case, reference, dtype):
    """Return why torch's ``foreach=True`` code disagrees with its own single-tensor code on ``case``, or None.

    Ours copies the single-tensor code (and is held bitwise equal to it). Where torch's
    two implementations differ from *each other* by more than the tolerance, comparing
    ours with ``foreach=True`` would test torch, not us; tests/test_optim_torch_inputs.py
    checks that each split named here is real.
    """
    name, kwargs, description = case
    if reference != "torch foreach=True" or dtype != torch.float64:
        return None
    if (name, description) in _FOREACH_TENSOR_LR_SPLITS:
        return (
            f"torch's foreach {name} scales by the float32 tensor lr inside its kernels; "
            "its single-tensor code by a number"
        )
    if name == "ASGD" and not isinstance(kwargs.get("lr"), torch.Tensor):
        return (
            "torch's foreach ASGD computes param - eta * (grad + lambd * param), "
            "its single-tensor code param * (1 - lambd * eta) - eta * grad"
        )
    return None


_FOREACH_TENSOR_LR_SPLITS = {
    ("NAdam", "tensor lr + betas + large eps"),
    ("NAdam", "1-dim tensor lr + decoupled"),
    ("RAdam", "tensor lr; beta2 0.9: rho_inf 19, rectified from step 7"),
    ("RAdam", "1-dim tensor lr + decoupled + maximize"),
    ("Adamax", "tensor lr + betas + large eps"),
}


# Optimizers with 0-dim float32 state besides ``step`` (NAdam's mu_product, ASGD's eta and mu):
# torch's load_state_dict casts every state tensor but ``step`` to the parameter's dtype, so after
# loading they hold float64 values where an uninterrupted run keeps float32.
STATE_CAST_ON_LOAD = {"NAdam", "ASGD"}

# Optimizers on which a changed ``lr`` does not change the very next step, in torch as here.
LR_CHANGE_IS_LATE = {
    "Rprop": "Rprop's lr only sets the initial step_size of each coordinate",
    "ASGD": "ASGD computes each step's eta from the lr one step earlier",
}


# ---------------------------------------------------------------- Muon, SparseAdam, LBFGS
# These three cannot run on the harness above: Muon takes 2-D parameters only, SparseAdam
# sparse gradients only, and LBFGS one parameter group and a closure. tests/test_optim_special.py
# drives each on a model of its own from these rows; "torch:" rows copy torch's
# optim_inputs_func_<name> as above (and tests/test_optim_torch_inputs.py keeps them complete).
SPECIAL_OPTIMIZERS = {
    "Muon": (ours.Muon, torch.optim.Muon),
    "SparseAdam": (ours.SparseAdam, torch.optim.SparseAdam),
    "LBFGS": (ours.LBFGS, torch.optim.LBFGS),
}

SPECIAL_CASES = [
    ("Muon", {}, "torch: default"),
    ("Muon", {"lr": 0.01}, "torch: non-default lr"),
    ("Muon", {"lr": T(0.001)}, "torch: Tensor lr"),
    ("Muon", {"weight_decay": 0.2}, "torch: non-default weight_decay"),
    ("Muon", {"momentum": 0.8}, "torch: non-default momentum"),
    ("Muon", {"ns_steps": 6}, "torch: passing alternative ns_steps"),
    ("Muon", {"ns_coefficients": (3.4, -4.7, 2.0)}, "torch: passing alternative ns_coefficients"),
    ("Muon", {"lr": 0.02, "nesterov": False}, "no nesterov: the buffer itself"),
    ("Muon", {"lr": 0.02, "adjust_lr_fn": "original"}, "adjust_lr_fn original, by name"),
    (
        "Muon",
        {"lr": T([0.02]), "adjust_lr_fn": "match_rms_adamw", "weight_decay": 0.0},
        "1-dim tensor lr + match_rms_adamw",
    ),
    ("Muon", {"lr": 0.02, "momentum": 0.0, "eps": 1e-3, "ns_steps": 1}, "no momentum, one Newton-Schulz step"),
    ("SparseAdam", {}, "torch: default"),
    ("SparseAdam", {"lr": 0.01}, "torch: non-default lr"),
    ("SparseAdam", {"lr": T(0.001)}, "torch: Tensor lr"),
    ("SparseAdam", {"maximize": True}, "torch: maximize"),
    ("SparseAdam", {"lr": T([0.05]), "betas": (0.5, 0.9), "eps": 1e-3}, "1-dim tensor lr + betas + large eps"),
    ("SparseAdam", {"lr": 0.05, "betas": (0.0, 0.0), "maximize": True}, "betas zero + maximize"),
    ("LBFGS", {}, "torch: default"),
    ("LBFGS", {"lr": 0.01}, "torch: non-default lr"),
    ("LBFGS", {"lr": T(0.001)}, "torch: Tensor lr"),
    ("LBFGS", {"tolerance_grad": 1e-6}, "torch: tolerance_grad"),
    ("LBFGS", {"line_search_fn": "strong_wolfe"}, "torch: strong_wolfe"),
    (
        "LBFGS",
        {"line_search_fn": "strong_wolfe", "history_size": 3, "max_iter": 7},
        "strong_wolfe, short history: pairs dropped",
    ),
    (
        "LBFGS",
        {"line_search_fn": "strong_wolfe", "lr": T([2.0]), "max_eval": 9},
        "strong_wolfe, 1-dim tensor lr, max_eval cuts the search",
    ),
    ("LBFGS", {"lr": 0.5, "max_iter": 3, "tolerance_change": 1e-3}, "few iterations, coarse tolerance_change"),
    ("LBFGS", {"lr": 0.2, "max_iter": 1}, "one iteration per step: the state carries over"),
]

SPECIAL_INVALID = [
    ("Muon", {"lr": -1e-3}, ValueError, "Learning rate should be >= 0 but is: -0.001"),
    ("Muon", {"lr": T([1e-3, 1e-3])}, ValueError, "Tensor lr must be 1-element"),
    ("Muon", {"momentum": -0.9}, ValueError, "momentum should be >= 0 but is: -0.9"),
    ("Muon", {"weight_decay": -0.1}, ValueError, "weight decay should be >= 0 but is: -0.1"),
    ("Muon", {"adjust_lr_fn": "arbitrary"}, ValueError, "Adjust learning rate function arbitrary is not supported"),
    (
        "Muon",
        {"params": "a single tensor"},
        TypeError,
        "params argument given to the optimizer should be an iterable of Tensors or dicts, but got torch.FloatTensor",
    ),
    ("Muon", {"params": "an empty list"}, ValueError, _EMPTY),
    (
        "Muon",
        {"params": "a 3-D tensor"},
        ValueError,
        "Muon only supports 2D parameters whereas we found a parameter with size: torch.Size([2, 3, 4])",
    ),
    (
        "Muon",
        {"params": "a 1-D tensor"},
        ValueError,
        "Muon only supports 2D parameters whereas we found a parameter with size: torch.Size([2])",
    ),
    ("SparseAdam", {"lr": 0.0}, ValueError, "Invalid learning rate: 0.0"),
    ("SparseAdam", {"lr": T([1e-3, 1e-3])}, ValueError, "Tensor lr must be 1-element"),
    ("SparseAdam", {"eps": 0.0}, ValueError, "Invalid epsilon value: 0.0"),
    ("SparseAdam", {"lr": 1e-2, "betas": (1.0, 0.0)}, ValueError, "Invalid beta parameter at index 0: 1.0"),
    ("SparseAdam", {"betas": (0.9, 1.0)}, ValueError, "Invalid beta parameter at index 1: 1.0"),
    (
        "SparseAdam",
        {"params": "a sparse tensor"},
        ValueError,
        "Sparse params at indices [[0, 0]]: SparseAdam requires dense parameter tensors",
    ),
    (
        "SparseAdam",
        {"params": "a complex tensor"},
        ValueError,
        "Complex params at indices [[0, 0]]: SparseAdam does not support complex parameters",
    ),
    ("SparseAdam", {"params": "the same parameter in two groups"}, ValueError, _TWO),
    ("LBFGS", {"lr": -1.0}, ValueError, "Invalid learning rate: -1.0"),
    ("LBFGS", {"lr": T([1.0, 1.0])}, ValueError, "Tensor lr must be 1-element"),
    ("LBFGS", {"params": "two groups"}, ValueError, "LBFGS doesn't support per-parameter options (parameter groups)"),
    ("LBFGS", {"params": "the same parameter in two groups"}, ValueError, _TWO),
    ("LBFGS", {"params": "an empty list"}, ValueError, _EMPTY),
]

SPECIAL_BAD_PARAMS = {
    "a 3-D tensor": lambda: [torch.zeros(2, 3, 4, requires_grad=True)],
    "a 1-D tensor": lambda: [torch.zeros(2, requires_grad=True)],
    "a sparse tensor": lambda: [torch.zeros(3).to_sparse()],
    "a complex tensor": lambda: [torch.zeros(3, dtype=torch.complex64, requires_grad=True)],
    "two groups": lambda: [
        {"params": [torch.zeros(2, requires_grad=True)]},
        {"params": [torch.zeros(2, requires_grad=True)]},
    ],
}

CHECKED_HYPERPARAMETERS.update(
    {
        "Muon": {"lr", "momentum", "weight_decay", "adjust_lr_fn", "params"},
        "SparseAdam": {"lr", "eps", "betas", "params"},
        "LBFGS": {"lr", "params"},
    }
)
