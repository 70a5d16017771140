"""collect.py zips a complete submission and refuses an incomplete one with a clear message."""
import json
import os
import runpy
import subprocess
import sys
import zipfile

import pytest

from coursekit.course import current
from coursekit.release.build import render_student_file

COURSE = current()
NOTEBOOKS = list(COURSE.notebook_files)
MODELS = list(COURSE.saved_models)


def test_the_released_collect_lists_the_course_notebooks_and_models_in_order():
    # collect.py imports only the standard library (it is all a student runs), so the release
    # writes the manifest's lists into it.
    collect = runpy.run_path(str(COURSE.release_dir / "collect.py"))
    assert collect["NOTEBOOKS"] == NOTEBOOKS
    assert list(collect["MODELS"]) == MODELS
    assert set(collect["MODELS"].values()) <= set(NOTEBOOKS)


def notebook(with_outputs=True):
    outputs = [{"output_type": "stream", "name": "stdout", "text": "hi\n"}] if with_outputs else []
    cell = {"cell_type": "code", "execution_count": 1 if with_outputs else None, "id": "c1",
            "metadata": {}, "outputs": outputs, "source": "print('hi')"}
    return {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture
def submission(tmp_path):
    """A complete student folder: run notebooks, a package, the five models."""
    (tmp_path / "collect.py").write_text(render_student_file(COURSE, "collect.py"))
    for name in NOTEBOOKS:
        (tmp_path / name).write_text(json.dumps(notebook()))
    for rel in ["cs231n/__init__.py", "cs231n/layers.py", "cs231n/classifiers/fc_net.py"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("# code\n")
    (tmp_path / "cs231n/classifiers/__pycache__").mkdir()
    (tmp_path / "cs231n/classifiers/__pycache__/fc_net.cpython-311.pyc").write_bytes(b"x")
    (tmp_path / "cs231n/datasets/cifar-10-batches-py").mkdir(parents=True)
    (tmp_path / "cs231n/datasets/cifar-10-batches-py/data_batch_1").write_bytes(b"big")
    (tmp_path / "cs231n/saved").mkdir()
    (tmp_path / "cs231n/saved/.gitkeep").write_text("")
    for name in MODELS:
        (tmp_path / "cs231n/saved" / name).write_bytes(b"model")
    return tmp_path


def collect(folder, *args):
    return subprocess.run([sys.executable, "collect.py", *args], cwd=folder,
                          capture_output=True, text=True, timeout=60)


def test_complete_submission_is_zipped_with_notebooks_code_and_models(submission):
    result = collect(submission)
    assert result.returncode == 0, result.stderr
    names = sorted(zipfile.ZipFile(submission / "a1_submission.zip").namelist())
    assert names == sorted(NOTEBOOKS + [f"cs231n/saved/{m}" for m in MODELS] + [
        "cs231n/__init__.py", "cs231n/layers.py", "cs231n/classifiers/fc_net.py"])


def test_zip_is_the_same_for_the_same_files(submission):
    collect(submission, "--output", "one.zip")
    collect(submission, "--output", "two.zip")
    assert (submission / "one.zip").read_bytes() == (submission / "two.zip").read_bytes()


@pytest.mark.parametrize("remove, named", [
    ("features.ipynb", "features.ipynb is missing"),
    ("cs231n/saved/best_two_layer_net.npy", "best_two_layer_net.npy is missing: run "
                                            "two_layer_net.ipynb"),
])
def test_missing_file_is_refused_by_name(submission, remove, named):
    os.remove(submission / remove)
    result = collect(submission)
    assert result.returncode == 1
    assert named in result.stderr
    assert not (submission / "a1_submission.zip").exists()


def test_notebook_without_outputs_is_refused(submission):
    (submission / "knn.ipynb").write_text(json.dumps(notebook(with_outputs=False)))
    result = collect(submission)
    assert result.returncode == 1
    assert "knn.ipynb: it has no outputs" in result.stderr


def test_allow_missing_zips_a_partial_submission(submission):
    os.remove(submission / "FullyConnectedNets.ipynb")
    result = collect(submission, "--allow-missing")
    assert result.returncode == 0
    assert "FullyConnectedNets.ipynb is missing" in result.stderr
    names = zipfile.ZipFile(submission / "a1_submission.zip").namelist()
    assert "FullyConnectedNets.ipynb" not in names and "knn.ipynb" in names


def error_output(ename, evalue):
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}


def ran_with_errors():
    """A notebook saved after Run All stopped at a solution cell's error: a test cell below it
    ran earlier and failed, and the last cells never ran."""
    def code(count, source, outputs=(), **nbgrader):
        cell = {"cell_type": "code", "execution_count": count, "id": f"c{len(cells)}",
                "metadata": {"nbgrader": nbgrader} if nbgrader else {},
                "outputs": list(outputs), "source": source}
        cells.append(cell)

    cells = []
    code(1, "x = 1", [{"output_type": "stream", "name": "stdout", "text": "hi\n"}])
    code(2, "# YOUR CODE HERE\nraise NotImplementedError('fill in this cell')",
         [error_output("NotImplementedError", "fill in this cell: replace this line\nsecond")],
         solution=True, grade_id="knn_solution")
    code(3, "assert dists.shape == (2, 3)", [error_output("NameError",
                                                          "name 'dists' is not defined")],
         grade=True, solution=False, grade_id="knn_distances_two_loops", points=1)
    code(None, "save_for_autograder(model, 'm.npy')")
    code(None, "print(done)")
    code(None, "# only a comment")
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_notebook_with_errors_is_zipped_with_a_warning_naming_each_cell(submission):
    (submission / "knn.ipynb").write_text(json.dumps(ran_with_errors()))
    result = collect(submission)
    assert result.returncode == 0, result.stderr
    assert "knn.ipynb" in zipfile.ZipFile(submission / "a1_submission.zip").namelist()
    err = " ".join(result.stderr.split())  # the warning is wrapped: compare its words
    assert "warning" in err and "knn.ipynb:" in err
    assert "error in In [2]: NotImplementedError: fill in this cell: replace this line" in err
    assert "second" not in err  # the error's first line only
    assert "failing test knn_distances_two_loops, In [3]: NameError: name 'dists' is not " \
           "defined" in err
    assert "2 code cell(s) below In [2] never ran" in err
    assert "Kernel > Restart & Run All" in err and "Run > Run Selected Cell and All Below" in err
    # Only the notebook with errors is listed.
    assert "softmax.ipynb" not in err


def test_clean_notebooks_give_no_warning(submission):
    result = collect(submission)
    assert result.returncode == 0
    assert "warning" not in result.stderr


def test_errors_are_listed_even_when_the_zip_is_refused(submission):
    (submission / "knn.ipynb").write_text(json.dumps(ran_with_errors()))
    os.remove(submission / "features.ipynb")
    result = collect(submission)
    assert result.returncode == 1
    assert "features.ipynb is missing" in result.stderr
    assert "failing test knn_distances_two_loops" in " ".join(result.stderr.split())
    assert not (submission / "a1_submission.zip").exists()
