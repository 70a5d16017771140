"""Grading on a Dask cluster, the parts that need no cluster (make test): submissions and answers
packed into bytes and back, the client's untrusted-file rules, the skip-graded rule on answers,
the merge of a worker's gradebook rows into the course's SQLite gradebook, the command line.
The cluster itself: test_cluster_run.py (make test-dask)."""
import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import tinycourse
from nbgrader.api import Gradebook
from tinycourse import tiny_settings

from coursekit.autograde import batch, cluster, gradebook
from coursekit.autograde.result import ERROR, Item, Result
from coursekit.untrusted import MB, Limits

REPO = Path(__file__).resolve().parents[2]


def write(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- packing ------------------------------------------------------------------------------------

def test_a_packed_folder_unpacks_to_the_same_files_and_folders(tmp_path):
    write(tmp_path / "a" / "knn.ipynb", b"{}")
    write(tmp_path / "a" / "cs231n" / "classifiers" / "knn.py", b"def f():\n    pass\n")
    (tmp_path / "a" / "cs231n" / "empty").mkdir()
    packed = cluster.pack_folder(tmp_path / "a")
    assert packed["files"] == {"knn.ipynb": b"{}",
                               "cs231n/classifiers/knn.py": b"def f():\n    pass\n"}
    out = cluster.unpack_folder(packed, tmp_path / "b", max_files=10, max_bytes=MB)
    assert (out / "cs231n" / "classifiers" / "knn.py").read_bytes() == b"def f():\n    pass\n"
    assert (out / "cs231n" / "empty").is_dir()


def test_links_are_never_packed_nor_followed(tmp_path):
    secret = write(tmp_path / "secret.txt", b"master solution")
    folder = tmp_path / "a"
    write(folder / "knn.ipynb", b"{}")
    os.symlink(secret, folder / "link.txt")
    os.symlink(tmp_path, folder / "linked_dir")
    packed = cluster.pack_folder(folder)
    assert set(packed["files"]) == {"knn.ipynb"}
    assert packed["dirs"] == []


@pytest.mark.parametrize("rel", ["../escape.py", "/etc/passwd", "a/../../x", "./a", "a//b", ""])
def test_unpacking_refuses_a_path_that_leaves_the_folder(tmp_path, rel):
    with pytest.raises(cluster.PackError, match="not a relative path inside it"):
        cluster.unpack_folder({"files": {rel: b"x"}, "dirs": []}, tmp_path / "out",
                              max_files=10, max_bytes=MB)
    assert not (tmp_path / "escape.py").exists()


def test_unpacking_refuses_too_many_files_or_bytes(tmp_path):
    many = {"files": {f"f{i}": b"" for i in range(11)}, "dirs": []}
    with pytest.raises(cluster.PackError, match="11 entries"):
        cluster.unpack_folder(many, tmp_path / "a", max_files=10, max_bytes=MB)
    big = {"files": {"f": b"x" * (MB + 1)}, "dirs": []}
    with pytest.raises(cluster.PackError, match="at most 1.0 MB"):
        cluster.unpack_folder(big, tmp_path / "b", max_files=10, max_bytes=MB)


def test_unpacking_never_writes_through_a_link_left_in_the_folder(tmp_path):
    outside = write(tmp_path / "outside.txt", b"keep")
    dest = tmp_path / "dest"
    dest.mkdir()
    os.symlink(outside, dest / "f.txt")
    cluster.unpack_folder({"files": {"f.txt": b"new"}, "dirs": []}, dest, 10, MB)
    assert outside.read_bytes() == b"keep"
    assert (dest / "f.txt").read_bytes() == b"new" and not (dest / "f.txt").is_symlink()


# --- the client's requests: collected with the grading host's rules ------------------------------

@pytest.fixture(scope="module")
def course(tiny_course):
    return tiny_course


def test_a_request_carries_the_collected_submission_not_what_the_rules_refuse(course, tmp_path):
    folder = tinycourse.make_submission(course, tmp_path / "ann" / "assignment1")
    os.symlink(course / "source" / "assignment1" / "adder.ipynb", folder / "ops.ipynb.bak")
    os.symlink(course / "source", folder / "master")
    write(folder / "data.bin", b"\0" * (2 * MB))
    run = tiny_settings(course, output_root=tmp_path / "out",
                        submission_limits=Limits(max_file_bytes=MB))
    request = cluster.request_for(run, "ann", folder, cluster.run_settings(run))
    files = request["submission"]["files"]
    assert {"adder.ipynb", "ops.ipynb", "tiny/ops.py"} <= set(files)
    assert not {"ops.ipynb.bak", "data.bin"} & set(files)
    assert not any(rel.startswith("master") for rel in files)
    skipped = " ".join(request["manifest"]["skipped"])
    assert "ops.ipynb.bak" in skipped and "data.bin" in skipped
    # The fingerprint the worker's result carries is the one the skip rule computes here.
    assert request["manifest"]["fingerprint"] == batch.submission_fingerprint(run, folder)
    assert request["student"] == "ann" and request["db_url"] is None


def test_the_settings_sent_to_workers_are_plain_data(course, tmp_path):
    import pickle

    run = tiny_settings(course, output_root=tmp_path / "out")
    settings = cluster.run_settings(run)
    assert settings["module_grader"] == "tinycourse:fake_module_grader"
    # Unpicklable without coursekit: no class or function of coursekit inside.
    assert b"coursekit" not in pickle.dumps(settings)


def test_a_postgres_gradebook_goes_to_the_workers_and_sqlite_stays_here(course, tmp_path,
                                                                           monkeypatch):
    url = "postgresql://grader:pw@db.example:5432/gradebook"
    monkeypatch.setenv("NBGRADER_DB_URL", url)
    assert cluster.run_settings(tiny_settings(course))["db_url"] == url
    monkeypatch.delenv("NBGRADER_DB_URL")
    assert cluster.run_settings(tiny_settings(course))["db_url"] is None


# --- answers: written as the pipeline would, the skip rule, errors -------------------------------

def answer_for(run, student, folder, score=2.0, files=None):
    request = cluster.request_for(run, student, folder, cluster.run_settings(run))
    result = Result(student, run.assignment, items=[Item("adder:test_add", "test", score, 2.0)],
                    fingerprint=request["manifest"]["fingerprint"])
    return {"result": result.dumps(),
            "autograded": {"files": files or {"adder.ipynb": b"{}"}, "dirs": []},
            "feedback": {"files": {"index.html": b"<html>ok</html>"}, "dirs": []},
            "gradebook": None, "seconds": 12.5}


def test_an_answer_is_written_like_a_local_grading_and_is_skipped_on_rerun(course, tmp_path):
    folder = tinycourse.make_submission(course, tmp_path / "sub" / "bob" / "assignment1")
    run = tiny_settings(course, output_root=tmp_path / "out")
    outcome = cluster.receive(run, "bob", answer_for(run, "bob", folder), 0.0)
    assert outcome == ("bob", 2.0, 2.0, None, 12.5)
    assert (run.autograded_dir / "bob" / "assignment1" / "adder.ipynb").read_bytes() == b"{}"
    assert (run.feedback_dir / "bob" / "assignment1" / "index.html").exists()
    assert json.loads(run.result_path("bob").read_text())["score"] == 2.0
    assert batch.is_done(run, "bob", folder)          # a rerun skips bob
    (folder / "tiny" / "ops.py").write_text("def mul(a, b):\n    return 0\n")
    assert not batch.is_done(run, "bob", folder)      # a changed submission is graded again


def test_a_worker_error_is_recorded_and_graded_again_next_run(course, tmp_path):
    folder = tinycourse.make_submission(course, tmp_path / "sub" / "cat" / "assignment1")
    run = tiny_settings(course, output_root=tmp_path / "out")
    error = "the Dask worker on w1 cannot grade: no bubblewrap sandbox"
    outcome = cluster.receive(run, "cat", {"error": error}, 0.0)
    assert outcome[3] == error
    assert Result.load(run.result_path("cat")).status == ERROR
    assert not batch.is_done(run, "cat", folder)


def test_an_answer_that_escapes_its_folder_costs_only_that_student(course, tmp_path):
    folder = tinycourse.make_submission(course, tmp_path / "sub" / "dan" / "assignment1")
    run = tiny_settings(course, output_root=tmp_path / "out")
    answer = answer_for(run, "dan", folder, files={"../../evil.txt": b"x"})
    outcome = cluster.receive(run, "dan", answer, 0.0)
    assert "could not be used" in outcome[3] and "not a relative path" in outcome[3]
    assert not list(tmp_path.rglob("evil.txt"))
    assert Result.load(run.result_path("dan")).status == ERROR


def test_an_interrupted_grading_is_no_outcome(course, tmp_path):
    run = tiny_settings(course, output_root=tmp_path / "out")
    assert cluster.receive(run, "eve", {"interrupted": True}, 0.0)[3] == batch.INTERRUPTED
    assert not run.result_path("eve").exists()


# --- the gradebook: a worker's rows merged into the client's SQLite ------------------------------

def copied_gradebook(course, tmp_path, name):
    """Settings of the tiny course with a copy of its gradebook (its assignment recorded by
    build_course, as pipeline.prepare records it on a worker)."""
    shutil.copyfile(course / "gradebook.db", tmp_path / f"{name}.db")
    return tiny_settings(course, output_root=tmp_path / name,
                         db_url=f"sqlite:///{tmp_path / name}.db?timeout=60")


def gradebook_with_student(course, tmp_path, name, student, auto_scores):
    run = copied_gradebook(course, tmp_path, name)
    with Gradebook(run.db_url) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(run.assignment, student)
        for (notebook, cell), score in auto_scores.items():
            grade = gb.find_grade(cell, notebook, run.assignment, student)
            grade.auto_score = score
            grade.needs_manual_grade = False
        gb.db.commit()
    return run


def test_a_workers_rows_replace_the_automatic_scores_and_keep_the_manual_ones(course, tmp_path):
    worker = gradebook_with_student(course, tmp_path, "worker", "fay",
                                    {("adder", "test_add"): 2.0, ("ops", "test_mul"): 0.0})
    client = gradebook_with_student(course, tmp_path, "client", "fay",
                                    {("adder", "test_add"): 0.0, ("ops", "test_mul"): 3.0})
    tinycourse.set_manual_score(client.db_url, "fay", 1.0)   # entered in formgrader
    rows = gradebook.student_rows(worker, "fay")
    assert rows["notebooks"]["adder"]["grades"]["test_add"]["auto_score"] == 2.0
    gradebook.merge_student_rows(client, "fay", rows)
    grades = {(g["name"]): g for nb in gradebook.notebook_grades(client, "fay").values()
              for g in nb}
    assert grades["test_add"]["auto_score"] == 2.0
    assert grades["test_mul"]["auto_score"] == 0.0
    assert grades["iq1_answer"]["manual_score"] == 1.0


def test_merging_creates_a_student_the_client_gradebook_never_saw(course, tmp_path):
    worker = gradebook_with_student(course, tmp_path, "worker", "gus",
                                    {("adder", "test_add"): 2.0})
    client = copied_gradebook(course, tmp_path, "client")
    gradebook.merge_student_rows(client, "gus", gradebook.student_rows(worker, "gus"))
    adder = {g["name"]: g for g in gradebook.notebook_grades(client, "gus")["adder"]}
    assert adder["test_add"]["score"] == 2.0


def test_rows_naming_cells_the_gradebook_lacks_are_refused(course, tmp_path):
    worker = gradebook_with_student(course, tmp_path, "worker", "hal",
                                    {("adder", "test_add"): 2.0})
    client = copied_gradebook(course, tmp_path, "client")
    rows = gradebook.student_rows(worker, "hal")
    adder = rows["notebooks"]["adder"]["grades"]
    adder["test_renamed"] = adder["test_add"]
    with pytest.raises(gradebook.GradebookError, match="test_renamed"):
        gradebook.merge_student_rows(client, "hal", rows)


# --- the command line and the optional dependency ------------------------------------------------

def test_importing_coursekit_never_imports_dask():
    code = ("import sys, coursekit.cli, coursekit.autograde.command, coursekit.autograde.batch, "
            "coursekit.autograde.cluster; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('dask', 'distributed')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_scheduler_without_dask_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)   # import fails as if not installed
    with pytest.raises(cluster.ClusterError, match="make dask-deps"):
        cluster.require_dask()


def test_scheduler_goes_with_all(tmp_path, capsys):
    from coursekit.cli import main

    code = main(["autograde", str(tmp_path), "--course-root", str(REPO),
                 "--scheduler", "tcp://127.0.0.1:1"])
    assert code == 2
    assert "--scheduler goes with --all" in capsys.readouterr().err


def test_the_probe_line_names_a_worker_on_dasks_defaults_and_the_settings_to_use():
    on = cluster.monitoring_text(True)
    assert on.startswith("Dask profiler on")
    assert f"DASK_CONFIG={cluster.DASK_CONFIG_FILE}" in on
    assert cluster.monitoring_text(False) == "Dask profiler off"
    assert cluster.monitoring_text(None) == "Dask monitoring unknown"


def test_the_grading_settings_for_dask_are_shipped_with_coursekit():
    import yaml

    settings = yaml.safe_load(cluster.DASK_CONFIG_FILE.read_text())
    assert settings["distributed"]["worker"]["profile"]["enabled"] is False
    # Installed with the tooling (package data), not only in this checkout.
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"coursekit.autograde" = ["*.sh", "*.yaml"]' in pyproject


def test_the_bundle_is_the_same_bytes_for_the_same_course_and_holds_the_grading_code():
    import io
    import zipfile

    from coursekit.autograde.grading_run import GradingRun

    run = GradingRun(root=REPO)
    data, digest = cluster.build_bundle(run)
    again, digest_again = cluster.build_bundle(run)
    assert (data, digest) == (again, digest_again)
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert {"course/coursekit/autograde/cluster.py", "course/coursekit/autograde/pipeline.py",
            "course/coursekit/jail.py", "course/course.toml"} <= names
    assert any(n.startswith("course/grading/hidden/") for n in names)
    assert not any("cifar-10-batches-py" in n or "__pycache__" in n for n in names)


# --- the client's schedule, on a scripted cluster -----------------------------------------------

class Future:
    """A task of the scripted cluster (hashable, as distributed's futures are)."""

    def __init__(self, key, student=None):
        self.key, self.student = key, student


class ScriptedCluster:
    """Stands in for distributed's Client and as_completed: each grading task finishes, in the
    order it was sent, with the next answer scripted for its student. `killed` students end in
    KilledWorker (their worker died allowed-failures times) on their first `killed[s]` tries."""

    def __init__(self, killed):
        self.killed = dict(killed)
        self.sent = []          # (student, students in flight when it was sent)
        self.in_flight = []
        self.loop = None

    def submit(self, fn, *args, key="", **kwargs):
        future = Future(key)
        if key.startswith("coursekit-grade-"):
            future.student = args[2]
            self.sent.append((future.student, [f.student for f in self.in_flight]))
            self.in_flight.append(future)
        return future

    def as_completed(self, loop=None):
        cluster_ = self

        class Completed:
            def add(self, future):
                pass

            def __iter__(self):
                while cluster_.in_flight:
                    yield cluster_.in_flight.pop(0)
        return Completed()

    def answer(self, future):
        student = future.student
        if self.killed.get(student, 0) > 0:
            self.killed[student] -= 1
            return {"error": "the grading worker died each time", "killed": True}
        return {"score": 1.0}


def test_a_student_whose_workers_died_is_graded_again_alone_once_then_counted(monkeypatch):
    """The scheduler counts a dead worker against each task it held: `innocent`, queued behind
    `doomed` on the same worker, also ends in KilledWorker. Both are tried once more, one at a
    time, with nothing else in flight; the innocent one is graded, the doomed one fails."""
    fake = ScriptedCluster(killed={"doomed": 2, "innocent": 1})
    monkeypatch.setitem(sys.modules, "distributed", types.SimpleNamespace(
        as_completed=fake.as_completed))
    monkeypatch.setattr(cluster, "build_bundle", lambda course: (b"bundle", "0" * 64))
    monkeypatch.setattr(cluster, "run_settings", lambda course: {})
    monkeypatch.setattr(cluster, "probe_workers", lambda *args: None)
    monkeypatch.setattr(cluster, "_workers", lambda client: ["w1", "w2"])
    monkeypatch.setattr(cluster, "request_for", lambda course, student, folder, settings: student)
    monkeypatch.setattr(cluster, "_answer", fake.answer)
    monkeypatch.setattr(cluster, "receive", lambda course, student, answer, start: (
        student, answer.get("score", 0.0), 1.0, answer.get("error"), 0.0))
    done, logged = [], []

    class Shown:
        def done(self, outcomes, student, score, maximum, error, seconds):
            done.append((student, error is None))

    todo = [(s, f"/submitted/{s}") for s in ("a", "doomed", "innocent", "b", "c")]
    cluster._grade_on(fake, course=None, todo=todo, outcomes={}, shown=Shown(),
                      log=logged.append)

    assert sorted(done) == [("a", True), ("b", True), ("c", True), ("doomed", False),
                            ("innocent", True)]
    tries = [student for student, _ in fake.sent]
    assert sorted(tries) == ["a", "b", "c", "doomed", "doomed", "innocent", "innocent"]
    # The second tries come after every first one, each sent with nothing else in flight.
    assert tries[:5] == ["a", "doomed", "innocent", "b", "c"]
    assert [(s, others) for s, others in fake.sent[5:]] == [("doomed", []), ("innocent", [])]
    assert sum("graded again alone" in line for line in logged) == 2


def test_a_killed_student_is_not_graded_alone_a_third_time(monkeypatch):
    fake = ScriptedCluster(killed={"doomed": 5})
    monkeypatch.setitem(sys.modules, "distributed", types.SimpleNamespace(
        as_completed=fake.as_completed))
    monkeypatch.setattr(cluster, "build_bundle", lambda course: (b"bundle", "0" * 64))
    monkeypatch.setattr(cluster, "run_settings", lambda course: {})
    monkeypatch.setattr(cluster, "probe_workers", lambda *args: None)
    monkeypatch.setattr(cluster, "_workers", lambda client: ["w1"])
    monkeypatch.setattr(cluster, "request_for", lambda course, student, folder, settings: student)
    monkeypatch.setattr(cluster, "_answer", fake.answer)
    monkeypatch.setattr(cluster, "receive", lambda course, student, answer, start: (
        student, 0.0, 1.0, answer.get("error"), 0.0))
    done = []

    class Shown:
        def done(self, outcomes, student, score, maximum, error, seconds):
            done.append((student, error))

    cluster._grade_on(fake, course=None, todo=[("doomed", "/d")], outcomes={}, shown=Shown(),
                      log=lambda line: None)
    assert [s for s, _ in fake.sent] == ["doomed", "doomed"]
    assert done == [("doomed", "the grading worker died each time")]
