"""The two programs the browser suite starts: the system chromium and a JupyterLab server.

- :func:`chromium_path`, :func:`chromium_missing_reason` and :data:`CHROMIUM_ARGS`: which
  chromium to drive, why the suite must skip without one, and the flags that keep it on loopback.
- :class:`JupyterLabServer` starts ``jupyter lab`` on 127.0.0.1 with its own config, runtime,
  data, settings and workspace directories, serving a *copy* of the lessons, and stops it again.

``lesson_page.py`` drives a lesson in a page of that browser, ``slider_moves.py`` moves an
explorer's slider and waits for its plot.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM_ENV = "MYOPTIM_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
ENABLE_CHROMIUM_HINT = "sudo apt-get install -y chromium   (or: sudo make browser-deps)"

# Without the background-networking flags chromium keeps dialing out, and on a closed network
# every attempt is a refused connection in the logs.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Only loopback: any other host name (the lessons' Colab/Binder badge images) fails to
    # resolve inside chromium at once, and no request leaves the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]

WIDGETS_LABEXTENSION = "@jupyter-widgets/jupyterlab-manager"

# The lab settings a learner would not notice but a closed network would: no news toast
# covering the page, no update check.
LAB_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # The copy under test stays as it was opened.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def chromium_path() -> str:
    """Return the chromium executable to drive: ``$MYOPTIM_CHROMIUM`` or ``/usr/bin/chromium``."""
    return os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM


def chromium_missing_reason() -> str | None:
    """Return why the browser suite cannot run here, or None when it can."""
    path = chromium_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return (
            f"browser suite skipped: no chromium at {path}. "
            f"Enable it with:  {ENABLE_CHROMIUM_HINT}  "
            f"(or point ${CHROMIUM_ENV} at a chromium binary)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return (
            f"browser suite skipped: Playwright for Python is not importable ({exc}); pip install -r requirements.txt"
        )
    return None


def free_loopback_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLabServer:
    """A JupyterLab server on 127.0.0.1 that serves a copy of ``notebooks_dir``.

    Config, runtime, data, lab settings and workspaces live in ``workdir``, so nothing from the
    user's ``~/.jupyter`` leaks in and nothing is written back. The venv's own
    ``share/jupyter`` (kernelspec, ``jupyterlab_widgets``) is still found through
    ``sys.prefix``; :meth:`start` checks both.
    """

    def __init__(self, notebooks_dir: Path, workdir: Path, log_path: Path):
        self.notebooks_dir = Path(notebooks_dir)
        self.workdir = Path(workdir)
        self.root_dir = self.workdir / "root"
        self.log_path = Path(log_path)
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._log_file = None
        self._shutdowns: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """Return the server's base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://127.0.0.1:{self.port}"

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        dirs = {
            "JUPYTER_CONFIG_DIR": self.workdir / "config",
            "JUPYTER_RUNTIME_DIR": self.workdir / "runtime",
            "JUPYTER_DATA_DIR": self.workdir / "data",
            "JUPYTERLAB_SETTINGS_DIR": self.workdir / "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": self.workdir / "lab-workspaces",
        }
        for name, path in dirs.items():
            path.mkdir(parents=True, exist_ok=True)
            env[name] = str(path)
        for relative, settings in LAB_USER_SETTINGS.items():
            target = dirs["JUPYTERLAB_SETTINGS_DIR"] / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(settings))
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        return env

    def _command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--ServerApp.root_dir={self.root_dir}",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        return command

    def start(self, timeout: float = 120.0) -> None:
        """Copy the lessons, start the server, wait until it answers and check its extensions."""
        shutil.copytree(
            self.notebooks_dir, self.root_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
        )
        self.port = free_loopback_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 - the server's log, closed in stop()
        # A session of its own, so that Ctrl-C in the terminal reaches pytest, which stops us.
        self.process = subprocess.Popen(
            self._command(),
            env=self._environment(),
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with code {self.process.returncode} before answering; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            try:
                self.api("GET", "/api/status")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"jupyter lab did not answer on {self.url} within {timeout:.0f} s; "
                        f"log {self.log_path}:\n{self.log_tail()}"
                    ) from None
                time.sleep(0.25)
        self._check_installation()

    def _check_installation(self) -> None:
        specs = self.api("GET", "/api/kernelspecs")
        if "python3" not in specs.get("kernelspecs", {}):
            raise RuntimeError(
                f"the python3 kernelspec is not visible to the server: {sorted(specs.get('kernelspecs', {}))}"
            )
        with urllib.request.urlopen(self.url + "/lab", timeout=30) as response:
            page = response.read().decode("utf-8", "replace")
        if f'"name": "{WIDGETS_LABEXTENSION}"' not in page:
            raise RuntimeError(
                f"JupyterLab does not load {WIDGETS_LABEXTENSION} (jupyterlab_widgets); "
                "widgets would show as text. Is jupyterlab_widgets installed in this venv?"
            )

    def api(self, method: str, path: str) -> dict | list | None:
        """Call the server's REST API and return the decoded JSON answer (None when empty)."""
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self, path: str | None = None) -> None:
        """Shut down the kernel of every session (or only of the notebook at ``path``)."""
        try:
            sessions = self.api("GET", "/api/sessions") or []
            for session in sessions:
                if path is None or session.get("path") == path:
                    self.api("DELETE", f"/api/sessions/{session['id']}")
            if path is None:
                for kernel in self.api("GET", "/api/kernels") or []:
                    self.api("DELETE", f"/api/kernels/{kernel['id']}")
        except (urllib.error.URLError, ConnectionError, OSError):
            pass  # the server is already gone; its kernels watch their parent and exit

    def shutdown_kernels_soon(self, path: str) -> None:
        """Shut the kernel of ``path`` down in the background; :meth:`stop` waits for it.

        A kernel takes a few seconds to shut down; the next lesson need not wait for that.
        """
        thread = threading.Thread(target=self.shutdown_kernels, args=(path,), daemon=True)
        thread.start()
        self._shutdowns.append(thread)

    def log_size(self) -> int:
        """Return the current size of the server log, to read only what comes after."""
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int) -> str:
        """Return the server log (which holds the kernels' stderr) from byte ``offset`` on."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                return log.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        """Return the last lines of the server log."""
        return "\n".join(self.log_since(0).splitlines()[-lines:])

    def stop(self) -> None:
        """Shut the kernels down, then terminate the server (kill it after 10 s). Idempotent."""
        process, self.process = self.process, None
        for thread in self._shutdowns:
            thread.join(timeout=15)
        self._shutdowns.clear()
        if process is not None and process.poll() is None:
            self.shutdown_kernels()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
