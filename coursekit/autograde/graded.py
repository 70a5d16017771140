"""Which students of a batch are graded already (a rerun skips them), checked in parallel when
the class is big.

A student is graded when their result is complete (not an error, not interrupted) and its
fingerprint is that of what `collect` would copy from the submission now. Computing that
fingerprint collects the submission into a scratch copy, about 30 ms a student: a rerun of a
class of 600 spent some 17 s on it, one student after another, before any grading started.
With `-j N` and many students the check runs in N processes of its own (`pending`), started
with `spawn` like the grading pool, importing only this module and collect's (nbformat);
each ignores Ctrl-C, which the batch's main process handles (the check stops, unfinished
students are left out as when grading is stopped).
"""
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path

from coursekit.autograde import collect, scratch
from coursekit.autograde.result import ERROR, INTERRUPTED, Result

# Students checked in parallel only from this many: below it, starting the processes (about
# 1 s when nbformat loaded jsonschema's IRI checker, some 0.15 s since coursekit.startup defers
# it) costs about what the fingerprints save.
PARALLEL_FROM = 64


def submission_fingerprint(course, folder):
    """Fingerprint of what `collect` would copy (computed on a scratch copy)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix=scratch.pid_prefix("fp")) as tmp:
        return collect.collect_submission(folder, Path(tmp) / "s", course.notebooks,
                                          course.submission_limits)["fingerprint"]


def is_done(course, student, folder):
    try:
        result = Result.load(course.result_path(student))
    except (OSError, ValueError):
        return False
    return result.status not in (ERROR, INTERRUPTED) and \
        result.fingerprint == submission_fingerprint(course, folder)


def pending(course, submissions, force=False, jobs=1):
    """The (student, folder) pairs of `submissions` still to grade, in their order: all of them
    with `force`, else those `is_done` says are not graded, checked by `jobs` processes when
    there are at least PARALLEL_FROM students."""
    submissions = list(submissions)
    if force:
        return submissions
    if jobs <= 1 or len(submissions) < PARALLEL_FROM:
        done = [is_done(course, student, folder) for student, folder in submissions]
    else:
        done = _check_in_processes(course, submissions, jobs)
    return [pair for pair, graded in zip(submissions, done, strict=True) if not graded]


def _check_in_processes(course, submissions, jobs):
    students, folders = [s for s, _ in submissions], [f for _, f in submissions]
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_ignore_interrupts)
    try:
        chunk = max(1, len(submissions) // (4 * jobs))
        return list(pool.map(is_done, repeat(course), students, folders, chunksize=chunk))
    finally:
        # On Ctrl-C (the main process's KeyboardInterrupt) the queued checks are dropped; each
        # process finishes its current chunk and ends.
        pool.shutdown(wait=True, cancel_futures=True)


def _ignore_interrupts():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
