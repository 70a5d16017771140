"""Timing of the grading pipeline, for `make bench` (coursekit.bench).

    from coursekit.autograde.benchmark import time_submission, batch_throughput
    time_submission("submitted/alice/assignment1")   # one submission, split per stage
    batch_throughput([...folders...], jobs=2)         # students per minute with -j 2

Both grade into a throw-away output folder and gradebook: the course's own autograded/,
feedback/ and gradebook.db are never touched.
"""
import shutil
import tempfile
import time
from pathlib import Path

from coursekit.autograde import batch, nbgrade, pipeline, scratch
from coursekit.autograde.grading_run import GradingRun


def master_submission(dest, saved_params=None, root=None):
    """Write what a student with the master solution hands in to `dest`: the master
    notebooks, the package (without the dataset) and `saved_params` ({file name: params
    dict}) as cs231n/saved/<file>; returns `dest`. The submission of the benchmark."""
    import numpy as np

    root = Path(root or GradingRun().root)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for nb in sorted((root / "source" / "assignment1").glob("*.ipynb")):
        shutil.copyfile(nb, dest / nb.name)
    shutil.copytree(root / "cs231n", dest / "cs231n", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "cifar-10-batches-py"))
    for name, params in (saved_params or {}).items():
        np.save(dest / "cs231n" / "saved" / name, params)
    return dest


def _scratch_course(course, tmp):
    tmp = Path(tmp)
    return (course or GradingRun()).with_(output_root=tmp, db_url=f"sqlite:///{tmp}/gradebook.db"
                                      "?timeout=60")


def time_submission(submission, course=None, student="bench"):
    """Grade one submission from scratch; returns the wall time and its split per stage.

    {"total_seconds", "prepare_seconds" (gradebook from the master notebooks, once per run),
     "scratch_seconds" (scratch folder set-up), "stages": {collect, nbgrader, inline,
     notebook_scores, modules, feedback, publish}, "notebooks": {name: seconds},
     "score", "max_score"}
    """
    tmp = tempfile.mkdtemp(prefix=scratch.pid_prefix("bench"))
    scratch_dir = None
    try:
        course = _scratch_course(course, tmp)
        start = time.monotonic()
        pipeline.prepare(course)
        prepared = time.monotonic()
        scratch_dir = nbgrade.prepare_scratch(course)
        ready = time.monotonic()
        result = pipeline.grade_submission(course, student, Path(submission),
                                           scratch_dir=scratch_dir)
        end = time.monotonic()
        return {"total_seconds": round(end - start, 2),
                "prepare_seconds": round(prepared - start, 2),
                "scratch_seconds": round(ready - prepared, 2),
                "stages": result.timing,
                "notebooks": {n: i.get("seconds") for n, i in result.notebooks.items()},
                "score": result.score, "max_score": result.max_score}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if scratch_dir is not None:
            scratch.remove_folder(scratch_dir)


def batch_throughput(submissions, jobs=2, course=None):
    """Grade [folder, ...] (or [(student, folder), ...]) with `jobs` workers.

    Returns {"students", "jobs", "seconds", "seconds_per_student", "errors"}."""
    pairs = [s if isinstance(s, tuple) else (f"s{i:03d}", Path(s))
             for i, s in enumerate(submissions)]
    tmp = tempfile.mkdtemp(prefix=scratch.pid_prefix("bench"))
    try:
        course = _scratch_course(course, tmp)
        pipeline.prepare(course)
        start = time.monotonic()
        outcomes = batch.grade_all(course, pairs, jobs=jobs, force=True, progress=False)
        seconds = time.monotonic() - start
        return {"students": len(pairs), "jobs": jobs, "seconds": round(seconds, 2),
                "seconds_per_student": round(seconds / max(1, len(pairs)), 2),
                "errors": sorted(s for s, o in outcomes.items() if o[2])}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
