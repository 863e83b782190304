"""The install files agree with each other: exact pins for CI, loose bounds for Colab, Binder in step."""

import pathlib
import re
import subprocess
import sys

import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def pins(path):
    """name -> version for every `name==version` line (a local build tag like +cpu dropped)."""
    found = {}
    for line in (ROOT / path).read_text().splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)==([^\s#+]+)", line)
        if m:
            found[m.group(1).lower().replace("_", "-")] = m.group(2)
    return found


def test_requirements_pin_torch_exactly_so_pip_never_pulls_a_cuda_build():
    assert pins("requirements.txt")["torch"] == "2.13.0"


def test_every_requirement_is_pinned_exactly():
    lines = [
        line.split("#")[0].strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    assert lines and all("==" in line for line in lines), lines


def test_binder_uses_the_same_pins_as_ci_with_a_cpu_only_torch():
    ci, binder = pins("requirements.txt"), pins("binder/requirements.txt")
    assert binder, "binder/requirements.txt pins nothing"
    for name, version in binder.items():
        assert ci.get(name) == version, f"binder pins {name}=={version}, requirements.txt {ci.get(name)}"
    text = (ROOT / "binder/requirements.txt").read_text()
    assert "torch==2.13.0+cpu" in text and "/whl/cpu" in text


def test_the_package_metadata_keeps_loose_bounds_so_colab_keeps_its_torch():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = {re.split(r"[<>=!~ ]", d, maxsplit=1)[0].lower(): d for d in project["dependencies"]}
    assert deps["torch"] == "torch>=2.1"
    assert not any("==" in d or "<" in d for d in project["dependencies"]), project["dependencies"]


def test_binder_post_build_installs_the_helpers_without_dependencies():
    post = ROOT / "binder/postBuild"
    assert post.stat().st_mode & 0o111, "postBuild must be executable"
    assert "--no-deps" in post.read_text()


def test_importing_the_package_loads_neither_matplotlib_nor_ipywidgets():
    code = (
        "import sys, myoptim_helpers, myoptim_helpers.optim, myoptim_helpers.lr_scheduler, "
        "myoptim_helpers.problems, myoptim_helpers.training, myoptim_helpers.exercises\n"
        "print(sorted(m for m in ('matplotlib', 'ipywidgets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
