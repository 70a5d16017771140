"""Grading of the saved models (cs231n/saved/*.npy) on the CIFAR-10 validation and test images.

The model files are pickled dictionaries, so they are opened only in the sandboxed worker, which
sends back their numeric arrays. Everything else happens here, with trusted code: the data and
its preprocessing (the master's data_utils and features, loaded from the repository, never the
submission's), the forward pass and the accuracy. The labels never leave this process.

Used by grading/hidden/test_saved_models.py; grading/hidden/models.toml lists the models (file,
kind, preprocessing, target accuracy, ceiling, points). Preprocessing follows the notebooks:
- raw, linear models (softmax.ipynb): rows of channels-last pixels minus the mean training row;
- raw, networks (two_layer_net.ipynb, get_CIFAR10_data): channels-first rows minus the mean;
- features (features.ipynb): HOG + 25-bin hue histogram, minus the training features' mean and
  divided by their std. The features of the training set take a while (about 25 s for 49000
  images), so every input is prepared once per dataset in the grading cache
  (coursekit/autograde/grading_cache.py) and memory-mapped by each grading process.
A bias column of ones is appended when the first weight matrix has one row more than the inputs.
Points scale linearly from chance (0.10) to the model's target accuracy.

Every model is scored on the test images and on the notebooks' validation split. A model fitted
to the public test images (least squares on them needs no training at all) does much better on
them than on the validation images, or better than its kind of model reaches when trained: such
a model is held for review (status "review", 0 points until the instructor releases them; see
`review_reason` and docs/grading.md).
"""

import math
import tomllib
from pathlib import Path

import numpy as np

from coursekit.grader.context import CheckFailed
from coursekit.grader.master import HIDDEN_DIR, REPO_ROOT, master_module
from coursekit.grader.worker import Junk

CHANCE = 0.10
# The notebooks' split of the 50000 training images: the first 49000 train, the next 1000 are
# the validation images; the first 1000 test images are the test set.
NUM_TRAIN = 49000
NUM_VAL = 1000
NUM_TEST = 1000
# The size of the whole CIFAR-10: the ceilings of models.toml are accuracies on it.
CIFAR10_SIZES = (50000, 10000)
DEFAULT_DATASET_DIR = REPO_ROOT / "cs231n" / "datasets" / "cifar-10-batches-py"

# How far test accuracy may exceed validation accuracy before a model is held for review, in
# standard errors of the difference. An honest model's two accuracies differ by sampling only:
# with n_val and n_test images the difference has a standard error of at most
# 0.5 * sqrt(1/n_val + 1/n_test) (accuracy 0.5 is the worst case), 0.022 for 1000 and 1000. 2.5
# of them is 0.056 on CIFAR-10: an untuned model passes it by chance about once in 160, a model
# picked on the validation split (every best_* model) more rarely still, as picking favours
# validation. The master's five models differ by at most 0.003 (README results); least squares
# on the test images differs by 0.28 (features) to 0.87 (pixels).
REVIEW_STANDARD_ERRORS = 2.5

MODELS_FILE = "models.toml"


def load_models(hidden_dir=HIDDEN_DIR):
    """The saved models graded, from grading/hidden/models.toml: {name: spec}."""
    return tomllib.loads((Path(hidden_dir) / MODELS_FILE).read_text())["models"]


def dataset_dir(cifar_dir=None):
    """The CIFAR-10 folder of the saved models: `cifar_dir`, else the course's own copy. The
    callers' edges ($CS231N_CIFAR10_DIR: `coursekit grade-module`, `pytest grading/hidden`,
    `coursekit autograde`) decide what to pass; nothing here reads the environment."""
    return Path(cifar_dir) if cifar_dir else DEFAULT_DATASET_DIR


def split_sizes(num_images):
    """(training, validation) images of a training set of num_images: the notebooks' 49000 and
    1000 on CIFAR-10; a smaller set (synthetic data) keeps its last fifth for validation."""
    if num_images >= NUM_TRAIN + NUM_VAL:
        return NUM_TRAIN, NUM_VAL
    num_val = num_images // 5
    return num_images - num_val, num_val


def gap_limit(num_val, num_test):
    """How much higher than validation accuracy test accuracy may be without a review."""
    return REVIEW_STANDARD_ERRORS * 0.5 * math.sqrt(1 / num_val + 1 / num_test)


def feature_functions():
    """The feature functions of features.ipynb, from the course's cs231n/features.py: HOG and a
    25-bin hue histogram."""
    features = master_module("features")
    return [features.hog_feature, lambda im: features.color_histogram_hsv(im, nbin=25)]


SPLITS = ("val", "test")
# The prepared inputs: labels-<split>, raw-<linear|two_layer>-<split>, features-<split>.
INPUT_NAMES = tuple(f"{what}-{split}" for what in ("labels", "raw-linear", "raw-two_layer",
                                                   "features") for split in SPLITS)


def model_inputs(root):
    """({name: array} of INPUT_NAMES, {"full": bool}) of the CIFAR-10 in `root`, computed with
    the course's own data_utils and features (minutes on the whole CIFAR-10: the features of
    the 49000 training images)."""
    X_all, y_all, X_test, y_test = master_module("data_utils").load_all_CIFAR10(str(root))
    full = (len(X_all), len(X_test)) == CIFAR10_SIZES
    num_train, num_val = split_sizes(len(X_all))
    train = X_all[:num_train]
    images = {"val": (X_all[num_train:num_train + num_val], y_all[num_train:num_train + num_val]),
              "test": (X_test[:NUM_TEST], y_test[:NUM_TEST])}
    mean_image = train.mean(axis=0)
    extract = master_module("features").extract_features
    train_feats = extract(train, feature_functions())
    mean_feat, std_feat = train_feats.mean(axis=0), train_feats.std(axis=0)
    out = {}
    for split, (X, y) in images.items():
        centered = X - mean_image
        out[f"labels-{split}"] = y
        out[f"raw-linear-{split}"] = centered.reshape(len(X), -1)
        out[f"raw-two_layer-{split}"] = centered.transpose(0, 3, 1, 2).reshape(len(X), -1)
        out[f"features-{split}"] = (extract(X, feature_functions()) - mean_feat) / std_feat
    return out, {"full": full}


# (dataset folder, cache folder) -> (arrays, info): read once per process, shared by every
# submission it grades.
_SHARED = {}


def shared_inputs(root, cache_root=None):
    """({name: array}, info) of the saved models' inputs of the CIFAR-10 in `root`: memory-mapped
    from the grading cache (coursekit/autograde/grading_cache.py), prepared there first when
    missing or damaged; once per process."""
    from coursekit.autograde import grading_cache

    key = (str(Path(root).resolve()), str(grading_cache.model_cache_dir(root, cache_root)))
    if key not in _SHARED:
        damaged = grading_cache.data_utils().DamagedSubset
        try:
            _SHARED[key] = grading_cache.read_model_inputs(root, INPUT_NAMES, cache_root)
        except (FileNotFoundError, damaged):
            arrays, info = model_inputs(root)
            try:
                grading_cache.write_model_inputs(root, arrays, info, cache_root)
                _SHARED[key] = grading_cache.read_model_inputs(root, INPUT_NAMES, cache_root)
            except (OSError, damaged):
                _SHARED[key] = arrays, info  # a read-only checkout grades all the same
    return _SHARED[key]


class CifarImages:
    """The validation and test inputs of each preprocessing and their labels (shared_inputs).

    split: "val" (training images NUM_TRAIN.. of the notebooks) or "test" (the first NUM_TEST).
    """

    SPLITS = SPLITS

    def __init__(self, root, cache_root=None):
        self.root = Path(root)
        self.cache_root = cache_root
        self.full = False  # the whole CIFAR-10, known once loaded

    def _input(self, name):
        arrays, info = shared_inputs(self.root, self.cache_root)
        self.full = bool(info.get("full"))
        return arrays[name]

    def labels(self, split):
        return self._input(f"labels-{split}")

    def inputs(self, preprocessing, kind, split):
        """The inputs of `split` as `preprocessing` ("raw" or "features") makes them for a
        model of `kind`."""
        if preprocessing == "raw":
            return self._input(f"raw-{'two_layer' if kind == 'two_layer' else 'linear'}-{split}")
        return self._input(f"features-{split}")


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


def review_reason(val_accuracy, test_accuracy, num_val, num_test, ceiling=None):
    """Why a model with these accuracies is held for review, for the instructor; "" if it is not.

    Held: test accuracy above validation accuracy by more than gap_limit (a model fitted to the
    test images), or above `ceiling`, the most its kind of model reaches when trained (None: no
    ceiling, as on a dataset other than CIFAR-10, where the ceilings mean nothing).
    """
    reasons = []
    gap = test_accuracy - val_accuracy
    if num_val and num_test and gap > gap_limit(num_val, num_test):
        reasons.append(f"test accuracy {gap:.3f} above validation accuracy (limit "
                       f"{gap_limit(num_val, num_test):.3f})")
    if ceiling is not None and test_accuracy > ceiling:
        reasons.append(f"test accuracy above {ceiling:.2f}, the ceiling of this kind of model")
    return "; ".join(reasons)


def score_model(params, data, spec):
    """Score a model's parameters: (message, details) when it earns every point, else
    CheckFailed with the share earned; status "review" (0 points, the share kept in details)
    when review_reason holds it."""
    accuracies = {}
    for split in data.SPLITS:
        try:
            predicted = predict(params, spec["kind"],
                                data.inputs(spec["preprocessing"], spec["kind"], split))
        except ValueError as exc:
            raise CheckFailed(f"cs231n/saved/{spec['file']}: {exc}") from None
        accuracies[split] = float(np.mean(predicted == data.labels(split)))
    val, test = accuracies["val"], accuracies["test"]
    fraction = accuracy_points(test, spec["target"])
    earned = fraction * spec["points"]
    reason = review_reason(val, test, len(data.labels("val")), len(data.labels("test")),
                           spec["ceiling"] if data.full else None)
    details = {"validation": val, "test": test, "earned": round(earned, 4)}
    accuracy = f"validation accuracy {val:.3f}, test accuracy {test:.3f}"
    if reason:
        details["reason"] = reason
        # Neutral on purpose: what is checked is said in the notebooks, the limits are not.
        raise CheckFailed(f"{accuracy}: held for review. Saved models are checked on the "
                          "validation and the test images, and this one's accuracies are "
                          "unusual for its kind of model, so your instructor looks at it before "
                          f"its points count (on accuracy alone, {earned:.2f} of "
                          f"{spec['points']:g}).", "review", 0.0, details)
    message = (f"{accuracy} (full points from {spec['target']:.2f} test accuracy, none at "
               f"chance {CHANCE:.2f}): {earned:.2f} of {spec['points']:g} points")
    if fraction < 1.0:
        raise CheckFailed(message, "partial" if fraction > 0 else "failed", fraction, details)
    return message, details


def judge_model(student, data, spec):
    """Score a saved model on the validation and the test images (score_model): passes, or
    CheckFailed with the share earned."""
    student.message, student.details = score_model(load_saved_model(student, spec["file"]),
                                                   data, spec)
