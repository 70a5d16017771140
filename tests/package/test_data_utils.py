"""load_CIFAR_batch / load_CIFAR10 / get_CIFAR10_data on synthetic batches in both pickle styles."""
import os
import pickle

import numpy as np
import pytest

import cs231n.data_utils as data_utils
from coursekit.synthetic import write_synthetic_cifar10
from cs231n.data_utils import get_CIFAR10_data, get_CIFAR10_dir, load_CIFAR10

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = "CS231N_CIFAR10_DIR"


@pytest.fixture(scope="module", params=["str", "bytes"])
def cifar_dir(request, tmp_path_factory):
    """Synthetic CIFAR-10 (500 train, 100 test) with str keys, then with bytes keys."""
    dest = tmp_path_factory.mktemp(f"cifar_{request.param}")
    return write_synthetic_cifar10(dest, num_train=500, num_test=100, seed=3,
                                   key_style=request.param)


def raw_batch(path):
    """The batch as stored: (uint8 rows of 3072, list of labels), whatever the key style."""
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    return batch["data"], batch["labels"]


def test_synthetic_batches_have_the_key_style_asked_for(cifar_dir):
    with open(os.path.join(cifar_dir, "data_batch_1"), "rb") as f:
        keys = set(pickle.load(f, encoding="latin1"))
    assert keys in ({"data", "labels", "batch_label", "filenames"},
                    {b"data", b"labels", b"batch_label", b"filenames"})


def test_load_CIFAR10_returns_float64_images_and_integer_labels(cifar_dir):
    Xtr, Ytr, Xte, Yte = load_CIFAR10(cifar_dir)
    assert Xtr.shape == (500, 32, 32, 3) and Xte.shape == (100, 32, 32, 3)
    assert Xtr.dtype == np.float64 and Xte.dtype == np.float64
    assert Ytr.shape == (500,) and Yte.shape == (100,)
    assert np.issubdtype(Ytr.dtype, np.integer) and np.issubdtype(Yte.dtype, np.integer)
    assert Xtr.min() >= 0 and Xtr.max() <= 255


def test_load_CIFAR10_keeps_batch_order_and_plane_layout(cifar_dir):
    Xtr, Ytr, Xte, Yte = load_CIFAR10(cifar_dir)
    batches = [raw_batch(os.path.join(cifar_dir, f"data_batch_{b}")) for b in range(1, 6)]
    rows = np.concatenate([data for data, _ in batches])
    np.testing.assert_array_equal(Ytr, [label for _, labels in batches for label in labels])
    # Pixel (r, c) of channel ch sits at ch * 1024 + r * 32 + c of a row.
    for i, r, c, ch in [(0, 0, 0, 0), (7, 3, 30, 1), (499, 31, 5, 2), (250, 17, 17, 2)]:
        assert Xtr[i, r, c, ch] == rows[i, ch * 1024 + r * 32 + c]
    test_rows, test_labels = raw_batch(os.path.join(cifar_dir, "test_batch"))
    np.testing.assert_array_equal(Yte, test_labels)
    assert Xte[42, 9, 1, 1] == test_rows[42, 1024 + 9 * 32 + 1]


def test_missing_dataset_folder_names_the_folder_and_how_to_fetch_it(tmp_path):
    missing = str(tmp_path / "nowhere" / "cifar-10-batches-py")
    with pytest.raises(FileNotFoundError) as err:
        load_CIFAR10(missing)
    message = str(err.value)
    assert missing in message
    assert "cd cs231n/datasets && bash get_datasets.sh" in message
    assert ENV in message


def test_missing_batch_file_is_named(tmp_path):
    folder = write_synthetic_cifar10(tmp_path, num_train=10, num_test=5)
    os.remove(os.path.join(folder, "data_batch_4"))
    with pytest.raises(FileNotFoundError, match="data_batch_4"):
        load_CIFAR10(folder)


def test_dataset_folder_defaults_to_the_package_datasets_folder(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    expected = os.path.join(REPO, "cs231n", "datasets", "cifar-10-batches-py")
    assert os.path.realpath(get_CIFAR10_dir()) == os.path.realpath(expected)


def test_environment_variable_overrides_the_dataset_folder(monkeypatch, synthetic_cifar_dir):
    monkeypatch.setenv(ENV, synthetic_cifar_dir)
    assert get_CIFAR10_dir() == synthetic_cifar_dir
    data = get_CIFAR10_data(num_training=400, num_validation=100, num_test=100)
    assert data["X_train"].shape == (400, 3, 32, 32)


def test_get_CIFAR10_data_without_dataset_explains_how_to_fetch_it(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    missing = str(tmp_path / "cifar-10-batches-py")
    monkeypatch.setattr(data_utils, "DEFAULT_CIFAR10_DIR", missing)
    with pytest.raises(FileNotFoundError) as err:
        get_CIFAR10_data()
    assert missing in str(err.value) and "get_datasets.sh" in str(err.value)


def test_get_CIFAR10_data_splits_subtracts_train_mean_and_puts_channels_first(
    cifar_dir, monkeypatch
):
    monkeypatch.setenv(ENV, cifar_dir)
    Xtr, Ytr, Xte, Yte = load_CIFAR10(cifar_dir)
    data = get_CIFAR10_data(num_training=350, num_validation=100, num_test=60)

    assert sorted(data) == ["X_test", "X_train", "X_val", "y_test", "y_train", "y_val"]
    assert data["X_train"].shape == (350, 3, 32, 32)
    assert data["X_val"].shape == (100, 3, 32, 32)
    assert data["X_test"].shape == (60, 3, 32, 32)
    np.testing.assert_array_equal(data["y_train"], Ytr[:350])
    np.testing.assert_array_equal(data["y_val"], Ytr[350:450])
    np.testing.assert_array_equal(data["y_test"], Yte[:60])

    mean = Xtr[:350].mean(axis=0)
    np.testing.assert_allclose(data["X_train"], (Xtr[:350] - mean).transpose(0, 3, 1, 2))
    np.testing.assert_allclose(data["X_val"], (Xtr[350:450] - mean).transpose(0, 3, 1, 2))
    np.testing.assert_allclose(data["X_test"], (Xte[:60] - mean).transpose(0, 3, 1, 2))
    assert np.abs(data["X_train"].mean(axis=0)).max() < 1e-9


def test_get_CIFAR10_data_can_keep_raw_pixels(synthetic_cifar_dir, monkeypatch):
    monkeypatch.setenv(ENV, synthetic_cifar_dir)
    Xtr, _, _, _ = load_CIFAR10(synthetic_cifar_dir)
    data = get_CIFAR10_data(num_training=100, num_validation=10, num_test=10,
                            subtract_mean=False)
    np.testing.assert_array_equal(data["X_val"], Xtr[100:110].transpose(0, 3, 1, 2))


def test_get_CIFAR10_data_does_not_change_the_loaded_arrays_between_calls(
    synthetic_cifar_dir, monkeypatch
):
    monkeypatch.setenv(ENV, synthetic_cifar_dir)
    first = get_CIFAR10_data(num_training=300, num_validation=50, num_test=20)
    second = get_CIFAR10_data(num_training=300, num_validation=50, num_test=20)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])


def test_get_CIFAR10_data_asking_for_too_many_images_says_how_many_there_are(
    synthetic_cifar_dir, monkeypatch
):
    monkeypatch.setenv(ENV, synthetic_cifar_dir)
    with pytest.raises(ValueError, match="49000.*500"):
        get_CIFAR10_data()


@pytest.mark.parametrize("module", ["data_utils", "features", "vis_utils"])
def test_given_modules_have_no_python2_leftovers(module):
    with open(os.path.join(REPO, "cs231n", module + ".py")) as f:
        source = f.read()
    for leftover in ("import six", "from six", "from future", "from past", "__future__",
                     "sys.version", "platform.python_version"):
        assert leftover not in source, f"cs231n/{module}.py still has {leftover!r}"
