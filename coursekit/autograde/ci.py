"""`coursekit ci-student-id` and `coursekit ci-grade`: the two steps of
.github/workflows/autograde.yml that handle a student's name and a student's code.

    coursekit ci-student-id -- NAME             STUDENT=<id> into $GITHUB_ENV
    coursekit ci-grade --student ID PATH [AUTOGRADE_OPTION ...]
                                                grade PATH, annotate the score

They are verbs, not shell in the workflow, so that the logic runs and is tested here.

GitHub obeys the workflow commands (`::notice::`, `::error::`, `::add-mask::`, ...) that a
step prints, and what the student's code prints can reach the grader's output. So ci-grade
stops workflow commands with a random token (`::stop-commands::TOKEN`) before the grader
starts and resumes them (`::TOKEN::`) only after it has exited; the token is made in this
process and never handed to the grader, so nothing it runs can resume them early. The score
is read from autograded/<id>/assignment1.json (coursekit/autograde/score.py), written by the
grader after every kernel of the submission has ended, never from the output. The step ends
with one `::notice title=Autograde score::` or one `::error title=Autograde failed::` and
exit code 1 (2 for an unusable id: nothing graded).
"""
import argparse
import os
import secrets
import subprocess
import sys
from pathlib import Path

from coursekit.autograde.grading_run import StudentIdError, check_student_id, student_id_from_name

# The variable of the job's environment (through $GITHUB_ENV) that names the student for the
# later steps: Autograde and the feedback artifact's name.
ENV_VARIABLE = "STUDENT"
EXIT_USAGE = 2


def workflow_data(text):
    """`text` escaped as the message of a workflow command: a newline in it cannot start a
    command of its own (GitHub decodes %25, %0D and %0A back)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _fail(message, code=1):
    print(f"::error title=Autograde failed::{workflow_data(message)}", flush=True)
    print(message, file=sys.stderr)
    return code


def student_id(args):
    try:
        student = student_id_from_name(args.name)
    except StudentIdError as exc:
        return _fail(f"{exc} (the workflow input 'student')", EXIT_USAGE)
    made = "" if student == args.name else f" (made from the name {args.name!r})"
    print(f"student id: {student}{made}")
    env_file = os.environ.get("GITHUB_ENV")
    if env_file:
        with open(env_file, "a", encoding="utf-8") as out:
            out.write(f"{ENV_VARIABLE}={student}\n")
    return 0


def _autograde_options(argv):
    """`coursekit autograde ARGV` parsed by that verb's own parser (exits 2 on bad options)."""
    from coursekit.autograde import command

    parser = argparse.ArgumentParser(prog="coursekit")
    command.add_parser(parser.add_subparsers())
    return parser.parse_args(["autograde", *argv])


def autograde(argv):
    """Exit code of `coursekit autograde ARGV` in a process of its own; its output goes
    straight to this step's log."""
    return subprocess.run([sys.executable, "-m", "coursekit", "autograde", *argv]).returncode


def grade(args):
    from coursekit.autograde.command import course_from_args
    from coursekit.autograde.score import NoScore, read_score

    try:
        student = check_student_id(args.student, "--student")
    except StudentIdError as exc:
        return _fail(str(exc), EXIT_USAGE)
    argv = [args.path, "--student", student, "--force", "-q"]
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        argv += ["--markdown", summary]
    argv += args.autograde_options
    result_path = course_from_args(_autograde_options(argv)).result_path(student)

    token = secrets.token_hex(16)
    print(f"::stop-commands::{token}", flush=True)
    try:
        status = autograde(argv)
    finally:
        print(f"::{token}::", flush=True)

    try:
        line, problem = read_score(Path(result_path)), ""
    except NoScore as exc:
        line, problem = "", str(exc)
    if status != 0:
        problem = f"coursekit autograde exit code {status}" + (f"; {problem}" if problem else "")
    if problem:
        return _fail(f"no score for {student}: {problem}; read the output of this step")
    print(f"::notice title=Autograde score::{workflow_data(line)}", flush=True)
    return 0


def add_parser(subparsers):
    p = subparsers.add_parser(
        "ci-student-id", help="GitHub Actions: make a student id of a name, export STUDENT",
        description="Make a usable student id of NAME (a GitHub user name or a workflow "
        "input): characters outside A-Za-z0-9._@+- become '_' (dependabot[bot] -> "
        "dependabot_bot_), see student_id_from_name in coursekit/autograde/grading_run.py. Prints "
        f"it and, in GitHub Actions, appends {ENV_VARIABLE}=<id> to $GITHUB_ENV. Put '--' "
        "before NAME: a name may start with '-'.")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=student_id)

    p = subparsers.add_parser(
        "ci-grade", help="GitHub Actions: grade one submission, annotate its score",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--student", required=True, help="the student id (coursekit ci-student-id)")
    p.add_argument("path", metavar="PATH", help="the submission folder")
    # Everything after PATH goes to `coursekit autograde` as it is (so --student goes first).
    p.add_argument("autograde_options", nargs=argparse.REMAINDER, metavar="AUTOGRADE_OPTION",
                   help="options of coursekit autograde (--course-root, --output-root, ...)")
    p.set_defaults(func=grade)
