"""Hidden checks of the softmax loss (cs231n/classifiers/softmax.py).

Losses and gradients are compared with the reference to tolerances.FLOAT64: loops, vectorized
code, probabilities-then-log and log-sum-exp all agree to ~1e-15. The naive loss is given
code: only its gradient is graded. The stability check adds a large common offset (about 1000)
to every score with a modest spread, so that np.exp overflows without the max shift and a
correct shift - with probabilities then log, or log-sum-exp - stays finite.
Numeric-gradient checks need a loss that moves (a stub's zero loss and zero gradient agree but
earn nothing); the rule and in-place checks count only once the values are right.
"""

import numpy as np
import pytest

from coursekit.grader import tolerances
from coursekit.grader.rules import count_loops, find_function

SOFTMAX = "cs231n.classifiers.softmax"
VARIANTS = ("naive", "vectorized")


def each_variant(*variants):
    return pytest.mark.parametrize("variant", [
        pytest.param(v, id=v, marks=pytest.mark.function(f"softmax_loss_{v}"))
        for v in variants])


def softmax_data(student, N=16, D=20, C=7, x_scale=2.0):
    W = student.rng.randn(D, C) * 0.05
    X = student.rng.randn(N, D) * x_scale
    y = student.rng.permutation(np.arange(N) % C)
    return W, X, y


def large_score_data(student, N=16, D=20, C=7):
    """Scores of about 1000 + a spread of a few units: a constant input column whose weights
    are the same for every class."""
    W, X, y = softmax_data(student, N, D, C)
    X[:, 0] = student.rng.uniform(900.0, 1100.0, size=N)
    W[0, :] = 1.0
    return W, X, y


def loss_and_grad(student, variant, W, X, y, reg, what=None):
    loss, dW = student.call(f"{SOFTMAX}:softmax_loss_{variant}", W, X, y, reg,
                            what=what or f"softmax_loss_{variant}(W, X, y, reg={reg})")
    return loss, student.array(dW, "dW", shape=W.shape)


@pytest.mark.points(2)
@pytest.mark.function("softmax_loss_vectorized")
def test_vectorized_loss_matches_the_reference(student):
    W, X, y = softmax_data(student)
    for reg in (0.0, 0.25):
        loss, _ = loss_and_grad(student, "vectorized", W, X, y, reg)
        student.expect(f"loss_reg{reg}", student.scalar(loss, "the loss"),
                       f"the loss at reg={reg}", tolerances.FLOAT64)


@pytest.mark.points(3)
@each_variant("naive", "vectorized")
def test_gradient_matches_the_reference(student, variant):
    W, X, y = softmax_data(student)
    for reg in (0.0, 0.25):
        _, dW = loss_and_grad(student, variant, W, X, y, reg)
        student.expect(f"dW_reg{reg}", dW, f"dW at reg={reg}", tolerances.FLOAT64)


@pytest.mark.points(2)
@each_variant("naive", "vectorized")
def test_gradient_is_the_numeric_gradient_of_the_loss(student, variant):
    W, X, y = softmax_data(student, N=10, D=9, C=5)
    _, dW = loss_and_grad(student, variant, W, X, y, 0.3)
    idx = [tuple(student.rng.randint(s) for s in W.shape) for _ in range(12)]
    numeric = student.numeric_grad(f"{SOFTMAX}:softmax_loss_{variant}", [W, X, y, 0.3], idx,
                                   arg=0, select=[0], what=f"softmax_loss_{variant}")
    student.expect_grad_close(dW[tuple(np.array(idx).T)], numeric, "dW",
                              tolerances.NUMERIC_GRADIENT)


@pytest.mark.points(2)
@pytest.mark.function("softmax_loss_vectorized")
def test_vectorized_loss_is_stable_for_large_scores(student):
    W, X, y = large_score_data(student)
    loss, dW = loss_and_grad(student, "vectorized", W, X, y, 0.1,
                             what="softmax_loss_vectorized on scores of about 1000")
    student.expect("loss", student.scalar(loss, "the loss on scores of about 1000"),
                   "the loss on scores of about 1000 (shift each row of scores by its maximum "
                   "before np.exp)", tolerances.FLOAT64)
    student.expect("dW", dW, "dW on scores of about 1000", tolerances.FLOAT64)


@pytest.mark.points(1)
@pytest.mark.function("softmax_loss_vectorized")
def test_vectorized_loss_has_no_loops(student):
    W, X, y = softmax_data(student)
    loss, dW = loss_and_grad(student, "vectorized", W, X, y, 0.2)
    student.expect("loss", student.scalar(loss, "the loss"), "the loss at reg=0.2",
                   tolerances.FLOAT64)
    student.expect("dW", dW, "dW at reg=0.2", tolerances.FLOAT64)
    func, _ = find_function(student.source("classifiers/softmax.py"), None,
                            "softmax_loss_vectorized")
    student.require(func is not None, "softmax_loss_vectorized is missing")
    student.require(count_loops(func) == 0, "softmax_loss_vectorized must not use loops or "
                                            "comprehensions")


@pytest.mark.points(1)
@pytest.mark.function("softmax_loss_vectorized")
def test_vectorized_loss_leaves_W_and_X_unchanged(student):
    W, X, y = softmax_data(student)
    W_kept, X_kept = student.keep(W), student.keep(X)
    loss, dW = student.call(f"{SOFTMAX}:softmax_loss_vectorized", W_kept, X_kept, y, 0.1,
                            what="softmax_loss_vectorized(W, X, y, reg=0.1)")
    student.expect("loss", student.scalar(loss, "the loss"), "the loss at reg=0.1",
                   tolerances.FLOAT64)
    student.expect("dW", dW, "dW at reg=0.1", tolerances.FLOAT64)
    for name, handle, value in (("W", W_kept, W), ("X", X_kept, X)):
        after = student.array(student.get(handle, what=f"reading {name} after the call"), name)
        student.require(np.array_equal(after, value), f"softmax_loss_vectorized changed its "
                                                      f"input {name} in place; compute on a "
                                                      "new array (scores = X @ W, then shift "
                                                      "scores)")
