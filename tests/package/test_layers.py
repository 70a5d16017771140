"""Layers of cs231n/layers.py and cs231n/layer_utils.py: numeric gradient checks (with the
tolerances the notebooks state) and the conventions of their contracts."""

import numpy as np
import pytest

from cs231n.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)
from cs231n.layer_utils import affine_relu_backward, affine_relu_forward
from cs231n.layers import (
    affine_backward,
    affine_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
)


@pytest.mark.parametrize("x_shape", [(10, 6), (10, 2, 3), (4, 2, 3, 2)])
def test_affine_backward_matches_numeric_gradient(x_shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((int(np.prod(x_shape[1:])), 5))
    b = rng.standard_normal(5)
    dout = rng.standard_normal((x_shape[0], 5))

    dx_num = eval_numerical_gradient_array(lambda x: affine_forward(x, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: affine_forward(x, w, b)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: affine_forward(x, w, b)[0], b, dout)
    _, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)

    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    # The notebook expects errors around 1e-10.
    assert rel_error(dx_num, dx) < 1e-8
    assert rel_error(dw_num, dw) < 1e-8
    assert rel_error(db_num, db) < 1e-8


def test_affine_forward_flattens_each_example_without_touching_x():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 2))
    w = rng.standard_normal((4, 2))
    b = rng.standard_normal(2)
    x_before = x.copy()

    out, cache = affine_forward(x, w, b)

    expected = np.array([[sum(x[n].ravel()[d] * w[d, m] for d in range(4)) + b[m]
                          for m in range(2)] for n in range(3)])
    assert np.allclose(out, expected)
    assert np.array_equal(x, x_before)
    assert cache[0].shape == (3, 2, 2)


def test_relu_backward_matches_numeric_gradient():
    np.random.seed(231)
    x = np.random.randn(10, 10)
    dout = np.random.randn(*x.shape)

    dx_num = eval_numerical_gradient_array(lambda x: relu_forward(x)[0], x, dout)
    _, cache = relu_forward(x)
    dx = relu_backward(dout, cache)

    # The notebook expects errors around 3e-12.
    assert rel_error(dx_num, dx) < 1e-10


def test_relu_passes_no_gradient_at_or_below_zero_and_keeps_its_input():
    x = np.array([[-2.0, -0.0, 0.0, 1e-12, 3.0]])
    x_before = x.copy()
    dout = np.full_like(x, 7.0)

    out, cache = relu_forward(x)
    dx = relu_backward(dout, cache)

    assert np.array_equal(out, [[0.0, 0.0, 0.0, 1e-12, 3.0]])
    assert np.array_equal(dx, [[0.0, 0.0, 0.0, 7.0, 7.0]])
    assert np.array_equal(x, x_before)
    assert cache is x or np.array_equal(cache, x)


def test_affine_relu_sandwich_matches_numeric_gradient():
    np.random.seed(231)
    x = np.random.randn(2, 3, 4)
    w = np.random.randn(12, 10)
    b = np.random.randn(10)
    dout = np.random.randn(2, 10)

    out, cache = affine_relu_forward(x, w, b)
    dx, dw, db = affine_relu_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda x: affine_relu_forward(x, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: affine_relu_forward(x, w, b)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: affine_relu_forward(x, w, b)[0], b, dout)

    assert np.array_equal(out, np.maximum(0, x.reshape(2, -1) @ w + b))
    assert isinstance(cache, tuple) and len(cache) == 2
    # The notebook expects errors around 1e-10 or less.
    assert rel_error(dx_num, dx) < 1e-8
    assert rel_error(dw_num, dw) < 1e-8
    assert rel_error(db_num, db) < 1e-8


def _reference_softmax_loss(x, y):
    """Mean cross-entropy, one example at a time, with the log-sum-exp computed in Python."""
    total = 0.0
    for scores, label in zip(x, y, strict=True):
        m = max(scores)
        log_sum = m + np.log(sum(np.exp(s - m) for s in scores))
        total += log_sum - scores[label]
    return total / len(y)


def test_softmax_loss_matches_numeric_gradient():
    np.random.seed(231)
    num_classes, num_inputs = 10, 50
    x = 0.001 * np.random.randn(num_inputs, num_classes)
    y = np.random.randint(num_classes, size=num_inputs)

    dx_num = eval_numerical_gradient(lambda x: softmax_loss(x, y)[0], x, verbose=False)
    _, dx = softmax_loss(x, y)

    # The notebook expects an error around 1e-8.
    assert rel_error(dx_num, dx) < 1e-7


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_softmax_loss_gradient_on_spread_scores(scale):
    rng = np.random.default_rng(3)
    x = scale * rng.standard_normal((6, 4))
    y = rng.integers(4, size=6)

    dx_num = eval_numerical_gradient(lambda x: softmax_loss(x, y)[0], x, verbose=False)
    loss, dx = softmax_loss(x, y)

    assert abs(loss - _reference_softmax_loss(x, y)) < 1e-10
    assert rel_error(dx_num, dx) < 1e-6
    # Softmax probabilities sum to one, so every row of the gradient sums to zero.
    assert np.allclose(dx.sum(axis=1), 0.0)


def test_softmax_loss_is_stable_for_huge_scores():
    x = np.array([[1000.0, 0.0, -1000.0], [5000.0, 5001.0, 4999.0]])
    y = np.array([0, 1])

    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss, dx = softmax_loss(x, y)

    assert np.isfinite(loss) and np.all(np.isfinite(dx))
    assert abs(loss - _reference_softmax_loss(x, y)) < 1e-10
