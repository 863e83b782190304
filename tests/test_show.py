"""``expect_error``: an intended error shown in one line, a missing or wrong one refused loudly."""

import subprocess
import sys

import pytest
import torch

import myoptim_helpers
from myoptim_helpers import expect_error
from myoptim_helpers.show import error_line


def sgd_with(lr):
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)


# (block, expected types, the line printed) with torch's own messages
SHOWN = [
    (lambda: sgd_with(-1.0), ValueError, "ValueError: Invalid learning rate: -1.0"),
    (lambda: sgd_with(-1), (TypeError, ValueError), "ValueError: Invalid learning rate: -1"),
    (lambda: torch.optim.SGD([], lr=0.1), ValueError, "ValueError: optimizer got an empty parameter list"),
    (
        lambda: torch.optim.SGD([torch.zeros(1)], lr=0.1, nesterov=True),
        ValueError,
        "ValueError: Nesterov momentum requires a momentum and zero dampening",
    ),
    (
        lambda: torch.ones(2, requires_grad=True).add_(1),
        RuntimeError,
        "RuntimeError: a leaf Variable that requires grad is being used in an in-place operation.",
    ),
    (lambda: {}["square_avg"], KeyError, "KeyError: 'square_avg'"),
    (lambda: {}["sum"], LookupError, "KeyError: 'sum'"),  # a base class catches
    (lambda: 1 / 0, Exception, "ZeroDivisionError: division by zero"),  # the default too
]


@pytest.mark.parametrize("block, expected, line", SHOWN, ids=[s[2][:40] for s in SHOWN])
def test_the_error_is_printed_in_one_line_in_torchs_words(block, expected, line, capsys):
    with expect_error(expected) as caught:
        block()
    assert capsys.readouterr().out == line + "\n"
    assert isinstance(caught.value, expected)


def test_the_default_catches_any_exception(capsys):
    with expect_error():
        raise OSError("disk")
    assert capsys.readouterr().out == "OSError: disk\n"


def test_code_after_the_block_runs(capsys):
    with expect_error(ValueError):
        sgd_with(-0.5)
    print("the cell goes on")
    assert capsys.readouterr().out.splitlines() == ["ValueError: Invalid learning rate: -0.5", "the cell goes on"]


def test_no_error_fails_loudly(capsys):
    with (
        pytest.raises(AssertionError, match=r"^expected ValueError, but the block raised nothing$"),
        expect_error(ValueError),
    ):
        sgd_with(0.1)
    assert capsys.readouterr().out == ""


def test_an_error_of_another_type_fails_loudly_and_keeps_the_original():
    with pytest.raises(AssertionError) as info, expect_error((TypeError, KeyError)):
        sgd_with(-1.0)
    assert str(info.value) == ("expected TypeError or KeyError, got ValueError: Invalid learning rate: -1.0")
    assert isinstance(info.value.__cause__, ValueError)


def test_match_checks_the_message():
    with expect_error(ValueError, match=r"learning rate: -1\.0$"):
        sgd_with(-1.0)
    with (
        pytest.raises(
            AssertionError, match="expected a message matching 'momentum', got ValueError: Invalid learning rate: -1.0"
        ),
        expect_error(ValueError, match="momentum"),
    ):
        sgd_with(-1.0)


def test_keyboard_interrupt_is_never_swallowed(capsys):
    with pytest.raises(KeyboardInterrupt), expect_error():
        raise KeyboardInterrupt
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("bad", [ValueError("x"), "ValueError", (), (ValueError, 3), int])
def test_a_wrong_argument_is_refused(bad):
    with pytest.raises(TypeError, match="expect_error\\(\\) takes an exception class"):
        expect_error(bad)


@pytest.mark.parametrize(
    "exc, line",
    [
        (ValueError("two\n  lines  \n"), "ValueError: two lines"),
        (RuntimeError(), "RuntimeError"),
        (KeyError("lr"), "KeyError: 'lr'"),
    ],
)
def test_error_line(exc, line):
    assert error_line(exc) == line


def test_expect_error_is_exported_from_the_package_and_imports_nothing_heavy():
    assert myoptim_helpers.expect_error is expect_error
    assert "expect_error" in dir(myoptim_helpers)
    code = (
        "import sys\nfrom myoptim_helpers import expect_error\n"
        "print(sorted(m for m in ('matplotlib', 'ipywidgets', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
