"""Acceptance: the master package earns every point, the untouched release none."""
import json

from coursekit.grader.driver import load_checks, load_rubric
from coursekit.grader.master import REPO_ROOT
from coursekit.grader.report import summary, to_json

STUDENT_FUNCTIONS = {
    "KNearestNeighbor.compute_distances_two_loops", "KNearestNeighbor.compute_distances_one_loop",
    "KNearestNeighbor.compute_distances_no_loops", "KNearestNeighbor.predict_labels",
    "softmax_loss_naive", "softmax_loss_vectorized", "LinearClassifier.train",
    "LinearClassifier.predict", "affine_forward", "affine_backward", "relu_forward",
    "relu_backward", "softmax_loss", "TwoLayerNet.__init__", "TwoLayerNet.loss",
    "FullyConnectedNet.__init__", "FullyConnectedNet.loss", "sgd_momentum", "rmsprop", "adam",
}


def test_master_package_scores_every_point(master_result):
    failed = [(c.id, c.message) for c in master_result.checks if c.status != "passed"]
    assert failed == []
    assert master_result.points == master_result.max_points > 0


def test_checks_cover_every_student_function():
    assert {c.function for c in load_checks()} >= STUDENT_FUNCTIONS


def test_every_function_has_several_checks():
    counts = {}
    for c in load_checks():
        counts[c.function] = counts.get(c.function, 0) + 1
    assert {f for f in STUDENT_FUNCTIONS if counts.get(f, 0) < 2} == set()


def test_untouched_release_scores_zero(stub_result):
    assert stub_result.points == 0
    assert stub_result.max_points > 0


def test_untouched_release_says_not_implemented_for_every_function(stub_result):
    by_function = {}
    for c in stub_result.checks:
        by_function.setdefault(c.function, set()).add(c.status)
    assert {f: s for f, s in by_function.items() if f in STUDENT_FUNCTIONS
            and s != {"not_implemented"}} == {}
    for c in stub_result.checks:
        if c.function in STUDENT_FUNCTIONS:
            assert "not implemented" in c.message


def test_rubric_gives_points_to_exactly_the_defined_checks():
    rubric = load_rubric()["checks"]
    ids = [c.id for c in load_checks()]
    assert sorted(rubric) == sorted(ids)
    assert all(points > 0 for points in rubric.values())


def test_json_report_has_the_fields_of_every_check(master_result):
    data = json.loads(to_json(master_result))
    assert data["points"] == data["max_points"]
    for check in data["checks"]:
        assert set(check) >= {"id", "function", "points", "max_points", "status", "message",
                              "seconds"}
    assert len(data["checks"]) == len(load_checks())


def test_summary_lists_each_function_once_with_its_points(stub_result):
    text = summary(stub_result)
    for function in STUDENT_FUNCTIONS:
        lines = [line for line in text.splitlines() if line.strip().startswith(function + " ")]
        assert len(lines) == 1, function
        assert "not implemented" in lines[0]


def test_grading_a_folder_without_package_reports_it(tmp_path):
    from coursekit.grader import grade_submission

    result = grade_submission(tmp_path, models=False)
    assert result.points == 0
    assert all(c.status == "error" and "no cs231n/ folder" in c.message for c in result.checks)


def test_grading_runs_in_the_jail_here(master_result):
    # These tests run as root on the course machine and in CI: the jail must be in use.
    assert any("chroot" in n for n in master_result.notes), master_result.notes


def test_cli_grade_module_writes_json_and_summary(tmp_path, capsys):
    from coursekit.cli import main

    assert main(["grade-module", str(REPO_ROOT), "--no-models", "--out", str(tmp_path)]) == 0
    assert "Total:" in capsys.readouterr().out
    data = json.loads((tmp_path / "grade.json").read_text())
    assert data["points"] == data["max_points"]
    assert (tmp_path / "summary.txt").read_text().startswith("Module grade of")


def test_official_starter_style_package_is_graded_like_ours(tmp_path):
    """Python-2-era imports, extra classes and an __init__ importing a missing module."""
    from .conftest import copy_master, edit, grade

    submission = copy_master(tmp_path)
    pkg = submission / "cs231n"
    knn = pkg / "classifiers" / "k_nearest_neighbor.py"
    knn.write_text("from builtins import range\nfrom builtins import object\n"
                   "from past.builtins import xrange\n" + knn.read_text())
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
