"""A student's kernels forked from one process in the student's jail (coursekit/autograde/
zygote.py, kernel_zygote.py): each still gets what a kernel of its own gets, what one leaves
running ends with it, and a zygote that fails costs the student nothing."""
import json
import time

import psutil
import pytest
import tinycourse
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook
from test_kernels_ahead import PROBE, _kernel_view, _one_student, _run
from tinycourse import tiny_settings

from coursekit import jail
from coursekit.autograde import kernels_ahead, nbgrade, pipeline, zygote
from coursekit.autograde.grading_run import GradingRun

needs_bwrap = pytest.mark.skipif(
    jail.mode() != "bwrap", reason="kernels are forked only in the bubblewrap jail, and bwrap "
    "(Debian's bubblewrap) cannot run here")

# What differs by design between a forked kernel and one started on its own: its private
# folder in the jail's /tmp (HOME, TMPDIR and the guard's writable folders in it), where
# matplotlib's settings are (the zygote's copy), and PWD (bwrap's, for a kernel of its own).
PRIVATE = {"HOME", "TMPDIR", "MPLCONFIGDIR", "COURSEKIT_GUARD", "PWD"}


def _cells(course, stage, staged, name, logs, *sources, timeout=60):
    """Run one notebook of the given cells as autograde_notebook would; its cells' outputs."""
    nbgrade.KernelSettings.guard = nbgrade.guard_settings(course, stage, logs[name])
    nbgrade.KernelSettings.notebook = name
    nb = new_notebook(cells=[new_code_cell(s) for s in sources],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    executor = nbgrade.GuardedExecute(timeout=timeout, kernel_name="python3",
                                      startup_timeout=60)
    nb, _ = executor.preprocess(nb, {"metadata": {"path": str(staged)}})
    return [cell.outputs for cell in nb.cells]


def _printed(outputs):
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    return json.loads(text.strip().splitlines()[-1])


@needs_bwrap
def test_a_forked_kernel_sees_what_its_own_would_but_for_its_private_folder(tmp_path,
                                                                           monkeypatch):
    course = GradingRun()
    stage, staged, logs = _one_student(course, tmp_path, monkeypatch)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")   # as nbgrader's pass runs them
    with kernels_ahead.student_kernels(course, stage, logs, student="ann") as session:
        assert session.zygote is not None
        forked = [_run(course, stage, staged, name, logs, sleep=0) for name in logs]
    assert [(u.notebook, u.ahead, u.forked) for u in session.used] == [
        ("first", True, True), ("second", True, True)]
    monkeypatch.setattr(nbgrade.KernelSettings, "zygote", False)
    with kernels_ahead.student_kernels(course, stage, logs, student="ann") as session:
        own = _run(course, stage, staged, "first", logs, sleep=0)
    assert [u.forked for u in session.used] == [False]
    for n, view in enumerate(forked, start=1):
        assert view["uid"] == own["uid"] and view["files"] == own["files"] == ["answer.py"]
        assert view["cwd"] == f"/tmp/k{n}/work" and view["env"]["HOME"] == f"/tmp/k{n}/home"
        # The second kernel starts while the first notebook runs, outside nbgrader's pass
        # here (in grading, within it): NBGRADER_EXECUTION is compared for the first only.
        skip = PRIVATE | ({"NBGRADER_EXECUTION"} if n > 1 else set())
        same = {k: v for k, v in view["env"].items() if k not in skip}
        assert same == {k: v for k, v in own["env"].items() if k not in skip}
        # Its own mounts and more: the jail also holds the student's other kernel folders and
        # guard logs, and the zygote's script; nothing else.
        extra = set(view["mounts"]) - set(own["mounts"])
        assert set(own["mounts"]) - set(view["mounts"]) == set()
        ipc = str(tmp_path / "scratch" / "ipc")
        assert all(m.startswith(ipc) or m in map(str, logs.values()) for m in extra), extra
    assert list((tmp_path / "scratch" / "ipc").iterdir()) == []


@needs_bwrap
def test_forked_kernels_have_their_own_files_and_random_draws_and_the_kernels_hash_seed(
        tmp_path, monkeypatch):
    """What the student's first notebook leaves in its folder is not in the second's; a
    kernel's random state is its own (not the zygote's, shared by every fork); string hashes
    are those of a kernel of its own (PYTHONHASHSEED=0); the student's package imports from
    the working folder, as `python -m ipykernel_launcher` there would."""
    course = GradingRun()
    stage, staged, logs = _one_student(course, tmp_path, monkeypatch)
    probe = ("import json, os, random, sys\nimport numpy as np\nimport answer\n"
             "print(json.dumps({'np': np.random.rand(3).tolist(), 'py': random.random(),"
             " 'hash': hash('cs231n'), 'path0': sys.path[0] == os.getcwd(),"
             " 'answer': answer.x, 'left': os.path.exists('left.txt')}))")
    leave = "open('left.txt', 'w').write('from the first notebook')"
    with kernels_ahead.student_kernels(course, stage, logs, student="ann") as session:
        first = _printed(_cells(course, stage, staged, "first", logs, leave, probe)[1])
        second = _printed(_cells(course, stage, staged, "second", logs, probe)[0])
    assert [u.forked for u in session.used] == [True, True]
    monkeypatch.setattr(nbgrade.KernelSettings, "zygote", False)
    with kernels_ahead.student_kernels(course, stage, logs, student="ann"):
        own = _printed(_cells(course, stage, staged, "first", logs, probe)[0])
    assert first["left"] is True and second["left"] is False
    assert first["np"] != second["np"] and first["py"] != second["py"]
    assert first["hash"] == second["hash"] == own["hash"]
    assert first["path0"] and second["path0"] and first["answer"] == second["answer"] == 1


@needs_bwrap
def test_a_figure_drawn_in_a_forked_kernel_is_in_the_notebook(tmp_path, monkeypatch):
    course = GradingRun()
    stage, staged, logs = _one_student(course, tmp_path, monkeypatch)
    with kernels_ahead.student_kernels(course, stage, logs, student="ann") as session:
        outputs = _cells(course, stage, staged, "first", logs, "%matplotlib inline",
                         "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()")
    assert session.used[0].forked
    assert not [o for cell in outputs for o in cell if o.output_type == "error"]
    assert [o for o in outputs[1] if "image/png" in o.get("data", {})]


def _strays(marker):
    return [p for p in psutil.process_iter(["cmdline"]) if marker in (p.info["cmdline"] or [])]


@needs_bwrap
@pytest.mark.slow
def test_a_forked_kernel_over_its_time_is_stopped_with_what_it_left_running(tmp_path,
                                                                           monkeypatch):
    """Its clock kills it (the host does, never the zygote); what it started in a session of
    its own ends with it (the zygote sweeps its jail); the student's next kernel, forked while
    it ran, is untouched."""
    course = GradingRun()
    stage, staged, logs = _one_student(course, tmp_path, monkeypatch)
    monkeypatch.setattr(nbgrade.KernelSettings, "notebook_seconds", 8)
    # A student past the guard (which refuses to start processes, but is no boundary).
    monkeypatch.setattr(nbgrade, "GUARD_LINE", "None")
    marker = "1234.5"
    runaway = (f"import subprocess, time\nsubprocess.Popen(['sleep', '{marker}'], "
               "start_new_session=True)\ntime.sleep(120)")
    with kernels_ahead.student_kernels(course, stage, logs, student="ann") as session:
        with pytest.raises(DeadKernelError):
            _cells(course, stage, staged, "first", logs, runaway)
        assert nbgrade.KernelSettings.timed_out == {"first"}
        deadline = time.monotonic() + 20
        while _strays(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _strays(marker) == []
        view = _kernel_view(_nb_of(_cells(course, stage, staged, "second", logs,
                                          PROBE.replace("SLEEP", "0"))))
    assert view["files"] == ["answer.py"]
    assert [(u.notebook, u.forked) for u in session.used] == [("first", True), ("second", True)]


def _nb_of(outputs):
    return new_notebook(cells=[new_code_cell("", outputs=outputs[0])])


@needs_bwrap
def test_a_kernel_that_kills_its_zygote_costs_only_its_own_notebook(tmp_path, monkeypatch):
    """The zygote is within the student's reach (same user, same jail): killing it ends the
    jail and every kernel in it, the student's own running notebook included; the next
    notebook starts in a jail of its own."""
    course = GradingRun()
    stage, staged, logs = _one_student(course, tmp_path, monkeypatch)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with kernels_ahead.student_kernels(course, stage, logs, student="ann") as session:
        with pytest.raises(DeadKernelError):
            _cells(course, stage, staged, "first", logs,
                   "import os, time\nos.kill(os.getppid(), 9)\ntime.sleep(60)")
        view = _run(course, stage, staged, "second", logs, sleep=0)
        assert session.zygote is None
    assert view["files"] == ["answer.py"] and view["cwd"] == "/tmp/work"
    assert [(u.notebook, u.forked) for u in session.used] == [("first", True),
                                                                ("second", False)]
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before
    assert list((tmp_path / "scratch" / "ipc").iterdir()) == []


def _cannot_start(self):
    raise RuntimeError("no jail today")


@needs_bwrap
@pytest.mark.parametrize("fate", ["ends", "cannot start"])
def test_a_zygote_that_never_gets_ready_costs_nothing(tiny_course, tmp_path, monkeypatch, fate):
    """A zygote that ends before its first answer (here: another script in its place) or
    cannot start at all: each notebook is graded in full in a kernel of its own."""
    if fate == "ends":
        monkeypatch.setattr(zygote, "SCRIPT", "kernel_guard.py")   # runs, answers nothing
    else:
        monkeypatch.setattr(zygote.Zygote, "start", _cannot_start)
    course = tiny_settings(tiny_course)
    scratch = nbgrade.prepare_scratch(course, folder=tmp_path / "scratch")
    submission = tinycourse.make_submission(tiny_course, tmp_path / "ann")
    result = pipeline.grade_submission(course, "ann", submission, scratch_dir=scratch)
    assert result.score == 10, result.items
    used = kernels_ahead.StudentKernels.last_used
    assert [(u.notebook, u.forked) for u in used] == [("adder", False), ("ops", False)]
    assert list((scratch / "ipc").iterdir()) == []


@needs_bwrap
def test_a_students_kernels_are_forked_in_grading_and_nothing_outlives_it(tiny_course,
                                                                         tmp_path):
    course = tiny_settings(tiny_course)
    scratch = nbgrade.prepare_scratch(course, folder=tmp_path / "scratch")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    submission = tinycourse.make_submission(tiny_course, tmp_path / "ann")
    result = pipeline.grade_submission(course, "ann", submission, scratch_dir=scratch)
    assert result.score == 10, result.items
    used = kernels_ahead.StudentKernels.last_used
    assert [(u.notebook, u.ahead, u.forked) for u in used] == [("adder", True, True),
                                                               ("ops", True, True)]
    assert not any(psutil.pid_exists(u.pid) for u in used)
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before
    assert list((scratch / "ipc").iterdir()) == []
