"""Fixtures of the release tests: a tiny course built end to end, and the committed release."""
import os
import shutil
import subprocess
import sys

import pytest

from coursekit.course import current
from coursekit.release.build import build_release
from tests.release.tiny_course import tiny_course_config, write_tiny_course

COURSE = current()


@pytest.fixture(scope="session")
def tiny_course(tmp_path_factory):
    return write_tiny_course(str(tmp_path_factory.mktemp("tiny_course")))


@pytest.fixture(scope="session")
def tiny_release(tiny_course, tmp_path_factory):
    """Release of the tiny course (read-only: copy it before changing anything)."""
    dest = str(tmp_path_factory.mktemp("tiny_release") / "assignment1")
    return build_release(dest, tiny_course_config(tiny_course), log=lambda *_: None)


@pytest.fixture(scope="session")
def release_dir():
    """The committed release/assignment1 (read-only)."""
    if not os.path.exists(os.path.join(str(COURSE.release_dir), "README.md")):
        pytest.fail(f"{str(COURSE.release_dir)} is not built: run `make release` and commit it")
    return str(COURSE.release_dir)


@pytest.fixture
def release_copy(release_dir, tmp_path):
    """A private copy of the committed release, to change freely."""
    dest = tmp_path / "assignment1"
    shutil.copytree(release_dir, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def run_student_python(folder, *args, env=None, timeout=600):
    """Run Python in a student folder as a student would: its own cs231n, never the master's."""
    full_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, *args], cwd=folder, env=full_env, timeout=timeout,
                          capture_output=True, text=True)
