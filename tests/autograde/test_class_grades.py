"""The gradebook read for a whole class at once (gradebook.class_grades).

An export refreshes every student's result from the gradebook; reading nbgrader's objects
student by student took some seventy queries a student. class_grades reads the class in a
fixed number of queries. Checked here against a plain reading through nbgrader's own objects
(the reference below), on a class whose rows differ in every way an export meets: automatic and
manual scores, extra credit, automatic and manual comments, a notebook missing, a student with
no submission.
"""
import shutil

import pytest
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import event
from tinycourse import tiny_settings

from coursekit.autograde import benchmark, gradebook, report
from coursekit.autograde.result import Item, Result

# nbgrader's own autoflush notices while fill_class makes submissions (pipeline.py silences them)
pytestmark = pytest.mark.filterwarnings("ignore:.*not in session")


def course_copy(course_root, tmp_path):
    shutil.copyfile(course_root / "gradebook.db", tmp_path / "course.db")
    return tiny_settings(course_root, output_root=tmp_path / "out",
                         db_url=f"sqlite:///{tmp_path / 'course.db'}?timeout=60")


def reference(course, student, inline_cells=()):
    """(notebook grades, comments) of `student` read through nbgrader's objects, one notebook
    after another (as the export read them before class_grades): independent of it."""
    return benchmark.grades_through_objects(course, student, inline_cells)


def fill_class(course, students):
    """Submissions of `students` whose rows differ: scores, manual scores and extra credit,
    comments of either kind, ops missing for every third student; "nobody" is a student
    without a submission."""
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_student("nobody")
        for i, student in enumerate(students):
            gb.update_or_create_student(student)
            gb.update_or_create_submission(course.assignment, student)
            test = gb.find_grade("test_add", "adder", course.assignment, student)
            test.auto_score, test.needs_manual_grade = float(i % 3), False
            if i % 4 == 1:
                test.manual_score, test.extra_credit = 2.5, 0.5
            answer = gb.find_grade("iq1_answer", "adder", course.assignment, student)
            answer.needs_manual_grade = i % 2 == 0
            if i % 2:
                answer.manual_score = 1.0
            comment = gb.find_comment("add_solution", "adder", course.assignment, student)
            comment.auto_comment = "No response." if i % 3 == 0 else None
            if i % 5 == 2:
                comment.manual_comment = f"  see me, {student}  "
            if i % 3 == 2:
                ops = gb.find_submission_notebook("ops", course.assignment, student)
                for row in list(ops.grades) + list(ops.comments):
                    gb.db.delete(row)
                gb.db.delete(ops)
        gb.db.commit()


@pytest.fixture()
def course(tiny_course, tmp_path):
    return course_copy(tiny_course, tmp_path)


def count_queries(course):
    """A list that gets one entry per SQL statement the gradebook's engines run meanwhile."""
    from sqlalchemy.engine import Engine

    seen = []

    def counted(*_args):
        seen.append(1)

    event.listen(Engine, "before_cursor_execute", counted)
    return seen, lambda: event.remove(Engine, "before_cursor_execute", counted)


def test_every_student_reads_as_through_nbgraders_objects(course):
    students = [f"s{i:02d}" for i in range(12)]
    fill_class(course, students)
    everyone = gradebook.class_grades(course)
    assert sorted(everyone) == students      # "nobody" has no submission
    for student in students:
        for inline in ((), ("iq3_answer",), ("iq1_answer", "iq3_answer")):
            grades, comments = reference(course, student, inline)
            assert everyone[student].notebook_grades(inline) == grades, (student, inline)
            assert gradebook.notebook_grades(course, student, inline) == grades
        assert everyone[student].comments == comments
        assert gradebook.cell_comments(course, student) == comments
    # the class differs where it was made to: not every student reads the same
    assert len({str(everyone[s].notebook_grades()) for s in students}) > 3
    assert any("ops" not in everyone[s].notebooks for s in students)
    assert any(everyone[s].comments for s in students)


def test_a_student_without_a_submission_has_no_grades_and_no_comments(course):
    fill_class(course, ["ann"])
    assert gradebook.notebook_grades(course, "nobody") == {}
    assert gradebook.cell_comments(course, "nobody") == {}
    assert gradebook.notebook_grades(course, "never-seen") == {}
    assert gradebook.class_grades(course, ["nobody", "never-seen"]) == {}
    assert list(gradebook.class_grades(course, ["ann", "nobody"])) == ["ann"]


def test_an_assignment_the_gradebook_does_not_know_is_missing_entry(course):
    with pytest.raises(MissingEntry):
        gradebook.class_grades(course.with_(assignment="assignment9"))


def test_the_queries_do_not_grow_with_the_class(course):
    fill_class(course, [f"s{i:02d}" for i in range(30)])
    counts = {}
    for size in (2, 30):
        seen, stop = count_queries(course)
        try:
            grades = gradebook.class_grades(course, [f"s{i:02d}" for i in range(size)])
        finally:
            stop()
        assert len(grades) == size
        counts[size] = len(seen)
    assert counts[30] == counts[2], counts


def test_the_export_refreshes_each_result_from_one_reading_of_the_class(course, monkeypatch):
    """The export's results take the gradebook's scores and comments (a manual score entered
    after grading), and the gradebook is read once for the whole class."""
    students = ["ann", "bob", "cat"]
    fill_class(course, students)
    course.autograded_dir.mkdir(parents=True)
    for student in students:
        items = [Item("adder:test_add", "test", 0.0, 3.0), Item("adder:iq1_answer", "manual",
                                                                  0.0, 1.0)]
        path = course.result_path(student)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Result(student, course.assignment, items=items,
                               notebooks={"adder": {}, "ops": {}}).dumps())
    reads = []
    real = gradebook.class_grades
    monkeypatch.setattr(gradebook, "class_grades",
                        lambda *a, **k: reads.append(a) or real(*a, **k))
    results = report.export(course)
    assert len(reads) == 1
    for student in students:
        grades, comments = reference(course, student)
        scores = {g["name"]: g["score"] for g in grades["adder"]}
        items = {i.id: i for i in results[student].items}
        assert items["adder:test_add"].score == scores["test_add"]
        assert items["adder:iq1_answer"].score == scores["iq1_answer"]
        on_items = {i.id: i.comment for i in results[student].items if i.comment}
        assert on_items == {k: v for k, v in comments.items() if k in items}
    assert items["adder:test_add"].score == 2.0      # cat: auto score 2, no manual score
