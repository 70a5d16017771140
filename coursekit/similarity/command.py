"""`coursekit similarity`: compare every submission of submitted/ with every other and with the
known solutions of similarity/reference/<name>/; write autograded/similarity/index.html.

    coursekit similarity [--threshold 0.6] [--submitted DIR] [--reference DIR] [--output-root DIR]

The settings come from course.toml's [similarity] table (compare.Settings names them), the
command line's --threshold over it.
"""
import os
import sys
import time
import tomllib
from dataclasses import fields, replace
from pathlib import Path

from coursekit.course import MANIFEST, ManifestError, current

# compare (numpy), pages (jinja2) and units (nbformat) are imported where they are used: the
# verb's parser is built on every coursekit call, which must start fast (tests/tooling).

REFERENCE_DIR = Path("similarity") / "reference"


def settings_of(course):
    """compare.Settings from course.toml's [similarity] table (ManifestError naming a key that
    is unknown or of the wrong type)."""
    from . import compare

    path = Path(course.root) / MANIFEST
    with open(path, "rb") as f:
        table = tomllib.load(f).get("similarity", {})
    known = {f.name: f.type for f in fields(compare.Settings)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ManifestError(f"{path}: [similarity] does not know {', '.join(unknown)} (it "
                            f"takes {', '.join(known)})")
    for key, value in table.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ManifestError(f"{path}: [similarity] {key} must be a number, not {value!r}")
    try:
        return compare.Settings(**table).check()
    except ValueError as err:
        raise ManifestError(f"{path}: {err}") from None


def submissions(submitted, assignment):
    """[(student, folder)] of submitted/<student>/<assignment> (or submitted/<student>)."""
    found = []
    for child in sorted(Path(submitted).iterdir()):
        if child.is_dir() and not child.is_symlink() and not child.name.startswith("."):
            inner = child / assignment
            found.append((child.name, inner if inner.is_dir() else child))
    return found


def run_similarity(course, submitted, reference, out_dir, settings, jobs=1, log=print):
    """Read, compare, write the report; returns (Comparison, index path, {phase: seconds})."""
    from . import compare, pages, units

    assignment = units.assignment_of(course)
    seconds = {}
    start = time.monotonic()
    sources = []
    found = submissions(submitted, course.assignment)
    for i, (student, folder) in enumerate(found, 1):
        sources.append(units.read_submission(student, folder, assignment))
        if i % 100 == 0:
            log(f"  read {i} of {len(found)} submissions")
    for name, folder in units.reference_folders(reference):
        sources.append(units.read_reference(name, folder, assignment))
    seconds["read"] = time.monotonic() - start
    comparison = compare.compare(sources, assignment, settings, jobs)
    seconds["compare"] = time.monotonic() - start - seconds["read"]
    index = pages.write_report(comparison, assignment, out_dir, course.title)
    seconds["report"] = time.monotonic() - start - seconds["read"] - seconds["compare"]
    log(f"coursekit similarity: {len(found)} submissions and "
        f"{sum(s.reference for s in sources)} reference folders compared in "
        f"{sum(seconds.values()):.0f} s; {len(comparison.reported())} pairs reported in "
        f"{index} (instructors only)")
    return comparison, index, seconds


def run(args):
    course = current()
    try:
        settings = settings_of(course)
        if args.threshold is not None:
            settings = replace(settings, threshold=args.threshold).check()
    except ValueError as err:
        print(f"coursekit similarity: {err}", file=sys.stderr)
        return 2
    output_root = Path(args.output_root or course.root)
    submitted = Path(args.submitted or output_root / "submitted")
    if not submitted.is_dir():
        print(f"coursekit similarity: {submitted} is not a folder: put each submission in "
              f"submitted/<student>/{course.assignment}/ (or name the folder with --submitted)",
              file=sys.stderr)
        return 2
    reference = Path(args.reference or course.root / REFERENCE_DIR)
    autograded = output_root / "autograded"
    try:
        run_similarity(course, submitted, reference, autograded / "similarity", settings,
                       args.jobs)
    except FileNotFoundError as err:
        print(f"coursekit similarity: {err}", file=sys.stderr)
        return 2
    from coursekit.autograde.report import link_similarity

    link_similarity(autograded / "summary.md")
    return 0


def add_parser(subparsers):
    p = subparsers.add_parser(
        "similarity", help="compare the submissions' code with each other and with known "
        "solutions (instructors only: autograded/similarity/index.html)",
        description=__doc__.split("\n\n")[0])
    p.add_argument("--threshold", type=float,
                   help="flag a function or cell at this score or more (0 to 1; default: "
                   "course.toml's [similarity] threshold, else 0.6)")
    p.add_argument("--submitted", help="folder with one sub-folder per student "
                   "(default: submitted/ of the output root)")
    p.add_argument("--reference", help="folder of known-solution folders, one per source "
                   f"(default: {REFERENCE_DIR}/ of the course)")
    p.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="processes that fingerprint the submissions (default: 2, or 1 on a "
                   "single core)")
    p.add_argument("--output-root", help="where autograded/ is (default: the course folder)")
    p.set_defaults(func=run)
