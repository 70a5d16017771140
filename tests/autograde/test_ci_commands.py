"""`coursekit ci-student-id` and `coursekit ci-grade` (coursekit/autograde/ci.py), the steps of
.github/workflows/autograde.yml that handle the student's name and code.

The unit tests replace the grader by a stand-in that prints what a student's code could print
(a score line, workflow commands); `obeyed` reads a step's output the way GitHub's runner does,
so they check which workflow commands GitHub would act on. The end-to-end test runs the two
steps' own `run:` lines with bash, as the runner does, on the tiny course (tinycourse.py).
"""
import json
import os
import random
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from coursekit import cli
from coursekit.autograde import ci
from coursekit.autograde.grading_run import (
    STUDENT_ID_MAX,
    StudentIdError,
    student_id_from_name,
    student_id_problem,
)
from coursekit.autograde.score import NoScore, read_score
from coursekit.course import current

REPO_ROOT = current().root
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "autograde.yml"


def obeyed(output):
    """[(command, title, message)] of the workflow commands GitHub acts on in `output`: none
    between `::stop-commands::TOKEN` and `::TOKEN::`; messages decoded (%0A is a newline)."""
    commands, stopped_by = [], None
    for line in output.splitlines():
        if stopped_by is not None:
            if line == f"::{stopped_by}::":
                stopped_by = None
            continue
        m = re.fullmatch(r"::([a-z-]+)(?: ([^:]*))?::(.*)", line)
        if not m:
            continue
        command, props, message = m.groups()
        if command == "stop-commands":
            stopped_by = message
            continue
        title = re.search(r"title=([^,]*)", props or "")
        message = message.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        commands.append((command, title.group(1) if title else "", message))
    return commands


def test_obeyed_ignores_commands_while_they_are_stopped():
    output = "\n".join(["::notice::before", "::stop-commands::t0k3n", "::notice::forged",
                        "::t0k3n", "::error::still forged", "::t0k3n::", "::warning::a%0Ab"])
    assert obeyed(output) == [("notice", "", "before"), ("warning", "", "a\nb")]


# ---- the student id -----------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("alice", "alice"),
    ("a.b-c_d@e+f", "a.b-c_d@e+f"),
    ("dependabot[bot]", "dependabot_bot_"),
    ("José García", "Jos__Garc_a"),
    (".hidden", "hidden"),
    ("-rf", "rf"),
    ("a..b...c", "a_.b__.c"),
    ("../etc/passwd", "etc_passwd"),
    ("a\n::error::x", "a___error__x"),
    ("grades.csv", "grades.csv_"),
    ("Summary.PNG", "Summary.PNG_"),
    ("x" * 150, "x" * STUDENT_ID_MAX),
])
def test_student_id_from_name(name, expected):
    assert student_id_from_name(name) == expected
    assert student_id_problem(expected) == ""


@pytest.mark.parametrize("name", ["..", "李雷", "___", "\udcff", "...."])
def test_a_name_without_letters_or_digits_gets_a_stable_digest_id(name):
    student = student_id_from_name(name)
    assert re.fullmatch(r"student-[0-9a-f]{12}", student)
    assert student_id_from_name(name) == student
    assert student_id_from_name(name + "!") != student


def test_an_empty_name_is_refused():
    with pytest.raises(StudentIdError, match="empty name"):
        student_id_from_name("")


def test_every_id_made_from_any_name_passes_the_validator():
    alphabet = "aZ09-_.@+ /\\[]:\n\t%é李\U0001f600\x00\udcff" + "." * 6
    rng = random.Random(20261130)
    for _ in range(3000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 130)))
        student = student_id_from_name(name)
        assert student_id_problem(student) == "", (name, student)


# ---- coursekit ci-student-id ----------------------------------------------------------------

def test_ci_student_id_exports_the_id_to_github_env(tmp_path, monkeypatch, capsys):
    env_file = tmp_path / "github_env"
    env_file.write_text("EARLIER=1\n")
    monkeypatch.setenv("GITHUB_ENV", str(env_file))
    assert cli.main(["ci-student-id", "--", "dependabot[bot]"]) == 0
    assert env_file.read_text() == "EARLIER=1\nSTUDENT=dependabot_bot_\n"
    assert "dependabot_bot_" in capsys.readouterr().out


def test_ci_student_id_refuses_an_empty_name_with_an_error_annotation(tmp_path, monkeypatch,
                                                                       capsys):
    env_file = tmp_path / "github_env"
    monkeypatch.setenv("GITHUB_ENV", str(env_file))
    assert cli.main(["ci-student-id", "--", ""]) == 2
    assert [c[:2] for c in obeyed(capsys.readouterr().out)] == [("error", "Autograde failed")]
    assert not env_file.exists()


# ---- coursekit ci-grade with a stand-in grader ----------------------------------------------

FORGED = ["alice: 999 / 999", "::notice title=Autograde score::alice: 999 / 999",
          "::error title=Autograde failed::forged", "::stop-commands::mine", "::mine::",
          "::notice title=Autograde score::alice: 998 / 999"]


class StandIn:
    """Stands in for `coursekit autograde ARGV`: prints FORGED (as a kernel could), writes
    `result` (if any) where the grader writes it, returns `status`; records its argv."""

    def __init__(self, result, status=0):
        self.result, self.status, self.argv = result, status, None

    def __call__(self, argv):
        self.argv = argv
        print("\n".join(FORGED), flush=True)
        out = Path(argv[argv.index("--output-root") + 1]) / "autograded" / "alice"
        if self.result is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / "assignment1.json").write_text(json.dumps(self.result))
        return self.status


GOOD = {"student": "alice", "score": 12.5, "max_score": 214, "items": [], "notices": []}


def ci_grade(tmp_path, monkeypatch, capfd, stand_in, student="alice"):
    """(exit code, stdout) of `coursekit ci-grade` with `stand_in` as the grader."""
    monkeypatch.setattr(ci, "autograde", stand_in)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    code = cli.main(["ci-grade", "--student", student, str(tmp_path / "submission"),
                     "--output-root", str(tmp_path / "out"), "--module-grader", "none"])
    return code, capfd.readouterr().out


def test_the_score_annotation_comes_from_the_result_file_not_the_grading_output(
        tmp_path, monkeypatch, capfd):
    code, out = ci_grade(tmp_path, monkeypatch, capfd, StandIn(GOOD))
    assert code == 0
    assert "alice: 999 / 999" in out                    # the forgeries were printed...
    assert obeyed(out) == [("notice", "Autograde score", "alice: 12.5 / 214")]


def test_the_grader_gets_the_options_but_not_the_token(tmp_path, monkeypatch, capfd):
    stand_in = StandIn(GOOD)
    code, out = ci_grade(tmp_path, monkeypatch, capfd, stand_in)
    token = re.search(r"^::stop-commands::(\S+)$", out, re.M).group(1)
    assert len(token) >= 32 and f"::{token}::" in out.splitlines()
    assert stand_in.argv == [str(tmp_path / "submission"), "--student", "alice", "--force",
                             "-q", "--markdown", str(tmp_path / "summary.md"),
                             "--output-root", str(tmp_path / "out"), "--module-grader", "none"]
    assert not any(token in arg for arg in stand_in.argv)
    assert token not in "".join(os.environ.values())
    # A new token every run: an earlier log cannot tell the next one.
    _, again = ci_grade(tmp_path, monkeypatch, capfd, StandIn(GOOD))
    assert token not in again


def test_a_failed_grading_is_an_error_even_with_a_result_file(tmp_path, monkeypatch, capfd):
    code, out = ci_grade(tmp_path, monkeypatch, capfd, StandIn(GOOD, status=1))
    assert code == 1
    [(command, title, message)] = obeyed(out)
    assert (command, title) == ("error", "Autograde failed")
    assert "exit code 1" in message and "999" not in message


def test_no_result_file_is_an_error(tmp_path, monkeypatch, capfd):
    code, out = ci_grade(tmp_path, monkeypatch, capfd, StandIn(None))
    assert code == 1
    [(command, _, message)] = obeyed(out)
    assert command == "error" and "no readable result" in message


def test_a_recorded_failure_is_an_error_whose_reason_cannot_forge_a_command(
        tmp_path, monkeypatch, capfd):
    failed = {**GOOD, "status": "error",
              "notices": ["boom\n::notice title=Autograde score::alice: 214 / 214"]}
    code, out = ci_grade(tmp_path, monkeypatch, capfd, StandIn(failed))
    assert code == 1
    [(command, _, message)] = obeyed(out)
    assert command == "error" and "boom\n::notice" in message   # one annotation, decoded


def test_an_unusable_student_id_grades_nothing(tmp_path, monkeypatch, capfd):
    stand_in = StandIn(GOOD)
    code, out = ci_grade(tmp_path, monkeypatch, capfd, stand_in, student="../alice")
    assert code == 2 and stand_in.argv is None
    assert [c[:2] for c in obeyed(out)] == [("error", "Autograde failed")]


def test_read_score(tmp_path):
    path = tmp_path / "assignment1.json"
    path.write_text(json.dumps({"student": "bob", "score": 187.25, "max_score": 214.0}))
    assert read_score(path) == "bob: 187.25 / 214"
    path.write_text(json.dumps({"student": "bob", "status": "error", "score": 0,
                                "max_score": 0, "notices": ["grading failed: boom"]}))
    with pytest.raises(NoScore, match="boom"):
        read_score(path)
    for text in ("[1, 2]", "{not json", json.dumps({"student": "bob"})):
        path.write_text(text)
        with pytest.raises(NoScore):
            read_score(path)
    with pytest.raises(NoScore, match="did not finish"):
        read_score(tmp_path / "missing.json")


# ---- both steps, end to end ---------------------------------------------------------------

def workflow_step(name):
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["autograde"]["steps"]
    return next(s for s in steps if s.get("name") == name)


def run_step(step, workspace, env):
    """Run a workflow step's `run:` line as the runner does: bash -e -o pipefail, in its
    working directory; returns the CompletedProcess (output as text)."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c",
                           step["run"]], cwd=workspace / step["working-directory"],
                          env=env, capture_output=True, text=True, timeout=600)


def test_the_workflow_steps_name_and_grade_a_student(tiny_course, tmp_path):
    import tinycourse

    workspace = tmp_path / "workspace"
    course = workspace / "course"
    (course / ".venv" / "bin").mkdir(parents=True)
    # The course's .venv/bin/coursekit: this repository's, grading the tiny course (its
    # options go after the submission's PATH, where ci-grade passes them to autograde).
    tiny = (f"--course-root {tiny_course} --output-root {course} "
            "--module-grader tinycourse:fake_module_grader "
            "--inline-grader tinycourse:fake_inline_grader")
    (course / ".venv" / "bin" / "coursekit").write_text(
        f'#!/bin/bash\nif [ "$1" = ci-grade ]; then set -- "$@" {tiny}; fi\n'
        f'exec {REPO_ROOT / ".venv" / "bin" / "coursekit"} "$@"\n')
    (course / ".venv" / "bin" / "coursekit").chmod(0o755)
    submission = tinycourse.make_submission(tiny_course, workspace / "submission")
    github_env, summary = tmp_path / "github_env", tmp_path / "step_summary.md"
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path)),
           "PYTHONPATH": str(Path(__file__).parent), "GITHUB_WORKSPACE": str(workspace),
           "GITHUB_ENV": str(github_env), "GITHUB_STEP_SUMMARY": str(summary)}

    named = run_step(workflow_step("Name the student"), workspace,
                     {**env, "NAME": "alice[bot]"})
    assert named.returncode == 0, named.stderr
    assert github_env.read_text() == "STUDENT=alice_bot_\n"

    graded = run_step(workflow_step("Autograde"), workspace,
                      {**env, "STUDENT": "alice_bot_", "SUBMISSION": str(submission)})
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    result = json.loads((course / "autograded" / "alice_bot_" / "assignment1.json").read_text())
    assert (result["score"], result["max_score"]) == (10, 11)
    assert obeyed(graded.stdout) == [("notice", "Autograde score", "alice_bot_: 10 / 11")]
    assert "**Score: 10 / 11**" in summary.read_text()
    # What the workflow uploads as the feedback artifact: the student's pages, no hidden test.
    upload = workflow_step("Upload the feedback (no hidden tests inside)")["with"]["path"]
    folder = workspace / upload.replace("${{ env.STUDENT }}", "alice_bot_")
    pages = sorted(folder.glob("*.html"))
    assert pages, f"no feedback pages in {folder}"
    assert all(tinycourse.HIDDEN_MARK not in p.read_text() for p in pages)
    assert tinycourse.HIDDEN_MARK not in graded.stdout + graded.stderr + summary.read_text()
