"""Structure of the master notebooks as nbgrader sources (fast: nothing is executed)."""
import ast
import os
import re

import nbformat
import pytest

from coursekit.course import current
from coursekit.notebooks import answers
from coursekit.notebooks.run import METRICS, NOTEBOOKS, REPO_ROOT, notebook_path

from .expected import FOLDER_VARIABLE, INLINE_QUESTIONS, SAVED_FILES, SOLUTION_CELLS


def load(name):
    return nbformat.read(notebook_path(name), as_version=4)


def nbgrader_cells(nb):
    return [c for c in nb.cells if "nbgrader" in c.metadata]


def _tree(source):
    # IPython magics and shell lines are not Python.
    return ast.parse("\n".join("" if line.lstrip().startswith(("%", "!")) else line
                               for line in source.split("\n")))


def assigned_names(source):
    return {n.id for n in ast.walk(_tree(source)) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Store)}


def read_names(source):
    return {n.id for n in ast.walk(_tree(source)) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}


def test_the_notebooks_of_the_manifest_exist_in_question_order():
    # course.toml's order is the official assignment's (its five questions, then any added).
    assert NOTEBOOKS[:5] == ["knn", "softmax", "two_layer_net", "features", "FullyConnectedNets"]
    assert NOTEBOOKS == list(SOLUTION_CELLS)
    for name in NOTEBOOKS:
        load(name)


def test_the_manifest_lists_the_models_each_notebook_saves():
    saved = {n.name: list(n.saved_models) for n in current().notebooks if n.saved_models}
    assert saved == SAVED_FILES


def test_grade_ids_are_unique_across_the_assignment():
    seen = {}
    for name in NOTEBOOKS:
        for cell in nbgrader_cells(load(name)):
            gid = cell.metadata.nbgrader["grade_id"]
            assert gid not in seen, f"grade_id {gid} used in {name} and {seen[gid]}"
            seen[gid] = name


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_grade_cell_has_positive_points(name):
    for cell in nbgrader_cells(load(name)):
        meta = cell.metadata.nbgrader
        if meta.get("grade"):
            assert meta.get("points", 0) > 0, f"{name}: {meta['grade_id']} has no points"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_test_cells_are_locked_code_cells_that_assert(name):
    tests = [c for c in nbgrader_cells(load(name))
             if c.metadata.nbgrader.get("grade") and not c.metadata.nbgrader.get("solution")]
    assert tests, f"{name} has no autograder test cells"
    for cell in tests:
        gid = cell.metadata.nbgrader["grade_id"]
        assert cell.cell_type == "code" and cell.metadata.nbgrader.get("locked"), gid
        assert "assert" in cell.source or "check_saved_model" in cell.source, gid


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_hidden_test_regions_are_balanced_and_only_in_test_cells(name):
    for cell in load(name).cells:
        begins = cell.source.count("### BEGIN HIDDEN TESTS")
        ends = cell.source.count("### END HIDDEN TESTS")
        assert begins == ends <= 1
        if begins:
            assert cell.metadata.get("nbgrader", {}).get("grade"), cell.source[:60]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solution_regions_sit_in_solution_cells_and_every_solution_cell_has_one(name):
    for cell in load(name).cells:
        meta = cell.metadata.get("nbgrader", {})
        has_region = "BEGIN SOLUTION" in cell.source
        assert cell.source.count("BEGIN SOLUTION") == cell.source.count("END SOLUTION")
        if has_region:
            assert meta.get("solution"), f"{name}: solution region outside a solution cell"
        if meta.get("solution"):
            assert has_region, f"{name}: {meta['grade_id']} would be replaced whole in the release"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_level_todos_are_solution_cells(name):
    ids = {c.metadata.nbgrader["grade_id"]: c for c in nbgrader_cells(load(name))}
    for gid in SOLUTION_CELLS[name]:
        assert gid in ids, f"{name} lacks the solution cell {gid}"
        meta = ids[gid].metadata.nbgrader
        assert meta["solution"] and not meta["grade"] and ids[gid].cell_type == "code"
        assert "TODO" in ids[gid].source, f"{gid}: tell the student what to write"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_inline_questions_are_manually_graded_markdown_answers(name):
    ids = {c.metadata.nbgrader["grade_id"]: c for c in nbgrader_cells(load(name))}
    for gid in INLINE_QUESTIONS[name]:
        cell = ids[gid]
        meta = cell.metadata.nbgrader
        assert cell.cell_type == "markdown" and meta["solution"] and meta["grade"], gid
        assert "Your answer:" in cell.source, gid
    asked = sorted(g for g in ids if "inline_q" in g)
    assert asked == sorted(INLINE_QUESTIONS[name])


def test_twelve_inline_questions_five_with_fixed_answers():
    assert sum(len(v) for v in INLINE_QUESTIONS.values()) == 12
    assert len(answers.QUESTIONS) == 5
    for question in answers.QUESTIONS:
        assert question.grade_id in INLINE_QUESTIONS[question.notebook]
        cell = next(c for c in load(question.notebook).cells
                    if c.metadata.get("nbgrader", {}).get("grade_id") == question.grade_id)
        assert "Your explanation:" in cell.source, question.grade_id


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_outputs_are_committed(name):
    for cell in load(name).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_first_cell_finds_the_folder_and_the_data_and_the_student_may_edit_it(name):
    first = load(name).cells[1]
    # Not an nbgrader cell: neither locked nor a solution or a test, so the student sets
    # FOLDERNAME and grading keeps whatever was left there (the cell falls back by itself).
    assert first.cell_type == "code" and "nbgrader" not in first.metadata
    assert first.source.count(f"{FOLDER_VARIABLE} = None\n") == 1
    assert f"use_assignment_folder({FOLDER_VARIABLE})" in first.source
    assert "drive.mount('/content/drive')" in first.source
    # The release keeps it as it is (nbgrader only rewrites its own cells).
    released = nbformat.read(os.path.join(REPO_ROOT, "release", "assignment1", f"{name}.ipynb"),
                             as_version=4).cells[1]
    assert released.source == first.source and "nbgrader" not in released.metadata


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_setup_cell_checks_the_data_and_reads_the_run_settings(name):
    setup = load(name).cells[2].source
    assert f"run_settings('{name}')" in setup
    assert "check_cifar10()" in setup
    assert "%matplotlib inline" in setup and "%autoreload 2" in setup


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_introduction_says_how_to_go_on_past_a_failing_test(name):
    intro = load(name).cells[0].source
    assert "When a test cell fails" in intro and "Run Selected Cell and All Below" in intro
    assert FOLDER_VARIABLE in intro
    if name in SAVED_FILES:
        assert "cs231n/saved/" in intro


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_cells_that_save_models_read_nothing_only_a_test_cell_defines(name):
    # A failing visible test must not keep a model from being saved: with "Run Selected Cell
    # and All Below" past it, every name the saving cell reads still exists.
    cells = [c for c in load(name).cells if c.cell_type == "code"]
    by_tests, by_others = set(), set()
    for cell in cells:
        test = cell.metadata.get("nbgrader", {}).get("grade") and not \
            cell.metadata.nbgrader.get("solution")
        (by_tests if test else by_others).update(assigned_names(cell.source))
    savers = [c for c in cells if "save_for_autograder(" in c.source]
    assert bool(savers) == (name in SAVED_FILES)
    for cell in savers:
        only_tests = read_names(cell.source) & (by_tests - by_others)
        assert not only_tests, f"{name}: a saving cell reads {sorted(only_tests)}"


@pytest.mark.parametrize("name, files", sorted(SAVED_FILES.items()))
def test_models_are_saved_through_the_grading_safe_helper_and_checked(name, files):
    text = "\n".join(c.source for c in load(name).cells)
    for fname in files:
        assert "save_for_autograder(" in text and f"'{fname}')" in text, fname
        # Described in the kernel (plain data), checked by a test cell the grader judges.
        call = rf"notebook_utils\.describe_saved_model\('{re.escape(fname)}'\)"
        described = re.search(rf"(\w+) = {call}", text)
        assert described, fname
        assert f"check_saved_model({described.group(1)}," in text, fname
    # Never the model's own save(): in grading mode it would overwrite the submitted file.
    assert not re.search(r"\.save\(", text.replace("save_for_autograder(", ""))


def test_metrics_of_the_full_run_follow_existing_test_cells():
    for metric in METRICS:
        ids = {c.metadata.nbgrader["grade_id"] for c in nbgrader_cells(load(metric.notebook))}
        assert metric.after in ids, f"{metric.name}: no test cell {metric.after}"
