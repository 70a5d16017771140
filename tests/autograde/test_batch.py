"""Batch grading (slow): parallel equals serial, reruns, interruption, the command line."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tinycourse
from tinycourse import tiny_settings

from coursekit.autograde import batch

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent


def make_class(course_root, names=("ann", "bob", "cat", "dan")):
    submitted = course_root / "submitted"
    tinycourse.make_submission(course_root, submitted / names[0] / "assignment1")
    tinycourse.make_submission(course_root, submitted / names[1] / "assignment1",
                               add_body="return int(a + b)", iq2="2")
    folder = tinycourse.make_submission(course_root, submitted / names[2] / "assignment1")
    (folder / "ops.ipynb").unlink()
    folder = tinycourse.make_submission(course_root, submitted / names[3] / "assignment1",
                                        mul_body="return a + b")
    (folder / "adder.ipynb").rename(folder / "adder-Copy1.ipynb")


def comparable(result):
    result = dict(result)
    result.pop("timing")
    result["notebooks"] = {k: {kk: vv for kk, vv in v.items() if kk != "seconds"}
                           for k, v in result["notebooks"].items()}
    return result


def test_parallel_run_gives_the_same_results_as_a_serial_run(tiny_course, tmp_path):
    make_class(tiny_course)
    serial = tiny_settings(tiny_course, output_root=tmp_path / "serial")
    parallel = tiny_settings(tiny_course, output_root=tmp_path / "parallel")
    subs = batch.find_submissions(serial, tiny_course / "submitted")
    batch.grade_all(serial, subs, jobs=1, progress=False)
    batch.grade_all(parallel, subs, jobs=2, progress=False)
    assert serial.grades_csv.read_text() == parallel.grades_csv.read_text()
    for student, _ in subs:
        a = json.loads(serial.result_path(student).read_text())
        b = json.loads(parallel.result_path(student).read_text())
        assert comparable(a) == comparable(b), student
        pa = serial.feedback_dir / student / "assignment1" / "index.html"
        pb = parallel.feedback_dir / student / "assignment1" / "index.html"
        assert pa.read_text() == pb.read_text()
    rows = {r["student"]: r for r in csv.DictReader(serial.grades_csv.open())}
    assert [rows[s]["total"] for s in ("ann", "bob", "cat", "dan")] == ["10", "7", "7", "5"]
    # Forced rerun: graded again, same grades.
    before = serial.result_path("ann").stat().st_mtime_ns
    batch.grade_all(serial, subs[:1], jobs=1, force=True, progress=False)
    assert serial.result_path("ann").stat().st_mtime_ns != before
    assert rows["ann"]["total"] == next(
        r for r in csv.DictReader(serial.grades_csv.open()) if r["student"] == "ann")["total"]


def test_interrupted_run_keeps_finished_students_and_rerun_grades_the_rest(tiny_course, tmp_path):
    names = ("eve", "fay", "gus", "hal")
    make_class(tiny_course, names)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "coursekit", "autograde", "--all", "-q",
           "--course-root", str(tiny_course), "--output-root", str(out),
           "--submitted", str(tiny_course / "submitted"),
           "--module-grader", "tinycourse:fake_module_grader",
           "--inline-grader", "tinycourse:fake_inline_grader"]
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    results = out / "autograded"
    while time.monotonic() < deadline and not list(results.glob("*/assignment1.json")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    first, _ = proc.communicate(timeout=60)
    # The student being graded was interrupted, whatever error the stop left behind
    # (test_stop_aftermath.py): no result of theirs, no "grading failed".
    assert b"grading failed" not in first, first.decode(errors="replace")[-3000:]
    done = {p.parent.name for p in results.glob("*/assignment1.json")}
    assert done and len(done) < 8            # stopped part-way, something finished
    for student in done:
        json.loads((results / student / "assignment1.json").read_text())  # complete JSON
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{len(done)} submission(s) already graded" in rerun.stdout
    graded = {line.split(":")[0] for line in rerun.stdout.splitlines() if " / " in line}
    assert graded.isdisjoint(done)
    rows = list(csv.DictReader((results / "grades.csv").open()))
    assert {"eve", "fay", "gus", "hal"} <= {r["student"] for r in rows}
