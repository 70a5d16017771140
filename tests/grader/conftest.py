"""Fixtures of the grader's tests: copies of the master package, stubbed and mutated."""
import shutil
from pathlib import Path

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


def grade(path, **kwargs):
    kwargs.setdefault("models", False)
    return grade_submission(path, **kwargs)


@pytest.fixture(scope="session")
def master_result(tmp_path_factory):
    return grade(copy_master(tmp_path_factory.mktemp("master")))


@pytest.fixture(scope="session")
def stub_result(tmp_path_factory):
    return grade(stub_copy(tmp_path_factory.mktemp("stub")))
