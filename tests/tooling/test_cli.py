"""`coursekit`: every verb is listed and answers, and a call loads only what its verb needs
(importing every verb's dependencies cost about 1.7 s per call, issue 15)."""
import subprocess
import sys

import pytest

from coursekit import cli

# Verbs the course's Makefile and docs call; a verb module may add more.
DOCUMENTED_VERBS = {"validate", "notebooks-full", "answers", "release", "leakcheck", "autograde",
                    "gradescope", "ci-student-id", "ci-grade", "grade-module", "references"}
# What only grading needs: nbformat alone costs over a second to import (jsonschema's formats).
HEAVY = ("nbformat", "nbgrader", "numpy", "pytest", "jsonschema", "sqlalchemy", "nbclient")


def registered_verbs():
    return set(cli.build_parser()._subparsers._group_actions[0].choices)


def test_help_lists_every_verb_of_every_verb_module(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["--help"])
    assert stop.value.code == 0
    listed = capsys.readouterr().out
    assert DOCUMENTED_VERBS <= registered_verbs()
    for verb in registered_verbs():
        assert f"    {verb}" in listed, verb


@pytest.mark.parametrize("verb", sorted(DOCUMENTED_VERBS))
def test_each_verb_answers_help(verb, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([verb, "--help"])
    assert stop.value.code == 0
    assert f"coursekit {verb}" in capsys.readouterr().out


def modules_loaded_by(argv):
    """The HEAVY modules a fresh interpreter has loaded after `coursekit ARGV`."""
    code = ("import sys\nfrom coursekit.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                         check=True).stdout
    return out.strip().splitlines()[-1]


@pytest.mark.parametrize("argv", [["--help"], ["autograde", "--help"], ["release", "--help"],
                                  ["grade-module", "--help"]])
def test_a_verbs_start_up_loads_none_of_the_grading_dependencies(argv):
    assert modules_loaded_by(argv) == "[]"


def test_a_verb_runs_with_its_dependencies_imported_inside_it(capsys):
    # `answers --key` reads the master notebooks (json) and `release --step` builds with
    # nbformat, imported inside the functions since the change.
    assert cli.main(["answers", "--key"]) == 0
    key = capsys.readouterr().out
    assert key.count(":") >= 3  # one line per inline question of the masters


def test_release_notebooks_step_still_writes_notebooks(tmp_path):
    assert cli.main(["release", "--dest", str(tmp_path), "--step", "notebooks"]) == 0
    assert len(list(tmp_path.glob("*.ipynb"))) == 5
