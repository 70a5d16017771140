"""The first cell of every notebook: finding the assignment folder and CIFAR-10 wherever the
student works (Jupyter, VS Code, Colab with Google Drive) and in grading."""
import os
import shutil
import sys
import types

import nbformat
import pytest

from coursekit.notebooks import run
from coursekit.synthetic import write_synthetic_cifar10
from cs231n import notebook_utils
from cs231n.notebook_utils import NotebookSetupError, assignment_folder, use_assignment_folder

from .expected import FOLDER_VARIABLE

DATA_ENV = "CS231N_CIFAR10_DIR"


def make_assignment(folder):
    """A folder that holds cs231n/ as the assignment folder does (only what the lookup reads)."""
    (folder / "cs231n").mkdir(parents=True)
    (folder / "cs231n" / "notebook_utils.py").write_text("")
    return folder


@pytest.fixture
def colab(monkeypatch, tmp_path):
    """A fake google.colab module, and a 'My Drive' under tmp_path instead of Colab's."""
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    my_drive = tmp_path / "My Drive"
    my_drive.mkdir()
    monkeypatch.setattr(notebook_utils, "COLAB_MY_DRIVE", str(my_drive))
    return my_drive


@pytest.fixture
def not_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)


@pytest.fixture
def elsewhere(monkeypatch, tmp_path):
    """The working folder: an empty folder (no cs231n/)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def kernel_state(monkeypatch):
    """Restores sys.path and the imported cs231n modules that use_assignment_folder changes."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    imported = {k: v for k, v in sys.modules.items() if k == "cs231n" or k.startswith("cs231n.")}
    yield
    for name in [k for k in sys.modules if k == "cs231n" or k.startswith("cs231n.")]:
        del sys.modules[name]
    sys.modules.update(imported)


def test_colab_uses_the_folder_named_inside_my_drive(colab, elsewhere):
    folder = make_assignment(colab / "cs231n" / "assignment1")
    assert assignment_folder("cs231n/assignment1") == str(folder)


def test_colab_with_a_wrong_foldername_says_to_set_it(colab, elsewhere):
    make_assignment(colab / "cs231n" / "assignment1")
    for wrong in (None, "assignment1"):
        with pytest.raises(NotebookSetupError, match="set FOLDERNAME") as err:
            assignment_folder(wrong)
        assert "Google Drive" in str(err.value)


def test_colab_ignores_a_local_path_outside_the_drive(colab, elsewhere, tmp_path):
    local = make_assignment(tmp_path / "local")
    with pytest.raises(NotebookSetupError):
        assignment_folder(str(local / "nothing-here"))
    # An absolute path joins to itself: a folder elsewhere on the Colab machine is accepted.
    assert assignment_folder(str(local)) == str(local)


def test_locally_foldername_names_the_assignment_folder(not_colab, elsewhere, tmp_path):
    folder = make_assignment(tmp_path / "my assignment")
    assert assignment_folder(str(folder)) == str(folder)


@pytest.mark.parametrize("foldername", [
    None, "/content/drive/My Drive/cs231n/assignment1", "cs231n/assignment1", "", 42,
    ["not", "a", "path"]])
def test_otherwise_the_working_folder_as_in_grading(not_colab, monkeypatch, tmp_path,
                                                    foldername):
    submission = make_assignment(tmp_path / "submission")
    monkeypatch.chdir(submission)
    assert assignment_folder(foldername) == str(submission)


def test_no_folder_holding_the_package_is_an_error_naming_both(not_colab, elsewhere):
    with pytest.raises(NotebookSetupError, match="FOLDERNAME") as err:
        assignment_folder("/no/such/folder")
    assert str(elsewhere) in str(err.value) and "/no/such/folder" in str(err.value)


def test_use_works_in_the_folder_and_finds_the_data_in_its_default_place(
        not_colab, elsewhere, tmp_path, monkeypatch, kernel_state, capsys):
    monkeypatch.delenv(DATA_ENV, raising=False)
    folder = make_assignment(tmp_path / "assignment")
    data = write_synthetic_cifar10(folder / "cs231n" / "datasets")
    assert use_assignment_folder(str(folder)) == str(data)
    assert os.getcwd() == str(folder)
    assert sys.path[0] == str(folder) and sys.path.count(str(folder)) == 1
    # The cs231n imported from the repository is dropped: the next import reads the folder's.
    assert "cs231n" not in sys.modules and "cs231n.notebook_utils" not in sys.modules
    assert f"Assignment folder: {folder}" in capsys.readouterr().out


def test_use_reads_the_data_folder_from_the_environment(not_colab, tmp_path, monkeypatch,
                                                        kernel_state, synthetic_cifar_dir):
    folder = make_assignment(tmp_path / "assignment")
    monkeypatch.chdir(folder)
    monkeypatch.setenv(DATA_ENV, synthetic_cifar_dir)
    assert use_assignment_folder(None) == synthetic_cifar_dir


def test_missing_data_says_once_how_to_get_it(not_colab, elsewhere, tmp_path, monkeypatch,
                                              kernel_state):
    monkeypatch.delenv(DATA_ENV, raising=False)
    folder = make_assignment(tmp_path / "assignment")
    with pytest.raises(NotebookSetupError) as err:
        use_assignment_folder(str(folder))
    message = str(err.value)
    assert str(folder / "cs231n" / "datasets" / "cifar-10-batches-py") in message
    assert "bash cs231n/datasets/get_datasets.sh" in message and "!bash" not in message
    assert DATA_ENV in message and "before starting Jupyter" in message
    # Still chdir'ed there, so that the download command works as written.
    assert os.getcwd() == str(folder)
    # In a notebook the message alone is shown, not a traceback.
    assert err.value._render_traceback_() == [f"NotebookSetupError: {message}"]


def test_missing_data_in_colab_says_to_run_the_script_in_a_cell(colab, elsewhere, monkeypatch,
                                                                kernel_state):
    monkeypatch.delenv(DATA_ENV, raising=False)
    make_assignment(colab / "a1")
    with pytest.raises(NotebookSetupError, match="!bash cs231n/datasets/get_datasets.sh"):
        use_assignment_folder("a1")


def test_a_data_variable_naming_a_missing_folder_says_to_fix_it_and_restart_jupyter(
        not_colab, elsewhere, tmp_path, monkeypatch, kernel_state):
    folder = make_assignment(tmp_path / "assignment")
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(NotebookSetupError, match="restart Jupyter") as err:
        use_assignment_folder(str(folder))
    assert DATA_ENV in str(err.value) and "get_datasets.sh" not in str(err.value)


# --- The cell itself, run by a kernel ---------------------------------------------------------

def first_code_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code")


def set_foldername(nb, value):
    cell = first_code_cell(nb)
    assert f"{FOLDER_VARIABLE} = None\n" in cell.source
    cell.source = cell.source.replace(f"{FOLDER_VARIABLE} = None\n",
                                      f"{FOLDER_VARIABLE} = {value!r}\n", 1)


def spliced_release(dest):
    """A copy of the release folder whose cs231n/ is the master package (solutions in)."""
    shutil.copytree(os.path.join(run.REPO_ROOT, "release", "assignment1"), dest,
                    ignore=shutil.ignore_patterns("cs231n"))
    shutil.copytree(os.path.join(run.REPO_ROOT, "cs231n"), dest / "cs231n",
                    ignore=shutil.ignore_patterns("__pycache__", "cifar-10-batches-py"))
    return dest


@pytest.mark.slow
def test_a_notebook_run_from_another_folder_finds_the_package_and_the_data(tmp_path,
                                                                          monkeypatch):
    # The master knn notebook (solutions in), in a folder without cs231n/, pointed by its
    # FOLDERNAME alone at the release folder; CIFAR-10 (synthetic) in that folder's default place.
    folder = spliced_release(tmp_path / "assignment1")
    write_synthetic_cifar10(folder / "cs231n" / "datasets",
                            num_train=run.SYNTHETIC_TRAIN, num_test=run.SYNTHETIC_TEST)
    work = tmp_path / "elsewhere"
    work.mkdir()
    nb = nbformat.read(run.notebook_path("knn"), as_version=4)
    set_foldername(nb, str(folder))
    nbformat.write(nb, str(work / "knn.ipynb"))
    monkeypatch.delenv(DATA_ENV, raising=False)
    result = run.execute_notebook(str(work / "knn.ipynb"), grading=True, save_to=str(tmp_path))
    assert result.ok, result.failed_tests + result.errors
    executed = nbformat.read(str(tmp_path / "knn.ipynb"), as_version=4)
    printed = "".join(o.get("text", "") for o in first_code_cell(executed).outputs)
    assert f"Assignment folder: {folder}" in printed
    assert os.path.join(str(folder), "cs231n", "datasets", "cifar-10-batches-py") in printed
    assert not (work / "cs231n").exists()


@pytest.mark.slow
def test_the_first_cell_without_data_shows_one_message(tmp_path, monkeypatch):
    folder = spliced_release(tmp_path / "assignment1")
    nb = nbformat.read(run.notebook_path("softmax"), as_version=4)
    nb.cells = nb.cells[:3]  # the introduction, the first cell and the set-up cell
    nbformat.write(nb, str(folder / "first_cells.ipynb"))
    monkeypatch.delenv(DATA_ENV, raising=False)
    run.execute_notebook(str(folder / "first_cells.ipynb"), grading=True, save_to=str(tmp_path))
    executed = nbformat.read(str(tmp_path / "first_cells.ipynb"), as_version=4)
    errors = [o for o in first_code_cell(executed).outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "NotebookSetupError"
    assert "bash cs231n/datasets/get_datasets.sh" in errors[0].evalue
    # The message stands alone: no traceback through notebook_utils.
    assert errors[0].traceback == [f"NotebookSetupError: {errors[0].evalue}"]


@pytest.mark.slow
def test_nbgrader_validates_a_notebook_whose_first_cell_names_a_drive_folder(tmp_path):
    # What a Colab student hands in: FOLDERNAME names a Drive folder the grader does not have;
    # grading (nbgrader, the submission as working folder) falls back to that folder.
    folder = spliced_release(tmp_path / "assignment1")
    data = write_synthetic_cifar10(tmp_path / "data", num_train=run.SYNTHETIC_TRAIN,
                                   num_test=run.SYNTHETIC_TEST)
    nb = nbformat.read(run.notebook_path("knn"), as_version=4)
    set_foldername(nb, "/content/drive/My Drive/cs231n/assignment1")
    nbformat.write(nb, str(folder / "knn.ipynb"))
    result = run.validate_notebook(str(folder / "knn.ipynb"), data)
    assert result.ok, result.failed_tests + result.errors
