"""Properties of .github/workflows/autograde.yml that hold its security together.

`make lint` checks the file with actionlint (syntax, expressions, action inputs, script
injection of untrusted contexts, shellcheck of the run lines when shellcheck is installed).
What actionlint does not know is this course's rules, checked here on the parsed YAML: each
`run:` step is one command, the student's name and code go through coursekit verbs, run lines
hold no expression, no secret reaches a step that runs student code, the token is read-only,
and the artifact is the student's feedback only. The verbs themselves, and the workflow's own
run lines end to end, are tested in test_ci_commands.py.
"""
import shlex

import pytest
import yaml

from coursekit.course import current

REPO_ROOT = current().root

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "autograde.yml"
# The run steps in order, each one command. Setting up comes first (nothing of the student's
# has run yet); every step after it that touches the student is a coursekit verb.
EXPECTED_COMMANDS = [
    ["make", "venv", "PYTHON=python3.11"],
    ["bash", "cs231n/datasets/get_datasets.sh"],
    [".venv/bin/coursekit", "ci-student-id", "--", "$NAME"],
    [".venv/bin/coursekit", "ci-grade", "--student", "$STUDENT", "$SUBMISSION"],
]
SHELL_OPERATORS = {";", "&&", "||", "|", "&", "(", ")", "<", ">", ">>", ";;", "|&"}


@pytest.fixture(scope="module")
def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def steps(workflow):
    return workflow["jobs"]["autograde"]["steps"]


def run_steps(workflow):
    return [s for s in steps(workflow) if "run" in s]


def one_command(text):
    """The words of `text` if it is a single simple command, else AssertionError."""
    assert "\n" not in text.strip(), f"more than one line: {text!r}"
    assert "`" not in text and "$(" not in text, f"command substitution: {text!r}"
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = list(lexer)
    assert not SHELL_OPERATORS & set(words), f"shell logic: {text!r}"
    return words


@pytest.mark.parametrize("text", ["a; b", "a && b", "a | b", "a\nb", "x=$(a)", "a > f",
                                  "a || exit 1"])
def test_one_command_refuses_shell_logic(text):
    with pytest.raises(AssertionError):
        one_command(text)


def test_every_run_step_is_one_command_run_by_bash(workflow):
    assert [one_command(s["run"]) for s in run_steps(workflow)] == EXPECTED_COMMANDS
    assert [s.get("shell") for s in run_steps(workflow)] == ["bash"] * len(EXPECTED_COMMANDS)


def test_run_lines_hold_no_expression(workflow):
    # ${{ }} is pasted into the script before bash reads it: a student id or an input there
    # would be code. Values reach the commands through env.
    for step in run_steps(workflow):
        assert "${{" not in step["run"], step


def test_steps_that_are_not_run_steps_are_actions(workflow):
    for step in steps(workflow):
        assert ("run" in step) != ("uses" in step), step


def test_coursekit_runs_from_the_course_checkout(workflow):
    # The grading code, hidden tests and reference values are the course's, never the
    # submission's: every command runs in course/, with its .venv.
    for step in run_steps(workflow):
        assert step["working-directory"] == "course", step


def test_the_token_is_read_only(workflow):
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        assert set(job.get("permissions", {}).values()) <= {"read", "none"}


def test_no_secret_reaches_a_run_step_or_stays_in_a_checkout(workflow):
    job = workflow["jobs"]["autograde"]
    for where in (workflow.get("env", {}), job.get("env", {})):   # would reach every step
        assert "secrets." not in str(where) and "github.token" not in str(where)
    for step in run_steps(workflow):
        assert "secrets." not in str(step) and "github.token" not in str(step), step
    checkouts = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/checkout@")]
    assert len(checkouts) == 3
    for step in checkouts:   # else the token or the deploy key stays in .git for later steps
        assert step["with"]["persist-credentials"] is False, step


def test_the_student_is_named_before_grading_and_the_artifact_is_their_feedback_only(workflow):
    names = [s.get("name") for s in steps(workflow)]
    assert names.index("Name the student") < names.index("Autograde")
    [upload] = [s for s in steps(workflow) if s.get("uses", "").startswith(
        "actions/upload-artifact@")]
    # feedback/<student>/assignment1 holds the feedback pages (hidden tests removed);
    # autograded/ and the course hold the hidden tests and must never be uploaded.
    assert upload["with"]["path"] == "course/feedback/${{ env.STUDENT }}/assignment1"
    assert upload["with"]["name"] == "feedback-${{ env.STUDENT }}"
    assert "env.STUDENT != ''" in upload["if"]


def test_it_grades_a_push_or_a_dispatch_with_the_private_course(workflow):
    triggers = workflow[True]   # YAML 1.1 reads the key `on` as True
    assert set(triggers) == {"push", "workflow_dispatch"}
    assert set(triggers["workflow_dispatch"]["inputs"]) == {"submission_repo", "ref", "student"}
    [private] = [s for s in steps(workflow) if s.get("name", "").startswith(
        "Check out the instructor's private course")]
    assert private["if"] == "${{ vars.COURSE_REPO != '' }}"
    assert private["with"] == {"repository": "${{ vars.COURSE_REPO }}",
                               "ssh-key": "${{ secrets.COURSE_DEPLOY_KEY }}", "path": "course",
                               "persist-credentials": False}
