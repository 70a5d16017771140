"""Loading CIFAR-10 (the official "python version" batches) for the notebooks and the tests."""
import os
import pickle

import numpy as np

# The dataset folder: cs231n/datasets/cifar-10-batches-py unless this variable gives another
# (full path of a cifar-10-batches-py folder).
CIFAR10_DIR_ENV = "CS231N_CIFAR10_DIR"
CIFAR10_SUBDIR = os.path.join("datasets", "cifar-10-batches-py")  # inside cs231n/
DEFAULT_CIFAR10_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), CIFAR10_SUBDIR)
_FETCH_HINT = (
    "Download it with `cd cs231n/datasets && bash get_datasets.sh`, "
    f"or set {CIFAR10_DIR_ENV} to the full path of a cifar-10-batches-py folder."
)


def get_CIFAR10_dir():
    """The CIFAR-10 folder: $CS231N_CIFAR10_DIR if set, else cs231n/datasets/cifar-10-batches-py."""
    return os.environ.get(CIFAR10_DIR_ENV) or DEFAULT_CIFAR10_DIR


def _batch_entry(batch, key):
    # Pickles written by Python 2 and read with encoding='bytes' have bytes keys.
    return batch[key] if key in batch else batch[key.encode("ascii")]


def load_CIFAR_batch(filename):
    """
    Load one CIFAR-10 batch file.

    Returns a tuple of:
    - X: float64 array of shape (n, 32, 32, 3), pixel values 0..255.
    - Y: integer array of shape (n,), labels 0..9.
    """
    if not os.path.isfile(filename):
        raise FileNotFoundError(
            f"load_CIFAR_batch: the CIFAR-10 batch file {filename} does not exist. {_FETCH_HINT}"
        )
    with open(filename, "rb") as f:
        batch = pickle.load(f, encoding="latin1")
    X = np.asarray(_batch_entry(batch, "data"))
    Y = np.array(_batch_entry(batch, "labels"))
    # Each row holds the R plane, then G, then B: (n, 3, 32, 32) -> (n, 32, 32, 3).
    X = X.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float64)
    return X, Y


def load_CIFAR10(ROOT):
    """
    Load all of CIFAR-10 from the folder ROOT (a cifar-10-batches-py folder).

    Returns a tuple of:
    - Xtr: float64 array of shape (N_train, 32, 32, 3), the training images (data_batch_1..5).
    - Ytr: integer array of shape (N_train,), the training labels.
    - Xte: float64 array of shape (N_test, 32, 32, 3), the test images (test_batch).
    - Yte: integer array of shape (N_test,), the test labels.
    """
    if not os.path.isdir(ROOT):
        raise FileNotFoundError(
            f"load_CIFAR10: the CIFAR-10 folder {ROOT} does not exist. {_FETCH_HINT}"
        )
    batches = [load_CIFAR_batch(os.path.join(ROOT, f"data_batch_{b}")) for b in range(1, 6)]
    Xtr = np.concatenate([X for X, _ in batches])
    Ytr = np.concatenate([Y for _, Y in batches])
    Xte, Yte = load_CIFAR_batch(os.path.join(ROOT, "test_batch"))
    return Xtr, Ytr, Xte, Yte


def get_CIFAR10_data(num_training=49000, num_validation=1000, num_test=1000, subtract_mean=True):
    """
    Load CIFAR-10 from get_CIFAR10_dir() and prepare it for the classifiers: the first
    num_training training images for training, the next num_validation for validation and
    the first num_test test images for testing; optionally subtract the mean training image;
    channels first.

    Returns a dict with:
    - X_train: (num_training, 3, 32, 32), y_train: (num_training,)
    - X_val: (num_validation, 3, 32, 32), y_val: (num_validation,)
    - X_test: (num_test, 3, 32, 32), y_test: (num_test,)
    """
    X_all, y_all, X_test_all, y_test_all = load_CIFAR10(get_CIFAR10_dir())
    if num_training + num_validation > len(X_all) or num_test > len(X_test_all):
        raise ValueError(
            f"get_CIFAR10_data: asked for {num_training} training + {num_validation} validation "
            f"and {num_test} test images, but the dataset has {len(X_all)} training and "
            f"{len(X_test_all)} test images"
        )

    def channels_first(X):
        return X.transpose(0, 3, 1, 2).copy()  # (n, 32, 32, 3) -> (n, 3, 32, 32), a new array

    val = slice(num_training, num_training + num_validation)
    data = {
        "X_train": channels_first(X_all[:num_training]),
        "y_train": y_all[:num_training].copy(),
        "X_val": channels_first(X_all[val]),
        "y_val": y_all[val].copy(),
        "X_test": channels_first(X_test_all[:num_test]),
        "y_test": y_test_all[:num_test].copy(),
    }
    del X_all, X_test_all  # about 1.2 GB for the full dataset

    if subtract_mean:
        mean_image = np.mean(data["X_train"], axis=0)
        for split in ("train", "val", "test"):
            data["X_" + split] -= mean_image
    return data
