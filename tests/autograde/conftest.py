"""Fixtures of the autograde suites: the tiny course (tinycourse.py) and its grading settings."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import tinycourse  # noqa: E402

from coursekit.autograde.course import Course  # noqa: E402


def tiny_settings(root, **changes):
    """Grading settings of a tiny course built at `root` (fake module and inline graders)."""
    return Course(root=root, notebooks=tinycourse.NOTEBOOKS,
                  module_grader="tinycourse:fake_module_grader",
                  inline_grader="tinycourse:fake_inline_grader", kernel_memory_mb=1024,
                  **changes)


@pytest.fixture(scope="module")
def tiny_course(tmp_path_factory):
    """Path of a freshly built tiny course (source, release, gradebook)."""
    return tinycourse.build_course(tmp_path_factory.mktemp("tiny") / "course", timeout=5)
