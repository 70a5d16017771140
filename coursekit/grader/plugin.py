"""The pytest plugin of the hidden checks (loaded by grading/hidden/conftest.py).

    pytest grading/hidden --submission PATH     an instructor's run: pytest's report + points
    coursekit grade-module PATH                 the same tests through pytest.main (driver.py)
    make references                             record mode, on the master package

Each hidden test is a plain function with its points and student function as markers,

    @pytest.mark.points(2)
    @pytest.mark.function("affine_backward")
    def test_affine_backward_matches_the_reference(student): ...

and the `student` fixture (context.Student) runs the submission's code in one sandboxed worker
shared by the session; student code never runs in the pytest process. A test earns all its
points or none (saved models: a share); `CheckFailed` says why, and the plugin keeps that as the
check's message, so what pytest prints is what the student reads.

Options: --submission, --cifar-dir, --function (the tests of one student function),
--timeout-scale, --isolation, --results-json / --summary / --gradescope-json (the reports),
--record-references FILE.
"""

import json
import os
import time
from pathlib import Path

import pytest

from coursekit.grader.check_report import gradescope_results, summary, to_json
from coursekit.grader.context import CheckFailed, CheckInfo, Student
from coursekit.grader.functions import STUDENT_FUNCTIONS, module_of
from coursekit.grader.oracle import OracleServer
from coursekit.grader.references import GraderError, dump_references, load_references
from coursekit.grader.results import CheckResult, GradeResult
from coursekit.grader.sandbox import Limits, Sandbox

# Wall-clock budget of all the checks of one submission (a correct one needs a few seconds; this
# bounds a submission whose every function hangs).
TOTAL_BUDGET = 240.0
DEFAULT_TIME_LIMIT = 10.0

CHECK_KEY = _CHECK = pytest.StashKey[CheckInfo]()
POINTS_KEY = _POINTS = pytest.StashKey[float]()
_SESSION = pytest.StashKey["GradingSession"]()


def pytest_addoption(parser):
    group = parser.getgroup("grading", "hidden checks of a cs231n submission")
    group.addoption("--submission", metavar="PATH",
                    help="folder holding the cs231n/ package to grade (or that package)")
    # $CS231N_CIFAR10_DIR is read here, for `pytest grading/hidden` typed by hand;
    # driver.grade_submission always passes the folder.
    group.addoption("--cifar-dir", metavar="DIR", default=os.environ.get("CS231N_CIFAR10_DIR"),
                    help="CIFAR-10 folder for the saved models (default $CS231N_CIFAR10_DIR, "
                         "else cs231n/datasets/cifar-10-batches-py)")
    group.addoption("--function", action="append", default=[], metavar="NAME",
                    help="only the tests of this student function (repeatable)")
    group.addoption("--timeout-scale", type=float, default=1.0,
                    help="multiply every check's time limit (slow machines)")
    group.addoption("--isolation", default="auto", choices=("auto", "bwrap", "uid", "none"),
                    help="sandbox of the worker (default: the strongest this machine allows)")
    group.addoption("--results-json", metavar="FILE", help="write the per-check JSON here")
    group.addoption("--summary", metavar="FILE", help="write the summary by function here")
    group.addoption("--gradescope-json", metavar="FILE",
                    help="write Gradescope's results.json format here")
    group.addoption("--record-references", metavar="FILE",
                    help="record mode: write the submission's values as the reference file "
                         "(for the master package only: make references)")


def pytest_configure(config):
    config.addinivalue_line("markers", "points(n): the points a hidden check is worth")
    config.addinivalue_line("markers", "function(name): the student function it grades")
    config.addinivalue_line("markers", "time_limit(seconds): the check's time (default 10)")
    if not config.getoption("--submission") and not config.getoption("help", False):
        raise pytest.UsageError("name the submission to grade: --submission PATH (a folder "
                                "holding cs231n/, e.g. --submission . for the master package)")
    config.stash[_SESSION] = GradingSession(config)


def _marker_arg(item, name):
    marker = item.get_closest_marker(name)
    return marker.args[0] if marker and marker.args else None


def check_id(item):
    """'<topic>.<test name>' of a hidden test: test_layers.py::test_relu_x -> 'layers.relu_x'."""
    topic = Path(str(item.fspath)).stem.removeprefix("test_")
    return f"{topic}.{item.name.removeprefix('test_')}"


def pytest_collection_modifyitems(session, config, items):
    wanted = set(config.getoption("--function"))
    kept, problems = [], []
    for item in items:
        points, function = _marker_arg(item, "points"), _marker_arg(item, "function")
        if points is None or function is None:
            problems.append(f"{item.nodeid}: needs @pytest.mark.points(n) and "
                            "@pytest.mark.function(name)")
            continue
        if function not in STUDENT_FUNCTIONS and not function.startswith("saved/"):
            problems.append(f"{item.nodeid}: unknown student function {function!r}")
            continue
        limit = float(_marker_arg(item, "time_limit") or DEFAULT_TIME_LIMIT)
        item.stash[_CHECK] = CheckInfo(check_id(item), function, limit)
        item.stash[_POINTS] = float(points)
        if not wanted or function in wanted:
            kept.append(item)
    if problems:
        raise pytest.UsageError("hidden tests without their grading markers:\n"
                                + "\n".join(problems))
    unknown = wanted - {item.stash[_CHECK].function for item in items}
    if unknown:
        raise pytest.UsageError(f"--function: no test grades {', '.join(sorted(unknown))}")
    ids = [item.stash[_CHECK].id for item in kept]
    if len(set(ids)) != len(ids):
        raise pytest.UsageError("two hidden tests have the same id (file and name)")
    deselected = [item for item in items if item not in kept]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items[:] = kept
    config.stash[_SESSION].modules = sorted({module_of(item.stash[_CHECK].function)
                                             for item in kept} - {None})


class GradingSession:
    """The sandbox of one submission and what the session learns while grading it."""

    def __init__(self, config):
        self.config = config
        self.submission = config.getoption("--submission")
        self.record_path = config.getoption("--record-references")
        self.mode = "record" if self.record_path else "grade"
        self.scale = config.getoption("--timeout-scale")
        self.result = GradeResult(str(self.submission))
        self.recorded = {}
        self.modules = []
        self.sandbox = None
        self.setup_error = None
        self.import_errors = {}
        self.hung = set()
        self.refs = None
        self.oracles = OracleServer()
        self.budget_end = None
        self.start = time.monotonic()

    # -- the sandbox, started on the first check

    def open(self):
        if self.sandbox is not None or self.setup_error is not None:
            return
        self.budget_end = time.monotonic() + TOTAL_BUDGET * self.scale
        pkg = package_dir(self.submission)
        if not pkg.is_dir() or pkg.is_symlink():
            self.setup_error = "no cs231n/ package folder in the submission"
            self.result.notes.append(f"no cs231n/ package folder found in {self.submission}")
            return
        if self.mode == "grade":
            self.refs = load_references()
        self.sandbox = Sandbox(pkg, limits=Limits(),
                               isolation=self.config.getoption("--isolation"))
        for module in self.modules:
            reply = self.sandbox.request({"op": "import", "module": module}, 20 * self.scale)
            if reply.ok and isinstance(reply.value, str):
                self.sandbox.notes.append(f"import: {reply.value[:300]}")
            if not reply.ok:
                file = module.removeprefix("cs231n.").replace(".", "/") + ".py"
                detail = _reply_text(reply)
                self.import_errors[module] = f"cs231n/{file} could not be imported ({detail})"

    def close(self):
        self.oracles.close()
        if self.sandbox is None:
            return
        self.result.notes += self.sandbox.notes + self.sandbox.copy_notes
        if self.sandbox.restarts > 1:
            self.result.notes.append(f"the worker was restarted {self.sandbox.restarts - 1} "
                                     "time(s) after a crash, a timeout or an unreadable reply")
        self.sandbox.close()
        self.sandbox = None

    def student_for(self, check):
        """A Student for one check, or CheckFailed saying why the check cannot run."""
        self.open()
        if self.setup_error:
            raise CheckFailed(self.setup_error, "error")
        module = module_of(check.function)
        if module in self.import_errors:
            raise CheckFailed(self.import_errors[module], "error")
        if check.function in self.hung:
            raise CheckFailed(f"skipped: {check.function} did not finish in an earlier check",
                              "timeout")
        start = time.monotonic()
        if start >= self.budget_end:
            raise CheckFailed(f"skipped: the time for grading this submission "
                              f"({TOTAL_BUDGET * self.scale:g} s) was used up by functions "
                              "that did not finish", "timeout")
        deadline = min(start + check.time_limit * self.scale, self.budget_end)
        return Student(self.sandbox, check, self.mode, self.refs, deadline,
                       self.sandbox.sources, self.oracles)

    # -- results

    def record(self, item, status, message, seconds, fraction=0.0, student=None, details=None):
        check = item.stash[_CHECK]
        max_points = item.stash[_POINTS]
        if status == "timeout":
            self.hung.add(check.function)
        earned = max_points if status == "passed" else round(max_points * fraction, 4)
        self.result.checks.append(CheckResult(check.id, check.function, earned, max_points,
                                              status, message, seconds, dict(details or {})))
        if self.mode == "record" and student is not None and student.recorded:
            self.recorded[check.id] = student.recorded

    def finish(self):
        self.close()
        self.result.seconds = time.monotonic() - self.start
        config = self.config
        if self.mode == "record" and self.result.checks and all(
                c.status == "passed" for c in self.result.checks):
            # Only a master that passes every check defines the references.
            Path(self.record_path).write_text(dump_references(self.recorded))
        for option, text in (("--results-json", to_json), ("--summary", summary),
                             ("--gradescope-json", _gradescope_text)):
            path = config.getoption(option)
            if path:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                Path(path).write_text(text(self.result))


def _gradescope_text(result):
    return json.dumps(gradescope_results(result), indent=1) + "\n"


def _reply_text(reply):
    if reply.status != "error":
        return reply.message
    return f"{str(reply.error.get('type'))[:100]}: {str(reply.error.get('message'))[:500]}"


def package_dir(path):
    """The cs231n package of a submission folder (or the folder itself if it is one)."""
    path = Path(path)
    if path.name == "cs231n" and (path / "__init__.py").exists() and not path.is_symlink():
        return path
    return path / "cs231n"


@pytest.fixture
def student(request):
    """The submission's code, sandboxed, and the judge, bound to this test (context.Student)."""
    session = request.config.stash[_SESSION]
    request.node.stash[_STUDENT] = None
    value = session.student_for(request.node.stash[_CHECK])
    request.node.stash[_STUDENT] = value
    return value


@pytest.fixture(scope="session")
def cifar_images(request):
    """The CIFAR-10 validation and test images of the saved models (models.CifarImages); skips
    the model checks ("not graded") when the grader has no CIFAR-10."""
    from coursekit.grader.models import CifarImages, dataset_dir

    root = dataset_dir(request.config.getoption("--cifar-dir"))
    if not (root / "test_batch").is_file():
        # The path is the grader's: for the instructor's notes, not for the student's message.
        request.config.stash[_SESSION].result.notes.append(
            f"saved models not graded: no CIFAR-10 test_batch in {root}; pass --cifar-dir or "
            "set CS231N_CIFAR10_DIR")
        pytest.skip("not graded: the grader had no CIFAR-10 test set; your instructor grades "
                    "the saved models separately")
    return CifarImages(root)


_STUDENT = pytest.StashKey[object]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    session = item.config.stash[_SESSION]
    if call.when not in ("setup", "call") or _CHECK not in item.stash:
        return
    if call.when == "setup" and call.excinfo is None and not report.skipped:
        return  # the check itself runs next
    student = item.stash.get(_STUDENT, None)
    seconds = call.duration
    if report.skipped:
        reason = call.excinfo.value.msg if call.excinfo else "not graded"
        session.record(item, "not_graded", reason, seconds)
        return
    if call.excinfo is None:
        session.record(item, "passed", student.message if student else "", seconds,
                       student=student, details=student.details if student else None)
        return
    exc = call.excinfo.value
    details = None
    if isinstance(exc, GraderError):  # a fault of the grader or its references, not the student's
        status, message, fraction = "grader_error", f"grader error: {exc}", 0.0
    elif isinstance(exc, CheckFailed):
        status, message, fraction = exc.status, str(exc), exc.fraction
        details = exc.details
    elif isinstance(exc, AssertionError):
        status, message, fraction = "failed", str(exc) or "check failed", 0.0
    else:  # a reply the check did not expect: junk from the worker
        status, fraction = "failed", 0.0
        message = f"the results could not be checked ({type(exc).__name__}: {str(exc)[:200]})"
    session.record(item, status, message, seconds, fraction, details=details)
    report.outcome = "failed"
    report.longrepr = f"[{item.stash[_CHECK].function}] {status}: {message}"


def pytest_sessionfinish(session):
    grading = session.config.stash.get(_SESSION, None)
    if grading is not None:
        grading.finish()


def pytest_terminal_summary(terminalreporter, config):
    grading = config.stash.get(_SESSION, None)
    if grading is not None and grading.result.checks:
        terminalreporter.section("points")
        terminalreporter.write(summary(grading.result))
