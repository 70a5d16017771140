"""`coursekit gradescope`: the course as a Gradescope autograder.

    coursekit gradescope build --out dist/gradescope-autograder.zip    (make gradescope)
    python -m coursekit.autograde.gradescope run                       (inside Gradescope)

The zip holds setup.sh (gradescope_setup.sh, run once when Gradescope builds the image:
Python 3.11, CIFAR-10, the virtualenv with the pinned requirements and the tooling, the
gradebook), run_autograder (run per submission) and course/: the instructor's
private copy (master notebooks with their hidden tests, the hidden module checks and their
reference values, the master package the checks compare against, and of the tooling only the
modules grading imports: `tooling_modules`, the closure of the imports from the entry module,
the graders and what nbgrader_config.py and the hidden checks name). Upload it only to
Gradescope: students must never see it.

Both scripts take their root from AUTOGRADER_ROOT (default /autograder), so they also run in
any folder laid out like it (tests/autograde/test_gradescope_setup.py does).

`run` grades /autograder/submission with the same pipeline as `make autograde` and writes
/autograder/results/results.json in Gradescope's format: one test per graded item (score,
max_score, the student-safe message), free-text answers left to Gradescope's manual grading.
"""
import ast
import json
import os
import re
import shutil
import stat
import sys
import zipfile
from pathlib import Path

from coursekit.autograde.command import grader_from_spec, grader_spec
from coursekit.autograde.grading_run import GradingRun
from coursekit.autograde.result import ERROR, MANUAL, Result

# The tooling (from the checkout holding this package) and the course's own content (from the
# course folder) that the zip's course/ holds besides the master notebooks and the config.
TOOLING_ROOT = Path(__file__).resolve().parents[2]
# Of coursekit/, only what grading runs (tooling_modules): not the release (its templates), the
# benchmarks, synthetic data, mutation testing or the notebook runner.
TOOLING_FILES = ("pyproject.toml", "requirements.txt")
TOOLING_PACKAGE = "coursekit"
# Where grading starts (run_autograder and setup.sh run `python -m` on this module, not the
# `coursekit` command, whose verbs import the whole tooling).
ENTRY_MODULE = "coursekit.autograde.gradescope"
# The master package (the checks compare against it; get_datasets.sh fetches CIFAR-10), the
# manifest and the hidden checks with their reference values and model table.
COURSE_PATHS = ("course.toml", "cs231n", "grading/hidden")
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints", "cifar-10-batches-py", ".pytest_cache"}
SETTINGS_FILE = "gradescope.json"
# Named by a module grading imports (release/layout.py), read only by the release build.
NOT_GRADING = ("coursekit/release/templates",)
DOTTED = re.compile(r"\bcoursekit(?:\.[A-Za-z_]\w*)+|\bcoursekit\b")

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
if ! "$PY" -c "import coursekit.autograde.gradescope" 2>/dev/null; then
  echo "run_autograder: error: $PY cannot import coursekit: setup.sh did not finish;" \
    "read its output in Gradescope's autograder settings, fix it and rebuild the image" >&2
  echo '{"score": 0, "visibility": "visible", "tests": [], "output": "The autograder is' \
    'not set up (its setup.sh did not finish), so this submission was not graded: tell' \
    'your instructor."}' > "$ROOT/results/results.json"
  exit 0
fi
cd "$ROOT/source"
"$PY" -m coursekit.autograde.gradescope run --root "$ROOT/source" \\
  --submission "$ROOT/submission" --results "$ROOT/results/results.json" \\
  || "$PY" -m coursekit.autograde.gradescope fail --results "$ROOT/results/results.json"
"""


def _module_path(name):
    """The file of coursekit module `name` in this checkout (a package: its __init__.py), or
    None when no module has that name (an attribute: coursekit.x.Class)."""
    path = TOOLING_ROOT.joinpath(*name.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return None


def _named_modules(text):
    """The coursekit modules a text names: in imports, and as dotted strings (a grader spec
    "coursekit.grader:grade_submission", a preprocessor "coursekit.autograde.feedback.X")."""
    found = set()
    for dotted in DOTTED.findall(text):
        parts = dotted.split(".")
        while parts and _module_path(".".join(parts)) is None:
            parts.pop()  # coursekit.autograde.feedback.HideHiddenTests -> ...feedback
        if parts:
            found.add(".".join(parts))
    return found


_IMPORTS = {}


def _imports(path):
    """The coursekit modules the Python file `path` imports, anywhere in it (lazy imports in
    functions too): `from coursekit.a import b` counts coursekit.a and coursekit.a.b if b is a
    module. Remembered per file version (a bundle follows two closures over the same files)."""
    info = os.stat(path)
    key = (str(path), info.st_mtime_ns, info.st_size)
    if key not in _IMPORTS:
        _IMPORTS[key] = frozenset(_read_imports(path))
    return set(_IMPORTS[key])


def _statements(tree):
    """Every statement of a module, nested ones too (function, class, if, try, with, loop and
    match bodies), without walking the expressions: an import is a statement."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            todo += [n for n in getattr(node, field, ()) if isinstance(n, ast.AST)]


def _read_imports(path):
    found = set()
    for node in _statements(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {n for n in names if n.split(".")[0] == TOOLING_PACKAGE and _module_path(n)}
    return found


def tooling_modules(roots):
    """Every coursekit module grading can import, starting from the modules `roots` (and each
    package above a module, whose __init__ runs first): the closure of their imports."""
    todo, seen = list(roots), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        todo += sorted(_imports(_module_path(name)))
    return seen


def grading_roots(course, settings):
    """Where grading enters coursekit: the entry module, the graders the settings name, and
    the modules the course's nbgrader_config.py and hidden checks import or name."""
    roots = {ENTRY_MODULE}
    for spec in (settings.get("module_grader"), settings.get("inline_grader")):
        roots |= _named_modules(spec or "")
    texts = [Path(course.config_file)] if course.config_file else []
    hidden = course.root / "grading" / "hidden"
    if hidden.is_dir():
        texts += sorted(p for p in hidden.iterdir() if p.suffix in (".py", ".ini", ".toml"))
    for path in texts:
        roots |= _named_modules(path.read_text())
        if path.suffix == ".py":
            roots |= _imports(path)
    return roots


def tooling_files(modules):
    """(path in the zip, file) of the tooling: the install files, the modules, and the files
    and folders next to a module that it names as a string ("kernel_launch.py", copied into
    each kernel's jail; "gradescope_setup.sh"; "templates", the feedback page's), except
    the release's templates (the students' files: the release build reads them, grading
    never does)."""
    files = [(f"course/{rel}", TOOLING_ROOT / rel) for rel in TOOLING_FILES]
    chosen = set()
    for name in sorted(modules):
        path = _module_path(name)
        chosen.add(path)
        text = path.read_text()
        for sibling in sorted(path.parent.iterdir()):
            named = any(f"{a}{sibling.name}{b}" in text for a in "\"'" for b in "\"'")
            rel = sibling.relative_to(TOOLING_ROOT).as_posix()
            if not named or sibling.name in SKIP_PARTS or rel in NOT_GRADING:
                continue
            if sibling.is_file():
                chosen.add(sibling)
            elif not (sibling / "__init__.py").exists():   # a data folder, not a package
                chosen |= {f for f in sibling.rglob("*")
                           if f.is_file() and not SKIP_PARTS & set(f.parts)}
    files += [(f"course/{p.relative_to(TOOLING_ROOT).as_posix()}", p) for p in sorted(chosen)]
    return files


def course_files(course, settings=None):
    """(path in the zip, file on disk) of course/: master notebooks, config, the tooling that
    grading runs, the master package and the hidden checks."""
    files = []
    for nb in sorted(course.source_dir.glob("*.ipynb")):
        files.append((f"course/source/{course.assignment}/{nb.name}", nb))
    if course.config_file:
        files.append(("course/nbgrader_config.py", Path(course.config_file)))
    files += tooling_files(tooling_modules(grading_roots(course, settings or {})))
    for rel in COURSE_PATHS:
        path = course.root / rel
        if path.is_file():
            files.append((f"course/{rel}", path))
        for folder, dirs, names in os.walk(path, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_PARTS)
            for name in sorted(names):
                if name.endswith(".pyc") or (name.endswith(".npy") and "saved" in folder):
                    continue
                full = Path(folder) / name
                files.append((f"course/{full.relative_to(course.root)}", full))
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
        for arcname, path in course_files(course, settings):
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
        # Into the image, once: each submission's container would prepare them again (the
        # saved models' inputs take minutes of CPU with the real CIFAR-10).
        from coursekit.autograde import module_checks

        module_checks.prepare_shared_data(course)
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


def main(argv=None):
    """`python -m coursekit.autograde.gradescope ACTION ...`: what run_autograder and setup.sh
    call (the zip's coursekit holds only what grading imports, not every verb of `coursekit`)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m coursekit.autograde.gradescope")
    add_parser(parser.add_subparsers(dest="verb", required=True))
    args = parser.parse_args(["gradescope", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
