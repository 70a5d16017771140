"""Many students: one long-lived worker process per job, a progress bar, skip what is done.

Each worker imports nbgrader once and grades student after student through its Python API
(about 1 s per notebook instead of 3 s of start-up per CLI call). Workers share nothing but
the gradebook; every student is written atomically by `pipeline.grade_submission`, so the
results do not depend on the number of workers or on the order, and an interrupted run
loses nothing already graded: a rerun skips every student whose result matches the
submission's fingerprint (unless forced).
"""
import json
import multiprocessing
import shutil
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from coursekit.autograde import collect, gradebook, pipeline
from coursekit.autograde.course import student_id_ok

_WORKER = {}


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


def submission_fingerprint(course, folder):
    """Fingerprint of what `collect` would copy (computed on a scratch copy)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ck-fp-") as tmp:
        return collect.collect_submission(folder, Path(tmp) / "s", course.notebooks)["fingerprint"]


def is_done(course, student, folder):
    path = course.result_path(student)
    if not path.exists():
        return False
    try:
        result = json.loads(path.read_text())
    except ValueError:
        return False
    return result.get("status") != "error" and \
        result.get("fingerprint") == submission_fingerprint(course, folder)


def _init_worker(course):
    from coursekit.autograde import nbgrade

    _WORKER["course"] = course
    _WORKER["scratch"] = nbgrade.prepare_worker(course)


def _grade_task(student, folder):
    course = _WORKER["course"]
    try:
        result = pipeline.grade_submission(course, student, folder, worker=_WORKER["scratch"])
        return student, result["score"], result["max_score"], None
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        record_error(course, student, error, traceback.format_exc())
        return student, 0.0, 0.0, error


def record_error(course, student, error, detail=""):
    """A result for a student the pipeline itself failed on (a grader bug, not the student's):
    marked as an error, so a rerun grades the student again."""
    result = {"version": pipeline.RESULT_VERSION, "student": student,
              "assignment": course.assignment, "status": "error", "fingerprint": "",
              "notebooks": {}, "items": [], "score": 0.0, "max_score": 0.0,
              "manual_pending": 0.0,
              "notices": [f"grading failed: {error}; the instructor has been told (see the log)"],
              "error_detail": detail[-4000:]}
    pipeline.atomic_write_text(course.result_path(student), pipeline.result_json(result))


def grade_all(course, submissions, jobs=1, force=False, progress=True, log=print):
    """Grade [(student, folder)]; returns {student: (score, max, error or None)}."""
    bad = [s for s, _ in submissions if not student_id_ok(s)]
    if bad:
        raise ValueError(f"coursekit autograde: unusable student id(s) {bad}: use letters, "
                         "digits and - _ . @ + only (rename the folders under submitted/)")
    gradebook.check_gradebook(course)
    pipeline.prepare(course)
    todo = [(s, f) for s, f in submissions if force or not is_done(course, s, f)]
    skipped = len(submissions) - len(todo)
    if skipped:
        log(f"coursekit autograde: {skipped} submission(s) already graded, skipped "
            "(use --force to regrade)")
    outcomes = {}
    bar = _progress(len(todo), progress)
    try:
        if jobs <= 1:
            _init_worker(course)
            for student, folder in todo:
                student, score, maximum, error = _grade_task(student, folder)
                outcomes[student] = (score, maximum, error)
                bar.update(1)
        else:
            _run_pool(course, todo, jobs, outcomes, bar)
    finally:
        bar.close()
        shutil.rmtree(course.staging_dir, ignore_errors=True)
    from coursekit.autograde import report

    report.export(course)
    return outcomes


def _run_pool(course, todo, jobs, outcomes, bar):
    pending = list(todo)
    attempts = {}
    while pending:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(pending)), mp_context=context,
                                 initializer=_init_worker, initargs=(course,)) as pool:
            futures = {pool.submit(_grade_task, s, f): (s, f) for s, f in pending}
            pending = []
            for future in as_completed(futures):
                student, folder = futures[future]
                try:
                    student, score, maximum, error = future.result()
                except BrokenProcessPool:
                    # A worker died (killed from outside, or a crash in C code): every
                    # student it still had is graded again in a fresh pool, twice at most.
                    attempts[student] = attempts.get(student, 0) + 1
                    if attempts[student] <= 2:
                        pending.append((student, folder))
                        continue
                    error = "the grading worker process died twice on this submission"
                    record_error(course, student, error)
                    score = maximum = 0.0
                outcomes[student] = (score, maximum, error)
                bar.update(1)


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total, enabled):
    if not enabled or total == 0:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="autograde", unit="student")
