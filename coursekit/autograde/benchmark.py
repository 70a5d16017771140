"""Timing of the grading pipeline, for `make bench` (coursekit.bench).

    from coursekit.autograde.benchmark import time_submission, batch_throughput
    time_submission("submitted/alice/assignment1")   # one submission, split per stage
    batch_throughput([...folders...], jobs=2)         # students per minute with -j 2

Both grade into a throw-away output folder and gradebook: the course's own autograded/,
feedback/ and gradebook.db are never touched.
"""
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from coursekit.autograde import batch, nbgrade, pipeline, scratch
from coursekit.autograde.grading_run import GradingRun


@contextmanager
def tree_cpu(interval=0.25):
    """CPU seconds (user + sys) of this process and of every process under it during the
    block, read from each process while it lives (psutil, every `interval` seconds). Yields a
    dict whose "seconds" is set at the end. getrusage(RUSAGE_CHILDREN) would miss the grading
    kernels: their sandbox is killed before it reaps them. Missed here: at most the last
    `interval` of each process under this one. Also sets "peak_rss_mb": the largest sum of the
    resident memory of this process and every process under it seen at one sample (an upper
    bound of what the tree needs: pages shared between processes, numpy's libraries and the
    memory-mapped grading data, count in each)."""
    import threading

    import psutil

    me = psutil.Process()
    latest = {}
    peak = [0]

    def sample():
        try:
            processes = me.children(recursive=True)
            resident = me.memory_info().rss
        except psutil.Error:
            return
        for process in processes:
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    latest[(process.pid, process.create_time())] = times.user + times.system
                    resident += process.memory_info().rss
            except psutil.Error:
                continue    # ended between the listing and the reading
        peak[0] = max(peak[0], resident)

    sample()
    before = dict(latest)
    own = sum(me.cpu_times()[:2])
    stop = threading.Event()
    sampler = threading.Thread(target=lambda: [sample() for _ in iter(
        lambda: stop.wait(interval), True)], daemon=True)
    sampler.start()
    out = {}
    try:
        yield out
    finally:
        stop.set()
        sampler.join()
        sample()
        out["seconds"] = sum(me.cpu_times()[:2]) - own + sum(
            t - before.get(key, 0.0) for key, t in latest.items())
        out["peak_rss_mb"] = round(peak[0] / 2**20)


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


@contextmanager
def gradebook_activity(db_url=None):
    """Count, in this process, the gradebook sessions opened (nbgrader's `Gradebook`, by
    nbgrader and by us), the seconds spent opening them, and the commits to the database
    (with their seconds); of every database, or of `db_url`'s only. Yields a dict filled as it
    goes: {"opened", "open_seconds", "commits", "commit_seconds", "writes"}: "writes" counts
    the commits that wrote rows (nbgrader's `Gradebook` commits once as it opens, a read)."""
    from nbgrader.api import Gradebook
    from sqlalchemy import event
    from sqlalchemy.engine import make_url
    from sqlalchemy.orm import Session

    seen = {"opened": 0, "open_seconds": 0.0, "commits": 0, "commit_seconds": 0.0,
            "writes": 0}
    began, wrote = [], set()
    original = Gradebook.__init__

    def counted(url):
        if db_url is None:
            return True
        url, target = make_url(url), make_url(db_url)
        return (url.drivername, url.database) == (target.drivername, target.database)

    def counted_init(self, *args, **kwargs):
        start = time.monotonic()
        try:
            return original(self, *args, **kwargs)
        finally:
            if counted(args[0] if args else kwargs["db_url"]):
                seen["opened"] += 1
                seen["open_seconds"] += time.monotonic() - start

    def before(session):
        began.append(time.monotonic())

    def flushed(session, _context, _instances):
        # Before the flush: what it is about to write.
        if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
            wrote.add(id(session))

    def rolled_back(session):
        wrote.discard(id(session))

    def commit(session):
        start = began.pop() if began else None
        writing = id(session) in wrote
        wrote.discard(id(session))
        if not counted(session.get_bind().url):
            return
        seen["commits"] += 1
        seen["writes"] += writing
        if start is not None:
            seen["commit_seconds"] += time.monotonic() - start

    Gradebook.__init__ = counted_init
    event.listen(Session, "before_commit", before)
    event.listen(Session, "after_commit", commit)
    event.listen(Session, "before_flush", flushed)
    event.listen(Session, "after_rollback", rolled_back)
    try:
        yield seen
    finally:
        Gradebook.__init__ = original
        event.remove(Session, "before_commit", before)
        event.remove(Session, "after_commit", commit)
        event.remove(Session, "before_flush", flushed)
        event.remove(Session, "after_rollback", rolled_back)


def time_submission(submission, course=None, student="bench"):
    """Grade one submission from scratch; returns the wall time and its split per stage.

    {"total_seconds", "prepare_seconds" (gradebook from the master notebooks, once per run),
     "scratch_seconds" (scratch folder set-up), "stages": {collect, nbgrader, inline,
     notebook_scores, modules, feedback, publish}, "notebooks": {name: seconds},
     "score", "max_score", "gradebook": gradebook_activity's counts of the course's gradebook
     while grading}
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
        with gradebook_activity(course.db_url) as activity:
            result = pipeline.grade_submission(course, student, Path(submission),
                                               scratch_dir=scratch_dir)
        end = time.monotonic()
        return {"total_seconds": round(end - start, 2),
                "prepare_seconds": round(prepared - start, 2),
                "scratch_seconds": round(ready - prepared, 2),
                "stages": result.timing,
                "notebooks": {n: i.get("seconds") for n, i in result.notebooks.items()},
                "score": result.score, "max_score": result.max_score,
                "gradebook": activity}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if scratch_dir is not None:
            scratch.remove_folder(scratch_dir)


def batch_throughput(submissions, jobs=2, course=None):
    """Grade [folder, ...] (or [(student, folder), ...]) with `jobs` workers.

    Returns {"students", "jobs", "seconds", "seconds_per_student",
    "steady_seconds_per_student", "end_seconds", "cpu_seconds_per_student", "peak_rss_mb",
    "errors"}: "end_seconds" from the last student's finish to grade_all's return; CPU
    time (user + sys) and peak resident memory are this process's and those of every process
    under it (workers, sandboxes, kernels, judges, the module checks: `tree_cpu`).
    "steady_seconds_per_student" is `steady_seconds` of the students' finish times."""
    pairs = [s if isinstance(s, tuple) else (f"s{i:03d}", Path(s))
             for i, s in enumerate(submissions)]
    tmp = tempfile.mkdtemp(prefix=scratch.pid_prefix("bench"))
    try:
        course = _scratch_course(course, tmp)
        pipeline.prepare(course)
        finished = []
        start = time.monotonic()
        with tree_cpu() as tree:
            outcomes = batch.grade_all(course, pairs, jobs=jobs, force=True, progress=False,
                                       finished=finished)
        end = time.monotonic()
        seconds, cpu = end - start, tree["seconds"]
        steady = steady_seconds(finished, jobs)
        return {"students": len(pairs), "jobs": jobs, "seconds": round(seconds, 2),
                "seconds_per_student": round(seconds / max(1, len(pairs)), 2),
                "steady_seconds_per_student": None if steady is None else round(steady, 2),
                "end_seconds": round(end - max(finished), 2) if finished else None,
                "cpu_seconds_per_student": round(cpu / max(1, len(pairs)), 2),
                "peak_rss_mb": tree["peak_rss_mb"],
                "errors": sorted(s for s, o in outcomes.items() if o[2])}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def steady_seconds(finished, jobs):
    """Seconds per student of a batch once it runs, from the times its students finished (in
    order): the students after the first `jobs` over the time from the `jobs`-th finish to the
    last. What a class pays per student: it leaves out what a batch pays once (starting the
    workers, each worker's first grading process set-up, grades.csv and the summary at the
    end) and keeps the idle tail of workers that ran out of students. None with no more than
    `jobs` students."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    if len(finished) <= jobs:
        return None
    times = sorted(finished)
    return (times[-1] - times[jobs - 1]) / (len(times) - jobs)


def kernel_start_seconds(course=None, repeats=3):
    """Best seconds to start one grading kernel (GuardedKernelManager: the jail, the copy of
    the submission, the guard) until it answers, and to shut it down: what starting the next
    notebook's kernel ahead and killing it at the end hide (kernels_ahead.py). Returns
    (start, shutdown)."""
    import asyncio

    course = course or GradingRun()
    base = nbgrade.prepare_scratch(course)
    try:
        nbgrade.begin_submission(course)
        (base / "submission").mkdir(mode=0o755)
        nbgrade.KernelSettings.submitted = str(base / "submission")
        log = base / "guard.log"
        log.touch()
        nbgrade.KernelSettings.guard = {"deny_read": [], "allow_read": [], "allow_write": [],
                                        "log": str(log)}

        async def once():
            km = nbgrade.GuardedKernelManager()
            start = time.monotonic()
            await km.start_kernel(extra_arguments=[
                "--HistoryManager.hist_file=:memory:",
                f"--IPKernelApp.exec_lines={nbgrade.GUARD_LINE}"])
            client = km.client()
            client.start_channels()
            try:
                await client.wait_for_ready(timeout=120)
            finally:
                client.stop_channels()
            ready = time.monotonic()
            await km.shutdown_kernel()
            return ready - start, time.monotonic() - ready

        runs = [asyncio.run(once()) for _ in range(repeats)]
        return min(r[0] for r in runs), min(r[1] for r in runs)
    finally:
        scratch.remove_folder(base)


# --- kernels started ahead, one judge per student (kernels_ahead.py) --------------------

# The settings compared: (KernelSettings.start_ahead, KernelSettings.one_judge,
# GradingRun.modules_beside, KernelSettings.zygote).
GAIN_SETTINGS = {"all": (True, True, True, True), "no kernels ahead": (False, True, True, False),
                 "no judge reuse": (True, False, True, True),
                 "modules after": (True, True, False, True),
                 "no zygote": (True, True, True, False)}


def kernels_ahead_gains(submission, course=None, repeats=1):
    """One submission graded with each of `GAIN_SETTINGS` in turn (interleaved, best of
    `repeats` each): every gain (the default), without kernels started ahead (each notebook
    starts its kernel and waits for it to shut down, as before), without one judge per student
    (a judge per notebook, as before), the module checks after the notebooks rather than
    beside them (as before), without the student's zygote (each kernel started in a jail of
    its own, as before). Returns {setting: {"nbgrader" (the stage's seconds), "total", "cpu"
    (CPU seconds of the grading and all its processes), "ahead" (notebooks that ran in a
    kernel started ahead), "forked" (in a kernel forked by the zygote), "notebooks",
    "score"}}."""
    from coursekit.autograde import kernels_ahead

    course = course or GradingRun()
    settings = nbgrade.KernelSettings
    saved = (settings.start_ahead, settings.one_judge, settings.zygote)
    best = {}
    try:
        for _ in range(repeats):
            for name, (ahead, one_judge, beside, zygote) in GAIN_SETTINGS.items():
                settings.start_ahead, settings.one_judge, settings.zygote = (
                    ahead, one_judge, zygote)
                with tree_cpu() as tree:
                    timing = time_submission(submission, course.with_(modules_beside=beside))
                used = kernels_ahead.StudentKernels.last_used
                run = {"nbgrader": timing["stages"]["nbgrader"],
                       "total": timing["total_seconds"] - timing["prepare_seconds"],
                       "cpu": round(tree["seconds"], 2),
                       "ahead": sum(u.ahead for u in used),
                       "forked": sum(u.forked for u in used), "notebooks": len(used),
                       "score": timing["score"]}
                if name not in best or run["nbgrader"] < best[name]["nbgrader"]:
                    best[name] = run
    finally:
        settings.start_ahead, settings.one_judge, settings.zygote = saved
    return best


# What every notebook's kernel imports before its own work (the master notebooks' set-up cell).
FIRST_CELL = "import numpy as np\nimport matplotlib.pyplot as plt\n%matplotlib inline"


def zygote_kernel_cpu(notebooks=5, repeats=3):
    """The CPU one student's kernels cost beyond their cells: a student of `notebooks`
    notebooks, each a single cell that imports numpy and pyplot (FIRST_CELL), graded as the
    pipeline runs them (kernels started ahead, one judge), with the kernels forked from the
    student's zygote and each started on its own, interleaved, best of `repeats` each.
    Returns {"forked": CPU seconds, "own": CPU seconds} (the grader and all its processes)."""
    from nbformat.v4 import new_code_cell, new_notebook

    from coursekit.autograde import kernels_ahead

    course = GradingRun()
    settings = nbgrade.KernelSettings
    saved = (settings.zygote, settings.submitted, settings.guard, settings.notebook)
    base = nbgrade.prepare_scratch(course)
    best = {}
    try:
        stage = base / "stage"
        staged = stage / "submitted" / "bench" / "assignment1"
        staged.mkdir(parents=True)
        settings.submitted = str(staged)
        logs = {f"nb{i}": stage / f"guard-nb{i}.log" for i in range(notebooks)}
        spec = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                               "language": "python"}}
        for _ in range(repeats):
            for forked in (True, False):
                settings.zygote = forked
                nbgrade.begin_submission(course)
                with tree_cpu() as tree, kernels_ahead.student_kernels(
                        course, stage, logs, student="bench") as session:
                    for name, log in logs.items():
                        settings.guard = nbgrade.guard_settings(course, stage, log)
                        settings.notebook = name
                        nb = new_notebook(cells=[new_code_cell(FIRST_CELL)], metadata=spec)
                        nbgrade.GuardedExecute(timeout=120, kernel_name="python3",
                                               startup_timeout=120).preprocess(
                            nb, {"metadata": {"path": str(staged)}})
                if [u.forked for u in session.used] != [forked] * notebooks:
                    raise RuntimeError(f"zygote_kernel_cpu: kernels forked {session.used}, "
                                       f"expected {forked} for all")
                key = "forked" if forked else "own"
                best[key] = round(min(best.get(key, float("inf")), tree["seconds"]), 2)
    finally:
        settings.zygote, settings.submitted, settings.guard, settings.notebook = saved
        scratch.remove_folder(base)
    return best


# --- the floor: the notebooks' own cells ------------------------------------------------

def cell_seconds(nb):
    """Seconds each code cell of an executed notebook ran in its kernel, in order: from the
    kernel's `execute_input` message to its `execute_reply` (the timestamps nbclient records in
    each cell's `metadata.execution`). A cell without both (never run) is left out."""
    from datetime import datetime

    seconds = []
    for cell in nb.cells:
        stamps = cell.get("metadata", {}).get("execution", {})
        start, end = stamps.get("iopub.execute_input"), stamps.get("shell.execute_reply")
        if cell.get("cell_type") == "code" and start and end:
            seconds.append((datetime.fromisoformat(end) - datetime.fromisoformat(start))
                           .total_seconds())
    return seconds


def _grading_data_env(course):
    """The data variables grading gives its kernels: the CIFAR-10 folder and the prepared
    grading subset (without the subset, the given loader reads all of CIFAR-10 under nbgrader,
    seconds per notebook that grading does not spend)."""
    from coursekit.autograde.grading_cache import data_utils

    data_dir = nbgrade.grading_data_dir(course)
    subsets = nbgrade.grading_subsets(data_dir) if data_dir else None
    return {"CS231N_CIFAR10_DIR": data_dir,
            data_utils().GRADING_CACHE_ENV: str(subsets) if subsets else None}


def notebook_floor(submission, course=None, timeout=600):
    """The work grading cannot avoid for one submission: each of its notebooks executed as
    handed in, all cells in one plain kernel per notebook, in grading mode
    (NBGRADER_EXECUTION=autograde), with the data and the BLAS threads grading gives kernels.

    Counted: the sum over code cells of `cell_seconds` (the kernel executing the cell). Not
    counted: kernel start-up and shut-down, reading and writing notebooks, and all of
    grading's own work (gradebook, sandbox, guard, judging tests outside the kernel,
    module checks, feedback). Returns {"notebooks": {name: seconds}, "seconds", "errors"}.
    """
    import nbformat
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    from coursekit import jail
    from coursekit.notebooks.run import environment

    course = course or GradingRun()
    env = {"NBGRADER_EXECUTION": "autograde", "CS231N_GRADING_MODE": None,
           **_grading_data_env(course), **jail.blas_threads(course.kernel_threads)}
    notebooks, errors = {}, []
    with tempfile.TemporaryDirectory(prefix=scratch.pid_prefix("bench-floor")) as tmp, \
            environment(**env):
        work = Path(tmp) / "work"
        shutil.copytree(submission, work)
        for name in course.notebooks:
            nb = nbformat.read(str(work / f"{name}.ipynb"), as_version=4)
            # Over IPC in this floor's own folder, as grading's kernels: TCP ports picked by
            # two floors measured side by side could be the same one (the second kernel then
            # died on "Address already in use").
            km = AsyncKernelManager(kernel_name="python3", transport="ipc",
                                    ip=str(Path(tmp) / f"ipc-{name}"))
            NotebookClient(nb, km=km, timeout=timeout, allow_errors=True, record_timing=True,
                           resources={"metadata": {"path": str(work)}}).execute()
            notebooks[name] = round(sum(cell_seconds(nb)), 2)
            errors += [f"{name}: {o.get('ename')}" for c in nb.cells if c.cell_type == "code"
                       for o in c.get("outputs", []) if o.get("output_type") == "error"]
    return {"notebooks": notebooks, "seconds": round(sum(notebooks.values()), 2),
            "errors": errors}


def floor_side_by_side(submissions):
    """The floor (`notebook_floor`) of each of `submissions`, all measured at once, each in a
    process of its own: what the cells alone take when a -j N batch (N = how many) shares the
    machine between N students (caches, memory bandwidth, the cores' clocks). Returns
    {"jobs", "seconds" (the mean per submission), "each", "errors"}."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(submissions), mp_context=context) as pool:
        floors = list(pool.map(notebook_floor, [str(s) for s in submissions]))
    each = [f["seconds"] for f in floors]
    return {"jobs": len(each), "seconds": round(sum(each) / len(each), 2), "each": each,
            "errors": [e for f in floors for e in f["errors"]]}


def plain_nbgrader(submission, course=None, student="bench"):
    """The same submission graded by plain `nbgrader autograde` (the tool a course would
    otherwise run): a throw-away course folder whose source/ holds the master notebooks,
    `nbgrader generate_assignment` (not timed), then `nbgrader autograde` as a command, timed.
    Same data and BLAS threads as grading. Returns {"seconds", "graded" (notebooks written)}."""
    import subprocess
    import sys

    from coursekit import jail
    from coursekit.notebooks.run import environment

    course = course or GradingRun()
    nbgrader = [str(Path(sys.executable).with_name("nbgrader"))]
    env = {**_grading_data_env(course), "NBGRADER_DB_URL": None,
           **jail.blas_threads(course.kernel_threads)}
    with tempfile.TemporaryDirectory(prefix=scratch.pid_prefix("bench-nbgrader")) as tmp, \
            environment(**env):
        root = Path(tmp)
        shutil.copytree(course.source_dir, root / "source" / course.assignment)
        (root / "nbgrader_config.py").write_text(
            "c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.root = {str(root)!r}\n"
            "c.Execute.timeout = 600\n")
        subprocess.run([*nbgrader, "generate_assignment", course.assignment, "--force"],
                       cwd=root, check=True, capture_output=True)
        shutil.copytree(submission, root / "submitted" / student / course.assignment)
        start = time.monotonic()
        done = subprocess.run([*nbgrader, "autograde", course.assignment, "--student", student,
                               "--force"], cwd=root, capture_output=True, text=True)
        seconds = time.monotonic() - start
        graded = sorted(p.stem for p in
                        (root / "autograded" / student / course.assignment).glob("*.ipynb"))
        if done.returncode != 0:
            raise RuntimeError(f"bench: nbgrader autograde failed: {done.stderr[-2000:]}")
    return {"seconds": round(seconds, 2), "graded": graded}


# --- through a Dask cluster -------------------------------------------------------------

def dask_unavailable(python=None):
    """Why the Dask row cannot be measured here ("" when it can): `distributed` must import,
    and `coursekit autograde` must have --scheduler."""
    import subprocess
    import sys

    python = python or sys.executable
    probe = subprocess.run([python, "-c", "import distributed"], capture_output=True)
    if probe.returncode != 0:
        return "distributed is not installed"
    usage = subprocess.run([python, "-m", "coursekit", "autograde", "--help"],
                           capture_output=True, text=True)
    if "--scheduler" not in usage.stdout:
        return "coursekit autograde has no --scheduler"
    return ""


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port, seconds=60):
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"bench: the Dask scheduler did not listen on port {port} in {seconds} s")


def dask_throughput(submissions, workers=2, course=None):
    """Grade [folder, ...] through a Dask cluster on this machine: `dask scheduler` and
    `workers` x `dask worker --nworkers 1 --nthreads 1`, each a subprocess in a folder of its
    own, started with the course's grading settings (cluster.DASK_CONFIG_FILE, as
    docs/grading.md starts them), and `coursekit autograde --all --scheduler ...` timed as a
    command, twice on the same cluster (worker start-up not counted):

    - "fresh": the first run, which also pays each worker's set-up once (the course bundle
      unpacked, a warm grading process started, its gradebook prepared): with a few students
      per worker, a large share of their time;
    - the second run of the same students (--force) on the cluster kept running: what every
      later student of a class costs, the figure a class of hundreds sees.

    Returns {"available": False, "why"} when it cannot run here, else {"available": True,
    "students", "workers", "seconds", "seconds_per_student", "steady_seconds_per_student"
    (steady_seconds of the times the command printed each student's line), and
    "cpu_seconds_per_student" (the CLI, scheduler, workers and kernels: `tree_cpu`): the second
    run's, and "fresh": the same of the first run}.
    The workers read the shared grading data from this machine's grading cache
    (grading_cache.machine_cache_root): the first run on a machine prepares it, inside the
    timing (minutes of CPU on the real CIFAR-10); later runs find it, as a local batch finds
    the course's."""
    import sys

    why = dask_unavailable()
    if why:
        return {"available": False, "why": why}
    course = course or GradingRun()
    tmp = Path(tempfile.mkdtemp(prefix=scratch.pid_prefix("bench-dask")))
    try:
        submitted = tmp / "submitted"
        for i, folder in enumerate(submissions):
            shutil.copytree(folder, submitted / f"s{i:03d}" / course.assignment)
        env = {**os.environ, "NBGRADER_DB_URL": f"sqlite:///{tmp}/gradebook.db?timeout=60"}
        alone = tmp / "alone"
        shutil.copytree(submitted / "s000", alone / "s000")
        runs, client = [], []
        with local_cluster(tmp / "cluster", workers) as (address, _):
            for folder in (submitted, submitted, alone):     # fresh, running, one student
                # Read before the cluster stops: the workers' CPU is counted while they live.
                with tree_cpu() as cpu:
                    start, reaped = time.monotonic(), children_cpu()
                    code, _, err, finished = timed_lines(
                        [sys.executable, "-m", "coursekit", "autograde", "--all", "--scheduler",
                         address, "--submitted", str(folder), "--output-root",
                         str(tmp / "out"), "--force", "-q"], env=env, cwd=course.root)
                    seconds = time.monotonic() - start
                    client.append(children_cpu() - reaped)    # the command alone
                if code != 0:
                    raise RuntimeError("bench: coursekit autograde --scheduler failed: "
                                       f"{err[-2000:]}")
                runs.append(_per_student(seconds, cpu["seconds"], len(submissions)))
                steady = steady_seconds(finished, workers)
                runs[-1]["steady_seconds_per_student"] = (None if steady is None
                                                          else round(steady, 2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"available": True, "students": len(submissions), "workers": workers, **runs[1],
            "fresh": runs[0], **client_cost(client[1], client[2], len(submissions))}


def client_cost(many_seconds, one_seconds, students):
    """The Dask command's own CPU (the client: no scheduler, worker or kernel) for `students`
    and for one student on the same running cluster: {"client_cpu_seconds": the batch's,
    "client_cpu_seconds_per_student": what each further student adds (collecting, sending,
    receiving, merging the gradebook rows, writing the results), the difference over
    students - 1; what is left is the command's start and end}."""
    per = (many_seconds - one_seconds) / (students - 1) if students > 1 else None
    return {"client_cpu_seconds": round(many_seconds, 2),
            "client_cpu_seconds_per_student": None if per is None else round(max(per, 0), 3)}


@contextmanager
def local_cluster(folder, workers=2, grading_config=True):
    """A Dask cluster on this machine for the block: `dask scheduler` and `workers` x `dask
    worker --nworkers 1 --nthreads 1`, each a subprocess in a folder of its own under
    `folder`, with the course's grading settings (DASK_CONFIG=cluster.DASK_CONFIG_FILE) or,
    with `grading_config=False`, Dask's defaults. Yields (the scheduler's address, the
    started processes: psutil.Process of each); they are stopped at the end."""
    import subprocess
    import sys

    import psutil

    from coursekit.autograde.cluster import DASK_CONFIG_FILE

    dask = str(Path(sys.executable).with_name("dask"))
    env = {k: v for k, v in os.environ.items() if k != "DASK_CONFIG"}
    if grading_config:
        env["DASK_CONFIG"] = str(DASK_CONFIG_FILE)
    started = []
    try:
        port = _free_port()
        started.append(_spawn([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], Path(folder) / "scheduler", env))
        _wait_for_port(port)
        for i in range(workers):
            started.append(_spawn([dask, "worker", f"tcp://127.0.0.1:{port}", "--nworkers", "1",
                                   "--nthreads", "1", "--no-dashboard"],
                                  Path(folder) / f"worker{i}", env))
        yield f"tcp://127.0.0.1:{port}", [psutil.Process(p.pid) for p in started]
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def dask_idle_cpu(workers=2, settle=10.0, seconds=30.0):
    """CPU seconds per minute that an idle Dask cluster on this machine (a scheduler and
    `workers` workers with their nannies: Dask's own monitoring, heartbeats and profiler) takes
    from grading: two such clusters at once, one with Dask's defaults and one with the course's
    grading settings (cluster.DASK_CONFIG_FILE), each process's CPU read over the same
    `seconds` after `settle` seconds of start-up. Returns {"available": False, "why"} or
    {"available": True, "default": ..., "grading": ...} (CPU seconds per minute of each)."""
    import psutil

    why = dask_unavailable()
    if why:
        return {"available": False, "why": why}
    tmp = Path(tempfile.mkdtemp(prefix=scratch.pid_prefix("bench-dask-idle")))
    me = psutil.Process()

    def cpu():
        """{pid: CPU seconds} of every process under this one."""
        found = {}
        for process in me.children(recursive=True):
            try:
                times = process.cpu_times()
                found[(process.pid, process.create_time())] = times.user + times.system
            except psutil.Error:
                continue
        return found

    try:
        with local_cluster(tmp / "default", workers, grading_config=False) as default, \
                local_cluster(tmp / "grading", workers) as grading:
            clusters = {"default": default, "grading": grading}
            for address, _ in clusters.values():
                _wait_for_workers(address, workers)
            time.sleep(settle)
            # Each cluster's processes: those it started and everything under them (the
            # processes the nannies started).
            groups = {name: {(p.pid, p.create_time()) for top in started
                             for p in (top, *top.children(recursive=True))}
                      for name, (_, started) in clusters.items()}
            before = cpu()
            time.sleep(seconds)
            after = cpu()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    per_minute = 60.0 / seconds
    return {"available": True, "workers": workers, **{
        name: round(sum(after.get(k, before.get(k, 0.0)) - before.get(k, 0.0) for k in keys)
                    * per_minute, 2)
        for name, keys in groups.items()}}


def _wait_for_workers(address, workers, seconds=60):
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        client.wait_for_workers(workers, timeout=seconds)


# A finished student's line as the batch prints it (batch.student_line): "... [n/total]".
_STUDENT_LINE = re.compile(r"  \[\d+/\d+\]$")


def timed_lines(cmd, **popen):
    """Run `cmd`; (exit code, stdout, stderr, [time.monotonic() at which each finished
    student's line came on stdout])."""
    import subprocess
    import threading

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen)
    err = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
    reader.start()
    out, finished = [], []
    for line in proc.stdout:
        if _STUDENT_LINE.search(line.rstrip("\n")):
            finished.append(time.monotonic())
        out.append(line)
    code = proc.wait()
    reader.join()
    return code, "".join(out), "".join(err), finished


def _per_student(seconds, cpu_seconds, students):
    n = max(1, students)
    return {"seconds": round(seconds, 2), "seconds_per_student": round(seconds / n, 2),
            "cpu_seconds_per_student": round(cpu_seconds / n, 2)}


def _spawn(cmd, folder, env=None):
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "log", "wb") as log:
        return subprocess.Popen(cmd, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=log)


# --- what a class costs -----------------------------------------------------------------

def class_cost(cpu_seconds_per_student, students=600, cores=32, machines=1,
               serial_seconds_per_student=0.0):
    """Wall hours to grade `students` on `machines` x `cores`, from the CPU seconds one
    student's grading uses: students x CPU seconds / (cores x machines), i.e. every core kept
    busy with one single-threaded grading (kernels get one BLAS thread), nothing for the
    gradebook or the network; or, when longer, students x `serial_seconds_per_student`, what
    one process does for every student in turn (the Dask client: collecting, receiving,
    merging the gradebook rows). A lower bound: the -j N rows show how close a batch comes."""
    if cpu_seconds_per_student <= 0 or students < 0 or cores < 1 or machines < 1 \
            or serial_seconds_per_student < 0:
        raise ValueError("class_cost: CPU seconds per student must be > 0, students >= 0, "
                         "cores and machines >= 1, serial seconds >= 0")
    return max(students * cpu_seconds_per_student / (cores * machines),
               students * serial_seconds_per_student) / 3600


def children_cpu():
    """CPU seconds (user + sys) of this process's children reaped so far (getrusage)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- a rerun finding whom to grade (graded.py) ---------------------------------------------

def rerun_check(submission, students=200, jobs=2, course=None):
    """Seconds a rerun of a class of `students`, all graded already, spends finding whom to
    grade (graded.pending: every submission fingerprinted): one process after another, and in
    `jobs` processes as `-j jobs` does from graded.PARALLEL_FROM students on. The class is
    hard links of `submission` (the same bytes, no copies), each with a complete result.
    Returns {"students", "jobs", "serial", "parallel"} (seconds) after checking that both
    found nobody to grade."""
    from coursekit.autograde import graded
    from coursekit.autograde.result import Result

    tmp = Path(tempfile.mkdtemp(prefix=scratch.pid_prefix("bench-rerun")))
    try:
        course = _scratch_course(course, tmp)
        fingerprint = graded.submission_fingerprint(course, submission)
        pairs = []
        for i in range(students):
            student, folder = f"s{i:04d}", tmp / "submitted" / f"s{i:04d}"
            shutil.copytree(submission, folder, copy_function=os.link)
            pipeline.atomic_write_text(course.result_path(student), Result(
                student, course.assignment, fingerprint=fingerprint).dumps())
            pairs.append((student, folder))
        seconds = {}
        for name, processes in (("serial", 1), ("parallel", jobs)):
            start = time.monotonic()
            left = graded.pending(course, pairs, jobs=processes)
            seconds[name] = round(time.monotonic() - start, 2)
            if left:
                raise RuntimeError(f"bench: the rerun check ({name}) would grade {len(left)} "
                                   "students graded already")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"students": students, "jobs": jobs, **seconds}


# --- the gradebook written once per student (issue 15; student_gradebook.py) ------------

def gradebook_once(submissions, course=None, jobs=2):
    """The same submissions graded the old way (straight into the course's gradebook) and
    through a gradebook per student, side by side in this one run: one student each way, then
    a `-j jobs` batch of all of them each way. Returns {"old": ..., "new": ...}, each
    {"sessions", "commits", "writes", "commit_seconds" (the course's gradebook while one
    student is graded, counted as gradebook_activity counts), "one_seconds" (that student's grading,
    without the once-per-run gradebook set-up), "score", "batch": batch_throughput's}."""
    course = course or GradingRun()
    ways = {"old": course.with_(private_gradebook=False),
            "new": course.with_(private_gradebook=True)}
    out = {}
    for name, run in ways.items():
        one = time_submission(submissions[0], run)
        out[name] = {"sessions": one["gradebook"]["opened"],
                     "commits": one["gradebook"]["commits"],
                     "writes": one["gradebook"]["writes"],
                     "commit_seconds": round(one["gradebook"]["commit_seconds"], 2),
                     "one_seconds": round(one["total_seconds"] - one["prepare_seconds"], 2),
                     "score": one["score"]}
    for name, run in ways.items():
        out[name]["batch"] = batch_throughput(submissions, jobs=jobs, course=run)
    return out


# --- the export of a large class: its grades read at once (gradebook.class_grades) -----------

def export_of_a_class(students=600, course=None):
    """The export that ends every batch and `make grades` for a class of `students`, each with
    a submission in the gradebook and a result JSON (the rows as a new submission has them):
    {"students", "export" (seconds of report.export: every result refreshed from the gradebook,
    grades.csv, the summary; checked to hold a row per student), "at_once" (seconds to read
    the class's grades and comments, gradebook.class_grades), "one_by_one" (the same read
    through nbgrader's objects student by student, as the export did before: the yardstick)},
    the two reads side by side, checked to agree."""
    from nbgrader.api import Gradebook

    from coursekit.autograde import gradebook, report
    from coursekit.autograde.result import Item, Result

    tmp = Path(tempfile.mkdtemp(prefix=scratch.pid_prefix("bench-export")))
    try:
        course = _scratch_course(course, tmp)
        pipeline.prepare(course)
        ids = [f"s{i:04d}" for i in range(students)]
        with Gradebook(course.db_url) as gb:
            for student in ids:
                gradebook._set_rows(gb, course, student, {"student": {}, "submission": {}})
            gb.db.commit()
            cells = [(nb.name, cell.name, cell.max_score)
                     for nb in gb.find_assignment(course.assignment).notebooks
                     for cell in nb.grade_cells]
        items = [Item(f"{nb}:{cell}", "test", 0.0, points) for nb, cell, points in cells]
        for student in ids:
            path = course.result_path(student)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(Result(student, course.assignment, items=items).dumps())
        start = time.monotonic()
        everyone = gradebook.class_grades(course)
        at_once = time.monotonic() - start
        start = time.monotonic()
        one_by_one = {s: grades_through_objects(course, s) for s in ids}
        by_object = time.monotonic() - start
        if any(one_by_one[s] != (everyone[s].notebook_grades(), everyone[s].comments)
               for s in ids):
            raise RuntimeError("bench: the class's grades read at once differ from those read "
                               "student by student")
        start = time.monotonic()
        report.export(course)
        export = time.monotonic() - start
        written = sorted(report.read_grades_csv(course.grades_csv)[1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if written != ids:
        raise RuntimeError(f"bench: the export wrote {len(written)} students of {students}")
    return {"students": students, "export": round(export, 2), "at_once": round(at_once, 3),
            "one_by_one": round(by_object, 2)}


def grades_through_objects(course, student, inline_cells=()):
    """(notebook grades, comments) of `student` through nbgrader's objects, notebook by
    notebook: the export's read of a student before gradebook.class_grades, its yardstick here
    and its reference in tests/autograde/test_class_grades.py."""
    from nbgrader.api import Gradebook, MissingEntry

    from coursekit.autograde import gradebook

    grades, comments = {}, {}
    with Gradebook(course.db_url) as gb:
        for nb in gb.find_assignment(course.assignment).notebooks:
            try:
                submitted = gb.find_submission_notebook(nb.name, course.assignment, student)
            except MissingEntry:
                continue
            order = gradebook.source_cell_order(course, nb.name)
            solution = {c.name for c in nb.solution_cells}
            rows = {g.name: g for g in submitted.grades}
            entries = []
            for cell in sorted(nb.grade_cells, key=lambda c: (order.get(c.name, len(order)),
                                                               c.name)):
                g = rows[cell.name]
                if cell.name not in solution:
                    kind = "test"
                elif cell.name in inline_cells:
                    kind = "inline"
                elif cell.cell_type == "markdown" or g.needs_manual_grade:
                    kind = "manual"
                else:
                    kind = "answer"
                entries.append({"name": cell.name, "kind": kind,
                                "max_score": float(cell.max_score),
                                "auto_score": g.auto_score, "manual_score": g.manual_score,
                                "score": float(g.score or 0.0),
                                "needs_manual_grade": bool(g.needs_manual_grade)})
            grades[nb.name] = entries
            for c in submitted.comments:
                if (c.comment or "").strip():
                    comments[f"{nb.name}:{c.name}"] = c.comment.strip()
    return grades, comments
