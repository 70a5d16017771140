"""The robustness corpus graded in one parallel batch (slow: `make test-autograde`).

Every damaged submission gets a clear per-item result, the run never crashes, and the two
correct submissions graded in the same batch keep their full score."""
import json

import pytest
from robustness_corpus import CASES, build_corpus
from tinycourse import tiny_settings

from coursekit.autograde import batch

pytestmark = pytest.mark.slow

FULL = {"adder:test_add": 2, "adder:test_grading_mode": 1, "adder:iq1_answer": 0,
        "adder:iq3_answer": 1, "ops:test_mul": 3, "module:ops.mul.values": 2,
        "inline:adder.iq2": 1}


@pytest.fixture(scope="module")
def corpus(tiny_course):
    course = tiny_settings(tiny_course)
    students = build_corpus(course, tiny_course / "submitted")
    outcomes = batch.grade_all(course, batch.find_submissions(course), jobs=2, progress=False)
    results = {s: json.loads(course.result_path(s).read_text()) for s in students}
    return course, outcomes, results


def scores(result):
    return {i["id"]: i["score"] for i in result["items"]}


def changed(result):
    """{item: score} of the items that differ from a correct submission."""
    return {k: v for k, v in scores(result).items() if FULL.get(k) != v}


def test_every_student_has_a_result_and_no_grading_error(corpus):
    _, outcomes, results = corpus
    assert set(outcomes) == set(results)
    assert {s: o[2] for s, o in outcomes.items() if o[2]} == {}
    assert all(r.get("status") != "error" for r in results.values())


def test_correct_submissions_are_unaffected_by_the_rest_of_the_batch(corpus):
    _, _, results = corpus
    assert scores(results["good_first"]) == FULL
    assert scores(results["good_last"]) == FULL


def test_every_case_keeps_the_same_graded_items(corpus):
    _, _, results = corpus
    for name in CASES:
        assert set(scores(results[name])) == set(FULL), name


def test_renamed_notebook_is_graded_under_its_name(corpus):
    r = corpus[2]["renamed"]
    assert changed(r) == {}
    assert r["notebooks"]["adder"]["status"] == "graded"
    assert "adder (1).ipynb" in r["notebooks"]["adder"]["message"]


def test_missing_notebook_scores_zero_for_its_items_only(corpus):
    r = corpus[2]["missing_notebook"]
    assert changed(r) == {"ops:test_mul": 0}
    assert r["notebooks"]["ops"]["status"] == "missing"


def test_invalid_notebook_json_scores_zero_with_a_reason(corpus):
    r = corpus[2]["invalid_json"]
    assert changed(r) == {"adder:test_add": 0, "adder:test_grading_mode": 0,
                          "adder:iq3_answer": 0, "inline:adder.iq2": 0}
    assert r["notebooks"]["adder"]["status"] == "invalid"
    assert "not a valid notebook" in r["notebooks"]["adder"]["message"]


def test_empty_folder_scores_zero_everywhere(corpus):
    r = corpus[2]["empty_folder"]
    assert r["score"] == 0
    assert {nb["status"] for nb in r["notebooks"].values()} == {"missing"}


@pytest.mark.parametrize("case", ["deleted_locked_cell", "duplicated_locked_cell",
                                  "warning_on_stderr"])
def test_deleted_duplicated_or_warning_test_cell_still_scores(corpus, case):
    assert changed(corpus[2][case]) == {}


def test_edited_test_cell_is_replaced_by_the_real_test(corpus):
    assert changed(corpus[2]["edited_locked_cell"]) == {"adder:test_add": 0}


@pytest.mark.parametrize("case", ["syntax_error_in_module", "missing_module",
                                  "sys_exit_at_import"])
def test_broken_module_costs_the_tests_that_use_it(corpus, case):
    r = corpus[2][case]
    assert changed(r) == {"ops:test_mul": 0, "module:ops.mul.values": 0}
    module_item = next(i for i in r["items"] if i["id"] == "module:ops.mul.values")
    assert module_item["message"]


def test_os_exit_at_import_fails_that_notebook_only(corpus):
    r = corpus[2]["os_exit_at_import"]
    assert changed(r) == {"ops:test_mul": 0, "module:ops.mul.values": 0}
    assert r["notebooks"]["ops"]["status"] == "failed"
    assert "kernel died" in r["notebooks"]["ops"]["message"]
    assert r["notebooks"]["adder"]["status"] == "graded"


@pytest.mark.parametrize("case", ["infinite_loop", "memory_bomb"])
def test_runaway_code_fails_its_test_and_the_notebook_goes_on(corpus, case):
    r = corpus[2][case]
    assert changed(r) == {"adder:test_add": 0}
    assert r["notebooks"]["adder"]["status"] == "graded"


def test_uninterruptible_cell_fails_its_notebook_with_a_reason(corpus):
    r = corpus[2]["ignores_interrupts"]
    assert r["notebooks"]["adder"]["status"] == "failed"
    assert "time limit" in r["notebooks"]["adder"]["message"]
    assert changed(r) == {"adder:test_add": 0, "adder:test_grading_mode": 0}


def test_huge_output_is_cut_in_the_graded_notebook_and_the_feedback(corpus):
    course, _, results = corpus
    assert changed(results["huge_output"]) == {}
    graded = course.autograded_dir / "huge_output" / "assignment1" / "adder.ipynb"
    page = course.feedback_dir / "huge_output" / "assignment1" / "adder.html"
    assert graded.stat().st_size < 1_000_000
    assert page.stat().st_size < 1_000_000


def test_reading_hidden_tests_gradebook_or_master_is_refused(corpus):
    r = corpus[2]["reads_hidden_tests"]
    assert changed(r) == {"adder:test_add": 0}
    notices = " ".join(r["notices"])
    assert "notebook file" in notices and "gradebook.db" in notices
    assert "adder.ipynb" in notices


def test_writing_outside_the_submission_is_refused(corpus):
    course, _, results = corpus
    r = results["writes_outside"]
    assert not (course.root / "PWNED.txt").exists()
    assert changed(r) == {}
    assert "writing outside the submission folder" in " ".join(r["notices"])


def test_monkeypatched_numpy_is_repaired_and_the_notebook_tests_score_zero(corpus):
    r = corpus[2]["monkeypatches_numpy"]
    assert changed(r) == {"adder:test_add": 0, "adder:test_grading_mode": 0}
    assert "numpy.allclose" in r["notebooks"]["adder"]["message"]


def test_official_starter_imports_in_a_module_cost_nothing(corpus):
    # `from past.builtins import xrange` and the rest of the official starter's first lines:
    # the notebook kernel and the module check import them as the student's Jupyter does.
    r = corpus[2]["official_starter_imports"]
    assert changed(r) == {}
    assert {nb["status"] for nb in r["notebooks"].values()} == {"graded"}
