"""One grading run of the tiny course, end to end: scores, JSON, grades.csv, feedback."""
import csv
import json
import subprocess
import sys

import pytest
import tinycourse
from tinycourse import tiny_settings

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
                           "adder:iq1_answer": 0, "adder:iq3_answer": 1, "ops:test_mul": 3,
                           "module:ops.mul.values": 2, "inline:adder.iq2": 1}
    assert ann["manual_pending"] == 1 and ann["max_score"] == 11
    assert outcomes["ann"] == (10.0, 11.0, None)


def test_choice_answer_cell_is_scored_automatically_in_the_gradebook(graded):
    from nbgrader.api import Gradebook

    course, _ = graded
    item = next(i for i in result_of(course, "ann")["items"] if i["id"] == "adder:iq3_answer")
    assert item["kind"] == "inline" and not item["pending"]
    with Gradebook(course.db_url) as gb:
        grade = gb.find_grade("iq3_answer", "adder", "assignment1", "ann")
        assert grade.auto_score == 1 and not grade.needs_manual_grade


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
        ("(max points)", "11", "11"), ("ann", "10", "11"), ("bob", "7", "11")]


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


def test_nbgrader_generate_feedback_with_the_course_config_hides_hidden_tests(graded):
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    from coursekit.autograde.grading_run import load_nbgrader_config

    course, _ = graded
    cfg = load_nbgrader_config(course.config_file)
    cfg.CourseDirectory.feedback_directory = "nbgrader_feedback"
    coursedir = CourseDirectory(config=cfg)
    coursedir.assignment_id, coursedir.student_id = "assignment1", "bob"
    app = GenerateFeedback(coursedir=coursedir, config=cfg)
    app.force = True
    app.start()
    page = (course.root / "nbgrader_feedback" / "bob" / "assignment1" / "adder.html").read_text()
    assert "should be 3" in page
    assert tinycourse.HIDDEN_MARK not in page and tinycourse.HIDDEN_VALUE not in page


def test_rerun_skips_students_already_graded(graded):
    course, _ = graded
    before = course.result_path("ann").read_text()
    assert batch.grade_all(course, batch.find_submissions(course), progress=False) == {}
    assert course.result_path("ann").read_text() == before


def test_manual_scores_from_formgrader_flow_into_grades_csv_and_feedback(graded):
    from coursekit.autograde import report

    course, _ = graded
    tinycourse.set_manual_score(course.db_url, "bob", 1.0)
    try:
        report.export(course, feedback=True)
        rows = {r["student"]: r for r in csv.DictReader(course.grades_csv.open())}
        assert rows["bob"]["adder:iq1_answer"] == "1" and rows["bob"]["total"] == "8"
        assert rows["bob"]["manual_pending"] == "0"
        bob = result_of(course, "bob")
        assert scores(bob)["adder:iq1_answer"] == 1 and bob["manual_pending"] == 0
        page = (course.feedback_dir / "bob" / "assignment1" / "index.html").read_text()
        assert "Score: 8 / 11" in page and "graded by hand" in page
    finally:  # other tests of this module expect the state after autograding
        tinycourse.set_manual_score(course.db_url, "bob", None)
        report.export(course, feedback=True)


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


def test_benchmark_reports_the_time_of_every_stage(tiny_course, tmp_path):
    from coursekit.autograde.benchmark import time_submission

    folder = tinycourse.make_submission(tiny_course, tmp_path / "bench")
    timing = time_submission(folder, course=tiny_settings(tiny_course))
    assert set(timing["stages"]) >= {"collect", "nbgrader", "modules", "inline", "feedback"}
    assert timing["score"] == 10 and timing["max_score"] == 11
    # The module checks' own time beside the notebooks (bubblewrap jail) overlaps the
    # nbgrader stage: the stages on the wall-clock path add up to at most the total.
    from coursekit import jail

    beside = timing["stages"].pop("modules_beside", None)
    assert (beside is not None) == (jail.mode() == "bwrap")
    assert timing["total_seconds"] >= sum(timing["stages"].values()) - 0.5
    assert set(timing["notebooks"]) == set(tinycourse.NOTEBOOKS)
    # nbgrader records each notebook's grades in the gradebook: sessions and commits counted.
    activity = timing["gradebook"]
    assert activity["opened"] >= len(tinycourse.NOTEBOOKS) and activity["commits"] >= 1

