"""The release pipeline: the master course in, the student folder out, in small named steps.

    notebooks      nbgrader generate_assignment of the master notebooks
    package        the master cs231n/ with every solution region replaced by a stub
    datasets       cs231n/datasets/get_datasets.sh, copied
    saved          an empty cs231n/saved/ (a .gitkeep keeps it in git)
    student-files  README.md, check.py, collect.py, requirements.txt, .gitignore from templates
    leakcheck      refuse the result if anything secret is in it

`build_release` runs them all into a scratch folder and only then replaces the destination, so
a failed or leaking build never leaves a half-written or leaking release behind. Each step is a
function `step(course, dest)` that can also be run alone (`coursekit release --step NAME`).
"""
import os
import shutil
import tempfile
from dataclasses import dataclass, field

from . import layout
from .leakcheck import find_leaks
from .notebooks import generate_notebooks
from .stub import stub_package

# Student-side files, copied from coursekit/release/templates/ (name in templates -> in release).
STUDENT_FILES = {
    "README.md": "README.md",
    "check.py": "check.py",
    "collect.py": "collect.py",
    "requirements.txt": "requirements.txt",
    "gitignore": ".gitignore",
}
EXECUTABLE = {"cs231n/datasets/get_datasets.sh"}


@dataclass
class Course:
    """Where the master course lives (the repository by default; tests use tiny courses)."""

    package: str = layout.MASTER_PACKAGE
    notebooks_dir: str = layout.MASTER_NOTEBOOKS
    notebooks: list = field(default_factory=lambda: list(layout.NOTEBOOKS))
    tests_dir: tuple = layout.GRADER_DIRS
    nbgrader_config: str = layout.NBGRADER_CONFIG


class LeakError(RuntimeError):
    def __init__(self, leaks):
        self.leaks = leaks
        lines = "\n".join(f"  {leak}" for leak in leaks[:50])
        more = f"\n  ... and {len(leaks) - 50} more" if len(leaks) > 50 else ""
        super().__init__(
            f"the release leaks {len(leaks)} secret item(s); nothing was written:\n{lines}{more}"
        )


def step_notebooks(course, dest):
    written = generate_notebooks(course.notebooks_dir, dest, course.notebooks,
                                 config_file=course.nbgrader_config)
    return f"{len(written)} file(s) from nbgrader"


def step_package(course, dest):
    stubbed = stub_package(course.package, os.path.join(dest, "cs231n"))
    count = sum(len(set(names)) for names in stubbed.values())
    return f"{count} student function(s) stubbed in {len(stubbed)} module(s)"


def step_datasets(course, dest):
    rel = "cs231n/datasets/get_datasets.sh"
    src = os.path.join(course.package, "datasets", "get_datasets.sh")
    if not os.path.exists(src):
        raise FileNotFoundError(f"release step datasets: the master has no {rel} ({src})")
    os.makedirs(os.path.join(dest, "cs231n", "datasets"), exist_ok=True)
    shutil.copyfile(src, os.path.join(dest, rel))
    return rel


def step_saved(course, dest):
    saved = os.path.join(dest, "cs231n", "saved")
    os.makedirs(saved, exist_ok=True)
    open(os.path.join(saved, ".gitkeep"), "w").close()
    return "cs231n/saved/.gitkeep"


def step_student_files(course, dest):
    for template, target in STUDENT_FILES.items():
        shutil.copyfile(os.path.join(layout.TEMPLATES, template), os.path.join(dest, target))
    return ", ".join(STUDENT_FILES.values())


def step_leakcheck(course, dest):
    leaks = find_leaks(dest, course.package, course.notebooks_dir, course.tests_dir)
    if leaks:
        raise LeakError(leaks)
    return "no leak"


STEPS = {
    "notebooks": step_notebooks,
    "package": step_package,
    "datasets": step_datasets,
    "saved": step_saved,
    "student-files": step_student_files,
    "leakcheck": step_leakcheck,
}


def _fix_modes(dest):
    """Same permissions on every machine (git records the executable bit)."""
    for dirpath, _, filenames in os.walk(dest):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, dest).replace(os.sep, "/")
            os.chmod(path, 0o755 if rel in EXECUTABLE else 0o644)


def run_step(name, course, dest, log=print):
    result = STEPS[name](course, dest)
    log(f"release: {name:<14} {result}")
    return result


def build_release(dest=layout.RELEASE_DIR, course=None, log=print):
    """Build the whole release into `dest` (replaced only when every step, leak check included,
    has passed)."""
    course = course or Course()
    dest = os.path.abspath(dest)
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=".release-", dir=parent)
    try:
        build = os.path.join(scratch, os.path.basename(dest))
        os.makedirs(build)
        for name in STEPS:
            if name == "leakcheck":
                _fix_modes(build)
            run_step(name, course, build, log)
        old = os.path.join(scratch, "old")
        if os.path.exists(dest):
            os.rename(dest, old)
        os.rename(build, dest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log(f"release: written to {dest}")
    return dest
