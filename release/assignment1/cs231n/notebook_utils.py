"""Given code the five notebooks import: run mode, data sizes, dataset check, saving models.

You do not need to change anything in this file.

The notebooks run in one of two modes:

- normal mode (when you work on them): the full CIFAR-10 and the full searches;
- grading mode (when the autograder runs them): a small subset of CIFAR-10 and shorter runs, so
  that every notebook runs in about a minute. nbgrader tells the notebook it is grading it by
  setting NBGRADER_EXECUTION to "autograde" or "validate"; CS231N_GRADING_MODE=1 asks for the
  same mode by hand.

The code you write is the same in both modes: the notebooks read their sizes from
`run_settings(...)`, so write your cells with the variables they define (`num_training`,
`num_iters`, ...) rather than with literal numbers.
"""
import os
import sys
from types import SimpleNamespace

import numpy as np

from cs231n.data_utils import (
    CIFAR10_DIR_ENV,
    CIFAR10_SUBDIR,
    GRADING_CACHE_ENV,
    GRADING_FEATURES,
    DamagedSubset,
    get_CIFAR10_dir,
    read_grading_subset,
)
from cs231n.gradient_check import centered_difference, rel_error
from cs231n.model_io import saved_path

GRADING_ENV = "CS231N_GRADING_MODE"
CIFAR10_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]

# Sizes and budgets of each notebook, as (normal mode, grading mode). Normal mode: the sizes of
# the official notebooks. Grading mode: small enough that each notebook runs in about a minute on
# 2 CPU cores.
_SIZES = {
    "knn": dict(num_training=(5000, 500), num_test=(500, 100)),
    "softmax": dict(num_training=(49000, 1000), num_validation=(1000, 200), num_test=(1000, 200),
                    num_dev=(500, 100), num_iters=(1500, 300)),
    "two_layer_net": dict(num_training=(49000, 1000), num_validation=(1000, 200),
                          num_test=(1000, 200)),
    "features": dict(num_training=(49000, 1000), num_validation=(1000, 200),
                     num_test=(1000, 200), num_iters=(1500, 300)),
    "FullyConnectedNets": dict(num_training=(49000, 1000), num_validation=(1000, 200),
                               num_test=(1000, 200), num_train_optim=(4000, 500)),
}


def _sizes(notebook, grading):
    """The sizes of one notebook in one mode: {"num_training": ..., ...}."""
    return {name: pair[1 if grading else 0] for name, pair in _SIZES[notebook].items()}


# A dataset used in grading mode needs at least this many images (train includes validation).
GRADING_MIN_TRAIN = max(s["num_training"] + s.get("num_validation", 0)
                        for s in (_sizes(notebook, True) for notebook in _SIZES))
GRADING_MIN_TEST = max(_sizes(notebook, True)["num_test"] for notebook in _SIZES)

# What the notebooks handed to save_for_autograder in this session: file name -> parameters.
_recorded = {}


def grading_mode():
    """True when nbgrader grades the notebook (autograde/validate) or CS231N_GRADING_MODE=1."""
    if os.environ.get("NBGRADER_EXECUTION") in ("autograde", "validate"):
        return True
    return os.environ.get(GRADING_ENV, "") == "1"


def run_settings(notebook):
    """
    The data sizes and training budgets of one notebook in the current mode.

    Inputs:
    - notebook: "knn", "softmax", "two_layer_net", "features" or "FullyConnectedNets".

    Returns:
    - A namespace with the sizes (num_training, num_test, ...) and `grading` (bool).
    """
    if notebook not in _SIZES:
        raise ValueError(f"notebook_utils.run_settings: unknown notebook {notebook!r}; "
                         f"expected one of {sorted(_SIZES)}")
    grading = grading_mode()
    settings = _sizes(notebook, grading)
    explain_name_errors()
    if grading:
        print("Grading mode: this run uses a small subset of CIFAR-10 and short searches.")
    return SimpleNamespace(grading=grading, **settings)


def grading_features(notebook="features"):
    """
    The grader's features of a notebook's images in grading mode, or None.

    When the grader prepared them ($CS231N_GRADING_CACHE, computed with the course's own
    cs231n/features.py: HOG and a 25-bin hue histogram of every image), returns
    (train_features, val_features, test_features), one row per image of the notebook's
    training, validation and test sets. Otherwise (normal mode, your own runs, nothing
    prepared) returns None and the notebook computes them itself.
    """
    cache_dir = os.environ.get(GRADING_CACHE_ENV)
    if not grading_mode() or not cache_dir:
        return None
    try:
        arrays = read_grading_subset(get_CIFAR10_dir(), cache_dir, GRADING_FEATURES)
    except (DamagedSubset, OSError) as exc:
        print(f"grading_features: the grader's features are not usable ({exc}); computing "
              "them here instead.")
        return None
    sizes = _sizes(notebook, True)
    train, test = arrays["features_train"], arrays["features_test"]
    num_training, num_validation = sizes["num_training"], sizes["num_validation"]
    return (train[:num_training].copy(),
            train[num_training:num_training + num_validation].copy(),
            test[:sizes["num_test"]].copy())


NAME_ERROR_HINT = ("If {name} comes from an earlier cell, that cell has not run or stopped "
                   "with an error: fix it and run it (and the cells between), then this one")


def _hint_name_error(shell, etype, value, tb, tb_offset=None):
    """IPython handler of NameError: the usual traceback, with what to do in its message."""
    name = getattr(value, "name", None)
    if name and value.args and isinstance(value.args[0], str) \
            and NAME_ERROR_HINT.format(name=name) not in value.args[0]:
        value.args = (f"{value.args[0]}. {NAME_ERROR_HINT.format(name=name)}",)
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def explain_name_errors():
    """In a notebook, a NameError also says what to do (a cell above has not run or failed).

    A student who goes on past a failing cell meets names that cell would have defined; the
    plain "name 'x' is not defined" does not say so. Outside IPython this does nothing.
    """
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    if shell is not None:
        shell.set_custom_exc((NameError,), _hint_name_error)


# Where Colab mounts Google Drive, and the folder of the student's files in it.
COLAB_DRIVE = "/content/drive"
COLAB_MY_DRIVE = os.path.join(COLAB_DRIVE, "My Drive")


class NotebookSetupError(FileNotFoundError):
    """A missing folder or dataset: shown in a notebook as its message alone, no traceback."""

    def _render_traceback_(self):
        # IPython shows these lines instead of a traceback: the message is the whole story.
        return [f"{type(self).__name__}: {self}"]


def _in_colab():
    return "google.colab" in sys.modules


def _holds_package(folder):
    """True when `folder` (any value a student may leave in FOLDERNAME) holds cs231n/."""
    try:
        folder = os.path.expanduser(os.fspath(folder))
    except TypeError:
        return False
    return os.path.isfile(os.path.join(folder, "cs231n", "notebook_utils.py"))


def assignment_folder(foldername=None):
    """
    The assignment folder (the one holding cs231n/) a notebook should work in.

    - In Colab: "/content/drive/My Drive/<foldername>" (Google Drive must be mounted).
    - Elsewhere: `foldername` when it names a folder holding cs231n/.
    - Otherwise (also when the folder above holds no cs231n/, as in grading, where a Drive path
      does not exist): the working folder, when it holds cs231n/.

    Raises NotebookSetupError, saying what to set, when none of these holds cs231n/.
    """
    if _in_colab():
        wanted = os.path.join(COLAB_MY_DRIVE, foldername) if isinstance(foldername, str) \
            else None
    else:
        wanted = foldername
    if wanted is not None and _holds_package(wanted):
        return os.path.abspath(os.path.expanduser(os.fspath(wanted)))
    here = os.getcwd()
    if _holds_package(here):
        if wanted is not None:
            print(f"FOLDERNAME: {wanted} holds no cs231n/ folder; using the working folder.")
        return here
    if _in_colab():
        raise NotebookSetupError(
            f"No assignment folder at {wanted or COLAB_MY_DRIVE}: in the first cell, set "
            "FOLDERNAME to the path of the assignment folder (the one holding cs231n/) inside "
            "your Google Drive, for example FOLDERNAME = 'cs231n/assignment1', and run it again.")
    raise NotebookSetupError(
        f"Neither FOLDERNAME ({foldername!r}) nor the working folder ({here}) holds the cs231n/ "
        "folder: start Jupyter in the assignment folder, or set FOLDERNAME in the first cell to "
        "its full path, and run that cell again.")


def use_assignment_folder(foldername=None):
    """
    Work in the assignment folder, import cs231n from it, and check that CIFAR-10 is there.

    The first cell of every notebook calls this with its FOLDERNAME. It makes
    assignment_folder(foldername) the working folder and the first entry of sys.path (a cs231n
    imported from elsewhere before is dropped, so the next import reads this folder's), then
    checks the dataset: $CS231N_CIFAR10_DIR if set, else <folder>/cs231n/datasets/
    cifar-10-batches-py. Returns the dataset folder; raises NotebookSetupError, saying what to
    do, when a file of it is missing.
    """
    folder = assignment_folder(foldername)
    if os.path.realpath(os.getcwd()) != os.path.realpath(folder):
        os.chdir(folder)
    sys.path[:] = [folder] + [p for p in sys.path if p != folder]
    package = os.path.join(folder, "cs231n")
    here = os.path.dirname(os.path.abspath(__file__))
    if os.path.realpath(here) != os.path.realpath(package):
        for name in [m for m in sys.modules if m == "cs231n" or m.startswith("cs231n.")]:
            del sys.modules[name]
    data_dir = os.environ.get(CIFAR10_DIR_ENV) or os.path.join(package, CIFAR10_SUBDIR)
    print("Assignment folder:", folder)
    return check_cifar10(data_dir)


def check_cifar10(path=None):
    """
    Make sure the CIFAR-10 batches are in `path` (default: $CS231N_CIFAR10_DIR if set, else
    cs231n/datasets/cifar-10-batches-py) and return the path.

    Raises NotebookSetupError (a FileNotFoundError) saying how to get the data when a file is
    missing.
    """
    path = path or get_CIFAR10_dir()
    missing = [name for name in CIFAR10_FILES if not os.path.isfile(os.path.join(path, name))]
    if not missing:
        return path
    if os.environ.get(CIFAR10_DIR_ENV):
        raise NotebookSetupError(
            f"CIFAR-10 not found: {path} (from {CIFAR10_DIR_ENV}) has no {', '.join(missing)}. "
            f"Point {CIFAR10_DIR_ENV} at a complete cifar-10-batches-py folder, or unset it to "
            "use cs231n/datasets/cifar-10-batches-py; then restart Jupyter (the kernel reads it "
            "when Jupyter starts).")
    shell = "!bash" if _in_colab() else "bash"
    where = "in a new cell of this notebook" if _in_colab() else "in a terminal, in the " \
        "assignment folder"
    raise NotebookSetupError(
        f"CIFAR-10 not found: {path} has no {', '.join(missing)}. Download it once (about "
        f"170 MB): {where}, run\n    {shell} cs231n/datasets/get_datasets.sh\n"
        "then run this notebook again from its first cell. (A cifar-10-batches-py folder you "
        f"already have elsewhere: set {CIFAR10_DIR_ENV} to its full path before starting "
        "Jupyter instead.)")


def _params_of(model):
    """The parameters a model saves: the `params` dict of a net, {"W": W} of a linear classifier."""
    if hasattr(model, "params"):
        return model.params
    if getattr(model, "W", None) is not None:
        return {"W": model.W}
    raise ValueError("save_for_autograder: this model has no parameters yet; train it first.")


def save_for_autograder(model, fname):
    """
    Save a trained model in cs231n/saved/<fname> (normal mode), and record that it was saved.

    In grading mode nothing is written: the grader uses the file you submitted in cs231n/saved/,
    and a grading run must never overwrite it.
    """
    params = _params_of(model)
    _recorded[fname] = {key: np.array(value, copy=True) for key, value in params.items()}
    if grading_mode():
        print(f"Grading mode: {fname} not written; the grader uses your submitted "
              f"cs231n/saved/{fname}.")
    else:
        model.save(fname)


def recorded_saves():
    """File name -> parameters of every model handed to save_for_autograder in this session."""
    return dict(_recorded)


def describe_saved_model(fname):
    """
    What cs231n/saved/<fname> holds, as plain data a check can read.

    Returns a dict: `file`, `path`, `saved_here` (the notebook called
    save_for_autograder(model, fname) in this session), `exists`, `shapes` (key -> shape of each
    array in the file, or None when the file holds no dict), `found` (what the file holds, in
    words), `grading` (grading mode) and `same_as_saved` (the file holds exactly the parameters
    saved in this session; None when it cannot tell).
    """
    path = saved_path(fname)
    info = {"file": fname, "path": str(path), "saved_here": fname in _recorded,
            "exists": os.path.isfile(path), "shapes": None, "found": "nothing",
            "grading": grading_mode(), "same_as_saved": None}
    if not info["exists"]:
        return info
    saved = np.load(path, allow_pickle=True).item()
    if not isinstance(saved, dict):
        info["found"] = type(saved).__name__
        return info
    info["found"] = f"a dict with keys {sorted(map(str, saved))}"
    info["shapes"] = {str(key): tuple(int(n) for n in np.shape(value))
                      for key, value in saved.items()}
    if fname in _recorded:
        mine = _recorded[fname]
        info["same_as_saved"] = set(mine) == set(saved) and all(
            np.array_equal(saved[key], value) for key, value in mine.items())
    return info


def check_saved_model(description, shapes):
    """
    Check the model file that the autograder will evaluate; raise AssertionError if wrong.

    `description`: describe_saved_model(fname) (or the file name itself).
    - The notebook must have called save_for_autograder(model, fname) in this session.
    - cs231n/saved/<fname> must exist and hold a dict with the keys and shapes in `shapes`
      (a dict key -> shape tuple; None in a shape matches any size).
    - In normal mode the file must hold exactly the parameters that were just saved; in grading
      mode it is the file you submitted, trained on the full data, so only its form is checked.
    """
    d = describe_saved_model(description) if isinstance(description, str) else description
    assert isinstance(d, dict) and "file" in d, (
        "The description of the saved model is missing: run the given cell above this one.")
    fname, path = d["file"], d.get("path", d["file"])
    assert d.get("saved_here"), (
        f"The notebook did not save {fname}: run the cell that calls "
        f"save_for_autograder(..., {fname!r}).")
    assert d.get("exists"), (
        f"{path} is missing: run the notebook in normal mode (not grading mode) so that it saves "
        f"{fname}, and submit the cs231n/saved/ folder with your notebooks.")
    found = d.get("shapes")
    assert isinstance(found, dict) and set(found) == set(shapes), (
        f"{path} should hold a dict with keys {sorted(shapes)}, found {d.get('found')}.")
    for key, shape in shapes.items():
        got = tuple(found[key])
        ok = len(got) == len(shape) and all(
            s is None or s == g for s, g in zip(shape, got, strict=True))
        assert ok, f"{path}: {key} has shape {got}, expected {shape} (None = any size)."
    if not d.get("grading"):
        assert d.get("same_as_saved"), (
            f"{path} does not hold the model this notebook just saved; run the saving cell "
            "again.")


def sparse_numeric_grad(f, x, num_checks=10, h=1e-5, seed=0):
    """
    Centred-difference estimates of the gradient of f at num_checks random entries of x.

    Returns (index, numeric): index an integer array of shape (num_checks, x.ndim) holding the
    entries, numeric the estimates there. Compare them with an analytic gradient `grad` as
    grad[tuple(index.T)]. x is restored afterwards.
    """
    rng = np.random.default_rng(seed)
    index, numeric = [], []
    for _ in range(num_checks):
        ix = tuple(int(rng.integers(m)) for m in x.shape)
        index.append(ix)
        numeric.append(centered_difference(f, x, ix, h) / (2 * h))
    return np.array(index, dtype=int).reshape(num_checks, x.ndim), np.array(numeric, dtype=float)


def sparse_grad_errors(f, x, analytic_grad, num_checks=10, h=1e-5, seed=0):
    """
    Relative errors of analytic_grad against centred differences of f at random entries of x.

    Like gradient_check.grad_check_sparse, but returns the errors (an array of num_checks)
    instead of printing them, so that a test cell can check them. x is restored afterwards.
    """
    index, numeric = sparse_numeric_grad(f, x, num_checks, h, seed)
    analytic = np.asarray(analytic_grad)[tuple(index.T)]
    return np.array([rel_error(n, a) for n, a in zip(numeric, analytic, strict=True)])
