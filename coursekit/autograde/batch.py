"""Many students: one long-lived worker process per job, each score as it comes, skip what is done.

Each worker imports nbgrader once and grades student after student through its Python API
(about 1 s per notebook instead of 3 s of start-up per CLI call). Workers share nothing but
the gradebook; every student is written atomically by `pipeline.grade_submission`, so the
results do not depend on the number of workers or on the order, and an interrupted run
loses nothing already graded: a rerun skips every student whose result matches the
submission's fingerprint (unless forced).

A batch (`grade_all`), in this order:

1. check every student id (usable, none twice) before anything starts;
2. take the output root's lock for the whole run (a second run into the same output root
   waits, or refuses with `wait=False`);
3. sweep what dead earlier runs left (scratch.py), check the gradebook, record the master
   notebooks in it (`pipeline.prepare`), and leave out the students already graded
   (graded.py: in the -j processes for a big class);
4. compute what every student's module checks share, once, here in the main process and
   before any worker starts (`module_checks.prepare_shared_data`: the HOG and colour features
   of the CIFAR-10 validation and test images, cached on disk, where the workers read them);
5. grade the others, serially or in the pool, each under a lock of their own
   (`pipeline.grade_submission`), or on a Dask cluster (`scheduler`: cluster.py; the workers
   prepare their own shared data, step 4 is theirs), printing each student's line as they
   finish (Progress);
6. remove the staging (on every way out), then write grades.csv and the summary
   (`report.export`) while the pool's workers exit (they are done: only their own clean-up is
   left), and wait for them before returning; then sweep this run's scratch.

While the last students run and a worker has nothing left to take, the main process imports
what the summary draws with (report.warm_up): the idle core's time, not the batch's.

Ctrl-C or SIGTERM (issue 11) stops steps 4-5: no new student starts, the running ones are
interrupted, step 6 still runs for the students graded so far, and GradingInterrupted says
how many.
"""
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from tqdm import tqdm

from coursekit.autograde import (
    gradebook,
    graded,
    interrupts,
    locks,
    module_checks,
    pipeline,
    scratch,
)
from coursekit.autograde.graded import is_done, submission_fingerprint  # noqa: F401 (the API)
from coursekit.autograde.grading_run import StudentIdError, check_student_id
from coursekit.autograde.result import ERROR, INTERRUPTED, Result

_WORKER = {}
# What a worker returns for a student it did not finish because the batch is stopping (also
# the status of the earlier result of such a student: result.INTERRUPTED).
# Seconds the interrupted workers get to stop their kernels and clean up before being killed.
STOP_GRACE_SECONDS = 20


class GradingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a batch; grades.csv and the summary hold every student graded.

    `outcomes` as grade_all returns them (the students finished before the stop), `todo` the
    number of students the run set out to grade."""

    def __init__(self, outcomes, todo, force=False, exported=True):
        super().__init__("grading interrupted")
        self.outcomes, self.todo, self.force, self.exported = outcomes, todo, force, exported

    def message(self, course):
        """One line: how many were graded, where their grades are, how to resume."""
        again = ("students already graded are skipped unless --force/FORCE=1 is given"
                 if self.force else "students already graded are skipped")
        if self.exported:
            where = f"{course.grades_csv} and the summary include them"
        else:
            where = (f"{course.grades_csv} was not rewritten: make grades (coursekit autograde "
                     "--export) writes it")
        return (f"coursekit autograde: interrupted: {len(self.outcomes)} of {self.todo} "
                f"submission(s) graded in this run ({where}); run the same command again to "
                f"resume ({again})")


def find_submissions(course, submitted_dir=None):
    """[(student, folder)] of submitted/<student>/<assignment> (or submitted/<student>)."""
    root = Path(submitted_dir or course.output_root / "submitted")
    found = []
    if not root.is_dir():
        return found
    for child in sorted(root.iterdir()):
        if not child.is_dir() or child.name.startswith("."):
            continue
        inner = child / course.assignment
        found.append((child.name, inner if inner.is_dir() else child))
    return found


def check_submissions(submissions, where="a folder of the submissions"):
    """Every student id usable and given once, else StudentIdError naming all the bad ones."""
    problems, seen = [], {}
    for student, folder in submissions:
        try:
            check_student_id(student, where)
        except StudentIdError as exc:
            problems.append(str(exc))
        if student in seen:
            problems.append(f"coursekit autograde: student id {student!r} is given twice "
                            f"({seen[student]} and {folder}); grade one submission per student")
        seen.setdefault(student, folder)
    if problems:
        raise StudentIdError("\n".join(problems))


def mark_interrupted(course, student, since=None):
    """A regrade stopped half-way may have changed the student's gradebook rows, so the
    earlier result no longer matches them: it is marked, and the next run grades the student
    again (until then, export keeps its scores without refreshing them from the gradebook).
    `since` (time.time() when this grading of the student began): a result written since then
    is this grading's own, complete (the result is its last step; the stop came after it), and
    stays as it is."""
    path = course.result_path(student)
    try:
        if since is not None and path.stat().st_mtime >= since:
            return
        result = Result.load(path)
    except (OSError, ValueError):
        return
    if result.status in (ERROR, INTERRUPTED):
        return
    result.status = INTERRUPTED
    pipeline.atomic_write_text(path, result.dumps())


def _init_worker(course):
    interrupts.install_worker()
    from coursekit.autograde import nbgrade

    _WORKER["course"] = course
    base = nbgrade.prepare_scratch(course)
    # The worker's temporary folders (module grader stages, ...) live and die with its scratch.
    scratch.redirect_tempfile_for_good(base / "py")
    _WORKER["scratch"] = base


def _grade_task(student, folder):
    """(student, score, max, error or None, seconds) of one student graded in this process."""
    course = _WORKER["course"]
    start = time.monotonic()
    try:
        result = pipeline.grade_submission(course, student, folder, scratch_dir=_WORKER["scratch"])
        return student, result.score, result.max_score, None, time.monotonic() - start
    except Exception as exc:
        stopped_by(exc)
        error = f"{type(exc).__name__}: {exc}"
        record_error(course, student, error, traceback.format_exc())
        return student, 0.0, 0.0, error, time.monotonic() - start


def stopped_by(exc):
    """Raise KeyboardInterrupt (from `exc`) when a stop was received: the grading it cut short
    may end in another error (an asyncio future it left half-done: InvalidStateError), which
    is the stop's, not the student's nor the grader's. The student is interrupted (no result,
    or the earlier one kept and marked), never "grading failed"."""
    if interrupts.received():
        raise KeyboardInterrupt("grading stopped by a signal") from exc


def _pool_task(student, folder):
    """`_grade_task` in a pool worker: a stop (SIGINT) ends it with INTERRUPTED."""
    try:
        interrupts.checkpoint()     # this worker was told to stop: start nothing new
        return _grade_task(student, folder)
    except KeyboardInterrupt:
        return student, None, None, INTERRUPTED, 0.0


def student_line(student, score, maximum, error, seconds, count=None, total=None):
    """The line of one finished student: "<student>: <score> / <max>  <status>  <seconds> s",
    and "[count/total]" in a batch. CI and the tests read the "<student>: <score> / <max>"."""
    where = f"  [{count}/{total}]" if total else ""
    if error:
        return f"{student}: grading failed ({error})  {seconds:.1f} s{where}"
    return f"{student}: {score:g} / {maximum:g}  graded  {seconds:.1f} s{where}"


class Progress:
    """What a batch shows while it runs: each student's line (student_line) on `out` as soon as
    the student is finished, and on a terminal a tqdm bar on `err` below the lines. When `err`
    is no terminal (a log file, a CI job, `nohup`), no bar: its redraws would vanish or pile up,
    and the lines, numbered [n/total], are the progress. `show=False`: nothing at all (the
    outcomes are still gathered); `bar=False`: the lines without the bar. `finished`: a list
    that gets the time (time.monotonic) each student finished, in order."""

    def __init__(self, total, show=True, bar=True, out=None, err=None, finished=None):
        self.total, self.count, self.show = total, 0, show
        self.finished = [] if finished is None else finished
        self.out = out or sys.stdout
        err = err or sys.stderr
        on_terminal = getattr(err, "isatty", lambda: False)()
        self.bar = None
        if show and bar and total and on_terminal:
            self.bar = tqdm(total=total, desc="autograde", unit="student", file=err)

    def done(self, outcomes, student, score, maximum, error, seconds):
        """Record a finished student in `outcomes` and show its line."""
        outcomes[student] = (score, maximum, error)
        self.count += 1
        self.finished.append(time.monotonic())
        if not self.show:
            return
        line = student_line(student, score, maximum, error, seconds, self.count, self.total)
        if self.bar is not None:
            self.bar.write(line, file=self.out)
            self.bar.update(1)
        else:
            print(line, file=self.out, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def record_error(course, student, error, detail=""):
    """A result for a student the pipeline itself failed on (a grader bug, not the student's):
    marked as an error, so a rerun grades the student again."""
    result = Result.error(student, course.assignment, error, detail)
    pipeline.atomic_write_text(course.result_path(student), result.dumps())


def grade_all(course, submissions, jobs=1, force=False, progress=True, log=print, wait=True,
              bar=True, scheduler=None, finished=None):
    """Grade [(student, folder)]; returns {student: (score, max, error or None)}.

    `progress`: print each student's line as they finish (Progress), with a tqdm bar when
    stderr is a terminal and `bar` is true. `scheduler` ("tcp://HOST:PORT"): grade on that
    Dask cluster (cluster.py) instead of `jobs` local processes. `finished`: a list that gets
    the time.monotonic() at which each student finished (benchmark.batch_throughput).

    Raises StudentIdError (before anything runs) for an unusable or repeated id, LockBusy when
    another run holds the output root and `wait` is False (with `wait`, it logs who holds it
    and waits), GradingInterrupted after Ctrl-C/SIGTERM (grades.csv and the summary written).
    """
    check_submissions(submissions)
    with interrupts.batch_signals(), locks.output_root_lock(course, wait=wait, log=log):
        return _grade_locked(course, submissions, jobs, force, progress, log, bar, scheduler,
                             finished)


def _grade_locked(course, submissions, jobs, force, progress, log, bar, scheduler=None,
                  finished=None):
    scratch.sweep_stale()
    scratch.sweep_output_root(course)
    exiting = []
    try:
        return _grade_and_export(course, submissions, jobs, force, progress, log, bar,
                                 scheduler, finished, exiting)
    finally:
        for shutdown in exiting:    # the pools' workers, exiting while the export ran
            shutdown.join()
        scratch.sweep_stale()


def _grade_and_export(course, submissions, jobs, force, progress, log, bar, scheduler,
                      finished, exiting):
    outcomes, todo = {}, list(submissions)
    try:
        gradebook.check_gradebook(course)
        pipeline.prepare(course)
        todo = graded.pending(course, submissions, force, jobs if not scheduler else 1)
        skipped = len(submissions) - len(todo)
        if skipped:
            log(f"coursekit autograde: {skipped} submission(s) already graded, skipped "
                "(use --force to regrade)")
        if todo and not scheduler:
            module_checks.prepare_shared_data(course, log)
        shown = Progress(len(todo), show=progress, bar=bar, finished=finished)
        try:
            if scheduler and todo:
                from coursekit.autograde import cluster

                cluster.run_cluster(course, todo, scheduler, outcomes, shown, log)
            elif jobs <= 1:
                _run_serial(course, todo, outcomes, shown)
            else:
                _run_pool(course, todo, jobs, outcomes, shown, exiting)
        finally:
            shown.close()
        stopped = False
    except KeyboardInterrupt:
        stopped = True
    finally:
        shutil.rmtree(course.staging_dir, ignore_errors=True)
    from coursekit.autograde import report

    if stopped:
        log(f"coursekit autograde: stopping; writing {course.grades_csv} and the summary for the "
            "students graded so far")
    try:
        with interrupts.shielded("coursekit autograde: still writing grades.csv and the summary "
                                 "(Ctrl-C again abandons them)"):
            report.export(course)
    except KeyboardInterrupt:
        raise GradingInterrupted(outcomes, len(todo), force, exported=False) from None
    if stopped or interrupts.received():
        raise GradingInterrupted(outcomes, len(todo), force)
    return outcomes


def _run_serial(course, todo, outcomes, shown):
    with pipeline.scratch_folder(course) as base:
        _WORKER.update(course=course, scratch=base)
        for count, (student, folder) in enumerate(todo, 1):
            interrupts.checkpoint()     # a stop whose KeyboardInterrupt got lost
            if count == len(todo):      # the grading leaves a core to spare (one kernel)
                _warm_up_summary()
            began = time.time()
            try:
                outcome = _grade_task(student, folder)
            except KeyboardInterrupt:
                mark_interrupted(course, student, since=began)
                raise
            shown.done(outcomes, *outcome)


def _warm_up_summary():
    from coursekit.autograde import report

    report.warm_up()


def _run_pool(course, todo, jobs, outcomes, shown, exiting=None):
    """Grade `todo` in pools of `jobs` workers. `exiting`: a list that gets, for each pool
    whose students all finished, the thread that shuts it down (its workers exit while the
    caller goes on: join them); None: wait for the workers here."""
    pending, attempts = list(todo), {}
    while pending:
        pending = _pool_round(course, pending, jobs, outcomes, shown, attempts, exiting)


def _pool_round(course, pending, jobs, outcomes, shown, attempts, exiting=None):
    """Grade `pending` in one process pool, at most `jobs` students at a time (so a stop has
    nothing queued to cancel). Returns the students to grade in a fresh pool when a worker
    died (killed from outside, or a crash in C code): each is tried three times at most.
    A pool left with nothing to do shuts down in a thread put in `exiting` (see _run_pool);
    one left by an error or a stop, here."""
    queue, running, again, began = deque(pending), {}, [], {}
    finished = False
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(queue)), mp_context=context,
                               initializer=_init_worker, initargs=(course,))
    try:
        while running or (queue and not again):
            while queue and len(running) < jobs and not again:
                student, folder = queue.popleft()
                try:
                    began[student] = time.time()
                    running[pool.submit(_pool_task, student, folder)] = (student, folder)
                except BrokenProcessPool:
                    again.append((student, folder))
            done, _ = wait(running, return_when=FIRST_COMPLETED) if running else ((), ())
            for future in done:
                student, folder = running.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    attempts[student] = attempts.get(student, 0) + 1
                    if attempts[student] <= 2:
                        again.append((student, folder))
                        continue
                    error = "the grading worker process died twice on this submission"
                    record_error(course, student, error)
                    outcome = (student, 0.0, 0.0, error, 0.0)
                if outcome[3] == INTERRUPTED:   # a worker was stopped (SIGINT): stop the batch
                    running[future] = (student, folder)
                    raise KeyboardInterrupt
                shown.done(outcomes, *outcome)
            if not queue and not again and len(running) < jobs:
                _warm_up_summary()      # a worker is idle until the batch ends
        finished = True
    except KeyboardInterrupt:
        _stop_pool(course, pool, running, outcomes, shown, began)
        raise
    finally:
        if finished and exiting is not None:
            exiting.append(threading.Thread(target=pool.shutdown, name="coursekit-pool-exit",
                                            kwargs={"wait": True, "cancel_futures": True}))
            exiting[-1].start()
        else:
            pool.shutdown(wait=True, cancel_futures=True)
    return again + list(queue)


def _stop_pool(course, pool, running, outcomes, shown, began=None):
    """Interrupt the students being graded and give their workers STOP_GRACE_SECONDS to stop
    their kernels and clean up (a second Ctrl-C: no grace); kill the workers still busy then.
    A student who finished meanwhile counts as graded; the others' earlier results are marked
    (mark_interrupted)."""
    pids = list(getattr(pool, "_processes", None) or {})
    _signal_all(pids, signal.SIGINT)
    try:
        wait(running, timeout=STOP_GRACE_SECONDS)
    except KeyboardInterrupt:
        pass
    if not all(f.done() for f in running):
        _signal_all(pids, signal.SIGKILL)
        wait(running, timeout=STOP_GRACE_SECONDS)
    for future, (student, _) in running.items():
        outcome = None
        if future.done() and not future.cancelled() and future.exception() is None:
            outcome = future.result()
        if outcome is not None and outcome[3] != INTERRUPTED:
            shown.done(outcomes, *outcome)
        else:
            mark_interrupted(course, student, since=(began or {}).get(student))


def _signal_all(pids, signum):
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass
