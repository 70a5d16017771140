"""Grading mode's subset of CIFAR-10 (cs231n/data_utils.py): the same arrays as the full load cut
the way the notebooks cut it, never stale, never trusted when damaged."""
import os
import pickle

import numpy as np
import pytest

import cs231n.data_utils as data_utils
from coursekit.synthetic import write_synthetic_cifar10
from cs231n import notebook_utils


@pytest.fixture
def cifar(tmp_path):
    """Synthetic CIFAR-10 larger than the grading subset, so the cut is exercised."""
    return write_synthetic_cifar10(tmp_path / "data", num_train=1250, num_test=210, seed=5)


@pytest.fixture
def grading(monkeypatch, tmp_path):
    """Grading mode as check.py runs it (not under nbgrader), with a user cache of its own."""
    monkeypatch.setenv("CS231N_GRADING_MODE", "1")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv(data_utils.GRADING_CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "cs231n-a1" / "grading-subsets"


def test_the_subset_covers_every_notebook_in_grading_mode():
    assert data_utils.GRADING_TRAIN_IMAGES >= notebook_utils.GRADING_MIN_TRAIN
    assert data_utils.GRADING_TEST_IMAGES >= notebook_utils.GRADING_MIN_TEST


def _full(cifar):
    return data_utils.load_all_CIFAR10(cifar)


def test_grading_mode_load_equals_the_full_load_cut(cifar, grading):
    Xtr, ytr, Xte, yte = _full(cifar)
    for attempt in ("first run: prepares", "second run: reads the cache"):
        got = data_utils.load_CIFAR10(cifar)
        for array, expected in zip(got, (Xtr[:1200], ytr[:1200], Xte[:200], yte[:200]),
                                   strict=True):
            assert array.dtype == expected.dtype, attempt
            assert np.array_equal(array, expected), attempt
            assert array.flags.writeable, attempt  # the notebooks subtract the mean in place
    assert len(list(grading.iterdir())) == 1


@pytest.mark.parametrize("notebook", ["two_layer_net", "FullyConnectedNets", "features"])
def test_get_CIFAR10_data_in_grading_mode_equals_normal_mode(cifar, grading, monkeypatch,
                                                            notebook):
    sizes = notebook_utils.run_settings(notebook)
    kw = dict(num_training=sizes.num_training, num_validation=sizes.num_validation,
              num_test=sizes.num_test)
    monkeypatch.setenv(data_utils.CIFAR10_DIR_ENV, str(cifar))
    graded = data_utils.get_CIFAR10_data(**kw)
    monkeypatch.setenv("CS231N_GRADING_MODE", "0")
    normal = data_utils.get_CIFAR10_data(**kw)
    assert sorted(graded) == sorted(normal)
    for key in normal:
        assert graded[key].shape == normal[key].shape and graded[key].dtype == normal[key].dtype
        assert np.array_equal(graded[key], normal[key]), key


def test_the_knn_and_softmax_cuts_are_the_same(cifar, grading):
    """knn.ipynb and softmax.ipynb cut the arrays themselves: the same cut of either load."""
    full, sub = _full(cifar), data_utils.load_CIFAR10(cifar)
    for name in ("knn", "softmax"):
        s = notebook_utils._sizes(name, True)
        n_train, n_val = s["num_training"], s.get("num_validation", 0)
        for a, b in ((full[0], sub[0]), (full[1], sub[1])):
            assert np.array_equal(a[range(n_train)], b[range(n_train)])
            assert np.array_equal(a[range(n_train, n_train + n_val)],
                                  b[range(n_train, n_train + n_val)])
        for a, b in ((full[2], sub[2]), (full[3], sub[3])):
            assert np.array_equal(a[range(s["num_test"])], b[range(s["num_test"])])


def test_a_changed_dataset_is_never_served_stale(cifar, grading):
    data_utils.load_CIFAR10(cifar)
    # Another dataset in the same folder: the labels of data_batch_1 all become 9.
    path = os.path.join(cifar, "data_batch_1")
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="latin1")
    changed = len(batch["labels"])
    batch["labels"] = [9] * changed
    with open(path, "wb") as f:
        pickle.dump(batch, f)
    _, ytr, _, _ = data_utils.load_CIFAR10(cifar)
    assert np.all(ytr[:changed] == 9)
    assert len(list(grading.iterdir())) == 2  # one folder per dataset


@pytest.mark.parametrize("damage", ["truncate", "flip", "manifest", "missing"])
def test_a_damaged_user_cache_is_prepared_again(cifar, grading, capsys, damage):
    expected = _full(cifar)[0][:1200]
    data_utils.load_CIFAR10(cifar)
    folder = data_utils.subset_dir(cifar, str(grading))
    _damage(folder, damage)
    Xtr = data_utils.load_CIFAR10(cifar)[0]
    assert np.array_equal(Xtr, expected)
    assert "preparing it again" in capsys.readouterr().out
    assert data_utils.read_grading_subset(cifar, str(grading))["X_train"].shape == expected.shape


def _damage(folder, damage):
    path = os.path.join(folder, "X_train.npy")
    if damage == "truncate":
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
    elif damage == "flip":
        with open(path, "r+b") as f:
            f.seek(-10, os.SEEK_END)
            f.write(b"\xff" * 10)
    elif damage == "manifest":
        with open(os.path.join(folder, data_utils.MANIFEST), "w") as f:
            f.write("{not json")
    else:
        os.remove(path)


@pytest.mark.parametrize("damage", ["truncate", "flip", "manifest"])
def test_a_damaged_grader_cache_is_ignored_with_a_message(cifar, grading, monkeypatch, capsys,
                                                          tmp_path, damage):
    """Under nbgrader, a damaged grader's cache (read-only for the kernel) costs time only."""
    cache = tmp_path / "grader"
    data_utils.write_grading_subset(cifar, str(cache), data_utils.grading_subset(cifar))
    _damage(data_utils.subset_dir(cifar, str(cache)), damage)
    monkeypatch.setenv(data_utils.GRADING_CACHE_ENV, str(cache))
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    Xtr, ytr, Xte, yte = data_utils.load_CIFAR10(cifar)
    assert np.array_equal(Xtr, _full(cifar)[0][:1200]) and len(Xte) == 200
    assert "loading the whole dataset instead" in capsys.readouterr().out
    assert not grading.exists()  # nothing written anywhere under nbgrader


def test_under_nbgrader_without_a_grader_cache_nothing_is_written(cifar, grading, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    Xtr = data_utils.load_CIFAR10(cifar)[0]
    assert Xtr.shape == (1200, 32, 32, 3)
    assert not grading.exists()


def test_an_unwritable_user_cache_still_grades(cifar, grading, capsys):
    grading.parent.mkdir(parents=True)
    grading.write_text("a file where the folder should be")
    Xtr = data_utils.load_CIFAR10(cifar)[0]
    assert np.array_equal(Xtr, _full(cifar)[0][:1200])
    assert "could not keep the grading subset" in capsys.readouterr().out


def test_normal_mode_loads_everything(cifar, grading, monkeypatch):
    monkeypatch.setenv("CS231N_GRADING_MODE", "0")
    assert len(data_utils.load_CIFAR10(cifar)[0]) == 1250
    assert not grading.exists()
