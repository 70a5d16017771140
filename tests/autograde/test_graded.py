"""Which students a rerun skips (coursekit/autograde/graded.py): a complete result whose
fingerprint is the submission's; the same answer one process after another and in -j
processes (a big class), in the submissions' order."""
import pytest

from coursekit.autograde import graded, pipeline
from coursekit.autograde.grading_run import GradingRun
from coursekit.autograde.result import ERROR, INTERRUPTED, Result


@pytest.fixture
def rerun(tmp_path):
    """A course whose students s0..s8 stand as a rerun finds them; the students to grade."""
    course = GradingRun(output_root=tmp_path / "out")
    submissions = []
    for i in range(9):
        folder = tmp_path / "submitted" / f"s{i}"
        (folder / "cs231n").mkdir(parents=True)
        (folder / "cs231n" / "layers.py").write_text(f"# student {i}\n")
        submissions.append((f"s{i}", folder))

    def result(student, folder, status=None, fingerprint=None):
        done = Result(student, course.assignment,
                      fingerprint=fingerprint or graded.submission_fingerprint(course, folder))
        if status:
            done.status = status
        pipeline.atomic_write_text(course.result_path(student), done.dumps())

    for student, folder in submissions[:4]:
        result(student, folder)                             # graded: skipped
    result(*submissions[4], status=ERROR)                   # its grading failed
    result(*submissions[5], status=INTERRUPTED)             # its regrade was stopped
    result(*submissions[6], fingerprint="0" * 64)           # submitted again since
    (submissions[3][1] / "cs231n" / "layers.py").write_text("# changed after grading\n")
    return course, submissions, ["s3", "s4", "s5", "s6", "s7", "s8"]


def test_a_rerun_grades_the_changed_failed_stopped_and_new_students(rerun):
    course, submissions, expected = rerun
    assert [s for s, _ in graded.pending(course, submissions)] == expected
    assert graded.pending(course, submissions, force=True) == submissions


def test_a_big_class_is_checked_in_processes_with_the_same_answer(rerun, monkeypatch):
    course, submissions, expected = rerun
    calls = []
    check = graded._check_in_processes
    monkeypatch.setattr(graded, "_check_in_processes",
                        lambda *args: calls.append(args[2]) or check(*args))
    monkeypatch.setattr(graded, "PARALLEL_FROM", 4)
    assert [s for s, _ in graded.pending(course, submissions, jobs=2)] == expected
    assert calls == [2]
    # Below PARALLEL_FROM, or with one job, one process checks them all.
    monkeypatch.setattr(graded, "PARALLEL_FROM", 64)
    assert [s for s, _ in graded.pending(course, submissions, jobs=2)] == expected
    assert calls == [2]
