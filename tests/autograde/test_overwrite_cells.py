"""Where a grade cell a student deleted is put back (nbgrade.RobustOverwriteCells)."""
import nbformat
import pytest

from coursekit.autograde.nbgrade import RobustOverwriteCells
from coursekit.course import current

REPO_ROOT = current().root

SOURCE = REPO_ROOT / "source" / "assignment1"
RELEASE = REPO_ROOT / "release" / "assignment1"


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def nbgrader_ids(nb):
    return [grade_id(c) for c in nb.cells if grade_id(c)]


def release_without(notebook, name):
    nb = nbformat.read(str(RELEASE / f"{notebook}.ipynb"), as_version=4)
    nb.cells = [c for c in nb.cells if grade_id(c) != name]
    return nb


def preprocessor(notebook, master_dir):
    pre = RobustOverwriteCells(master_dir=str(master_dir) if master_dir else "")
    pre.notebook_id = notebook
    return pre


@pytest.mark.parametrize("notebook, name", [
    ("knn", "knn_predict_labels"), ("knn", "knn_best_k"), ("softmax", "softmax_search"),
    ("FullyConnectedNets", "fc_best_model"),
])
def test_a_deleted_test_goes_back_right_after_the_cell_before_it_in_the_master(notebook, name):
    master = nbformat.read(str(SOURCE / f"{notebook}.ipynb"), as_version=4)
    names = [grade_id(c) for c in master.cells]
    if name not in names:
        pytest.fail(f"{notebook}.ipynb has no cell {name}: update this test's list")
    before = master.cells[names.index(name) - 1]
    nb = release_without(notebook, name)
    pre = preprocessor(notebook, SOURCE)
    at = pre._insert_position(nb, name, nbgrader_ids(master), pre._master_cells())
    # The cell the master has just before the test (often a plain cell computing what the
    # test checks) is the one the test goes back after.
    assert nb.cells[at - 1].get("id") == before.get("id")


def test_without_the_master_a_deleted_test_goes_before_the_next_graded_cell():
    master = nbformat.read(str(SOURCE / "knn.ipynb"), as_version=4)
    ids = nbgrader_ids(master)
    nb = release_without("knn", "knn_predict_labels")
    pre = preprocessor("knn", None)
    assert pre._master_cells() == []
    at = pre._insert_position(nb, "knn_predict_labels", ids, [])
    following = ids[ids.index("knn_predict_labels") + 1]
    assert grade_id(nb.cells[at]) == following
