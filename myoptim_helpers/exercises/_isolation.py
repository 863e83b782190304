"""Isolation: a check leaves the notebook as it found it, and learner code cannot hold it up.

- :func:`preserved_global_state`: RNGs, default dtype and device, grad and anomaly modes,
  threads, print options, warning filters, and any attribute of torch's classes and
  modules, or of this package's modules, that learner code changed are restored after a
  check (``_snapshot_namespaces``/``_restore_namespaces`` also name what was patched).
- :func:`time_limit`: learner code that runs too long is interrupted with
  :class:`LearnerTimeout`.
- ``_capped_output``: what learner code prints during one check is cut at
  :data:`PRINT_LIMIT` characters.
- :func:`seeded` and :func:`private_copy`: a grader's own random draws and copies, which
  never touch the notebook's RNG or the learner's objects.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import io
import random
import signal
import sys
import threading
import time
import types
import warnings

import torch

__all__ = [
    "preserved_global_state",
    "time_limit",
    "LearnerTimeout",
    "PRINT_LIMIT",
    "seeded",
    "private_copy",
]

PRINT_LIMIT = 2000  # characters of the learner's own printing shown during one check


@functools.cache
def _torch_namespaces() -> tuple:
    """torch's objects whose attributes learner code must not change: its optimizer classes,
    ``torch.Tensor``, ``torch.nn.Module`` and the ``torch``, ``torch.optim`` and
    ``torch.nn.functional`` modules."""
    found = [torch, torch.optim, torch.nn.functional, torch.Tensor, torch.nn.Module, torch.optim.Optimizer]
    found += [
        c
        for c in vars(torch.optim).values()
        if isinstance(c, type) and issubclass(c, torch.optim.Optimizer) and c is not torch.optim.Optimizer
    ]
    return tuple(found)


def _watched_namespaces(own_modules: bool = True) -> list:
    """torch's namespaces (:func:`_torch_namespaces`) and, with ``own_modules``, this
    package's checker and optimizer modules (their constants)."""
    found = list(_torch_namespaces())
    if own_modules:
        package = __package__.rsplit(".", 1)[0]  # myoptim_helpers
        found += [
            m
            for name, m in list(sys.modules.items())
            if m is not None and name.startswith((__package__, package + ".optim"))
        ]
    return found


@functools.cache
def _torch_warmed_up() -> bool:
    """Let torch do its own lazy patching once, before the first snapshot: the first
    optimizer imports torch._dynamo (which wraps e.g. ``torch.manual_seed``), and each
    optimizer class wraps its ``step`` on first construction. Without this, torch's own
    first-use changes would be taken for the learner's."""
    import torch._dynamo  # noqa: F401

    for cls in vars(torch.optim).values():
        if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer) and cls is not torch.optim.Optimizer:
            with contextlib.suppress(Exception), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cls([torch.nn.Parameter(torch.zeros(2, 2))])
    return True


def _public_class_name(cls) -> str:
    """'torch.optim.SGD', 'torch.Tensor', 'torch.nn.Module': where a learner reaches the class."""
    for module, prefix in ((torch.optim, "torch.optim"), (torch, "torch"), (torch.nn, "torch.nn")):
        if getattr(module, cls.__name__, None) is cls:
            return f"{prefix}.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def _snapshot_namespaces(own_modules: bool = True) -> list:
    _torch_warmed_up()
    return [(ns, dict(vars(ns))) for ns in _watched_namespaces(own_modules)]


def _restore_namespaces(snapshot) -> list:
    """Undo attribute changes since ``snapshot``; return the names changed ("torch.optim.SGD.step").

    An attribute added to a module is kept when it is a module (a lazy import, e.g. torch
    importing ``torch._dynamo`` on first use), removed otherwise; on a class every added
    attribute is removed.
    """
    changed = []
    for ns, before in snapshot:
        now = vars(ns)
        is_module = isinstance(ns, types.ModuleType)
        label = ns.__name__ if is_module else _public_class_name(ns)
        for name in [n for n in now if n not in before]:
            if is_module and isinstance(now[name], types.ModuleType):
                continue
            if is_module and name.startswith("__"):
                continue
            changed.append(f"{label}.{name}")
            with contextlib.suppress(AttributeError, TypeError):
                delattr(ns, name)
        for name, value in before.items():
            if name not in now or now[name] is not value:
                if name in ("__doc__", "__dict__", "__weakref__"):
                    continue
                changed.append(f"{label}.{name}")
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(ns, name, value)
    return changed


@contextlib.contextmanager
def preserved_global_state():
    """Run with gradients enabled (graders train models, even when the notebook has
    switched gradients off), then restore on exit: torch/python/numpy RNG state, default
    dtype, default device, grad mode, anomaly mode, deterministic mode, thread count,
    print options, warning filters, and any attribute of torch's optimizer classes,
    ``torch.Tensor``, ``torch.optim``, ``torch`` or this package's modules that was changed."""
    torch_rng = torch.get_rng_state()
    py_rng = random.getstate()
    np_random = sys.modules.get("numpy.random")
    np_rng = np_random.get_state() if np_random is not None else None
    dtype = torch.get_default_dtype()
    device = torch.get_default_device()
    grad = torch.is_grad_enabled()
    anomaly = (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled())
    deterministic = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    threads = torch.get_num_threads()
    print_options = (
        dataclasses.asdict(torch._tensor_str.PRINT_OPTS)
        if dataclasses.is_dataclass(torch._tensor_str.PRINT_OPTS)
        else dict(vars(torch._tensor_str.PRINT_OPTS))
    )
    filters = warnings.filters[:]
    namespaces = _snapshot_namespaces()
    try:
        torch.set_grad_enabled(True)
        yield
    finally:
        _restore_namespaces(namespaces)
        torch.set_rng_state(torch_rng)
        random.setstate(py_rng)
        if np_rng is not None:
            np_random.set_state(np_rng)
        torch.set_default_dtype(dtype)
        if torch.get_default_device() != device:
            torch.set_default_device(device)
        torch.set_grad_enabled(grad)
        torch.set_anomaly_enabled(*anomaly)
        torch.use_deterministic_algorithms(deterministic[0], warn_only=deterministic[1])
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        for name, value in print_options.items():
            setattr(torch._tensor_str.PRINT_OPTS, name, value)
        warnings.filters[:] = filters


@contextlib.contextmanager
def _modes_kept():
    """Restore grad mode, default dtype and default device after one call of learner code,
    so that the grader's next steps run as they should (the whole state is restored after
    the check by :func:`preserved_global_state`)."""
    grad, dtype, device = torch.is_grad_enabled(), torch.get_default_dtype(), torch.get_default_device()
    try:
        yield
    finally:
        torch.set_grad_enabled(grad)
        torch.set_default_dtype(dtype)
        if torch.get_default_device() != device:
            torch.set_default_device(device)


class LearnerTimeout(BaseException):
    """Raised inside learner code when its time budget is spent. A BaseException, so that
    a learner's ``except Exception:`` does not swallow it."""


def _alarm_available() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def time_limit(seconds: float, label: str = "your function"):
    """Raise :class:`LearnerTimeout` in the block once it has run ``seconds``.

    Uses ``signal.setitimer`` (Linux, macOS, Colab), re-firing every 0.1 s so that a bare
    ``except:`` in a loop cannot hold on; nests (an outer budget keeps counting); where
    there is no alarm (Windows, a thread other than the main one) the block runs unlimited.
    A single long C call (one huge matrix product) is interrupted only when it returns.
    """
    if not _alarm_available() or seconds is None:
        yield
        return
    start = time.monotonic()
    message = f"{label} did not return within {seconds:g} s: does it loop forever?"

    def on_alarm(signum, frame):
        raise LearnerTimeout(message)

    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
    if 0 < old_delay < seconds:  # an outer budget ends first: keep it
        signal.setitimer(signal.ITIMER_REAL, old_delay, old_interval)
        signal.signal(signal.SIGALRM, old_handler)
        old_handler, old_delay = None, -1.0
    try:
        yield
    finally:
        if old_delay >= 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
            if old_delay > 0:
                remaining = max(old_delay - (time.monotonic() - start), 1e-3)
                signal.setitimer(signal.ITIMER_REAL, remaining, old_interval)


class _CappedStream(io.TextIOBase):
    """Forwards up to ``budget[0]`` characters to ``target``, then says once that the rest
    was cut."""

    def __init__(self, target, budget: list):
        self.target, self.budget = target, budget

    def write(self, text):
        if self.budget[0] > 0:
            self.target.write(text[: self.budget[0]])
            self.budget[0] -= len(text)
            if self.budget[0] <= 0:
                self.target.write(
                    f"\n[... the rest of what your code printed during this "
                    f"check is cut: it printed more than {PRINT_LIMIT} "
                    "characters]\n"
                )
        return len(text)

    def flush(self):
        with contextlib.suppress(Exception):
            self.target.flush()

    @property
    def encoding(self):
        """The encoding of the stream written to (code that prints may ask for it)."""
        return getattr(self.target, "encoding", "utf-8")


@contextlib.contextmanager
def _capped_output():
    """Let learner code print at most :data:`PRINT_LIMIT` characters during one check."""
    budget = [PRINT_LIMIT]
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _CappedStream(out, budget), _CappedStream(err, budget)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


@contextlib.contextmanager
def seeded(seed: int):
    """Run a block with ``torch.manual_seed(seed)``, restoring the caller's RNG state after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def private_copy(*objs):
    """Return a deep copy of ``objs`` (as a tuple, or the object if one), links between
    them kept: ``model, opt = private_copy(model, opt)`` gives an optimizer over the copy."""
    copied = copy.deepcopy(objs)
    return copied[0] if len(objs) == 1 else copied
