"""The gradebook written once per student (coursekit/autograde/student_gradebook.py).

Fast: the template, the copy of a student's rows in and out, what a failure or a formgrader
edit during the grading leaves in the course's gradebook. Slow (make test-autograde): the tiny
course graded through a gradebook per student and straight into the course's gradebook gives
the same rows, the same results and feedback, with one write to the course's gradebook.
"""
import shutil

import pytest
import tinycourse
from nbgrader.api import Gradebook
from sqlalchemy import text
from tinycourse import tiny_settings

from coursekit.autograde import benchmark, gradebook, pipeline, student_gradebook

COMMENT = "Nice use of the identity; see me about the edge case."


def copied(course_root, tmp_path, name, **changes):
    """Settings of the tiny course with its own copy of the course's gradebook (the assignment
    recorded by build_course) and an output root of its own."""
    shutil.copyfile(course_root / "gradebook.db", tmp_path / f"{name}.db")
    return tiny_settings(course_root, output_root=tmp_path / name,
                         db_url=f"sqlite:///{tmp_path / name}.db?timeout=60", **changes)


def graded_by_hand(run, student):
    """`student` with a submission whose free-text answer was scored and whose `add` was
    commented in formgrader, and an automatic score from an earlier grading."""
    with Gradebook(run.db_url) as gb:
        gb.update_or_create_student(student, first_name="Cat", email="cat@example.org")
        gb.update_or_create_submission(run.assignment, student)
        grade = gb.find_grade("test_add", "adder", run.assignment, student)
        grade.auto_score, grade.needs_manual_grade = 2.0, False
        gb.find_comment("add_solution", "adder", run.assignment, student).manual_comment = COMMENT
        gb.db.commit()
    tinycourse.set_manual_score(run.db_url, student, 1.0)


def rows(run, student):
    return gradebook.student_rows(run, student, gradebook.ALL_FIELDS)


def grade_cell(rows_, notebook, cell):
    return rows_["notebooks"][notebook]["grades"][cell]


# --- fast: no kernel --------------------------------------------------------------------------

def test_the_template_keeps_the_assignment_and_drops_every_student(tiny_course, tmp_path):
    run = copied(tiny_course, tmp_path, "course")
    graded_by_hand(run, "cat")
    student_gradebook.make_template(run.sqlite_path, tmp_path / "template.db")
    template = run.with_(db_url=f"sqlite:///{tmp_path / 'template.db'}")
    with Gradebook(template.db_url) as gb:
        assert gb.students == []
        cells = {nb.name: sorted(c.name for c in nb.grade_cells)
                 for nb in gb.find_assignment(run.assignment).notebooks}
    assert cells == {"adder": ["iq1_answer", "iq3_answer", "test_add", "test_grading_mode"],
                     "ops": ["test_mul"]}
    assert rows(run, "cat")["student"]["first_name"] == "Cat"    # the course's is untouched


def test_a_due_date_moved_during_a_batch_reaches_the_next_students_gradebook(tiny_course,
                                                                             tmp_path):
    """The template is made once per process; a due date the instructor moves meanwhile (late
    penalties depend on it) is in the gradebook of every student graded after the move."""
    import datetime

    run = copied(tiny_course, tmp_path, "course")
    scratch = tmp_path / "scratch"
    due = {}
    for student, when in (("ann", datetime.datetime(2026, 12, 1, 9)), ("bob", None),
                          ("cat", datetime.datetime(2026, 12, 8, 9))):
        if when is not None:
            with Gradebook(run.db_url) as gb:
                gb.update_or_create_assignment(run.assignment, duedate=when)
        with student_gradebook.private(run, student, scratch) as grading, \
                Gradebook(grading.course.db_url) as gb:
            due[student] = gb.find_assignment(run.assignment).duedate
    assert due == {"ann": datetime.datetime(2026, 12, 1, 9),
                   "bob": datetime.datetime(2026, 12, 1, 9),
                   "cat": datetime.datetime(2026, 12, 8, 9)}
    templates = list((scratch / "gradebooks").glob("template-*.db"))
    assert len(templates) == 2          # made again for the move only, not for every student


def test_the_students_gradebook_starts_with_their_rows_manual_ones_included(tiny_course,
                                                                            tmp_path):
    run = copied(tiny_course, tmp_path, "course")
    graded_by_hand(run, "cat")
    with student_gradebook.private(run, "cat", tmp_path / "scratch") as grading:
        assert grading.course.sqlite_path != run.sqlite_path
        assert str(run.sqlite_path) in grading.course.private_paths     # kernels may not read it
        assert rows(grading.course, "cat") == rows(run, "cat")
        comments = gradebook.cell_comments(grading.course, "cat")
        assert comments["adder:add_solution"] == COMMENT
    assert not list((tmp_path / "scratch" / "gradebooks").glob("cat*"))


def test_the_write_back_is_one_session_and_one_commit_for_a_new_student(tiny_course, tmp_path):
    run = copied(tiny_course, tmp_path, "course")
    with student_gradebook.private(run, "dan", tmp_path / "scratch") as grading:
        with Gradebook(grading.course.db_url) as gb:  # what grading writes, in the private file
            gb.update_or_create_student("dan")
            gb.update_or_create_submission(run.assignment, "dan")
            gb.find_grade("test_mul", "ops", run.assignment, "dan").auto_score = 3.0
            gb.find_comment("add_solution", "adder", run.assignment,
                            "dan").auto_comment = "No response."
            gb.db.commit()
        assert rows(run, "dan") == {}       # nothing in the course's gradebook until the end
        with benchmark.gradebook_activity(run.db_url) as seen:
            grading.write_back()
    # nbgrader's Gradebook commits once as it opens (a read): the rows go in one commit.
    assert (seen["opened"], seen["commits"], seen["writes"]) == (1, 2, 1)
    written = rows(run, "dan")
    assert grade_cell(written, "ops", "test_mul")["auto_score"] == 3.0
    assert written["notebooks"]["adder"]["comments"]["add_solution"]["auto_comment"] == \
        "No response."


def test_formgrader_edits_made_while_the_student_is_graded_are_kept(tiny_course, tmp_path):
    run = copied(tiny_course, tmp_path, "course")
    graded_by_hand(run, "cat")
    with student_gradebook.private(run, "cat", tmp_path / "scratch") as grading:
        with Gradebook(grading.course.db_url) as gb:
            gb.find_grade("test_add", "adder", run.assignment, "cat").auto_score = 0.0
            gb.db.commit()
        with Gradebook(run.db_url) as gb:   # a grader in formgrader, meanwhile
            gb.find_grade("iq1_answer", "adder", run.assignment, "cat").manual_score = 0.5
            gb.find_grade("test_add", "adder", run.assignment, "cat").extra_credit = 1.0
            gb.find_comment("add_solution", "adder", run.assignment,
                            "cat").manual_comment = "changed my mind"
            gb.db.commit()
        grading.write_back()
    after = rows(run, "cat")
    assert grade_cell(after, "adder", "test_add")["auto_score"] == 0.0      # the grading's
    assert grade_cell(after, "adder", "test_add")["extra_credit"] == 1.0    # the grader's
    assert grade_cell(after, "adder", "iq1_answer")["manual_score"] == 0.5
    assert after["notebooks"]["adder"]["comments"]["add_solution"]["manual_comment"] == \
        "changed my mind"
    assert after["student"]["email"] == "cat@example.org"


def test_a_grading_that_fails_leaves_the_course_gradebook_as_it_was(tiny_course, tmp_path):
    run = copied(tiny_course, tmp_path, "course")
    graded_by_hand(run, "cat")
    before = rows(run, "cat")
    with pytest.raises(KeyboardInterrupt):
        with student_gradebook.private(run, "cat", tmp_path / "scratch") as grading:
            with Gradebook(grading.course.db_url) as gb:
                gb.find_grade("test_add", "adder", run.assignment, "cat").auto_score = 0.0
                gb.db.commit()
            raise KeyboardInterrupt
    assert rows(run, "cat") == before
    assert not list((tmp_path / "scratch" / "gradebooks").glob("cat*"))


def test_rows_the_course_gradebook_cannot_hold_are_refused_whole(tiny_course, tmp_path):
    run = copied(tiny_course, tmp_path, "course")
    graded_by_hand(run, "cat")
    before = rows(run, "cat")
    changed = gradebook.student_rows(run, "cat")
    changed["notebooks"]["adder"]["grades"]["test_add"]["auto_score"] = 0.0
    changed["notebooks"]["ops"]["grades"]["test_renamed"] = {"auto_score": 1.0}
    with pytest.raises(gradebook.GradebookError, match="test_renamed"):
        gradebook.merge_student_rows(run, "cat", changed)
    assert rows(run, "cat") == before       # not even the cells it knows


def test_only_the_students_gradebook_is_written_without_fsync(tiny_course, tmp_path):
    run = copied(tiny_course, tmp_path, "course")

    def synchronous(db_url):
        with Gradebook(db_url) as gb:
            return gb.db.execute(text("PRAGMA synchronous")).scalar()

    with student_gradebook.private(run, "dan", tmp_path / "scratch") as grading:
        assert synchronous(grading.course.db_url) == 0          # OFF
        assert synchronous(run.db_url) == 2                     # FULL, SQLite's default


def test_students_gradebooks_share_one_engine_that_reaches_only_the_one_being_graded(
        tiny_course, tmp_path):
    """nbgrader makes an engine per Gradebook; the students' gradebooks of a process share one
    (compiled statements kept across students), which opens the current student's file at
    each checkout: a session left from one student never reaches the next one's rows."""
    run = copied(tiny_course, tmp_path, "course")
    scratch = tmp_path / "scratch"
    with student_gradebook.private(run, "ann", scratch) as grading:
        with Gradebook(grading.course.db_url) as gb, Gradebook(run.db_url) as course_gb:
            engine = gb.engine
            assert course_gb.engine is not engine               # the course's: its own engine
            gb.update_or_create_student("ann", first_name="Ann")
            gb.db.commit()
        left_open = Gradebook(grading.course.db_url)
    with student_gradebook.private(run, "bob", scratch) as grading:
        with Gradebook(grading.course.db_url) as gb:
            assert gb.engine is engine
            assert gb.students == []                 # ann's row stayed in her file
    with pytest.raises(Exception, match="no student's gradebook is being graded"):
        left_open.db.execute(text("SELECT 1"))
    assert rows(run, "ann") == {}                               # nothing written back for ann
    left_open.close()


def test_switched_off_or_not_sqlite_grades_straight_into_the_course_gradebook(tiny_course,
                                                                             tmp_path):
    for run in (copied(tiny_course, tmp_path, "off", private_gradebook=False),
                tiny_settings(tiny_course, db_url="postgresql://grader@dbhost/cs231n")):
        with student_gradebook.private(run, "dan", tmp_path / "scratch") as grading:
            assert grading.course is run
            grading.write_back()    # nothing to write: no database is opened


# --- slow: the tiny course graded both ways ---------------------------------------------------

@pytest.fixture(scope="module")
def both_ways(tiny_course, tmp_path_factory):
    """cat (graded by hand before, as above) and dan (new) graded straight into one copy of
    the course's gradebook and through a gradebook per student into another; the course's
    gradebook activity of each grading counted."""
    tmp = tmp_path_factory.mktemp("both")
    for student, kwargs in (("cat", {"add_body": "return int(a + b)"}), ("dan", {})):
        tinycourse.make_submission(tiny_course, tmp / "submitted" / student, **kwargs)
    out = {}
    for way, private in (("old", False), ("new", True)):
        run = copied(tiny_course, tmp, way, private_gradebook=private)
        graded_by_hand(run, "cat")
        out[way] = {"run": run}
        for student in ("cat", "dan"):
            with benchmark.gradebook_activity(run.db_url) as seen:
                result = pipeline.grade_submission(run, student, tmp / "submitted" / student)
            out[way][student] = {"result": result, "activity": seen}
    return out


@pytest.mark.slow
def test_the_course_gradebook_holds_the_same_rows_either_way(both_ways):
    old, new = both_ways["old"], both_ways["new"]
    for student in ("cat", "dan"):
        assert rows(new["run"], student) == rows(old["run"], student)
    cat = rows(new["run"], "cat")
    assert grade_cell(cat, "adder", "iq1_answer")["manual_score"] == 1.0     # kept
    assert grade_cell(cat, "adder", "test_add")["auto_score"] == 0.0         # regraded
    assert grade_cell(rows(new["run"], "dan"), "adder", "test_add")["auto_score"] == 2.0


@pytest.mark.slow
def test_results_and_feedback_show_the_manual_grading_either_way(both_ways):
    for way in ("old", "new"):
        result = both_ways[way]["cat"]["result"]
        item = next(i for i in result.items if i.id == "adder:iq1_answer")
        assert (item.score, item.message) == (1.0, "graded by hand")
        page = (both_ways[way]["run"].feedback_dir / "cat" / "assignment1" / "adder.html")
        assert "Nice use of the identity" in page.read_text()
    same = [(i.id, i.score, i.message, i.comment) for i in both_ways["new"]["cat"]["result"].items]
    assert same == [(i.id, i.score, i.message, i.comment)
                    for i in both_ways["old"]["cat"]["result"].items]


@pytest.mark.slow
def test_one_session_and_one_commit_write_a_student_to_the_course_gradebook(both_ways):
    for student in ("cat", "dan"):
        new = both_ways["new"][student]["activity"]
        old = both_ways["old"][student]["activity"]
        # One session reads the student's rows in, one writes them back with one commit.
        assert (new["opened"], new["writes"]) == (2, 1)
        # Straight into it: a session per step and per notebook, a commit per cell scored.
        assert old["opened"] > 10 and old["writes"] > 2


@pytest.mark.slow
def test_a_grading_stopped_half_way_leaves_the_course_gradebook_as_it_was(tiny_course, tmp_path,
                                                                          monkeypatch):
    run = copied(tiny_course, tmp_path, "course")
    graded_by_hand(run, "cat")
    before = rows(run, "cat")
    tinycourse.make_submission(tiny_course, tmp_path / "cat", add_body="return int(a + b)")

    def stopped(*args, **kwargs):   # Ctrl-C after nbgrader and the inline step wrote grades
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline.feedback, "write_feedback", stopped)
    with pytest.raises(KeyboardInterrupt):
        pipeline.grade_submission(run, "cat", tmp_path / "cat")
    assert rows(run, "cat") == before
