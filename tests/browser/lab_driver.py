"""Drive JupyterLab in chromium the way a learner does.

Two pieces, used by ``conftest.py`` and ``test_lessons.py``:

- :class:`JupyterLabServer` starts ``jupyter lab`` on 127.0.0.1 with its own config, runtime,
  data, settings and workspace directories, serving a *copy* of the lessons, and stops it again.
- :class:`LessonPage` opens one lesson in a browser page and does what a person does: wait for
  the kernel, clear the old outputs, *Run → Run All Cells*, read what is on the screen, move a
  slider with the keyboard and watch the plot.

Everything a learner sees is read from the page (DOM, screenshots). The notebook model is read
through ``window.jupyterapp`` (``--LabApp.expose_app_in_browser``, the hook JupyterLab's own
Playwright tests use) only to tell an error output from a harmless stderr line and to know
which outputs are widgets.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
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
WIDGETS_PLUGIN = WIDGETS_LABEXTENSION + ":plugin"
VIEWPORT = {"width": 1400, "height": 1000}

# Texts the widget manager puts in an output when a widget cannot be shown.
WIDGET_ERROR_TEXTS = (
    "Error displaying widget",
    "Failed to load model class",
    "Failed to load view class",
    "Could not create a view",
)

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


@dataclass
class Problem:
    """Something wrong that a learner would see in one cell of a lesson."""

    cell: int  # 1-based position in the notebook, markdown cells included; 0: the log console
    prompt: str  # the execution prompt shown, e.g. "[7]:"
    kind: str
    text: str

    def __str__(self) -> str:
        text = self.text.strip()
        if len(text) > 1500:
            text = text[:700] + "\n  [...]\n" + text[-700:]
        text = text.replace("\n", "\n    ")
        where = f"cell {self.cell} {self.prompt}" if self.cell else "log console"
        return f"{where} {self.kind}:\n    {text}"


# Reads every cell of the current notebook: what the page shows (prompt, outputs' mime type and
# text, widget error markers) and what the model holds (error outputs, widget outputs).
_READ_CELLS_JS = """
(panelId) => {
  const node = document.getElementById(panelId);
  const widget = [...jupyterapp.shell.widgets('main')].find(w => w.id === panelId);
  const model = widget.context.model.toJSON();
  const cells = [...node.querySelectorAll('.jp-Notebook-cell')];
  return cells.map((cell, i) => {
    const prompt = cell.querySelector('.jp-InputArea-prompt');
    const outputs = [...cell.querySelectorAll('.jp-OutputArea-output')].map(out => ({
      mime: out.getAttribute('data-mime-type') || '',
      text: (out.innerText || out.textContent || '').slice(0, 20000),
      errorWidget: out.querySelector('.jupyter-widgets-error-widget') !== null,
      widgetView: out.querySelector('.jupyter-widgets') !== null,
    }));
    const m = model.cells[i] || {};
    return {
      type: m.cell_type || '',
      source: Array.isArray(m.source) ? m.source.join('') : (m.source || ''),
      prompt: prompt ? prompt.textContent.trim() : '',
      outputs,
      modelErrors: (m.outputs || []).filter(o => o.output_type === 'error')
                    .map(o => `${o.ename}: ${o.evalue}`),
      modelWidgets: (m.outputs || []).filter(o => o.data && o.data['application/vnd.jupyter.widget-view+json']).length,
    };
  });
}
"""

# Notes, from the first DOM change on, whether the run has started: a queued cell shows "[*]"
# and the kernel indicator turns busy. A MutationObserver cannot miss a short run the way
# polling can.
_WATCH_RUN_JS = """
(panelId) => {
  const node = document.getElementById(panelId);
  const state = {started: false};
  window.__lessonRun = state;
  const check = () => {
    if (state.started) return;
    const busy = node.querySelector('.jp-Notebook-ExecutionIndicator[data-status="busy"]');
    const queued = [...node.querySelectorAll('.jp-InputArea-prompt')].some(p => p.textContent.includes('*'));
    if (busy || queued) { state.started = true; observer.disconnect(); }
  };
  const observer = new MutationObserver(check);
  observer.observe(node, {subtree: true, childList: true, characterData: true, attributes: true,
                          attributeFilter: ['data-status']});
  check();
}
"""

_RUN_FINISHED_JS = """
(panelId) => {
  const node = document.getElementById(panelId);
  if (!window.__lessonRun || !window.__lessonRun.started) return false;
  const idle = node.querySelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
  const queued = [...node.querySelectorAll('.jp-InputArea-prompt')].some(p => p.textContent.includes('*'));
  return Boolean(idle) && !queued;
}
"""

_WIDGETS_SETTLED_JS = """
(panelId) => {
  const node = document.getElementById(panelId);
  const outputs = [...node.querySelectorAll('.jp-OutputArea-output')];
  if (outputs.some(o => (o.textContent || '').includes('Loading widget...'))) return false;
  return [...node.querySelectorAll('.jp-OutputArea-output img')].every(img => img.complete);
}
"""


# A digest of the pixels an <img> shows, decoded: the same picture re-encoded counts as the
# same, and nothing around the image (a scroll position, a panel) can change it.
_IMAGE_DIGEST_JS = """
(img) => {
  if (!img.complete || !img.naturalWidth) return 'not loaded: ' + img.src.slice(0, 64);
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let h1 = 0x811c9dc5, h2 = 0;
  for (let i = 0; i < data.length; i++) {
    h1 = Math.imul(h1 ^ data[i], 16777619);
    h2 = (h2 + data[i] * (i % 251 + 1)) >>> 0;
  }
  return `${canvas.width}x${canvas.height}:${(h1 >>> 0).toString(16)}:${h2.toString(16)}`;
}
"""


def _image_digest(locator) -> str:
    return locator.evaluate(_IMAGE_DIGEST_JS)


class LessonPage:
    """One lesson opened in its own browser context, driven through JupyterLab's UI."""

    def __init__(self, browser, server: JupyterLabServer, notebook: str, artifacts: Path, timeout: float):
        self.server = server
        self.notebook = notebook
        self.artifacts = Path(artifacts)
        self.timeout_ms = timeout * 1000
        self.context = browser.new_context(viewport=VIEWPORT)
        self.page = self.context.new_page()
        self.panel_id = ""
        self.console_errors: list[str] = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda e: self.console_errors.append(f"page error: {e}"))
        self.run_seconds = 0.0
        self.notes: list[str] = []
        self.cells = json.loads((server.root_dir / notebook).read_text())["cells"]

    def _on_console(self, message) -> None:
        # The badge images' hosts are blocked on purpose (loopback only): not worth reporting.
        if message.type == "error" and "ERR_NAME_NOT_RESOLVED" not in message.text:
            self.console_errors.append(message.text)

    # -- opening and running ---------------------------------------------------------------

    def open(self) -> None:
        """Open the lesson in a fresh workspace and wait for a connected, idle kernel."""
        page = self.page
        page.goto(f"{self.server.url}/lab/tree/{self.notebook}?reset", wait_until="load")
        page.wait_for_function(
            "(path) => window.jupyterapp && jupyterapp.shell.currentWidget"
            " && jupyterapp.shell.currentWidget.context"
            " && jupyterapp.shell.currentWidget.context.path === path",
            arg=self.notebook,
            timeout=self.timeout_ms,
        )
        self.panel_id = page.evaluate(
            "async () => { const w = jupyterapp.shell.currentWidget;"
            " await w.context.ready; await w.sessionContext.ready; return w.id; }"
        )
        if not page.evaluate(f"() => jupyterapp.isPluginActivated({json.dumps(WIDGETS_PLUGIN)})"):
            raise AssertionError(f"{WIDGETS_PLUGIN} is not active in JupyterLab: widgets cannot render")
        self._fail_on_dialog("opening the lesson")
        try:
            page.wait_for_selector(
                f"#{self.panel_id} .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=self.timeout_ms
            )
        except Exception:
            self._fail_on_dialog("waiting for the kernel")
            raise AssertionError(
                f"the kernel of {self.notebook} did not become idle within {self.timeout_ms / 1000:.0f} s"
                f" (status bar: {self._status_text()!r})"
            ) from None
        # JupyterLab adds the cells to the page in batches after the notebook is "ready".
        try:
            page.wait_for_function(
                "([id, n]) => document.getElementById(id).querySelectorAll('.jp-Notebook-cell').length === n",
                arg=[self.panel_id, len(self.cells)],
                timeout=60_000,
                polling=250,
            )
        except Exception:
            shown = page.locator(f"#{self.panel_id} .jp-Notebook-cell").count()
            raise AssertionError(f"JupyterLab shows {shown} cells, the notebook file has {len(self.cells)}") from None

    def _status_text(self) -> str:
        return self.page.locator(".jp-StatusBar-Widget").first.inner_text(timeout=2000)

    def _fail_on_dialog(self, when: str) -> None:
        dialog = self.page.locator(".jp-Dialog")
        if dialog.count():
            raise AssertionError(f"JupyterLab showed a dialog while {when}: {dialog.first.inner_text()!r}")

    def menu(self, menu: str, item: str) -> None:
        """Click ``menu`` in the menu bar, then ``item`` in it, as a person does."""
        self.page.get_by_role("menuitem", name=menu, exact=True).click()
        # By label: a checked item ("Show Log Console" when shown) is a menuitemcheckbox.
        self.page.locator(".lm-Menu .lm-Menu-item").filter(
            has=self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$"))
        ).click()

    def run_all(self) -> None:
        """Clear the committed outputs, then Run → Run All Cells and wait until it is done.

        Clearing first means every output on the page afterwards comes from this run, and a
        cell that did not run shows an empty prompt instead of a stale number.
        """
        self.menu("Edit", "Clear Outputs of All Cells")
        self.page.evaluate(_WATCH_RUN_JS, self.panel_id)
        started = time.monotonic()
        self.menu("Run", "Run All Cells")
        try:
            self.page.wait_for_function(_RUN_FINISHED_JS, arg=self.panel_id, timeout=self.timeout_ms, polling=250)
        except Exception:
            self._fail_on_dialog("running the lesson")
            still = [c["prompt"] for c in self.read_cells() if "*" in c["prompt"]]
            raise AssertionError(
                f"Run All did not finish within {self.timeout_ms / 1000:.0f} s: "
                f"{len(still)} cells still queued or running; status bar {self._status_text()!r}"
            ) from None
        self.run_seconds = time.monotonic() - started
        with contextlib.suppress(Exception):  # reported cell by cell by problems()
            self.page.wait_for_function(_WIDGETS_SETTLED_JS, arg=self.panel_id, timeout=30_000, polling=250)

    # -- reading what the learner sees -----------------------------------------------------

    def read_cells(self) -> list[dict]:
        """Return, per cell, the prompt, the outputs on screen and the model's error outputs."""
        return self.page.evaluate(_READ_CELLS_JS, self.panel_id)

    def problems(self) -> list[Problem]:
        """Return every error a learner would see after Run All, in cell order.

        No cell may show an error: an intended one is printed by ``expect_error``, not raised
        (Colab's Run All would stop there). Warnings and other stderr lines are not problems;
        a traceback on stderr is.
        """
        found: list[Problem] = []
        not_run: list[dict] = []
        for index, (cell, on_file) in enumerate(zip(self.read_cells(), self.cells, strict=True), start=1):
            if on_file["cell_type"] != "code":
                continue
            prompt = cell["prompt"] or "[ ]:"
            if not "".join(on_file["source"]).strip():
                continue
            if not any(ch.isdigit() for ch in prompt):
                not_run.append({"cell": index, "prompt": prompt})
                continue

            def report(kind: str, text: str, at=(index, prompt)) -> None:
                found.append(Problem(*at, kind, text))

            stderr = "\n".join(o["text"] for o in cell["outputs"] if o["mime"] == "application/vnd.jupyter.stderr")
            for error in cell["modelErrors"]:
                report("error output", f"{error}\n{stderr}")
            if not cell["modelErrors"] and "Traceback" in stderr:
                report("traceback on stderr", stderr)
            for output in cell["outputs"]:
                text = output["text"]
                if output["errorWidget"] or any(marker in text for marker in WIDGET_ERROR_TEXTS):
                    report("widget error", text)
                elif "Loading widget..." in text:
                    report("widget never rendered", "still shows 'Loading widget...'")
            if cell["modelWidgets"] and not any(o["widgetView"] for o in cell["outputs"]):
                shown = " | ".join(o["text"] for o in cell["outputs"])[:300]
                report("widget not rendered", f"the page shows text instead of the widget: {shown!r}")
        if not_run:
            first, last = not_run[0]["cell"], not_run[-1]["cell"]
            stopped = f" (Run All stopped after cell {found[-1].cell})" if found else ""
            found.append(
                Problem(
                    first,
                    not_run[0]["prompt"],
                    "did not run",
                    f"{len(not_run)} code cells between cell {first} and cell {last} have no execution count{stopped}",
                )
            )
        for entry in self.log_console_tracebacks():
            found.append(Problem(0, "", "traceback", entry))
        return found

    def log_console_entries(self) -> list[str]:
        """Return the text of every entry in the lesson's log console, opening it if needed.

        Output of widget callbacks has no cell to go to: JupyterLab shows it in the log
        console (View → Show Log Console), a traceback included.
        Opens it, reads it and closes it again, so that the notebook keeps its full height.
        """
        console = self.page.locator(".jp-LogConsolePanel")
        opened = not console.count()
        if opened:
            self.menu("View", "Show Log Console")
            console.wait_for(state="attached", timeout=10_000)
        entries = self.page.evaluate(
            "() => [...document.querySelectorAll('.jp-LogConsolePanel .jp-OutputArea-child')].map(e => e.innerText)"
        )
        if opened:
            self.menu("View", "Show Log Console")
            console.wait_for(state="detached", timeout=10_000)
        return entries

    def log_console_tracebacks(self, skip: int = 0) -> list[str]:
        """Return the log console's entries after the first ``skip`` that hold a traceback."""
        return [e for e in self.log_console_entries()[skip:] if "Traceback" in e]

    def scroll_to_cell(self, cell: int) -> None:
        """Bring cell number ``cell`` (1-based) into view, for a screenshot that shows it."""
        self.page.locator(f"#{self.panel_id} .jp-Notebook-cell").nth(cell - 1).scroll_into_view_if_needed()

    def explorers(self):
        """Return a locator per widget output that holds at least one slider."""
        outputs = self.page.locator(f"#{self.panel_id} .jp-OutputArea-output")
        found = []
        for i in range(outputs.count()):
            output = outputs.nth(i)
            # Outputs nested in a widget (an Output widget inside an explorer) belong to it.
            nested = output.evaluate("(el) => el.parentElement.closest('.jp-OutputArea-output') !== null")
            if not nested and output.locator(".widget-slider").count():
                found.append(output)
        return found

    def cell_of(self, element) -> int:
        """Return the 1-based cell number that holds ``element``."""
        return element.evaluate(
            "(el) => [...el.closest('.jp-Notebook').querySelectorAll('.jp-Notebook-cell')]"
            ".indexOf(el.closest('.jp-Notebook-cell')) + 1"
        )

    # -- artifacts ---------------------------------------------------------------------------

    def record(self, note: str) -> None:
        """Keep a line for the session's closing summary (timings, what was moved)."""
        self.notes.append(note)

    def screenshot(self, name: str, element=None) -> Path:
        """Save a screenshot of the page (or of ``element``) as ``<artifacts>/<name>.png``."""
        path = self.artifacts / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if element is None:
            self.page.screenshot(path=str(path), animations="disabled", full_page=True)
        else:
            element.screenshot(path=str(path), animations="disabled")
        return path

    def close(self) -> None:
        """Close the browser context and shut the lesson's kernel down."""
        try:
            self.context.close()
        finally:
            self.server.shutdown_kernels_soon(self.notebook)


@dataclass
class SliderMove:
    """What happened when a slider of an explorer was moved."""

    label: str
    keys: str
    readout_before: str
    readout_after: str
    text_before: str
    text_after: str
    plot_changed: bool
    seconds: float

    @property
    def text_changed(self) -> bool:
        """Whether the explorer's own text readout changed."""
        return self.text_after != self.text_before


def _wait_for(check, seconds: float, every: float = 0.25) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(every)


def move_slider(page, explorer, slider, plot, timeout: float) -> SliderMove:
    """Move ``slider`` with the keyboard, wait for the plot to change, then for it to settle.

    Focuses the handle and presses ArrowRight three times (ArrowLeft when the slider is at its
    maximum); if the plot has not changed after that, PageUp twice for a bigger move. Waits up
    to ``timeout`` seconds for the plot's pixels to change, then until neither the plot nor the
    text has changed for a second and a half: each key press is a separate update, and the
    first redraw is not the last.
    """
    labels = slider.locator(".widget-label")
    label = labels.first.inner_text().strip() if labels.count() else "?"
    handle = slider.locator(".noUi-handle").first
    readout_before = slider_readout(slider)
    text_before = explorer_text(explorer)
    plot_before = _image_digest(plot)
    started = time.monotonic()
    pressed = []

    def press(key: str, times: int) -> None:
        handle.focus()
        for _ in range(times):
            page.keyboard.press(key)
        pressed.append(f"{key} x{times}")

    press("ArrowRight", 3)
    if not _wait_for(lambda: slider_readout(slider) != readout_before, 3.0):
        press("ArrowLeft", 6)  # it was at its maximum: go the other way
        _wait_for(lambda: slider_readout(slider) != readout_before, 3.0)
    plot_changed = _wait_for(lambda: _image_digest(plot) != plot_before, timeout)
    if not plot_changed:
        press("PageUp", 2)
        plot_changed = _wait_for(lambda: _image_digest(plot) != plot_before, timeout)
    seconds = time.monotonic() - started
    settle(explorer, plot, quiet=1.5, timeout=timeout)
    return SliderMove(
        label,
        ", ".join(pressed),
        readout_before,
        slider_readout(slider),
        text_before,
        explorer_text(explorer),
        plot_changed,
        seconds,
    )


def settle(explorer, plot, quiet: float, timeout: float) -> bool:
    """Wait until the plot and the explorer's text stay the same for ``quiet`` seconds."""

    def state():
        return _image_digest(plot), explorer_text(explorer)

    deadline = time.monotonic() + timeout
    last, since = state(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = state()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return True
    return False


def slider_readout(slider) -> str:
    """Return what a slider shows as its value: the readout, else the handle's aria value."""
    readout = slider.locator(".widget-readout")
    if readout.count() and readout.first.is_visible():
        return readout.first.inner_text().strip()
    handle = slider.locator(".noUi-handle").first
    return handle.get_attribute("aria-valuetext") or handle.get_attribute("aria-valuenow") or ""


def explorer_text(explorer) -> str:
    """Return the explorer's own text (its readout, status lines), controls excluded."""
    return explorer.evaluate(
        "(el) => { const c = el.cloneNode(true);"
        " c.querySelectorAll('.widget-slider, .widget-dropdown, .widget-text, .widget-toggle-buttons,"
        " .widget-checkbox, .widget-button, .widget-label').forEach(s => s.remove());"
        " return (c.textContent || '').replace(/\\s+/g, ' ').trim(); }"
    )
