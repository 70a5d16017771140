"""Step 4, module checks: the hidden module checks and the saved-model checks.

The checks themselves (sandbox, reference values) belong to `coursekit.grader`; this step
calls `GradingRun.module_grader` (coursekit.grader.grade_submission unless a test swaps in a fake)
on the collected submission and turns each CheckResult of its GradeResult into a graded Item,
grouped by the function (or model) it checks, so grades.csv gets one column per function and
one per model. A model the checks hold for review keeps what its release would earn in
`Item.review` (reviews.py). `prepare_shared_data` computes, once per batch, the data every
student's checks share.
"""
import os
import pickle
import signal
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from coursekit.autograde import reviews
from coursekit.autograde.result import MODEL, MODULE, Item


def check_item(check):
    """The graded Item of one CheckResult: module:<check id> in column module:<function>, or
    model:<name> (one item and column per saved model, named by its file: model:best_softmax).
    """
    if check.is_model:
        name = check.function.removeprefix("saved/").removesuffix(".npy")
        kind, item_id, column = MODEL, f"model:{name}", f"model:{name}"
    else:
        kind, item_id, column = MODULE, f"module:{check.id}", f"module:{check.function}"
    message = check.message or ("not graded" if check.status == "not_graded" else "")
    item = Item(item_id, kind, check.points, check.max_points, column=column, message=message,
                status=check.status)
    if kind == MODEL and check.status == "review":  # held: scored by the instructor's review
        item.review = reviews.held_review(message, check.details)
    return item


def run_module_checks(course, submission_dir, cifar_dir=None):
    """(items, notices, grader notes) of the module/model checks of one submission.

    `cifar_dir`: the CIFAR-10 folder the saved models are scored on (None: they are "not
    graded", unless the grader finds the data in the course itself)."""
    if course.module_grader is None:
        return [], [], []
    try:  # SystemExit too: whatever the grader lets through must not end the grading run
        grade = course.module_grader(str(submission_dir), cifar_dir=cifar_dir)
    except (Exception, SystemExit) as exc:
        tail = traceback.format_exc(limit=-1).strip().splitlines()[-1]
        return [], [f"module checks failed to run ({type(exc).__name__}: {exc}; {tail}); "
                    "this is a grader problem, not the student's: report it to the instructor"], []
    # The grader's notes describe its run (sandbox kind, restarts): kept for the instructor
    # in the JSON, not shown to students as notices.
    return [check_item(c) for c in grade.checks], [], list(grade.notes)


def prepare_shared_data(course, log=print):
    """Prepare, once, the data every student's grading shares, before a batch's workers start
    (batch.grade_all calls it in its main process), in the grading cache
    (coursekit/autograde/grading_cache.py):

    - the notebooks' grading subset of CIFAR-10 and its features, which the kernels read
      read-only (nbgrade.prepare_scratch checks it again in each grading process, cheaply);
    - the inputs the saved models are scored on (coursekit/grader/models.py): the validation
      and test images as each model's preprocessing makes them, and the HOG and colour-histogram
      features normalised by the training images' (minutes on the whole CIFAR-10). Each
      worker memory-maps them once; no student's checks reload CIFAR-10.

    Returns True when it computed something, False when there was nothing to do (no CIFAR-10,
    or everything already prepared)."""
    cifar_dir = course.kernel_env.get("CS231N_CIFAR10_DIR")
    if not cifar_dir or not (Path(cifar_dir) / "test_batch").is_file():
        return False
    from coursekit.autograde import grading_cache

    du = grading_cache.data_utils()
    computed = False
    try:
        du.read_grading_subset(cifar_dir, str(grading_cache.notebook_cache_dir()),
                               du.SUBSET_ARRAYS + du.GRADING_FEATURES)
    except (du.DamagedSubset, OSError):
        computed = grading_cache.prepare_notebook_data(cifar_dir, log=log) is not None
    if course.module_grader is None:
        return computed
    from coursekit.grader.models import shared_inputs

    try:
        grading_cache.check_model_inputs(cifar_dir)
        return computed
    except FileNotFoundError:
        log("coursekit autograde: preparing the saved models' validation and test inputs once "
            f"for every student (in {grading_cache.model_cache_dir(cifar_dir).parent})")
    except (du.DamagedSubset, OSError) as exc:
        log(f"coursekit autograde: the saved models' prepared inputs are damaged ({exc}); "
            "preparing them again")
        import shutil

        shutil.rmtree(grading_cache.model_cache_dir(cifar_dir), ignore_errors=True)
    start = time.monotonic()
    try:
        shared_inputs(cifar_dir)
    except Exception as exc:  # the students' own checks meet it again and report it there
        log(f"coursekit autograde: the saved models' inputs could not be prepared "
            f"({type(exc).__name__}: {exc}); each student's saved-model checks will try again")
        return computed
    log(f"coursekit autograde: saved models' inputs ready ({time.monotonic() - start:.0f} s)")
    return True


def _die_with_parent():
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent's clean-up kills the child
        pass


def _warm_imports():
    """What a forked child would otherwise import again for every student: pytest, the grader,
    and the hidden tests themselves (one collection, once per process)."""
    if _warm_imports.done:
        return
    _warm_imports.done = True
    from coursekit.grader import driver

    try:
        driver.collect_checks()
    except Exception:  # noqa: BLE001 - the child meets the same problem and reports it
        pass


_warm_imports.done = False


class ModuleChecks:
    """One student's module checks, started by `beside()`: `result()` gives what
    `run_module_checks` returns."""

    forked = 0  # students whose checks this process forked

    def __init__(self, course, submission_dir, cifar_dir):
        self.args = (course, submission_dir, cifar_dir)
        self.pid = None
        self.fd = None
        self.started = None
        self.seconds = None  # the child's own wall time, when it ran beside the notebooks

    def start(self):
        """Fork a child that runs the checks now, in a process group of its own."""
        course = self.args[0]
        if ModuleChecks.forked and course.module_grader is driver_grade_submission():
            # From the second student of this process on: the first one's child imports
            # them itself, beside the notebooks, rather than before they start.
            _warm_imports()
        ModuleChecks.forked += 1
        read_fd, write_fd = os.pipe()
        self.started = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            status = 1
            try:
                os.close(read_fd)
                os.setpgid(0, 0)
                _die_with_parent()
                for signum in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(signum, signal.SIG_DFL)
                start = time.monotonic()
                outcome = run_module_checks(*self.args)
                payload = pickle.dumps(("ok", outcome, time.monotonic() - start))
                with os.fdopen(write_fd, "wb") as out:
                    out.write(payload)
                status = 0
            except BaseException:  # noqa: BLE001 - the parent turns it into a notice
                try:
                    with os.fdopen(write_fd, "wb", closefd=False) as out:
                        out.write(pickle.dumps(("error", traceback.format_exc(limit=-3), 0)))
                except BaseException:  # noqa: BLE001
                    pass
            finally:
                os._exit(status)
        os.close(write_fd)
        self.pid, self.fd = pid, read_fd
        return self

    def result(self):
        if self.pid is None:
            return run_module_checks(*self.args)
        chunks = []
        with os.fdopen(self.fd, "rb") as pipe:
            self.fd = None
            while chunk := pipe.read(1 << 16):
                chunks.append(chunk)
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        try:
            kind, outcome, seconds = pickle.loads(b"".join(chunks))
        except Exception:  # noqa: BLE001 - no (whole) answer: the child died
            how = (f"killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
                   else f"exit code {os.waitstatus_to_exitcode(status)}")
            return [], [f"module checks failed to run (their process ended without a result, "
                        f"{how}); this is a grader problem, not the student's: report it to "
                        "the instructor"], []
        if kind != "ok":
            tail = outcome.strip().splitlines()[-1] if outcome.strip() else "no detail"
            return [], [f"module checks failed to run ({tail}); this is a grader problem, "
                        "not the student's: report it to the instructor"], []
        self.seconds = round(seconds, 2)
        return outcome

    def stop(self):
        """Kill the child and everything it started, if it still runs."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.pid is not None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = None


def driver_grade_submission():
    from coursekit.grader import grade_submission

    return grade_submission


@contextmanager
def beside(course, submission_dir, cifar_dir=None):
    """The student's module checks, started now in a forked process when the jail is bubblewrap
    (so they run while the notebooks do), else run by `result()` when it is called.

    A process, not a thread: CPython 3.11's compiler keeps its AST recursion depth per
    interpreter, and two threads compiling at once (pytest formatting a failure while the judge
    parses a test) fail with "SystemError: AST constructor recursion depth mismatch". Only in
    the bubblewrap jail: under the uid fallback a notebook's kernel shares the module worker's
    host user, whose processes end with the kernel. However the block ends, the child and what
    it started are gone after it (and the child dies with its parent)."""
    checks = ModuleChecks(course, submission_dir, cifar_dir)
    if course.modules_beside and course.module_grader is not None and hasattr(os, "fork"):
        from coursekit import jail

        if jail.mode() == "bwrap":
            checks.start()
    try:
        yield checks
    finally:
        checks.stop()
