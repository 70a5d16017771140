"""Loading CIFAR-10 (the official "python version" batches) for the notebooks and the tests.

In grading mode (notebook_utils.grading_mode) the notebooks use only the first images of each
split, so load_CIFAR10 gives them just those: the grading subset, read from .npy files prepared
once per dataset (by the grader before your notebooks run, or by your own first grading-mode
run, as check.py does). Same images, same values, a fraction of the time.
"""
import hashlib
import io
import json
import os
import pickle
import shutil
import tempfile

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


# The grading subset: the first GRADING_TRAIN_IMAGES training and the first GRADING_TEST_IMAGES
# test images, as many as any notebook takes in grading mode (notebook_utils._SIZES: training
# + validation, and test; tests/package/test_grading_subset.py checks that they suffice).
GRADING_TRAIN_IMAGES = 1200
GRADING_TEST_IMAGES = 200
SUBSET_ARRAYS = ("X_train", "y_train", "X_test", "y_test")
# What the grader adds to it: the features of its training and test images that features.ipynb
# uses in grading mode (notebook_utils.grading_features), made with the course's features.py.
GRADING_FEATURES = ("features_train", "features_test")
# The folder of prepared subsets: the grader's (read-only for the notebooks) when this variable
# names one, else a folder of your own user's cache, filled on first use.
GRADING_CACHE_ENV = "CS231N_GRADING_CACHE"
MANIFEST = "manifest.json"
_FINGERPRINT_BYTES = 1 << 16  # read at each end of every batch file


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
    Load CIFAR-10 from the folder ROOT (a cifar-10-batches-py folder): all of it, or in grading
    mode its first GRADING_TRAIN_IMAGES training and GRADING_TEST_IMAGES test images (the
    grading subset, load_grading_subset).

    Returns a tuple of:
    - Xtr: float64 array of shape (N_train, 32, 32, 3), the training images (data_batch_1..5).
    - Ytr: integer array of shape (N_train,), the training labels.
    - Xte: float64 array of shape (N_test, 32, 32, 3), the test images (test_batch).
    - Yte: integer array of shape (N_test,), the test labels.
    """
    from cs231n.notebook_utils import grading_mode  # it imports this module

    if grading_mode():
        return load_grading_subset(ROOT)
    return load_all_CIFAR10(ROOT)


def load_all_CIFAR10(ROOT):
    """
    Load all of CIFAR-10 from the folder ROOT (a cifar-10-batches-py folder), in any mode.

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
    *train, test = _batch_files(ROOT)
    batches = [load_CIFAR_batch(path) for path in train]
    Xtr = np.concatenate([X for X, _ in batches])
    Ytr = np.concatenate([Y for _, Y in batches])
    Xte, Yte = load_CIFAR_batch(test)
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


# --- the grading subset ---------------------------------------------------------------------

def _batch_files(ROOT):
    return [os.path.join(ROOT, f"data_batch_{b}") for b in range(1, 6)] + \
        [os.path.join(ROOT, "test_batch")]


def dataset_fingerprint(ROOT):
    """
    A short hex digest naming the dataset in ROOT: each batch file's name, size, modification
    time and first and last 64 KiB. A dataset that changes gets another fingerprint, so a
    prepared subset is never served for a dataset it was not made from.
    """
    digest = hashlib.sha256()
    for path in _batch_files(ROOT):
        name = os.path.basename(path)
        st = os.stat(path)
        digest.update(f"{name}:{st.st_size}:{st.st_mtime_ns}:".encode())
        with open(path, "rb") as f:
            digest.update(f.read(_FINGERPRINT_BYTES))
            f.seek(max(0, st.st_size - _FINGERPRINT_BYTES))
            digest.update(f.read(_FINGERPRINT_BYTES))
    return digest.hexdigest()[:20]


def user_cache_dir():
    """Where your own grading-mode runs keep the subsets they prepare."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "cs231n-a1", "grading-subsets")


def subset_dir(ROOT, cache_dir):
    """The folder of the grading subset of the dataset in ROOT, inside cache_dir."""
    return os.path.join(cache_dir, f"cifar10-{dataset_fingerprint(ROOT)}")


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def grading_subset(ROOT):
    """The grading subset of the dataset in ROOT, loaded whole and cut: {name: array}."""
    X_all, y_all, X_test, y_test = load_all_CIFAR10(ROOT)
    return {"X_train": X_all[:GRADING_TRAIN_IMAGES].copy(),
            "y_train": y_all[:GRADING_TRAIN_IMAGES].copy(),
            "X_test": X_test[:GRADING_TEST_IMAGES].copy(),
            "y_test": y_test[:GRADING_TEST_IMAGES].copy()}


def write_grading_subset(ROOT, cache_dir, arrays):
    """Keep `arrays` (grading_subset(ROOT), and more arrays the grader adds) as the prepared
    subset of the dataset in ROOT, in subset_dir(ROOT, cache_dir); returns the folder."""
    folder = subset_dir(ROOT, cache_dir)
    write_array_folder(folder, arrays, dataset_fingerprint(ROOT))
    return folder


def read_grading_subset(ROOT, cache_dir, names=SUBSET_ARRAYS):
    """The arrays `names` of the prepared subset of the dataset in ROOT: {name: array}
    (read_array_folder says what it raises)."""
    return read_array_folder(subset_dir(ROOT, cache_dir), names, dataset_fingerprint(ROOT))


class DamagedSubset(ValueError):
    """Prepared arrays that are incomplete, changed or made from another dataset."""


def write_array_folder(folder, arrays, fingerprint, info=None):
    """
    Write `arrays` (name -> array) as folder/<name>.npy, with a manifest holding `fingerprint`
    (what they were made from), each file's size and digest, and `info` (plain data).

    Written in a temporary folder beside it and renamed into place, replacing what was there:
    a reader never sees half of it.
    """
    parent = os.path.dirname(os.path.abspath(folder))
    os.makedirs(parent, exist_ok=True)
    partial = tempfile.mkdtemp(prefix=".partial-", dir=parent)
    try:
        manifest = {"fingerprint": fingerprint, "info": info or {}, "arrays": {}}
        for name, array in arrays.items():
            path = os.path.join(partial, name + ".npy")
            np.save(path, np.ascontiguousarray(array), allow_pickle=False)
            os.chmod(path, 0o644)  # whatever the umask: the grader's kernels read them
            with open(path, "rb") as f:
                data = f.read()
            manifest["arrays"][name] = {"size": len(data), "sha256": _sha256(data)}
        with open(os.path.join(partial, MANIFEST), "w") as f:
            json.dump(manifest, f, indent=1)
        os.chmod(os.path.join(partial, MANIFEST), 0o644)
        os.chmod(partial, 0o755)  # mkdtemp makes it 0700: the grader's kernels read it
        if os.path.isdir(folder):
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.rename(partial, folder)
        except OSError:
            if not os.path.isdir(folder):  # else another run wrote it just now: keep theirs
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def read_manifest(folder, fingerprint):
    """The manifest of an array folder; FileNotFoundError when there is none, DamagedSubset
    when it is unreadable or made from something else than `fingerprint`."""
    path = os.path.join(folder, MANIFEST)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"nothing prepared in {folder}")
    try:
        with open(path) as f:
            manifest = json.load(f)
        manifest["arrays"].items()
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DamagedSubset(f"{path} is unreadable ({exc})") from None
    if manifest.get("fingerprint") != fingerprint:
        raise DamagedSubset(f"{folder} was prepared from another dataset")
    return manifest


def read_array_folder(folder, names, fingerprint, mmap=False):
    """
    The arrays `names` of an array folder (write_array_folder): {name: array}.

    Each file is checked against its manifest: its digest, or with `mmap` (arrays mapped
    read-only from the files, shared by every process that maps them) only its size. Raises
    FileNotFoundError when nothing is prepared there, DamagedSubset when what is there is
    incomplete, corrupt or made from another dataset.
    """
    manifest = read_manifest(folder, fingerprint)
    out = {}
    for name in names:
        path = os.path.join(folder, name + ".npy")
        expected = manifest["arrays"].get(name)
        if not isinstance(expected, dict):
            raise DamagedSubset(f"{folder} holds no {name}")
        try:
            if mmap:
                if os.path.getsize(path) != expected.get("size"):
                    raise DamagedSubset(f"{path} is incomplete or changed")
                out[name] = np.load(path, mmap_mode="r", allow_pickle=False)
                continue
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise DamagedSubset(f"{path} cannot be read ({exc.strerror or exc})") from None
        except ValueError as exc:
            raise DamagedSubset(f"{path} is not a valid array file ({exc})") from None
        if _sha256(data) != expected.get("sha256"):
            raise DamagedSubset(f"{path} is incomplete or changed")
        out[name] = np.load(io.BytesIO(data), allow_pickle=False)
    return out


def load_grading_subset(ROOT):
    """
    The grading subset of CIFAR-10 in ROOT, as (Xtr, Ytr, Xte, Yte) like load_CIFAR10.

    Read from the grader's prepared subsets when $CS231N_GRADING_CACHE names their folder
    (never written here: the grader prepares them before the notebooks run), else from your
    own cache (user_cache_dir), which the first grading-mode run outside nbgrader fills. When
    no subset can be read, the whole dataset is loaded and cut: the same images, only slower.
    """
    grader_cache = os.environ.get(GRADING_CACHE_ENV)
    cache_dir = grader_cache or user_cache_dir()
    may_prepare = not grader_cache and not os.environ.get("NBGRADER_EXECUTION")
    if all(os.path.isfile(path) for path in _batch_files(ROOT)):
        try:
            return _subset_tuple(read_grading_subset(ROOT, cache_dir))
        except FileNotFoundError:
            pass
        except (DamagedSubset, OSError) as exc:
            print(f"load_CIFAR10: the prepared grading subset is not usable ({exc}); "
                  + ("preparing it again." if may_prepare else
                     "loading the whole dataset instead (the same images, slower)."))
        if may_prepare:
            try:
                write_grading_subset(ROOT, cache_dir, grading_subset(ROOT))
                return _subset_tuple(read_grading_subset(ROOT, cache_dir))
            except (DamagedSubset, OSError) as exc:  # a full disk, a read-only home
                print(f"load_CIFAR10: could not keep the grading subset in {cache_dir} "
                      f"({exc}); grading mode works all the same, only slower.")
    return _subset_tuple(grading_subset(ROOT))  # which says what is missing, if anything


def _subset_tuple(arrays):
    return tuple(arrays[name] for name in SUBSET_ARRAYS)
