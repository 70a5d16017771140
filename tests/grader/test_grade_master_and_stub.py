"""Acceptance: the master package earns every point; untouched starters, ours or the official
one, earn none; the hidden tests run as pytest tests for an instructor and for the tooling."""
import json
import subprocess
import sys

import pytest

from coursekit.grader.check_report import gradescope_results, summary, to_json
from coursekit.grader.driver import collect_checks
from coursekit.grader.functions import STUDENT_FUNCTIONS
from coursekit.grader.master import HIDDEN_DIR, REPO_ROOT

from .conftest import copy_master, grade, message_leaks


def test_master_package_scores_every_point(master_result):
    failed = [(c.id, c.message) for c in master_result.checks if c.status != "passed"]
    assert failed == []
    assert master_result.points == master_result.max_points > 0


def test_checks_cover_every_student_function_several_times():
    counts = {}
    for check, points in collect_checks(models=False):
        assert points > 0, check.id
        counts[check.function] = counts.get(check.function, 0) + 1
    assert set(counts) == set(STUDENT_FUNCTIONS)
    assert {f: n for f, n in counts.items() if n < 2} == {}


def test_saved_models_are_checks_of_their_own():
    functions = [check.function for check, _ in collect_checks() if check.function
                 not in STUDENT_FUNCTIONS]
    assert functions and all(f.startswith("saved/") and f.endswith(".npy") for f in functions)


def test_untouched_release_scores_zero_and_says_not_implemented(stub_result):
    assert stub_result.points == 0 and stub_result.max_points > 0
    statuses = {}
    for c in stub_result.checks:
        statuses.setdefault(c.function, set()).add(c.status)
        assert "not implemented" in c.message, (c.id, c.message)
    assert {f: s for f, s in statuses.items() if s != {"not_implemented"}} == {}


def test_untouched_official_starter_scores_zero(official_starter_result):
    earned = [(c.id, c.message) for c in official_starter_result.checks if c.points > 0]
    assert earned == []
    assert {c.function for c in official_starter_result.checks} == set(STUDENT_FUNCTIONS)


def test_messages_of_untouched_starters_give_nothing_away(stub_result,
                                                         official_starter_result):
    assert message_leaks(stub_result) == []
    assert message_leaks(official_starter_result) == []


def test_reports_hold_every_check(master_result):
    data = json.loads(to_json(master_result))
    assert data["points"] == data["max_points"]
    for check in data["checks"]:
        assert set(check) >= {"id", "function", "points", "max_points", "status", "message",
                              "seconds"}
    assert len(data["checks"]) == len(collect_checks(models=False))
    gradescope = gradescope_results(master_result)
    assert gradescope["score"] == master_result.points
    assert len(gradescope["tests"]) == len(data["checks"])


def test_summary_lists_each_function_once_with_its_points(stub_result):
    text = summary(stub_result)
    for function in STUDENT_FUNCTIONS:
        lines = [line for line in text.splitlines() if line.strip().startswith(function + " ")]
        assert len(lines) == 1, function
        assert "not implemented" in lines[0]


def test_grading_a_folder_without_package_reports_it(tmp_path):
    result = grade(tmp_path)
    assert result.points == 0 and result.checks
    assert all(c.status == "error" and "no cs231n/ package" in c.message for c in result.checks)


def test_grading_runs_in_the_jail_here(master_result):
    # CI installs bubblewrap: the jail, not a fallback, must be what grades here.
    assert any("bubblewrap jail" in n and "nothing of the course" in n
               for n in master_result.notes), master_result.notes


def test_grading_twice_in_one_process_gives_the_same_result(tmp_path):
    submission = copy_master(tmp_path)
    first, second = grade(submission, functions=["adam"]), grade(submission, functions=["adam"])
    assert [(c.id, c.points) for c in first.checks] == [(c.id, c.points) for c in second.checks]
    assert {c.function for c in first.checks} == {"adam"} and first.points == first.max_points


def test_cli_grade_module_writes_json_summary_and_gradescope_results(tmp_path, capsys):
    from coursekit.cli import main

    assert main(["grade-module", str(REPO_ROOT), "--no-models", "--out", str(tmp_path)]) == 0
    assert "Total:" in capsys.readouterr().out
    data = json.loads((tmp_path / "grade.json").read_text())
    assert data["points"] == data["max_points"]
    assert (tmp_path / "summary.txt").read_text().startswith("Module grade of")
    assert json.loads((tmp_path / "results.json").read_text())["score"] == data["points"]


def run_pytest(*args):
    return subprocess.run([sys.executable, "-m", "pytest", str(HIDDEN_DIR), *args],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)


def test_instructor_runs_the_hidden_tests_with_plain_pytest(tmp_path):
    passed = run_pytest("--submission", str(REPO_ROOT), "--function", "relu_forward")
    assert passed.returncode == 0, passed.stdout[-2000:]
    assert "2 passed" in passed.stdout and "Total: 3 / 3 points" in passed.stdout
    broken = copy_master(tmp_path)
    layers = broken / "cs231n" / "layers.py"
    layers.write_text(layers.read_text().replace("out = np.maximum(0, x)", "out = x"))
    failed = run_pytest("--submission", str(broken), "--function", "relu_forward")
    assert failed.returncode == 1
    assert "[relu_forward] failed: out: wrong values" in failed.stdout


def test_plain_pytest_without_a_submission_says_what_to_pass():
    result = run_pytest()
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--submission PATH" in result.stderr


def test_a_hidden_test_without_points_is_refused(tmp_path):
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    for name in ("pytest.ini", "conftest.py"):
        (hidden / name).write_text((HIDDEN_DIR / name).read_text())
    (hidden / "test_x.py").write_text("def test_unmarked(student):\n    pass\n")
    result = subprocess.run([sys.executable, "-m", "pytest", str(hidden), "--submission",
                             str(REPO_ROOT)], capture_output=True, text=True, timeout=120)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "needs @pytest.mark.points(n)" in result.stderr


def test_official_starter_style_package_is_graded_like_ours(tmp_path):
    """Python-2-era imports, extra classes and an __init__ importing a missing module."""
    from .conftest import PY2_IMPORTS, edit

    submission = copy_master(tmp_path)
    pkg = submission / "cs231n"
    knn = pkg / "classifiers" / "k_nearest_neighbor.py"
    knn.write_text(PY2_IMPORTS + knn.read_text())
    edit(submission, "classifiers/k_nearest_neighbor.py", "class KNearestNeighbor:",
         "class KNearestNeighbor(object):")
    linear = pkg / "classifiers" / "linear_classifier.py"
    linear.write_text("from __future__ import print_function\nfrom six.moves import cPickle\n"
                      + linear.read_text() + "\n\nclass LinearSVM(LinearClassifier):\n"
                      "    def loss(self, X_batch, y_batch, reg):\n"
                      "        return svm_loss_vectorized(self.W, X_batch, y_batch, reg)\n")
    solver = pkg / "solver.py"
    solver.write_text("from __future__ import print_function, division\n"
                      "from future import standard_library\nstandard_library.install_aliases()\n"
                      + solver.read_text())
    init = pkg / "classifiers" / "__init__.py"
    init.write_text(init.read_text() + "from cs231n.classifiers.linear_svm import *\n")
    result = grade(submission)
    assert [(c.id, c.message) for c in result.checks if c.status != "passed"] == []
    assert any("linear_svm" in note for note in result.notes), result.notes
