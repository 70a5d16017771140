"""The release notebooks and check.py, executed (slow: `make test-release`).

Synthetic CIFAR-10 stands in for the real data; the notebooks run in grading mode.
"""
import json
import os
import shutil

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.utils import determine_grade

from coursekit.course import current
from coursekit.synthetic import write_synthetic_cifar10
from cs231n.notebook_utils import GRADING_MIN_TEST, GRADING_MIN_TRAIN
from tests.release.conftest import run_student_python

COURSE = current()

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def grading_cifar_dir(tmp_path_factory):
    """Synthetic CIFAR-10 just large enough for the notebooks' grading mode."""
    return write_synthetic_cifar10(tmp_path_factory.mktemp("grading_cifar"),
                                   num_train=GRADING_MIN_TRAIN, num_test=GRADING_MIN_TEST)


def grading_settings(cifar_dir):
    return {"CS231N_GRADING_MODE": "1", "CS231N_CIFAR10_DIR": cifar_dir, "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture
def grading_env(grading_cifar_dir, monkeypatch):
    env = grading_settings(grading_cifar_dir)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    return env


def is_test_cell(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def error_of(cell):
    return next((o for o in cell.get("outputs", []) if o.output_type == "error"), None)


@pytest.mark.parametrize("name", list(COURSE.notebook_files))
def test_untouched_release_notebook_fails_every_test_and_stops_only_at_todos(
        release_copy, grading_env, name):
    nb = nbformat.read(release_copy / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(release_copy)}}).execute()
    tests = [c for c in nb.cells if is_test_cell(c)]
    assert tests, f"{name} has no test cell"
    # nbgrader's own scoring of an executed cell (what `validate --invert` reports): a cell
    # without error, an empty one included, earns its points.
    passing = [c.metadata.nbgrader["grade_id"] for c in tests
               if determine_grade(c)[0] == determine_grade(c)[1]]
    assert passing == [], f"{name}: test cells pass on the untouched release: {passing}"
    first = next(c for c in nb.cells if error_of(c) is not None)
    error = error_of(first)
    # The first failure is a TODO (a stub of cs231n or a solution cell), or a test cell failing
    # on it; never an error of the given code.
    assert error.ename == "NotImplementedError" or (
        is_test_cell(first) and error.ename == "AssertionError"), \
        f"{name}: first error is {error.ename}: {error.evalue}\n{first.source}"


def fill_with_master(folder):
    """Turn a release copy into a finished submission: the master's package, answers and the
    trained models a finished student has saved (the notebooks' save-checks look for them)."""
    shutil.rmtree(folder / "cs231n")
    shutil.copytree(str(COURSE.package_dir), folder / "cs231n", ignore=shutil.ignore_patterns(
        "__pycache__", "cifar-10-batches-py"))
    for name in list(COURSE.notebook_files):
        master = nbformat.read(os.path.join(str(COURSE.source_dir), name), as_version=4)
        by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in master.cells}
        path = folder / name
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                cell.source = by_id[meta["grade_id"]].source
        nbformat.write(nb, path)


def snapshot(folder):
    """{file name: bytes} of a folder, to prove a run left it as it was."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def run_check(folder, env):
    result = run_student_python(folder, "check.py", "--json", "check.json", env=env,
                                timeout=1800)
    with open(folder / "check.json") as f:
        return result, json.load(f)


@pytest.fixture(scope="module")
def untouched_check(release_dir, grading_cifar_dir, tmp_path_factory):
    """check.py run once on an untouched copy of the release: (its process, its JSON report).
    Every notebook runs in it: the tests reading it share one run (make test-release
    hands a file to one worker, --dist loadfile)."""
    folder = tmp_path_factory.mktemp("untouched") / "assignment1"
    shutil.copytree(release_dir, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return run_check(folder, grading_settings(grading_cifar_dir))


def test_check_reports_every_question_not_done_on_the_untouched_release(untouched_check):
    result, report = untouched_check
    assert result.returncode == 1
    assert {s["question"]: s["state"] for s in report["summary"]} == {
        q: "not done" for q in ("q1", "q2", "q3", "q4", "q5")}, result.stdout


def test_check_reports_everything_passing_on_the_master_solutions(release_copy, grading_env):
    fill_with_master(release_copy)
    saved_before = snapshot(release_copy / "cs231n" / "saved")
    assert len(saved_before) > 1, "the master's trained models should be in the filled copy"
    result, report = run_check(release_copy, grading_env)
    assert {s["question"]: s["state"] for s in report["summary"]} == {
        q: "done" for q in ("q1", "q2", "q3", "q4", "q5")}, result.stdout
    assert result.returncode == 0
    assert snapshot(release_copy / "cs231n" / "saved") == saved_before, \
        "check.py must leave cs231n/saved/ as it was"


def test_check_names_the_untouched_solution_cell_of_features_and_what_to_do(untouched_check):
    # The walk-through's Q4: its first error was a bare `NotImplementedError:` in "cell 8".
    result, report = untouched_check
    first = report["notebooks"]["q4"]["first_error"]
    assert first["message"].startswith("NotImplementedError: fill in this cell"), first
    assert isinstance(first["execution_count"], int)
    words = " ".join(result.stdout.split())
    assert f"first error: In [{first['execution_count']}]" in words
    assert "next: open features.ipynb and fix In [" in words
    assert "np.float64(" not in result.stdout and "np.int64(" not in result.stdout
