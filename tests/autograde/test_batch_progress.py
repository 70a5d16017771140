"""What a batch shows while it runs (each student's line as they finish, a bar on a terminal
only) and the data it prepares once before its workers start."""
import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tinycourse
from tinycourse import tiny_settings

from coursekit.autograde import batch, grading_cache, module_checks
from coursekit.grader import models
from coursekit.synthetic import write_synthetic_cifar10

HERE = Path(__file__).parent
LINE = re.compile(r"^(\S+): (\S+) / (\S+)  graded  (\d+\.\d) s  \[(\d+)/(\d+)\]$")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_without_a_terminal_each_student_is_one_line_and_there_is_no_bar():
    out, err, outcomes = io.StringIO(), io.StringIO(), {}
    shown = batch.Progress(2, out=out, err=err)
    shown.done(outcomes, "ann", 7.5, 10.0, None, 12.34)
    assert out.getvalue() == "ann: 7.5 / 10  graded  12.3 s  [1/2]\n"
    shown.done(outcomes, "bob", 0.0, 0.0, "RuntimeError: boom", 1.0)
    shown.close()
    failed = out.getvalue().splitlines()[1]
    assert failed == "bob: grading failed (RuntimeError: boom)  1.0 s  [2/2]"
    assert err.getvalue() == ""
    assert outcomes == {"ann": (7.5, 10.0, None), "bob": (0.0, 0.0, "RuntimeError: boom")}


def test_on_a_terminal_the_bar_is_drawn_below_the_lines():
    out, err, outcomes = io.StringIO(), Terminal(), {}
    shown = batch.Progress(3, out=out, err=err)
    shown.done(outcomes, "ann", 1.0, 2.0, None, 3.0)
    shown.close()
    assert "autograde" in err.getvalue() and "1/3" in err.getvalue()
    assert out.getvalue().splitlines() == ["ann: 1 / 2  graded  3.0 s  [1/3]"]
    # --quiet: the lines, no bar; progress=False (the Python API's tests): nothing.
    quiet, err = io.StringIO(), Terminal()
    shown = batch.Progress(3, bar=False, out=quiet, err=err)
    shown.done({}, "ann", 1.0, 2.0, None, 3.0)
    assert quiet.getvalue() and err.getvalue() == ""
    silent = io.StringIO()
    batch.Progress(3, show=False, out=silent, err=Terminal()).done({}, "ann", 1.0, 2.0, None, 3.0)
    assert silent.getvalue() == ""


def test_each_finish_is_timed_in_order_shown_or_not():
    for show in (True, False):
        finished = []
        shown = batch.Progress(2, show=show, out=io.StringIO(), err=io.StringIO(),
                               finished=finished)
        before = time.monotonic()
        shown.done({}, "ann", 1.0, 2.0, None, 3.0)
        shown.done({}, "bob", 0.0, 0.0, "boom", 1.0)   # a failed student finished too
        assert len(finished) == 2 and before <= finished[0] <= finished[1] <= time.monotonic()
        assert shown.finished is finished


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A fresh synthetic CIFAR-10, with a grading cache of its own (workers inherit it)."""
    monkeypatch.setenv(grading_cache.CACHE_ENV, str(tmp_path / "cache"))
    return write_synthetic_cifar10(tmp_path / "data", num_train=200, num_test=40)


def test_shared_data_is_computed_once_and_only_when_a_grader_will_read_it(data, tmp_path,
                                                                          monkeypatch):
    calls = []
    real = models.model_inputs
    monkeypatch.setattr(models, "model_inputs", lambda root: calls.append(root) or real(root))
    tiny = tmp_path / "tiny"
    (tiny / "source" / "assignment1").mkdir(parents=True)
    course = tiny_settings(tiny, kernel_env={"CS231N_CIFAR10_DIR": data})
    logged = []
    assert not grading_cache.model_cache_dir(data).exists()
    assert module_checks.prepare_shared_data(course, logged.append) is True
    assert grading_cache.model_cache_dir(data).exists()
    assert len(calls) == 1 and any("once for every student" in m for m in logged)
    assert module_checks.prepare_shared_data(course, logged.append) is False  # cached
    assert len(calls) == 1
    # Nothing to prepare for the models without a module grader, nothing at all without data.
    shutil.rmtree(grading_cache.cache_root())
    assert module_checks.prepare_shared_data(course.with_(kernel_env={})) is False
    assert not grading_cache.cache_root().exists()
    assert module_checks.prepare_shared_data(course.with_(module_grader=None)) is True
    assert not grading_cache.model_cache_dir(data).exists() and len(calls) == 1
    assert grading_cache.notebook_cache_dir().exists()


@pytest.mark.slow
def test_two_workers_find_the_features_computed_once_before_they_start(tiny_course, data,
                                                                       tmp_path, monkeypatch):
    from shared_data_grader import features_grader

    feature_log = tmp_path / "features.log"
    monkeypatch.setenv("FEATURE_LOG", str(feature_log))
    computed = []
    real = models.model_inputs
    monkeypatch.setattr(models, "model_inputs",
                        lambda root: computed.append(os.getpid()) or real(root))
    submitted = tmp_path / "submitted"
    for student in ("ann", "bob", "cat"):
        tinycourse.make_submission(tiny_course, submitted / student / "assignment1")
    course = tiny_settings(tiny_course, output_root=tmp_path / "out",
                           kernel_env={"CS231N_CIFAR10_DIR": data})
    course = course.with_(module_grader=features_grader)
    logged = []
    finished, began = [], time.monotonic()
    outcomes = batch.grade_all(course, batch.find_submissions(course, submitted), jobs=2,
                               progress=False, log=logged.append, finished=finished)
    assert {s: o[2] for s, o in outcomes.items()} == {"ann": None, "bob": None, "cat": None}
    # The time each student finished, for the bench's steady state (benchmark.steady_seconds).
    assert len(finished) == 3 and began < finished[0] <= finished[1] <= finished[2]
    # Once, in this (the batch's main) process; every worker, the first two starting together,
    # read the cache.
    assert computed == [os.getpid()]
    states = feature_log.read_text().split()[1::2]
    assert states == ["hit"] * 3
    assert sum("once for every student" in m for m in logged) == 1


@pytest.mark.slow
def test_each_students_line_comes_as_they_finish_in_a_log(tiny_course, tmp_path):
    """`coursekit autograde --all` with stdout and stderr going to files (no terminal): each
    student's line is written while the batch still runs, and no bar."""
    submitted = tmp_path / "submitted"
    names = ("ann", "bob", "cat")
    for student in names:
        tinycourse.make_submission(tiny_course, submitted / student / "assignment1")
    cmd = [sys.executable, "-m", "coursekit", "autograde", "--all",
           "--course-root", str(tiny_course), "--output-root", str(tmp_path / "out"),
           "--submitted", str(submitted), "--module-grader", "tinycourse:fake_module_grader",
           "--inline-grader", "tinycourse:fake_inline_grader"]
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    out_path, err_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
        first_seen_running = False
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            if any(LINE.match(line) for line in out_path.read_text().splitlines()):
                first_seen_running = proc.poll() is None
                break
            time.sleep(0.05)
        proc.wait(timeout=300)
    assert proc.returncode == 0, out_path.read_text() + err_path.read_text()
    assert first_seen_running, "the first student's line came only when the batch ended"
    lines = [m.groups() for m in map(LINE.match, out_path.read_text().splitlines()) if m]
    assert sorted(g[0] for g in lines) == list(names)
    assert [(g[4], g[5]) for g in lines] == [("1", "3"), ("2", "3"), ("3", "3")]
    assert all(float(g[2]) > 0 for g in lines)
    stderr = err_path.read_text()
    assert "it/s" not in stderr and "student/s" not in stderr and "\r" not in stderr
