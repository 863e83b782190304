"""Show, in a lesson, what goes wrong without stopping the notebook.

``expect_error`` runs a block that must raise and prints the exception in one line, in the
words torch uses::

    >>> import torch
    >>> from myoptim_helpers import expect_error
    >>> with expect_error(ValueError):
    ...     torch.optim.SGD([torch.zeros(1)], lr=-1)
    ValueError: Invalid learning rate: -1

A cell that simply raises would stop "Run all" in Colab, VS Code and the classic Notebook
(only nbclient and JupyterLab honour a ``raises-exception`` tag). With ``expect_error`` the
cell succeeds, and the lesson runs to its end everywhere.
"""

from __future__ import annotations

import re

__all__ = ["expect_error"]


def _names(types: tuple) -> str:
    return " or ".join(t.__name__ for t in types)


def error_line(exc: BaseException) -> str:
    """Return ``"Type: message"`` on one line, as the last line of a traceback reads."""
    message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class expect_error:
    """Context manager: the block must raise ``expected``; print the error in one line.

    ``expected`` is an exception class or a tuple of them (default: any ``Exception``);
    ``match``, if given, is a regular expression that the message must contain
    (``re.search``). The caught exception is kept as ``.value``.

    Raises ``AssertionError`` when the block raises nothing, or an exception of another type
    (chained, so its traceback is kept), or a message that does not match: the lesson shows
    a mistake that no longer happens, and must say so loudly. ``KeyboardInterrupt`` and
    other non-``Exception`` errors pass through untouched.
    """

    def __init__(self, expected: type | tuple = Exception, *, match: str | None = None):
        types = expected if isinstance(expected, tuple) else (expected,)
        if not types or not all(isinstance(t, type) and issubclass(t, BaseException) for t in types):
            raise TypeError(f"expect_error() takes an exception class or a tuple of them, got {expected!r}")
        self.expected = types
        self.match = match
        self.value = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            raise AssertionError(f"expected {_names(self.expected)}, but the block raised nothing")
        if not issubclass(exc_type, Exception):
            return False
        if not isinstance(exc, self.expected):
            # AssertionError, not TypeError: the lesson's claim about its error no longer holds
            raise AssertionError(  # noqa: TRY004
                f"expected {_names(self.expected)}, got {error_line(exc)}"
            ) from exc
        if self.match is not None and not re.search(self.match, str(exc)):
            raise AssertionError(f"expected a message matching {self.match!r}, got {error_line(exc)}") from exc
        self.value = exc
        print(error_line(exc))
        return True
