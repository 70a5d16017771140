"""Contract checks of one built `cs231n` package, written from the official assignment's API,
not from a solution.

Run as `python contract_checks.py PKG_PARENT OUT_JSON`: imports the `cs231n` package found in
PKG_PARENT (one package per process, since every style's package is called `cs231n`), runs every
check and writes {check name: "ok" or the failure's traceback} to OUT_JSON. test_contract.py
runs it once per style. Each check is a plain function whose name states the behaviour; the
expected values are computed here independently (published numbers, formulas, scipy, centred
differences).
"""

import json
import sys
import time
import traceback

import numpy as np

CONTRACTS = {}


def contract(fn):
    """Register a contract check under its function's name."""
    CONTRACTS[fn.__name__] = fn
    return fn


# --- helpers -----------------------------------------------------------------------------------

def rel_error(a, b):
    """Norm-relative error (robust to single tiny entries, unlike an elementwise max)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


def numeric_gradient(f, x):
    """Centred differences of the scalar f() with respect to the array x (perturbed in place).

    By the release's gradient_check, a given file every style's package holds unchanged (the
    splice replaces student functions only), so no style's own code computes it."""
    from cs231n.gradient_check import eval_numerical_gradient

    return eval_numerical_gradient(lambda _: float(f()), x, verbose=False)


def assert_grad(analytic, f, x, tol=1e-6, what="gradient"):
    numeric = numeric_gradient(f, x)
    assert analytic.shape == x.shape, f"{what}: shape {analytic.shape} != {x.shape}"
    err = rel_error(analytic, numeric)
    assert err < tol, f"{what}: relative error {err:.2e} against centred differences"


def grid(low, high, *shape):
    """Evenly spaced values from low to high filling an array of `shape`: the notebooks' way of
    writing the inputs of their published examples."""
    return np.linspace(low, high, num=int(np.prod(shape))).reshape(shape)


def log_softmax(scores):
    from scipy.special import logsumexp

    return scores - logsumexp(scores, axis=1, keepdims=True)


def cross_entropy(scores, y):
    return -np.mean(log_softmax(scores)[np.arange(len(y)), y])


# --- layers ------------------------------------------------------------------------------------

@contract
def affine_forward_reproduces_published_output():
    from cs231n.layers import affine_forward

    out, _ = affine_forward(grid(-0.1, 0.5, 2, 4, 5, 6), grid(-0.2, 0.3, 120, 3),
                            grid(-0.3, 0.1, 3))
    expected = [[1.49834967, 1.70660132, 1.91485297], [3.25553199, 3.5141327, 3.77273342]]
    assert np.allclose(out, expected, rtol=0, atol=1e-8), out


@contract
def affine_backward_matches_centred_differences():
    from cs231n.layers import affine_backward, affine_forward

    rng = np.random.RandomState(1)
    x, w, b = rng.randn(4, 2, 3, 2), rng.randn(12, 5), rng.randn(5)
    dout = rng.randn(4, 5)
    _, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)
    assert dx.shape == x.shape
    for name, arr, grad in (("dx", x, dx), ("dw", w, dw), ("db", b, db)):
        assert_grad(grad, lambda: np.sum(affine_forward(x, w, b)[0] * dout), arr, what=name)


@contract
def affine_backward_accepts_a_hand_made_cache_of_x_w_b():
    from cs231n.layers import affine_backward, affine_forward

    rng = np.random.RandomState(2)
    x, w, b, dout = rng.randn(3, 4, 2), rng.randn(8, 6), rng.randn(6), rng.randn(3, 6)
    x0, w0, b0 = x.copy(), w.copy(), b.copy()
    _, cache = affine_forward(x, w, b)
    assert all(np.array_equal(c, o) for c, o in zip(cache, (x0, w0, b0), strict=True))
    for got, want in zip(affine_backward(dout, (x, w, b)), affine_backward(dout, cache),
                         strict=True):
        assert np.allclose(got, want, rtol=1e-12, atol=1e-12)
    assert np.array_equal(x, x0) and np.array_equal(w, w0) and np.array_equal(b, b0)
    assert x.shape == (3, 4, 2)


@contract
def relu_forward_reproduces_published_output():
    from cs231n.layers import relu_forward

    out, _ = relu_forward(grid(-0.5, 0.5, 3, 4))
    expected = [[0, 0, 0, 0], [0, 0, 0.04545455, 0.13636364],
                [0.22727273, 0.31818182, 0.40909091, 0.5]]
    assert np.allclose(out, expected, rtol=0, atol=1e-8), out


@contract
def relu_forward_leaves_x_unchanged_and_caches_it():
    from cs231n.layers import relu_forward

    x = np.random.RandomState(3).randn(5, 4)
    x0 = x.copy()
    out, cache = relu_forward(x)
    assert np.array_equal(x, x0), "relu_forward modified x in place"
    assert np.array_equal(cache, x0)
    assert np.array_equal(out, np.where(x0 > 0, x0, 0))


@contract
def relu_backward_passes_gradient_where_x_positive_and_blocks_it_where_negative():
    from cs231n.layers import relu_backward, relu_forward

    rng = np.random.RandomState(4)
    x = rng.randn(6, 7)
    x[np.abs(x) < 1e-3] = 0.5  # the value at exactly 0 is a convention: not checked here
    dout = rng.randn(6, 7)
    _, cache = relu_forward(x)
    dx = relu_backward(dout, cache)
    assert np.array_equal(dx, np.where(x > 0, dout, 0.0))
    assert_grad(dx, lambda: np.sum(relu_forward(x)[0] * dout), x, what="relu dx")


@contract
def softmax_loss_reproduces_published_value():
    from cs231n.layers import softmax_loss

    np.random.seed(231)
    x = 0.001 * np.random.randn(50, 10)
    y = np.random.randint(10, size=50)
    loss, _ = softmax_loss(x, y)
    assert abs(loss - 2.3025458445007376) < 1e-10, loss


@contract
def softmax_loss_matches_logsumexp_and_ignores_a_common_shift():
    from cs231n.layers import softmax_loss

    rng = np.random.RandomState(5)
    x, y = 4 * rng.randn(20, 6), rng.randint(6, size=20)
    loss, _ = softmax_loss(x, y)
    assert abs(loss - cross_entropy(x, y)) < 1e-12
    shifted, _ = softmax_loss(x + 1000.0, y)  # would overflow np.exp without the max shift
    assert np.isfinite(shifted) and abs(shifted - loss) < 1e-9


@contract
def softmax_loss_dx_matches_centred_differences_of_the_mean():
    from cs231n.layers import softmax_loss

    rng = np.random.RandomState(6)
    x, y = rng.randn(12, 5), rng.randint(5, size=12)
    _, dx = softmax_loss(x, y)
    assert_grad(dx, lambda: softmax_loss(x, y)[0], x, tol=1e-7, what="softmax_loss dx")


@contract
def softmax_loss_leaves_x_unchanged():
    from cs231n.layers import softmax_loss

    rng = np.random.RandomState(7)
    x, y = 10 * rng.randn(8, 4), rng.randint(4, size=8)
    x0 = x.copy()
    softmax_loss(x, y)
    assert np.array_equal(x, x0), "softmax_loss modified x in place"


# --- softmax classifier ------------------------------------------------------------------------

def _softmax_problem(seed=8, N=15, D=7, C=4):
    rng = np.random.RandomState(seed)
    return rng.randn(D, C), rng.randn(N, D), rng.randint(C, size=N)


@contract
def softmax_classifier_losses_equal_mean_cross_entropy_plus_reg_sum_w_squared():
    from cs231n.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized

    W, X, y = _softmax_problem()
    for reg in (0.0, 0.3):
        want = cross_entropy(X @ W, y) + reg * np.sum(W * W)
        for fn in (softmax_loss_naive, softmax_loss_vectorized):
            loss, _ = fn(W, X, y, reg)
            assert abs(loss - want) < 1e-10, (fn.__name__, reg, loss, want)


@contract
def softmax_classifier_gradients_match_centred_differences():
    from cs231n.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized

    W, X, y = _softmax_problem(9)
    for fn in (softmax_loss_naive, softmax_loss_vectorized):
        for reg in (0.0, 0.5):
            _, dW = fn(W, X, y, reg)
            assert_grad(dW, lambda f=fn, r=reg: f(W, X, y, r)[0], W, tol=1e-7,
                        what=f"{fn.__name__} reg={reg}")


@contract
def softmax_naive_and_vectorized_agree():
    from cs231n.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized

    W, X, y = _softmax_problem(10, N=40, D=30, C=10)
    W *= 0.01
    naive = softmax_loss_naive(W, X, y, 0.05)
    vec = softmax_loss_vectorized(W, X, y, 0.05)
    assert abs(naive[0] - vec[0]) < 1e-12
    assert rel_error(naive[1], vec[1]) < 1e-12


@contract
def softmax_classifier_losses_leave_W_and_X_unchanged():
    from cs231n.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized

    W, X, y = _softmax_problem(11)
    W0, X0, y0 = W.copy(), X.copy(), y.copy()
    for fn in (softmax_loss_naive, softmax_loss_vectorized):
        fn(W, X, y, 0.1)
        assert np.array_equal(W, W0) and np.array_equal(X, X0) and np.array_equal(y, y0), fn


@contract
def softmax_classifier_losses_stay_finite_for_large_scores():
    from cs231n.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized

    W, X, y = _softmax_problem(12)
    X = np.hstack([X, np.full((X.shape[0], 1), 1.0)])
    W = np.vstack([W, np.full((1, W.shape[1]), 1000.0)])  # every score + 1000: exp overflows
    want = cross_entropy(X @ W, y)
    for fn in (softmax_loss_naive, softmax_loss_vectorized):
        loss, dW = fn(W, X, y, 0.0)
        assert np.isfinite(loss) and np.all(np.isfinite(dW)), fn.__name__
        assert abs(loss - want) < 1e-8, (fn.__name__, loss, want)


@contract
def softmax_classifier_keeps_float32_inputs_finite():
    from cs231n.classifiers.softmax import softmax_loss_vectorized

    W, X, y = _softmax_problem(13)
    loss, dW = softmax_loss_vectorized(W.astype(np.float32), X.astype(np.float32), y, 0.1)
    assert np.isfinite(loss) and dW.shape == W.shape
    assert abs(loss - (cross_entropy(X @ W, y) + 0.1 * np.sum(W * W))) < 1e-4


# --- kNN ---------------------------------------------------------------------------------------

def _knn(X_train, y_train):
    from cs231n.classifiers.k_nearest_neighbor import KNearestNeighbor

    knn = KNearestNeighbor()
    knn.train(X_train, y_train)
    return knn


@contract
def knn_all_three_distance_versions_equal_scipy_cdist():
    from scipy.spatial.distance import cdist

    rng = np.random.RandomState(14)
    X_train, X = rng.randn(40, 17) * 3 + 1, rng.randn(9, 17) * 3
    knn = _knn(X_train, rng.randint(3, size=40))
    want = cdist(X, X_train)
    for name in ("compute_distances_two_loops", "compute_distances_one_loop",
                 "compute_distances_no_loops"):
        got = getattr(knn, name)(X)
        assert got.shape == (9, 40), name
        assert np.allclose(got, want, rtol=1e-9, atol=1e-9), name


@contract
def knn_no_loop_distance_of_a_training_point_to_itself_is_zero_not_nan():
    rng = np.random.RandomState(15)
    X_train = rng.rand(30, 64) * 255
    knn = _knn(X_train, rng.randint(4, size=30))
    d = knn.compute_distances_no_loops(X_train)
    assert np.all(np.isfinite(d)) and np.all(d >= 0)
    assert np.max(np.abs(np.diag(d))) < 1e-3


def _best_time(fn, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@contract
def knn_no_loop_version_costs_about_one_matrix_product():
    rng = np.random.RandomState(16)
    X_train, X = rng.randn(1000, 3072), rng.randn(100, 3072)
    knn = _knn(X_train, rng.randint(10, size=1000))
    assert knn.compute_distances_no_loops(X).shape == (100, 1000)
    # Timed against the machine's own matrix product, the two in turn and the best of five
    # of each, so that a loaded machine slows both alike; a version with any Python loop over
    # the 100 x 1000 pairs is hundreds of times slower.
    product, seconds = float("inf"), float("inf")
    for _ in range(5):
        product = min(product, _best_time(lambda: X @ X_train.T, repeats=1))
        seconds = min(seconds, _best_time(lambda: knn.compute_distances_no_loops(X), repeats=1))
    assert seconds < 20 * product + 0.05, f"{seconds:.3f} s, matrix product {product:.3f} s"


@contract
def knn_predict_labels_takes_the_majority_of_the_k_nearest():
    knn = _knn(np.zeros((6, 2)), np.array([4, 2, 2, 7, 7, 7]))
    dists = np.array([[0.5, 1.0, 2.0, 3.0, 4.0, 5.0],
                      [9.0, 1.0, 1.5, 8.0, 7.0, 0.9]])
    assert list(knn.predict_labels(dists, k=1)) == [4, 7]
    assert list(knn.predict_labels(dists, k=3)) == [2, 2]
    assert list(knn.predict_labels(dists, k=6)) == [7, 7]


@contract
def knn_predict_labels_breaks_ties_by_the_smaller_label():
    knn = _knn(np.zeros((6, 2)), np.array([5, 3, 3, 5, 1, 9]))
    dists = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],    # k=4: 5,3,3,5 -> 3
                      [6.0, 5.0, 4.0, 3.0, 2.0, 1.0],    # k=2: 9,1 -> 1
                      [0.1, 0.2, 9.0, 9.5, 9.7, 9.9]])   # k=2: 5,3 -> 3
    assert list(knn.predict_labels(dists, k=4))[0] == 3
    assert list(knn.predict_labels(dists, k=2)) == [3, 1, 3]
    assert list(knn.predict_labels(dists, k=6)) == [3, 3, 3]  # 5,3,3,5,1,9 -> 3 and 5 tie


@contract
def knn_predict_gives_the_same_labels_with_0_1_and_2_loops():
    rng = np.random.RandomState(17)
    X_train, X = rng.randn(50, 8), rng.randn(12, 8)
    knn = _knn(X_train, rng.randint(5, size=50))
    preds = [np.asarray(knn.predict(X, k=5, num_loops=n)) for n in (0, 1, 2)]
    assert all(np.array_equal(p, preds[0]) for p in preds)
    assert preds[0].shape == (12,)


# --- linear classifier -------------------------------------------------------------------------

def _recording_classifier(gradient=None):
    from cs231n.classifiers.linear_classifier import LinearClassifier

    class Recording(LinearClassifier):
        def __init__(self):
            super().__init__()
            self.batches = []

        def loss(self, X_batch, y_batch, reg):
            self.batches.append((np.array(X_batch), np.array(y_batch), reg))
            grad = np.zeros_like(self.W) if gradient is None else gradient
            return float(len(self.batches)), grad

    return Recording()


def _indexed_data(N=60, D=4, C=3):
    X = np.random.RandomState(18).randn(N, D)
    X[:, 0] = np.arange(N)  # column 0 names the row
    return X, np.arange(N) % C


@contract
def linear_train_initialises_W_lazily_as_a_seeded_draw():
    X, y = _indexed_data()
    clf = _recording_classifier()
    np.random.seed(19)
    clf.train(X, y, num_iters=0)
    np.random.seed(19)
    assert np.array_equal(clf.W, 0.001 * np.random.randn(4, 3))


@contract
def linear_train_returns_one_loss_per_iteration_from_self_loss():
    X, y = _indexed_data()
    clf = _recording_classifier()
    history = clf.train(X, y, reg=0.25, num_iters=7, batch_size=10)
    assert list(history) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert [b[2] for b in clf.batches] == [0.25] * 7


@contract
def linear_train_steps_by_minus_learning_rate_times_gradient():
    X, y = _indexed_data()
    G = np.random.RandomState(20).randn(4, 3)
    clf = _recording_classifier(gradient=G)
    W0 = np.random.RandomState(21).randn(4, 3)
    clf.W = W0.copy()
    clf.train(X, y, learning_rate=0.1, num_iters=5, batch_size=8)
    assert np.allclose(clf.W, W0 - 5 * 0.1 * G, rtol=1e-12, atol=1e-12)


@contract
def linear_train_samples_aligned_minibatches_that_vary():
    X, y = _indexed_data(N=60)
    clf = _recording_classifier()
    np.random.seed(22)
    clf.train(X, y, num_iters=40, batch_size=10)
    seen = set()
    for X_batch, y_batch, _ in clf.batches:
        assert X_batch.shape == (10, 4) and y_batch.shape == (10,)
        rows = X_batch[:, 0].astype(int)
        assert np.array_equal(X_batch, X[rows]) and np.array_equal(y_batch, y[rows])
        seen.update(rows.tolist())
    firsts = {tuple(b[0][:, 0]) for b in clf.batches}
    assert len(firsts) > 30, "the minibatches barely change between iterations"
    assert len(seen) > 45, f"only {len(seen)} of 60 rows sampled in 40 batches of 10"


@contract
def linear_train_sampling_is_driven_by_np_random_seed():
    X, y = _indexed_data()
    runs = []
    for seed in (23, 23, 24):
        clf = _recording_classifier()
        np.random.seed(seed)
        clf.train(X, y, num_iters=3, batch_size=10)
        runs.append([b[0][:, 0].tolist() for b in clf.batches])
    assert runs[0] == runs[1] and runs[0] != runs[2]


@contract
def linear_train_accepts_a_batch_larger_than_the_data():
    X, y = _indexed_data(N=12)
    clf = _recording_classifier()
    clf.train(X, y, num_iters=2, batch_size=30)
    assert clf.batches[0][0].shape == (30, 4)


@contract
def softmax_classifier_training_lowers_the_loss_and_fits_separable_data():
    from cs231n.classifiers.linear_classifier import Softmax

    rng = np.random.RandomState(25)
    centers = rng.randn(3, 5) * 4
    y = rng.randint(3, size=300)
    X = centers[y] + rng.randn(300, 5)
    np.random.seed(26)
    clf = Softmax()
    history = clf.train(X, y, learning_rate=1e-1, reg=1e-4, num_iters=150, batch_size=50)
    assert len(history) == 150 and history[-1] < 0.5 * history[0]
    assert np.mean(np.asarray(clf.predict(X)) == y) > 0.9


@contract
def linear_predict_is_the_argmax_of_x_times_w():
    from cs231n.classifiers.linear_classifier import LinearClassifier

    rng = np.random.RandomState(27)
    clf = LinearClassifier()
    clf.W = rng.randn(6, 4)
    X = rng.randn(25, 6)
    pred = np.asarray(clf.predict(X))
    assert pred.shape == (25,)
    assert np.array_equal(pred, np.argmax(X @ clf.W, axis=1))


# --- optimizers --------------------------------------------------------------------------------

def _opt_problem(seed):
    rng = np.random.RandomState(seed)
    w = rng.randn(4, 5)
    # |dw| in [2, 4]: large enough that where epsilon sits changes a step by < 1e-6.
    grads = [np.sign(rng.randn(4, 5)) * rng.uniform(2.0, 4.0, (4, 5)) for _ in range(3)]
    return w, grads


def _run(rule, w, grads, config):
    """Three steps; copies w each time (rules may update in place); returns the next_w list."""
    out = []
    for dw in grads:
        w, config = rule(w.copy(), dw.copy(), config)
        out.append(w.copy())
    return out, config


@contract
def sgd_momentum_follows_v_equals_mu_v_minus_lr_dw():
    from cs231n.optim import sgd_momentum

    w, grads = _opt_problem(28)
    got, config = _run(sgd_momentum, w, grads, {"learning_rate": 0.05, "momentum": 0.8})
    v, want = np.zeros_like(w), w
    for dw, g in zip(grads, got, strict=True):
        v = 0.8 * v - 0.05 * dw
        want = want + v
        assert np.allclose(g, want, rtol=1e-12, atol=1e-12)
    assert np.allclose(config["velocity"], v, rtol=1e-12, atol=1e-12)


@contract
def sgd_momentum_defaults_are_lr_1e_2_and_momentum_0_9():
    from cs231n.optim import sgd_momentum

    w, grads = _opt_problem(29)
    next_w, config = sgd_momentum(w.copy(), grads[0].copy())
    assert config["learning_rate"] == 1e-2 and config["momentum"] == 0.9
    assert np.allclose(next_w, w - 1e-2 * grads[0], rtol=1e-12, atol=1e-12)
    assert np.allclose(config["velocity"], -1e-2 * grads[0], rtol=1e-12, atol=1e-12)


def _rmsprop_reference(w, grads, lr, rho, eps):
    cache, out = np.zeros_like(w), []
    for dw in grads:
        cache = rho * cache + (1 - rho) * dw ** 2
        w = w - lr * dw / (np.sqrt(cache) + eps)
        out.append(w)
    return out, cache


@contract
def rmsprop_follows_its_update_formula():
    from cs231n.optim import rmsprop

    w, grads = _opt_problem(30)
    # epsilon = 0: every placement of epsilon agrees, so the match is exact.
    got, config = _run(rmsprop, w, grads, {"learning_rate": 0.02, "decay_rate": 0.9,
                                           "epsilon": 0.0})
    want, cache = _rmsprop_reference(w, grads, 0.02, 0.9, 0.0)
    for g, r in zip(got, want, strict=True):
        assert rel_error(g - w, r - w) < 1e-12
    assert np.allclose(config["cache"], cache, rtol=1e-12, atol=0)
    # default epsilon 1e-8: any reasonable placement moves the steps by far less than 1e-6.
    got, config = _run(rmsprop, w, grads, None)
    want, cache = _rmsprop_reference(w, grads, 1e-2, 0.99, 1e-8)
    for g, r in zip(got, want, strict=True):
        assert rel_error(g - w, r - w) < 1e-6
    assert config["decay_rate"] == 0.99 and config["epsilon"] == 1e-8
    assert config["learning_rate"] == 1e-2


def _adam_reference(w, grads, lr, b1, b2, eps):
    m, v, out = np.zeros_like(w), np.zeros_like(w), []
    for t, dw in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * dw
        v = b2 * v + (1 - b2) * dw ** 2
        w = w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        out.append(w)
    return out, m, v


@contract
def adam_follows_its_update_formula_with_t_incremented_before_use():
    from cs231n.optim import adam

    w, grads = _opt_problem(31)
    cfg = {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.95, "epsilon": 0.0}
    got, config = _run(adam, w, grads, cfg)
    want, m, v = _adam_reference(w, grads, 0.01, 0.8, 0.95, 0.0)
    for g, r in zip(got, want, strict=True):
        assert rel_error(g - w, r - w) < 1e-12
    assert config["t"] == 3
    assert np.allclose(config["m"], m, rtol=1e-12, atol=0)
    assert np.allclose(config["v"], v, rtol=1e-12, atol=0)
    got, config = _run(adam, w, grads, None)
    want, _, _ = _adam_reference(w, grads, 1e-3, 0.9, 0.999, 1e-8)
    for g, r in zip(got, want, strict=True):
        assert rel_error(g - w, r - w) < 1e-6
    assert (config["learning_rate"], config["beta1"], config["beta2"], config["epsilon"]) == (
        1e-3, 0.9, 0.999, 1e-8)


@contract
def adam_first_step_is_learning_rate_times_sign_of_gradient():
    from cs231n.optim import adam

    w, grads = _opt_problem(32)
    next_w, config = adam(w.copy(), grads[0].copy(), {"epsilon": 0.0})
    assert config["t"] == 1
    assert np.allclose(next_w, w - 1e-3 * np.sign(grads[0]), rtol=1e-12, atol=1e-15)


@contract
def rmsprop_and_adam_survive_a_zero_gradient():
    from cs231n.optim import adam, rmsprop

    w = np.random.RandomState(33).randn(3, 3)
    for rule in (rmsprop, adam):
        next_w, _ = rule(w.copy(), np.zeros_like(w))
        assert np.all(np.isfinite(next_w)) and np.allclose(next_w, w), rule.__name__


# --- networks ----------------------------------------------------------------------------------

def _published_two_layer_net():
    from cs231n.classifiers.fc_net import TwoLayerNet

    np.random.seed(231)
    N, D, H, C = 3, 5, 50, 7
    np.random.randn(N, D)
    np.random.randint(C, size=N)
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=1e-3)
    model.params.update(W1=grid(-0.7, 0.3, D, H), b1=grid(-0.1, 0.9, H),
                        W2=grid(-0.3, 0.4, H, C), b2=grid(-0.9, 0.1, C))
    X = grid(-5.5, 4.5, D, N).T
    return model, X, np.array([0, 5, 1])


@contract
def two_layer_net_reproduces_published_scores_and_losses():
    model, X, y = _published_two_layer_net()
    scores = model.loss(X)
    row0 = [11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765,
            16.09215096]
    assert scores.shape == (3, 7) and np.allclose(scores[0], row0, rtol=0, atol=1e-7)
    loss, grads = model.loss(X, y)
    assert abs(loss - 3.4702243556) < 1e-10, loss
    assert set(grads) == set(model.params)
    model.reg = 1.0
    loss, _ = model.loss(X, y)
    assert abs(loss - 26.5948426952) < 1e-10, loss


@contract
def two_layer_net_init_draws_W1_then_W2_and_zero_biases():
    from cs231n.classifiers.fc_net import TwoLayerNet

    np.random.seed(34)
    model = TwoLayerNet(input_dim=6, hidden_dim=8, num_classes=3, weight_scale=0.05, reg=0.2)
    after = np.random.rand()
    np.random.seed(34)
    W1, W2 = 0.05 * np.random.randn(6, 8), 0.05 * np.random.randn(8, 3)
    assert np.random.rand() == after, "the initialisation drew a different amount of numbers"
    p = model.params
    assert set(p) == {"W1", "b1", "W2", "b2"} and model.reg == 0.2
    assert np.array_equal(p["W1"], W1) and np.array_equal(p["W2"], W2)
    assert p["b1"].shape == (8,) and p["b2"].shape == (3,)
    assert not p["b1"].any() and not p["b2"].any()
    default = TwoLayerNet()
    assert default.params["W1"].shape == (3072, 100) and default.params["W2"].shape == (100, 10)
    assert abs(np.std(default.params["W1"]) - 1e-3) < 1e-4 and default.reg == 0.0


def _net_loss_reference(params, X, y, reg, num_layers):
    h = X.reshape(len(X), -1)
    for i in range(1, num_layers + 1):
        h = h @ params[f"W{i}"] + params[f"b{i}"]
        if i < num_layers:
            h = np.maximum(h, 0)
    penalty = sum(np.sum(params[f"W{i}"] ** 2) for i in range(1, num_layers + 1))
    return h, cross_entropy(h, y) + 0.5 * reg * penalty


def _random_params(model, seed):
    rng = np.random.RandomState(seed)
    for name, value in model.params.items():
        model.params[name] = rng.randn(*value.shape) * (0.5 if name[0] == "W" else 0.1)


def _assert_net_matches_reference(model, X, y, reg, num_layers, loss_tol, case):
    """Scores, loss and every gradient of model against _net_loss_reference and centred
    differences."""
    scores, want = _net_loss_reference(model.params, X, y, reg, num_layers)
    assert np.allclose(model.loss(X), scores, rtol=1e-12, atol=1e-12), case
    loss, grads = model.loss(X, y)
    assert abs(loss - want) < loss_tol and set(grads) == set(model.params), case
    for name in model.params:
        assert_grad(grads[name], lambda m=model: m.loss(X, y)[0], model.params[name],
                    what=f"{name} {case}")


@contract
def two_layer_net_loss_and_gradients_match_an_independent_computation():
    from cs231n.classifiers.fc_net import TwoLayerNet

    rng = np.random.RandomState(35)
    X, y = rng.randn(4, 2, 3), rng.randint(3, size=4)
    for reg in (0.0, 0.7):
        model = TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=3, reg=reg)
        _random_params(model, 36)
        _assert_net_matches_reference(model, X, y, reg, 2, 1e-12, f"reg={reg}")


@contract
def fully_connected_net_init_draws_one_matrix_per_layer_in_order_and_zero_biases():
    from cs231n.classifiers.fc_net import FullyConnectedNet

    for dtype in (np.float64, np.float32):
        np.random.seed(37)
        model = FullyConnectedNet([7, 6], input_dim=5, num_classes=4, weight_scale=0.05,
                                  reg=0.1, dtype=dtype)
        after = np.random.rand()
        np.random.seed(37)
        draws = [0.05 * np.random.randn(a, b) for a, b in ((5, 7), (7, 6), (6, 4))]
        assert np.random.rand() == after, "the initialisation drew a different amount"
        assert model.num_layers == 3 and model.reg == 0.1
        assert set(model.params) == {"W1", "W2", "W3", "b1", "b2", "b3"}
        for i, (W, size) in enumerate(zip(draws, (7, 6, 4), strict=True), start=1):
            got_W, got_b = model.params[f"W{i}"], model.params[f"b{i}"]
            assert got_W.dtype == dtype and got_b.dtype == dtype
            assert np.array_equal(got_W, W.astype(dtype))
            assert got_b.shape == (size,) and not got_b.any()


@contract
def fully_connected_net_rejects_dropout_and_normalization():
    from cs231n.classifiers.fc_net import FullyConnectedNet

    for kwargs in ({"dropout_keep_ratio": 0.5}, {"normalization": "batchnorm"}):
        try:
            FullyConnectedNet([4], input_dim=3, num_classes=2, **kwargs)
        except ValueError:
            continue
        raise AssertionError(f"no ValueError for {kwargs}")


@contract
def fully_connected_net_loss_and_gradients_match_an_independent_computation():
    from cs231n.classifiers.fc_net import FullyConnectedNet

    rng = np.random.RandomState(38)
    X, y = rng.randn(3, 5), rng.randint(4, size=3)
    for hidden in ([], [6], [7, 5, 6]):
        for reg in (0.0, 3.14):
            model = FullyConnectedNet(hidden, input_dim=5, num_classes=4, reg=reg,
                                      weight_scale=5e-2, dtype=np.float64)
            _random_params(model, 39)
            _assert_net_matches_reference(model, X, y, reg, len(hidden) + 1, 1e-11,
                                          f"hidden={hidden} reg={reg}")


@contract
def fully_connected_net_float32_computes_in_float32():
    from cs231n.classifiers.fc_net import FullyConnectedNet

    rng = np.random.RandomState(40)
    X, y = rng.randn(6, 2, 4), rng.randint(3, size=6)
    model = FullyConnectedNet([5, 4], input_dim=8, num_classes=3, reg=0.1, weight_scale=0.5)
    scores = model.loss(X)
    assert scores.shape == (6, 3) and scores.dtype == np.float32
    loss, grads = model.loss(X, y)
    params64 = {k: v.astype(np.float64) for k, v in model.params.items()}
    assert abs(loss - _net_loss_reference(params64, X.astype(np.float32), y, 0.1, 3)[1]) < 1e-4
    assert all(grads[k].dtype == np.float32 for k in model.params)


@contract
def networks_leave_X_unchanged():
    from cs231n.classifiers.fc_net import FullyConnectedNet, TwoLayerNet

    rng = np.random.RandomState(41)
    X, y = rng.randn(5, 6), rng.randint(3, size=5)
    X0 = X.copy()
    for model in (TwoLayerNet(input_dim=6, hidden_dim=4, num_classes=3, reg=0.1),
                  FullyConnectedNet([4, 4], input_dim=6, num_classes=3, reg=0.1,
                                    dtype=np.float64)):
        model.loss(X)
        model.loss(X, y)
        assert np.array_equal(X, X0), type(model).__name__


# --- runner ------------------------------------------------------------------------------------

def main(pkg_parent, out_json, names=None):
    sys.path.insert(0, pkg_parent)
    import cs231n

    assert cs231n.__file__.startswith(pkg_parent), f"imported the wrong cs231n: {cs231n.__file__}"
    results = {}
    for name in names or CONTRACTS:
        try:
            CONTRACTS[name]()
            results[name] = "ok"
        except Exception:
            results[name] = traceback.format_exc(limit=-3)
    with open(out_json, "w") as fh:
        json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
