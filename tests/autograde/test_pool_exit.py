"""The end of a batch: its pool's workers exit while grades.csv and the summary are written (the
export does not wait for them), and the batch returns only once they are gone; the summary's
imports are done while a worker is idle (report.warm_up)."""
import subprocess
import sys

import pool_helpers
import pytest
from tinycourse import tiny_settings

from coursekit.autograde import batch, report
from coursekit.autograde.grading_run import GradingRun

EXIT_SECONDS = 3.0


def students(root, **seconds):
    """[(student, folder)] whose sleepy_task takes the given seconds; workers exit slowly."""
    (root / "exit_seconds").write_text(str(EXIT_SECONDS))
    todo = []
    for student, s in seconds.items():
        folder = root / student
        folder.mkdir()
        (folder / "seconds").write_text(str(s))
        todo.append((student, folder))
    return todo


def test_a_finished_pool_exits_in_a_thread_the_caller_joins(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "_pool_task", pool_helpers.sleepy_task)
    shown = batch.Progress(3, show=False)
    warmed = []
    monkeypatch.setattr(batch, "_warm_up_summary", lambda: warmed.append(shown.count))
    todo = students(tmp_path, ann=0.2, bob=2.0, cat=0.2)
    outcomes, exiting = {}, []
    batch._run_pool(GradingRun(output_root=tmp_path / "out"), todo, 2, outcomes, shown, exiting)
    assert sorted(outcomes) == ["ann", "bob", "cat"]
    assert len(exiting) == 1
    assert not list(tmp_path.glob("exited-*"))      # still exiting: the caller goes on
    exiting[0].join(timeout=120)
    assert not exiting[0].is_alive()
    assert len(list(tmp_path.glob("exited-*"))) == 2
    # Warmed up once nothing was left to hand out and a worker was idle: after ann and cat.
    assert warmed and warmed[0] == 2


def test_without_a_list_the_pool_is_waited_for_before_returning(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "_pool_task", pool_helpers.sleepy_task)
    todo = students(tmp_path, ann=0.1)
    outcomes = {}
    batch._run_pool(GradingRun(output_root=tmp_path / "out"), todo, 2, outcomes,
                    batch.Progress(1, show=False))
    assert list(outcomes) == ["ann"]
    assert len(list(tmp_path.glob("exited-*"))) == 1


def test_a_serial_batch_warms_up_when_its_last_student_starts(tmp_path, monkeypatch):
    events = []
    monkeypatch.setattr(batch, "_warm_up_summary", lambda: events.append("warm"))
    monkeypatch.setattr(batch, "_grade_task",
                        lambda student, folder: events.append(student) or
                        (student, 1.0, 1.0, None, 0.0))
    course = GradingRun(output_root=tmp_path / "out")
    batch._run_serial(course, [("ann", tmp_path), ("bob", tmp_path), ("cat", tmp_path)], {},
                      batch.Progress(3, show=False))
    assert events == ["ann", "bob", "warm", "cat"]


def test_warm_up_imports_pyplot_in_a_thread_once():
    code = ("import sys, threading\n"
            "from coursekit.autograde import report\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n"
            "report.warm_up(); report.warm_up()\n"
            "assert len(report._WARMING) == 1\n"
            "report._WARMING[0].join()\n"
            "import matplotlib\n"
            "print('matplotlib.pyplot' in sys.modules, matplotlib.get_backend().lower())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["True", "agg"]


@pytest.mark.slow
def test_the_export_runs_while_the_workers_exit_and_the_batch_waits_for_them(
        tiny_course, tmp_path, monkeypatch):
    course = tiny_settings(tiny_course, output_root=tmp_path / "out")
    monkeypatch.setattr(batch, "_pool_task", pool_helpers.sleepy_task)
    root = tmp_path / "subs"
    root.mkdir()
    todo = students(root, ann=0.2, bob=0.2)
    seen = []
    export = report.export
    monkeypatch.setattr(report, "export",
                        lambda *a, **k: seen.append(len(list(root.glob("exited-*")))) or
                        export(*a, **k))
    outcomes = batch.grade_all(course, todo, jobs=2, progress=False)
    assert sorted(outcomes) == ["ann", "bob"]
    assert seen == [0]                                  # exported before the workers were gone
    assert len(list(root.glob("exited-*"))) == 2        # and returned after
    assert course.grades_csv.exists()
