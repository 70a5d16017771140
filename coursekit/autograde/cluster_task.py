"""What a Dask worker runs for the client (cluster.py): the standard library only.

cluster.py sends these functions by value (cloudpickle), so a worker needs no coursekit of its
own: the course and the grading code come as the course bundle (a zip, scattered once to each
worker and kept there), unpacked once per worker under its own folder (the worker's
local_directory), and every student is graded in a fresh process, `python -m
coursekit.autograde.cluster grade JOB`, whose PYTHONPATH is the bundle: the same pipeline and
jail as a local run, and a crash there (or a hostile submission) never takes the worker down.

A grading process dies with the worker thread that started it (PR_SET_PDEATHSIG): a worker
killed mid-grading leaves nothing running, and the scheduler gives the student to another
worker.
"""
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

BUNDLES = "coursekit-bundles"
JOBS = "coursekit-jobs"
# One file per grading process running on this worker (its pid): what `stop_grading` signals.
RUNNING = "coursekit-running"
# Lines of a grading process's log quoted when it ends without an answer.
LOG_TAIL = 15


def _worker_home():
    from distributed import get_worker

    worker = get_worker()
    return Path(worker.local_directory), worker.address


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


def _die_with_parent():
    """In the child before exec: SIGKILL when the thread that started it dies (the worker)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    os.setpgrp()  # the client's Ctrl-C on a local cluster reaches the worker, not the grading


def run_grading(bundle, digest, request, verb="grade"):
    """Run `python -m coursekit.autograde.cluster VERB JOB` on this worker with `request` and
    return its answer (a dict), or {"error": ...} when it ended without one."""
    home, address = _worker_home()
    root = unpack_bundle(home, digest, bundle)
    jobs = home / JOBS
    jobs.mkdir(parents=True, exist_ok=True)
    job = Path(tempfile.mkdtemp(prefix=f"{request.get('student', verb)}-", dir=jobs))
    running = home / RUNNING
    running.mkdir(parents=True, exist_ok=True)
    try:
        (job / "request.pickle").write_bytes(pickle.dumps(request))
        env = {**os.environ, "PYTHONPATH": str(root / "course"),
               "COURSEKIT_COURSE": str(root / "course"), "PYTHONDONTWRITEBYTECODE": "1"}
        env.update(request.get("environment", {}))
        with open(job / "log.txt", "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "coursekit.autograde.cluster", verb, str(job),
                 str(root / "state")], cwd=job, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        marker = running / str(proc.pid)
        marker.write_text(request.get("student", verb))
        try:
            code = proc.wait()
        finally:
            marker.unlink(missing_ok=True)
        answer = job / "answer.pickle"
        if answer.is_file():
            return pickle.loads(answer.read_bytes())
        tail = (job / "log.txt").read_bytes().decode("utf-8", "replace").splitlines()[-LOG_TAIL:]
        return {"error": f"the grading process on the Dask worker {address} ended with exit "
                         f"code {code} without an answer",
                "detail": "\n".join(tail)}
    finally:
        shutil.rmtree(job, ignore_errors=True)


def stop_grading(dask_worker=None):
    """SIGINT every grading process of this worker (the client's Ctrl-C, through Client.run):
    each stops its student, cleans up and answers "interrupted". Returns how many."""
    home = Path(dask_worker.local_directory) if dask_worker else _worker_home()[0]
    count = 0
    for marker in (home / RUNNING).glob("*"):
        try:
            os.kill(int(marker.name), signal.SIGINT)
            count += 1
        except (ValueError, ProcessLookupError, PermissionError):
            pass
    return count
