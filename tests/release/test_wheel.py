"""`pip wheel` of the tooling builds a complete wheel: installed into a fresh virtualenv (with the
pinned requirements), its `coursekit` builds the release of a copy of the course and grades a
package with the hidden checks, without the repository's checkout on the path.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.course import current

# One worker builds the virtualenv once for the three tests (make test-release: --dist loadfile).
pytestmark = pytest.mark.slow
REPO = current().root


def _run(cmd, cwd, timeout=900):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "COURSEKIT_COURSE")}
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(the fresh virtualenv's bin folder, a copy of the course content)."""
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from the tooling's own files only, so the wheel cannot lean on the checkout.
    src = tmp / "src"
    src.mkdir()
    shutil.copy2(REPO / "pyproject.toml", src)
    shutil.copytree(REPO / "coursekit", src / "coursekit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp / "dist", src], tmp)
    wheel = next((tmp / "dist").glob("coursekit-*.whl"))
    _run([sys.executable, "-m", "venv", tmp / "venv"], tmp)
    bin_dir = tmp / "venv" / "bin"
    _run([bin_dir / "python", "-m", "pip", "install", "-q", "-r", REPO / "requirements.txt",
          wheel], tmp, timeout=1800)
    course = tmp / "course"
    course.mkdir()
    for name in ("course.toml", "nbgrader_config.py"):
        shutil.copy2(REPO / name, course / name)
    ignore = shutil.ignore_patterns("__pycache__", "cifar-10-batches-py", "*.tar.gz")
    for folder in ("source", "cs231n", "grading"):
        shutil.copytree(REPO / folder, course / folder, symlinks=True, ignore=ignore)
    return bin_dir, course


def test_the_wheel_holds_every_package_and_the_templates(installed):
    bin_dir, course = installed
    where = _run([bin_dir / "python", "-c",
                  "import coursekit, coursekit.autograde.pipeline, coursekit.grader.driver, "
                  "coursekit.release.build, coursekit.notebooks.run, coursekit.mutation.regions;"
                  "from coursekit.release import layout; import os;"
                  "print(coursekit.__file__); print(sorted(os.listdir(layout.TEMPLATES)))"],
                 course).splitlines()
    assert Path(where[0]).is_relative_to(bin_dir.parent), where
    assert {"README.md", "check.py", "collect.py", "requirements.txt", "gitignore"} <= set(
        json.loads(where[1].replace("'", '"')))


def test_the_installed_coursekit_builds_the_release(installed):
    bin_dir, course = installed
    out = _run([bin_dir / "coursekit", "release"], course)
    assert "leakcheck      no leak" in out
    release = course / "release" / "assignment1"
    assert {p.name for p in release.glob("*.ipynb")} == set(current().notebook_files)
    assert (release / "check.py").read_text() == (REPO / "release" / "assignment1"
                                                  / "check.py").read_text()


def test_the_installed_coursekit_grades_a_package(installed, tmp_path):
    bin_dir, course = installed
    out = _run([bin_dir / "coursekit", "grade-module", course / "cs231n", "--no-models",
                "--json", "--out", tmp_path], course)
    result = json.loads(out)
    text = json.dumps(result)
    assert "adam" in text and "KNearestNeighbor.predict_labels" in text
    assert result["points"] == result["max_points"] > 0, {k: result[k] for k in result
                                                         if k != "checks"}
