"""Fixtures of the browser suite: one JupyterLab server and one chromium for the whole session.

Options:
  --artifacts DIR       where screenshots and the server log go (default test-artifacts/browser)
  --lessons-dir DIR     the directory of learner notebooks to test (default: the repo's notebooks/)
  --lesson-timeout S    how long one lesson may take to open or to run all its cells (default 300)

Set MYOPTIM_CHROMIUM to use another chromium binary; when there is none the suite skips.
"""

from __future__ import annotations

import atexit
import contextlib
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lab_server import CHROMIUM_ARGS, JupyterLabServer, chromium_missing_reason, chromium_path
from lesson_page import LessonPage

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LESSON_NAME = re.compile(r"^\d\d_.+\.ipynb$")


@dataclass
class BrowserRun:
    """What this session has done so far, for failure screenshots and the closing summary."""

    artifacts: Path
    current: LessonPage | None = None
    summary: list[str] = field(default_factory=list)


RUN = pytest.StashKey[BrowserRun]()
SKIP_REASON = pytest.StashKey[str]()


def pytest_addoption(parser):
    """Add --artifacts, --lessons-dir and --lesson-timeout."""
    group = parser.getgroup("browser", "lessons in a real browser (JupyterLab + chromium)")
    group.addoption(
        "--artifacts",
        default="test-artifacts/browser",
        help="directory for screenshots and the JupyterLab log (default: %(default)s)",
    )
    group.addoption(
        "--lessons-dir",
        default=str(REPO / "notebooks"),
        help="directory whose NN_*.ipynb learner notebooks are tested (default: the repo's notebooks/)",
    )
    group.addoption(
        "--lesson-timeout",
        type=float,
        default=300.0,
        help="seconds one lesson may take to open, or to run all its cells (default: %(default)s)",
    )


def _option(config, name, default):
    # Options exist only when this conftest is loaded at start-up (pytest tests/browser ...).
    try:
        return config.getoption(name)
    except ValueError:
        return default


def _run(config) -> BrowserRun:
    if RUN not in config.stash:
        artifacts = Path(_option(config, "artifacts", "test-artifacts/browser")).resolve()
        config.stash[RUN] = BrowserRun(artifacts)
    return config.stash[RUN]


def lesson_notebooks(config) -> list[str]:
    """Return the learner notebooks (``NN_*.ipynb``) of the lessons directory, in order."""
    folder = Path(_option(config, "lessons_dir", str(REPO / "notebooks")))
    return sorted(p.name for p in folder.glob("*.ipynb") if LESSON_NAME.match(p.name))


def pytest_generate_tests(metafunc):
    """Parametrize ``lesson_name`` by the learner notebooks found (a skipped case when none)."""
    if "lesson_name" not in metafunc.fixturenames:
        return
    names = lesson_notebooks(metafunc.config)
    if names:
        params = [pytest.param(n, id=n.removesuffix(".ipynb")) for n in names]
    else:
        folder = _option(metafunc.config, "lessons_dir", str(REPO / "notebooks"))
        params = [
            pytest.param(
                None, id="no-lessons", marks=pytest.mark.skip(reason=f"no lessons yet: no NN_*.ipynb in {folder}")
            )
        ]
    # Module scope: each lesson is opened and run once, then all its tests look at that page.
    metafunc.parametrize("lesson_name", params, scope="module")


def pytest_collection_modifyitems(config, items):
    """Mark this directory's tests ``browser``; skip them all when chromium is missing."""
    reason = chromium_missing_reason()
    for item in items:
        if HERE not in Path(str(item.path)).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
            config.stash[SKIP_REASON] = reason


@pytest.fixture(scope="session")
def artifacts_dir(pytestconfig) -> Path:
    """The directory for screenshots and logs, created on first use."""
    path = _run(pytestconfig).artifacts
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def lab_server(pytestconfig, tmp_path_factory, artifacts_dir):
    """A JupyterLab server on 127.0.0.1 serving a temporary copy of the lessons."""
    server = JupyterLabServer(
        notebooks_dir=Path(_option(pytestconfig, "lessons_dir", str(REPO / "notebooks"))),
        workdir=tmp_path_factory.mktemp("jupyterlab"),
        log_path=artifacts_dir / "jupyter-server.log",
    )
    atexit.register(server.stop)  # also on an interpreter exit that skips fixture teardown
    try:
        server.start()
        yield server
    finally:
        server.stop()
        atexit.unregister(server.stop)


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def lesson(lesson_name, lab_server, browser, pytestconfig, artifacts_dir):
    """The lesson opened in JupyterLab after Run → Run All Cells, with screenshots saved."""
    run = _run(pytestconfig)
    stem = lesson_name.removesuffix(".ipynb")
    shutil.rmtree(artifacts_dir / stem, ignore_errors=True)  # no stale screenshots
    page = LessonPage(
        browser, lab_server, lesson_name, artifacts_dir / stem, timeout=_option(pytestconfig, "lesson_timeout", 300.0)
    )
    run.current = page
    try:
        try:
            page.open()
            page.screenshot("01-first-screen")
            page.run_all()
            page.screenshot("02-after-run-all")
        except BaseException:
            with contextlib.suppress(Exception):  # the original failure is the one to report
                page.screenshot("FAILED-setup")
            raise
        page.record(f"Run All Cells took {page.run_seconds:.1f} s")
        yield page
    finally:
        run.summary.extend(f"{stem}: {note}" for note in page.notes)
        run.current = None
        page.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Leave a screenshot of the whole page when a test fails, and name it in the report."""
    report = yield
    if report.when == "call" and report.failed and RUN in item.config.stash:
        run = item.config.stash[RUN]
        if run.current is not None:
            name = re.sub(r"[^\w.-]+", "_", item.originalname or item.name)
            try:
                path = run.current.screenshot(f"FAILED-{name}")
                report.sections.append(("browser screenshot", str(path)))
            except Exception as exc:  # the page may be gone; the failure itself matters more
                report.sections.append(("browser screenshot", f"could not take one: {exc}"))
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the skip reason, or the timings and where the artifacts are."""
    if SKIP_REASON in config.stash:
        terminalreporter.write_line(config.stash[SKIP_REASON])
    if RUN not in config.stash:
        return
    run = config.stash[RUN]
    for line in run.summary:
        terminalreporter.write_line(line)
    if run.artifacts.exists():
        terminalreporter.write_line(f"Browser artifacts (screenshots, JupyterLab log): {run.artifacts}")
