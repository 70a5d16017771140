"""`coursekit VERB ...`: one verb per job an instructor or a student has.

Each verb lives in its own module, which defines ``add_parser(subparsers)``; the parser it
adds must set ``func`` (called with the parsed arguments, returning an exit code).
"""
import argparse
import importlib
import sys

# Modules that provide verbs, in the order `coursekit --help` lists them.
VERB_MODULES = [
    "coursekit.notebooks.cli",
    "coursekit.release.command",
    "coursekit.release.leakcheck",
    "coursekit.autograde.command",
    "coursekit.autograde.gradescope",
    "coursekit.autograde.ci",
    "coursekit.grader.command",
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="coursekit", description="Course tooling of the CS231n Assignment 1 repository."
    )
    subparsers = parser.add_subparsers(title="verbs", metavar="VERB")
    for name in VERB_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
