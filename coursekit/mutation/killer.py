"""The test command of `make mutation`: run one suite on a mutated copy; exit 0 iff it survived.

cosmic-ray applies a mutant to the copy of the package in its worker's folder, runs

    python -m coursekit.mutation.killer SUITE --pristine PRISTINE

there, and reads the exit code: 0 means the mutant survived, anything else that it was killed.
The killer finds the student function the mutant is in (the first line that differs from the
pristine copy), runs the suite's command on the folder, and judges the result:

- hidden: the hidden checks, the pytest suite of grading/hidden, run for the mutated function
  only (`--function`, `-x`), killed when a test fails. The alternative, `coursekit grade-module
  FOLDER --no-models --json` (killed when the submission loses any point), runs every check for
  every mutant; the choice is the one line `HIDDEN`.
- public: the students' `check.py --modules` (copied next to the package), killed when it
  reports any function failing.

It prints one line, `mutation-killer: SUITE VERDICT [FUNCTION] DETAIL`, which cosmic-ray stores
with the result. When the suite itself cannot run (the grader crashed, pytest found no test), the
verdict is "error" (exit 3): cosmic-ray still records it as killed, but the run counts it as an
error, never as a kill.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from coursekit.course import current
from coursekit.mutation.regions import changed_line

REPO_ROOT = current().root

EXIT = {"survived": 0, "killed": 1, "error": 3}


@dataclass(frozen=True)
class Suite:
    """A suite's command ({python}, {submission}, {function}, {json} filled in), where it runs
    ("repo" or "submission") and how its result is judged."""

    command: tuple
    cwd: str
    judge: object  # (completed process, json file) -> (verdict, detail)


def _last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def judge_grade_module(proc, _json_file):
    if proc.returncode != 0:
        return "error", f"grade-module exited {proc.returncode}: {_last_line(proc.stderr)}"
    try:
        result = json.loads(proc.stdout)
        lost = [c["id"] for c in result["checks"] if c["points"] < c["max_points"]]
        points, top = result["points"], result["max_points"]
    except (ValueError, KeyError, TypeError) as exc:
        return "error", f"grade-module printed no grade ({type(exc).__name__})"
    if points < top:
        return "killed", f"{points:g}/{top:g} points; lost: {', '.join(lost)}"
    return "survived", f"{points:g}/{top:g} points"


def judge_pytest(proc, _json_file):
    failed = [line[7:].split(" - ")[0] for line in proc.stdout.splitlines()
              if line.startswith("FAILED ") or line.startswith("ERROR ")]
    summary = _last_line(proc.stdout)
    if proc.returncode == 0:
        return "survived", summary
    if proc.returncode == 1:
        return "killed", f"{summary}; failed: {', '.join(failed)}" if failed else summary
    return "error", f"pytest exited {proc.returncode}: {summary} {_last_line(proc.stderr)}"


def judge_check_py(proc, json_file):
    try:
        modules = json.loads(Path(json_file).read_text(encoding="utf-8"))["modules"]
        failing = [f"{r['function']} ({r['status']})" for r in modules if r["status"] != "pass"]
    except (OSError, ValueError, KeyError, TypeError):
        failing = None
    if proc.returncode == 0 and failing == []:
        return "survived", "every function passes"
    if proc.returncode == 0:
        return "error", "check.py exited 0 without its JSON results"
    if failing is None:  # check.py itself died (the mutant crashed it): a failed check all the same
        return "killed", f"check.py exited {proc.returncode}: {_last_line(proc.stderr)}"
    return "killed", f"failing: {', '.join(failing)}"


GRADE_MODULE = Suite(("{python}", "-m", "coursekit", "grade-module", "{submission}",
                      "--no-models", "--json"), "repo", judge_grade_module)
PYTEST_HIDDEN = Suite(("{python}", "-m", "pytest", "grading/hidden", "--submission",
                       "{submission}", "-x", "-q", "-p", "no:cacheprovider", "--function",
                       "{function}"), "repo", judge_pytest)
PUBLIC = Suite(("{python}", "check.py", "--modules", "--json", "{json}"), "submission",
               judge_check_py)

# The hidden suite's killer (GRADE_MODULE runs the same tests, all of them for every mutant).
HIDDEN = PYTEST_HIDDEN

SUITES = {"hidden": HIDDEN, "public": PUBLIC}


def command_line(suite, submission, function, json_file):
    """The suite's command, filled in. With no function (the unmutated copy) an option taking
    {function} is left out, so the whole suite runs."""
    args = list(suite.command)
    if function is None and "{function}" in args:
        i = args.index("{function}")
        del args[i - 1 if args[i - 1].startswith("--") else i:i + 1]
    values = dict(python=sys.executable, submission=str(submission), function=function or "",
                  json=str(json_file))
    return [a.format(**values) for a in args]


def run_suite(name, submission, function=None):
    """(verdict, detail) of suite `name` on the package copy in folder `submission`."""
    suite = SUITES[name]
    submission = Path(submission).resolve()
    with tempfile.TemporaryDirectory(prefix="mutation-killer-") as tmp:
        json_file = Path(tmp) / "results.json"
        # No PYTHONPATH (the run sets it to this repository for the killer itself): the suite
        # imports what its own folder and the virtualenv give it, as it would by hand.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        proc = subprocess.run(command_line(suite, submission, function, json_file),
                              cwd=REPO_ROOT if suite.cwd == "repo" else submission, env=env,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
        return suite.judge(proc, json_file)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", choices=sorted(SUITES))
    parser.add_argument("--pristine", help="folder of the unmutated copy (to find the function)")
    parser.add_argument("--submission", default=".",
                        help="folder holding the mutated cs231n/ (default: here)")
    args = parser.parse_args(argv)
    where = changed_line(args.pristine, args.submission) if args.pristine else None
    function = where[2] if where else None
    verdict, detail = run_suite(args.suite, args.submission, function)
    print(f"mutation-killer: {args.suite} {verdict} [{function or '-'}] {detail}", flush=True)
    return EXIT[verdict]


if __name__ == "__main__":
    sys.exit(main())
