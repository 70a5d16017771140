"""`coursekit gradescope`: the course as a Gradescope autograder.

    coursekit gradescope build --out dist/gradescope-autograder.zip    (make gradescope)
    coursekit gradescope run                                           (inside Gradescope)

The zip holds setup.sh (gradescope_setup.sh, run once when Gradescope builds the image:
Python 3.11, CIFAR-10, the virtualenv with the pinned requirements and the tooling, the
gradebook), run_autograder (run per submission) and course/: the instructor's
private copy (master notebooks with their hidden tests, the hidden module checks and their
reference values, the master package the checks compare against, the tooling). Upload it
only to Gradescope: students must never see it.

Both scripts take their root from AUTOGRADER_ROOT (default /autograder), so they also run in
any folder laid out like it (tests/autograde/test_gradescope_setup.py does).

`run` grades /autograder/submission with the same pipeline as `make autograde` and writes
/autograder/results/results.json in Gradescope's format: one test per graded item (score,
max_score, the student-safe message), free-text answers left to Gradescope's manual grading.
"""
import json
import os
import shutil
import stat
import sys
import zipfile
from pathlib import Path

from coursekit.autograde.command import grader_from_spec, grader_spec
from coursekit.autograde.grading_run import GradingRun
from coursekit.autograde.result import ERROR, MANUAL, Result

# The tooling and the private grading material, relative to the repository.
# The tooling (from the checkout holding this package) and the course's own content (from the
# course folder) that the zip's course/ holds besides the master notebooks and the config.
TOOLING_ROOT = Path(__file__).resolve().parents[2]
TOOLING_PATHS = ("pyproject.toml", "requirements.txt", "coursekit")
COURSE_PATHS = ("course.toml", "cs231n", "grading")
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints", "cifar-10-batches-py", ".pytest_cache"}
SETTINGS_FILE = "gradescope.json"

# Run once by Gradescope when it builds the image (what it does: its header).
SETUP_SH = (Path(__file__).with_name("gradescope_setup.sh")).read_text()

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it must always leave results/results.json.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${GRADESCOPE_PYTHON:-$ROOT/venv/bin/python}"
DATA="$ROOT/source/course/cs231n/datasets/cifar-10-batches-py"
if [ -z "${CS231N_CIFAR10_DIR:-}" ] && [ -d "$DATA" ]; then
  export CS231N_CIFAR10_DIR="$DATA"
fi
mkdir -p "$ROOT/results"
if ! "$PY" -c "import coursekit" 2>/dev/null; then
  echo "run_autograder: error: $PY cannot import coursekit: setup.sh did not finish;" \
    "read its output in Gradescope's autograder settings, fix it and rebuild the image" >&2
  echo '{"score": 0, "visibility": "visible", "tests": [], "output": "The autograder is' \
    'not set up (its setup.sh did not finish), so this submission was not graded: tell' \
    'your instructor."}' > "$ROOT/results/results.json"
  exit 0
fi
cd "$ROOT/source"
"$PY" -m coursekit gradescope run --root "$ROOT/source" --submission "$ROOT/submission" \\
  --results "$ROOT/results/results.json" || "$PY" -m coursekit gradescope fail \\
  --results "$ROOT/results/results.json"
"""


def course_files(course):
    """(path in the zip, file on disk) of course/: master notebooks, config, code."""
    files = []
    for nb in sorted(course.source_dir.glob("*.ipynb")):
        files.append((f"course/source/{course.assignment}/{nb.name}", nb))
    if course.config_file:
        files.append(("course/nbgrader_config.py", Path(course.config_file)))
    for root, rel in [(TOOLING_ROOT, r) for r in TOOLING_PATHS] + [
            (course.root, r) for r in COURSE_PATHS]:
        path = root / rel
        if path.is_file():
            files.append((f"course/{rel}", path))
        for folder, dirs, names in os.walk(path, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_PARTS)
            for name in sorted(names):
                if name.endswith(".pyc") or (name.endswith(".npy") and "saved" in folder):
                    continue
                full = Path(folder) / name
                files.append((f"course/{full.relative_to(root)}", full))
    return files


def build_zip(course, out, settings=None):
    """Write the autograder zip; returns its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = {"assignment": course.assignment, "notebooks": list(course.notebooks),
                "module_grader": grader_spec(course.module_grader),
                "inline_grader": grader_spec(course.inline_grader), **(settings or {})}
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o755 | stat.S_IFREG) << 16
            z.writestr(info, text)
        z.writestr(SETTINGS_FILE, json.dumps(settings, indent=2) + "\n")
        seen = set()
        for arcname, path in course_files(course):
            if arcname not in seen:
                seen.add(arcname)
                z.write(path, arcname)
    tmp.replace(out)
    return out


def unpack(zip_path, dest):
    """Unzip keeping the executable bits (as Gradescope does with run_autograder)."""
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            target = z.extract(info, dest)
            mode = info.external_attr >> 16
            if mode & 0o111:
                os.chmod(target, 0o755)


def course_of(root):
    """The GradingRun of an unpacked autograder: its settings file, and the CIFAR-10 folder
    run_autograder names in $CS231N_CIFAR10_DIR (read here, at the Gradescope run's edge)."""
    settings = json.loads((Path(root) / SETTINGS_FILE).read_text())
    return GradingRun(root=Path(root) / "course", output_root=Path(root) / "work",
                  assignment=settings["assignment"], notebooks=tuple(settings["notebooks"]),
                  module_grader=grader_from_spec(settings.get("module_grader")),
                  inline_grader=grader_from_spec(settings.get("inline_grader")),
                  kernel_env={k: v for k, v in os.environ.items() if k == "CS231N_CIFAR10_DIR"})


def results_json(result):
    """Gradescope's results.json for one Result of the pipeline."""
    tests, held = [], []
    manual = 0.0
    for item in result.items:
        if item.kind == MANUAL:
            manual += item.max_score
            continue
        test = {"name": item.id, "score": round(item.score, 4),
                "max_score": round(item.max_score, 4), "output": item.message,
                "visibility": "visible"}
        if item.held:
            # A saved model held for review is not a failure: its points wait for the
            # instructor (on Gradescope they change the score by hand, docs/grading.md).
            test["name"] += " (held for review)"
            held.append(item.id)
        tests.append(test)
    lines = [f"Autograded: {sum(t['score'] for t in tests):g} / "
             f"{sum(t['max_score'] for t in tests):g} points."]
    if manual:
        lines.append(f"{manual:g} more points of free-text answers are graded by hand.")
    if held:
        lines.append(f"{', '.join(held)}: held for your instructor's review; their points "
                     "count once it is done.")
    for name, info in result.notebooks.items():
        if info.get("status") != "graded" or info.get("message"):
            lines.append(f"- {name}.ipynb: {info.get('status')} {info.get('message', '')}".rstrip())
    lines += [f"- {n}" for n in result.notices]
    return {"score": round(sum(t["score"] for t in tests), 4), "output": "\n".join(lines),
            "output_format": "md", "visibility": "visible", "stdout_visibility": "hidden",
            "tests": tests}


def write_results(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def run(args):
    if args.action == "build":
        course = GradingRun()
        out = build_zip(course, args.out)
        print(f"coursekit gradescope: wrote {out} ({out.stat().st_size // 1024} KB); upload it "
              "as the assignment's autograder (it holds the hidden tests: keep it private)")
        return 0
    if args.action == "fail":
        write_results(args.results, {"score": 0, "visibility": "visible", "tests": [],
                                     "output": "The autograder itself failed on this "
                                               "submission; your instructor has been told."})
        return 0
    course = course_of(args.root)
    from coursekit.autograde import pipeline

    if args.action == "prepare":
        pipeline.prepare(course)
        return 0
    from coursekit.autograde import batch

    batch.grade_all(course, [("student", Path(args.submission))], jobs=1, force=True,
                    progress=False)
    result = Result.load(course.result_path("student"))
    if result.status == ERROR:
        print(result.error_detail, file=sys.stderr)
    write_results(args.results, results_json(result))
    shutil.rmtree(course.feedback_dir, ignore_errors=True)
    return 0


def add_parser(subparsers):
    p = subparsers.add_parser("gradescope", help="build or run the Gradescope autograder",
                              description=__doc__,
                              formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["build", "run", "prepare", "fail"])
    p.add_argument("--out", default="dist/gradescope-autograder.zip", help="build: the zip")
    p.add_argument("--root", default="/autograder/source", help="run: the unpacked zip")
    p.add_argument("--submission", default="/autograder/submission", help="run: the upload")
    p.add_argument("--results", default="/autograder/results/results.json",
                   help="run: where results.json goes")
    p.set_defaults(func=run)
    return p
