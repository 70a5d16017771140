"""`coursekit release`: build (or verify) the student release."""
import argparse
import filecmp
import os
import sys
import tempfile

from coursekit.course import current

from .build import STEPS, LeakError, build_release, run_step


def diff_trees(left, right):
    """Relative paths that differ between two folders (missing on one side or other bytes)."""
    def files(root):
        found = set()
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for name in filenames:
                found.add(os.path.relpath(os.path.join(dirpath, name), root))
        return found

    a, b = files(left), files(right)
    differing = sorted(a ^ b)
    for rel in sorted(a & b):
        if not filecmp.cmp(os.path.join(left, rel), os.path.join(right, rel), shallow=False):
            differing.append(rel)
    return sorted(differing)


def check_up_to_date(dest, course):
    """Regenerate into a temporary folder; the list of files that differ from `dest`."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = build_release(os.path.join(tmp, course.assignment), course,
                              log=lambda *_: None)
        return diff_trees(fresh, dest)


def run(args):
    course = current()
    args.dest = args.dest or str(course.release_dir)
    try:
        if args.check:
            differing = check_up_to_date(args.dest, course)
            if differing:
                print("release: out of date; run `make release` and commit release/. Differs:",
                      file=sys.stderr)
                for rel in differing:
                    print(f"  {rel}", file=sys.stderr)
                return 1
            print(f"release: {args.dest} is up to date.")
            return 0
        if args.step:
            os.makedirs(args.dest, exist_ok=True)
            for name in args.step:
                run_step(name, course, args.dest)
            return 0
        build_release(args.dest, course)
        return 0
    except LeakError as err:
        print(f"release: refused: {err}", file=sys.stderr)
        return 1
    except (RuntimeError, FileNotFoundError) as err:
        print(f"release: failed: {err}", file=sys.stderr)
        return 1


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "release", help="Build the student release into release/<assignment>",
        description="Build the student release from the master package and notebooks: "
        "nbgrader's student notebooks, the stubbed cs231n package, get_datasets.sh, an empty "
        "saved/, the README, check.py and collect.py; then the leak check (a leak aborts and "
        "leaves the previous release in place).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dest", help="release folder (default: course.toml's, "
                        "release/<assignment>)")
    parser.add_argument("--step", action="append", choices=list(STEPS),
                        help="run only this step on --dest (repeatable), e.g. --step package")
    parser.add_argument("--check", action="store_true",
                        help="do not write: regenerate into a temporary folder and fail if "
                        "anything differs from --dest")
    parser.set_defaults(func=run)
