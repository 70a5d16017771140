"""Batch integrity, the fast part: locks, student ids, scratch folders, Ctrl-C, a
corrupt gradebook. Grading itself is faked where the point is not grading (the slow part,
with real batches, is test_integrity_batch.py)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import tinycourse
from tinycourse import tiny_settings

from coursekit.autograde import batch, gradebook, interrupts, locks, pipeline, report, scratch
from coursekit.autograde.grading_run import GradingRun, StudentIdError, check_student_id
from coursekit.autograde.result import Result
from coursekit.course import current

REPO_ROOT = current().root

HERE = Path(__file__).parent
ENV = {**os.environ, "PYTHONPATH": str(HERE)}


class Run:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def coursekit(capsys):
    """`coursekit autograde ARGS` in this process (an exception would fail the test: no
    traceback reaches the user), with its exit code and output."""
    from coursekit import cli

    def run(*args):
        capsys.readouterr()
        code = cli.main(["autograde", *map(str, args)])
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def fake_result(course, student, score=1.0, fingerprint="x"):
    """A finished student's JSON, as grade_submission writes it (one module item)."""
    result = {"version": 1, "student": student, "assignment": course.assignment,
              "fingerprint": fingerprint, "notebooks": {}, "notices": [],
              "items": [{"id": "module:f", "column": "module:f", "kind": "module",
                         "score": score, "max_score": 2.0, "message": ""}],
              "score": score, "max_score": 2.0, "manual_pending": 0.0}
    result = Result.from_json(result)
    pipeline.atomic_write_text(course.result_path(student), result.dumps())
    return result


# --- locks -------------------------------------------------------------------------------

HOLD = """
import sys, time
from pathlib import Path
from coursekit.autograde import locks
from coursekit.autograde.grading_run import GradingRun
course = GradingRun(root=Path(sys.argv[1]), output_root=Path(sys.argv[2]))
what, seconds = sys.argv[3], float(sys.argv[4])
if what == "root":
    lock = locks.output_root_lock(course)
elif what == "gradebook":
    lock = locks.gradebook_lock(course, shared=True)    # what grading a student holds
else:
    lock = locks.student_lock(course, what)
with lock:
    print("held", flush=True)
    time.sleep(seconds)
"""


def hold(course, what, seconds=60.0):
    """A process holding the output root's lock ("root"), the gradebook's as a grading holds
    it ("gradebook") or a student's; returns it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, course.root, course.output_root, what,
                             str(seconds)], stdout=subprocess.PIPE, text=True, env=ENV)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def bare(tmp_path):
    """A course without notebooks (nothing to grade): enough for locks and exports."""
    (tmp_path / "course").mkdir()
    return GradingRun(root=tmp_path / "course", output_root=tmp_path / "out")


def test_second_run_into_a_busy_output_root_refuses_with_no_wait_naming_the_holder(bare,
                                                                                 coursekit):
    submitted = bare.root / "submitted"
    (submitted / "ann" / "assignment1").mkdir(parents=True)
    holder = hold(bare, "root")
    try:
        for args in (["--export"], ["--all", "--submitted", submitted]):
            proc = coursekit(*args, "--no-wait", "--course-root", bare.root,
                             "--output-root", bare.output_root)
            assert proc.returncode == 75, proc.stderr
            assert f"{bare.autograded_dir} is in use by another grading run (pid {holder.pid}" \
                in proc.stderr
            assert "--no-wait" in proc.stderr and "Traceback" not in proc.stderr
    finally:
        holder.kill()
        holder.wait()


def test_second_run_waits_for_the_first_with_a_message_then_goes_on(bare):
    holder = hold(bare, "root", seconds=1.5)
    messages = []
    start = time.monotonic()
    report.export(bare, log=messages.append)
    assert time.monotonic() - start > 1.0           # it waited for the holder
    assert holder.wait(timeout=10) == 0
    assert len(messages) == 1 and "waiting for it to finish" in messages[0]
    assert f"pid {holder.pid}" in messages[0]
    assert bare.grades_csv.exists() and not bare.lock_path.exists()


def test_lock_of_a_killed_run_does_not_block_and_no_lock_file_stays(bare):
    holder = hold(bare, "root")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert bare.lock_path.exists()                   # left behind by the killed holder...
    with locks.output_root_lock(bare, wait=False):   # ...but its lock died with it
        pass
    assert not bare.lock_path.exists()


def test_output_root_lock_is_reentrant_in_one_process(bare):
    with locks.output_root_lock(bare, wait=False):
        report.export(bare, wait=False)              # a batch ends with an export
        assert bare.lock_path.exists()
    assert not bare.lock_path.exists()


TRY_REBUILD = """
import sys
from pathlib import Path
from coursekit.autograde import locks
from coursekit.autograde.grading_run import GradingRun
course = GradingRun(root=Path(sys.argv[1]), output_root=Path(sys.argv[2]))
try:
    with locks.file_lock(course.gradebook_lock_path, wait=False):
        print("rebuilt")
except locks.LockBusy:
    print("busy")
"""


def test_same_student_is_never_graded_twice_at_once(bare, tmp_path, monkeypatch, capsys):
    ran, rebuild = {}, []

    def fake_grading(course, student, folder, scratch_dir, manifest=None):
        ran[student] = time.monotonic()
        # Meanwhile no other run may rebuild the assignment in the gradebook.
        rebuild.append(subprocess.run(
            [sys.executable, "-c", TRY_REBUILD, course.root, course.output_root],
            capture_output=True, text=True, env=ENV).stdout.strip())
        return {"score": 0.0, "max_score": 0.0}

    monkeypatch.setattr(pipeline, "_grade_submission", fake_grading)
    holder = hold(bare, "ann", seconds=1.5)
    start = time.monotonic()
    # another student: no wait
    pipeline.grade_submission(bare, "bob", tmp_path, scratch_dir=tmp_path)
    assert ran["bob"] - start < 1.0
    pipeline.grade_submission(bare, "ann", tmp_path, scratch_dir=tmp_path)
    assert holder.wait(timeout=10) == 0
    assert ran["ann"] - start > 1.0                  # only after the other grading of ann
    out = capsys.readouterr().out
    assert f"ann is being graded by another run (pid {holder.pid}" in out
    assert not bare.student_lock_dir.exists()        # lock files and their folder removed
    assert rebuild == ["busy", "busy"] and not bare.gradebook_lock_path.exists()


def test_rebuilding_the_gradebook_waits_for_gradings_of_another_output_root(tiny_course,
                                                                            tmp_path, capsys):
    grading = tiny_settings(tiny_course, output_root=tmp_path / "a")
    other = tiny_settings(tiny_course, output_root=tmp_path / "b")
    holder = hold(grading, "gradebook", seconds=1.5)
    start = time.monotonic()
    assert pipeline.prepare(other, force=True)       # rebuilds the assignment in the gradebook
    assert time.monotonic() - start > 1.0            # only after the grading let it go
    assert holder.wait(timeout=10) == 0
    assert "another grading run is using the gradebook" in capsys.readouterr().out
    assert not grading.gradebook_lock_path.exists()
    with locks.gradebook_lock(grading, shared=True), locks.gradebook_lock(other, shared=True):
        pass                                         # two gradings share it
    assert not grading.gradebook_lock_path.exists()


def test_student_locks_are_shared_by_output_roots_that_share_the_gradebook(tmp_path):
    a = GradingRun(root=tmp_path, output_root=tmp_path / "a")
    b = GradingRun(root=tmp_path, output_root=tmp_path / "b")
    assert a.student_lock_dir == b.student_lock_dir == tmp_path / ".gradebook.db.locks"
    assert a.gradebook_lock_path == b.gradebook_lock_path == tmp_path / ".gradebook.db.lock"
    postgres = GradingRun(root=tmp_path, output_root=tmp_path / "a", db_url="postgresql://h/db")
    assert postgres.student_lock_dir == tmp_path / "a" / "autograded" / ".locks"


# --- student ids -------------------------------------------------------------------------

@pytest.mark.parametrize("student, problem", [
    ("../x", "it contains '/'"), ("a/b", "it contains '/'"), ("a..b", "it contains '..'"),
    ("grades.csv", "is the name of an output file"), ("Summary.MD", "is the name of an output"),
    ("summary.png", "is the name of an output file"), ("Similarity", "is the name of an output"),
    (".lock", "it starts with '.'"),
    (".staging", "it starts with '.'"), ("-x", "it starts with '-'"), ("", "it is empty"),
    ("a b", "it contains ' '"), ("josé", "it contains 'é'"), ("x" * 101, "101 characters"),
])
def test_unusable_student_ids_are_refused_naming_the_id_and_the_rule(student, problem):
    with pytest.raises(StudentIdError) as info:
        check_student_id(student, "--student")
    message = str(info.value)
    assert f"unusable student id {student!r} (--student): " in message and problem in message
    assert "letters, digits and - _ . @ +" in message


@pytest.mark.parametrize("student", ["alice", "a.b@uni.edu", "s-01_x+1", "x" * 100, "grades"])
def test_plain_student_ids_are_accepted(student):
    assert check_student_id(student) == student


@pytest.mark.parametrize("student", ["../x", "grades.csv"])
def test_make_autograde_one_refuses_a_bad_student_id_in_one_message(tmp_path, student):
    data = tmp_path / "data"
    data.mkdir()
    (data / "test_batch").touch()     # the target's CIFAR-10 prerequisite
    proc = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "autograde-one",
         f"SUBMISSION={tmp_path}", f"STUDENT={student}", f"GRADING_DATA={data}",
         f"OUTPUT_ROOT={tmp_path / 'out'}"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert f"coursekit autograde: unusable student id {student!r} (--student)" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()           # nothing was graded or written


def test_student_id_from_a_path_is_checked_too(tmp_path, coursekit):
    folder = tmp_path / "a b" / "assignment1"
    folder.mkdir(parents=True)
    proc = coursekit(folder, "--course-root", tmp_path, "--output-root", tmp_path / "out")
    assert proc.returncode == 2 and "unusable student id 'a b' (the folder name of PATH" \
        in proc.stderr and "Traceback" not in proc.stderr


def test_batch_leaves_out_unusable_folder_names_naming_each_and_refuses_repeated_ids(
        tmp_path, coursekit):
    submitted = tmp_path / "submitted"
    for name in ("grades.csv", "a b", ".ipynb_checkpoints"):
        (submitted / name / "assignment1").mkdir(parents=True)
    proc = coursekit("--all", "--submitted", submitted, "--course-root", tmp_path,
                     "--output-root", tmp_path / "out")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "not graded: unusable student id 'grades.csv' (a folder of" in proc.stderr
    assert "unusable student id 'a b'" in proc.stderr and "checkpoints" not in proc.stderr
    assert "nothing graded: rename the folders" in proc.stderr
    assert not (tmp_path / "out").exists()
    course = GradingRun(root=tmp_path, output_root=tmp_path / "out")
    with pytest.raises(StudentIdError, match="'ann' is given twice"):
        batch.grade_all(course, [("ann", submitted / "ann"), ("ann", tmp_path)])


def test_a_folder_named_like_an_output_file_gets_a_message_not_a_traceback(bare,
                                                                             coursekit):
    fake_result(bare, "ann")
    (bare.autograded_dir / "grades.csv").mkdir()     # what STUDENT=grades.csv used to leave
    proc = coursekit("--export", "--course-root", bare.root, "--output-root", bare.output_root)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{bare.grades_csv} is a folder, not a file" in proc.stderr


# --- scratch folders ---------------------------------------------------------------------

WORKER = """
import sys, time
if sys.argv[1] == "prepare_scratch":             # what every grading process does
    from coursekit.autograde import nbgrade
    from coursekit.autograde.grading_run import GradingRun
    folder = nbgrade.prepare_scratch(GradingRun())
else:                                            # the same, without importing nbgrader
    from coursekit.autograde import interrupts, scratch
    folder = scratch.make_folder("autograde")
    interrupts.install_default()
print(folder, flush=True)
if sys.argv[2] == "exit":
    sys.stdin.readline()       # the test has looked at the folder: end normally
    sys.exit(0)
time.sleep(60)
"""


@pytest.mark.parametrize("made_by, how", [("prepare_scratch", "exit"),
                                          ("prepare_scratch", signal.SIGTERM),
                                          ("make_folder", signal.SIGINT),
                                          ("make_folder", signal.SIGKILL)])
def test_scratch_folder_goes_at_exit_and_a_killed_ones_is_swept(tmp_path, made_by, how):
    env = {**ENV, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", WORKER, made_by, str(how)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    folder = Path(proc.stdout.readline().strip())
    assert folder.parent == tmp_path and folder.name.startswith(f"ck-autograde-{proc.pid}-")
    assert folder.is_dir() and scratch.sweep_stale(tmp_path) == []   # its owner is alive
    if how == "exit":
        proc.stdin.write("\n")
        proc.stdin.flush()
    else:
        proc.send_signal(how)
    proc.wait(timeout=30)
    if how == signal.SIGKILL:                        # no clean-up possible: the next run's
        assert folder.is_dir()
        assert scratch.sweep_stale(tmp_path) == [folder]
    assert list(tmp_path.iterdir()) == []


def test_sweep_removes_folders_of_dead_pids_only(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    old = tmp_path / f"ck-autograde-{dead}-abc"      # an older version's folder: no lock
    mine = tmp_path / f"ck-fp-{os.getpid()}-abc"
    other = tmp_path / "ck-something-else"
    for folder in (old, mine, other):
        (folder / "sub").mkdir(parents=True)
    assert scratch.sweep_stale(tmp_path) == [old]
    assert mine.is_dir() and other.is_dir()


def test_temporary_folders_of_a_grading_live_inside_its_scratch(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pipeline.scratch_folder(GradingRun()) as base:
        stage = Path(tempfile.mkdtemp(prefix="ckgrade-"))    # as the module grader makes one
        assert base in stage.parents and os.environ["TMPDIR"] == str(base / "py")
        assert scratch.system_tempdir() == str(tmp_path)
    assert tempfile.tempdir == str(tmp_path) and list(tmp_path.iterdir()) == []


def test_grade_submission_without_a_worker_removes_the_scratch_it_made(bare, tmp_path,
                                                                       monkeypatch):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    seen = []

    def fake_grading(course, student, folder, scratch_dir, manifest=None):
        seen.append(Path(scratch_dir))
        raise RuntimeError("a grader bug")

    monkeypatch.setattr(pipeline, "_grade_submission", fake_grading)
    with pytest.raises(RuntimeError):
        pipeline.grade_submission(bare, "ann", tmp_path)
    assert seen[0].parent == temp and list(temp.iterdir()) == []


def test_a_run_sweeps_the_staging_and_half_swapped_folders_of_dead_runs(bare):
    (bare.staging_dir / "ann-x1" / "autograded").mkdir(parents=True)
    old = bare.autograded_dir / "ann" / ".assignment1.old-999999999-1"
    old.mkdir(parents=True)
    kept = bare.autograded_dir / "ann" / "assignment1"
    kept.mkdir()
    report.export(bare)
    assert not bare.staging_dir.exists() and not old.exists() and kept.is_dir()


# --- Ctrl-C ------------------------------------------------------------------------------

main_thread_only = pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                                      reason="signals are handled in the main thread")


@main_thread_only
def test_ctrl_c_stops_the_queue_and_still_writes_grades_for_the_graded(tiny_course, tmp_path,
                                                                       monkeypatch):
    course = tiny_settings(tiny_course, output_root=tmp_path / "out")
    folders = {s: tmp_path / s for s in ("ann", "bob", "cat")}
    for folder in folders.values():
        folder.mkdir()
    # bob was graded before; this forced regrade of bob is the one Ctrl-C interrupts.
    fake_result(course, "bob", score=2.0,
                fingerprint=batch.submission_fingerprint(course, folders["bob"]))
    started = []

    def fake_grading(course, student, folder, scratch_dir=None):
        started.append(student)
        if student == "bob":
            signal.raise_signal(signal.SIGINT)
        return fake_result(course, student)

    monkeypatch.setattr(pipeline, "grade_submission", fake_grading)
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(batch.GradingInterrupted) as info:
        batch.grade_all(course, sorted(folders.items()), force=True, progress=False)
    assert started == ["ann", "bob"]                 # cat never started
    assert info.value.outcomes == {"ann": (1.0, 2.0, None)} and info.value.todo == 3
    message = info.value.message(course)
    assert "interrupted: 1 of 3 submission(s) graded" in message
    assert "run the same command again to resume" in message
    rows = course.grades_csv.read_text().splitlines()
    # Under the header, the row of maximum points, then ann and bob (his earlier result).
    assert [r.split(",")[0] for r in rows[1:]] == ["(max points)", "ann", "bob"]
    assert json.loads(course.result_path("bob").read_text())["status"] == "interrupted"
    assert not batch.is_done(course, "bob", folders["bob"])        # a rerun grades bob again
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert not course.staging_dir.exists() and not course.lock_path.exists()


@main_thread_only
def test_one_ctrl_c_during_the_final_export_only_warns_a_second_stops_it(capfd):
    with interrupts.batch_signals():
        with interrupts.shielded("still writing grades.csv"):
            signal.raise_signal(signal.SIGINT)       # warned, not raised
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)
        assert len(interrupts.received()) == 2
    assert "still writing grades.csv" in capfd.readouterr().err


def test_a_pool_worker_is_interrupted_once_per_student_and_starts_none_after_a_stop():
    code = """
import signal
from coursekit.autograde import interrupts
interrupts.install_worker()
signal.raise_signal(signal.SIGINT)                 # idle: no exception (the batch decides)...
print("idle ok")
try:
    with interrupts.grading():                     # ...but no new student starts after it
        print("started")
except KeyboardInterrupt:
    print("not started")
interrupts.install_worker()                        # a fresh worker
with interrupts.grading():
    try:
        signal.raise_signal(signal.SIGINT)
        print("not interrupted")
    except KeyboardInterrupt:
        signal.raise_signal(signal.SIGINT)         # during the clean-up: not again
        print("interrupted once")
print(signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.stdout.split("\n")[:4] == ["idle ok", "not started", "interrupted once",
                                           "True"], proc.stderr


def test_after_a_stop_the_interrupts_aftermath_logs_no_traceback():
    # Seen in CI: SQLAlchemy's pool logged "Exception closing connection" with a traceback
    # when Ctrl-C hit a gradebook connection as it closed; before that, asyncio's "Task
    # exception was never retrieved". Before a stop both are errors worth printing.
    code = """
import logging, signal
from coursekit.autograde import interrupts

def log_both(tag):
    for name in ("sqlalchemy.pool", "asyncio"):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            logging.getLogger(name).error("%s %s", tag, name, exc_info=True)

log_both("before")
interrupts.install_worker()
signal.raise_signal(signal.SIGINT)
log_both("after")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "before sqlalchemy.pool" in proc.stderr and "before asyncio" in proc.stderr
    assert "after" not in proc.stderr
    assert proc.stderr.count("Traceback") == 2


# --- a corrupt gradebook -----------------------------------------------------------------

def corrupt_copies(tiny_course, folder):
    """A file that is no database, and the tiny course's gradebook cut in half."""
    folder.mkdir(parents=True, exist_ok=True)
    garbage = folder / "garbage.db"
    garbage.write_bytes(b"this is not a database\n" * 100)
    data = (tiny_course / "gradebook.db").read_bytes()
    truncated = folder / "truncated.db"
    truncated.write_bytes(data[: len(data) // 2])
    return garbage, truncated


def test_a_corrupt_gradebook_is_named_corrupt_with_what_to_do(tiny_course, tmp_path):
    for path in corrupt_copies(tiny_course, tmp_path):
        course = tiny_settings(tiny_course, db_url=f"sqlite:///{path}?timeout=60")
        with pytest.raises(gradebook.GradebookError) as info:
            gradebook.check_gradebook(course)
        message = str(info.value)
        assert f"the gradebook {path} is corrupt" in message
        assert "restore it from a backup, or delete it to start over" in message
        assert "formgrader are lost" in message
    gradebook.check_gradebook(tiny_settings(tiny_course))   # the real one is fine


def test_make_grades_and_autograde_say_a_gradebook_is_corrupt_without_a_traceback(
        tiny_course, tmp_path, coursekit, monkeypatch):
    garbage, truncated = corrupt_copies(tiny_course, tmp_path / "db")
    out = tmp_path / "out"
    fake_result(GradingRun(output_root=out), "ann")
    env = {**ENV, "NBGRADER_DB_URL": f"sqlite:///{truncated}"}
    proc = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "grades",
                           f"OUTPUT_ROOT={out}"], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert f"the gradebook {truncated} is corrupt" in proc.stderr
    monkeypatch.setenv("NBGRADER_DB_URL", f"sqlite:///{garbage}")
    folder = tinycourse.make_submission(tiny_course, tmp_path / "ann" / "assignment1")
    proc = coursekit(folder, "--course-root", tiny_course, "--output-root", out)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"the gradebook {garbage} is corrupt" in proc.stderr
    assert garbage.read_bytes() == b"this is not a database\n" * 100     # left as it was


def test_a_path_that_names_no_folder_is_refused_before_grading(coursekit, tmp_path):
    (tmp_path / "notes.txt").write_text("not a submission")
    for path, what in ((tmp_path / "missing", "does not exist"),
                       (tmp_path / "notes.txt", "is not a folder")):
        run = coursekit(path, "--student", "bob", "--output-root", tmp_path / "out")
        assert run.returncode == 2, (run.stdout, run.stderr)
        assert f"{path} {what}: name the folder of one submission" in run.stderr
    assert not (tmp_path / "out" / "autograded" / "bob").exists()
