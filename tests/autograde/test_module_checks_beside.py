"""The module checks beside the notebooks (module_checks.beside): a forked process of their own
in the bubblewrap jail, in the grading process otherwise; the same outcome either way, and
nothing of theirs outlives the block."""
import os
import signal
import subprocess
import sys
import time

import pytest

from coursekit.autograde import module_checks
from coursekit.autograde.grading_run import GradingRun
from coursekit.grader.results import CheckResult, GradeResult


def _passing(pid_file):
    def grader(submission, cifar_dir=None):
        pid_file.write_text(str(os.getpid()))
        return GradeResult(submission, [
            CheckResult("layers.relu_x", "relu_forward", 2.0, 2.0, "passed", "", 0.1, {}),
            CheckResult("layers.relu_y", "relu_backward", 0.5, 2.0, "partial", "off by 1e-3",
                        0.1, {})], notes=[f"cifar: {cifar_dir}"])
    return grader


def _course(tmp_path, grader):
    return GradingRun(root=tmp_path, module_grader=grader, inline_grader=None)


def _outcome(course, tmp_path):
    with module_checks.beside(course, tmp_path / "s", cifar_dir="/data/c10") as checks:
        forked = checks.pid
        return checks.result(), forked, checks.seconds


@pytest.fixture
def bwrap(monkeypatch):
    """The jail mode the grading process sees; beside() forks only under bubblewrap."""
    monkeypatch.setenv("COURSEKIT_JAIL", "bwrap")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie no one reaped yet is gone too
        return stat.read().split(") ")[-1][0] != "Z"


def test_in_the_jail_they_run_in_a_child_with_the_outcome_of_running_them_here(
        tmp_path, bwrap):
    pid_file = tmp_path / "pid"
    course = _course(tmp_path, _passing(pid_file))
    (items, notices, notes), forked, seconds = _outcome(course, tmp_path)
    assert forked is not None and int(pid_file.read_text()) == forked != os.getpid()
    assert seconds is not None and seconds >= 0
    here = module_checks.run_module_checks(course, tmp_path / "s", cifar_dir="/data/c10")
    assert int(pid_file.read_text()) == os.getpid()
    assert [(i.id, i.column, i.score, i.max_score, i.message, i.status) for i in items] == [
        (i.id, i.column, i.score, i.max_score, i.message, i.status) for i in here[0]]
    assert [i.id for i in items] == ["module:layers.relu_x", "module:layers.relu_y"]
    assert (notices, notes) == (here[1], here[2]) == ([], ["cifar: /data/c10"])


@pytest.mark.parametrize("jail", ["uid", "none"])
def test_outside_bubblewrap_they_run_in_the_grading_process_when_asked(
        tmp_path, monkeypatch, jail):
    # A uid-fallback kernel's clean-up ends every process of its host user, the module
    # worker's too: there they wait for the notebooks.
    monkeypatch.setenv("COURSEKIT_JAIL", jail)
    pid_file = tmp_path / "pid"
    (items, _, _), forked, seconds = _outcome(_course(tmp_path, _passing(pid_file)), tmp_path)
    assert forked is None and seconds is None and len(items) == 2
    assert int(pid_file.read_text()) == os.getpid()


def test_the_switch_keeps_them_in_the_grading_process(tmp_path, bwrap):
    pid_file = tmp_path / "pid"
    course = _course(tmp_path, _passing(pid_file)).with_(modules_beside=False)
    (items, _, _), forked, _ = _outcome(course, tmp_path)
    assert forked is None and int(pid_file.read_text()) == os.getpid() and len(items) == 2


def test_a_grader_that_raises_in_the_child_is_a_notice(tmp_path, bwrap):
    def grader(submission, cifar_dir=None):
        raise SystemExit(3)

    (items, notices, _), forked, _ = _outcome(_course(tmp_path, grader), tmp_path)
    assert forked is not None and items == []
    assert "module checks failed to run (SystemExit" in notices[0]
    assert "report it to the instructor" in notices[0]


def test_a_child_that_dies_is_a_notice_and_the_grading_goes_on(tmp_path, bwrap):
    def grader(submission, cifar_dir=None):
        os.kill(os.getpid(), signal.SIGKILL)

    (items, notices, _), _, _ = _outcome(_course(tmp_path, grader), tmp_path)
    assert items == [] and "ended without a result, killed by signal 9" in notices[0]


def test_a_result_larger_than_a_pipe_comes_back_whole(tmp_path, bwrap):
    message = "x" * 5000

    def grader(submission, cifar_dir=None):
        return GradeResult(submission, [
            CheckResult(f"layers.c{k}", "affine_forward", 1.0, 1.0, "passed", message, 0.1, {})
            for k in range(100)])

    (items, notices, _), _, _ = _outcome(_course(tmp_path, grader), tmp_path)
    assert notices == [] and len(items) == 100 and all(i.message == message for i in items)


def test_leaving_the_block_early_ends_the_child_and_what_it_started(tmp_path, bwrap):
    started = tmp_path / "grandchild"

    def grader(submission, cifar_dir=None):
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        started.write_text(str(proc.pid))
        time.sleep(120)

    begin = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with module_checks.beside(_course(tmp_path, grader), tmp_path / "s") as checks:
            child = checks.pid
            while not started.exists() or not started.read_text():
                assert time.monotonic() - begin < 30, "the grader's child never started"
                time.sleep(0.05)
            raise KeyboardInterrupt  # Ctrl-C while the notebooks run
    grandchild = int(started.read_text())
    assert time.monotonic() - begin < 30
    assert not _alive(child)
    deadline = time.monotonic() + 10
    while _alive(grandchild) and time.monotonic() < deadline:  # reaped by init, not us
        time.sleep(0.05)
    assert not _alive(grandchild)
