"""Fixtures of the grader's tests: copies of the master package, stubbed and mutated."""
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from coursekit.grader import grade_submission
from coursekit.grader.master import REPO_ROOT

MASTER_PKG = REPO_ROOT / "cs231n"


def copy_master(dest):
    """A submission folder `dest` holding a copy of the master package (no datasets)."""
    shutil.copytree(MASTER_PKG, Path(dest) / "cs231n",
                    ignore=shutil.ignore_patterns("datasets", "__pycache__", "*.pyc"))
    return Path(dest)


def edit(submission, relpath, old, new, count=1):
    """Replace `old` by `new` in cs231n/<relpath>; `old` must occur exactly `count` times."""
    path = Path(submission) / "cs231n" / relpath
    text = path.read_text()
    assert text.count(old) == count, (
        f"cs231n/{relpath}: expected {count} occurrence(s) of {old!r}, found {text.count(old)} "
        "(the master changed: update this edit)")
    path.write_text(text.replace(old, new))


def stub_copy(dest):
    """The untouched student package: the release builder's stubbing of the master."""
    from coursekit.release.stub import stub_package

    stub_package(str(MASTER_PKG), str(Path(dest) / "cs231n"))
    (Path(dest) / "cs231n" / "saved").mkdir(exist_ok=True)
    return Path(dest)


PY2_IMPORTS = ("from __future__ import print_function\n"
               "from builtins import range\n"
               "from builtins import object\n"
               "from past.builtins import xrange\n")


def official_starter_copy(dest):
    """The untouched official starter, as far as grading can tell: every solution region of the
    master replaced by `pass` (the official stubs return their zero or None placeholders instead
    of raising) and every student module opening with the official Python-2-era imports."""
    from coursekit.grader.functions import STUDENT_FUNCTIONS
    from coursekit.release.layout import BEGIN_SOLUTION, END_SOLUTION

    submission = copy_master(dest)
    for relpath in sorted(set(STUDENT_FUNCTIONS.values())):
        path = submission / "cs231n" / relpath
        lines, out, inside = path.read_text().split("\n"), [], False
        for line in lines:
            if BEGIN_SOLUTION in line:
                inside = True
                out.append(line[: len(line) - len(line.lstrip())] + "pass")
            elif END_SOLUTION in line:
                inside = False
            elif not inside:
                out.append(line)
        path.write_text(PY2_IMPORTS + "\n".join(out))
    return submission


def grade(path, **kwargs):
    kwargs.setdefault("models", False)
    return grade_submission(path, **kwargs)


@pytest.fixture(scope="session")
def master_result(tmp_path_factory):
    return grade(copy_master(tmp_path_factory.mktemp("master")))


@pytest.fixture(scope="session")
def stub_result(tmp_path_factory):
    return grade(stub_copy(tmp_path_factory.mktemp("stub")))


@pytest.fixture(scope="session")
def official_starter_result(tmp_path_factory):
    return grade(official_starter_copy(tmp_path_factory.mktemp("official")))


def _reference_numbers():
    """The non-trivial numbers of the reference file, as a message could print them (4 digits)."""
    from coursekit.grader.references import load_references

    numbers = set()
    for values in load_references().values():
        for ref in values.values():
            for v in np.asarray(ref.value, dtype=np.float64).ravel():
                if abs(v) > 1e-3 and v != round(v):
                    numbers.add(f"{v:.4g}")
    return numbers


def _hidden_code_lines():
    """Lines of the hidden tests that are code, not message text (no string literal in them)."""
    from coursekit.grader.master import HIDDEN_DIR

    lines = set()
    for path in HIDDEN_DIR.glob("*.py"):
        for line in path.read_text().splitlines():
            line = line.strip()
            if len(line) >= 25 and not line.startswith("#") and not any(q in line for q in "\"'"):
                lines.add(line)
    return lines


def message_leaks(result):
    """What the messages of a graded result give away: reference numbers, grader paths, hidden
    test code. Empty when the messages are fit for the student."""
    from coursekit.grader.master import HIDDEN_DIR, REPO_ROOT

    numbers, code = _reference_numbers(), _hidden_code_lines()
    assert len(numbers) > 100 and len(code) > 50  # the scan can find something
    leaks = []
    for c in result.checks:
        for number in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", c.message):
            digits = re.sub(r"e.*$", "", number).replace("-", "").replace(".", "").lstrip("0")
            if len(digits) >= 4 and f"{float(number):.4g}" in numbers:
                leaks.append((c.id, f"reference number {number}"))
        for path in (str(REPO_ROOT), str(HIDDEN_DIR), "grading/hidden", "ckgrade-", "/tmp/"):
            if path in c.message:
                leaks.append((c.id, f"grader path {path}"))
        leaks += [(c.id, f"hidden test line {line!r}") for line in code if line in c.message]
    return leaks
