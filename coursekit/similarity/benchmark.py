"""Timing of `coursekit similarity` on a generated class, for `make bench` (coursekit.bench).

    from coursekit.similarity.benchmark import bench_similarity
    bench_similarity()          # [Row]: 600 submissions compared, against the 5-minute target

The class (synthetic.random_class) is written to a throw-away folder: each student's functions
and solution cells are the master's, varied at random (lines dropped, repeated and added, a
third of the students with every variable renamed), so pairs share some code and most share
little, as in a class. Reading, comparing and writing the report are timed together.
"""
import shutil
import tempfile
import time
from pathlib import Path

from coursekit.course import current

from . import command, compare, synthetic

STUDENTS = 600
TARGET_SECONDS = 300


def time_class(students=STUDENTS, course=None, seed=0, jobs=2):
    """{"students", "generate_seconds", "seconds", "phases" (read, compare, report),
    "pairs_reported"} of one generated class, compared with `jobs` processes."""
    course = course or current()
    tmp = Path(tempfile.mkdtemp(prefix="coursekit-similarity-bench-"))
    try:
        start = time.perf_counter()
        synthetic.random_class(course, tmp / "submitted", students, seed=seed)
        generated = time.perf_counter()
        comparison, _, phases = command.run_similarity(
            course, tmp / "submitted", tmp / "reference", tmp / "autograded" / "similarity",
            compare.Settings(), jobs=jobs, log=lambda *_: None)
        end = time.perf_counter()
        return {"students": students, "generate_seconds": round(generated - start, 1),
                "seconds": round(end - generated, 1),
                "phases": {k: round(v, 1) for k, v in phases.items()},
                "pairs_reported": len(comparison.reported())}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_similarity(students=STUDENTS):
    """[Row] for coursekit.bench: the class compared, against the target of 5 minutes."""
    from coursekit.bench import Row

    figures = time_class(students)
    phases = ", ".join(f"{k} {v:.0f} s" for k, v in figures["phases"].items())
    return [Row(f"make similarity, {figures['students']} generated submissions, -j 2 ({phases}; "
                f"{figures['pairs_reported']} pairs reported), seconds",
                f"{figures['seconds']:.0f} s", f"< {TARGET_SECONDS} s",
                figures["seconds"] < TARGET_SECONDS)]
