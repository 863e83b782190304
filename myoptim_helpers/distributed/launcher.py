"""Run a function on several ``torch.distributed`` processes of this machine (lesson 11).

``launch(worker, *args, world_size=2)`` starts ``world_size`` processes with
``torch.multiprocessing``, joins them into one gloo process group over loopback
(127.0.0.1), calls ``worker(rank, world_size, *args)`` on every rank and returns the
values the ranks returned, in rank order::

    >>> import torch.distributed as dist
    >>> from myoptim_helpers.distributed import launch, all_reduce_sum_of_ranks
    >>> launch(all_reduce_sum_of_ranks, world_size=2)   # every rank all-reduces its rank number
    [1.0, 1.0]

What the launcher guarantees, so that a lesson never hangs and a test run never collides
with another one:

- **Free ports, chosen at run time.** Rank 0 hosts the rendezvous (a ``TCPStore``) on a
  port the operating system picks (port 0) and tells the other ranks through a file; gloo's
  own connections use ports the system picks too. An explicit ``master_port`` that is taken
  gives one clear error.
- **Timeouts everywhere.** Every collective of the process group times out after
  ``collective_timeout`` seconds (gloo honours the group's timeout); the whole launch
  after ``timeout`` seconds.
- **Clean up, always.** When a rank fails or the launch times out, the other ranks are
  terminated (then killed) and joined before ``launch`` returns or raises.
- **One clear error.** A rank that raises is reported as one line,
  ``rank 1 raised ValueError: ... (in `worker`, line 12)``, by :class:`WorkerError`.
  When several ranks fail, the first failure is the cause (a peer that dies makes the
  others' collectives fail a moment later), so it is the one reported.

The ranks are forked from the calling process on Linux, so they start in a fraction of a
second and can run functions defined in a notebook; elsewhere (macOS, Windows) they are
spawned, and ``worker`` must be importable (defined in a module, like those in ``workers.py``).
Their printed output goes to a log file, not to the notebook: return what you want to see.
With the environment variable ``MYOPTIM_DEBUG_RANKS=1`` the logs are kept (in a
``myoptim-ranks-*`` temporary directory) and a rank still running shortly before the
collective timeout writes its Python stack there.

What runs on the ranks (lesson 11's workers) is in ``workers.py``.
"""

from __future__ import annotations

import datetime
import os
import pickle
import re
import shutil
import socket
import sys
import tempfile
import time
import traceback

import torch

__all__ = ["WorkerError", "launch", "default_start_method"]


HOST = "127.0.0.1"  # loopback only: nothing leaves this machine


class WorkerError(RuntimeError):
    """A launch failed: a rank raised, a rank did not finish in time, or the launch could not start.

    ``str(error)`` is one line meant for the learner. ``rank`` is the rank at fault (None when
    the launch itself failed); ``exc_type`` the name of the exception that rank raised, if any.
    """

    def __init__(self, message, rank=None, exc_type=None):
        super().__init__(message)
        self.rank = rank
        self.exc_type = exc_type


def default_start_method() -> str:
    """Return "fork" on Linux (fast, works for functions defined in a notebook), "spawn" elsewhere."""
    return "fork" if sys.platform.startswith("linux") else "spawn"


def _loopback_interface() -> str:
    return "lo0" if sys.platform == "darwin" else "lo"


# --------------------------------------------------------------------------- inside a rank


def _where(tb) -> str:
    """' (in `fn`, line N)' for the innermost frame outside torch and the standard library."""
    torch_dir = os.path.dirname(torch.__file__) + os.sep
    std_dir = os.path.dirname(os.__file__) + os.sep
    here = os.path.abspath(__file__)
    found = None
    for frame, lineno in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        if filename.startswith((torch_dir, std_dir)) or os.path.abspath(filename) == here:
            continue
        found = (frame.f_code.co_name, lineno)
    if found is None:
        return ""
    name, lineno = found
    return f" (in `{name}`, line {lineno})" if name != "<module>" else f" (line {lineno})"


def _short(message) -> str:
    """The first line of an error message, without gloo's source location and boilerplate."""
    message = message.strip().splitlines()[0] if message.strip() else ""
    message = re.sub(r"^\[[^\]]*\.(cc|cpp|h):\d+\] ", "", message)
    return message.split(". This is typically caused")[0]


def _record_error(exc, rank, workdir):
    """Write the first error of this rank for the parent (later ones are consequences)."""
    path = os.path.join(workdir, f"rank{rank}.error")
    if os.path.exists(path):
        return
    record = {
        "time": time.time(),
        "type": type(exc).__name__,
        "message": _short(str(exc)),
        "where": _where(exc.__traceback__),
    }
    with open(path + ".tmp", "wb") as f:
        pickle.dump(record, f)
    os.replace(path + ".tmp", path)


def _rendezvous(rank, world_size, port, timeout, workdir):
    """Rank 0 hosts the TCPStore on ``port`` (0: a free port the OS picks) and publishes the port
    in ``workdir``; the other ranks read it there and connect.

    The store lives in rank 0, not in the parent: a forked child must not inherit the threads
    (and held locks) of a store server running in the parent.
    """
    import torch.distributed as dist

    port_file = os.path.join(workdir, "port")
    if rank == 0:
        store = dist.TCPStore(HOST, port, world_size, is_master=True, timeout=timeout, wait_for_workers=False)
        with open(port_file + ".tmp", "w") as f:
            f.write(str(store.port))
        os.replace(port_file + ".tmp", port_file)
        return store
    deadline = time.monotonic() + timeout.total_seconds()
    while not os.path.exists(port_file):
        if time.monotonic() > deadline:
            raise TimeoutError(f"rank 0 did not open the rendezvous within {timeout.total_seconds():g} s")
        time.sleep(0.002)
    with open(port_file) as f:
        port = int(f.read())
    return dist.TCPStore(HOST, port, world_size, is_master=False, timeout=timeout, wait_for_workers=False)


def _run_rank(rank, world_size, port, collective_timeout, workdir, worker, args):
    """The body of one rank's process: join the group, run ``worker``, write its result or error."""
    log = open(os.path.join(workdir, f"rank{rank}.log"), "w")  # noqa: SIM115 (lives as long as the rank)
    # A forked rank must not write into the parent's notebook streams: its output goes to a log.
    sys.stdout = sys.stderr = log
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    os.environ.setdefault("GLOO_SOCKET_IFNAME", _loopback_interface())
    torch.set_num_threads(1)  # one core per rank: the ranks share this machine's cores
    if os.environ.get("MYOPTIM_DEBUG_RANKS"):
        import faulthandler

        faulthandler.dump_traceback_later(collective_timeout * 0.8, file=log)
    import torch.distributed as dist

    try:
        timeout = datetime.timedelta(seconds=collective_timeout)
        store = _rendezvous(rank, world_size, port, timeout, workdir)
        dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size, timeout=timeout)
        try:
            result = worker(rank, world_size, *args)
        except BaseException as exc:
            # Record the error before the group is destroyed: destroying it makes the other
            # ranks fail too, and the first record is taken as the cause.
            _record_error(exc, rank, workdir)
            raise
        finally:
            dist.destroy_process_group()
        with open(os.path.join(workdir, f"rank{rank}.result"), "wb") as f:
            pickle.dump(result, f)
    except BaseException as exc:  # noqa: BLE001 (reported to the parent, which raises)
        _record_error(exc, rank, workdir)
        log.write(traceback.format_exc())
        log.flush()
        sys.exit(1)
    log.flush()


# --------------------------------------------------------------------------- in the parent


def _check_port(master_port):
    """Raise WorkerError now if an explicit rendezvous port is taken (0 or None: the OS picks)."""
    if not master_port:
        return
    with socket.socket() as probe:
        try:
            probe.bind((HOST, master_port))
        except OSError:
            raise WorkerError(
                f"port {master_port} on {HOST} is already in use, so the ranks cannot "
                "meet there; leave master_port=None to take a free port"
            ) from None


def _read(path):
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError):
        return None


def _stop(processes, grace=1.0):
    """Terminate the processes still running, kill those that ignore it, and join them all."""
    for p in processes:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + grace
    for p in processes:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in processes:
        if p.is_alive():
            p.kill()
            p.join()


def _failure(processes, workdir, timeout, collective_timeout, still_running, first_dead=()) -> WorkerError:
    """The one error to report: the first rank that raised, else who exited badly or hung."""
    errors = [(rank, _read(os.path.join(workdir, f"rank{rank}.error"))) for rank in range(len(processes))]
    errors = [(rank, e) for rank, e in errors if e is not None]
    silent = [rank for rank in first_dead if rank not in dict(errors)]
    if silent:  # the first rank to die left no error: it is the cause, not its peers' errors
        rank = silent[0]
        return WorkerError(
            f"rank {rank} exited with code {processes[rank].exitcode} without a "
            "Python error (killed, or it called os._exit?)",
            rank,
        )
    if errors:
        rank, e = min(errors, key=lambda item: item[1]["time"])
        message = f": {e['message']}" if e["message"] else ""
        hint = ""
        if "timed out" in e["message"].lower() or "timeout" in e["type"].lower():
            hint = (
                f"; it waited more than collective_timeout={collective_timeout:g} s in a "
                "collective: did every rank call the same collectives in the same order?"
            )
        elif "by peer" in e["message"]:
            hint = (
                "; another rank left the group (it finished or failed) while this one waited "
                "in a collective: did every rank call the same collectives in the same order?"
            )
        return WorkerError(f"rank {rank} raised {e['type']}{message}{e['where']}{hint}", rank, e["type"])
    if still_running:
        who = f"rank {still_running[0]}" if len(still_running) == 1 else "ranks " + ", ".join(map(str, still_running))
        return WorkerError(
            f"{who} did not finish within the launch timeout of {timeout:g} s "
            "(waiting in a collective that another rank never joins, or in a loop "
            "that never ends?); every rank was stopped",
            still_running[0],
            "TimeoutError",
        )
    for rank, p in enumerate(processes):
        if p.exitcode != 0:
            return WorkerError(
                f"rank {rank} exited with code {p.exitcode} without a Python error (killed, or it called os._exit?)",
                rank,
            )
    return WorkerError("a rank finished without returning a result", None)


def launch(
    worker, *args, world_size=2, timeout=60.0, collective_timeout=20.0, master_port=None, start_method=None
) -> list:
    """Run ``worker(rank, world_size, *args)`` on ``world_size`` gloo ranks; return their results.

    Args:
        worker: the function every rank runs once its process group is ready; it may use any
            ``torch.distributed`` collective and must return a picklable value (tensors, numbers,
            lists, dicts).
        *args: passed to ``worker`` after ``rank`` and ``world_size``.
        world_size (int): the number of processes (default 2).
        timeout (float): seconds for the whole launch, process start included (default 60).
        collective_timeout (float): seconds any single collective may wait for the other ranks
            (default 20); a rank stuck longer raises, and :class:`WorkerError` reports it.
        master_port (int or None): the rendezvous port; None (the default) lets the operating
            system choose a free one, so parallel runs never collide.
        start_method (str or None): "fork" or "spawn"; None takes :func:`default_start_method`.

    Returns:
        ``[result of rank 0, result of rank 1, ...]``.

    Raises:
        WorkerError: a rank raised (the first one to fail is named, with its exception and line),
            a rank did not finish within ``timeout``, or the rendezvous port is taken. Every
            process this call started has been terminated and joined by then.
    """
    if not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be a positive int, got {world_size!r}")
    if not timeout > 0 or not collective_timeout > 0:
        raise ValueError(
            f"timeouts must be positive, got timeout={timeout!r}, collective_timeout={collective_timeout!r}"
        )
    import torch.multiprocessing as mp

    ctx = mp.get_context(start_method or default_start_method())
    deadline = time.monotonic() + timeout
    _check_port(master_port)
    workdir = tempfile.mkdtemp(prefix="myoptim-ranks-")
    processes = []
    try:
        for rank in range(world_size):
            p = ctx.Process(
                target=_run_rank,
                daemon=True,
                name=f"rank{rank}",
                args=(rank, world_size, master_port or 0, collective_timeout, workdir, worker, args),
            )
            try:
                p.start()
            except (pickle.PicklingError, AttributeError, TypeError) as exc:
                raise WorkerError(
                    f"could not start rank {rank}: {type(exc).__name__}: {exc} "
                    "(with start_method='spawn' the worker must be defined in a "
                    "module, not in a notebook)",
                    rank,
                    type(exc).__name__,
                ) from None
            processes.append(p)
        still_running, first_dead = [], []
        while any(p.exitcode is None for p in processes):
            first_dead = [rank for rank, p in enumerate(processes) if p.exitcode not in (None, 0)]
            if first_dead:
                # Give the other ranks a moment to record their errors, then stop them.
                end = min(deadline, time.monotonic() + 1.0)
                while time.monotonic() < end and any(p.exitcode is None for p in processes):
                    time.sleep(0.01)
                break
            if time.monotonic() > deadline:
                still_running = [rank for rank, p in enumerate(processes) if p.exitcode is None]
                break
            time.sleep(0.005)
        _stop(processes)
        done = [os.path.exists(os.path.join(workdir, f"rank{rank}.result")) for rank in range(world_size)]
        if still_running or not all(done):
            raise _failure(processes, workdir, timeout, collective_timeout, still_running, first_dead)
        results = [_read(os.path.join(workdir, f"rank{rank}.result")) for rank in range(world_size)]
        return results
    finally:
        _stop(processes)
        if not os.environ.get("MYOPTIM_DEBUG_RANKS"):
            shutil.rmtree(workdir, ignore_errors=True)
