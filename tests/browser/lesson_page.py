"""One lesson opened in chromium and driven the way a learner does.

:class:`LessonPage` waits for the kernel, clears the old outputs, runs *Run → Run All Cells*,
reads what is on the screen and reports each :class:`Problem` a learner would see.

Everything a learner sees is read from the page (DOM, screenshots). The notebook model is read
through ``window.jupyterapp`` (``--LabApp.expose_app_in_browser``, the hook JupyterLab's own
Playwright tests use) only to tell an error output from a harmless stderr line and to know
which outputs are widgets.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from lab_server import WIDGETS_LABEXTENSION, JupyterLabServer

WIDGETS_PLUGIN = WIDGETS_LABEXTENSION + ":plugin"
VIEWPORT = {"width": 1400, "height": 1000}

# Texts the widget manager puts in an output when a widget cannot be shown.
WIDGET_ERROR_TEXTS = (
    "Error displaying widget",
    "Failed to load model class",
    "Failed to load view class",
    "Could not create a view",
)


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
