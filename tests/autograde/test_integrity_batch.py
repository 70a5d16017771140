"""Batch integrity, the slow part: real `coursekit autograde` runs of the tiny course,
interrupted with SIGINT, or run twice at once into one output root or for one student.

Each run gets a temp folder of its own (TMPDIR), so "nothing left behind" is checked exactly:
the folder must be empty after the run, and no process may still use it.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import tinycourse

from coursekit.autograde import report

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
# Totals of the class below (tiny course: 11 points, 1 of them graded by hand).
TOTALS = {"ann": "10", "bob": "7", "cat": "7", "dan": "5"}


def make_class(course_root, submitted):
    """Four students of known totals, one of them slow (a sleep in `add`)."""
    tinycourse.make_submission(course_root, submitted / "ann" / "assignment1")
    tinycourse.make_submission(course_root, submitted / "bob" / "assignment1",
                               add_body="import time; time.sleep(1); return int(a + b)", iq2="2")
    folder = tinycourse.make_submission(course_root, submitted / "cat" / "assignment1")
    (folder / "ops.ipynb").unlink()
    tinycourse.make_submission(course_root, submitted / "dan" / "assignment1",
                               add_body="import time; time.sleep(1); return a + b",
                               mul_body="return a + b")
    return submitted


@pytest.fixture
def temp():
    """A temp folder of the run's own, short enough for kernel sockets."""
    folder = Path(tempfile.mkdtemp(prefix="ckt-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def command(course_root, out, *args):
    return [sys.executable, "-m", "coursekit", "autograde", "-q", "--course-root",
            str(course_root), "--output-root", str(out), "--module-grader",
            "tinycourse:fake_module_grader", "--inline-grader", "tinycourse:fake_inline_grader",
            *map(str, args)]


def environment(temp):
    return {**os.environ, "PYTHONPATH": str(HERE), "TMPDIR": str(temp)}


def processes_using(path, settle=10.0):
    """Pids of processes whose command line or environment mentions `path`, after up to
    `settle` seconds for them to go."""
    needle = str(path).encode()
    deadline = time.monotonic() + settle
    while True:
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            for part in ("cmdline", "environ"):
                try:
                    if needle in (proc / part).read_bytes():
                        found.append(int(proc.name))
                        break
                except OSError:
                    pass
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def assert_nothing_left(course_root, out, temp):
    assert list(temp.iterdir()) == [], "left in the temp folder"
    assert not (out / "autograded" / ".staging").exists()
    assert not (out / "autograded" / ".lock").exists()
    assert not (course_root / ".gradebook.db.locks").exists()
    assert not (course_root / ".gradebook.db.lock").exists()
    assert processes_using(temp) == [], "processes of the run outlived it"


def tracebacks(stderr):
    """The tracebacks of `stderr`, leaving out Python's "Exception ignored in ..." reports of a
    KeyboardInterrupt that landed in a weakref callback (Python drops it; the stop goes on)."""
    kept, skipping = [], False
    for line in stderr.splitlines():
        if line.startswith("Exception ignored in"):
            skipping = True
        elif skipping and line.startswith("KeyboardInterrupt"):
            skipping = False
            continue
        if not skipping:
            kept.append(line)
    return [line for line in kept if line.startswith("Traceback")]


def explain(out):
    """Each result's notebooks and notices, for an assertion's message."""
    found = {}
    for path in sorted((out / "autograded").glob("*/assignment1.json")):
        result = json.loads(path.read_text())
        found[path.parent.name] = (result.get("status"), result.get("notebooks"),
                                   result.get("notices"))
    return json.dumps(found, indent=1)


def grades(out):
    _, rows = report.read_grades_csv(out / "autograded" / "grades.csv")
    return {student: row["total"] for student, row in rows.items()}


def graded_students(out):
    return {p.parent.name for p in (out / "autograded").glob("*/assignment1.json")
            if json.loads(p.read_text()).get("status") is None}


@pytest.fixture(scope="module")
def patient_course(tmp_path_factory):
    """The tiny course with 60 s per cell, so a slow student is still running when Ctrl-C comes."""
    return tinycourse.build_course(tmp_path_factory.mktemp("patient") / "course", timeout=60)


@pytest.mark.parametrize("jobs", [1, 2])
def test_sigint_stops_the_batch_promptly_writes_grades_leaves_nothing_and_a_rerun_resumes(
        patient_course, tmp_path, temp, jobs):
    submitted = make_class(patient_course, tmp_path / "submitted")
    # bob's tests call a 20 s `add` twice: Ctrl-C comes while his kernel runs.
    shutil.rmtree(submitted / "bob")
    tinycourse.make_submission(patient_course, submitted / "bob" / "assignment1",
                               add_body="import time; time.sleep(20); return a + b")
    totals = {**TOTALS, "bob": "10"}
    out = tmp_path / "out"
    cmd = command(patient_course, out, "--all", "-j", jobs, "--submitted", submitted)
    proc = subprocess.Popen(cmd, env=environment(temp), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not (
            (out / "autograded" / "ann" / "assignment1.json").exists()
            and list(out.glob("autograded/.staging/bob-*"))):
        time.sleep(0.1)
    time.sleep(2)                                    # bob's kernel is in its 20 s sleep
    assert processes_using(temp, settle=0), "the batch has no process in its temp folder"
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    stdout, stderr = proc.communicate(timeout=120)
    stopped_after = time.monotonic() - sent
    assert proc.returncode == 130, stdout + stderr
    assert stopped_after < 15, f"the queue took {stopped_after:.0f} s to stop"
    done = graded_students(out)
    assert "ann" in done and "bob" not in done, stdout + stderr
    assert f"interrupted: {len(done)} of 4 submission(s) graded" in stderr
    assert "run the same command again to resume" in stderr and tracebacks(stderr) == []
    assert grades(out) == {s: totals[s] for s in done}         # grades.csv of the graded
    assert_nothing_left(patient_course, out, temp)

    # The rerun grades bob again from the start: his 20 s sleeps were only there to be
    # interrupted (they cost the rerun 40 s), so he resubmits the same sum without them.
    shutil.rmtree(submitted / "bob")
    tinycourse.make_submission(patient_course, submitted / "bob" / "assignment1")
    rerun = subprocess.run(cmd, env=environment(temp), capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{len(done)} submission(s) already graded, skipped" in rerun.stdout
    assert grades(out) == totals
    assert_nothing_left(patient_course, out, temp)


LOST_STOP = """
import os, signal, sys, threading, time
import tinycourse
from coursekit.autograde import interrupts, nbgrade, pipeline

course = tinycourse.tiny_settings(sys.argv[1], output_root=sys.argv[2])
interrupts.install_worker()          # a process of a -j N batch: SIGINT stops its student once
stopped = []


def stop_while_add_sleeps():
    while nbgrade.KernelSettings.notebook != "adder":
        time.sleep(0.05)
    time.sleep(4)                    # adder's first graded cell: its add() sleeps 30 s
    interrupts._State.raised = True  # as if this student's KeyboardInterrupt had been raised
    stopped.append(time.monotonic())  # already and lost (in a __del__: Python drops it)
    os.kill(os.getpid(), signal.SIGINT)


threading.Thread(target=stop_while_add_sleeps, daemon=True).start()
try:
    pipeline.grade_submission(course, "bob", sys.argv[3])
    print("graded")
except KeyboardInterrupt:
    print(f"stopped after {time.monotonic() - stopped[0]:.1f} s")
"""


def test_a_stop_whose_keyboard_interrupt_is_lost_still_ends_a_long_cell_at_once(
        patient_course, tmp_path, temp):
    # Once in a clean-clone CI run, -j 2 Ctrl-C took 22 s: the worker's KeyboardInterrupt was
    # lost, bob's cell went on sleeping, and the batch killed the worker after its 20 s grace.
    folder = tinycourse.make_submission(patient_course, tmp_path / "bob" / "assignment1",
                                        add_body="import time; time.sleep(30); return a + b")
    proc = subprocess.run([sys.executable, "-c", LOST_STOP, str(patient_course),
                           str(tmp_path / "out"), str(folder)], env=environment(temp),
                          capture_output=True, text=True, timeout=300)
    assert proc.stdout.startswith("stopped after "), proc.stdout + proc.stderr
    seconds = float(proc.stdout.split()[2])
    assert seconds < 15, f"the running cell went on for {seconds} s after the stop"
    assert processes_using(temp) == [], "processes of the grading outlived it"


def test_two_batches_into_one_output_root_at_once_both_end_with_every_right_score(
        tiny_course, tmp_path, temp):
    submitted = make_class(tiny_course, tmp_path / "submitted")
    out = tmp_path / "out"
    cmd = command(tiny_course, out, "--all", "-j", 2, "--force", "--submitted", submitted)
    runs = [subprocess.Popen(cmd, env=environment(temp), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    logs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], logs
    assert sum("is in use by another grading run" in log for log in logs) == 1, logs
    for log in logs:   # each run graded every student, to the right score
        assert {line.split(":")[0]: line.split(": ")[1].split(" /")[0]
                for line in log.splitlines() if " / 11" in line} == TOTALS, log + explain(out)
    assert grades(out) == TOTALS and graded_students(out) == set(TOTALS)
    assert_nothing_left(tiny_course, out, temp)


def test_one_student_graded_by_two_runs_at_once_ends_at_the_right_score(tiny_course,
                                                                         tmp_path, temp):
    from nbgrader.api import Gradebook
    from tinycourse import tiny_settings

    folder = tinycourse.make_submission(tiny_course, tmp_path / "eve" / "assignment1")
    outs = [tmp_path / "a", tmp_path / "b"]      # two output roots, one gradebook
    runs = [subprocess.Popen(command(tiny_course, out, folder, "--student", "eve", "--force"),
                             env=environment(temp), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for out in outs]
    logs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], logs
    assert all("eve: 10 / 11" in log for log in logs), logs
    # Which lock the second run meets first depends on timing (eve's own, or the gradebook's
    # while the first rebuilds the assignment or grades): at least one run says it waited.
    waited = ("eve is being graded by another run", "another grading run is rebuilding",
              "another grading run is using the gradebook")
    assert sum(any(w in log for w in waited) for log in logs) >= 1, logs
    course = tiny_settings(tiny_course, output_root=outs[0])
    items = json.loads(course.result_path("eve").read_text())["items"]
    expected = {nb: sum(i["score"] for i in items if i["id"].startswith(f"{nb}:"))
                for nb in tinycourse.NOTEBOOKS}
    with Gradebook(course.db_url) as gb:    # the gradebook holds one grading, that one
        submission = gb.find_submission("assignment1", "eve")
        assert {nb.name: nb.score for nb in submission.notebooks} == expected
    for out in outs:
        assert grades(out) == {"eve": "10"}
        assert_nothing_left(tiny_course, out, temp)
