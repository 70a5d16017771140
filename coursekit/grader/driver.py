"""Grading a submission's `cs231n` package: the hidden tests of grading/hidden/ run by pytest.

`grade_submission(path)` runs `pytest.main` on grading/hidden with the plugin's options and
returns the GradeResult the plugin wrote (`coursekit grade-module`, the module checks step of
`coursekit autograde` and of the Gradescope run). In order: pick the hidden test files (the
code checks and/or test_saved_models.py, in name order), run them with --results-json into a
temporary folder, read that back, and raise GraderError if a check failed through the
grader's own fault. `generate_references()` / `write_references()` run the same
tests on the master package in record mode (`make references`).
"""

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path

import pytest

from coursekit.grader.master import HIDDEN_DIR, REPO_ROOT
from coursekit.grader.models import dataset_dir
from coursekit.grader.references import REFERENCES_FILE, GraderError
from coursekit.grader.results import GradeResult

MODELS_FILE = "test_saved_models.py"


def hidden_targets(hidden_dir=HIDDEN_DIR, models=True, code=True):
    """The hidden test files to run: the code checks, the saved models, or both."""
    files = sorted(Path(hidden_dir).glob("test_*.py"))
    return [str(f) for f in files if (f.name == MODELS_FILE and models)
            or (f.name != MODELS_FILE and code)]


# A quiet run prints nothing and swaps none of the process's streams, which other threads
# (nbclient's, a caller's) may be writing: no terminal report (its
# errors are collected by `_Errors`), no capture of the process's stdout/stderr, no logging
# handlers on the root logger, no faulthandler or unraisable/thread-exception hooks (these last
# also cost a full garbage collection per run).
QUIET = ["-p", "no:terminal", "-p", "no:logging", "-p", "no:faulthandler",
         "-p", "no:unraisableexception", "-p", "no:threadexception", "--capture=no"]


class _Errors:
    """A pytest plugin keeping what a quiet run would have printed of an error."""

    def __init__(self):
        self.lines = []

    def pytest_internalerror(self, excrepr):
        self.lines.append(str(excrepr))

    def pytest_collectreport(self, report):
        if report.failed:
            self.lines.append(f"{report.nodeid}: {report.longreprtext}")

    def pytest_runtest_logreport(self, report):
        if report.when != "call" and report.failed:     # a fixture's error, not a check's
            self.lines.append(f"{report.nodeid} ({report.when}): {report.longreprtext}")


def run_pytest(args, hidden_dir=HIDDEN_DIR, quiet=True):
    """pytest.main on the hidden tests with their own ini file; returns its exit code."""
    base = ["-c", str(Path(hidden_dir) / "pytest.ini"), "--rootdir", str(hidden_dir),
            "-p", "no:cacheprovider"]
    if not quiet:
        return int(pytest.main(base + args))
    errors = _Errors()
    code = int(pytest.main(base + QUIET + args, plugins=[errors]))
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise GraderError(f"the hidden tests could not run (pytest exit code {code}):\n"
                          + "\n".join(errors.lines)[-3000:])
    return code


def grade_submission(path, *, hidden_dir=HIDDEN_DIR, cifar_dir=None, isolation="auto",
                     timeout_scale=1.0, models=True, code=True, functions=(), tests=None):
    """Grade the `cs231n/` package in folder `path`; returns a GradeResult.

    - cifar_dir: CIFAR-10 folder for the saved models (default: the course's own
      cs231n/datasets/cifar-10-batches-py; the environment is not read); without the data
      they are "not graded".
    - isolation: "auto", "bwrap", "uid" or "none" (coursekit/jail.py).
    - timeout_scale: multiplies every check's time limit.
    - models / code: grade the saved models / run the code checks (both by default).
    - functions: only the checks of these student functions.
    - tests: explicit test ids ("test_layers.py::test_x"), run in that order.
    """
    targets = ([str(Path(hidden_dir) / t) for t in tests] if tests
               else hidden_targets(hidden_dir, models, code))
    # The pid in the name: a run killed before it removes the folder is recognised and swept
    # (coursekit/autograde/scratch.py).
    with tempfile.TemporaryDirectory(prefix=f"ck-grade-{os.getpid()}-") as tmp:
        out = Path(tmp) / "grade.json"
        args = [*targets, "--submission", str(path), "--results-json", str(out),
                "--isolation", isolation, "--timeout-scale", str(timeout_scale),
                "--cifar-dir", str(dataset_dir(cifar_dir))]
        for function in functions:
            args += ["--function", function]
        run_pytest(args, hidden_dir)
        if not out.exists():
            raise GraderError("the hidden tests ran but wrote no results")
        result = GradeResult.from_dict(json.loads(out.read_text()))
    errors = [c for c in result.checks if c.status == "grader_error"]
    if errors:
        raise GraderError("; ".join(f"{c.id}: {c.message}" for c in errors[:5]))
    return result


class _Collector:
    """pytest plugin object: keeps what the grading plugin learnt of each collected test."""

    def __init__(self):
        self.checks = []

    def pytest_collection_finish(self, session):
        from coursekit.grader.plugin import CHECK_KEY, POINTS_KEY

        self.checks = [(item.stash[CHECK_KEY], item.stash[POINTS_KEY]) for item in session.items]


def collect_checks(hidden_dir=HIDDEN_DIR, models=True):
    """[(CheckInfo, points)] of the hidden tests, in grading order, without running them."""
    collector = _Collector()
    sink = io.StringIO()
    # No unraisable/thread-exception hooks: each costs a full gc at the end (0.3 s a process).
    base = ["-c", str(Path(hidden_dir) / "pytest.ini"), "--rootdir", str(hidden_dir),
            "-p", "no:cacheprovider", "-p", "no:unraisableexception", "-p", "no:threadexception",
            "-q", "--collect-only", "--submission", str(REPO_ROOT)]
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = pytest.main(base + hidden_targets(hidden_dir, models), plugins=[collector])
    if code != pytest.ExitCode.OK:
        raise GraderError(f"the hidden tests could not be collected:\n{sink.getvalue()[-3000:]}")
    return collector.checks


def generate_references(master_root=REPO_ROOT, hidden_dir=HIDDEN_DIR):
    """Run every code check on the master package in record mode; returns the file's text."""
    with tempfile.TemporaryDirectory(prefix="ck-refs-") as tmp:
        out, results = Path(tmp) / REFERENCES_FILE, Path(tmp) / "grade.json"
        run_pytest([*hidden_targets(hidden_dir, models=False), "--submission", str(master_root),
                    "--record-references", str(out), "--results-json", str(results)],
                   hidden_dir)
        if not out.exists():
            failed = [c for c in GradeResult.from_dict(json.loads(results.read_text())).checks
                      if c.status != "passed"]
            raise GraderError("the master package fails " + "; ".join(
                f"{c.id}: {c.message}" for c in failed[:5]))
        return out.read_text()


def write_references(master_root=REPO_ROOT, hidden_dir=HIDDEN_DIR):
    text = generate_references(master_root, hidden_dir)
    path = Path(hidden_dir) / REFERENCES_FILE
    path.write_text(text)
    return path
