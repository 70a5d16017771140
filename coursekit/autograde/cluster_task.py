"""What a Dask worker runs for the client (cluster.py): the standard library only.

cluster.py sends these functions by value (cloudpickle), so a worker needs no coursekit of its
own: the course and the grading code come as the course bundle (a zip: the result of a task,
`hold`, that the scheduler computes again if every worker holding it dies), unpacked once per
worker under its own folder (the worker's local_directory). Students are graded by warm
grading processes, `python -m coursekit.autograde.cluster serve STATE`, whose PYTHONPATH is
the bundle: the same pipeline and jail as a local run, kept from one student to the next as
a local -j worker is (imports, scratch folder, prepared data: `Graders`), one per task the
worker runs at a time. A crash there (or a hostile submission that kills it) never takes the
worker down: it costs that student only, and the next task starts a fresh process.

A grading process dies with the worker (PR_SET_PDEATHSIG, from a thread that lives as long as
the worker): a worker killed mid-grading leaves nothing running, and the scheduler gives the
student to another worker.
"""
import hashlib
import os
import pickle
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

BUNDLES = "coursekit-bundles"
JOBS = "coursekit-jobs"
# The warm grading processes' folders (their logs).
GRADERS = "coursekit-graders"
# One file per grading process busy with a task on this worker, named by its pid and holding
# the student (what an operator, or the cluster test, reads to know who is graded where).
RUNNING = "coursekit-running"
# Lines of a grading process's log quoted when it ends without an answer.
LOG_TAIL = 15
# What a request carries for one student; the rest are the run's settings (`settings_key`).
PER_STUDENT = ("student", "manifest", "submission")


def _worker():
    from distributed import get_worker

    return get_worker()


def unpack_bundle(home, digest, bundle):
    """The folder the bundle `digest` is unpacked in under `home`, unpacked on first use (into
    a temporary folder renamed into place: a worker killed half-way leaves no half bundle)."""
    root = home / BUNDLES / digest
    if (root / "course").is_dir():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=root.parent))
    with zipfile.ZipFile(_bytes_file(bundle)) as archive:
        for info in archive.infolist():
            name = Path(info.filename)
            if name.is_absolute() or ".." in name.parts or name.parts[:1] != ("course",):
                raise ValueError(f"the course bundle holds an unexpected path {info.filename!r}")
        archive.extractall(tmp)
    try:
        os.rename(tmp, root)
    except OSError:  # another thread of this worker unpacked it meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def _bytes_file(data):
    import io

    return io.BytesIO(data)


def settings_key(request):
    """What a warm grading process is kept for: the request's settings (all but the student's
    own parts), so that a process only ever grades with the settings it prepared."""
    settings = {k: request[k] for k in sorted(request) if k not in PER_STUDENT}
    return hashlib.sha256(pickle.dumps(settings)).hexdigest()[:16]


def _die_with_parent():
    """In the child before exec: SIGKILL when the thread that started it dies (the worker)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    os.setpgrp()  # the client's Ctrl-C on a local cluster reaches the worker, not the grading


class Spawner(threading.Thread):
    """Starts processes from one thread that lives as long as the worker process: the kernel
    kills a child with PR_SET_PDEATHSIG when the *thread* that started it ends, and a warm
    process outlives the task (and the executor thread) that needed it first."""

    def __init__(self):
        super().__init__(daemon=True, name="coursekit-grader-spawner")
        self.requests = queue.Queue()
        self.start()

    def run(self):
        while True:
            args, kwargs, done = self.requests.get()
            try:
                done.put((subprocess.Popen(*args, **kwargs), None))
            except BaseException as exc:
                done.put((None, exc))

    def popen(self, *args, **kwargs):
        done = queue.Queue(maxsize=1)
        self.requests.put((args, kwargs, done))
        proc, exc = done.get()
        if exc is not None:
            raise exc
        return proc


class Grader:
    """One warm grading process (`cluster.serve`) and its log."""

    def __init__(self, proc, key, folder):
        self.proc, self.key, self.folder = proc, key, folder
        self.retired = False    # told to stop (the client's Ctrl-C): never used again

    @property
    def log(self):
        return self.folder / "log.txt"

    def alive(self):
        return self.proc.poll() is None

    def ask(self, verb, job):
        """Send a job; True when the process answered it, False when it died first."""
        try:
            self.proc.stdin.write(f"{verb} {job}\n".encode())
            self.proc.stdin.flush()
            while True:     # a stray line (nothing else writes there) is passed over
                line = self.proc.stdout.readline()
                if line in (b"", b"done\n"):
                    return line == b"done\n"
        except (BrokenPipeError, OSError, ValueError):
            return False

    def wait(self, seconds=60):
        """The exit code of a process that stopped answering (killed if it lingers)."""
        try:
            return self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def stop(self):
        """End the process (stdin closed: it removes its scratch folder) and its folder."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class Graders:
    """The warm grading processes of one Dask worker: an idle one of the same settings is
    reused, else one is started; at most one per task the worker runs at a time."""

    # The program of a warm process, STATE appended.
    COMMAND = (sys.executable, "-m", "coursekit.autograde.cluster", "serve")

    def __init__(self, home, command=COMMAND):
        self.home, self.command = home, list(command)
        self.lock = threading.Lock()
        self.idle, self.busy = [], set()
        self.spawner = None     # started by the first task (`take`)

    def take(self, key, root, environment):
        """A warm process for settings `key` of the bundle at `root`, now busy."""
        with self.lock:
            stale = [g for g in self.idle if g.key != key or not g.alive()]
            fit = [g for g in self.idle if g not in stale]
            chosen = fit[0] if fit else None
            self.idle = fit[1:]
            if chosen is not None:
                self.busy.add(chosen)
            if self.spawner is None:
                self.spawner = Spawner()
        for grader in stale:    # another run's settings, or dead: not kept
            grader.stop()
        if chosen is not None:
            return chosen
        folders = self.home / GRADERS
        folders.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=folders))
        env = {**os.environ, "PYTHONPATH": str(root / "course"),
               "COURSEKIT_COURSE": str(root / "course"), "PYTHONDONTWRITEBYTECODE": "1"}
        env.update(environment)
        with open(folder / "log.txt", "wb") as log:
            proc = self.spawner.popen(
                [*self.command, str(root / "state")], cwd=folder, env=env, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=log, preexec_fn=_die_with_parent)
        grader = Grader(proc, key, folder)
        with self.lock:
            self.busy.add(grader)
        return grader

    def give_back(self, grader):
        """A task is done with `grader`: kept idle for the next one, unless it died or was
        told to stop (then ended: the next task starts a fresh one)."""
        with self.lock:
            self.busy.discard(grader)
            keep = grader.alive() and not grader.retired
            if keep:
                self.idle.append(grader)
        if not keep:
            grader.stop()

    def interrupt(self):
        """SIGINT every busy process (each stops its student, cleans up and answers
        "interrupted"), retired so that none is used again. Returns how many."""
        with self.lock:
            busy = list(self.busy)
            for grader in busy:
                grader.retired = True
        for grader in busy:
            try:
                os.kill(grader.proc.pid, signal.SIGINT)
            except (ProcessLookupError, PermissionError):
                pass
        return len(busy)


def graders(worker):
    """This worker's Graders, made by its first task (kept on the worker object: these
    functions travel by value, so their module's globals are not the same from task to
    task; a lock in them would not even pickle)."""
    pool = getattr(worker, "_coursekit_graders", None)
    if pool is None:    # dict.setdefault: two first tasks at once still share one
        pool = vars(worker).setdefault("_coursekit_graders",
                                       Graders(Path(worker.local_directory)))
    return pool


def hold(data):
    """The course bundle as a task's result: a worker that holds it may die (a hostile student's
    grading, a lost machine); the scheduler then computes it again from this task, where data
    scattered to the workers would be lost with them, and with it every task needing it."""
    return data


def run_grading(bundle, digest, request, verb="grade"):
    """Have a warm grading process of this worker answer `request` (VERB: "grade" or "probe");
    its answer (a dict), or {"error": ...} when the process ended without one."""
    worker = _worker()
    home, address = Path(worker.local_directory), worker.address
    root = unpack_bundle(home, digest, bundle)
    jobs = home / JOBS
    jobs.mkdir(parents=True, exist_ok=True)
    job = Path(tempfile.mkdtemp(prefix=f"{request.get('student', verb)}-", dir=jobs))
    running = home / RUNNING
    running.mkdir(parents=True, exist_ok=True)
    pool = graders(worker)
    grader = pool.take(f"{digest}-{settings_key(request)}", root,
                       request.get("environment", {}))
    try:
        (job / "request.pickle").write_bytes(pickle.dumps(request))
        logged = grader.log.stat().st_size
        marker = running / str(grader.proc.pid)
        marker.write_text(request.get("student", verb))
        try:
            answered = grader.ask(verb, job)
        finally:
            marker.unlink(missing_ok=True)
        answer = job / "answer.pickle"
        if answered and answer.is_file():
            return pickle.loads(answer.read_bytes())
        code = grader.wait()
        with open(grader.log, "rb") as log:
            log.seek(logged)
            tail = log.read().decode("utf-8", "replace").splitlines()[-LOG_TAIL:]
        return {"error": f"the grading process on the Dask worker {address} ended with exit "
                         f"code {code} without an answer",
                "detail": "\n".join(tail)}
    finally:
        pool.give_back(grader)
        shutil.rmtree(job, ignore_errors=True)


def profiler_on(dask_worker=None):
    """Whether this worker runs Dask's statistical profiler (Dask's default; off with the
    course's dask-grading.yaml, which the client's probe line names when it is on)."""
    worker = dask_worker or _worker()
    return "profile" in getattr(worker, "periodic_callbacks", {})


def stop_grading(dask_worker=None):
    """Interrupt every grading of this worker (the client's Ctrl-C, through Client.run): each
    stops its student, cleans up and answers "interrupted". Returns how many."""
    worker = dask_worker or _worker()
    pool = getattr(worker, "_coursekit_graders", None)
    return pool.interrupt() if pool is not None else 0
