"""Fixtures of the autograde suites: the tiny course (tinycourse.py) and its grading settings."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import tinycourse  # noqa: E402


@pytest.fixture(scope="module")
def tiny_course(tmp_path_factory):
    """Path of a freshly built tiny course (source, release, gradebook)."""
    return tinycourse.build_course(tmp_path_factory.mktemp("tiny") / "course", timeout=5)
