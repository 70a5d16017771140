"""The warm grading processes of a Dask worker (cluster_task.Graders, cluster.warm), without a
cluster (make test): a process grades task after task, one that dies costs only its own
student and is replaced, one told to stop is never used again, and the grading settings are
prepared once per process. The real processes on a real cluster: test_cluster_run.py."""
import io
import os
import signal
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from coursekit.autograde import cluster, cluster_task

# Stands in for `python -m coursekit.autograde.cluster serve STATE`: the same protocol ("VERB
# JOB" lines in, JOB/answer.pickle and "done" out), each answer saying which process and how
# many jobs it had answered. A student's manifest {"die": True} makes it exit without an
# answer; {"sleep": s} waits that long first (SIGINT then answers "interrupted", as
# cluster.serve does).
FAKE_SERVE = textwrap.dedent("""
    import os, pickle, signal, sys, time
    from pathlib import Path

    stopped = []
    signal.signal(signal.SIGINT, lambda *_: stopped.append(True))
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    print("serving", sys.argv[1], flush=True)
    count = 0
    for line in sys.stdin:
        verb, job = line.rstrip("\\n").split(" ", 1)
        request = pickle.loads((Path(job) / "request.pickle").read_bytes())
        orders = request.get("manifest", {})
        if orders.get("die"):
            print("dying on", request["student"], flush=True)
            os._exit(3)
        deadline = time.monotonic() + orders.get("sleep", 0)
        while time.monotonic() < deadline and not stopped:
            time.sleep(0.05)
        count += 1
        answer = ({"interrupted": True} if stopped else
                  {"pid": os.getpid(), "count": count, "verb": verb,
                   "student": request.get("student")})
        (Path(job) / "answer.pickle").write_bytes(pickle.dumps(answer))
        replies.write("done\\n")
        replies.flush()
        if stopped:
            break
""")


@pytest.fixture
def worker(tmp_path, monkeypatch):
    """A stand-in Dask worker (its folder and address) whose warm processes run FAKE_SERVE."""
    script = tmp_path / "fake_serve.py"
    script.write_text(FAKE_SERVE)
    home = tmp_path / "worker"
    home.mkdir()
    fake = SimpleNamespace(local_directory=str(home), address="tcp://10.0.0.9:4242")
    fake._coursekit_graders = cluster_task.Graders(home, command=[sys.executable, str(script)])
    monkeypatch.setattr(cluster_task, "_worker", lambda: fake)
    yield fake
    pool = fake._coursekit_graders
    for grader in pool.idle + list(pool.busy):
        grader.stop()


def bundle():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("course/course.toml", "")
    return buffer.getvalue()


BUNDLE = bundle()
SETTINGS = {"kernel_threads": 1, "environment": {}}


def grade(student, **orders):
    return cluster_task.run_grading(BUNDLE, "d1", {**SETTINGS, "student": student,
                                                   "manifest": orders})


def test_one_warm_process_grades_task_after_task(worker):
    probe = cluster_task.run_grading(BUNDLE, "d1", dict(SETTINGS), "probe")
    first, second = grade("ann"), grade("bob")
    assert probe["verb"] == "probe" and (first["student"], second["student"]) == ("ann", "bob")
    assert probe["pid"] == first["pid"] == second["pid"]
    assert [probe["count"], first["count"], second["count"]] == [1, 2, 3]
    assert len(worker._coursekit_graders.idle) == 1


def test_a_process_that_dies_costs_only_its_student_and_is_replaced(worker):
    before = grade("ann")
    dead = grade("eve", die=True)
    assert "ended with exit code 3 without an answer" in dead["error"]
    assert worker.address in dead["error"]
    # The log quoted is this task's, not the whole life of the process.
    assert "dying on eve" in dead["detail"] and "serving" not in dead["detail"]
    after = grade("bob")
    assert after["student"] == "bob" and after["count"] == 1 and after["pid"] != before["pid"]


def test_a_process_killed_between_tasks_is_replaced(worker):
    before = grade("ann")
    os.kill(before["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while worker._coursekit_graders.idle[0].alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    after = grade("bob")
    assert after["student"] == "bob" and after["pid"] != before["pid"]


def test_other_settings_get_another_process_and_the_old_one_ends(worker):
    before = grade("ann")
    old = worker._coursekit_graders.idle[0]
    after = cluster_task.run_grading(BUNDLE, "d1", {**SETTINGS, "kernel_threads": 2,
                                                    "student": "bob"})
    assert after["pid"] != before["pid"] and not old.alive()
    assert not old.folder.exists()


def test_a_stopped_grading_answers_interrupted_and_its_process_is_not_reused(worker):
    grade("zed")    # the process is up, its signal handler set
    answers = {}
    task = threading.Thread(target=lambda: answers.update(grade("ann", sleep=30)))
    task.start()
    running = Path(worker.local_directory) / cluster_task.RUNNING
    deadline = time.monotonic() + 20
    while not list(running.glob("*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    (marker,) = running.glob("*")
    assert marker.read_text() == "ann"  # who is graded where, while it is
    assert cluster_task.stop_grading(worker) == 1
    task.join(timeout=20)
    assert answers == {"interrupted": True}
    assert not list(running.glob("*"))
    assert grade("bob")["pid"] != int(marker.name)


def test_two_tasks_at_once_get_two_processes(worker):
    answers = []
    tasks = [threading.Thread(target=lambda s=s: answers.append(grade(s, sleep=1)))
             for s in ("ann", "bob")]
    for task in tasks:
        task.start()
    for task in tasks:
        task.join(timeout=30)
    assert sorted(a["student"] for a in answers) == ["ann", "bob"]
    assert answers[0]["pid"] != answers[1]["pid"]
    assert len(worker._coursekit_graders.idle) == 2


def test_the_settings_key_ignores_the_student_and_sees_every_setting():
    one = cluster_task.settings_key({**SETTINGS, "student": "ann", "manifest": {},
                                     "submission": {"files": {"a": b"1"}}})
    assert one == cluster_task.settings_key({**SETTINGS, "student": "bob"})
    assert one == cluster_task.settings_key(dict(SETTINGS))     # the probe's
    assert one != cluster_task.settings_key({**SETTINGS, "kernel_threads": 2})
    assert one != cluster_task.settings_key({**SETTINGS, "environment": {"COURSEKIT_JAIL": "uid"}})


def test_a_warm_process_prepares_once_per_settings(monkeypatch, tmp_path):
    """cluster.warm: the course, its gradebook and data, and the scratch folder are made by
    the first job and kept; other settings make them again."""
    made, prepared, scratches, removed = [], [], [], []
    monkeypatch.setattr(cluster, "_WARM", {})
    monkeypatch.setattr(cluster, "worker_course",
                        lambda request, state: made.append(request["kernel_threads"]) or
                        SimpleNamespace(threads=request["kernel_threads"]))
    monkeypatch.setattr(cluster, "_prepare", lambda course, state: prepared.append(course))
    from coursekit.autograde import nbgrade, scratch
    monkeypatch.setattr(nbgrade, "prepare_scratch",
                        lambda course: scratches.append(tmp_path / f"s{len(scratches)}")
                        or scratches[-1])
    monkeypatch.setattr(scratch, "remove_folder", removed.append)
    first = cluster.warm({**SETTINGS, "student": "ann"}, tmp_path)
    second = cluster.warm({**SETTINGS, "student": "bob"}, tmp_path)
    assert first == second and len(made) == len(prepared) == len(scratches) == 1
    third = cluster.warm({**SETTINGS, "kernel_threads": 2, "student": "cy"}, tmp_path)
    assert third[0].threads == 2 and made == [1, 2] and len(prepared) == 2
    assert removed == [first[1]] and third[1] != first[1]


def test_the_machine_grading_cache_is_one_per_version_of_the_code_that_fills_it(monkeypatch,
                                                                              tmp_path):
    from coursekit.autograde import grading_cache

    code = [tmp_path / "data_utils.py", tmp_path / "features.py"]
    for path in code:
        path.write_text("x = 1\n")
    monkeypatch.setattr(grading_cache, "producers", lambda: code)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = grading_cache.machine_cache_root()
    assert first.parent == tmp_path / "cache" / "coursekit" / "grading-data"
    assert grading_cache.machine_cache_root() == first      # a new bundle, same code
    code[1].write_text("x = 2\n")
    assert grading_cache.machine_cache_root() != first
