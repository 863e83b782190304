"""Lesson sources and the notebooks built from them.

- every lesson's committed notebooks match its source (``build_notebooks.py --check``);
- every lesson source has the skeleton of DESIGN.md;
- every source round-trips through jupytext unchanged, as ``make lab`` opens and saves it;
- the build script's parser, solution markers, placeholders, verdict check and cleaning
  behave as the authoring guide (notebooks/_source/README.md) says.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_build_module():
    spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / ".ci" / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_notebooks", module)
    spec.loader.exec_module(module)
    return sys.modules["build_notebooks"]


bn = _load_build_module()
LESSONS = bn.find_lessons()
LAST = max(lesson.number for lesson in LESSONS)
MAX_CODE_LINES = 25


def lesson_id(lesson):
    return lesson.slug


# --------------------------------------------------------------------------- per lesson


@pytest.mark.parametrize("lesson", LESSONS, ids=lesson_id)
def test_committed_notebooks_match_the_source(lesson):
    assert bn.check_lesson(lesson) == []


@pytest.mark.parametrize("lesson", LESSONS, ids=lesson_id)
def test_no_cell_relies_on_raises_exception(lesson):
    """Colab's Run all stops at the first error: an intended error is printed by
    ``expect_error``, so no cell may raise, nor carry the tag that lets nbclient go on."""
    assert bn.FORBIDDEN_TAG not in lesson.path.read_text(encoding="utf-8")
    for version in bn.VERSIONS:
        nb = nbformat.read(lesson.notebook_path(version), as_version=4)
        tagged = [i for i, c in enumerate(nb.cells) if bn.FORBIDDEN_TAG in c.metadata.get("tags", [])]
        raised = [
            i for i, c in enumerate(nb.cells) if any(o.get("output_type") == "error" for o in c.get("outputs", []))
        ]
        assert (tagged, raised) == ([], []), (
            f"{lesson.notebook_path(version).name}: cells {tagged} tagged {bn.FORBIDDEN_TAG}, cells {raised} raised"
        )


def _markdown(lesson):
    return "\n\n".join(c.source for c in lesson.cells if c.kind == "markdown")


def _check_keys(lesson):
    return sorted(
        {
            key
            for c in lesson.cells
            if c.kind == "code" and "check-demo" not in c.tags
            for key in bn.CHECK_CALL_RE.findall(c.source)
        },
        key=lambda k: int(k.split(".")[1]),
    )


def _skeleton_problems(lesson):
    problems = []
    first_md = next(c for c in lesson.cells if c.kind == "markdown")
    if not re.match(rf"# {lesson.number} · \S", first_md.source):
        problems.append(f"the first markdown cell must start with '# {lesson.number} · Title'")
    if "{{badges}}" not in first_md.source:
        problems.append("the title cell has no {{badges}}")
    markdown = _markdown(lesson)
    for heading in ("## You will learn", "## You should already know", "## Recap"):
        if heading not in markdown:
            problems.append(f"no '{heading}' section")
    if not re.search(r"^## Common mistake", markdown, re.M):
        problems.append("no '## Common mistake...' section")
    first_code = next(c for c in lesson.cells if c.kind == "code")
    if first_code.source.splitlines()[:1] != [bn.COLAB_SETUP_LINE]:
        problems.append(f"the first code cell must start with the line {bn.COLAB_SETUP_LINE}")
    keys = _check_keys(lesson)
    if len(keys) < 3:
        problems.append(f"{len(keys)} checked exercise(s); at least 3 are needed")
    if any(not k.startswith(lesson.number + ".") for k in keys):
        problems.append(f"check keys of another lesson: {keys}")
    nxt = f"{int(lesson.number) + 1:02d}"
    known = {other.number: other.slug for other in LESSONS}
    # A lesson links to the next one; while a later lesson is written before the ones between
    # (11 before 08-10), the lesson before the gap has no next lesson to link to yet.
    if lesson.number != LAST and nxt in known:
        target = re.escape(known[nxt])
        if not re.search(rf"\]\((\.\./)?{target}\.ipynb\)", markdown):
            problems.append(f"no link to the next lesson ({known[nxt]}.ipynb)")
    for cell in lesson.cells:
        lines = len(cell.source.splitlines())
        if cell.kind == "code" and lines > MAX_CODE_LINES:
            problems.append(
                f"the code cell at {lesson.path.name}:{cell.line} has {lines} lines "
                f"(at most {MAX_CODE_LINES}; move long code into myoptim_helpers)"
            )
    return problems


@pytest.mark.parametrize("lesson", LESSONS, ids=lesson_id)
def test_lesson_has_the_skeleton(lesson):
    assert _skeleton_problems(lesson) == []


@pytest.mark.parametrize("lesson", LESSONS, ids=lesson_id)
def test_every_registered_exercise_is_used_and_every_used_one_registered(lesson):
    from myoptim_helpers.exercises import exercises_of

    assert _check_keys(lesson) == list(exercises_of(lesson.number))


@pytest.mark.parametrize("lesson", LESSONS, ids=lesson_id)
def test_both_versions_render(lesson):
    cfg = bn.series_config()
    solved, learner = (bn.render(lesson, v, cfg) for v in bn.VERSIONS)
    assert len(solved) == len(learner)
    for version in (solved, learner):
        nbformat.validate(bn.to_notebook(version))


@pytest.mark.parametrize("lesson", LESSONS, ids=lesson_id)
def test_source_round_trips_through_jupytext(lesson):
    """jupytext (as ``make lab`` opens and saves a source) reads and writes it unchanged."""
    text = lesson.path.read_text(encoding="utf-8")
    assert bn.write_percent(bn.read_percent(text)) == text
    assert bn.canonical_problems(lesson.path) == []


# Runs cells the way a kernel does, each in a namespace of its own; prints {name: error} as JSON.
_RUN_CELLS = """
import json, sys, traceback
failed = {}
for name, source in json.load(sys.stdin).items():
    try:
        exec(compile(source, name, "exec"), {"__name__": "__main__"})
    except BaseException:
        failed[name] = traceback.format_exc(limit=-1).strip().splitlines()[-1]
print(json.dumps(failed))
"""


def test_every_first_code_cell_runs_as_plain_python(tmp_path):
    """A source opened as a notebook (``make lab``) runs its first cell as it is: the setup
    placeholder is a comment line, so the cell imports and seeds without the build's Colab code.
    The bare placeholder of old (the control) is not Python and must fail in the same harness."""
    cells = {lesson.slug: next(c.source for c in lesson.cells if c.kind == "code") for lesson in LESSONS}
    assert [slug for slug, source in cells.items() if not source.startswith(bn.COLAB_SETUP_LINE + "\n")] == []
    control = "control: bare placeholder"
    cells[control] = "{{colab_setup}}\nimport torch\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, "-c", _RUN_CELLS],
        input=json.dumps(cells),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=True,
    )
    failed = json.loads(out.stdout.splitlines()[-1])
    assert failed.pop(control, "").startswith("NameError"), "the harness did not see the bare placeholder fail"
    assert failed == {}


def test_canonical_check_names_the_line_jupytext_would_change(tmp_path):
    path = tmp_path / "09_title.py"
    path.write_text("# %%\nx = 1\n\n#%%\ny = 2\n", encoding="utf-8")
    assert bn.canonical_problems(path) == [
        f"{path}:4: jupytext saves this source differently (line 4: '# %%'); "
        "open and save it in `make lab`, or write it as jupytext does"
    ]


def test_lab_opens_a_source_as_a_notebook_and_saves_it_back(tmp_path):
    """What ``make lab`` does with a source: jupytext's contents manager, configured by
    notebooks/_source/jupytext.toml, opens it as a notebook and saves it to the same text;
    a tag added in JupyterLab is saved into the source, JupyterLab's own metadata is not."""
    from jupytext import TextFileContentsManager

    source = LESSONS[0].path
    (tmp_path / "_source").mkdir()
    for path in (bn.JUPYTEXT_CONFIG, source):
        (tmp_path / "_source" / path.name).write_bytes(path.read_bytes())
    manager = TextFileContentsManager(root_dir=str(tmp_path))
    name = f"_source/{source.name}"
    model = manager.get(name, type="notebook", content=True)
    assert model["type"] == "notebook"
    manager.save(model, name)
    assert (tmp_path / name).read_bytes() == source.read_bytes()

    nb = model["content"]
    code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells[code].metadata.update(tags=["nbval-ignore-output"], collapsed=True)
    manager.save(model, name)
    saved = (tmp_path / name).read_text(encoding="utf-8")
    assert '# %% tags=["nbval-ignore-output"]\n' in saved and "collapsed" not in saved
    _, cells = bn.parse_percent(saved)
    assert cells[code - 1].tags == ["nbval-ignore-output"]  # the header is not a cell


def test_readme_lesson_map_is_current():
    assert bn.check_readme() == []


def test_skeleton_check_can_fail():
    lesson = bn.Lesson(
        "03",
        "03_sgd",
        Path("03_sgd.py"),
        "s",
        [
            bn.Cell("markdown", "# Three\n\nno badges", [], 1),
            bn.Cell("code", "import torch\n" + "x = 1\n" * 30, [], 5),
            bn.Cell("code", 'check("03.1", x)', [], 40),
        ],
    )
    problems = _skeleton_problems(lesson)
    assert problems[:2] == [
        "the first markdown cell must start with '# 03 · Title'",
        "the title cell has no {{badges}}",
    ]
    assert "no '## Common mistake...' section" in problems
    assert "1 checked exercise(s); at least 3 are needed" in problems
    assert "no link to the next lesson (04_adam.ipynb)" in problems
    assert "the first code cell must start with the line # {{colab_setup}}" in problems
    assert "the code cell at 03_sgd.py:5 has 31 lines (at most 25; move long code into myoptim_helpers)" in problems


def test_check_reports_a_drifted_notebook():
    lesson = bn.find_lessons(["00"])[0]
    solution = next(c for c in lesson.cells if "# BEGIN SOLUTION" in c.source)
    solution.source = solution.source.replace("lr=0.1", "lr=0.2")  # only the solved version changes
    problems = bn.check_lesson(lesson)
    assert len(problems) == 1 and problems[0].startswith("notebooks/solutions/00_start_here.ipynb: cell "), problems
    assert (
        f"source differs from 00_start_here.py:{solution.line}; rebuild with .ci/build_notebooks.py 00" in problems[0]
    )
    solution.tags = ["check-demo"]  # both versions change
    assert [p.split(":")[0] for p in bn.check_lesson(lesson)] == [
        "notebooks/solutions/00_start_here.ipynb",
        "notebooks/00_start_here.ipynb",
    ]


# --------------------------------------------------------------------------- the reader

SOURCE = """# ---
# summary: One line.
# ---

# %% [markdown]
# # 09 · Title
#
# {{badges}}

# %%
# {{colab_setup}}
import torch

# %% tags=["check-demo", "x"]
1 / 0


# %% [markdown]
# Text with `code`.
"""


def test_parse_percent():
    header, cells = bn.parse_percent(SOURCE)
    assert header == {"summary": "One line."}
    assert [(c.kind, c.source, c.tags, c.line) for c in cells] == [
        ("markdown", "# 09 · Title\n\n{{badges}}", [], 5),
        ("code", "# {{colab_setup}}\nimport torch", [], 10),
        ("code", "1 / 0", ["check-demo", "x"], 14),
        ("markdown", "Text with `code`.", [], 18),
    ]


def test_header_values_may_hold_colons():
    header, _ = bn.parse_percent("# ---\n# summary: What it sees: params, groups.\n# ---\n\n# %%\nx\n")
    assert header == {"summary": "What it sees: params, groups."}


PARSE_ERRORS = [
    ("# ---\n# summary\n# ---\n\n# %%\nx = 1\n", "<source>:2: header lines look like '# key: value'"),
    ("# %%\nx = 1\n\n# %% [raw]\nraw text\n", "<source>:4: a raw cell; lessons have only code"),
    ("# %% title\nx = 1\n", "<source>:1: unsupported cell marker option(s) ['title']"),
    ('# %% tags=["a"] slow=true\nx = 1\n', "<source>:1: unsupported cell marker option(s) ['slow']"),
    (
        "# %% tags=[a]\nx = 1\n",
        '<source>:1: cannot read the cell marker options \'tags=[a]\'; tags must be a JSON list: tags=["a", "b"]',
    ),
    (
        '# %% tags="a"\nx = 1\n',
        "<source>: jupytext cannot read it: NotebookValidationError: 'a' is not of type 'array'",
    ),
    ("# %% tags=[1]\nx = 1\n", "<source>: jupytext cannot read it: AttributeError: "),
    (
        '# %%\nx = 1\n\n# %% tags=["x", "raises-exception"]\n1 / 0\n',
        (
            "<source>:4: the raises-exception tag stops Colab's Run all; show the error with "
            "`with expect_error(ValueError): ...`"
        ),
    ),
]


@pytest.mark.parametrize("text, message", PARSE_ERRORS)
def test_parse_errors(text, message):
    with pytest.raises(bn.BuildError, match=re.escape(message)):
        bn.parse_percent(text)


MARKER_CASES = [
    # (cell source, solved version, learner version)
    (
        "def f(x):\n    # BEGIN SOLUTION\n    return x + 1\n    # END SOLUTION\n\ncheck('01.1', f)",
        "def f(x):\n    return x + 1\n\ncheck('01.1', f)",
        "def f(x):\n    ...\n\ncheck('01.1', f)",
    ),
    (
        "# BEGIN SOLUTION\n# STUB: lr = ...\nlr = 0.1\n# END SOLUTION\ncheck('01.2', lr)",
        "lr = 0.1\ncheck('01.2', lr)",
        "lr = ...\ncheck('01.2', lr)",
    ),
    (
        "a = 1\n# BEGIN SOLUTION\nb = 2\n# STUB: b = ...\n# STUB:\n# STUB: c = ...\nc = 3\n# END SOLUTION",
        "a = 1\nb = 2\nc = 3",
        "a = 1\nb = ...\n\nc = ...",
    ),
    (
        "for i in range(2):\n    # BEGIN SOLUTION\n    # STUB:     pass  # two extra spaces kept\n"
        "    print(i)\n    # END SOLUTION",
        "for i in range(2):\n    print(i)",
        "for i in range(2):\n        pass  # two extra spaces kept",
    ),
    ("x = 1", "x = 1", "x = 1"),
]


@pytest.mark.parametrize("source, solved, learner", MARKER_CASES)
def test_solution_markers(source, solved, learner):
    assert bn.resolve_solutions(source, bn.SOLVED) == solved
    assert bn.resolve_solutions(source, bn.LEARNER) == learner


MARKER_ERRORS = [
    ("# BEGIN SOLUTION\nx = 1", "'# BEGIN SOLUTION' is never closed"),
    ("# END SOLUTION", "'# END SOLUTION' without BEGIN (cell line 1)"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "nested '# BEGIN SOLUTION' (cell line 2)"),
    ("# STUB: x = ...", "'# STUB:' outside a solution block (cell line 1)"),
]


@pytest.mark.parametrize("source, message", MARKER_ERRORS)
def test_solution_marker_errors(source, message):
    with pytest.raises(bn.BuildError, match=re.escape(message)):
        bn.resolve_solutions(source, bn.LEARNER, "x.py:3")


CFG = {"repository": "owner/name", "branch": "dev"}


def _lesson(source=SOURCE, slug="09_title"):
    header, cells = bn.parse_percent(source)
    return bn.Lesson(slug[:2], slug, Path(f"{slug}.py"), header["summary"], cells)


def test_badges_and_setup_are_filled_in():
    learner = bn.render(_lesson(), bn.LEARNER, CFG)
    solved = bn.render(_lesson(), bn.SOLVED, CFG)
    assert learner[0].source == (
        "# 09 · Title\n\n"
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/owner/name/blob/dev/notebooks/09_title.ipynb) "
        "[![Binder](https://mybinder.org/badge_logo.svg)]"
        "(https://mybinder.org/v2/gh/owner/name/dev?urlpath=lab/tree/notebooks/09_title.ipynb)"
    )
    assert (
        "(https://colab.research.google.com/github/owner/name/blob/dev/notebooks/solutions/09_title.ipynb)"
    ) in solved[0].source
    assert "lab/tree/notebooks/solutions/09_title.ipynb)" in solved[0].source
    assert "*This is the solved version. The exercises are in [../09_title.ipynb]" in solved[0].source
    assert learner[1].source == (
        "import sys\n"
        'if "google.colab" in sys.modules:  # Colab only: install the helpers, keep Colab\'s torch\n'
        "    import subprocess\n"
        '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",\n'
        '                    "git+https://github.com/owner/name@dev"], check=True)\n'
        "import torch"
    )
    assert learner[2].tags == ["check-demo", "x"]


RENDER_ERRORS = [
    (
        SOURCE.replace("import torch", "import torch\n\n# %%\n# {{colab_setup}}"),
        "# {{colab_setup}} belongs in the first code cell",
    ),
    (
        SOURCE.replace("# {{colab_setup}}", "{{colab_setup}}"),
        "write the setup placeholder as the comment line '# {{colab_setup}}'",
    ),
    (SOURCE.replace("# {{colab_setup}}", "# {{colab_set}}"), "unknown or misplaced placeholder # {{colab_set}}"),
    (SOURCE.replace("{{badges}}", "{{badge}}"), "unknown or misplaced placeholder {{badge}}"),
    (SOURCE.replace("1 / 0", "{{lesson_map}}"), "unknown or misplaced placeholder {{lesson_map}}"),
]


@pytest.mark.parametrize("source, message", RENDER_ERRORS)
def test_render_errors(source, message):
    with pytest.raises(bn.BuildError, match=re.escape(message)):
        bn.render(_lesson(source), bn.SOLVED, CFG)


def test_setup_code_is_valid_python():
    compile(bn.colab_setup(CFG), "<setup>", "exec")


# --------------------------------------------------------------------------- after execution


def _executed(cells):
    nb = nbformat.v4.new_notebook()
    for source, text, tags in cells:
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": tags} if tags else {})
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        nb.cells.append(cell)
    return nb


VERDICT_CASES = [
    # (version, cell source, printed text, tags, problems)
    (bn.SOLVED, 'check("03.1", f)', "✓ 03.1 correct: fine.\n", [], []),
    (bn.LEARNER, 'check("03.1", f)', "○ 03.1 not attempted yet: fill it in.\n", [], []),
    (
        bn.SOLVED,
        'check("03.1", f)',
        "✗ 03.1 incorrect: no.\n",
        [],
        ["nb: cell 0: expected '✓ 03.1 correct...', got: ✗ 03.1 incorrect: no."],
    ),
    (
        bn.LEARNER,
        "check('03.2', f)",
        "✓ 03.2 correct: the stub passes?\n",
        [],
        ["nb: cell 0: expected '○ 03.2 not attempted yet...', got: ✓ 03.2 correct: the stub passes?"],
    ),
    (bn.SOLVED, 'check("03.1", f)', "", [], ["nb: cell 0: expected '✓ 03.1 correct...', got: (no output)"]),
    (bn.SOLVED, 'check("03.1", g)', "✗ 03.1 incorrect: a demo.\n", ["check-demo"], []),
]


@pytest.mark.parametrize("version, source, text, tags, problems", VERDICT_CASES)
def test_verdicts(version, source, text, tags, problems):
    assert bn.verify_verdicts(_executed([(source, text, tags)]), version, "nb") == problems


def _widget_notebook(ids):
    a, b, layout = ids
    nb = _executed([("slider", "", [])])
    nb.cells[0].outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"text/plain": "IntSlider(value=1)", bn.WIDGET_VIEW: {"model_id": a, "version_major": 2}},
        )
    ]
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    nb.metadata["widgets"] = {
        bn.WIDGET_STATE: {
            "version_major": 2,
            "version_minor": 0,
            "state": {
                a: {"model_name": "IntSliderModel", "state": {"layout": f"IPY_MODEL_{layout}", "value": 1}},
                b: {"model_name": "LayoutModel", "state": {}},
                layout: {"model_name": "LayoutModel", "state": {}},
            },
        }
    }
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    return nb


def test_clean_is_deterministic_and_keeps_widget_state():
    first = bn.clean(_widget_notebook([uuid.uuid4().hex for _ in range(3)]), "09_title:solved")
    second = bn.clean(_widget_notebook([uuid.uuid4().hex for _ in range(3)]), "09_title:solved")
    assert nbformat.writes(first) == nbformat.writes(second)
    state = first.metadata["widgets"][bn.WIDGET_STATE]["state"]
    view_id = first.cells[0].outputs[0].data[bn.WIDGET_VIEW]["model_id"]
    layout_id = state[view_id]["state"]["layout"].removeprefix("IPY_MODEL_")
    assert len(state) == 3 and layout_id in state and layout_id != view_id
    assert first.cells[0].metadata == {}
    assert "version" not in first.metadata["language_info"]


def test_written_json_is_stable(tmp_path):
    nb = bn.to_notebook(bn.render(_lesson(), bn.LEARNER, CFG))
    path = tmp_path / "nb.ipynb"
    bn.write_notebook(nb, path)
    text = path.read_text(encoding="utf-8")
    assert (
        text.endswith("}\n")
        and text == json.dumps(json.loads(text), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    )
    assert [c["id"] for c in json.loads(text)["cells"]] == ["cell-00", "cell-01", "cell-02", "cell-03"]


def test_readme_map_lists_every_lesson():
    text = "intro\n<!-- lessons:begin (generated) -->\nold\n<!-- lessons:end -->\nafter\n"
    new = bn.render_readme(text, [_lesson()], CFG)
    assert new.startswith("intro\n<!-- lessons:begin (generated) -->\nOpen the series")
    assert new.endswith("\n<!-- lessons:end -->\nafter\n")
    assert (
        "| [09 · Title](notebooks/09_title.ipynb) | One line. "
        "| [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/owner/name/blob/dev/notebooks/09_title.ipynb) "
        "| [![Binder](https://mybinder.org/badge_logo.svg)]"
        "(https://mybinder.org/v2/gh/owner/name/dev?urlpath=lab/tree/notebooks/09_title.ipynb) "
        "| [solved](notebooks/solutions/09_title.ipynb) |"
    ) in new
    assert "(https://mybinder.org/v2/gh/owner/name/dev?urlpath=lab/tree/notebooks/00_start_here.ipynb)" in new


PATH_CASES = [
    (
        "File /work/main/.venv/lib/python3.11/site-packages/torch/optim/sgd.py:65, in SGD",
        "File .../python3.11/site-packages/torch/optim/sgd.py:65, in SGD",
    ),
    ("\x1b[32m/usr/lib/python3/dist-packages/torch/x.py:1\x1b[39m", "\x1b[32m.../dist-packages/torch/x.py:1\x1b[39m"),
    ("Cell In[3], line 2", "Cell In[3], line 2"),
]


@pytest.mark.parametrize("line, neutral", PATH_CASES)
def test_tracebacks_lose_machine_paths(line, neutral):
    assert bn._neutral_paths(line) == neutral


def test_a_failing_cell_stops_the_build_with_its_index_and_error(tmp_path):
    cells = [
        bn.Cell("code", "x = 1", [], 1),
        bn.Cell(
            "code",
            "from myoptim_helpers import expect_error\nwith expect_error(ValueError):\n    raise ValueError('shown')",
            [],
            2,
        ),
        bn.Cell("code", "print(x)\n1 / 0", [], 3),
        bn.Cell("code", "print('never runs')", [], 4),
    ]
    nb = bn.to_notebook(cells)
    with pytest.raises(bn.BuildError) as info:
        bn.execute(nb, tmp_path / "nb.ipynb", timeout=60)
    assert str(info.value).endswith("nb.ipynb: cell 2 ('print(x)') failed: ZeroDivisionError: division by zero")
    assert nb.cells[1].outputs[0].text == "ValueError: shown\n"
    assert not nb.cells[3].get("outputs")


def test_check_command_line():
    ok = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "build_notebooks.py"), "--check", "00"], capture_output=True, text=True
    )
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "1 lesson(s) up to date\n", "")
    missing = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "build_notebooks.py"), "--check", "99"], capture_output=True, text=True
    )
    assert missing.returncode == 1
    assert "error: no lesson source for ['99']" in missing.stderr
