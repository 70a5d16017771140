"""The release build: the master course in, the student folder out, in small named steps.

    notebooks      nbgrader generate_assignment of the master notebooks
    package        the master cs231n/ with every solution region replaced by a stub
    datasets       cs231n/datasets/get_datasets.sh, copied
    saved          an empty cs231n/saved/ (a .gitkeep keeps it in git)
    student-files  README.md, check.py, collect.py, requirements.txt, .gitignore from templates
                   (check.py and collect.py get the notebook and model lists of course.toml)
    leakcheck      refuse the result if anything secret is in it

`build_release` runs them all into a scratch folder and only then replaces the destination, so
a failed or leaking build never leaves a half-written or leaking release behind. Each step is a
function `step(course, dest)` of the course manifest (coursekit.course.Course) and the folder
being built, and can also be run alone (`coursekit release --step NAME`).
"""
import json
import os
import re
import shutil
import tempfile

from coursekit.course import current

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
# A line of a template that course.toml fills in: `NAME = <anything>  # from course.toml`.
MANIFEST_LINE = re.compile(r"^(?P<name>[A-Z_]+) = .*  # from course\.toml$", re.MULTILINE)


class LeakError(RuntimeError):
    def __init__(self, leaks):
        self.leaks = leaks
        lines = "\n".join(f"  {leak}" for leak in leaks[:50])
        more = f"\n  ... and {len(leaks) - 50} more" if len(leaks) > 50 else ""
        super().__init__(
            f"the release leaks {len(leaks)} secret item(s); nothing was written:\n{lines}{more}"
        )


def step_notebooks(course, dest):
    written = generate_notebooks(str(course.source_dir), dest, list(course.notebook_files),
                                 config_file=str(course.nbgrader_config),
                                 assignment=course.assignment)
    return f"{len(written)} file(s) from nbgrader"


def step_package(course, dest):
    stubbed = stub_package(str(course.package_dir), os.path.join(dest, course.package))
    count = sum(len(set(names)) for names in stubbed.values())
    return f"{count} student function(s) stubbed in {len(stubbed)} module(s)"


def step_datasets(course, dest):
    rel = f"{course.package}/datasets/get_datasets.sh"
    src = os.path.join(course.package_dir, "datasets", "get_datasets.sh")
    if not os.path.exists(src):
        raise FileNotFoundError(f"release step datasets: the master has no {rel} ({src})")
    os.makedirs(os.path.join(dest, course.package, "datasets"), exist_ok=True)
    shutil.copyfile(src, os.path.join(dest, rel))
    return rel


def step_saved(course, dest):
    saved = os.path.join(dest, course.package, "saved")
    os.makedirs(saved, exist_ok=True)
    open(os.path.join(saved, ".gitkeep"), "w").close()
    return f"{course.package}/saved/.gitkeep"


def manifest_values(course):
    """What the student files take from course.toml, by the name they give it."""
    return {
        "QUESTIONS": {n.question: [n.filename, n.title] for n in course.notebooks},
        "NOTEBOOKS": list(course.notebook_files),
        "MODELS": course.saved_models,
    }


def python_literal(value):
    """A list or dict of strings (and lists of strings) as Python source, one entry a line
    (JSON's spelling of these is Python's)."""
    def one(v):
        return json.dumps(v, ensure_ascii=False)

    if isinstance(value, dict):
        entries, brackets = [f"{one(k)}: {one(v)}" for k, v in value.items()], "{}"
    else:
        entries, brackets = [one(v) for v in value], "[]"
    if not entries:
        return brackets
    return brackets[0] + "\n" + "".join(f"    {e},\n" for e in entries) + brackets[1]


def render_student_file(course, template):
    """The text of a template with each `NAME = ...  # from course.toml` line set to the
    course's value (a template names only values of manifest_values)."""
    with open(os.path.join(layout.TEMPLATES, template), encoding="utf-8") as f:
        text = f.read()
    values = manifest_values(course)

    def fill(match):
        name = match["name"]
        if name not in values:
            raise RuntimeError(f"release: template {template} asks course.toml for {name}, "
                               f"which is not one of {sorted(values)}")
        return f"{name} = {python_literal(values[name])}  # from course.toml"

    return MANIFEST_LINE.sub(fill, text)


def step_student_files(course, dest):
    for template, target in STUDENT_FILES.items():
        with open(os.path.join(dest, target), "w", encoding="utf-8", newline="\n") as f:
            f.write(render_student_file(course, template))
    return ", ".join(STUDENT_FILES.values())


def step_leakcheck(course, dest):
    leaks = find_leaks(dest, str(course.package_dir), str(course.source_dir),
                       (str(course.tests_dir), str(course.grading_dir)))
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


def build_release(dest=None, course=None, log=print):
    """Build the whole release of `course` (default: the current course) into `dest` (default:
    its release folder), replaced only when every step, leak check included, has passed."""
    course = course or current()
    dest = os.path.abspath(dest or course.release_dir)
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
