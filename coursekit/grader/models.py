"""Grading of the saved models (cs231n/saved/*.npy) on the CIFAR-10 test images.

The model files are pickled dictionaries, so they are opened only in the sandboxed worker, which
sends back their numeric arrays. Everything else happens here, with trusted code: the data and
its preprocessing (the master's data_utils and features, loaded from the repository, never the
submission's), the forward pass and the accuracy. The test labels never leave this process.

Used by grading/hidden/test_saved_models.py; grading/hidden/models.toml lists the models (file,
kind, pipeline, target accuracy, points). Preprocessing follows the notebooks:
- raw, linear models (softmax.ipynb): rows of channels-last pixels minus the mean training row;
- raw, networks (two_layer_net.ipynb, get_CIFAR10_data): channels-first rows minus the mean;
- features (features.ipynb): HOG + 25-bin hue histogram, minus the training features' mean and
  divided by their std. The features of the training set take a while (about 40 s for 49000
  images), so their mean/std and the test features are cached in .cache/grader/.
A bias column of ones is appended when the first weight matrix has one row more than the inputs.
Points scale linearly from chance (0.10) to the model's target accuracy.
"""

import hashlib
import os
import tomllib
from pathlib import Path

import numpy as np

from coursekit.grader.context import CheckFailed
from coursekit.grader.master import HIDDEN_DIR, REPO_ROOT, master_module
from coursekit.grader.worker import Junk

CHANCE = 0.10
NUM_TRAIN = 49000
NUM_TEST = 1000
CACHE_DIR = REPO_ROOT / ".cache" / "grader"


MODELS_FILE = "models.toml"


def load_models(hidden_dir=HIDDEN_DIR):
    """The saved models graded, from grading/hidden/models.toml: {name: spec}."""
    return tomllib.loads((Path(hidden_dir) / MODELS_FILE).read_text())["models"]


def dataset_dir(cifar_dir=None):
    if cifar_dir:
        return Path(cifar_dir)
    if os.environ.get("CS231N_CIFAR10_DIR"):
        return Path(os.environ["CS231N_CIFAR10_DIR"])
    return REPO_ROOT / "cs231n" / "datasets" / "cifar-10-batches-py"


class CifarTestSet:
    """The test inputs of each pipeline, computed on first use."""

    def __init__(self, root):
        self.root = Path(root)
        self._raw = None
        self._inputs = {}

    def raw(self):
        if self._raw is None:
            X_train, _, X_test, y_test = master_module("data_utils").load_CIFAR10(str(self.root))
            X_train = X_train[:NUM_TRAIN]
            self._raw = (X_train, X_test[:NUM_TEST], y_test[:NUM_TEST])
        return self._raw

    @property
    def labels(self):
        return self.raw()[2]

    def inputs(self, pipeline, kind):
        key = (pipeline, kind)
        if key not in self._inputs:
            if pipeline == "raw":
                X_train, X_test, _ = self.raw()
                centered = X_test - X_train.mean(axis=0)
                if kind == "two_layer":
                    centered = centered.transpose(0, 3, 1, 2)
                self._inputs[key] = centered.reshape(len(centered), -1)
            else:
                self._inputs[key] = self.features()
        return self._inputs[key]

    def features(self):
        features = master_module("features")
        digest = hashlib.sha256()
        for name in ("test_batch", "data_batch_1", "data_batch_5"):
            st = (self.root / name).stat()
            digest.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
        digest.update(Path(features.__file__).read_bytes())
        cache = CACHE_DIR / f"features-{digest.hexdigest()[:16]}.npz"
        if cache.exists():
            with np.load(cache, allow_pickle=False) as stored:
                return stored["test"]
        X_train, X_test, _ = self.raw()
        fns = [features.hog_feature, lambda im: features.color_histogram_hsv(im, nbin=25)]
        train_feats = features.extract_features(X_train, fns)
        test_feats = features.extract_features(X_test, fns)
        test = (test_feats - train_feats.mean(axis=0)) / train_feats.std(axis=0)
        try:
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            # Written aside and renamed: graders running side by side never read a partial file.
            partial = cache.with_suffix(f".{os.getpid()}.partial.npz")
            np.savez(partial, test=test)
            os.replace(partial, cache)
        except OSError:
            pass  # a read-only checkout grades all the same, only slower next time
        return test


def _with_bias(X, rows):
    if rows == X.shape[1] + 1:
        return np.hstack([X, np.ones((X.shape[0], 1))])
    return X


def predict(params, kind, X):
    """Labels predicted by a saved model; raises ValueError with a student-facing reason."""

    def get(name, ndim):
        value = params.get(name)
        if isinstance(value, Junk) or not isinstance(value, np.ndarray) or value.ndim != ndim:
            raise ValueError(f"the file should hold '{name}', an array with {ndim} dimension(s)")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"'{name}' contains NaN or inf")
        return value

    if kind == "linear":
        W = get("W", 2)
        X = _with_bias(X, W.shape[0])
        if W.shape != (X.shape[1], 10):
            raise ValueError(f"W has shape {W.shape}; for these inputs it should be "
                             f"({X.shape[1]}, 10), or one row more with a bias row")
        return np.argmax(X @ W, axis=1)
    W1, b1, W2, b2 = get("W1", 2), get("b1", 1), get("W2", 2), get("b2", 1)
    X = _with_bias(X, W1.shape[0])
    H = W1.shape[1]
    if W1.shape[0] != X.shape[1] or b1.shape != (H,) or W2.shape != (H, 10) or b2.shape != (10,):
        raise ValueError(f"the shapes W1 {W1.shape}, b1 {b1.shape}, W2 {W2.shape}, b2 "
                         f"{b2.shape} do not fit inputs of {X.shape[1]} values and 10 classes")
    return np.argmax(np.maximum(X @ W1 + b1, 0) @ W2 + b2, axis=1)


def accuracy_points(accuracy, target):
    """The share of a model's points: 0 at chance, 1 from the target accuracy on, linear between."""
    return min(1.0, max(0.0, (accuracy - CHANCE) / (target - CHANCE)))


def load_saved_model(student, file):
    """The numeric arrays of cs231n/saved/<file>, opened in the worker (the file is pickled)."""
    if not (Path(student.sandbox.cwd) / "cs231n" / "saved" / file).is_file():
        raise CheckFailed(f"cs231n/saved/{file} is missing: run the notebook cell that saves it")
    try:
        params = student.request({"op": "load_model", "path": f"cs231n/saved/{file}"},
                                 f"loading cs231n/saved/{file}").value
    except CheckFailed as exc:
        raise CheckFailed(f"cs231n/saved/{file} could not be loaded ({exc})") from None
    if not isinstance(params, dict):
        raise CheckFailed(f"cs231n/saved/{file} does not hold a dictionary")
    return params


def judge_model(student, data, spec):
    """Score a saved model on the test images: passes, or CheckFailed with the share earned."""
    params = load_saved_model(student, spec["file"])
    try:
        predicted = predict(params, spec["kind"], data.inputs(spec["pipeline"], spec["kind"]))
    except ValueError as exc:
        raise CheckFailed(f"cs231n/saved/{spec['file']}: {exc}") from None
    accuracy = float(np.mean(predicted == data.labels))
    fraction = accuracy_points(accuracy, spec["target"])
    message = (f"test accuracy {accuracy:.3f} (full points from {spec['target']:.2f}, none at "
               f"chance {CHANCE:.2f}): {fraction * spec['points']:.2f} of {spec['points']:g} "
               "points")
    if fraction < 1.0:
        raise CheckFailed(message, "partial" if fraction > 0 else "failed", fraction)
    student.message = message
