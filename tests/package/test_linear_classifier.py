"""LinearClassifier.train / predict / save / load and the Softmax subclass."""
import os

import numpy as np
import pytest

import cs231n.classifiers.linear_classifier as linear_classifier
from cs231n import model_io
from cs231n.classifiers import LinearClassifier, Softmax
from cs231n.classifiers.softmax import softmax_loss_vectorized

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RecordingClassifier(LinearClassifier):
    """Records every minibatch and returns a fixed gradient, to watch train() from outside."""

    def __init__(self, grad_value=0.0):
        super().__init__()
        self.batches = []
        self.grad_value = grad_value

    def loss(self, X_batch, y_batch, reg):
        self.batches.append((X_batch.copy(), y_batch.copy()))
        return float(len(self.batches)), np.full_like(self.W, self.grad_value)


def blobs(seed=0, num_per_class=40, D=8, C=4):
    """Well separated Gaussian blobs: an easy problem for a linear classifier."""
    rng = np.random.default_rng(seed)
    centers = 4.0 * rng.normal(size=(C, D))
    y = np.repeat(np.arange(C), num_per_class)
    X = centers[y] + rng.normal(size=(len(y), D))
    X = np.hstack([X, np.ones((len(y), 1))])  # bias trick
    return X, y


def test_train_returns_one_loss_per_iteration():
    X, y = blobs()
    history = Softmax().train(X, y, num_iters=37, batch_size=10)
    assert len(history) == 37
    assert all(np.isfinite(history))


def test_train_initialises_W_lazily_as_the_official_draw():
    X, y = blobs(C=5)
    np.random.seed(231)
    expected = 0.001 * np.random.randn(X.shape[1], 5)
    np.random.seed(231)
    clf = Softmax()
    clf.train(X, y, num_iters=0)
    assert clf.W.shape == (X.shape[1], np.max(y) + 1)
    np.testing.assert_array_equal(clf.W, expected)


def test_train_keeps_existing_W():
    X, y = blobs()
    clf = Softmax()
    clf.W = np.ones((X.shape[1], 4))
    clf.train(X, y, learning_rate=0.0, num_iters=3)
    np.testing.assert_array_equal(clf.W, np.ones((X.shape[1], 4)))


@pytest.mark.parametrize("num_train, batch_size", [(50, 7), (5, 20)])
def test_train_samples_minibatches_with_replacement_by_np_random_choice(num_train, batch_size):
    # Row i of X is i everywhere, so a minibatch reveals the indices it was drawn with.
    X = np.repeat(np.arange(num_train, dtype=float)[:, None], 3, axis=1)
    y = np.arange(num_train) % 3
    np.random.seed(0)
    clf = RecordingClassifier()
    clf.train(X, y, num_iters=6, batch_size=batch_size)

    np.random.seed(0)
    np.random.randn(3, 3)  # the lazy initialisation of W comes first
    assert len(clf.batches) == 6
    for X_batch, y_batch in clf.batches:
        idx = np.random.choice(num_train, batch_size)
        assert X_batch.shape == (batch_size, 3) and y_batch.shape == (batch_size,)
        np.testing.assert_array_equal(X_batch[:, 0], idx)
        np.testing.assert_array_equal(y_batch, y[idx])


def test_train_takes_plain_gradient_descent_steps():
    X, y = blobs()
    clf = RecordingClassifier(grad_value=2.0)
    clf.W = np.zeros((X.shape[1], 4))
    clf.train(X, y, learning_rate=0.25, num_iters=3, batch_size=5)
    np.testing.assert_allclose(clf.W, np.full((X.shape[1], 4), -3 * 0.25 * 2.0))


def test_train_loss_history_is_what_loss_returned():
    X, y = blobs()
    history = RecordingClassifier().train(X, y, num_iters=4, batch_size=5)
    assert history == [1.0, 2.0, 3.0, 4.0]


def test_softmax_training_lowers_the_loss_and_fits_easy_data():
    X, y = blobs(seed=1)
    np.random.seed(0)
    clf = Softmax()
    history = clf.train(X, y, learning_rate=1e-2, reg=1e-5, num_iters=200, batch_size=32)
    assert np.mean(history[-20:]) < 0.5 * np.mean(history[:20])
    assert np.mean(clf.predict(X) == y) > 0.9


def test_softmax_loss_is_softmax_loss_vectorized_at_W():
    X, y = blobs(seed=2)
    clf = Softmax()
    clf.W = 0.01 * np.random.default_rng(0).normal(size=(X.shape[1], 4))
    loss, grad = clf.loss(X, y, 0.3)
    ref_loss, ref_grad = softmax_loss_vectorized(clf.W, X, y, 0.3)
    assert loss == ref_loss
    np.testing.assert_array_equal(grad, ref_grad)


def test_verbose_prints_every_100_iterations(capsys):
    X, y = blobs()
    Softmax().train(X, y, num_iters=250, batch_size=5, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "iteration 0 / 250", "iteration 100 / 250", "iteration 200 / 250"
    ]
    assert all(line.split(": loss ")[1].replace(".", "").isdigit() for line in lines)


def test_train_is_silent_by_default(capsys):
    X, y = blobs()
    Softmax().train(X, y, num_iters=150, batch_size=5)
    assert capsys.readouterr().out == ""


def test_predict_returns_the_class_of_highest_score():
    clf = Softmax()
    clf.W = np.array([[1.0, 0.0, -1.0], [0.0, 2.0, 0.5]])  # (D=2, C=3)
    X = np.array([[3.0, 1.0], [0.0, 1.0], [-2.0, 0.0], [-1.0, -3.0]])
    # scores: [3, 2, -2.5], [0, 2, 0.5], [-2, 0, 2], [-1, -6, -0.5]
    y_pred = clf.predict(X)
    assert y_pred.shape == (4,)
    np.testing.assert_array_equal(y_pred, [0, 1, 2, 2])


def test_linear_classifier_without_loss_says_to_use_a_subclass():
    X, y = blobs()
    with pytest.raises(NotImplementedError, match="Softmax"):
        LinearClassifier().train(X, y, num_iters=1)


def test_save_and_load_round_trip(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(model_io, "SAVED_DIR", str(tmp_path))
    clf = Softmax()
    clf.W = np.random.default_rng(0).normal(size=(7, 3))
    clf.save("softmax.npy")
    assert os.listdir(tmp_path) == ["softmax.npy"]
    assert set(np.load(tmp_path / "softmax.npy", allow_pickle=True).item()) == {"W"}

    other = Softmax()
    other.load("softmax.npy")
    np.testing.assert_array_equal(other.W, clf.W)
    out = capsys.readouterr().out
    assert "Saved in" in out and "Loaded from" in out and "softmax.npy" in out


def test_load_of_missing_file_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(model_io, "SAVED_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="best_softmax.npy"):
        Softmax().load("best_softmax.npy")


def test_models_are_saved_in_the_package_saved_folder():
    saved = os.path.join(REPO, "cs231n", "saved")
    assert os.path.realpath(model_io.SAVED_DIR) == os.path.realpath(saved)


def test_the_removed_svm_classifier_is_not_offered():
    # The 2025 edition has no SVM question: a LinearSVM class would call a missing module.
    assert not hasattr(linear_classifier, "LinearSVM")
