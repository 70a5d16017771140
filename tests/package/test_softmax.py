"""softmax_loss_naive / softmax_loss_vectorized: value, gradient, agreement, stability."""
import numpy as np
import pytest
from scipy.special import logsumexp

from cs231n.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
from cs231n.gradient_check import eval_numerical_gradient, rel_error

LOSS_FUNCTIONS = [softmax_loss_naive, softmax_loss_vectorized]


def make_problem(seed=0, N=30, D=12, C=10, w_scale=0.05):
    rng = np.random.default_rng(seed)
    W = w_scale * rng.normal(size=(D, C))
    X = rng.normal(size=(N, D))
    y = rng.integers(0, C, size=N)
    return W, X, y


def reference_loss(W, X, y, reg):
    """Mean cross-entropy + reg * sum(W * W), through scipy's logsumexp."""
    scores = X @ W
    data_loss = np.mean(logsumexp(scores, axis=1) - scores[np.arange(len(y)), y])
    return data_loss + reg * np.sum(W * W)


@pytest.mark.parametrize("loss_fn", LOSS_FUNCTIONS)
@pytest.mark.parametrize("reg", [0.0, 0.1, 5.0])
def test_loss_is_mean_cross_entropy_plus_reg_sum_of_squares(loss_fn, reg):
    W, X, y = make_problem()
    loss, _ = loss_fn(W, X, y, reg)
    assert loss == pytest.approx(reference_loss(W, X, y, reg), rel=1e-12)


@pytest.mark.parametrize("loss_fn", LOSS_FUNCTIONS)
@pytest.mark.parametrize("reg", [0.0, 0.1, 5.0])
def test_gradient_matches_numeric_gradient(loss_fn, reg):
    W, X, y = make_problem(seed=1)
    _, dW = loss_fn(W, X, y, reg)
    assert dW.shape == W.shape
    dW_num = eval_numerical_gradient(lambda w: reference_loss(w, X, y, reg), W.copy(),
                                     verbose=False)
    assert rel_error(dW, dW_num) < 1e-7


@pytest.mark.parametrize("reg", [0.0, 1e-3, 2.5e4])
def test_naive_and_vectorized_agree(reg):
    W, X, y = make_problem(seed=2, N=50, D=40)
    loss_naive, grad_naive = softmax_loss_naive(W, X, y, reg)
    loss_vec, grad_vec = softmax_loss_vectorized(W, X, y, reg)
    assert abs(loss_naive - loss_vec) < 1e-10 * max(1.0, abs(loss_naive))
    # The notebook compares the gradients with the Frobenius norm of the difference.
    assert np.linalg.norm(grad_naive - grad_vec, ord="fro") < 1e-8 * max(
        1.0, np.linalg.norm(grad_naive)
    )


@pytest.mark.parametrize("loss_fn", LOSS_FUNCTIONS)
def test_initial_loss_with_small_weights_is_near_minus_log_tenth(loss_fn):
    rng = np.random.default_rng(3)
    X = rng.normal(0.0, 60.0, size=(200, 3073))  # like mean-subtracted pixels, plus a bias column
    X[:, -1] = 1.0
    y = rng.integers(0, 10, size=200)
    W = 0.0001 * rng.normal(size=(3073, 10))
    loss, _ = loss_fn(W, X, y, 0.0)
    # Scores of std ~0.3 raise the expected loss by about var / 2 above log(10) = 2.303.
    assert loss == pytest.approx(-np.log(0.1), abs=0.1)


@pytest.mark.parametrize("loss_fn", LOSS_FUNCTIONS)
def test_large_scores_give_finite_loss_and_gradient(loss_fn):
    # Scores in the thousands overflow np.exp unless the maximum is subtracted first.
    W, X, y = make_problem(seed=4, w_scale=1000.0)
    assert np.abs(X @ W).max() > 1000
    loss, dW = loss_fn(W, X, y, 0.0)
    assert np.isfinite(loss) and np.all(np.isfinite(dW))
    assert loss == pytest.approx(reference_loss(W, X, y, 0.0), rel=1e-9)


@pytest.mark.parametrize("loss_fn", LOSS_FUNCTIONS)
def test_loss_functions_leave_their_inputs_unchanged(loss_fn):
    W, X, y = make_problem(seed=5)
    W0, X0, y0 = W.copy(), X.copy(), y.copy()
    loss_fn(W, X, y, 0.5)
    np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("loss_fn", LOSS_FUNCTIONS)
def test_returns_python_scalar_loss_and_gradient_of_W_dtype(loss_fn):
    W, X, y = make_problem(seed=6)
    loss, dW = loss_fn(W, X, y, 0.1)
    assert np.ndim(loss) == 0
    assert dW.shape == W.shape and dW.dtype == W.dtype
