"""`coursekit autograde --all --scheduler tcp://HOST:PORT`: each student graded on a Dask cluster.

The client (this machine, batch.grade_all) does what needs the course's files and gradebook;
the workers only grade, with nothing shared but the scheduler:

1. the course bundle: the master notebooks, config, master package, hidden checks and the
   grading code (gradescope.course_files: the same self-contained copy Gradescope gets), one
   zip named by its sha256, the result of a task (cluster_task.hold: computed again should
   every worker holding it die) fetched once by every worker and kept there
   (cluster_task.unpack_bundle unpacks it once per worker);
2. every worker is probed first (`probe`, below, on the worker): it must grade with the
   bubblewrap jail, as a local run does, unless COURSEKIT_JAIL allows less (the worker's
   environment or the client's), and find CIFAR-10; the run refuses to start, naming the
   worker and what to do, when one cannot;
3. a task per student carries the submission as bytes: collected on the client with the
   grading host's rules (collect.py, untrusted.py: no link followed, sizes capped) and packed
   (`pack_folder`); the worker grades it with the same pipeline (pipeline.grade_submission,
   given the collect manifest) in a warm grading process kept from one student to the next
   (cluster_task.Graders, `serve` below) and answers with the Result JSON, the autograded/
   and feedback/ folders as bytes and, with a SQLite gradebook, the student's rows of its own
   gradebook;
4. the client checks and writes them the way the pipeline does (staging, swap, JSON last) and
   merges the rows into the course's gradebook (gradebook.merge_student_rows: one writer);
   with PostgreSQL (NBGRADER_DB_URL) the workers write the course's gradebook themselves.

A worker that dies mid-grading has its students graded again elsewhere (the scheduler's
`allowed-failures`; a task that kills its worker that many times ends as KilledWorker, the
student's failure, recorded as an error, but only after one more try alone on the cluster:
the scheduler also counts a worker's death against the students queued behind the one that
killed it; a rerun grades them again); a grading process that
dies costs its student only (an error), and the worker's next task starts a fresh one. Ctrl-C
cancels the tasks and interrupts the grading processes on the workers (cluster_task.stop_grading).

This module never imports dask at import time: `coursekit` works without it; --scheduler
without it says how to install it (`require_dask`).
"""
import hashlib
import io
import json
import os
import pickle
import shutil
import socket
import stat
import sys
import tempfile
import time
import traceback
import uuid
import zipfile
from collections import deque
from pathlib import Path, PurePosixPath

from coursekit import untrusted

INSTALL_HINT = ("run `make dask-deps` (or `pip install -r requirements-dask.txt` in the "
                "course's environment); every worker machine needs it too")
# The scheduler's and workers' Dask settings for grading (their DASK_CONFIG): Dask's own
# monitoring slowed down, which leaves its CPU to the students' kernels.
DASK_CONFIG_FILE = Path(__file__).with_name("dask-grading.yaml")
# Seconds to wait for the first worker to join the scheduler.
WORKER_WAIT_SECONDS = 60
# Retries of a task that raised on its worker (a grading never raises: the failure of
# infrastructure, e.g. a full disk while the bundle was unpacked).
RETRIES = 2
# Students sent per worker at a time: the next one is sent as soon as one finishes, before its
# answer is written. One each: a stop has little to cancel, the client never holds the class's
# submissions in memory, and a worker that dies takes only its own student with it (the
# scheduler counts a death against every task assigned to that worker, queued ones too).
AHEAD_PER_WORKER = 1
# What the answers of a worker may hold, per student: the submission's own files (at most the
# submission limit) plus the graded notebooks and feedback pages.
ANSWER_FILES = 4 * untrusted.LIMITS.max_entries
ANSWER_BYTES_FACTOR = 3


class ClusterError(RuntimeError):
    """The cluster cannot grade (no dask, no scheduler, no worker, a worker unfit): the
    message says which and what to do."""


def require_dask():
    """Import dask.distributed, or ClusterError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise ClusterError("coursekit autograde: --scheduler needs dask.distributed, which is "
                           f"not installed: {INSTALL_HINT}") from None
    return distributed


# --- packing folders into bytes and back -----------------------------------------------------

def pack_folder(folder):
    """{"files": {relative posix path: bytes}, "dirs": [relative paths]} of `folder`: regular
    files and folders only (links and the like are left out, never followed)."""
    folder = Path(folder)
    packed = {"files": {}, "dirs": []}
    for dirpath, dirnames, filenames in os.walk(folder):  # os.walk does not enter links
        here = Path(dirpath)
        for name in sorted(dirnames):
            if (here / name).is_dir() and not (here / name).is_symlink():
                packed["dirs"].append((here / name).relative_to(folder).as_posix())
        for name in sorted(filenames):
            st = os.lstat(here / name)
            if not stat.S_ISREG(st.st_mode):
                continue
            rel = (here / name).relative_to(folder).as_posix()
            packed["files"][rel] = untrusted.read_file(folder, rel, untrusted.occupied(st))
    return packed


class PackError(ValueError):
    """A packed folder that cannot be unpacked safely (the message names the entry)."""


def _safe_parts(rel):
    path = PurePosixPath(rel)
    if not rel or path.is_absolute() or any(p in ("", ".", "..") for p in rel.split("/")):
        raise PackError(f"a packed folder names {rel!r}, which is not a relative path inside it")
    return path.parts


def unpack_folder(packed, dest, max_files, max_bytes):
    """Write a pack_folder() value into the new folder `dest`, refusing (PackError) a path that
    leaves it, more than `max_files` files or `max_bytes` bytes in all: what comes back from a
    worker is treated like a submission."""
    files, dirs = packed.get("files", {}), packed.get("dirs", [])
    if len(files) + len(dirs) > max_files:
        raise PackError(f"a packed folder holds {len(files) + len(dirs)} entries "
                        f"(at most {max_files})")
    total = sum(len(data) for data in files.values())
    if total > max_bytes:
        raise PackError(f"a packed folder holds {untrusted.size_text(total)} "
                        f"(at most {untrusted.size_text(max_bytes)})")
    dest = untrusted.reset_folder(dest)
    for rel in sorted(dirs):
        dest.joinpath(*_safe_parts(rel)).mkdir(parents=True, exist_ok=True)
    for rel, data in sorted(files.items()):
        if not isinstance(data, bytes):
            raise PackError(f"a packed folder's {rel!r} is not bytes")
        target = dest.joinpath(*_safe_parts(rel))
        target.parent.mkdir(parents=True, exist_ok=True)
        untrusted.write_file(target, data)
    return dest


# --- the client --------------------------------------------------------------------------------

def build_bundle(course):
    """(zip bytes, sha256) of the course as the workers need it: gradescope.course_files (the
    master notebooks, config, master package, hidden checks and the tooling grading imports)
    plus this module's own import closure. The same course gives the same bytes."""
    from coursekit.autograde import gradescope

    settings = grader_settings(course)
    files = dict(gradescope.course_files(course, settings))
    closure = gradescope.tooling_modules({__name__})
    files.update(dict(gradescope.tooling_files(closure)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, Path(files[name]).read_bytes())
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def grader_settings(course):
    from coursekit.autograde.command import grader_spec

    return {"module_grader": grader_spec(course.module_grader),
            "inline_grader": grader_spec(course.inline_grader)}


# The GradingRun knobs a worker takes from the client as they are (numbers).
RUN_KNOBS = ("kernel_memory_mb", "kernel_cpu_seconds", "kernel_threads", "kernel_tmp_mb",
             "kernel_processes", "cell_seconds", "notebook_seconds", "submission_seconds",
             "modules_beside")


def run_settings(course):
    """What a worker's GradingRun takes from the client's: plain data only (a worker unpickles
    it before it has any coursekit)."""
    from dataclasses import asdict

    from coursekit.autograde.grading_run import DATA_ENV

    settings = {**grader_settings(course), **{k: getattr(course, k) for k in RUN_KNOBS}}
    settings["kernel_env"] = dict(course.kernel_env)
    settings["data"] = course.kernel_env.get(DATA_ENV)
    settings["limits"] = asdict(course.submission_limits)
    # None: the course's gradebook is SQLite, each worker grades into one of its own.
    settings["db_url"] = None if course.sqlite_path is not None else course.db_url
    environment = {}
    if os.environ.get("COURSEKIT_JAIL"):  # the instructor's allowance goes with the tasks
        environment["COURSEKIT_JAIL"] = os.environ["COURSEKIT_JAIL"]
    settings["environment"] = environment
    return settings


def request_for(course, student, folder, settings):
    """The task of one student: the submission collected here (collect.collect_submission:
    the grading host's untrusted-file rules) and packed, with its manifest."""
    from coursekit.autograde import collect, scratch

    with tempfile.TemporaryDirectory(prefix=scratch.pid_prefix("pack")) as tmp:
        copy = Path(tmp) / "s"
        manifest = collect.collect_submission(folder, copy, course.notebooks,
                                              course.submission_limits)
        packed = pack_folder(copy)
    return {**settings, "student": student, "manifest": manifest, "submission": packed}


def connect(scheduler):
    """A dask.distributed Client of `scheduler` with at least one worker, or ClusterError."""
    distributed = require_dask()
    try:
        client = distributed.Client(scheduler, timeout=30, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"coursekit autograde: cannot reach the Dask scheduler {scheduler} "
                           f"({exc}); start it (`dask scheduler`) or check the address "
                           "(tcp://HOST:PORT)") from None
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
    except (TimeoutError, OSError):
        client.close()
        raise ClusterError(f"coursekit autograde: no worker joined the Dask scheduler "
                           f"{scheduler} in {WORKER_WAIT_SECONDS} s; start some (`dask worker "
                           f"{scheduler} --nworkers 1 --nthreads 1`)") from None
    return client


def _workers(client):
    try:
        info = client.scheduler_info(n_workers=-1)
    except TypeError:
        info = client.scheduler_info()
    return sorted(info["workers"])


def _send_by_value():
    """The worker-side functions travel by value: a worker imports no coursekit of its own."""
    import cloudpickle

    from coursekit.autograde import cluster_task

    cloudpickle.register_pickle_by_value(cluster_task)
    return cluster_task


def run_cluster(course, todo, scheduler, outcomes, shown, log=print):
    """Grade [(student, folder)] on the cluster at `scheduler`; each finished student goes to
    shown.done(outcomes, ...) as in the local batch. KeyboardInterrupt: tasks cancelled, the
    workers' gradings interrupted, re-raised."""
    client = connect(scheduler)
    try:
        _grade_on(client, course, todo, outcomes, shown, log)
    finally:
        client.close()


def _grade_on(client, course, todo, outcomes, shown, log):
    from distributed import as_completed

    from coursekit.autograde import report

    task = _send_by_value()
    data, digest = build_bundle(course)
    bundle = client.submit(task.hold, data, pure=False,
                           key=f"coursekit-bundle-{digest[:16]}-{uuid.uuid4().hex[:8]}")
    settings = run_settings(course)
    futures = {}
    # Students whose workers died allowed-failures times: one more try each, alone on the
    # cluster once the queue is done. The scheduler counts a death against every task its
    # worker held, queued ones too, and the tasks of a dead worker are sent on together:
    # a student queued behind one whose grading kills its worker can share its fate. Alone,
    # only a grading that kills its worker itself fails again.
    suspects, tried_alone = deque(), set()
    try:
        probe_workers(client, task, bundle, digest, settings, log)
        queue, running = deque(todo), as_completed(loop=client.loop)
        workers = max(1, len(_workers(client)))
        ahead = AHEAD_PER_WORKER * workers

        def send(student, folder, start=None):
            future = client.submit(task.run_grading, bundle, digest,
                                   request_for(course, student, folder, settings),
                                   key=f"coursekit-grade-{student}-{uuid.uuid4().hex[:8]}",
                                   retries=RETRIES, pure=False)
            futures[future] = (student, folder, start or time.monotonic())
            running.add(future)

        while queue and len(futures) < ahead:
            send(*queue.popleft())
        for future in running:
            student, folder, start = futures.pop(future)
            if queue:
                send(*queue.popleft())
            answer = _answer(future)
            if answer.get("killed") and student not in tried_alone:
                tried_alone.add(student)
                suspects.append((student, folder, start))
            else:
                shown.done(outcomes, *receive(course, student, answer, start))
            if not queue and len(futures) < workers:
                report.warm_up()    # a worker is idle: the summary's imports, meanwhile
            if suspects and not queue and not futures:
                student, folder, start = suspects.popleft()
                log(f"coursekit autograde: {student}: the grading worker died each time; "
                    "graded again alone on the cluster")
                send(student, folder, start)
    except KeyboardInterrupt:
        _stop(client, task, course, futures, suspects)
        raise


def probe_workers(client, task, bundle, digest, settings, log):
    """Run `probe` on every worker (it also prepares each worker's gradebook); ClusterError
    naming every worker that cannot grade and why."""
    futures = {address: client.submit(task.run_grading, bundle, digest, settings, "probe",
                                      workers=[address], allow_other_workers=False, pure=False,
                                      key=f"coursekit-probe-{uuid.uuid4().hex[:8]}")
               for address in _workers(client)}
    answers = {address: _answer(f) for address, f in futures.items()}
    problems = [f"{address}: {a['error']}" for address, a in answers.items() if a.get("error")]
    if problems:
        raise ClusterError("coursekit autograde: not every Dask worker can grade:\n  "
                           + "\n  ".join(problems))
    try:
        profiling = client.run(task.profiler_on)
    except Exception:   # a worker gone meanwhile: its students go to the others
        profiling = {}
    for address, a in answers.items():
        where = a["where"]
        log(f"coursekit autograde: Dask worker {address} ({where['host']}): coursekit from "
            f"{where['coursekit']}, course {where['course']}, sandbox {where['jail']}, "
            + monitoring_text(profiling.get(address)))


def monitoring_text(profiler_on):
    """The probe line's part on Dask's own monitoring of a worker: with Dask's defaults (the
    profiler on) a hint to start it with the course's settings; nothing is refused."""
    if profiler_on is None:
        return "Dask monitoring unknown"
    if not profiler_on:
        return "Dask profiler off"
    return (f"Dask profiler on (Dask's defaults: start the scheduler and workers with "
            f"DASK_CONFIG={DASK_CONFIG_FILE} to leave that CPU to the grading; docs/grading.md)")


def _answer(future):
    """The worker's answer, or {"error": ...} when the task itself failed (KilledWorker: the
    student's grading killed its worker every time it was tried)."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker:
        return {"error": "the grading worker died each time this submission was graded "
                         "(the scheduler's allowed-failures), also when graded alone on the "
                         "cluster; a rerun grades it again", "killed": True}
    except Exception as exc:
        return {"error": f"the grading task failed on the cluster ({type(exc).__name__}: {exc})",
                "detail": "".join(traceback.format_exception(exc))}


def receive(course, student, answer, start):
    """Write a worker's answer for `student` as the pipeline would have (autograded/ and
    feedback/ swapped in, the gradebook rows merged, the JSON last); the batch's outcome
    (student, score, max, error or None, seconds)."""
    from coursekit.autograde import batch, gradebook, locks, pipeline, reviews
    from coursekit.autograde.result import INTERRUPTED, Result

    seconds = answer.get("seconds", time.monotonic() - start)
    if answer.get("interrupted"):
        return student, None, None, INTERRUPTED, seconds
    if answer.get("error"):
        batch.record_error(course, student, answer["error"], answer.get("detail", ""))
        return student, 0.0, 0.0, answer["error"], seconds
    limits = course.submission_limits
    try:
        result = Result.from_json(json.loads(answer["result"]))
        if result.student != student:
            raise PackError(f"the answer is {result.student}'s")
        with locks.student_lock(course, student):
            course.staging_dir.mkdir(parents=True, exist_ok=True)
            stage = Path(tempfile.mkdtemp(prefix=f"{student}-", dir=course.staging_dir))
            try:
                for part in ("autograded", "feedback"):
                    unpack_folder(answer[part], stage / part, ANSWER_FILES,
                                  ANSWER_BYTES_FACTOR * limits.max_total_bytes)
                if answer.get("gradebook") is not None:
                    with locks.gradebook_lock(course, shared=True):
                        gradebook.merge_student_rows(course, student, answer["gradebook"])
                try:  # a regrade keeps the instructor's decisions on held models
                    reviews.apply(result, reviews.load(course))
                except reviews.ReviewsError:
                    pass    # held as pending; the export that follows names the broken line
                pipeline.swap_in(stage / "autograded",
                                 course.autograded_dir / student / course.assignment)
                pipeline.swap_in(stage / "feedback",
                                 course.feedback_dir / student / course.assignment)
                pipeline.atomic_write_text(course.result_path(student), result.dumps())
            finally:
                shutil.rmtree(stage, ignore_errors=True)
    except (PackError, KeyError, ValueError, TypeError) as exc:
        error = f"the worker's answer could not be used ({type(exc).__name__}: {exc})"
        batch.record_error(course, student, error)
        return student, 0.0, 0.0, error, seconds
    return student, result.score, result.max_score, None, seconds


def _stop(client, task, course, futures, waiting=()):
    """Ctrl-C: cancel every task, interrupt the gradings running on the workers (each cleans up
    on its worker). With a shared gradebook (PostgreSQL) the interrupted students' rows may
    have changed already: their earlier results are marked (batch.mark_interrupted), and
    those of the students `waiting` for their try alone ((student, ...) each)."""
    from coursekit.autograde import batch

    client.cancel(list(futures))
    try:
        client.run(task.stop_grading)
    except Exception:   # a worker gone meanwhile: its gradings died with it
        pass
    if course.sqlite_path is None:
        for student, *_ in [*futures.values(), *waiting]:
            batch.mark_interrupted(course, student)


# --- the worker side: `python -m coursekit.autograde.cluster serve STATE` ------------------
# A warm grading process of a Dask worker (cluster_task.Graders starts it with the bundle's
# course/ first on PYTHONPATH and keeps it from one student to the next, as a local -j worker
# is kept): it reads "VERB JOB" lines on stdin, answers each job (JOB/request.pickle in,
# JOB/answer.pickle out) and writes "done" on the pipe it got as stdout. STATE is this bundle's
# folder of the worker (its own gradebook and output root). Kept between students: the
# imports, the scratch folder (kernel sockets, matplotlib cache, data settings), the
# memory-mapped inputs of the saved models.

def worker_course(request, state):
    """The GradingRun of a worker: the bundle's course, outputs and (SQLite) gradebook in
    `state`, the client's graders and knobs, the worker's CIFAR-10."""
    from coursekit.autograde.command import grader_from_spec
    from coursekit.autograde.grading_run import DATA_ENV, GradingRun
    from coursekit.course import Course

    state = Path(state)
    state.mkdir(parents=True, exist_ok=True)
    db_url = request["db_url"] or f"sqlite:///{state / 'gradebook.db'}?timeout=60"
    kernel_env = dict(request["kernel_env"])
    data = worker_data(request.get("data"))
    if data:
        kernel_env[DATA_ENV] = data
    # A worker's SQLite gradebook is its own already, and the client writes each student's rows
    # to the course's once (receive): graded straight into, as before, not through a copy.
    return GradingRun(root=Course.find().root, output_root=state / "out", db_url=db_url,
                      private_gradebook=False,
                      module_grader=grader_from_spec(request["module_grader"]),
                      inline_grader=grader_from_spec(request["inline_grader"]),
                      kernel_env=kernel_env, private_paths=(str(state),),
                      submission_limits=untrusted.Limits(**request["limits"]),
                      **{k: request[k] for k in RUN_KNOBS})


class WorkerUnfit(RuntimeError):
    """This worker cannot grade (no sandbox, no CIFAR-10): the message says what to do."""


def worker_data(client_data):
    """The CIFAR-10 folder on this worker: its own $CS231N_CIFAR10_DIR, else the client's path
    when this machine has it too (one machine, a shared file system); None when the client
    grades without data (a test course). WorkerUnfit when the client has data and this worker
    has none."""
    from coursekit.autograde.grading_run import DATA_ENV, data_problem

    own = os.environ.get(DATA_ENV)
    for folder in (own, client_data):
        if folder and not data_problem(folder):
            return str(Path(folder).resolve())
    if not client_data:
        return None
    tried = f"{DATA_ENV}={own} " + data_problem(own) if own else f"{DATA_ENV} is not set"
    raise WorkerUnfit(f"no CIFAR-10 on this worker ({tried}, and the client's {client_data} "
                      f"{data_problem(client_data)}); unpack cifar-10-batches-py on the worker "
                      f"and start `dask worker` with {DATA_ENV} set to it")


def sandbox_problem():
    """Why this worker may not grade ("" when it may): it grades with the bubblewrap jail, as
    a local run does, or with what COURSEKIT_JAIL allows (the instructor's explicit choice)."""
    from coursekit import jail

    if os.environ.get("COURSEKIT_JAIL") or jail.mode() == "bwrap":
        return ""
    return (f"no bubblewrap sandbox ({jail.why_not_bwrap()}): student code would run with "
            "limits only; install bubblewrap on the worker (apt-get install bubblewrap), or "
            "allow a weaker sandbox as for a local run by setting COURSEKIT_JAIL=uid or "
            "COURSEKIT_JAIL=none in the worker's environment or the client's")


def where():
    """Where this grading process loaded coursekit and the course from, and its sandbox."""
    import coursekit
    from coursekit import jail
    from coursekit.course import Course

    return {"coursekit": str(Path(coursekit.__file__).parent), "course": str(Course.find().root),
            "host": socket.gethostname(), "jail": jail.mode(), "python": sys.executable}


def probe(request, state):
    """Can this worker grade? Its sandbox and data checked, its gradebook and data prepared."""
    problem = sandbox_problem()
    if problem:
        raise WorkerUnfit(problem)
    warm(request, state)
    return {"where": where()}


# What a serving process keeps between jobs: {"key", "course", "scratch"} (`warm`).
_WARM = {}


def warm(request, state):
    """(GradingRun, scratch folder) of this process for the request's settings: made by the
    first job (and again should the settings change: cluster_task keys its processes by them,
    so they do not), then kept for every student this process grades."""
    from coursekit.autograde import nbgrade, scratch
    from coursekit.autograde.cluster_task import settings_key

    key = settings_key(request)
    if _WARM.get("key") != key:
        if "scratch" in _WARM:
            scratch.remove_folder(_WARM["scratch"])
        _WARM.clear()
        course = worker_course(request, state)
        _prepare(course, state)
        _WARM.update(key=key, course=course, scratch=nbgrade.prepare_scratch(course))
    return _WARM["course"], _WARM["scratch"]


def _prepare(course, state):
    """This worker's gradebook (SQLite), once per bundle and settings, and the shared data in
    the machine's grading cache (grading_cache.machine_cache_root, unless the worker's
    environment names one): prepared by the first of this machine's workers, whose lock the
    others wait on, then found by every later worker and run."""
    from coursekit.autograde import gradebook, grading_cache, locks, module_checks, pipeline

    key = hashlib.sha256(f"{course.db_url}\0{course.kernel_env}".encode()).hexdigest()[:16]
    marker = Path(state) / f"prepared-{key}"
    if not marker.exists():
        if course.sqlite_path is not None:  # the client prepared a shared gradebook itself
            gradebook.check_gradebook(course)
            pipeline.prepare(course)
        marker.touch()
    cache = grading_cache.cache_root()
    cache.mkdir(parents=True, exist_ok=True)
    with locks.file_lock(cache / ".prepare.lock", log=lambda *_: None):
        module_checks.prepare_shared_data(course, log=lambda *_: None)


def grade(request, state, job):
    """Grade the request's student in this warm process; the answer the client's `receive`
    takes."""
    from coursekit.autograde import gradebook, pipeline, scratch

    problem = sandbox_problem()
    if problem:
        raise WorkerUnfit(problem)
    start = time.monotonic()
    course, base = warm(request, state)
    student = request["student"]
    submission = unpack_folder(request["submission"], Path(job) / "submission",
                               course.submission_limits.max_entries,
                               course.submission_limits.max_total_bytes)
    with scratch.redirect_tempfile(base / "py"):
        pipeline.grade_submission(course, student, submission, scratch_dir=base,
                                  manifest=request["manifest"])
    graded = course.autograded_dir / student
    answer = {
        "result": course.result_path(student).read_text(encoding="utf-8"),
        "autograded": pack_folder(graded / course.assignment),
        "feedback": pack_folder(course.feedback_dir / student / course.assignment),
        "gradebook": (gradebook.student_rows(course, student)
                      if course.sqlite_path is not None else None),
        "where": where(),
    }
    shutil.rmtree(graded, ignore_errors=True)   # the client keeps them; this worker needs none
    shutil.rmtree(course.feedback_dir / student, ignore_errors=True)
    answer["seconds"] = time.monotonic() - start
    return answer


def answer_job(verb, job, state):
    """Answer one job: JOB/request.pickle graded (or probed), JOB/answer.pickle written."""
    from coursekit.autograde import interrupts

    job = Path(job)
    try:
        request = pickle.loads((job / "request.pickle").read_bytes())
        if verb == "probe":
            answer = probe(request, state)
        elif verb == "grade":
            answer = grade(request, state, job)
        else:
            answer = {"error": f"unknown verb {verb!r}"}
    except KeyboardInterrupt:
        answer = {"interrupted": True}
    except WorkerUnfit as exc:
        answer = {"error": f"the Dask worker on {socket.gethostname()} cannot grade: {exc}"}
    except Exception as exc:
        answer = {"error": f"{type(exc).__name__}: {exc}", "detail": traceback.format_exc()}
        if interrupts.received():   # the stop's aftermath, not a failure (batch.stopped_by)
            answer = {"interrupted": True}
    tmp = job / "answer.pickle.tmp"
    tmp.write_bytes(pickle.dumps(answer))
    os.replace(tmp, job / "answer.pickle")
    return answer


def serve(state, jobs=sys.stdin, replies=None):
    """Answer the jobs named on `jobs` ("VERB JOB" lines) one after another, each with a
    "done" line on `replies`, until `jobs` ends or a stop (SIGINT: the client's Ctrl-C) was
    received: a process told to stop is never used again."""
    from coursekit.autograde import grading_cache, interrupts, scratch

    interrupts.install_worker()
    scratch.sweep_stale()   # the scratch folders of this machine's killed grading processes
    # The data every student shares is prepared once per machine, not per bundle folder.
    os.environ.setdefault(grading_cache.CACHE_ENV, str(grading_cache.machine_cache_root()))
    while True:
        line = jobs.readline()
        if not line.strip():
            return
        verb, job = line.rstrip("\n").split(" ", 1)
        answer_job(verb, job, state)
        replies.write("done\n")
        replies.flush()
        if interrupts.received():
            return


def main(argv=None):
    verb, state = (argv or sys.argv[1:])[:2]
    if verb != "serve":
        print(f"usage: python -m coursekit.autograde.cluster serve STATE (not {verb!r})",
              file=sys.stderr)
        return 2
    # The replies keep the pipe this process got as stdout; whatever grading prints goes to
    # the log (stderr) instead, never between two replies.
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    serve(state, sys.stdin, replies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
