"""`coursekit autograde`: grade submissions, export grades, build the Gradescope autograder.

    coursekit autograde --all [-j N] [--force]      every folder of submitted/
    coursekit autograde --all --scheduler tcp://HOST:PORT   the same, on a Dask cluster
    coursekit autograde PATH [--student ID]          one submission (CI, make autograde-one)
    coursekit autograde --export [--feedback]        grades.csv + summary after manual grading

One run at a time per output root: a second run into it says which run holds it and waits
for it to finish (--no-wait: refuses at once, exit code 75). Ctrl-C or SIGTERM stops a batch:
grades.csv and the summary are still written for the students graded, exit code 130; run
the same command again to resume. An unusable student id, a corrupt gradebook, a busy
output root or a missing CIFAR-10 each end in one message naming the file, id or folder and
what to do (no traceback).

CIFAR-10 (the notebooks' and the saved models'): $CS231N_CIFAR10_DIR, else the course's
cs231n/datasets/cifar-10-batches-py (`with_grading_data`). Each student's line is printed as
they finish (batch.Progress).
"""
import importlib
import sys
from pathlib import Path

from coursekit.autograde.grading_run import (
    DATA_ENV,
    GradingDataError,
    GradingRun,
    find_grading_data,
)


def grader_from_spec(spec):
    """The grader a command line (or the Gradescope settings file) names as "module:function"
    ("none" or None: no grader). Only here, at the edge: a command line cannot hold a
    function, and the tests name stand-in graders this way (tests/autograde/tinycourse.py)."""
    if spec in (None, "none"):
        return None
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def grader_spec(grader):
    """The "module:function" name of a grader (None for none): grader_from_spec's inverse."""
    return None if grader is None else f"{grader.__module__}:{grader.__qualname__}"


def course_from_args(args):
    """The GradingRun the command line asks for (its CIFAR-10: `with_grading_data`)."""
    changes = {}
    if args.course_root:
        changes["root"] = Path(args.course_root)
    if args.output_root:
        changes["output_root"] = Path(args.output_root)
    for name in ("module_grader", "inline_grader"):
        value = getattr(args, name, None)
        if value:
            changes[name] = grader_from_spec(value)
    for name in ("cell_seconds", "notebook_seconds", "submission_seconds"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    if getattr(args, "modules_after_notebooks", False):
        changes["modules_beside"] = False
    return GradingRun(**changes)


def with_grading_data(course, environ=None):
    """`course` with the CIFAR-10 folder of the whole run (the kernels' and the saved models'):
    $CS231N_CIFAR10_DIR, read here once, else the course's cs231n/datasets/cifar-10-batches-py
    (grading_run.find_grading_data); GradingDataError when there is none."""
    data = find_grading_data(course, environ)
    if data is None:
        return course
    return course.with_(kernel_env={**course.kernel_env, DATA_ENV: str(data)})


def _positive_seconds(text):
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds above 0")
    return value


def student_of(path):
    """Student id of a submission folder: `.../<student>/assignment1` -> <student>."""
    path = Path(path).resolve()
    return path.parent.name if path.name.startswith("assignment") else path.name


# Exit codes besides 0 (all graded) and 1 (a grading failed, or the gradebook is unusable).
EXIT_USAGE = 2          # bad arguments, student ids or no CIFAR-10: nothing was graded
EXIT_BUSY = 75          # --no-wait and another run holds the output root (EX_TEMPFAIL)
EXIT_INTERRUPTED = 130  # Ctrl-C / SIGTERM (128 + SIGINT)


def run(args):
    from coursekit.autograde.batch import GradingInterrupted
    from coursekit.autograde.cluster import ClusterError
    from coursekit.autograde.gradebook import GradebookError
    from coursekit.autograde.grading_run import StudentIdError
    from coursekit.autograde.locks import LockBusy
    from coursekit.autograde.report import OutputError
    from coursekit.autograde.reviews import ReviewsError

    try:
        return _run(args)
    except (GradebookError, OutputError, ReviewsError, ClusterError) as exc:
        print(exc, file=sys.stderr)
        return 1
    except (StudentIdError, SubmissionPathError, GradingDataError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except LockBusy as exc:
        print(exc, file=sys.stderr)
        return EXIT_BUSY
    except GradingInterrupted as stop:   # the graded students' lines are printed already
        print(stop.message(course_from_args(args)), file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("coursekit autograde: interrupted (every file is written whole or not at all); "
              "run the same command again", file=sys.stderr)
        return EXIT_INTERRUPTED


def report_outcomes(outcomes):
    """One line after a batch whose students' lines were printed as they finished
    (batch.Progress): how many were graded, which failed. Returns the number failed."""
    failed = sorted(s for s, (_, _, error) in outcomes.items() if error)
    line = f"coursekit autograde: {len(outcomes)} submission(s) graded in this run"
    if failed:
        line += f"; grading failed for {len(failed)}: {', '.join(failed)} (see above)"
    print(line)
    return len(failed)


def submissions_of(args, course):
    """[(student, folder)] the arguments name, every id checked; None: nothing named."""
    from coursekit.autograde import batch
    from coursekit.autograde.grading_run import STUDENT_ID_RULE, student_id_problem

    if args.all:
        # A folder whose name cannot be a student id costs that folder its grading, never the
        # class's: it is named on stderr and left out, and the run ends with exit code 1.
        where = f"a folder of {args.submitted or course.output_root / 'submitted'}"
        submissions, skipped = [], []
        for student, folder in batch.find_submissions(course, args.submitted):
            problem = student_id_problem(student)
            if problem:
                skipped.append(student)
                print(f"coursekit autograde: not graded: unusable student id {student!r} "
                      f"({where}): {problem}; {STUDENT_ID_RULE}", file=sys.stderr)
            else:
                submissions.append((student, folder))
        args.skipped = skipped
        return submissions
    elif args.paths:
        if args.student is not None:
            submissions, where = [(args.student, Path(args.paths[0]))], "--student"
        else:
            submissions = [(student_of(p), Path(p)) for p in args.paths]
            where = "the folder name of PATH; give another with --student ID"
    else:
        return None
    for _, folder in submissions:
        if not folder.is_dir():
            what = "does not exist" if not folder.exists() else "is not a folder"
            raise SubmissionPathError(
                f"coursekit autograde: {folder} {what}: name the folder of one submission "
                "(the one holding the notebooks and cs231n/), or use --all")
    batch.check_submissions(submissions, where)
    return submissions


class SubmissionPathError(ValueError):
    """A PATH of the command line that names no submission folder."""


def _run(args):
    from coursekit.autograde import batch, report

    course = course_from_args(args)
    if args.export:
        from coursekit.autograde import interrupts

        with interrupts.batch_signals():     # SIGTERM unwinds like Ctrl-C: staging removed
            results = report.export(course, feedback=args.feedback, wait=not args.no_wait)
        print(f"coursekit autograde: {len(results)} result(s) -> {course.grades_csv}")
        return 0
    if args.scheduler:
        from coursekit.autograde import cluster

        if not args.all:
            print("coursekit autograde: --scheduler goes with --all (a whole class on the "
                  "cluster); grade one submission here without it", file=sys.stderr)
            return EXIT_USAGE
        cluster.require_dask()
    if args.paths and args.student is not None and len(args.paths) > 1:
        print("coursekit autograde: --student goes with a single PATH", file=sys.stderr)
        return EXIT_USAGE
    submissions = submissions_of(args, course)
    if submissions:
        course = with_grading_data(course)
    if submissions is None:
        print("coursekit autograde: give a submission PATH, --all or --export "
              "(see coursekit autograde --help)", file=sys.stderr)
        return EXIT_USAGE
    skipped = getattr(args, "skipped", [])
    if not submissions and skipped:
        print("coursekit autograde: nothing graded: rename the folders above", file=sys.stderr)
        return 1
    if not submissions:
        print(f"coursekit autograde: no submissions under {args.submitted or 'submitted/'}; "
              "collect them first (nbgrader zip_collect, or copy each student's folder "
              "to submitted/<student>/assignment1)", file=sys.stderr)
        return 1
    outcomes = batch.grade_all(course, submissions, jobs=args.jobs, force=args.force,
                               bar=not args.quiet, wait=not args.no_wait,
                               scheduler=args.scheduler)
    failed = report_outcomes(outcomes)
    print(f"coursekit autograde: grades in {course.grades_csv}, feedback in "
          f"{course.feedback_dir}, summary in {course.summary_md}")
    if args.markdown:
        from coursekit.autograde.result import Result

        with open(args.markdown, "a", encoding="utf-8") as out:
            for student, _ in submissions:
                out.write(report.markdown_report(Result.load(course.result_path(student))))
    if skipped:
        print(f"coursekit autograde: {len(skipped)} folder(s) not graded (unusable student ids: "
              f"{', '.join(map(repr, skipped))}); rename them and run again", file=sys.stderr)
    return 1 if failed or skipped else 0


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
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="with --all: grade on the Dask cluster of this scheduler instead of -j "
                        "local processes (make dask-deps; docs/grading.md)")
    p.add_argument("--export", action="store_true",
                   help="only refresh results from the gradebook (manual grades) and rewrite "
                        "grades.csv and the summary")
    p.add_argument("--feedback", action="store_true", help="with --export: rewrite feedback")
    p.add_argument("--course-root", help="course directory (default: the course of `coursekit "
                   "--course`, else of the working folder)")
    p.add_argument("--output-root", help="where autograded/ and feedback/ go (default: course)")
    p.add_argument("--module-grader", metavar="MODULE:FUNCTION",
                   help="module checks to call (default coursekit.grader:grade_submission; "
                        "'none' skips them)")
    p.add_argument("--inline-grader", metavar="MODULE:FUNCTION",
                   help="inline-answer scorer to call (default "
                        "coursekit.autograde.inline:grade_inline_answers; 'none' skips it)")
    p.add_argument("--markdown", metavar="FILE",
                   help="append each graded student's report as Markdown (CI job summary)")
    p.add_argument("--no-wait", action="store_true",
                   help="when another run holds the output root, refuse at once (exit code 75) "
                        "instead of waiting for it to finish")
    p.add_argument("--cell-seconds", type=_positive_seconds, metavar="S",
                   help="wall-clock limit of one cell (default: nbgrader_config.py's "
                        "c.Execute.timeout)")
    p.add_argument("--notebook-seconds", type=_positive_seconds, metavar="S",
                   help="wall-clock limit of one notebook's grading (default "
                        f"{GradingRun.notebook_seconds} s)")
    p.add_argument("--submission-seconds", type=_positive_seconds, metavar="S",
                   help="wall-clock limit of all five notebooks of one submission (default "
                        f"{GradingRun.submission_seconds} s)")
    p.add_argument("--modules-after-notebooks", action="store_true",
                   help="run a student's module checks after their notebooks, not beside them "
                        "(in the bubblewrap jail they run beside them by default: their memory "
                        "then adds to the notebook kernel's)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar (each student's line is still printed as they finish; "
                        "without a terminal on stderr there is no bar anyway)")
    p.set_defaults(func=run)
    return p
