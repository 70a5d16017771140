"""cs231n/notebook_utils.py: grading mode, sizes, dataset check, saving without overwriting."""
import os

import numpy as np
import pytest

from coursekit.notebooks import run
from cs231n import model_io, notebook_utils

MODE_VARS = ("NBGRADER_EXECUTION", "CS231N_GRADING_MODE")


@pytest.fixture
def normal_mode(monkeypatch):
    for var in MODE_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def grading(monkeypatch, normal_mode):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")


@pytest.fixture
def saved_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(model_io, "SAVED_DIR", str(tmp_path))
    monkeypatch.setattr(notebook_utils, "_recorded", {})
    return tmp_path


class FakeNet:
    """A model with the official save(fname) API that writes into a given folder."""

    def __init__(self, folder, **params):
        self.folder = folder
        self.params = params
        self.saved = []

    def save(self, fname):
        self.saved.append(fname)
        np.save(os.path.join(self.folder, fname), self.params)


class FakeLinear:
    def __init__(self, W):
        self.W = W


@pytest.mark.parametrize("env, expected", [
    ({}, False),
    ({"NBGRADER_EXECUTION": "autograde"}, True),
    ({"NBGRADER_EXECUTION": "validate"}, True),
    ({"NBGRADER_EXECUTION": "something-else"}, False),
    ({"CS231N_GRADING_MODE": "1"}, True),
    ({"CS231N_GRADING_MODE": "0"}, False),
])
def test_grading_mode_follows_nbgrader_and_the_course_variable(monkeypatch, normal_mode, env,
                                                               expected):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert notebook_utils.grading_mode() is expected


@pytest.mark.parametrize("name", run.NOTEBOOKS)
def test_grading_sizes_are_small_and_full_sizes_official(monkeypatch, normal_mode, name):
    full = notebook_utils.run_settings(name)
    monkeypatch.setenv("CS231N_GRADING_MODE", "1")
    small = notebook_utils.run_settings(name)
    assert small.grading and not full.grading
    assert small.num_training <= 1000 < full.num_training
    assert full.num_training == (5000 if name == "knn" else 49000)
    assert full.num_test == (500 if name == "knn" else 1000)


def test_unknown_notebook_name_is_rejected():
    with pytest.raises(ValueError, match="unknown notebook"):
        notebook_utils.run_settings("svm")


def test_validation_data_covers_what_grading_mode_reads():
    assert run.SYNTHETIC_TRAIN >= notebook_utils.GRADING_MIN_TRAIN
    assert run.SYNTHETIC_TEST >= notebook_utils.GRADING_MIN_TEST


def test_missing_dataset_message_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        notebook_utils.check_cifar10(str(tmp_path))
    assert "get_datasets.sh" in str(err.value) and "CS231N_CIFAR10_DIR" in str(err.value)


def test_dataset_check_accepts_a_complete_folder(synthetic_cifar_dir):
    assert notebook_utils.check_cifar10(synthetic_cifar_dir) == synthetic_cifar_dir


def test_dataset_check_defaults_to_the_environment_variable(monkeypatch, synthetic_cifar_dir):
    monkeypatch.setenv("CS231N_CIFAR10_DIR", synthetic_cifar_dir)
    assert notebook_utils.check_cifar10() == synthetic_cifar_dir


def test_grading_run_never_overwrites_the_submitted_model(grading, saved_dir):
    submitted = {"W": np.full((3073, 10), 7.0)}
    np.save(saved_dir / "best_softmax.npy", submitted)
    before = (saved_dir / "best_softmax.npy").read_bytes()
    model = FakeNet(str(saved_dir), W=np.zeros((3073, 10)))
    notebook_utils.save_for_autograder(model, "best_softmax.npy")
    assert model.saved == []
    assert (saved_dir / "best_softmax.npy").read_bytes() == before
    assert "best_softmax.npy" in notebook_utils.recorded_saves()
    # The check then looks at the submitted file's form, not at the freshly trained weights.
    notebook_utils.check_saved_model("best_softmax.npy", {"W": (3073, 10)})


def test_normal_run_saves_through_the_model_and_the_check_compares_the_file(normal_mode,
                                                                            saved_dir):
    model = FakeNet(str(saved_dir), W1=np.ones((3072, 5)), b1=np.zeros(5), W2=np.ones((5, 10)),
                    b2=np.zeros(10))
    notebook_utils.save_for_autograder(model, "best_two_layer_net.npy")
    assert model.saved == ["best_two_layer_net.npy"]
    shapes = {"W1": (3072, None), "b1": (None,), "W2": (None, 10), "b2": (10,)}
    notebook_utils.check_saved_model("best_two_layer_net.npy", shapes)
    np.save(saved_dir / "best_two_layer_net.npy", dict(model.params, W1=np.zeros((3072, 5))))
    with pytest.raises(AssertionError, match="does not hold the model"):
        notebook_utils.check_saved_model("best_two_layer_net.npy", shapes)


def test_linear_classifiers_are_recorded_as_W(grading, saved_dir):
    notebook_utils.save_for_autograder(FakeLinear(np.ones((170, 10))), "best_softmax_features.npy")
    assert set(notebook_utils.recorded_saves()["best_softmax_features.npy"]) == {"W"}


def test_check_fails_when_the_notebook_did_not_save(grading, saved_dir):
    np.save(saved_dir / "softmax.npy", {"W": np.zeros((3073, 10))})
    with pytest.raises(AssertionError, match="did not save"):
        notebook_utils.check_saved_model("softmax.npy", {"W": (3073, 10)})


def test_check_fails_when_the_submission_lacks_the_file(grading, saved_dir):
    notebook_utils.save_for_autograder(FakeLinear(np.ones((3073, 10))), "softmax.npy")
    with pytest.raises(AssertionError, match="missing"):
        notebook_utils.check_saved_model("softmax.npy", {"W": (3073, 10)})


@pytest.mark.parametrize("content, message", [
    ({"W": np.zeros((3072, 10))}, "shape"),
    ({"W1": np.zeros((3073, 10))}, "keys"),
])
def test_check_fails_on_a_file_of_the_wrong_form(grading, saved_dir, content, message):
    notebook_utils.save_for_autograder(FakeLinear(np.ones((3073, 10))), "softmax.npy")
    np.save(saved_dir / "softmax.npy", content)
    with pytest.raises(AssertionError, match=message):
        notebook_utils.check_saved_model("softmax.npy", {"W": (3073, 10)})


def test_sparse_grad_errors_tell_a_right_gradient_from_a_wrong_one():
    x = np.random.default_rng(0).normal(size=(4, 3))
    f = lambda z: float(np.sum(z ** 3))  # noqa: E731
    right = 3 * x ** 2
    assert notebook_utils.sparse_grad_errors(f, x, right).max() < 1e-7
    assert notebook_utils.sparse_grad_errors(f, x, 2 * x).max() > 1e-2
    assert np.array_equal(x, np.random.default_rng(0).normal(size=(4, 3)))  # x restored


def test_a_name_error_in_a_notebook_says_an_earlier_cell_has_not_run(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        before = shell.run_cell("print(dists_one)")
        assert "earlier cell" not in str(before.error_in_exec)   # IPython's own message
        notebook_utils.explain_name_errors()
        after = shell.run_cell("print(dists_one)")
        assert isinstance(after.error_in_exec, NameError)
        message = str(after.error_in_exec)
        assert message.startswith("name 'dists_one' is not defined. If dists_one comes from "
                                  "an earlier cell, that cell has not run"), message
        assert "fix it and run it" in capsys.readouterr().out         # the traceback shows it
        other = shell.run_cell("1 / 0")                              # other errors unchanged
        assert str(other.error_in_exec) == "division by zero"
        assert shell.run_cell("ok = 2").success
    finally:
        shell.set_custom_exc((), None)
        InteractiveShell.clear_instance()
