#!/usr/bin/env python3
"""Build the lessons: one source, two executed notebooks.

``notebooks/_source/NN_slug.py`` (jupytext "percent" format with solution markers, see
``notebooks/_source/README.md``), read by jupytext, becomes

- ``notebooks/solutions/NN_slug.ipynb``: every exercise solved;
- ``notebooks/NN_slug.ipynb``: the learner's version, solutions replaced by stubs.

Both are executed with nbclient and written with outputs and deterministic JSON. The
README's lesson map (between ``<!-- lessons:begin`` and ``<!-- lessons:end -->``) is
regenerated from the sources.

Usage::

    python .ci/build_notebooks.py                 # build and execute every lesson
    python .ci/build_notebooks.py 00 03           # only these lessons
    python .ci/build_notebooks.py 03 --no-execute # write cells only (outputs cleared)
    python .ci/build_notebooks.py --jobs 2        # two notebooks at once
    python .ci/build_notebooks.py --check [NN]    # committed notebooks match the sources?
                                                  # (and jupytext saves each source unchanged?)
    python .ci/build_notebooks.py --readme        # only regenerate README's lesson map

Exit status is non-zero, with the notebook, cell and error named, when a cell fails, a
checker prints the wrong verdict, or (``--check``) a committed notebook drifted.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import dataclasses
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIR = ROOT / "notebooks" / "_source"
LEARNER_DIR = ROOT / "notebooks"
SOLVED_DIR = ROOT / "notebooks" / "solutions"
README = ROOT / "README.md"

SOLVED, LEARNER = "solved", "learner"
VERSIONS = (SOLVED, LEARNER)

SOURCE_NAME_RE = re.compile(r"^(?P<number>\d\d)_(?P<name>[a-z0-9_]+)\.py$")
# The sources are jupytext "percent" scripts; notebooks/_source/jupytext.toml says how
# JupyterLab (`make lab`) saves them, and the build reads them with the same configuration.
JUPYTEXT_FORMAT = "py:percent"
JUPYTEXT_CONFIG = SOURCE_DIR / "jupytext.toml"
# Cell metadata that jupytext adds to remember the blank lines of the text, not an option.
JUPYTEXT_LAYOUT = {"lines_to_next_cell", "lines_to_end_of_cell_marker", "cell_marker"}
FORBIDDEN_TAG = "raises-exception"
BEGIN_RE = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION\s*$")
END_RE = re.compile(r"^\s*# END SOLUTION\s*$")
STUB_RE = re.compile(r"^(?P<indent>\s*)# STUB:(?: (?P<code>.*))?$")
CHECK_CALL_RE = re.compile(r"""\bcheck\(\s*["'](?P<key>\d\d\.\d+)["']""")
PLACEHOLDER_RE = re.compile(r"\{\{\s*\w+\s*\}\}")
# A placeholder alone on a code line, bare or commented: a misspelt `# {{colab_set}}` must not
# pass as an ordinary comment.
PLACEHOLDER_LINE_RE = re.compile(r"^\s*(?:#\s*)?\{\{\s*\w+\s*\}\}\s*$", re.M)
# The setup placeholder is a comment line, so that a lesson source opened as a notebook runs its
# first cell as it is (without the Colab install); the build puts the setup code in its place.
COLAB_SETUP_LINE = "# {{colab_setup}}"
COLAB_SETUP_RE = re.compile(r"^# \{\{colab_setup\}\}$", re.M)
# An install prefix in a traceback: ".../site-packages/" or the stdlib's ".../lib/python3.11/".
LIB_PATH_RE = re.compile(r"/[^\s'\"\x1b]*?/(?P<kind>site-packages|dist-packages|python3\.\d+)/")
README_BEGIN_RE = re.compile(r"^<!-- lessons:begin.*-->$", re.M)
README_END = "<!-- lessons:end -->"

# What check() prints for a solved / unsolved exercise (see myoptim_helpers/exercises/_core.py).
VERDICT = {SOLVED: "✓ {key} correct", LEARNER: "○ {key} not attempted yet"}

# TQDM_DISABLE: a recorded (or timed) run shows no progress bar; an interactive session does.
KERNEL_ENV = {"IPYKERNEL_CELL_NAME": "<IPY-INPUT>", "PYTHONHASHSEED": "0", "TQDM_DISABLE": "1"}
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {  # what ipykernel reports, minus the Python version (it changes per machine)
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"


class BuildError(Exception):
    """A source that cannot be built, a failing cell, or a wrong checker verdict."""


# --------------------------------------------------------------------------- sources


@dataclasses.dataclass
class Cell:
    """One cell of a lesson source."""

    kind: str  # "code" or "markdown"
    source: str
    tags: list
    line: int  # line of its marker in the source file, for messages


@dataclasses.dataclass
class Lesson:
    """A parsed lesson source."""

    number: str
    slug: str
    path: Path
    summary: str
    cells: list

    @property
    def title(self) -> str:
        """The first heading of the first markdown cell, e.g. "00 · Start here"."""
        for cell in self.cells:
            if cell.kind == "markdown":
                for line in cell.source.splitlines():
                    if line.startswith("# "):
                        return line[2:].strip()
        raise BuildError(f"{self.path.name}: no '# Title' heading in the first markdown cell")

    def notebook_path(self, version: str) -> Path:
        """Where the notebook of ``version`` ("solved"/"learner") is written."""
        return (SOLVED_DIR if version == SOLVED else LEARNER_DIR) / f"{self.slug}.ipynb"


def jupytext_config():
    """The lesson sources' jupytext configuration, the one ``make lab`` saves them with."""
    from jupytext.config import load_jupytext_configuration_file

    return load_jupytext_configuration_file(str(JUPYTEXT_CONFIG))


def read_percent(text: str):
    """The notebook that jupytext reads from percent ``text``, as JupyterLab opens a source."""
    import jupytext

    return jupytext.reads(text, fmt=JUPYTEXT_FORMAT, config=jupytext_config())


def write_percent(nb) -> str:
    """The percent text that jupytext writes for ``nb``, as JupyterLab saves a source."""
    import jupytext

    return jupytext.writes(nb, fmt=JUPYTEXT_FORMAT, config=jupytext_config())


def _cell_lines(text: str) -> tuple:
    """Return ``(has_header, first line of each cell)``, split exactly as jupytext splits.

    jupytext's notebook carries no line numbers; messages name the source line of a cell, so
    this runs jupytext's own header and cell readers once more and keeps their positions.
    """
    from jupytext.formats import get_format_implementation
    from jupytext.header import header_to_metadata_and_cell

    impl = get_format_implementation(".py", "percent")
    lines = text.splitlines()
    _, _, header, pos = header_to_metadata_and_cell(lines, impl.header_prefix, impl.header_suffix, impl.extension)
    starts = [1] if header else []
    while pos < len(lines):
        starts.append(pos + 1)
        _, used = impl.cell_reader_class({"extension": ".py", "format_name": "percent"}, "python").read(lines[pos:])
        pos += used
    return header is not None, starts


def parse_percent(text: str, name: str = "<source>") -> tuple:
    """Read jupytext percent text into ``(header: dict, cells: list[Cell])``.

    jupytext splits the text into cells. On top of its format the series allows only code
    and ``[markdown]`` cells with ``tags=[...]``, no ``raises-exception`` tag, and a header of
    ``key: value`` lines (the value is the rest of the line, so it may hold colons).
    """
    try:
        nb = read_percent(text)
        has_header, lines = _cell_lines(text)
    except Exception as exc:  # jupytext's own errors have no common base class
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise BuildError(f"{name}: jupytext cannot read it: {type(exc).__name__}: {first}") from None
    if len(lines) != len(nb.cells):
        raise BuildError(f"{name}: jupytext read {len(nb.cells)} cells, found {len(lines)} cell starts")
    header, cells = {}, []
    for index, (node, line) in enumerate(zip(nb.cells, lines, strict=True)):
        where = f"{name}:{line}"
        if index == 0 and has_header:
            header = _parse_header(node.source, name)
            continue
        if node.cell_type not in ("code", "markdown"):
            raise BuildError(
                f"{where}: a {node.cell_type} cell; lessons have only code "
                "('# %%') and markdown ('# %% [markdown]') cells"
            )
        options = {k: v for k, v in node.metadata.items() if k not in JUPYTEXT_LAYOUT}
        tags = options.pop("tags", [])
        if "incorrectly_encoded_metadata" in options:
            raise BuildError(
                f"{where}: cannot read the cell marker options "
                f"'{options['incorrectly_encoded_metadata']}'; "
                'tags must be a JSON list: tags=["a", "b"]'
            )
        if options:
            raise BuildError(
                f"{where}: unsupported cell marker option(s) {sorted(options)} "
                "(only [markdown] and tags=[...] are allowed)"
            )
        if FORBIDDEN_TAG in tags:
            # nbclient and JupyterLab honour it, but Colab, VS Code and the classic Notebook
            # stop "Run all" at the first error: the learner's lesson would halt there.
            raise BuildError(
                f"{where}: the {FORBIDDEN_TAG} tag stops Colab's Run all; "
                "show the error with `with expect_error(ValueError): ...` "
                "(from myoptim_helpers import expect_error)"
            )
        cells.append(Cell(node.cell_type, node.source, list(tags), line))
    return header, cells


def _parse_header(source: str, name: str) -> dict:
    """The ``key: value`` lines of jupytext's header cell (``---`` lines around them)."""
    header = {}
    for offset, body in enumerate(source.splitlines()[1:-1], start=2):
        if body.strip():
            key, sep, value = body.partition(":")
            if not sep:
                raise BuildError(f"{name}:{offset}: header lines look like '# key: value'")
            header[key.strip()] = value.strip()
    return header


def canonical_problems(path: Path) -> list:
    """Return a problem if jupytext would save the source at ``path`` differently.

    Opening a source in JupyterLab and saving it must not change it, or every save in
    ``make lab`` would show up as an unrelated diff.
    """
    text = path.read_text(encoding="utf-8")
    saved = write_percent(read_percent(text))
    if saved == text:
        return []
    old, new = text.splitlines(), saved.splitlines()
    line = next(
        (i for i, (a, b) in enumerate(zip(old, new, strict=False), start=1) if a != b), min(len(old), len(new)) + 1
    )
    return [
        f"{_rel(path)}:{line}: jupytext saves this source differently "
        f"(line {line}: {new[line - 1] if line <= len(new) else '(end of file)'!r}); "
        "open and save it in `make lab`, or write it as jupytext does"
    ]


def load_lesson(path: Path) -> Lesson:
    """Parse the lesson source at ``path``."""
    match = SOURCE_NAME_RE.match(path.name)
    if not match:
        raise BuildError(f"{path.name}: lesson sources are named NN_slug.py")
    header, cells = parse_percent(path.read_text(encoding="utf-8"), path.name)
    if not header.get("summary"):
        raise BuildError(f"{path.name}: the header needs a one-line '# summary: ...'")
    return Lesson(match.group("number"), path.stem, path, header["summary"], cells)


def find_lessons(numbers=None) -> list:
    """Return the lessons in ``notebooks/_source`` (all, or those numbered ``numbers``)."""
    lessons = [load_lesson(p) for p in sorted(SOURCE_DIR.glob("[0-9][0-9]_*.py"))]
    if numbers:
        wanted = {n.zfill(2) for n in numbers}
        missing = wanted - {lesson.number for lesson in lessons}
        if missing:
            raise BuildError(f"no lesson source for {sorted(missing)} in {SOURCE_DIR}")
        lessons = [lesson for lesson in lessons if lesson.number in wanted]
    return lessons


# --------------------------------------------------------------------------- rendering


def series_config() -> dict:
    """Return ``{"repository": "OWNER/NAME", "branch": ...}`` from pyproject.toml."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        config = tomllib.load(f)["tool"]["myoptim-series"]
    return {"repository": config["repository"], "branch": config["branch"]}


def colab_url(cfg: dict, relpath: str) -> str:
    """The Colab URL that opens ``relpath`` (e.g. "notebooks/00_start_here.ipynb")."""
    return f"https://colab.research.google.com/github/{cfg['repository']}/blob/{cfg['branch']}/{relpath}"


def binder_url(cfg: dict, relpath: str) -> str:
    """The Binder URL that opens ``relpath`` in JupyterLab."""
    return f"https://mybinder.org/v2/gh/{cfg['repository']}/{cfg['branch']}?urlpath=lab/tree/{relpath}"


def badges(lesson: Lesson, version: str, cfg: dict) -> str:
    """Markdown for the Colab and Binder badges of one notebook."""
    rel = lesson.notebook_path(version).relative_to(ROOT).as_posix()
    text = (
        f"[![Open In Colab]({COLAB_BADGE})]({colab_url(cfg, rel)}) [![Binder]({BINDER_BADGE})]({binder_url(cfg, rel)})"
    )
    if version == SOLVED:
        text += (
            f"\n\n*This is the solved version. The exercises are in [../{lesson.slug}.ipynb](../{lesson.slug}.ipynb).*"
        )
    return text


def colab_setup(cfg: dict) -> str:
    """The first lines of every lesson's setup cell: install the helpers in Colab only."""
    url = f"git+https://github.com/{cfg['repository']}@{cfg['branch']}"
    return (
        "import sys\n"
        'if "google.colab" in sys.modules:  # Colab only: install the helpers, keep Colab\'s torch\n'
        "    import subprocess\n"
        '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",\n'
        f'                    "{url}"], check=True)'
    )


def resolve_solutions(source: str, version: str, where: str = "") -> str:
    """Apply the solution markers of one code cell for ``version``.

    Solved: the block without its marker and STUB lines. Learner: the block's STUB lines,
    uncommented at their indentation, or one ``...`` at the BEGIN line's indentation.
    """
    out, block, begin = [], None, None
    for offset, line in enumerate(source.splitlines()):
        if BEGIN_RE.match(line):
            if block is not None:
                raise BuildError(f"{where}: nested '# BEGIN SOLUTION' (cell line {offset + 1})")
            block, begin = [], BEGIN_RE.match(line)
            continue
        if END_RE.match(line):
            if block is None:
                raise BuildError(f"{where}: '# END SOLUTION' without BEGIN (cell line {offset + 1})")
            stubs = [m for m in map(STUB_RE.match, block) if m]
            if version == SOLVED:
                out += [text for text in block if not STUB_RE.match(text)]
            elif stubs:
                out += [m.group("indent") + (m.group("code") or "") for m in stubs]
            else:
                out.append(begin.group("indent") + "...")
            block = None
            continue
        if block is not None:
            block.append(line)
        elif STUB_RE.match(line):
            raise BuildError(f"{where}: '# STUB:' outside a solution block (cell line {offset + 1})")
        else:
            out.append(line)
    if block is not None:
        raise BuildError(f"{where}: '# BEGIN SOLUTION' is never closed")
    return "\n".join(out)


def render(lesson: Lesson, version: str, cfg: dict) -> list:
    """Return the cells of ``version`` with placeholders filled and solutions resolved."""
    cells, first_code = [], True
    for cell in lesson.cells:
        where = f"{lesson.path.name}:{cell.line}"
        source = cell.source
        if cell.kind == "markdown":
            source = source.replace("{{badges}}", badges(lesson, version, cfg))
        else:
            if COLAB_SETUP_RE.search(source):
                if not first_code:
                    raise BuildError(f"{where}: {COLAB_SETUP_LINE} belongs in the first code cell")
                source = COLAB_SETUP_RE.sub(lambda _: colab_setup(cfg), source, count=1)
            source = resolve_solutions(source, version, where)
            first_code = False
        leftover = PLACEHOLDER_RE.search(source) if cell.kind == "markdown" else PLACEHOLDER_LINE_RE.search(source)
        if leftover:
            found = leftover.group(0).strip()
            if found == "{{colab_setup}}":
                raise BuildError(
                    f"{where}: write the setup placeholder as the comment line {COLAB_SETUP_LINE!r}, "
                    "so that the source's first cell runs as Python"
                )
            raise BuildError(f"{where}: unknown or misplaced placeholder {found}")
        cells.append(Cell(cell.kind, source, list(cell.tags), cell.line))
    return cells


def to_notebook(cells: list):
    """Build an nbformat v4 notebook (no outputs) from rendered cells."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": copy.deepcopy(LANGUAGE_INFO)}
    for index, cell in enumerate(cells):
        metadata = {"tags": list(cell.tags)} if cell.tags else {}
        if cell.kind == "markdown":
            node = nbformat.v4.new_markdown_cell(cell.source, metadata=metadata)
        else:
            node = nbformat.v4.new_code_cell(cell.source, metadata=metadata)
        node.id = f"cell-{index:02d}"  # stable ids: rebuilding gives the same JSON
        nb.cells.append(node)
    return nb


# --------------------------------------------------------------------------- executing


def execute(nb, path: Path, timeout: int):
    """Execute ``nb`` as if it lived at ``path``; raise BuildError naming the failing cell."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        # no "running over TCP without encryption" warning per kernel: local runs only
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        record_timing=False,
        store_widget_state=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute(env={**os.environ, **KERNEL_ENV})
    except (CellExecutionError, CellTimeoutError) as exc:
        index, cell = _failed_cell(nb)
        first = cell.source.splitlines()[0] if cell is not None and cell.source else "?"
        what = f"{exc.ename}: {exc.evalue}" if isinstance(exc, CellExecutionError) else f"timed out after {timeout} s"
        raise BuildError(f"{_rel(path)}: cell {index} ({first!r}) failed: {what}") from None
    return nb


def _failed_cell(nb):
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return index, cell
    last = max((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("execution_count")), default=0)
    following = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and i > last]
    index = following[0] if following else last
    return index, nb.cells[index] if nb.cells else None


def verify_verdicts(nb, version: str, name: str) -> list:
    """Return problems: a check("NN.k") cell whose output is not the expected verdict."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        if "check-demo" in tags:
            continue
        keys = CHECK_CALL_RE.findall(cell.source)
        text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        lines = text.splitlines()
        for key in keys:
            want = VERDICT[version].format(key=key)
            if not any(line.startswith(want) for line in lines):
                got = next((printed for printed in lines if f" {key} " in printed), text.strip() or "(no output)")
                problems.append(f"{name}: cell {index}: expected '{want}...', got: {got}")
    return problems


def clean(nb, seed: str):
    """Strip what changes from run to run; keep outputs and widget state."""
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec", "widgets")}
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = copy.deepcopy(LANGUAGE_INFO)
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:02d}"
        tags = cell.metadata.get("tags")
        cell.metadata = {"tags": tags} if tags else {}
        if cell.cell_type == "code":
            cell.outputs = _coalesce_streams(cell.outputs)
            for out in cell.outputs:
                if out.get("output_type") == "error":
                    out.traceback = [_neutral_paths(line) for line in out.traceback]
    return _renumber_widgets(nb, seed)


def _neutral_paths(text: str) -> str:
    """Replace this machine's install prefixes in a traceback by neutral ones."""
    return LIB_PATH_RE.sub(lambda m: f".../{m.group('kind')}/", text)


def _coalesce_streams(outputs):
    merged = []
    for out in outputs:
        if (
            merged
            and out.get("output_type") == "stream"
            and merged[-1].get("output_type") == "stream"
            and merged[-1].name == out.name
        ):
            merged[-1].text += out.text
        else:
            merged.append(out)
    return merged


def _renumber_widgets(nb, seed: str):
    """Replace random widget model ids by ids derived from ``seed`` and order of use."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not state:
        nb.metadata.pop("widgets", None)
        return nb
    hex_id = re.compile(r"[0-9a-f]{32}")
    order = []

    def visit(text):
        for model_id in hex_id.findall(text):
            if model_id in state and model_id not in order:
                order.append(model_id)

    visit(json.dumps([c.get("outputs", []) for c in nb.cells], sort_keys=True))
    i = 0
    while i < len(order):  # breadth first through IPY_MODEL_ references
        visit(json.dumps(state[order[i]], sort_keys=True))
        i += 1
    rest = sorted((m for m in state if m not in order), key=lambda m: json.dumps(state[m], sort_keys=True))
    for model_id in rest:
        order.append(model_id)
        visit(json.dumps(state[model_id], sort_keys=True))
    mapping = {old: hashlib.sha1(f"{seed}:{n}".encode()).hexdigest()[:32] for n, old in enumerate(order)}
    text = json.dumps(nb)
    for old, new in mapping.items():
        text = text.replace(old, new)
    import nbformat

    return nbformat.from_dict(json.loads(text))


def write_notebook(nb, path: Path) -> None:
    """Write ``nb`` as deterministic JSON (sorted keys, one-space indent, final newline)."""
    import nbformat

    path.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb, version=4)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def build_one(lesson_path: str, version: str, run: bool, timeout: int) -> tuple:
    """Render, execute and write one notebook; return ``(relative path, seconds)``."""
    import nbformat

    lesson = load_lesson(Path(lesson_path))
    cfg = series_config()
    nb = to_notebook(render(lesson, version, cfg))
    path = lesson.notebook_path(version)
    start = time.perf_counter()
    if run:
        nb = execute(nb, path, timeout)
        problems = verify_verdicts(nb, version, _rel(path))
        if problems:
            raise BuildError("\n".join(problems))
    nb = clean(nb, f"{lesson.slug}:{version}")
    nbformat.validate(nb)
    write_notebook(nb, path)
    return _rel(path), time.perf_counter() - start


# --------------------------------------------------------------------------- --check


def check_lesson(lesson: Lesson, cfg: dict | None = None) -> list:
    """Return problems with the committed notebooks of ``lesson`` (empty if up to date).

    Cell types, sources and tags must equal what the source produces now, and every code
    cell must have been executed in order with no stored error.
    """
    import nbformat

    cfg = cfg or series_config()
    problems = []
    for version in VERSIONS:
        path = lesson.notebook_path(version)
        name = _rel(path)
        if not path.exists():
            problems.append(f"{name}: missing; run .ci/build_notebooks.py {lesson.number}")
            continue
        committed = nbformat.read(path, as_version=4)
        expected = render(lesson, version, cfg)
        if len(committed.cells) != len(expected):
            problems.append(
                f"{name}: {len(committed.cells)} cells, the source makes "
                f"{len(expected)}; rebuild with .ci/build_notebooks.py {lesson.number}"
            )
            continue
        count = 0
        for index, (got, want) in enumerate(zip(committed.cells, expected, strict=True)):
            tags = list(got.metadata.get("tags", []))
            if got.cell_type != want.kind or got.source != want.source or tags != want.tags:
                what = "type" if got.cell_type != want.kind else "source" if got.source != want.source else "tags"
                problems.append(
                    f"{name}: cell {index} {what} differs from {lesson.path.name}:"
                    f"{want.line}; rebuild with .ci/build_notebooks.py {lesson.number}"
                )
                break
            if got.cell_type != "code":
                continue
            count += 1
            if got.execution_count != count:
                problems.append(
                    f"{name}: cell {index} has execution count "
                    f"{got.execution_count}, expected {count} (not executed in order)"
                )
                break
            errors = [o for o in got.outputs if o.get("output_type") == "error"]
            if errors:
                problems.append(
                    f"{name}: cell {index} stores an error: {errors[0].get('ename')}: {errors[0].get('evalue')}"
                )
                break
    return problems


# --------------------------------------------------------------------------- README map


def readme_map(lessons: list, cfg: dict) -> str:
    """The Markdown lesson map for the README."""
    first = "notebooks/00_start_here.ipynb"
    rows = [
        f"Open the series in the browser: [![Binder]({BINDER_BADGE})]({binder_url(cfg, first)}) "
        "(JupyterLab on lesson 00, nothing to install), or run `make lab` locally.",
        "",
        "| Lesson | What you learn | Colab | Binder | Solved |",
        "|---|---|---|---|---|",
    ]
    for lesson in lessons:
        learner = lesson.notebook_path(LEARNER).relative_to(ROOT).as_posix()
        solved = lesson.notebook_path(SOLVED).relative_to(ROOT).as_posix()
        rows.append(
            f"| [{lesson.title}]({learner}) | {lesson.summary} "
            f"| [![Open In Colab]({COLAB_BADGE})]({colab_url(cfg, learner)}) "
            f"| [![Binder]({BINDER_BADGE})]({binder_url(cfg, learner)}) "
            f"| [solved]({solved}) |"
        )
    return "\n".join(rows)


def render_readme(text: str, lessons: list, cfg: dict) -> str:
    """Return README ``text`` with the region between the lesson markers regenerated."""
    begin = README_BEGIN_RE.search(text)
    end = text.find(README_END)
    if begin is None or end < begin.end():
        raise BuildError("README.md: missing '<!-- lessons:begin ... -->' / '<!-- lessons:end -->' markers")
    return text[: begin.end()] + "\n" + readme_map(lessons, cfg) + "\n" + text[end:]


def update_readme(cfg: dict) -> bool:
    """Regenerate README's lesson map from all sources; return True if it changed."""
    text = README.read_text(encoding="utf-8")
    new = render_readme(text, find_lessons(), cfg)
    if new != text:
        README.write_text(new, encoding="utf-8")
    return new != text


def check_readme(cfg: dict | None = None) -> list:
    """Return a problem if README's lesson map is not what the sources produce."""
    cfg = cfg or series_config()
    text = README.read_text(encoding="utf-8")
    if render_readme(text, find_lessons(), cfg) != text:
        return ["README.md: the lesson map is out of date; run .ci/build_notebooks.py --readme"]
    return []


# --------------------------------------------------------------------------- main


def _rel(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def main(argv=None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers (default: all)")
    parser.add_argument("--check", action="store_true", help="only verify the committed notebooks against the sources")
    parser.add_argument("--no-execute", action="store_true", help="write the cells without executing (outputs cleared)")
    parser.add_argument("--readme", action="store_true", help="only regenerate the README's lesson map")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks built at once")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    args = parser.parse_args(argv)

    try:
        cfg = series_config()
        lessons = find_lessons(args.lessons)
        if args.check:
            problems = [p for lesson in lessons for p in canonical_problems(lesson.path) + check_lesson(lesson, cfg)]
            if not args.lessons:
                problems += check_readme(cfg)
            for problem in problems:
                print(problem, file=sys.stderr)
            if not problems:
                print(f"{len(lessons)} lesson(s) up to date")
            return 1 if problems else 0

        changed = update_readme(cfg)
        if args.readme:
            print("README.md lesson map " + ("updated" if changed else "already up to date"))
            return 0
        tasks = [(str(lesson.path), v, not args.no_execute, args.timeout) for lesson in lessons for v in VERSIONS]
        failures = []
        if args.jobs > 1:
            with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
                futures = [pool.submit(build_one, *t) for t in tasks]
                for future in futures:
                    failures += _report(future.result)
        else:
            for task in tasks:
                failures += _report(lambda t=task: build_one(*t))
        for failure in failures:
            print(failure, file=sys.stderr)
        return 1 if failures else 0
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _report(get) -> list:
    try:
        name, seconds = get()
    except BuildError as exc:
        return [f"FAILED {exc}"]
    print(f"built {name} ({seconds:.1f} s)")
    return []


if __name__ == "__main__":
    sys.exit(main())
