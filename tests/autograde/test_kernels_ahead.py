"""A student's next kernel started while the notebook before it runs, and one judge per student
(coursekit/autograde/kernels_ahead.py)."""
import json
import time

import psutil
import pytest
import tinycourse
from nbformat.v4 import new_code_cell, new_notebook
from tinycourse import tiny_settings

from coursekit import jail
from coursekit.autograde import kernels_ahead, nbgrade, pipeline
from coursekit.autograde.grading_run import GradingRun

needs_bwrap = pytest.mark.skipif(
    jail.mode() != "bwrap", reason="kernels start ahead only in the bubblewrap jail, and bwrap "
    "(Debian's bubblewrap) cannot run here")

# What a kernel sees of its jail, its own socket folder written <kernel>: the mounts, its user,
# its working folder and what is in it.
PROBE = """
import json, os, sys, time
folder = os.path.dirname(sys.argv[sys.argv.index('-f') + 1])
mounts = sorted(line.split()[4].replace(folder, '<kernel>')
                for line in open('/proc/self/mountinfo'))
print(json.dumps({'mounts': mounts, 'uid': os.getuid(), 'cwd': os.getcwd(),
                  'files': sorted(os.listdir('.')),
                  'env': {k: v.replace(folder, '<kernel>') for k, v in os.environ.items()}}))
time.sleep(SLEEP)
"""


def _kernel_view(nb):
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.output_type == "stream")
    errors = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    assert not errors, errors
    return json.loads(text.strip().splitlines()[0])


def _run(course, stage, staged, name, logs, sleep, startup_timeout=60):
    """One notebook of one probe cell, as autograde_notebook runs it (its guard, its name)."""
    nbgrade.KernelSettings.guard = nbgrade.guard_settings(course, stage, logs[name])
    nbgrade.KernelSettings.notebook = name
    nb = new_notebook(cells=[new_code_cell(PROBE.replace("SLEEP", str(sleep)))],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    executor = nbgrade.GuardedExecute(timeout=60, kernel_name="python3",
                                      startup_timeout=startup_timeout)
    nb, _ = executor.preprocess(nb, {"metadata": {"path": str(staged)}})
    return _kernel_view(nb)


def _one_student(course, tmp_path, monkeypatch):
    """A student's stage as the pipeline makes it: (stage, staged copy, guard logs)."""
    nbgrade.prepare_scratch(course, folder=tmp_path / "scratch")
    nbgrade.begin_submission(course)
    stage = tmp_path / "stage"
    staged = stage / "submitted" / "ann" / "assignment1"
    staged.mkdir(parents=True)
    (staged / "answer.py").write_text("x = 1\n")
    monkeypatch.setattr(nbgrade.KernelSettings, "submitted", str(staged))
    return stage, staged, {"first": stage / "guard-first.log",
                           "second": stage / "guard-second.log"}


@needs_bwrap
def test_the_kernel_started_ahead_is_the_one_used_and_sees_the_same_jail(tmp_path,
                                                                         monkeypatch):
    """The second notebook's kernel starts while the first runs (in one call of the event loop)
    and is adopted by nbclient in another: the manager works across both. It sees what a
    kernel started for it at its own start sees, and writes its own guard log."""
    course = GradingRun()
    stage, staged, logs = _one_student(course, tmp_path, monkeypatch)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with kernels_ahead.student_kernels(course, stage, logs) as session:
        _run(course, stage, staged, "first", logs, sleep=0)
        waiting = session.ahead["second"]
        pid = waiting.provisioner.process.pid
        assert psutil.pid_exists(pid)
        ahead = _run(course, stage, staged, "second", logs, sleep=0)
    assert [(u.notebook, u.ahead) for u in session.used] == [("first", False), ("second", True)]
    assert session.used[1].pid == pid and not psutil.pid_exists(pid)
    # The same notebook with its kernel started when it starts.
    monkeypatch.setattr(nbgrade.KernelSettings, "start_ahead", False)
    with kernels_ahead.student_kernels(course, stage, {"second": logs["second"]}) as session:
        fresh = _run(course, stage, staged, "second", logs, sleep=0)
    assert session.used[0].ahead is False
    assert ahead == fresh and "answer.py" in ahead["files"]
    assert "<kernel>" in " ".join(ahead["mounts"])
    first_log = logs["first"].read_text().splitlines()
    second_log = logs["second"].read_text().splitlines()
    assert first_log == ["ok cell 1"] and second_log == ["ok cell 1", "ok cell 1"]
    assert list((tmp_path / "scratch" / "ipc").iterdir()) == []
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


@needs_bwrap
def test_the_first_notebooks_kernel_starts_with_the_student_and_sees_what_its_own_would(
        tmp_path, monkeypatch):
    """Started when the student's grading starts (before nbgrader's autograding pass sets
    NBGRADER_EXECUTION), the first notebook's kernel gets what one started by that pass gets:
    the same jail, files, user and environment."""
    from nbgrader.utils import setenv

    course = GradingRun()
    stage, staged, logs = _one_student(course, tmp_path, monkeypatch)
    # Started ahead in a jail of its own (test_zygote.py: forked by the student's zygote).
    monkeypatch.setattr(nbgrade.KernelSettings, "zygote", False)
    with kernels_ahead.student_kernels(course, stage, logs, student="ann") as session:
        assert set(session.ahead) == {"first"} and session._judge is not None
        ahead = _run(course, stage, staged, "first", logs, sleep=0)
    assert session.used[0].notebook == "first" and session.used[0].ahead is True
    monkeypatch.setattr(nbgrade.KernelSettings, "start_ahead", False)
    with kernels_ahead.student_kernels(course, stage, logs, student="ann") as session, \
            setenv(NBGRADER_EXECUTION="autograde"):  # as nbgrader's autograding pass runs it
        assert session.ahead == {}
        fresh = _run(course, stage, staged, "first", logs, sleep=0)
    assert session.used[0].ahead is False
    assert ahead == fresh and ahead["env"]["NBGRADER_EXECUTION"] == "autograde"
    assert "answer.py" in ahead["files"]
    assert list((tmp_path / "scratch" / "ipc").iterdir()) == []


def _stop_the_kernel_inside(km):
    """SIGSTOP the kernel's interpreter inside its jail: bwrap lives on, the kernel never
    answers."""
    import signal

    jail_process = psutil.Process(km.provisioner.process.pid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        kernels = [p for p in jail_process.children(recursive=True)
                   if "ipykernel" in " ".join(p.cmdline())]
        if kernels:
            for kernel in kernels:
                kernel.send_signal(signal.SIGSTOP)
            return
        time.sleep(0.05)
    raise AssertionError("the kernel started ahead never ran ipykernel")


@needs_bwrap
@pytest.mark.parametrize("fate", [
    "died", pytest.param("hangs", marks=pytest.mark.slow)])
def test_a_kernel_started_ahead_that_died_or_hangs_is_replaced_by_a_fresh_one(
        tmp_path, monkeypatch, fate):
    course = GradingRun()
    stage, staged, logs = _one_student(course, tmp_path, monkeypatch)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with kernels_ahead.student_kernels(course, stage, logs) as session:
        _run(course, stage, staged, "first", logs, sleep=0)
        waiting = session.ahead["second"]
        pid = waiting.provisioner.process.pid
        if fate == "died":
            waiting.provisioner.process.kill()
            waiting.provisioner.process.wait()
        else:
            _stop_the_kernel_inside(waiting)
        # A kernel that does not answer is given up after the start-up timeout (nbclient's),
        # which the fresh kernel gets too.
        view = _run(course, stage, staged, "second", logs, sleep=0,
                    startup_timeout=60 if fate == "died" else 15)
    assert [(u.notebook, u.ahead) for u in session.used] == [("first", False), ("second", False)]
    assert "answer.py" in view["files"]
    assert not psutil.pid_exists(pid)
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before
    assert list((tmp_path / "scratch" / "ipc").iterdir()) == []


@needs_bwrap
@pytest.mark.slow
def test_the_time_limit_of_a_kernel_started_ahead_counts_from_its_notebooks_start(
        tmp_path, monkeypatch):
    """Two notebooks of 5 s each, a limit of 8 s per notebook: the second's kernel, started
    when the first began, would be stopped 8 s after its launch, in the middle of its own
    notebook, if its clock ran from there."""
    course = GradingRun()
    stage, staged, logs = _one_student(course, tmp_path, monkeypatch)
    monkeypatch.setattr(nbgrade.KernelSettings, "notebook_seconds", 8)
    with kernels_ahead.student_kernels(course, stage, logs) as session:
        _run(course, stage, staged, "first", logs, sleep=5)
        _run(course, stage, staged, "second", logs, sleep=5)
    assert [(u.notebook, u.ahead) for u in session.used] == [("first", False), ("second", True)]
    assert nbgrade.KernelSettings.timed_out == set()


@needs_bwrap
def test_grading_stopped_after_a_notebook_leaves_no_kernel_process_or_folder(
        tiny_course, tmp_path, monkeypatch):
    """Grading stops (an error, Ctrl-C) once the first notebook is graded, while the second
    notebook's kernel waits: it is killed and its socket folder removed."""
    course = tiny_settings(tiny_course)
    submission = tinycourse.make_submission(tiny_course, tmp_path / "ann")
    scratch = nbgrade.prepare_scratch(course, folder=tmp_path / "scratch")
    real = nbgrade.autograde_notebook
    waiting = []

    def graded_then_stop(*args, **kwargs):
        real(*args, **kwargs)
        waiting.extend(km.provisioner.process
                       for km in nbgrade.KernelSettings.session.ahead.values())
        raise RuntimeError("grading stops here")

    monkeypatch.setattr(nbgrade, "autograde_notebook", graded_then_stop)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with pytest.raises(RuntimeError, match="grading stops here"):
        pipeline.grade_submission(course, "ann", submission, scratch_dir=scratch)
    assert len(waiting) == 1    # the kernel of ops, started while adder ran
    assert waiting[0].poll() is not None
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before
    assert list((scratch / "ipc").iterdir()) == []
    assert nbgrade.KernelSettings.session is None


@needs_bwrap
def test_the_next_students_kernels_are_never_the_previous_students(tiny_course, tmp_path):
    course = tiny_settings(tiny_course)
    scratch = nbgrade.prepare_scratch(course, folder=tmp_path / "scratch")
    used = {}
    for student in ("ann", "bob"):
        submission = tinycourse.make_submission(tiny_course, tmp_path / student)
        result = pipeline.grade_submission(course, student, submission, scratch_dir=scratch)
        assert result.score == 10, result.items
        used[student] = kernels_ahead.StudentKernels.last_used
        assert list((scratch / "ipc").iterdir()) == []
    for kernels in used.values():  # the first notebook's starts with the student's grading
        assert [(u.notebook, u.ahead) for u in kernels] == [("adder", True), ("ops", True)]
    pids = {s: {u.pid for u in kernels} for s, kernels in used.items()}
    assert not pids["ann"] & pids["bob"]
    folders = {s: {u.folder for u in kernels} for s, kernels in used.items()}
    assert not folders["ann"] & folders["bob"]
    uids = {s: {u.uid for u in kernels} for s, kernels in used.items()}
    if jail.os.geteuid() == 0:  # a host user per student: one for all of ann's, another for bob
        assert len(uids["ann"]) == len(uids["bob"]) == 1 and uids["ann"] != uids["bob"]


# A notebook that ends badly: the next notebook (ops) is graded in full all the same, in the
# kernel started ahead for it or, when that one could not start, in a fresh one.
HOSTILE_ADD = {
    "os_exit": "import os\nos._exit(3)",
    "endless_loop": "while True:\n    pass",
    "fork_bomb": ("import os, time\n"
                  "while True:\n"
                  "    try:\n"
                  "        child = os.fork()\n"
                  "    except OSError:\n"
                  "        break\n"
                  "    if child == 0:\n"
                  "        time.sleep(600)\n"
                  "        os._exit(0)\n"
                  "return a + b"),
}


@needs_bwrap
@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(HOSTILE_ADD))
def test_a_hostile_notebook_costs_only_its_own_notebook(tiny_course, tmp_path, case):
    course = tiny_settings(tiny_course)
    scratch = nbgrade.prepare_scratch(course, folder=tmp_path / "scratch")
    submission = tinycourse.make_submission(tiny_course, tmp_path / case,
                                            add_body=HOSTILE_ADD[case])
    result = pipeline.grade_submission(course, case, submission, scratch_dir=scratch)
    scores = {i.id: i.score for i in result.items}
    assert scores["ops:test_mul"] == 3 and result.notebooks["ops"]["status"] == "graded"
    assert scores["adder:test_add"] == (2 if case == "fork_bomb" else 0)
    used = kernels_ahead.StudentKernels.last_used
    assert [u.notebook for u in used] == ["adder", "ops"]
    assert list((scratch / "ipc").iterdir()) == []


def test_kernels_start_ahead_only_in_the_bubblewrap_jail(monkeypatch, tmp_path):
    for mode, expected in (("bwrap", True), ("uid", False), ("none", False)):
        monkeypatch.setattr(jail, "mode", lambda m=mode: m)
        assert kernels_ahead.StudentKernels(GradingRun(), tmp_path, {}).start_ahead is expected
    monkeypatch.setattr(nbgrade.KernelSettings, "start_ahead", False)
    monkeypatch.setattr(jail, "mode", lambda: "bwrap")
    assert kernels_ahead.StudentKernels(GradingRun(), tmp_path, {}).start_ahead is False


def test_one_judge_serves_a_students_notebooks_and_is_replaced_when_it_dies(tmp_path):
    test = "assert total == 3, 'total is wrong'"
    with kernels_ahead.student_kernels(GradingRun(), tmp_path, {}) as session:
        judge = session.judge(30, None)
        assert judge.judge(test, json.dumps({"total": 3})) == []
        first = judge.process.pid
        assert session.judge(30, None) is judge and judge.process.pid == first
        judge.process.kill()
        judge.process.wait()
        failed = judge.judge(test, json.dumps({"total": 4}))
        assert failed[0]["ename"] == "AssertionError" and judge.process.pid != first
        last = judge.process
    assert last.poll() is not None and session._judge is None


def test_the_students_judge_starts_as_soon_as_the_first_notebook_asks_for_it(tmp_path):
    """Its start-up overlaps the first kernel's and the first cells, instead of delaying the
    first test; the process that starts is the one that judges."""
    with kernels_ahead.student_kernels(GradingRun(), tmp_path, {}) as session:
        judge = session.judge(30, None)
        assert judge.process is not None and judge.process.poll() is None
        started = judge.process.pid
        assert judge.judge("assert x == 1", json.dumps({"x": 1})) == []
        assert judge.process.pid == started
    assert judge.process is None
