"""The repository's nbgrader_config.py has the settings grading depends on."""
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from coursekit.autograde.grading_run import GradingRun, load_nbgrader_config
from coursekit.course import current

GIVEN_FILES = current().given_files
REPO_ROOT = current().root


def config():
    return load_nbgrader_config(REPO_ROOT / "nbgrader_config.py")


def test_gradebook_url_waits_for_locks_and_can_be_overridden(monkeypatch):
    assert config().CourseDirectory.db_url.endswith("gradebook.db?timeout=60")
    monkeypatch.setenv("NBGRADER_DB_URL", "postgresql://grader@db/cs231n")
    assert config().CourseDirectory.db_url == "postgresql://grader@db/cs231n"
    assert GradingRun().db_url == "postgresql://grader@db/cs231n"


def test_kernel_and_per_cell_timeout_are_set():
    c = config()
    assert c.Execute.kernel_name == "python3"
    assert 30 <= c.Execute.timeout <= 600


def test_a_run_may_set_its_own_cell_limit(tmp_path):
    """--cell-seconds (make autograde CELL_SECONDS=...) replaces the config's Execute.timeout for
    the kernels and for the messages that name the limit; without it the config's holds."""
    import argparse

    from coursekit.autograde import command, nbgrade, pipeline

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    course = command.course_from_args(parser.parse_args(["autograde", "--cell-seconds", "7"]))
    assert course.cell_seconds == 7
    assert nbgrade.autograde_config(course, tmp_path).Execute.timeout == 7
    assert pipeline.cell_timeout(course) == 7
    default = GradingRun()
    assert pipeline.cell_timeout(default) == config().Execute.timeout
    assert nbgrade.autograde_config(default, tmp_path).Execute.timeout == config().Execute.timeout


def test_stderr_warnings_are_ignored_with_pattern_and_enabled():
    c = config()
    assert c.IgnorePattern.enabled is True
    pattern = re.compile(c.IgnorePattern.pattern)
    assert pattern.search("/tmp/x.py:3: RuntimeWarning: divide by zero encountered\n")
    assert pattern.search("  warnings.warn('slow')\n")
    assert not pattern.search("Traceback (most recent call last):\n")


def test_deleted_grade_cells_are_readded():
    assert config().OverwriteCells.add_missing_cells is True


def test_students_python_files_are_never_overwritten_except_the_given_ones():
    excluded = set(config().Autograde.exclude_overwriting["assignment1"])
    source = REPO_ROOT / "source" / "assignment1"
    master_py = {os.path.relpath(os.path.join(folder, name), source)
                 for folder, _, names in os.walk(source, followlinks=True)
                 for name in names if name.endswith(".py") and "__pycache__" not in folder}
    assert master_py, "source/assignment1 has no .py files (is the cs231n symlink there?)"
    given = set(GIVEN_FILES)
    assert given <= master_py
    # Plain `nbgrader autograde` and coursekit's pipeline agree on which files are the course's.
    assert master_py - given <= excluded and not given & excluded
    # Every file with something for the student to write is the student's.
    with_todos = {rel for rel in master_py if "BEGIN SOLUTION" in (source / rel).read_text()}
    assert with_todos and with_todos <= excluded


def test_given_files_hold_no_student_work_and_ship_unchanged_in_the_release():
    for rel in GIVEN_FILES:
        master = (REPO_ROOT / rel).read_text()
        assert "BEGIN SOLUTION" not in master and "TODO" not in master, rel
        assert (REPO_ROOT / "release" / "assignment1" / rel).read_text() == master, rel


def test_nbgraders_own_feedback_cuts_hidden_tests_first():
    preprocessors = config().GenerateFeedback.preprocessors
    assert preprocessors[0] == "coursekit.autograde.feedback.HideHiddenTests"
    assert "nbgrader.preprocessors.GetGrades" in preprocessors


def test_a_course_grades_the_notebooks_of_its_manifest_in_its_order(tmp_path):
    source = tmp_path / "source" / "assignment1"
    source.mkdir(parents=True)
    for stem in ("ops", "adder"):
        (source / f"{stem}.ipynb").write_text("{}")
    # Without a course.toml: the notebooks its source folder holds, by name.
    assert GradingRun(root=tmp_path).notebooks == ("adder", "ops")
    assert GradingRun(root=tmp_path).given_files == ()
    (tmp_path / "course.toml").write_text(
        '[assignment]\nname = "assignment1"\ngiven_files = ["pkg/given.py"]\n'
        '[[notebooks]]\nname = "ops"\n[[notebooks]]\nname = "adder"\n')
    assert GradingRun(root=tmp_path).notebooks == ("ops", "adder")
    assert GradingRun(root=tmp_path).given_files == ("pkg/given.py",)
    # The repository's own course: its course.toml, read here on its own.
    with open(REPO_ROOT / "course.toml", "rb") as f:
        manifest = tomllib.load(f)
    assert GradingRun().notebooks == tuple(n["name"] for n in manifest["notebooks"])
    assert len(GradingRun().notebooks) == 5
    assert set(GradingRun().given_files) == set(manifest["assignment"]["given_files"])


def nbgrader_command(args, tmp_path):
    """`nbgrader ARGS` run in the repository root as an instructor would, without an activated
    virtualenv (PATH without .venv/bin), into a throw-away gradebook; (exit code, output)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = "/usr/bin:/bin"
    env["NBGRADER_DB_URL"] = f"sqlite:///{tmp_path / 'gradebook.db'}"
    nbgrader = Path(sys.executable).with_name("nbgrader")
    proc = subprocess.run([str(nbgrader), *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


def test_every_option_of_the_config_is_one_nbgrader_knows():
    """nbgrader 0.9 warns about an unknown option on every app start (formgrader: on every
    request); each option set must be a configurable trait of its class."""
    import nbconvert
    import nbgrader.converters
    import nbgrader.coursedir
    import nbgrader.exchange.default
    import nbgrader.preprocessors

    modules = (nbgrader.coursedir, nbgrader.converters, nbgrader.preprocessors,
               nbgrader.exchange.default, nbconvert)
    for section, options in config().items():
        owner = next((getattr(m, section) for m in modules if hasattr(m, section)), None)
        assert owner is not None, f"nbgrader_config.py configures {section}, no class of nbgrader"
        known = owner.class_traits(config=True)
        for option in options:
            assert option in known, f"{section}.{option} is not an option nbgrader knows"


def test_nbgraders_own_apps_load_the_config_without_warnings(tmp_path):
    code, out = nbgrader_command(["db", "assignment", "list"], tmp_path)
    assert code == 0, out
    assert "not recognized" not in out and "WARNING" not in out, out
    # The exchange (unused here) is a writable folder: no "Unwritable directory" on `list`,
    # which formgrader runs for its assignment page.
    code, out = nbgrader_command(["list"], tmp_path)
    assert code == 0 and "Unwritable" not in out and "CRITICAL" not in out, out


@pytest.mark.slow
def test_formgrader_lists_the_assignment_grading_put_in_the_gradebook(tmp_path, monkeypatch):
    """Without db_assignments, the assignment reaches the gradebook through grading's first
    step (pipeline.prepare); formgrader's API (NbGraderAPI, what its pages call) then lists it
    with its points."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from coursekit.autograde import pipeline

    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    monkeypatch.setenv("NBGRADER_DB_URL", url)
    course = GradingRun(output_root=tmp_path / "out")
    pipeline.prepare(course)
    cfg = config()
    coursedir = CourseDirectory(config=cfg)
    assignments = NbGraderAPI(coursedir=coursedir, config=cfg).get_assignments()
    assert [a["name"] for a in assignments] == [course.assignment]
    assert assignments[0]["max_score"] > 0


def test_a_run_may_keep_the_module_checks_after_the_notebooks(tmp_path, monkeypatch):
    """--modules-after-notebooks (make autograde MODULES_AFTER=1): the checks run in the
    grading process after the notebooks even in the bubblewrap jail, and a Dask worker's run
    gets the same setting."""
    import argparse
    import os

    from coursekit.autograde import cluster, command, module_checks
    from coursekit.grader.results import GradeResult

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    after = command.course_from_args(parser.parse_args(["autograde",
                                                        "--modules-after-notebooks"]))
    default = command.course_from_args(parser.parse_args(["autograde"]))
    assert (after.modules_beside, default.modules_beside) == (False, True)
    assert cluster.run_settings(after)["modules_beside"] is False

    monkeypatch.setenv("COURSEKIT_JAIL", "bwrap")
    pids = []

    def grader(submission, cifar_dir=None):
        pids.append(os.getpid())
        return GradeResult(submission, [])

    for course, forked in ((after, False), (default, True)):
        with module_checks.beside(course.with_(module_grader=grader), tmp_path) as checks:
            assert (checks.pid is not None) == forked
            checks.result()
    assert pids[0] == os.getpid() and len(pids) == 1  # the forked child's append is its own


def test_grading_validates_each_notebook_once_after_its_preprocessors_and_still_rejects(
        tmp_path, monkeypatch):
    """The notebook is validated once after the preprocessors (not after each of them), and a
    preprocessor that breaks the notebook's format is still caught."""
    import nbformat
    from nbconvert.exporters import NotebookExporter
    from nbconvert.preprocessors import Preprocessor

    from coursekit.autograde import nbgrade

    class Passes(Preprocessor):
        def preprocess(self, nb, resources):
            return nb, resources

    class Breaks(Preprocessor):
        def preprocess(self, nb, resources):
            nb.cells[0]["outputs"] = "not a list"
            return nb, resources

    calls = []
    real = nbformat.validate
    monkeypatch.setattr(nbformat, "validate", lambda *a, **k: calls.append(1) or real(*a, **k))
    cfg = nbgrade.autograde_config(GradingRun(), tmp_path)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    counts = []
    for passes in (1, 6):
        calls.clear()
        exporter = NotebookExporter(config=cfg, preprocessors=[Passes(enabled=True)] * passes)
        exporter.from_notebook_node(nb)
        counts.append(len(calls))
    assert counts[0] == counts[1] > 0        # five more preprocessors, no more validations
    exporter = NotebookExporter(config=cfg, preprocessors=[Passes(enabled=True),
                                                           Breaks(enabled=True)])
    with pytest.raises(nbformat.ValidationError):
        exporter.from_notebook_node(nb)
