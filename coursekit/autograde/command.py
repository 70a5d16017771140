"""`coursekit autograde`: grade submissions, export grades, build the Gradescope autograder.

    coursekit autograde --all [-j N] [--force]      every folder of submitted/
    coursekit autograde PATH [--student ID]          one submission (CI, make autograde-one)
    coursekit autograde --export [--feedback]        grades.csv + summary after manual grading
"""
import os
import sys
from pathlib import Path

from coursekit.autograde.course import Course


def course_from_args(args):
    changes = {}
    if args.course_root:
        changes["root"] = Path(args.course_root)
    if args.output_root:
        changes["output_root"] = Path(args.output_root)
    for name in ("module_grader", "inline_grader"):
        value = getattr(args, name, None)
        if value:
            changes[name] = None if value == "none" else value
    data_dir = os.environ.get("CS231N_CIFAR10_DIR")
    if data_dir:
        changes["kernel_env"] = {"CS231N_CIFAR10_DIR": data_dir}
    return Course(**changes)


def student_of(path):
    """Student id of a submission folder: `.../<student>/assignment1` -> <student>."""
    path = Path(path).resolve()
    return path.parent.name if path.name.startswith("assignment") else path.name


def run(args):
    from coursekit.autograde.gradebook import GradebookError

    try:
        return _run(args)
    except GradebookError as exc:
        print(exc, file=sys.stderr)
        return 1


def _run(args):
    from coursekit.autograde import batch, report

    course = course_from_args(args)
    if args.export:
        results = report.export(course, feedback=args.feedback)
        print(f"coursekit autograde: {len(results)} result(s) -> {course.grades_csv}")
        return 0
    if args.all:
        submissions = batch.find_submissions(course, args.submitted)
        if not submissions:
            print(f"coursekit autograde: no submissions under {args.submitted or 'submitted/'}; "
                  "collect them first (nbgrader zip_collect, or copy each student's folder "
                  "to submitted/<student>/assignment1)", file=sys.stderr)
            return 1
    elif args.paths:
        if args.student and len(args.paths) > 1:
            print("coursekit autograde: --student goes with a single PATH", file=sys.stderr)
            return 2
        submissions = [(args.student or student_of(p), Path(p)) for p in args.paths]
    else:
        print("coursekit autograde: give a submission PATH, --all or --export "
              "(see coursekit autograde --help)", file=sys.stderr)
        return 2
    outcomes = batch.grade_all(course, submissions, jobs=args.jobs, force=args.force,
                               progress=not args.quiet)
    failed = 0
    for student, (score, maximum, error) in sorted(outcomes.items()):
        if error:
            failed += 1
            print(f"{student}: grading failed ({error})")
        else:
            print(f"{student}: {score:g} / {maximum:g}")
    print(f"coursekit autograde: grades in {course.grades_csv}, feedback in "
          f"{course.feedback_dir}, summary in {course.autograded_dir / 'summary.md'}")
    if args.markdown:
        import json

        with open(args.markdown, "a", encoding="utf-8") as out:
            for student, _ in submissions:
                result = json.loads(course.result_path(student).read_text())
                out.write(report.markdown_report(result))
    return 1 if failed else 0


def add_parser(subparsers):
    p = subparsers.add_parser(
        "autograde", help="grade submissions end to end (notebooks, modules, inline answers)",
        description=__doc__, formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", metavar="PATH", help="submission folder(s) to grade")
    p.add_argument("--all", action="store_true", help="grade every folder of submitted/")
    p.add_argument("--submitted", help="folder with one sub-folder per student "
                                       "(default: submitted/)")
    p.add_argument("--student", help="student id for a single PATH (default: its folder name)")
    p.add_argument("-j", "--jobs", type=int, default=1, help="parallel workers (default 1)")
    p.add_argument("--force", action="store_true", help="regrade already graded submissions")
    p.add_argument("--export", action="store_true",
                   help="only refresh results from the gradebook (manual grades) and rewrite "
                        "grades.csv and the summary")
    p.add_argument("--feedback", action="store_true", help="with --export: rewrite feedback")
    p.add_argument("--course-root", help="course directory (default: this repository)")
    p.add_argument("--output-root", help="where autograded/ and feedback/ go (default: course)")
    p.add_argument("--module-grader", metavar="MODULE:FUNCTION",
                   help="module checks to call (default coursekit.grader:grade_submission; "
                        "'none' skips them)")
    p.add_argument("--inline-grader", metavar="MODULE:FUNCTION",
                   help="inline-answer scorer to call ('none' skips it)")
    p.add_argument("--markdown", metavar="FILE",
                   help="append each graded student's report as Markdown (CI job summary)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p
