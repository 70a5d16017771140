"""A class graded on a real local Dask cluster equals the class graded locally (make test-dask).

One `dask scheduler` and two `dask worker` programs, each worker in a folder of its own (its
working folder and local directory, no PYTHONPATH: the course reaches it only through the
tasks), grade master, the release (untouched stubs), a mutant of the master and a hostile
student with `coursekit autograde --all --scheduler`, while the same four are graded by a local
serial run (`-j 1`) side by side. Mid-batch, the worker grading the mutant is killed (SIGKILL)
while it grades: nothing is lost, every student is graded once, the grades equal the local
run's. A fifth student's worker is killed each time it grades it: it ends as that student's
failure (KilledWorker, the scheduler allowing one failure here), and the batch finishes.
"""
import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from attack_corpus import copies_master, symlink_package

from coursekit.autograde import benchmark, cluster, cluster_task
from coursekit.synthetic import write_synthetic_cifar10
from tests.grader.conftest import edit
from tests.grader.test_mutants import MUTANTS

pytestmark = [
    pytest.mark.dask,
    # Workers refuse to grade without the jail (cluster.sandbox_problem), as they should.
    pytest.mark.skipif(shutil.which("bwrap") is None,
                       reason="bubblewrap is not installed (apt-get install bubblewrap): the "
                              "workers grade in its jail"),
]

REPO = Path(__file__).resolve().parents[2]
RELEASE = REPO / "release" / "assignment1"
VENV_BIN = Path(sys.executable).parent
MUTANT = "two_loops_no_sqrt"
KILLED_ONCE = "mutant"          # its worker is killed once while it grades it
DOOMED = "zz_doomed"            # its worker is killed every time it grades it
STUDENTS = ("hostile", "master", "mutant", "release")


def make_class(submitted):
    benchmark.master_submission(submitted / "master" / "assignment1")
    shutil.copytree(RELEASE, submitted / "release" / "assignment1")
    mutant = benchmark.master_submission(submitted / "mutant" / "assignment1")
    for relpath, old, new in MUTANTS[MUTANT][1]:
        edit(mutant, relpath, old, new)
    hostile = submitted / "hostile" / "assignment1"
    shutil.copytree(RELEASE, hostile)
    context = {"repo": REPO}
    copies_master(hostile, context)
    symlink_package(hostile, context)
    # The attack's cell has no id: nbformat would make a random one each time the notebook is
    # read, and the two runs' notebooks (and fingerprints) would differ by it alone.
    knn = hostile / "knn.ipynb"
    nb = json.loads(knn.read_text())
    for number, cell in enumerate(nb["cells"]):
        cell.setdefault("id", f"hostile-{number}")
    knn.write_text(json.dumps(nb))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A scheduler and two workers started as separate programs, each in its own folder."""

    def __init__(self, root, data):
        self.root = root
        self.address = f"tcp://127.0.0.1:{free_port()}"
        clean = {k: v for k, v in os.environ.items()
                 if k not in ("PYTHONPATH", "COURSEKIT_COURSE", "NBGRADER_DB_URL")}
        # Started as docs/grading.md starts a grading cluster: with the course's Dask settings.
        clean["DASK_CONFIG"] = str(cluster.DASK_CONFIG_FILE)
        # One failure allowed: the second death of a worker grading the same student ends it.
        self.procs = [self._start(["scheduler", "--host", "127.0.0.1", "--port",
                                   self.address.rsplit(":", 1)[1], "--no-dashboard"],
                                  root / "scheduler", {**clean,
                                   "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"})]
        time.sleep(3)
        self.worker_dirs = []
        for name in ("worker-a", "worker-b"):
            folder = root / name
            self.worker_dirs.append(folder)
            self.procs.append(self._start(
                ["worker", self.address, "--nworkers", "1", "--nthreads", "1",
                 "--local-directory", str(folder), "--no-dashboard"],
                folder, {**clean, "CS231N_CIFAR10_DIR": str(data),
                         # One grading cache for both (this machine's, as by default), in the
                         # test's folder: not one more synthetic dataset's in ~/.cache.
                         "COURSEKIT_GRADING_CACHE": str(root / "grading-cache")}))

    def _start(self, args, folder, env):
        folder.mkdir(parents=True, exist_ok=True)
        log = open(folder / "log.txt", "wb")
        return subprocess.Popen([str(VENV_BIN / "dask"), *args], cwd=folder, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self):
        for proc in reversed(self.procs):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def gradings(worker_dirs):
    """{pid: (student, parent pid)} of the grading processes busy on this machine's workers:
    a warm grading process grades student after student, and its worker marks which one it
    grades now (cluster_task.RUNNING: a file named by the pid, holding the student)."""
    found = {}
    for folder in worker_dirs:
        # Only the markers' folders are listed (dask worker --local-directory FOLDER works in
        # FOLDER/dask-scratch-space/worker-*): a walk of the whole tree would meet the
        # gradings' folders as they are removed.
        try:
            markers = list(folder.glob(f"dask-scratch-space/*/{cluster_task.RUNNING}/*"))
        except OSError:
            continue        # a killed worker's folder, removed as it was listed: next time
        for marker in markers:
            try:
                student = marker.read_text()
                stat = Path(f"/proc/{marker.name}/stat").read_text()
            except OSError:
                continue    # done meanwhile
            found[int(marker.name)] = (student, int(stat.rsplit(")", 1)[1].split()[1]))
    return found


class Killer(threading.Thread):
    """Kills the worker process grading KILLED_ONCE once (a few seconds into its grading), and
    the one grading DOOMED every time, with SIGKILL."""

    def __init__(self, worker_dirs):
        super().__init__(daemon=True)
        self.worker_dirs = worker_dirs
        self.kills, self.seen = [], {}
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            for pid, (student, parent) in gradings(self.worker_dirs).items():
                first = self.seen.setdefault((pid, student), time.monotonic())
                once = student == KILLED_ONCE and not any(s == KILLED_ONCE for s, _ in self.kills)
                if (once and time.monotonic() - first > 5) or student == DOOMED:
                    try:
                        os.kill(parent, signal.SIGKILL)
                        self.kills.append((student, parent))
                    except ProcessLookupError:
                        pass
            time.sleep(0.3)


def autograde(args, env, out, submitted, force=True):
    return subprocess.Popen(
        [str(VENV_BIN / "coursekit"), "autograde", "--all", "-q", *(["--force"] if force else []),
         "--submitted", str(submitted), "--output-root", str(out), *args],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dask")
    data = write_synthetic_cifar10(tmp / "data", num_train=500, num_test=100)
    local_submitted = tmp / "submitted-local"
    make_class(local_submitted)
    cluster_submitted = tmp / "submitted-cluster"
    shutil.copytree(local_submitted, cluster_submitted, symlinks=True)
    benchmark.master_submission(cluster_submitted / DOOMED / "assignment1")
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_DB_URL", "PYTHONPATH")}
    env["CS231N_CIFAR10_DIR"] = str(data)
    dask_cluster = Cluster(tmp / "cluster", data)
    killer = Killer(dask_cluster.worker_dirs)
    try:
        start = time.monotonic()
        local = autograde(["-j", "1"], {**env, "NBGRADER_DB_URL":
                                        f"sqlite:///{tmp}/local.db?timeout=60"},
                          tmp / "local", local_submitted)
        killer.start()
        remote = autograde(["--scheduler", dask_cluster.address],
                           {**env, "NBGRADER_DB_URL": f"sqlite:///{tmp}/cluster.db?timeout=60"},
                           tmp / "cluster-out", cluster_submitted)
        remote_out, _ = remote.communicate(timeout=900)
        remote_seconds = time.monotonic() - start
        local_out, _ = local.communicate(timeout=900)
        print(f"cluster run {remote_seconds:.0f} s, local serial run (side by side) "
              f"{time.monotonic() - start:.0f} s, load {os.getloadavg()[0]:.1f}")
    finally:
        killer.done.set()
        dask_cluster.stop()
    # The same command again, without --force: the students graded on the cluster are skipped
    # by the local batch's rule (their results match their submissions' fingerprints).
    rerun = autograde(["--scheduler", dask_cluster.address],
                      {**env, "NBGRADER_DB_URL": f"sqlite:///{tmp}/cluster.db?timeout=60"},
                      tmp / "cluster-out", local_submitted, force=False)
    rerun_out, _ = rerun.communicate(timeout=300)
    return {"tmp": tmp, "local": (local.returncode, local_out, tmp / "local"),
            "cluster": (remote.returncode, remote_out, tmp / "cluster-out"),
            "rerun": (rerun.returncode, rerun_out),
            "kills": killer.kills, "workers": dask_cluster.worker_dirs}


def student_lines(output):
    return [line for line in output.splitlines()
            if re.match(r"^[\w.@+-]+: (grading failed|[\d.]+ / )", line)]


def comparable(path):
    """A result JSON without its timings, and the paths of the folders it was graded in (the
    instructor's notes name them) replaced by PATH."""
    result = json.loads(path.read_text())
    result.pop("timing", None)
    for info in result["notebooks"].values():
        info.pop("seconds", None)
    result["grader_notes"] = [re.sub(r"/\S+", "PATH", note)
                              for note in result.get("grader_notes", [])]
    return result


def page_text(path):
    """A feedback page as text: tags (how nbclient happened to split a stream) and timings
    printed by the notebooks left out."""
    text = re.sub(r"<[^>]+>", "", path.read_text())
    text = re.sub(r"took [\d.e-]+ ?(seconds|s)\b", "took N s", text)
    return re.sub(r"\s+", " ", text)


def test_both_runs_finish_and_grade_every_student_once(runs):
    code, output, _ = runs["local"]
    assert code == 0, output[-3000:]
    code, output, _ = runs["cluster"]
    lines = student_lines(output)
    assert sorted(line.split(":")[0] for line in lines) == sorted((*STUDENTS, DOOMED)), output
    # Exit code 1: the doomed student's grading failed, and only theirs.
    assert code == 1, output[-3000:]
    assert [line for line in lines if "grading failed" in line] == \
        [line for line in lines if line.startswith(f"{DOOMED}:")]


def test_a_worker_killed_mid_grading_loses_nothing(runs):
    killed = [student for student, _ in runs["kills"]]
    assert KILLED_ONCE in killed, runs["kills"]
    _, _, out = runs["cluster"]
    result = json.loads((out / "autograded" / KILLED_ONCE / "assignment1.json").read_text())
    assert result.get("status") != "error"
    assert result["score"] < json.loads(
        (out / "autograded" / "master" / "assignment1.json").read_text())["score"]


def test_a_submission_whose_worker_dies_each_time_ends_as_its_failure(runs):
    assert [s for s, _ in runs["kills"]].count(DOOMED) >= 2, runs["kills"]
    _, output, out = runs["cluster"]
    line = next(line for line in student_lines(output) if line.startswith(f"{DOOMED}:"))
    assert "the grading worker died each time" in line
    result = json.loads((out / "autograded" / DOOMED / "assignment1.json").read_text())
    assert result.get("status") == "error"      # a rerun grades them again


def test_grades_csv_json_and_feedback_equal_the_local_runs(runs):
    _, _, local = runs["local"]
    _, _, remote = runs["cluster"]
    local_rows = {r["student"]: r for r in csv.DictReader(
        (local / "autograded" / "grades.csv").open())}
    remote_rows = {r["student"]: r for r in csv.DictReader(
        (remote / "autograded" / "grades.csv").open())}
    for student in STUDENTS:
        assert remote_rows[student] == local_rows[student], student
        assert comparable(remote / "autograded" / student / "assignment1.json") == \
            comparable(local / "autograded" / student / "assignment1.json"), student
        pages = local / "feedback" / student / "assignment1"
        other = remote / "feedback" / student / "assignment1"
        names = sorted(p.name for p in pages.iterdir())
        assert names == sorted(p.name for p in other.iterdir()), student
        for name in names:
            if name.endswith(".html"):
                assert page_text(other / name) == page_text(pages / name), (student, name)
        graded = sorted(p.relative_to(local / "autograded" / student).as_posix()
                        for p in (local / "autograded" / student).rglob("*"))
        assert graded == sorted(p.relative_to(remote / "autograded" / student).as_posix()
                                for p in (remote / "autograded" / student).rglob("*"))
    # The class is told apart: the master earns most, the mutant less, the release nothing
    # of the tests of the functions it did not write.
    totals = {s: float(local_rows[s]["total"]) for s in STUDENTS}
    assert totals["master"] > totals["mutant"] > totals["release"]
    assert totals["hostile"] <= totals["release"]


def test_a_rerun_skips_the_students_graded_on_the_cluster(runs):
    code, output = runs["rerun"]
    assert code == 0, output[-3000:]
    assert f"{len(STUDENTS)} submission(s) already graded, skipped" in output
    assert student_lines(output) == []


def test_workers_grade_with_the_shipped_course_from_their_own_folders(runs):
    _, output, _ = runs["cluster"]
    lines = [line for line in output.splitlines() if "coursekit from" in line]
    assert len(lines) == 2, output[-3000:]
    for line in lines:
        coursekit_dir, course = re.search(r"coursekit from (\S+), course (\S+),", line).groups()
        folder = next(w for w in runs["workers"] if coursekit_dir.startswith(f"{w}/"))
        assert course.startswith(f"{folder}/") and coursekit_dir == f"{course}/coursekit"
        assert not coursekit_dir.startswith(f"{REPO}/")
        assert "sandbox bwrap, Dask profiler off" in line
    assert {re.search(r"coursekit from (\S+?/worker-[ab])/", line).group(1)
            for line in lines} == {str(w) for w in runs["workers"]}
