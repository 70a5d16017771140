"""One grading run of the tiny course, end to end: scores, JSON, grades.csv, feedback."""
import csv
import json
import subprocess
import sys

import pytest
import tinycourse
from conftest import tiny_settings

from coursekit.autograde import batch


@pytest.fixture(scope="module")
def graded(tiny_course):
    course = tiny_settings(tiny_course)
    submitted = tiny_course / "submitted"
    tinycourse.make_submission(tiny_course, submitted / "ann" / "assignment1")
    # bob passes the visible test of `add` and fails the hidden one; his inline answer is wrong.
    tinycourse.make_submission(tiny_course, submitted / "bob" / "assignment1",
                               add_body="return int(a + b)", iq2="2")
    outcomes = batch.grade_all(course, batch.find_submissions(course), jobs=1, progress=False)
    return course, outcomes


def result_of(course, student):
    return json.loads(course.result_path(student).read_text())


def scores(result):
    return {i["id"]: i["score"] for i in result["items"]}


def test_correct_submission_gets_every_automatic_point(graded):
    course, outcomes = graded
    ann = result_of(course, "ann")
    assert scores(ann) == {"adder:test_add": 2, "adder:test_grading_mode": 1,
                           "adder:iq1_answer": 0, "ops:test_mul": 3,
                           "module:ops.mul.values": 2, "inline:adder.iq2": 1}
    assert ann["manual_pending"] == 1 and ann["max_score"] == 10
    assert outcomes["ann"] == (9.0, 10.0, None)


def test_hidden_test_failure_and_wrong_inline_answer_cost_their_points(graded):
    bob = scores(result_of(graded[0], "bob"))
    assert bob["adder:test_add"] == 0 and bob["inline:adder.iq2"] == 0
    assert bob["ops:test_mul"] == 3


def test_notebooks_run_in_grading_mode_and_the_guard_checked_every_cell(graded):
    ann = result_of(graded[0], "ann")
    assert scores(ann)["adder:test_grading_mode"] == 1     # NBGRADER_EXECUTION was set
    assert ann["notices"] == [] and all(
        nb["status"] == "graded" for nb in ann["notebooks"].values())


def test_grades_csv_row_per_student(graded):
    course, _ = graded
    rows = list(csv.DictReader(course.grades_csv.open()))
    assert [(r["student"], r["total"], r["max_total"]) for r in rows] == [
        ("ann", "9", "10"), ("bob", "6", "10")]


def test_feedback_shows_visible_test_but_never_hidden_source_or_values(graded):
    course, _ = graded
    folder = course.feedback_dir / "bob" / "assignment1"
    pages = {p.name: p.read_text() for p in folder.glob("*.html")}
    assert set(pages) == {"index.html", "adder.html", "ops.html"}
    everything = "".join(pages.values())
    assert tinycourse.HIDDEN_MARK not in everything
    assert tinycourse.HIDDEN_VALUE not in everything and "242.125" not in everything
    assert "should be 3" in pages["adder.html"]            # the visible test is shown
    assert "a hidden test failed" in pages["adder.html"]
    # ...while the instructor's autograded copy keeps the hidden tests.
    graded_nb = course.autograded_dir / "bob" / "assignment1" / "adder.ipynb"
    assert tinycourse.HIDDEN_MARK in graded_nb.read_text()


def test_rerun_skips_students_already_graded(graded):
    course, _ = graded
    before = course.result_path("ann").read_text()
    assert batch.grade_all(course, batch.find_submissions(course), progress=False) == {}
    assert course.result_path("ann").read_text() == before


def test_kernel_launcher_applies_the_memory_limit():
    code = "bytearray(600 * 2**20)"
    proc = subprocess.run([sys.executable, "-m", "coursekit.autograde.kernel_launch",
                           "--memory-mb", "300", "--", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "MemoryError" in proc.stderr
    ok = subprocess.run([sys.executable, "-m", "coursekit.autograde.kernel_launch",
                         "--memory-mb", "300", "--", sys.executable, "-c", "print(6*7)"],
                        capture_output=True, text=True, timeout=60)
    assert ok.stdout.strip() == "42"
