"""`coursekit VERB ...`: one verb per job an instructor or a student has.

Each verb lives in its own module, which defines ``add_parser(subparsers)``; the parser it
adds must set ``func`` (called with the parsed arguments, returning an exit code).
"""
import argparse
import os
import sys

from coursekit.course import COURSE_ENV, ManifestError, current


def verb_modules():
    """The modules that provide verbs, in the order `coursekit --help` lists them. Imported
    when called, after `--course` is applied: their defaults come from the course."""
    from coursekit.autograde import ci, gradescope
    from coursekit.autograde import command as autograde_command
    from coursekit.grader import command as grader_command
    from coursekit.notebooks import command as notebooks_command
    from coursekit.release import command as release_command
    from coursekit.release import leakcheck
    from coursekit.similarity import command as similarity_command

    return [notebooks_command, release_command, leakcheck, autograde_command, gradescope, ci,
            grader_command, similarity_command]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="coursekit", description="Course tooling of the CS231n Assignment 1 repository."
    )
    parser.add_argument("--course", metavar="DIR",
                        help="the course folder (holding course.toml; default: "
                        f"${COURSE_ENV}, else the working folder or a parent of it)")
    subparsers = parser.add_subparsers(title="verbs", metavar="VERB")
    for module in verb_modules():
        module.add_parser(subparsers)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    # The course is chosen before the verbs are loaded: their defaults come from it.
    course = argparse.ArgumentParser(add_help=False)
    course.add_argument("--course")
    known, _ = course.parse_known_args(argv)
    if known.course:
        os.environ[COURSE_ENV] = os.path.abspath(known.course)
        current.cache_clear()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not hasattr(args, "func"):
            parser.print_help()
            return 2
        return args.func(args) or 0
    except ManifestError as err:
        print(f"coursekit: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
