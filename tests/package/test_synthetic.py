"""coursekit.synthetic: the official CIFAR-10 python format, learnable classes, the CLI."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from coursekit.synthetic import main, write_synthetic_cifar10

BATCHES = [f"data_batch_{b}" for b in range(1, 6)] + ["test_batch"]


def read(path):
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def test_fixture_folder_holds_the_official_files(synthetic_cifar_dir):
    assert os.path.basename(synthetic_cifar_dir) == "cifar-10-batches-py"
    assert sorted(os.listdir(synthetic_cifar_dir)) == sorted(BATCHES + ["batches.meta"])


def test_batches_have_the_official_keys_and_types(synthetic_cifar_dir):
    sizes = []
    for name in BATCHES:
        batch = read(os.path.join(synthetic_cifar_dir, name))
        assert set(batch) == {"batch_label", "labels", "data", "filenames"}
        data, labels = batch["data"], batch["labels"]
        assert isinstance(data, np.ndarray) and data.dtype == np.uint8
        assert data.ndim == 2 and data.shape[1] == 3072
        assert isinstance(labels, list) and all(type(label) is int for label in labels)
        assert len(labels) == len(batch["filenames"]) == len(data)
        assert isinstance(batch["batch_label"], str)
        sizes.append(len(labels))
    assert sizes == [100] * 5 + [100]  # 500 training images over five batches, 100 test


def test_meta_names_the_ten_classes(synthetic_cifar_dir):
    meta = read(os.path.join(synthetic_cifar_dir, "batches.meta"))
    assert meta["label_names"][:3] == ["airplane", "automobile", "bird"]
    assert len(meta["label_names"]) == 10
    assert meta["num_vis"] == 3072 and meta["num_cases_per_batch"] == 100


def test_bytes_key_style_writes_bytes_keys_and_strings(tmp_path):
    folder = write_synthetic_cifar10(tmp_path, num_train=10, num_test=4, key_style="bytes")
    batch = read(os.path.join(folder, "data_batch_1"))
    assert set(batch) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert isinstance(batch[b"filenames"][0], bytes)
    meta = read(os.path.join(folder, "batches.meta"))
    assert meta[b"label_names"][0] == b"airplane"


def test_uneven_training_sizes_are_spread_over_the_five_batches(tmp_path):
    folder = write_synthetic_cifar10(tmp_path, num_train=23, num_test=3)
    sizes = [len(read(os.path.join(folder, name))["labels"]) for name in BATCHES]
    assert sum(sizes[:5]) == 23 and sizes[5] == 3
    assert max(sizes[:5]) - min(sizes[:5]) <= 1


def test_labels_are_balanced_over_the_ten_classes(synthetic_cifar_dir):
    labels = sum((read(os.path.join(synthetic_cifar_dir, name))["labels"]
                  for name in BATCHES[:5]), [])
    assert np.bincount(labels).tolist() == [50] * 10


def test_same_seed_gives_the_same_files_and_another_seed_other_images(tmp_path):
    a = write_synthetic_cifar10(tmp_path / "a", num_train=20, num_test=5, seed=1)
    b = write_synthetic_cifar10(tmp_path / "b", num_train=20, num_test=5, seed=1)
    c = write_synthetic_cifar10(tmp_path / "c", num_train=20, num_test=5, seed=2)
    for name in BATCHES + ["batches.meta"]:
        with open(os.path.join(a, name), "rb") as fa, open(os.path.join(b, name), "rb") as fb:
            assert fa.read() == fb.read()
    assert not np.array_equal(read(os.path.join(a, "test_batch"))["data"],
                              read(os.path.join(c, "test_batch"))["data"])


def test_classes_are_learnable_but_images_are_not_copies(synthetic_cifar_dir):
    def split(names):
        batches = [read(os.path.join(synthetic_cifar_dir, name)) for name in names]
        X = np.concatenate([b["data"] for b in batches]).astype(float)
        y = np.concatenate([b["labels"] for b in batches])
        return X, y

    X_train, y_train = split(BATCHES[:5])
    X_test, y_test = split(BATCHES[5:])
    means = np.stack([X_train[y_train == c].mean(axis=0) for c in range(10)])
    nearest_mean = np.argmin(((X_test[:, None, :] - means[None]) ** 2).sum(axis=2), axis=1)
    assert np.mean(nearest_mean == y_test) > 0.8
    # Images of one class differ: there is noise to average out.
    assert X_train[y_train == 0].std(axis=0).mean() > 10


@pytest.mark.parametrize(
    "kwargs", [{"key_style": "unicode"}, {"num_train": 4}, {"num_test": 0}]
)
def test_bad_arguments_are_refused(tmp_path, kwargs):
    with pytest.raises(ValueError, match="write_synthetic_cifar10"):
        write_synthetic_cifar10(tmp_path, **kwargs)


def test_cli_writes_the_folder_and_prints_its_path(tmp_path, capsys):
    assert main([str(tmp_path), "--num-train", "15", "--num-test", "5", "--key-style",
                 "bytes", "--seed", "3"]) == 0
    folder = capsys.readouterr().out.strip()
    assert folder == os.path.join(str(tmp_path), "cifar-10-batches-py")
    assert len(read(os.path.join(folder, "test_batch"))[b"labels"]) == 5


def test_cli_runs_as_a_module(tmp_path):
    result = subprocess.run([sys.executable, "-m", "coursekit.synthetic", str(tmp_path),
                             "--num-train", "10", "--num-test", "2"],
                            capture_output=True, text=True, check=True)
    assert os.path.isfile(os.path.join(result.stdout.strip(), "batches.meta"))
