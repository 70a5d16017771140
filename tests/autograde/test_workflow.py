""".github/workflows/autograde.yml, run on this machine by the local runner ghactions.py.

The fast tests check the runner itself and that every expression, action and key of the
workflow is one the runner emulates. The slow tests run the whole job twice:

(a) push to a student's repository (the release with the master's solutions filled in) with
    COURSE_REPO set: the instructor's private course comes from its own checkout (deploy key);
(b) push to the course repository itself by dependabot[bot] (a name that is no usable student
    id), no COURSE_REPO: the untouched release is graded, as dependabot_bot_;
and check (c) on run (a): the student's checkout holds no hidden test or reference value, and
the ones used are the course checkout's (its references.json is marked: one value is changed,
so the master loses exactly that check).

What runs for real: every `run:` step of the workflow, with bash as Actions runs it, in a
runner-like folder (GITHUB_WORKSPACE, GITHUB_ENV, GITHUB_STEP_SUMMARY, job/step env); the
Makefile's `make venv` recipe (python3.11 -m venv, pip upgrade, pip install -r requirements.txt,
the editable install of the checked-out course), get_datasets.sh, and `coursekit autograde`
with its notebooks, kernels, module sandbox and feedback, as root (GitHub's runner user is
`runner`).
What is emulated (ghactions.py): actions/checkout clones local git repositories made by the test
(a copy of this working tree is the course repository); actions/setup-python puts the machine's
python3.11 on PATH; actions/cache restores a synthetic CIFAR-10 (coursekit.synthetic) under the
workflow's key; actions/upload-artifact only records the folder. setup-python's pip cache is
emulated too: the venv `make venv` creates gets the distributions pinned in requirements.txt
hard-linked from this repository's own .venv, and pip runs with PIP_NO_INDEX, so it finds
them installed instead of downloading them. Set CK_GHA_REAL_VENV=1 to let pip
install everything from the package registry instead (measured here: 1-2 minutes more).
Nothing downloads data: curl and wget are shadowed by stubs that fail.
"""
import fcntl
import html
import json
import os
import pickle
import re
import shutil
import subprocess
import threading
from pathlib import Path

import ghactions
import pytest
import yaml
from hidden_source import hidden_test_lines

from coursekit.course import current
from coursekit.synthetic import write_synthetic_cifar10
from cs231n.notebook_utils import GRADING_MIN_TEST, GRADING_MIN_TRAIN

REPO_ROOT = current().root

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "autograde.yml"
SOURCE = REPO_ROOT / "source" / "assignment1"
ORG = "cs231n-org"
COURSE, STUDENT_REPO = f"{ORG}/cs231n-course", f"{ORG}/a1-alice"
DEPLOY_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nemulated\n-----END OPENSSH PRIVATE KEY-----"
# The course checkout's mark: this reference value is changed in the private course copy.
MARKED_CHECK = "layers.relu_forward_matches_the_reference"


# ---- the runner (fast) -------------------------------------------------------------------

CONTEXTS = {"github": {"actor": "alice", "token": "t", "ref": "refs/heads/main"},
            "inputs": {}, "vars": {}, "secrets": {}, "env": {"STUDENT": "alice"}}


@pytest.mark.parametrize("expression, changes, expected", [
    ("vars.COURSE_REPO != ''", {}, False),
    ("vars.COURSE_REPO == ''", {}, True),
    ("vars.COURSE_REPO != ''", {"vars": {"COURSE_REPO": "o/c"}}, True),
    ("inputs.student || github.actor", {}, "alice"),
    ("inputs.student || github.actor", {"inputs": {"student": ""}}, "alice"),
    ("inputs.student || github.actor", {"inputs": {"student": "bob"}}, "bob"),
    ("secrets.SUBMISSION_TOKEN || github.token", {}, "t"),
    ("github.actor == 'ALICE'", {}, True),             # string comparison ignores case
    ("!(env.STUDENT == 'alice') && true", {}, False),
    ("github.missing.deeper", {}, None),
])
def test_expressions_follow_github_semantics(expression, changes, expected):
    assert ghactions.evaluate(expression, {**CONTEXTS, **changes}) == expected


@pytest.mark.parametrize("expression", [
    "contains(github.ref, 'main')", "runner.os", "steps.x.outputs.y", "github.event.a[0]",
    "1 < 2", "format('{0}', github.actor)", "github.actor ==",
])
def test_expressions_the_runner_does_not_emulate_fail_loudly(expression):
    with pytest.raises(ghactions.Unsupported):
        ghactions.evaluate(expression, CONTEXTS)


@pytest.mark.parametrize("text, status, runs", [
    (None, "success", True), (None, "failure", False),
    ("${{ always() }}", "failure", True), ("failure()", "failure", True),
    ("${{ vars.COURSE_REPO == '' }}", "success", True),
    ("${{ vars.COURSE_REPO == '' }}", "failure", False),   # implicit success() &&
])
def test_if_runs_after_a_failure_only_when_it_names_a_status_function(text, status, runs):
    assert ghactions.condition(text, CONTEXTS, status) is runs


def _make_repo(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    git = ["git", "-C", str(folder), "-c", "user.name=test", "-c", "user.email=t@example.com"]
    if not (folder / ".git").exists():
        subprocess.run(git[:3] + ["init", "-q", "-b", "main"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "content"], check=True)
    return folder


def test_runner_exports_github_env_applies_conditions_and_shells(tmp_path):
    repo = _make_repo(tmp_path / "repo", {"sub/hello.txt": "hi\n"})
    workflow = tmp_path / "wf.yml"
    workflow.write_text(yaml.safe_dump({"on": "push", "jobs": {"j": {
        "runs-on": "ubuntu-latest", "env": {"WHO": "${{ github.actor }}"}, "steps": [
            {"uses": "actions/checkout@v4", "with": {"path": "code"}},
            {"run": 'echo "GREETING=hello $WHO" >> "$GITHUB_ENV"'},
            {"working-directory": "code/sub", "env": {"FILE": "hello.txt"},
             "run": 'test "$GREETING" = "hello alice" && cat "$FILE"\n'
                    'echo "::notice title=T::$GREETING"\necho "# sum" >> "$GITHUB_STEP_SUMMARY"'},
            {"if": "${{ env.GREETING == 'nope' }}", "run": "exit 3"},
            {"run": "false | true"},                      # bash -e: the pipeline succeeds
            {"shell": "bash", "run": "false | true"},     # pipefail: this one fails
            {"run": "echo never"},
            {"if": "always()", "run": "echo cleanup"}]}}}))
    result = ghactions.Runner(tmp_path / "runner", repository="o/r", actor="alice",
                              repositories={"o/r": repo}).run(workflow)
    assert [s.outcome for s in result.steps] == ["success", "success", "success", "skipped",
                                                 "success", "failure", "skipped", "success"]
    assert result.status == "failure"
    assert "hi" in result.steps[2].output
    assert result.annotations == [("notice", "T", "hello alice")]
    assert result.summary == "# sum\n" and result.env == {"GREETING": "hello alice"}


def test_runner_refuses_a_private_checkout_without_its_deploy_key(tmp_path):
    repo = _make_repo(tmp_path / "repo", {"a.txt": "a"})
    workflow = tmp_path / "wf.yml"
    workflow.write_text(yaml.safe_dump({"on": "push", "jobs": {"j": {"steps": [
        {"uses": "actions/checkout@v4", "with": {"repository": "o/private", "path": "p",
                                                  "ssh-key": "${{ secrets.KEY }}"}}]}}}))
    runner = dict(repository="o/r", actor="a", deploy_keys={"o/private": "k"},
                  repositories={"o/r": repo, "o/private": repo})
    assert ghactions.Runner(tmp_path / "1", **runner).run(workflow).status == "failure"
    ok = ghactions.Runner(tmp_path / "2", secrets={"KEY": "k"}, **runner).run(workflow)
    assert ok.status == "success" and (ok.workspace / "p" / "a.txt").exists()


def _one_step_workflow(tmp_path, step, on="push"):
    workflow = tmp_path / "wf.yml"
    workflow.write_text(yaml.safe_dump({"on": on, "jobs": {"j": {"steps": [step]}}}))
    return workflow


@pytest.mark.parametrize("step, on, inputs", [
    ({"uses": "actions/github-script@v7"}, "push", {}),
    ({"uses": "actions/checkout@v4", "with": {"fetch-depth": 0}}, "push", {}),
    ({"run": "true", "continue-on-error": True}, "push", {}),
    ({"run": "true", "shell": "sh"}, "push", {}),
    ({"run": "echo ${{ hashFiles('x') }}"}, "push", {}),
    ({"run": "true"}, "pull_request", {}),
    ({"run": "true"}, {"workflow_dispatch": {"inputs": {"a": {}}}}, {"b": "1"}),
])
def test_runner_refuses_what_it_does_not_emulate(tmp_path, step, on, inputs):
    repo = _make_repo(tmp_path / "repo", {"a.txt": "a"})
    event = "workflow_dispatch" if isinstance(on, dict) else "push"
    runner = ghactions.Runner(tmp_path / "runner", repository="o/r", actor="a", event=event,
                              inputs=inputs, repositories={"o/r": repo})
    with pytest.raises(ghactions.Unsupported):
        runner.run(_one_step_workflow(tmp_path, step, on))


def test_dispatch_inputs_take_their_defaults(tmp_path):
    repo = _make_repo(tmp_path / "repo", {"a.txt": "a"})
    on = {"workflow_dispatch": {"inputs": {"who": {"default": "dflt"}, "ref": {}}}}
    step = {"run": 'echo "::notice::${{ inputs.who }}-${{ inputs.ref }}-${{ inputs.x }}"'}
    result = ghactions.Runner(tmp_path / "runner", repository="o/r", actor="a",
                              event="workflow_dispatch", repositories={"o/r": repo}).run(
        _one_step_workflow(tmp_path, step, on))
    assert result.annotations == [("notice", "", "dflt--")]


def _strings(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def test_every_expression_action_and_key_of_the_workflow_is_emulated():
    workflow = ghactions.load_workflow(WORKFLOW)
    assert set(workflow) <= ghactions._WORKFLOW_KEYS
    for job in workflow["jobs"].values():
        assert set(job) <= ghactions._JOB_KEYS
        for step in job["steps"]:
            assert set(step) <= ghactions._STEP_KEYS, step
            assert step.get("shell") in ghactions._SHELLS, step
            if "uses" in step:
                action = step["uses"].split("@")[0]
                assert set(step.get("with") or {}) <= ghactions._WITH_KEYS[action], step
    for text in _strings(workflow):   # raises Unsupported on anything not emulated
        ghactions.interpolate(text, {**CONTEXTS, "inputs": {"student": "", "ref": "",
                                                            "submission_repo": ""}})


def test_runner_ignores_workflow_commands_between_stop_commands_and_its_token():
    output = "\n".join(["::notice::before", "::stop-commands::t0k3n", "::notice::forged",
                        "::t0k3n", "::error::still forged", "::t0k3n::", "::warning::after"])
    assert ghactions.annotations(output) == [("notice", "", "before"),
                                             ("warning", "", "after")]


# ---- the score a CI step reads (fast: the real Autograde step, a stand-in grader) ---------

# Stands in for `coursekit autograde`: it prints what a student's kernel could print (a score
# line and workflow commands), then writes the result file as the grader does.
FORGING_GRADER = """#!/bin/bash
echo "alice: 999 / 999"
echo "::notice title=Autograde score::alice: 999 / 999"
echo "::error title=Autograde failed::forged"
mkdir -p autograded/alice
cat > autograded/alice/assignment1.json <<'JSON'
{"student": "alice", "score": 12.5, "max_score": 214, "items": [], "notices": []}
JSON
exit ${GRADER_EXIT:-0}
"""


def autograde_step():
    """The workflow's own Autograde step, as written in autograde.yml."""
    steps = ghactions.load_workflow(WORKFLOW)["jobs"]["autograde"]["steps"]
    return next(s for s in steps if s.get("name") == "Autograde")


def run_autograde_step(root, coursekit, env=None, submission=None):
    """A job of two steps: set up course/.venv with `coursekit` (a script's text) and this
    repository's Python (and the checkout of `submission`), then the workflow's Autograde
    step. Returns the JobResult."""
    import sys

    repo = _make_repo(root / "repo", {"a.txt": "a"})
    root.mkdir(parents=True, exist_ok=True)
    (root / "coursekit").write_text(coursekit)
    python = f"#!/bin/sh\\nexec {sys.executable} \"$@\"\\n"
    setup = {"run": 'echo "STUDENT=alice" >> "$GITHUB_ENV"\n'
                    "mkdir -p course/.venv/bin submission course/cs231n/datasets/"
                    "cifar-10-batches-py\n"
                    f"printf '{python}' > course/.venv/bin/python\n"
                    f"cp {root / 'coursekit'} course/.venv/bin/coursekit\n"
                    "chmod +x course/.venv/bin/*\n"
                    + (f"cp -r {submission}/. submission/\n" if submission else "")}
    step = dict(autograde_step())
    step["env"] = {**step.get("env", {}), **(env or {})}
    workflow = root / "wf.yml"
    workflow.write_text(yaml.safe_dump({"on": "push", "jobs": {"autograde": {
        "steps": [setup, step]}}}))
    return ghactions.Runner(root / "runner", repository="o/r", actor="alice",
                            repositories={"o/r": repo}).run(workflow)


def test_the_score_annotation_comes_from_the_result_file_not_the_grading_output(tmp_path):
    result = run_autograde_step(tmp_path, FORGING_GRADER)
    assert result.status == "success", result.log
    assert "alice: 999 / 999" in result.log             # the forgery was printed...
    assert result.annotations == [("notice", "Autograde score", "alice: 12.5 / 214")]


def test_a_failed_grading_is_an_error_even_when_its_output_shows_a_score(tmp_path):
    result = run_autograde_step(tmp_path, FORGING_GRADER, env={"GRADER_EXIT": "1"})
    assert result.status == "failure"
    assert [(level, title) for level, title, _ in result.annotations] == [
        ("error", "Autograde failed")]
    assert "exit code 1" in result.annotations[0][2]


def test_a_grading_that_recorded_an_error_gives_no_score(tmp_path):
    from coursekit.autograde import score

    path = tmp_path / "assignment1.json"
    path.write_text(json.dumps({"student": "bob", "status": "error", "score": 0,
                                "max_score": 0, "notices": ["grading failed: boom"]}))
    assert score.main([str(path)]) == 1
    assert score.main([str(tmp_path / "missing.json")]) == 1
    path.write_text(json.dumps({"student": "bob", "score": 187.25, "max_score": 214.0}))
    assert score.main([str(path)]) == 0


# ---- the workflow, end to end (slow) -----------------------------------------------------

def working_tree_repo(dest):
    """A git repository of this working tree (tracked and new files, as they are now)."""
    listed = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--cached",
                             "--others", "--exclude-standard"], capture_output=True, text=True,
                            check=True).stdout.split("\0")
    for rel in filter(None, listed):
        src = REPO_ROOT / rel
        if src.is_symlink() or src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel, follow_symlinks=False)
    return _make_repo(dest, {})


def private_course_repo(dest):
    """The instructor's private course, its references.json marked (one value changed)."""
    working_tree_repo(dest)
    path = dest / "grading" / "hidden" / "references.json"
    refs = json.loads(path.read_text())
    out = refs[MARKED_CHECK]["out"]
    out["data"] = [v + 1.0 for v in out["data"]]
    path.write_text(json.dumps(refs))
    return _make_repo(dest, {})


def student_repo(dest):
    """A student's repository: the release with the master's solutions, answers and models,
    and the workflow (trigger: push)."""
    from tests.release.test_release_slow import fill_with_master

    shutil.copytree(REPO_ROOT / "release" / "assignment1", dest)
    fill_with_master(dest)
    return _make_repo(dest, {".github/workflows/autograde.yml": WORKFLOW.read_text()})


def run_workflow(root, **runner):
    """The autograde job in a runner folder under `root`; returns the JobResult."""
    root.mkdir(parents=True, exist_ok=True)
    stubs = root / "no-network"
    stubs.mkdir(exist_ok=True)
    for tool in ("curl", "wget"):
        (stubs / tool).write_text(f"#!/bin/sh\necho '{tool}: no download in tests' >&2\n"
                                  "exit 1\n")
        (stubs / tool).chmod(0o755)
    real_venv = os.environ.get("CK_GHA_REAL_VENV") == "1"
    seed = REPO_ROOT / ".venv"
    assert real_venv or (seed / ".installed").exists(), \
        "test_workflow.py seeds the job's venv from this repository's: run `make venv` first"
    key = next(s["with"]["key"] for s in ghactions.load_workflow(WORKFLOW)["jobs"]["autograde"]
               ["steps"] if s.get("uses", "").startswith("actions/cache@"))
    data = write_synthetic_cifar10(root / "data", num_train=GRADING_MIN_TRAIN,
                                   num_test=GRADING_MIN_TEST)
    return ghactions.Runner(
        root / "runner", caches={key: data}, path=[str(stubs)],
        venv_seed=None if real_venv else str(seed),
        env={} if real_venv else {"PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0"},
        **runner).run(WORKFLOW)


def scenario_a(root):
    course = private_course_repo(root / "repos" / "course")
    student = student_repo(root / "repos" / "alice")
    return run_workflow(root, repository=STUDENT_REPO, actor="alice",
                        repositories={STUDENT_REPO: student, COURSE: course},
                        vars={"COURSE_REPO": COURSE}, secrets={"COURSE_DEPLOY_KEY": DEPLOY_KEY},
                        deploy_keys={COURSE: DEPLOY_KEY})


def scenario_b(root):
    course = working_tree_repo(root / "repos" / "course")
    return run_workflow(root, repository=COURSE, actor="dependabot[bot]",
                        repositories={COURSE: course})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{"a": JobResult, "b": JobResult}: both jobs run side by side, once per test session
    (pytest-xdist workers share the result through a lock and a pickle)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with open(shared / "ghactions-runs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / "ghactions-runs.pickle"
        if done.exists():
            return pickle.loads(done.read_bytes())
        results, errors = {}, []

        def job(name, scenario):
            try:
                results[name] = scenario(shared / f"ghactions-{name}")
            except Exception as exc:   # re-raised below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=job, args=a) for a in (("a", scenario_a),
                                                                 ("b", scenario_b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        done.write_bytes(pickle.dumps(results))
        return results


def score_of(result, student):
    """(score, max) from the job's `::notice title=Autograde score::` annotation."""
    notices = [m for level, title, m in result.annotations
               if level == "notice" and title == "Autograde score"]
    assert len(notices) == 1, (result.annotations, result.log[-3000:])
    m = re.fullmatch(rf"{student}: (\d+(?:\.\d+)?) / (\d+(?:\.\d+)?)", notices[0])
    assert m, notices[0]
    return float(m.group(1)), float(m.group(2))


def graded(result, student):
    path = result.workspace / "course" / "autograded" / student / "assignment1.json"
    return json.loads(path.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("name, student", [("a", "alice"), ("b", "dependabot_bot_")])
def test_job_succeeds_and_reports_the_graded_score(runs, name, student):
    result = runs[name]
    assert result.status == "success", result.log[-5000:]
    score, maximum = score_of(result, student)
    expected = graded(result, student)
    assert (score, maximum) == pytest.approx((expected["score"], expected["max_score"]),
                                             rel=1e-5)
    summary = re.search(r"^\*\*Score: (\S+) / (\S+)\*\*", result.summary, re.M)
    assert summary, result.summary[:2000]
    assert tuple(map(float, summary.groups())) == pytest.approx((score, maximum), rel=1e-3)
    rows = re.findall(r"^\| (\S+:\S+) \|", result.summary, re.M)
    assert sorted(rows) == sorted(i["id"] for i in expected["items"])


@pytest.mark.slow
def test_both_runs_grade_every_item_of_the_course_without_a_grader_problem(runs):
    a, b = graded(runs["a"], "alice"), graded(runs["b"], "dependabot_bot_")
    # Notices reach the student: a clean submission must get none.
    assert (a["notices"], b["notices"]) == ([], []), (a["notices"], b["notices"])
    assert sorted(i["id"] for i in a["items"]) == sorted(i["id"] for i in b["items"])
    assert {"test", "inline", "manual", "module", "model"} <= {i["kind"] for i in a["items"]}


@pytest.mark.slow
def test_course_data_is_restored_from_the_cache_and_never_downloaded(runs):
    for result in runs.values():
        install = next(s for s in result.steps if s.name.startswith("Install"))
        assert "CIFAR-10 is already in" in install.output, install.output[-2000:]
        assert "no download in tests" not in result.log


@pytest.mark.slow
def test_master_solutions_earn_every_automatic_point_but_the_marked_check(runs):
    result = graded(runs["a"], "alice")
    lost = sorted(i["id"] for i in result["items"]
                  if i["kind"] in ("test", "answer", "inline", "module")
                  and i["score"] < i["max_score"])
    assert lost == [f"module:{MARKED_CHECK}"]


@pytest.mark.slow
def test_untouched_release_scores_low(runs):
    score, maximum = score_of(runs["b"], "dependabot_bot_")
    assert score <= 0.1 * maximum < score_of(runs["a"], "alice")[0]


@pytest.mark.slow
@pytest.mark.parametrize("name, student", [("a", "alice"), ("b", "dependabot_bot_")])
def test_feedback_artifact_log_and_summary_hold_no_hidden_test(runs, name, student):
    result = runs[name]
    folder = result.artifacts[f"feedback-{student}"]
    pages = sorted(folder.glob("*.html"))
    assert pages, f"no feedback pages in {folder}"
    text = html.unescape("".join(p.read_text() for p in pages)) + result.summary + result.log
    assert [ln for ln in hidden_test_lines() if ln in text] == []


@pytest.mark.slow
def test_student_checkout_holds_no_hidden_test_or_reference(runs):
    submission = runs["a"].workspace / "submission"
    files = [p for p in submission.rglob("*") if p.is_file() and ".git" not in p.parts]
    assert any(p.name == "knn.ipynb" for p in files)
    assert not (submission / "tests").exists() and not (submission / "grading").exists()
    assert [p for p in files if p.name in ("references.json", "models.toml")
            or p.parent.name == "hidden"] == []
    assert [p for p in files if p.suffix in (".ipynb", ".py")
            and "BEGIN HIDDEN TESTS" in p.read_text(errors="replace")] == []


@pytest.mark.slow
def test_hidden_references_come_from_the_course_checkout(runs):
    course = runs["a"].workspace / "course"
    # The grading venv's coursekit is the checked-out course's, so is its grading/hidden.
    where = subprocess.run([str(course / ".venv" / "bin" / "python"), "-c",
                            "from coursekit.grader.master import HIDDEN_DIR; print(HIDDEN_DIR)"],
                           cwd=course.parent, env={"PATH": "/usr/bin:/bin"},
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where) == course / "grading" / "hidden"
    # Only the course checkout's references.json is marked: the master fails that check.
    items = {i["id"]: i for i in graded(runs["a"], "alice")["items"]}
    assert items[f"module:{MARKED_CHECK}"]["score"] == 0


@pytest.mark.slow
def test_a_kernel_printing_a_score_does_not_change_the_annotation(tiny_course, tmp_path):
    """The measured attack: `os.write(1, ...)` from a notebook kernel reached the grader's
    output, where the workflow read the score. Here the real grader grades the tiny course
    (kernels, sandbox, result file) in the workflow's own Autograde step. Two defences hold
    it now: the kernel's output goes to a log of its own (nbgrade.GuardedKernelManager), and
    the workflow reads the result file; the fast tests above pin the workflow's part alone."""
    import nbformat
    import tinycourse

    forged = b"\nalice: 999 / 999\n::notice title=Autograde score::alice: 999 / 999\n"
    student = tinycourse.make_submission(tiny_course, tmp_path / "alice")
    nb = nbformat.read(str(student / "adder.ipynb"), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "add_solution":
            cell.source = (f"import os, sys\nos.write(1, {forged!r})\nos.write(2, {forged!r})\n"
                           f"sys.__stdout__.write({forged.decode()!r})\n" + cell.source)
    nbformat.write(nb, str(student / "adder.ipynb"))
    grader = f"""#!/bin/bash
export PYTHONPATH={Path(__file__).parent}
exec {REPO_ROOT / ".venv" / "bin" / "coursekit"} "$@" --course-root {tiny_course} \\
  --output-root "$PWD" --module-grader tinycourse:fake_module_grader \\
  --inline-grader tinycourse:fake_inline_grader
"""
    result = run_autograde_step(tmp_path / "job", grader, submission=student)
    assert result.status == "success", result.log[-5000:]
    graded = json.loads((result.workspace / "course" / "autograded" / "alice" /
                         "assignment1.json").read_text())
    assert (graded["score"], graded["max_score"]) == (10, 11)   # its honest work, in full
    assert result.annotations == [("notice", "Autograde score", "alice: 10 / 11")]

