"""collect: submissions as students hand them in are matched back to the expected notebooks."""
import json
import os

import nbformat
import pytest

from coursekit.autograde.collect import canonical_stem, collect_submission, install_given_files

EXPECTED = ("knn", "softmax", "two_layer_net")


def write_nb(path, text="x = 1"):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


@pytest.mark.parametrize("stem, expected", [
    ("knn", "knn"), ("knn (1)", "knn"), ("knn(2)", "knn"), ("knn-Copy1", "knn"),
    ("KNN copy", "knn"), ("knn - Copy (3)", "knn"), ("two_layer_net (1)", "two_layer_net"),
    ("two layer net", "two_layer_net"), ("FullyConnectedNets-Copy2", "fullyconnectednets"),
])
def test_canonical_stem_removes_copy_suffixes(stem, expected):
    assert canonical_stem(stem) == expected


def test_renamed_notebook_is_matched_back_and_recorded(tmp_path):
    write_nb(tmp_path / "in" / "knn (1).ipynb", "renamed = True")
    write_nb(tmp_path / "in" / "softmax.ipynb")
    manifest = collect_submission(tmp_path / "in", tmp_path / "out", EXPECTED)
    assert manifest["notebooks"]["knn"]["status"] == "renamed"
    assert "knn (1).ipynb" in manifest["notebooks"]["knn"]["message"]
    copied = nbformat.read(str(tmp_path / "out" / "knn.ipynb"), as_version=4)
    assert copied.cells[0].source == "renamed = True"
    assert manifest["notebooks"]["softmax"]["status"] == "ok"


def test_exact_name_wins_over_copies(tmp_path):
    write_nb(tmp_path / "in" / "knn.ipynb", "original = True")
    write_nb(tmp_path / "in" / "knn (1).ipynb", "copy = True")
    manifest = collect_submission(tmp_path / "in", tmp_path / "out", EXPECTED)
    copied = nbformat.read(str(tmp_path / "out" / "knn.ipynb"), as_version=4)
    assert copied.cells[0].source == "original = True"
    assert "knn (1).ipynb" in manifest["notebooks"]["knn"]["message"]


def test_missing_and_invalid_notebooks_are_recorded_not_copied(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "knn.ipynb").write_text("{ this is not json")
    (tmp_path / "in" / "softmax.ipynb").write_text(json.dumps({"cells": "nope"}))
    manifest = collect_submission(tmp_path / "in", tmp_path / "out", EXPECTED)
    assert manifest["notebooks"]["knn"]["status"] == "invalid"
    assert manifest["notebooks"]["softmax"]["status"] == "invalid"
    assert manifest["notebooks"]["two_layer_net"]["status"] == "missing"
    assert not list((tmp_path / "out").glob("*.ipynb"))


def test_empty_folder_gives_every_notebook_missing(tmp_path):
    (tmp_path / "in").mkdir()
    manifest = collect_submission(tmp_path / "in", tmp_path / "out", EXPECTED)
    assert {v["status"] for v in manifest["notebooks"].values()} == {"missing"}


def test_wrapping_folder_is_found_and_package_copied(tmp_path):
    root = tmp_path / "in" / "cs231n-assignment1-main" / "assignment1"
    write_nb(root / "knn.ipynb")
    (root / "cs231n" / "classifiers").mkdir(parents=True)
    (root / "cs231n" / "classifiers" / "knn.py").write_text("A = 1\n")
    (root / "cs231n" / "datasets" / "cifar-10-batches-py").mkdir(parents=True)
    (root / "cs231n" / "datasets" / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"x")
    manifest = collect_submission(tmp_path / "in", tmp_path / "out", EXPECTED)
    assert manifest["notebooks"]["knn"]["status"] == "ok"
    assert (tmp_path / "out" / "cs231n" / "classifiers" / "knn.py").read_text() == "A = 1\n"
    assert not (tmp_path / "out" / "cs231n" / "datasets" / "cifar-10-batches-py").exists()


def test_symlinks_are_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("reference values")
    (tmp_path / "in").mkdir()
    write_nb(tmp_path / "in" / "knn.ipynb")
    os.symlink(secret, tmp_path / "in" / "leak.txt")
    manifest = collect_submission(tmp_path / "in", tmp_path / "out", EXPECTED)
    assert not (tmp_path / "out" / "leak.txt").exists()
    assert any("leak.txt" in s for s in manifest["skipped"])


@pytest.fixture
def master(tmp_path):
    """The course's master: a notebook with the solutions, the solved package."""
    root = tmp_path / "course"
    write_nb(root / "source" / "knn.ipynb", "MASTER_SOLUTION = True")
    (root / "cs231n").mkdir(parents=True)
    (root / "cs231n" / "knn.py").write_text("MASTER = True\n")
    return root


def test_a_notebook_linked_to_the_master_is_refused_not_graded(tmp_path, master):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "knn.ipynb").symlink_to(master / "source" / "knn.ipynb")
    write_nb(tmp_path / "in" / "softmax.ipynb")
    manifest = collect_submission(tmp_path / "in", tmp_path / "out", EXPECTED)
    knn = manifest["notebooks"]["knn"]
    assert knn["status"] == "refused"
    assert knn["message"].startswith("knn.ipynb is a symbolic link: the grader does not follow")
    assert knn["message"].endswith("it scores 0")
    assert not (tmp_path / "out" / "knn.ipynb").exists()
    assert manifest["notebooks"]["softmax"]["status"] == "ok"


def test_a_package_linked_to_the_master_is_refused_not_copied(tmp_path, master):
    write_nb(tmp_path / "in" / "knn.ipynb")
    (tmp_path / "in" / "cs231n").symlink_to(master / "cs231n")
    manifest = collect_submission(tmp_path / "in", tmp_path / "out", EXPECTED)
    assert not os.path.lexists(tmp_path / "out" / "cs231n")
    assert manifest["skipped"] == [
        "cs231n is a symbolic link: the grader does not follow links, so it was not graded "
        "(hand in the file or folder itself, not a link to it)"]


def test_a_notebook_over_the_size_limit_is_refused_and_the_rest_graded(tmp_path):
    from coursekit.untrusted import MB, Limits

    write_nb(tmp_path / "in" / "knn.ipynb", "x = '" + "y" * (2 * MB) + "'")
    write_nb(tmp_path / "in" / "softmax.ipynb")
    limits = Limits(max_notebook_bytes=1 * MB)
    manifest = collect_submission(tmp_path / "in", tmp_path / "out", EXPECTED, limits)
    knn = manifest["notebooks"]["knn"]
    assert knn["status"] == "refused"
    assert knn["message"].startswith("knn.ipynb is 2.0 MB, over the grader's limit of 1.0 MB "
                                     "per notebook: it was not graded; it scores 0 (make it "
                                     "smaller")
    assert manifest["notebooks"]["softmax"]["status"] == "ok"


def test_a_100_mb_notebook_is_refused_under_the_default_limits(tmp_path):
    (tmp_path / "in").mkdir()
    with open(tmp_path / "in" / "knn.ipynb", "wb") as f:
        f.truncate(100 * 2**20)
    manifest = collect_submission(tmp_path / "in", tmp_path / "out", EXPECTED)
    assert manifest["notebooks"]["knn"]["status"] == "refused"
    assert "100.0 MB, over the grader's limit of 20.0 MB" in manifest["notebooks"]["knn"][
        "message"]


def test_fingerprint_changes_with_content(tmp_path):
    write_nb(tmp_path / "a" / "knn.ipynb", "x = 1")
    write_nb(tmp_path / "b" / "knn.ipynb", "x = 2")
    fa = collect_submission(tmp_path / "a", tmp_path / "oa", EXPECTED)["fingerprint"]
    fa2 = collect_submission(tmp_path / "a", tmp_path / "oa2", EXPECTED)["fingerprint"]
    fb = collect_submission(tmp_path / "b", tmp_path / "ob", EXPECTED)["fingerprint"]
    assert fa == fa2 != fb



def test_cells_saved_without_ids_get_the_same_ids_on_every_collection(tmp_path):
    """A format 4.5 notebook saved without cell ids: nbformat invents random ones when it
    reads it. The collected copy (and so the fingerprint a rerun compares) must not change
    between two collections of the same files."""
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
          "cells": [{"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": [],
                     "execution_count": None},
                    {"cell_type": "markdown", "metadata": {}, "source": "text"},
                    {"cell_type": "code", "id": "collected-0", "metadata": {},
                     "source": "y = 2", "outputs": [], "execution_count": None}]}
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "knn.ipynb").write_text(json.dumps(nb))
    first = collect_submission(tmp_path / "a", tmp_path / "o1", EXPECTED)
    second = collect_submission(tmp_path / "a", tmp_path / "o2", EXPECTED)
    assert first["fingerprint"] == second["fingerprint"]
    ids = [c.id for c in nbformat.read(str(tmp_path / "o1" / "knn.ipynb"), as_version=4).cells]
    assert len(set(ids)) == 3 and ids[2] == "collected-0"  # a saved id is kept, none repeated
    nbformat.validate(nbformat.read(str(tmp_path / "o2" / "knn.ipynb"), as_version=4))


GIVEN = ("pkg/given.py", "pkg/sub/also_given.py")


@pytest.fixture
def course_root(tmp_path):
    root = tmp_path / "course"
    for rel in GIVEN:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"# the course's {rel}\n")
    return root


def test_given_files_replace_a_students_edited_copy_and_say_so(tmp_path, course_root):
    sub = tmp_path / "sub"
    (sub / "pkg" / "sub").mkdir(parents=True)
    (sub / "pkg" / "given.py").write_text("def grading_mode():\n    return False\n")
    (sub / "pkg" / "student.py").write_text("x = 1\n")
    notices = install_given_files(course_root, sub, GIVEN)
    for rel in GIVEN:
        assert (sub / rel).read_text() == (course_root / rel).read_text()
    assert (sub / "pkg" / "student.py").read_text() == "x = 1\n"
    assert len(notices) == 2
    assert "pkg/given.py" in notices[0] and "differs" in notices[0]
    assert "pkg/sub/also_given.py" in notices[1] and "missing" in notices[1]


def test_given_files_identical_to_the_course_give_no_notice(tmp_path, course_root):
    sub = tmp_path / "sub"
    for rel in GIVEN:
        (sub / rel).parent.mkdir(parents=True, exist_ok=True)
        (sub / rel).write_text((course_root / rel).read_text())
    assert install_given_files(course_root, sub, GIVEN) == []


def test_given_files_replace_a_symlink_without_writing_through_it(tmp_path, course_root):
    sub = tmp_path / "sub"
    (sub / "pkg" / "sub").mkdir(parents=True)
    outside = tmp_path / "outside.py"
    outside.write_text("keep me\n")
    (sub / "pkg" / "given.py").symlink_to(outside)
    install_given_files(course_root, sub, GIVEN)
    assert outside.read_text() == "keep me\n"
    assert not (sub / "pkg" / "given.py").is_symlink()


def test_a_submission_without_the_package_gets_no_given_files(tmp_path, course_root):
    sub = tmp_path / "sub"
    sub.mkdir()
    assert install_given_files(course_root, sub, GIVEN) == []
    assert not (sub / "pkg").exists()


def test_a_given_file_missing_from_the_course_is_an_instructor_error(tmp_path, course_root):
    (tmp_path / "sub" / "pkg").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="pkg/gone.py"):
        install_given_files(course_root, tmp_path / "sub", ("pkg/gone.py",))
