"""A sixth notebook added to a copy of the course through course.toml alone is released,
checked by check.py, zipped by collect.py and graded by `coursekit autograde`.

The copy holds the course's content (course.toml, nbgrader_config.py, source/, cs231n/,
grading/); the new notebook and its [[notebooks]] entry are the only changes. Nothing else of
the tooling is told about it.
"""
import json
import os
import runpy
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from coursekit.course import Course, current
from coursekit.release.build import build_release
from coursekit.synthetic import write_synthetic_cifar10

# One worker copies and releases the course once for the three tests (--dist loadfile).
pytestmark = pytest.mark.slow
REPO = current().root
COURSEKIT = Path(sys.executable).with_name("coursekit")
EXTRA_ENTRY = '\n[[notebooks]]\nname = "extra"\nquestion = "q6"\ntitle = "an extra question"\n'
POINTS = 3


def _cell(kind, source, grade_id, *, grade=False, solution=False, locked=False):
    meta = {"grade_id": grade_id, "grade": grade, "solution": solution, "locked": locked,
            "schema_version": 3, "task": False}
    if grade:
        meta["points"] = POINTS
    make = new_code_cell if kind == "code" else new_markdown_cell
    return make(source, metadata={"nbgrader": meta})


def extra_notebook():
    return new_notebook(cells=[
        _cell("markdown", "# An extra question\nWrite `triple`.", "extra_intro", locked=True),
        _cell("code", "def triple(x):\n    ### BEGIN SOLUTION\n    return 3 * x\n"
              "    ### END SOLUTION\n", "extra_triple", solution=True),
        _cell("code", "# Given: the values the test judges.\n"
              "tripled = [triple(v) for v in (0, 2, -5)]", "extra_values", locked=True),
        _cell("code", "assert tripled == [0, 6, -15], tripled", "extra_test", grade=True,
              locked=True),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})


@pytest.fixture(scope="module")
def course_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    for name in ("course.toml", "nbgrader_config.py"):
        shutil.copy2(REPO / name, root / name)
    ignore = shutil.ignore_patterns("__pycache__", "cifar-10-batches-py", "*.tar.gz")
    for folder in ("source", "cs231n", "grading"):
        shutil.copytree(REPO / folder, root / folder, symlinks=True, ignore=ignore)
    nbformat.write(extra_notebook(), root / "source" / "assignment1" / "extra.ipynb")
    with open(root / "course.toml", "a", encoding="utf-8") as f:
        f.write(EXTRA_ENTRY)
    return root


@pytest.fixture(scope="module")
def released(course_copy):
    course = Course.load(course_copy)
    assert course.notebook_names[-1] == "extra"
    return Path(build_release(course=course, log=lambda *_: None))


def _solve(notebook_path):
    nb = nbformat.read(notebook_path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "extra_triple":
            assert "return 3 * x" not in cell.source  # the release has the stub
            cell.source = "def triple(x):\n    return x + x + x\n"
    nbformat.write(nb, notebook_path)


def _run(cmd, cwd, extra_env=None, **kw):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBGRADER")}
    env.update(extra_env or {})
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900,
                          **kw)


def test_the_release_holds_the_new_notebook_and_its_lists(released):
    assert (released / "extra.ipynb").is_file()
    student = nbformat.read(released / "extra.ipynb", as_version=4)
    assert not any("BEGIN SOLUTION" in c.source for c in student.cells)
    check = runpy.run_path(str(released / "check.py"))
    assert check["QUESTIONS"]["q6"] == ["extra.ipynb", "an extra question"]
    assert list(check["QUESTIONS"])[:5] == ["q1", "q2", "q3", "q4", "q5"]
    collect = runpy.run_path(str(released / "collect.py"))
    assert collect["NOTEBOOKS"][-1] == "extra.ipynb"


def test_check_py_checks_it_and_collect_py_zips_it(released, tmp_path):
    student = tmp_path / "student"
    shutil.copytree(released, student)
    untouched = _run([sys.executable, "check.py", "q6", "--notebooks"], student)
    assert untouched.returncode == 1, untouched.stdout + untouched.stderr
    assert "Q6 extra.ipynb" in untouched.stdout and "not done" in untouched.stdout
    _solve(student / "extra.ipynb")
    done = _run([sys.executable, "check.py", "q6", "--notebooks"], student)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[ok  ] test cell extra_test" in done.stdout
    # Run it as a student does before collecting (outputs in the file), then zip.
    _run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
          "--inplace", "extra.ipynb"], student).check_returncode()
    zipped = _run([sys.executable, "collect.py", "--allow-missing"], student)
    assert zipped.returncode == 0, zipped.stdout + zipped.stderr
    archive = next(student.glob("*.zip"))
    with zipfile.ZipFile(archive) as z:
        assert "extra.ipynb" in z.namelist()


def test_autograde_grades_it(course_copy, released, tmp_path):
    submission = tmp_path / "alice"
    shutil.copytree(released, submission)
    _solve(submission / "extra.ipynb")
    out = tmp_path / "out"
    # Grading refuses to start without CIFAR-10: a small synthetic one in the official format.
    data = write_synthetic_cifar10(tmp_path / "data", num_train=200, num_test=50)
    graded = _run([str(COURSEKIT), "--course", str(course_copy), "autograde", str(submission),
                   "--student", "alice", "--output-root", str(out), "-q"], tmp_path,
                  extra_env={"CS231N_CIFAR10_DIR": str(data)})
    assert graded.returncode == 0, graded.stdout + graded.stderr
    result = json.loads((out / "autograded" / "alice" / "assignment1.json").read_text())
    text = json.dumps(result)
    assert "extra_test" in text, text[:2000]
    items = [i for i in _items(result) if "extra_test" in json.dumps(i)]
    assert items and all(i.get("score") == POINTS for i in items), items


def _items(result):
    """Every dict of the result record that has a score (its graded items)."""
    found, stack = [], [result]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if "score" in value and "max_score" in value:
                found.append(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found
