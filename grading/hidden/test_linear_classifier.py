"""Hidden checks of LinearClassifier.train and .predict (cs231n/classifiers/linear_classifier.py).

`train` runs with the grader's softmax loss in place of the student's (an oracle that also
records every call), so only the training loop is judged: one loss per iteration, minibatches
of rows of X with their own labels that change from one iteration to the next (with or
without replacement: both are accepted), and the SGD step W - learning_rate * grad, which has
no rounding (tolerances.EXACT). Labels are compared exactly.
"""

import numpy as np
import pytest

from coursekit.grader import tolerances
from coursekit.grader.master import master_module

SOFTMAX = "cs231n.classifiers.softmax"
LINEAR = "cs231n.classifiers.linear_classifier"
LOSS_PATCH = [{"module": SOFTMAX, "attr": "softmax_loss_vectorized",
               "oracle": "softmax_loss_vectorized"}]
N, D, C = 50, 8, 4


def grader_loss():
    return master_module("classifiers.softmax").softmax_loss_vectorized


def train_run(student, num_iters=12, batch_size=9, lr=0.07, reg=0.003, easy=False):
    """Train a Softmax classifier; returns X, y, the history, the loss calls and the final W."""
    y = student.rng.permutation(np.arange(N) % C)
    X = student.rng.randn(N, D)
    if easy:
        X[np.arange(N), y] += 4.0
    student.oracles["softmax_loss_vectorized"] = ("classifiers.softmax", "softmax_loss_vectorized")
    model = student.new(f"{LINEAR}:Softmax", fallback_attrs={"W": None})
    history = student.call((model, "train"), X, y, learning_rate=lr, reg=reg,
                           num_iters=num_iters, batch_size=batch_size, verbose=False,
                           seed=student.seed, patch=LOSS_PATCH,
                           what=f"train(X, y, num_iters={num_iters}, batch_size={batch_size})")
    calls = [call_arrays(student, args, kwargs) for name, args, kwargs in student.oracle_log
             if name == "softmax_loss_vectorized"]
    final_W = student.get(model, "W", what="reading the classifier's W after train")
    return X, y, history, calls, final_W


def call_arrays(student, args, kwargs):
    """(W, X_batch, y_batch, reg) of one call of the loss, however it was passed."""
    values = list(args) + [kwargs.get(k) for k in ("W", "X", "y", "reg")[len(args):]]
    W, X, y, reg = values
    return (student.array(W, "W"), student.array(X, "X_batch"), student.array(y, "y_batch"),
            reg)


@pytest.mark.points(2)
@pytest.mark.function("LinearClassifier.train")
def test_train_returns_the_loss_of_every_iteration(student):
    _, _, history, calls, _ = train_run(student)
    history = student.array(history, "the loss history", ndim=1)
    student.require(len(history) == 12, f"train(num_iters=12) returned {len(history)} losses; "
                                        "it should return one per iteration")
    student.require(len(calls) == 12, f"train(num_iters=12) computed the loss {len(calls)} "
                                      "times; it should compute it once per iteration")
    losses = [float(grader_loss()(*call)[0]) for call in calls]
    student.require(np.allclose(history, losses, rtol=tolerances.EXACT, atol=0),
                    "the loss history should hold the loss of each iteration's minibatch, in "
                    "order")


@pytest.mark.points(2)
@pytest.mark.function("LinearClassifier.train")
def test_train_samples_a_new_minibatch_of_rows_and_labels_each_iteration(student):
    X, y, _, calls, _ = train_run(student, batch_size=9)
    student.require(len(calls) > 0, "train never computed the loss")
    rows = {tuple(r): i for i, r in enumerate(X)}
    used = set()
    for W, X_batch, y_batch, _ in calls:
        student.require(X_batch.shape == (9, D) and y_batch.shape == (9,),
                        f"train(batch_size=9) used a minibatch of shape {X_batch.shape} / "
                        f"{y_batch.shape}; it should be (9, {D}) / (9,)")
        for xr, yr in zip(X_batch, y_batch, strict=True):
            i = rows.get(tuple(xr))
            student.require(i is not None and y[i] == yr, "each minibatch row should be a row "
                                                          "of X with its own label from y")
            used.add(i)
        student.require(W.shape == (D, C), f"W has shape {W.shape}; it should be ({D}, {C})")
    # 12 minibatches of 9 random rows of 50 touch about 44 rows, with or without replacement;
    # the same rows every iteration touch 9.
    student.require(len(used) >= 25, f"the 12 minibatches used only {len(used)} of the 50 "
                                     "rows: draw new random indices at every iteration "
                                     "(np.random.choice inside the loop)")


@pytest.mark.points(2)
@pytest.mark.function("LinearClassifier.train")
def test_train_steps_against_the_gradient(student):
    lr = 0.07
    _, _, _, calls, final_W = train_run(student, lr=lr)
    student.require(len(calls) >= 2, "train computed the loss fewer than twice in 12 "
                                     "iterations")
    loss = grader_loss()
    for (W, Xb, yb, reg), (W_next, _, _, _) in zip(calls, calls[1:], strict=False):
        student.require(np.allclose(W_next, W - lr * loss(W, Xb, yb, reg)[1],
                                    rtol=tolerances.EXACT, atol=tolerances.EXACT),
                        "each step should update W to W - learning_rate * gradient")
    W, Xb, yb, reg = calls[-1]
    final_W = student.array(final_W, "the classifier's W", shape=W.shape)
    student.require(np.allclose(final_W, W - lr * loss(W, Xb, yb, reg)[1],
                                rtol=tolerances.EXACT, atol=tolerances.EXACT),
                    "the last step's update should be kept in self.W")


@pytest.mark.points(1)
@pytest.mark.function("LinearClassifier.train")
def test_train_lowers_the_loss_on_easy_data(student):
    _, _, history, _, _ = train_run(student, num_iters=60, batch_size=20, lr=0.5, easy=True)
    history = student.finite(student.array(history, "the loss history", ndim=1),
                             "the loss history")
    student.require(len(history) == 60 and np.mean(history[-10:]) < 0.5 * history[0],
                    "on easy data the loss should fall to less than half its first value")


def predict(student, W, X, what):
    model = student.new(f"{LINEAR}:LinearClassifier", fallback_attrs={"W": None})
    student.set(model, ["W"], W)
    labels = student.call((model, "predict"), X, what=what)
    return student.array(labels, "the predicted labels", shape=(len(X),))


def check_predict_on_a_batch(student):
    """predict on 25 random rows (9 features, 6 classes) against the reference labels."""
    W, X = student.rng.randn(9, 6), student.rng.randn(25, 9) * 3
    labels = predict(student, W, X, "predict(X)")
    student.expect("labels", labels, "the predicted labels", tolerances.LABELS)


@pytest.mark.points(2)
@pytest.mark.function("LinearClassifier.predict")
def test_predict_takes_the_class_of_the_highest_score(student):
    check_predict_on_a_batch(student)


@pytest.mark.points(1)
@pytest.mark.function("LinearClassifier.predict")
def test_predict_keeps_the_shape_for_a_single_row(student):
    # A batch first: the point is for a predict that handles both, not one row only.
    check_predict_on_a_batch(student)
    # One row whose best class is not 0: an untouched np.zeros(1) cannot pass.
    W1 = student.rng.randn(5, 3)
    W1[:, 2] += 5.0
    row = np.abs(student.rng.randn(1, 5)) + 0.5
    label = predict(student, W1, row, "predict(X) for one row")
    student.expect("label", label, "the predicted label of one row", tolerances.LABELS)
