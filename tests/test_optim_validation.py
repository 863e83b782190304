"""Bad hyperparameters fail in ``__init__`` exactly as in torch: same exception type, same message.

The expected error is read from torch by constructing torch's optimizer with the
same arguments, so these tests fail as soon as ours drifts from torch. Rows that
also spell the message out check it explicitly.
"""

import pytest
from optim_cases import BAD_PARAMS, INVALID, OPTIMIZERS, VALID_EDGES, good_params


def _params_and_kwargs(kwargs):
    kwargs = dict(kwargs)
    make = BAD_PARAMS[kwargs.pop("params")] if "params" in kwargs else good_params
    return make, kwargs


def _torch_error(name, kwargs):
    make, kwargs = _params_and_kwargs(kwargs)
    try:
        OPTIMIZERS[name][1](make(), **kwargs)
    except Exception as error:  # whatever torch raises is what we expect
        return error
    raise AssertionError(f"torch.optim.{name} accepts {kwargs}: the row does not belong in INVALID")


def _row_id(row):
    name, kwargs, _, _ = row
    return f"{name}-" + ",".join(f"{k}={v!r}" for k, v in kwargs.items())


@pytest.mark.parametrize("row", INVALID, ids=_row_id)
def test_invalid_arguments_raise_torchs_exception_and_message(row):
    name, kwargs, error_type, message = row
    expected = _torch_error(name, kwargs)
    assert type(expected) is error_type, f"torch raises {type(expected).__name__}: {expected}"
    if message is not None:
        assert str(expected) == message, "the row's message is not torch's"

    make, kwargs = _params_and_kwargs(kwargs)
    with pytest.raises(type(expected)) as raised:
        OPTIMIZERS[name][0](make(), **kwargs)
    assert type(raised.value) is type(expected)
    assert str(raised.value) == str(expected)


@pytest.mark.parametrize("row", VALID_EDGES, ids=lambda row: f"{row[0]}-{row[2]}")
def test_unusual_values_torch_accepts_are_accepted(row):
    name, kwargs, _ = row
    OPTIMIZERS[name][1](good_params(), **kwargs)  # torch accepts them (else the row is wrong) ...
    OPTIMIZERS[name][0](good_params(), **kwargs)  # ... and so must we


def test_every_optimizer_has_invalid_rows_for_each_checked_hyperparameter():
    """The table is the specification: each numeric hyperparameter torch checks has a row."""
    checked = {
        "SGD": {"lr", "momentum", "weight_decay", "nesterov", "params"},
        "Adam": {"lr", "eps", "betas", "weight_decay", "params"},
        "AdamW": {"lr", "eps", "betas", "weight_decay", "params"},
        "RMSprop": {"lr", "eps", "momentum", "weight_decay", "alpha", "params"},
        "Adagrad": {"lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "params"},
    }
    for name, keys in checked.items():
        covered = {key for row_name, kwargs, _, _ in INVALID if row_name == name for key in kwargs}
        assert keys <= covered, f"{name}: no INVALID row for {sorted(keys - covered)}"
