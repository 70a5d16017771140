"""Check your work: python check.py [q1 q2 ...] [--modules | --notebooks] [--json FILE]

Run it in the assignment folder (where this file is). Two kinds of checks, then a summary by
question:

- module checks: each function you write in cs231n/ is called on small inputs and compared with
  the numbers the notebooks publish, with numeric gradients, and with what its contract
  guarantees (shapes, tie-breaking, optimizer state). They take seconds.
- notebook checks: each notebook runs from top to bottom in grading mode (CS231N_GRADING_MODE=1:
  a small subset of CIFAR-10 and short searches, about a minute per notebook) in a kernel of
  its own, and every test cell you can see is checked. Your notebook files are not modified,
  and the models in cs231n/saved/ are put back as they were. CIFAR-10 is looked for first (as
  the notebooks look for it: $CS231N_CIFAR10_DIR, else cs231n/datasets/cifar-10-batches-py);
  without it the notebooks that load it are not run, and check.py says what to do.

Cells are named as Jupyter shows them after Kernel > Restart & Run All (In [n]), test cells
also by their grade id; each question ends with what to do next.

These are the public checks. The autograder uses other inputs, hidden tests and your saved
models, so passing here is necessary, not sufficient.
"""
import argparse
import contextlib
import json
import os
import re
import signal
import sys
import tempfile
import textwrap
import traceback
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

# The questions: id -> (notebook, title), written by `make release` from the course manifest.
QUESTIONS = {
    "q1": ["knn.ipynb", "k-nearest neighbour"],
    "q2": ["softmax.ipynb", "softmax classifier"],
    "q3": ["two_layer_net.ipynb", "two-layer network"],
    "q4": ["features.ipynb", "image features"],
    "q5": ["FullyConnectedNets.ipynb", "fully connected networks"],
}  # from course.toml
NOT_DONE = "not implemented yet"
CHECK_SECONDS = 60
CELL_SECONDS = 600

MODULE_CHECKS = []  # (question, function name, check function), in question order


def check(question, function):
    def register(fn):
        MODULE_CHECKS.append((question, function, fn))
        return fn
    return register


class NotDone(Exception):
    """The function still is the stub of the release."""


def rel_error(x, y):
    """Largest relative error between two arrays (as in the notebooks)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def plain(value):
    """A value as plain Python numbers for a message: [3.0, 1.0], not
    [np.float64(3.0), np.float64(1.0)] (numpy 2's repr of its scalars)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_close(actual, expected, tol, what):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    expect(actual.shape == expected.shape,
           f"{what}: shape {actual.shape}, expected {expected.shape}")
    expect(np.all(np.isfinite(actual)), f"{what}: contains NaN or inf")
    error = rel_error(actual, expected)
    expect(error < tol, f"{what}: relative error {error:.2e}, should be below {tol:.0e}")


def numeric_grad(f, x):
    from cs231n.gradient_check import eval_numerical_gradient
    return eval_numerical_gradient(lambda _: f(), x, verbose=False)


def numeric_grad_array(f, x, dout):
    from cs231n.gradient_check import eval_numerical_gradient_array
    return eval_numerical_gradient_array(lambda _: f(), x, dout)


# --- Q1: k-nearest neighbour ----------------------------------------------------------------------

def _knn_data():
    rng = np.random.RandomState(11)
    X_train, X_test = rng.randn(12, 7), rng.randn(5, 7)
    diff = X_test[:, np.newaxis, :] - X_train[np.newaxis, :, :]
    reference = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    return X_train, rng.randint(3, size=12), X_test, reference


def _check_distances(method):
    from cs231n.classifiers.k_nearest_neighbor import KNearestNeighbor
    X_train, y_train, X_test, reference = _knn_data()
    knn = KNearestNeighbor()
    knn.train(X_train, y_train)
    expect_close(getattr(knn, method)(X_test), reference, 1e-10, f"{method} distances")


@check("q1", "KNearestNeighbor.compute_distances_two_loops")
def check_two_loops():
    _check_distances("compute_distances_two_loops")


@check("q1", "KNearestNeighbor.compute_distances_one_loop")
def check_one_loop():
    _check_distances("compute_distances_one_loop")


@check("q1", "KNearestNeighbor.compute_distances_no_loops")
def check_no_loops():
    _check_distances("compute_distances_no_loops")


@check("q1", "KNearestNeighbor.predict_labels")
def check_predict_labels():
    from cs231n.classifiers.k_nearest_neighbor import KNearestNeighbor
    knn = KNearestNeighbor()
    knn.train(np.zeros((5, 2)), np.array([3, 1, 2, 1, 3]))
    dists = np.array([[0.1, 0.2, 5.0, 6.0, 7.0],
                      [9.0, 1.0, 2.0, 3.0, 8.0]])
    # k=1: the nearest label; k=2, row 0: labels 3 and 1 tie, the smaller (1) wins;
    # k=3, row 1: labels 1, 2, 1, so 1.
    for k, expected in [(1, [3, 1]), (2, [1, 1]), (3, [1, 1])]:
        got = np.asarray(knn.predict_labels(dists, k=k))
        expect(got.shape == (2,), f"predict_labels(k={k}) shape {got.shape}, expected (2,)")
        expect(plain(got) == expected, f"predict_labels(k={k}) gave {plain(got)}, expected "
               f"{expected} (ties go to the smaller label)")


# --- Q2: softmax ----------------------------------------------------------------------------------

def _softmax_data(seed=2):
    rng = np.random.RandomState(seed)
    return 0.001 * rng.randn(20, 10), rng.randn(30, 20), rng.randint(10, size=30)


def _check_softmax_loss(loss_fn, name):
    W, X, y = _softmax_data()
    loss, _ = loss_fn(np.zeros_like(W), X, y, 0.5)
    expect_close(loss, np.log(10), 1e-10, f"{name} loss at W = 0 (must be log(10))")
    loss0, _ = loss_fn(W, X, y, 0.0)
    loss1, _ = loss_fn(W, X, y, 0.3)
    expect_close(loss1 - loss0, 0.3 * np.sum(W * W), 1e-6, f"{name}: the reg term")
    for reg in (0.0, 0.3):
        _, grad = loss_fn(W, X, y, reg)
        expect(np.any(grad != 0), f"{name}: the gradient is all zeros")
        numeric = numeric_grad(lambda r=reg: loss_fn(W, X, y, r)[0], W)
        expect_close(grad, numeric, 1e-6, f"{name} gradient (reg={reg}) vs numeric")


@check("q2", "softmax_loss_naive")
def check_softmax_naive():
    from cs231n.classifiers.softmax import softmax_loss_naive
    _check_softmax_loss(softmax_loss_naive, "softmax_loss_naive")


@check("q2", "softmax_loss_vectorized")
def check_softmax_vectorized():
    from cs231n.classifiers.softmax import softmax_loss_vectorized
    _check_softmax_loss(softmax_loss_vectorized, "softmax_loss_vectorized")


def _blobs(seed=3, n=300, d=10, c=3):
    rng = np.random.RandomState(seed)
    y = rng.randint(c, size=n)
    centers = 3.0 * rng.randn(c, d)
    X = centers[y] + rng.randn(n, d)
    return np.hstack([X, np.ones((n, 1))]), y


@check("q2", "LinearClassifier.train")
def check_linear_train():
    from cs231n.classifiers.linear_classifier import Softmax
    X, y = _blobs()
    np.random.seed(0)
    linear = Softmax()
    history = linear.train(X, y, learning_rate=0.05, reg=1e-4, num_iters=150, batch_size=40)
    expect(len(history) == 150, f"train returned {len(history)} losses for 150 iterations")
    expect(linear.W is not None and linear.W.shape == (11, 3),
           f"W has shape {getattr(linear.W, 'shape', None)}, expected (11, 3)")
    first, last = np.mean(history[:10]), np.mean(history[-10:])
    expect(np.isfinite(last) and last < 0.7 * first,
           f"the loss did not go down on easy data (from {first:.3f} to {last:.3f})")


@check("q2", "LinearClassifier.predict")
def check_linear_predict():
    from cs231n.classifiers.linear_classifier import Softmax
    linear = Softmax()
    labels = np.array([2, 0, 1, 2, 1])
    linear.W = np.zeros((5, 3))
    linear.W[np.arange(5), labels] = 1.0  # row i of X = e_i scores class labels[i] highest
    got = np.asarray(linear.predict(np.eye(5)))
    expect(got.shape == (5,), f"predict returned shape {got.shape}, expected (5,)")
    expect(plain(got) == plain(labels), f"predict gave {plain(got)}, expected {plain(labels)}")


# --- Q3: layers and the two-layer network ---------------------------------------------------------

@check("q3", "affine_forward")
def check_affine_forward():
    from cs231n.layers import affine_forward
    x = np.linspace(-0.1, 0.5, num=240).reshape(2, 4, 5, 6)
    w = np.linspace(-0.2, 0.3, num=360).reshape(120, 3)
    b = np.linspace(-0.3, 0.1, num=3)
    out, _ = affine_forward(x, w, b)
    published = [[1.49834967, 1.70660132, 1.91485297], [3.25553199, 3.5141327, 3.77273342]]
    expect_close(out, published, 1e-7, "affine_forward on the notebook's example")


@check("q3", "affine_backward")
def check_affine_backward():
    from cs231n.layers import affine_backward, affine_forward
    rng = np.random.RandomState(4)
    x, w, b, dout = rng.randn(6, 2, 3), rng.randn(6, 4), rng.randn(4), rng.randn(6, 4)
    _, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)
    expect(np.shape(dx) == x.shape, f"dx has shape {np.shape(dx)}, expected x's {x.shape}")
    expect_close(dx, numeric_grad_array(lambda: affine_forward(x, w, b)[0], x, dout), 1e-7, "dx")
    expect_close(dw, numeric_grad_array(lambda: affine_forward(x, w, b)[0], w, dout), 1e-7, "dw")
    expect_close(db, numeric_grad_array(lambda: affine_forward(x, w, b)[0], b, dout), 1e-7, "db")


@check("q3", "relu_forward")
def check_relu_forward():
    from cs231n.layers import relu_forward
    out, _ = relu_forward(np.linspace(-0.5, 0.5, num=12).reshape(3, 4))
    published = [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.04545455, 0.13636364],
                 [0.22727273, 0.31818182, 0.40909091, 0.5]]
    expect_close(out, published, 1e-6, "relu_forward on the notebook's example")


@check("q3", "relu_backward")
def check_relu_backward():
    from cs231n.layers import relu_backward, relu_forward
    rng = np.random.RandomState(5)
    x, dout = rng.randn(8, 9), rng.randn(8, 9)
    _, cache = relu_forward(x)
    dx = relu_backward(dout, cache)
    expect_close(dx, numeric_grad_array(lambda: relu_forward(x)[0], x, dout), 1e-9, "dx")


@check("q3", "softmax_loss")
def check_layers_softmax_loss():
    from cs231n.layers import softmax_loss
    np.random.seed(231)
    x = 0.001 * np.random.randn(50, 10)
    y = np.random.randint(10, size=50)
    loss, dx = softmax_loss(x, y)
    expect_close(loss, 2.3025458445007376, 1e-9, "softmax_loss on the notebook's example")
    expect_close(dx, numeric_grad(lambda: softmax_loss(x, y)[0], x), 1e-7, "dx vs numeric")


def _published_two_layer_net(model):
    N, D, H, C = 3, 5, 50, 7
    model.params["W1"] = np.linspace(-0.7, 0.3, num=D * H).reshape(D, H)
    model.params["b1"] = np.linspace(-0.1, 0.9, num=H)
    model.params["W2"] = np.linspace(-0.3, 0.4, num=H * C).reshape(H, C)
    model.params["b2"] = np.linspace(-0.9, 0.1, num=C)
    return np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T, np.asarray([0, 5, 1])


@check("q3", "TwoLayerNet.__init__")
def check_two_layer_init():
    from cs231n.classifiers.fc_net import TwoLayerNet
    np.random.seed(231)
    model = TwoLayerNet(input_dim=40, hidden_dim=50, num_classes=7, weight_scale=1e-2)
    shapes = {"W1": (40, 50), "b1": (50,), "W2": (50, 7), "b2": (7,)}
    expect(set(model.params) == set(shapes), f"params keys {sorted(model.params)}, expected "
           f"{sorted(shapes)}")
    for name, shape in shapes.items():
        expect(model.params[name].shape == shape,
               f"{name} has shape {model.params[name].shape}, expected {shape}")
    for name in ("b1", "b2"):
        expect(np.all(model.params[name] == 0), f"{name} must be zeros")
    for name in ("W1", "W2"):
        std = model.params[name].std()
        expect(0.005 < std < 0.02, f"{name} has std {std:.4f}, expected about weight_scale=0.01")


@check("q3", "TwoLayerNet.loss")
def check_two_layer_loss():
    from cs231n.classifiers.fc_net import TwoLayerNet
    np.random.seed(231)
    model = TwoLayerNet(input_dim=5, hidden_dim=50, num_classes=7, weight_scale=1e-3)
    X, y = _published_two_layer_net(model)
    scores = model.loss(X)
    published_row0 = [11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434,
                      15.33206765, 16.09215096]
    expect(np.shape(scores) == (3, 7), f"scores have shape {np.shape(scores)}, expected (3, 7)")
    expect_close(scores[0], published_row0, 1e-7, "scores (row 0) on the notebook's example")
    for reg, published in ((0.0, 3.4702243556), (1.0, 26.5948426952)):
        model.reg = reg
        loss, _ = model.loss(X, y)
        expect(abs(loss - published) < 1e-9,
               f"loss with reg={reg} is {plain(loss)}, the notebook's is {published}")
    rng = np.random.RandomState(6)
    X, y = rng.randn(4, 6), rng.randint(3, size=4)
    for reg in (0.0, 0.7):
        model = TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=3, weight_scale=0.5, reg=reg)
        _, grads = model.loss(X, y)
        expect(set(grads) == set(model.params), "grads must have the keys of params")
        for name, value in model.params.items():
            numeric = numeric_grad(lambda m=model: m.loss(X, y)[0], value)
            expect_close(grads[name], numeric, 1e-6, f"grads['{name}'] (reg={reg}) vs numeric")


# --- Q5: fully connected networks and optimizers -------------------------------------------------

@check("q5", "FullyConnectedNet.__init__")
def check_fc_init():
    from cs231n.classifiers.fc_net import FullyConnectedNet
    np.random.seed(231)
    model = FullyConnectedNet([20, 30], input_dim=15, num_classes=10, weight_scale=5e-2,
                              dtype=np.float64)
    shapes = {"W1": (15, 20), "b1": (20,), "W2": (20, 30), "b2": (30,), "W3": (30, 10),
              "b3": (10,)}
    expect(set(model.params) == set(shapes), f"params keys {sorted(model.params)}, expected "
           f"{sorted(shapes)}")
    for name, shape in shapes.items():
        value = model.params[name]
        expect(value.shape == shape, f"{name} has shape {value.shape}, expected {shape}")
        expect(value.dtype == np.float64, f"{name} has dtype {value.dtype}, expected float64")
        if name.startswith("b"):
            expect(np.all(value == 0), f"{name} must be zeros")
        else:
            expect(0.025 < value.std() < 0.1,
                   f"{name} has std {value.std():.4f}, expected about weight_scale=0.05")


@check("q5", "FullyConnectedNet.loss")
def check_fc_loss():
    from cs231n.classifiers.fc_net import FullyConnectedNet
    np.random.seed(231)
    N, D, C = 3, 8, 4
    X, y = np.random.randn(N, D), np.random.randint(C, size=N)
    for hidden in ([6], [6, 5]):
        for reg in (0.0, 3.14):
            model = FullyConnectedNet(hidden, input_dim=D, num_classes=C, reg=reg,
                                      weight_scale=5e-1, dtype=np.float64)
            scores = model.loss(X)
            expect(np.shape(scores) == (N, C),
                   f"scores have shape {np.shape(scores)}, expected {(N, C)}")
            _, grads = model.loss(X, y)
            expect(set(grads) == set(model.params), "grads must have the keys of params")
            for name, value in model.params.items():
                numeric = numeric_grad(lambda m=model: m.loss(X, y)[0], value)
                expect_close(grads[name], numeric, 1e-5,
                             f"grads['{name}'] ({len(hidden)} hidden, reg={reg}) vs numeric")


def _optim_data():
    rng = np.random.RandomState(7)
    w = rng.randn(4, 5)
    dw = rng.randn(4, 5)
    dw[np.abs(dw) < 0.1] = 0.5  # steps of a sign are only clean when |dw| >> epsilon
    return w, dw


@check("q5", "sgd_momentum")
def check_sgd_momentum():
    from cs231n.optim import sgd_momentum
    w, dw = _optim_data()
    config = {"learning_rate": 1e-2, "momentum": 0.9}
    w1, config = sgd_momentum(w, dw, config)
    # From zero velocity the first step is plain SGD; with the same dw again the velocity
    # has grown by the momentum: the second step is (1 + momentum) times the first.
    expect_close(w1 - w, -1e-2 * dw, 1e-9, "first momentum step")
    expect("velocity" in config, "the velocity must be kept in config['velocity']")
    w2, config = sgd_momentum(w1, dw, config)
    expect_close(w2 - w1, -1.9e-2 * dw, 1e-9, "second momentum step")


@check("q5", "rmsprop")
def check_rmsprop():
    from cs231n.optim import rmsprop
    w, dw = _optim_data()
    config = {"learning_rate": 1e-2}
    w1, config = rmsprop(w, dw, config)
    # With the default decay 0.99 the cache is 0.01 dw**2 after one step and 0.0199 dw**2
    # after two with the same dw: each step is about learning_rate / sqrt(cache / dw**2).
    expect_close(w1 - w, -1e-2 * np.sign(dw) / np.sqrt(0.01), 1e-5, "first RMSProp step")
    expect("cache" in config, "the cache must be kept in config['cache']")
    w2, config = rmsprop(w1, dw, config)
    expect_close(w2 - w1, -1e-2 * np.sign(dw) / np.sqrt(0.0199), 1e-5, "second RMSProp step")


@check("q5", "adam")
def check_adam():
    from cs231n.optim import adam
    w, dw = _optim_data()
    config = {"learning_rate": 1e-2}
    with np.errstate(all="ignore"):
        w1, config = adam(w, dw, config)
    expect(np.all(np.isfinite(w1)), "adam gave NaN or inf on its first step: increment t "
           "before using it in the bias correction")
    # With bias correction and a constant dw, every step is learning_rate * sign(dw).
    expect_close(w1 - w, -1e-2 * np.sign(dw), 1e-5, "first Adam step")
    expect(config.get("t") == 1,
           f"config['t'] is {plain(config.get('t'))} after one step, expected 1")
    w2, config = adam(w1, dw, config)
    expect_close(w2 - w1, -1e-2 * np.sign(dw), 1e-5, "second Adam step")
    expect(config.get("t") == 2,
           f"config['t'] is {plain(config.get('t'))} after two steps, expected 2")


# --- running the module checks --------------------------------------------------------------------

@contextlib.contextmanager
def time_limit(seconds):
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def stop(signum, frame):
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _not_done(function, message):
    """(message, todo) of a function still a stub, from the stub's message ('<function> in
    cs231n/<file> is not implemented yet: <hint> (see the TODO above)'): its own stub, or the
    stub of a function it needs. todo: what to write, where, and what its TODO asks for."""
    stub, _, rest = message.partition(" in cs231n/")
    path, _, hint = rest.partition(f" is {NOT_DONE}")
    if not path or " " in path or " " in stub:
        return message, ""
    hint = hint.lstrip(": ").replace(" (see the TODO above)", "").strip()
    todo = f"{stub} in cs231n/{path}" + (f" (its TODO: {hint})" if hint else "")
    if stub == function:
        return f"{NOT_DONE} (cs231n/{path})", todo
    return f"needs {stub} first, which is {NOT_DONE} (cs231n/{path})", todo


def run_module_check(function, fn):
    """(status, message, todo): status is 'pass', 'not done' or 'fail'; todo, for 'not done',
    the function to write, its file and what its TODO asks for."""
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught, time_limit(CHECK_SECONDS):
            warnings.simplefilter("always")
            fn()
        error = None
    except NotImplementedError as err:
        return ("not done", *_not_done(function, str(err) or NOT_DONE))
    except AssertionError as err:
        error = str(err)
    except Exception as err:  # the student's code raised: say where
        frame = traceback.extract_tb(err.__traceback__)[-1]
        where = f"{os.path.relpath(frame.filename, HERE)}, line {frame.lineno}"
        error = f"{type(err).__name__}: {err} ({where})"
    for warning in caught:
        if NOT_DONE in str(warning.message):  # a placeholder that warns instead of raising
            return ("not done", *_not_done(function, str(warning.message)))
    return ("fail", error, "") if error else ("pass", "", "")


def run_module_checks(questions):
    results = []
    for question, function, fn in MODULE_CHECKS:
        if question in questions:
            status, message, todo = run_module_check(function, fn)
            results.append(dict(question=question, function=function, status=status,
                                message=message, todo=todo))
    return results


# --- the data -------------------------------------------------------------------------------------

CIFAR10_ENV = "CS231N_CIFAR10_DIR"
CIFAR10_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
# A notebook that loads CIFAR-10 mentions one of these in a code cell.
LOADS_DATA = ("data_utils", "CIFAR10", "cifar10")


def find_cifar10():
    """(folder, missing files): CIFAR-10 looked up the way the notebooks do (cs231n/data_utils.py):
    the folder $CS231N_CIFAR10_DIR when set, else cs231n/datasets/cifar-10-batches-py."""
    folder = os.path.join(HERE, os.environ.get(CIFAR10_ENV) or os.path.join(
        "cs231n", "datasets", "cifar-10-batches-py"))
    missing = [name for name in CIFAR10_FILES if not os.path.isfile(os.path.join(folder, name))]
    return folder, missing


def no_data_message(folder, missing):
    if os.environ.get(CIFAR10_ENV):
        where = f"{CIFAR10_ENV} is set to {os.environ[CIFAR10_ENV]}"
    else:
        where = f"{CIFAR10_ENV} is not set, so the notebooks look in cs231n/datasets"
    found = (f"{folder} has no {', '.join(missing)}" if os.path.isdir(folder)
             else f"there is no folder {folder}")
    # get_datasets.sh leaves an existing cifar-10-batches-py folder alone, even a partial one.
    partial = " (delete the incomplete folder first)" if os.path.isdir(folder) else ""
    return (f"CIFAR-10 not found: {found} ({where}). The notebooks load it, so they were not "
            "run; the module checks ran. Download it once (about 170 MB) with "
            f"`cd cs231n/datasets && bash get_datasets.sh`{partial}, or set "
            f"{CIFAR10_ENV} to the full path of a cifar-10-batches-py folder that holds "
            f"{', '.join(CIFAR10_FILES)}; then run `python check.py` again.")


def loads_data(path):
    """Whether the notebook at `path` loads CIFAR-10 (so cannot run without it)."""
    try:
        with open(path, encoding="utf-8") as f:
            cells = json.load(f).get("cells", [])
    except (OSError, ValueError):
        return False  # run_notebook says what is wrong with the file
    sources = ("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code")
    return any(word in source for source in sources for word in LOADS_DATA)


# --- running the notebooks ------------------------------------------------------------------------

# The kernel prints numpy values as plain numbers ([3.0, 1.0], not [np.float64(3.0), ...]) in the
# messages of the test cells; run at kernel start, before (and not counted as) In [1].
PLAIN_NUMBERS = "__import__('numpy').set_printoptions(legacy='1.25')"
NUMPY_2 = int(np.__version__.split(".")[0]) >= 2


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _is_test_cell(cell):
    meta = _meta(cell)
    return cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution")


def _code_lines(source):
    return [line for line in source.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def _error_of(cell):
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output
    return None


def _error_text(error, cell):
    """'Name: message', in full; an empty message says what it means."""
    ename, evalue = error.get("ename", "Error"), str(error.get("evalue", "")).strip()
    if evalue:  # a stub of cs231n points at its TODO: in the module, not above this cell
        return f"{ename}: {evalue.replace('(see the TODO above)', '(see the TODO there)')}"
    if ename == "NotImplementedError":
        what = "this cell" if _meta(cell).get("solution") else "this cell or a function it calls"
        return (f"NotImplementedError (no message): {what} still raises the placeholder of the "
                "release; replace that `raise NotImplementedError` line with your code")
    return f"{ename} (no message)"


def _in(count):
    return f"In [{count}]" if count is not None else "In [ ]"


def _first_line(source):
    return next((line.strip() for line in source.splitlines() if line.strip()), "")


def _crash_reason(err):
    """What stopped a notebook run, in words."""
    name = type(err).__name__
    if name == "CellTimeoutError":
        return (f"a cell ran for more than {CELL_SECONDS} s and was stopped; in grading mode "
                "every cell should take seconds: look for a loop over the full data")
    if name == "DeadKernelError":
        return "the kernel died while a cell was running (out of memory?)"
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{name}: {first}" if first else name


def notebook_results(nb, crash=None):
    """What an executed notebook (a dict or nbformat node) says: (results, first_error).

    results: one dict per test cell you can see (cell: its grade id, execution_count: its In [n]
    or None when it did not run, status: pass / fail / not run / hidden, message).
    first_error: the first error of a cell that is not a test cell (dict with execution_count,
    start: the cell's first line, message), or None. `crash`: why the run stopped early, if it did.
    """
    first_error, last_error, results, last_count, stopped_at = None, None, [], 0, None
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        count, source = cell.get("execution_count"), "".join(cell.get("source", ""))
        if count is not None:
            last_count = count
        elif crash and stopped_at is None and _code_lines(source):
            stopped_at = last_count + 1  # the In [n] Jupyter would give the cell that hung
        error = _error_of(cell)
        if error and not _is_test_cell(cell):
            last_error = count
            if first_error is None:
                stub = str(error.get("evalue", "")) if error.get("ename") == "NotImplementedError" \
                    else ""
                first_error = dict(execution_count=count, start=_first_line(source),
                                   message=_error_text(error, cell), todo=_not_done("", stub)[1])
        if not _is_test_cell(cell):
            continue
        grade_id = _meta(cell).get("grade_id", "(no grade id)")
        if not _code_lines(source):
            status, message = "hidden", "hidden tests only: the autograder checks this part"
        elif error:
            status, message = "fail", _error_text(error, cell)
            # An error other than the test's own verdict, after a cell that failed: most likely
            # what this test uses is missing (NameError) or wrong because of that cell.
            if error.get("ename") != "AssertionError" and first_error:
                message += (f" ({_in(last_error)} above failed, so what this test uses may be "
                            "missing or wrong: fix that cell first)")
        elif count is None:
            status = "not run"
            message = (f"not run: the notebook stopped at {_in(stopped_at)} ({crash})" if crash
                       else "not run: the kernel did not run this cell")
        else:
            status, message = "pass", ""
        results.append(dict(cell=grade_id, execution_count=count, status=status, message=message))
    return results, first_error


def _snapshot(folder):
    files = {}
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    files[name] = f.read()
    return files


def _restore(folder, files):
    if not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        if name not in files and os.path.isfile(os.path.join(folder, name)):
            os.remove(os.path.join(folder, name))
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


def _kernel_manager(tmp):
    """A python3 kernel; on Linux and macOS over local sockets (no TCP ports, no warning)."""
    from jupyter_client.manager import KernelManager

    if os.name == "posix":
        return KernelManager(kernel_name="python3", transport="ipc",
                             ip=os.path.join(tmp, "kernel"))
    return KernelManager(kernel_name="python3")


def run_notebook(name):
    """Execute a copy of one notebook in grading mode.

    Returns dict(cells=notebook_results' results, or None when it was not run, first_error=...,
    not_run=why it was not run, or None, crash=why the run stopped early, or None).
    """
    path = os.path.join(HERE, name)
    if not os.path.exists(path):
        return dict(cells=None, first_error=None,
                    not_run=f"{name} is missing from {HERE}: put it back under this name")
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError as err:
        return dict(cells=None, first_error=None, not_run=f"cannot run notebooks ({err}): "
                    "run `pip install -r requirements.txt` in this folder, then check again")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # not JSON, or not a notebook
        return dict(cells=None, first_error=None, not_run=f"{name} cannot be read as a notebook "
                    f"({type(err).__name__}: {err}); restore it from a backup or from git")
    saved_dir = os.path.join(HERE, "cs231n", "saved")
    saved = _snapshot(saved_dir)
    os.environ["CS231N_GRADING_MODE"] = "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    crash = None
    with tempfile.TemporaryDirectory() as tmp:
        km = _kernel_manager(tmp)
        try:
            client = NotebookClient(
                nb, km=km, timeout=CELL_SECONDS, allow_errors=True,
                resources={"metadata": {"path": HERE}},
                extra_arguments=[f"--IPKernelApp.exec_lines={PLAIN_NUMBERS}"] if NUMPY_2 else [])
            client.execute()
        except Exception as err:  # a dead kernel or a cell over the time limit
            crash = _crash_reason(err)
        finally:
            if km.has_kernel:
                km.shutdown_kernel(now=True)
            _restore(saved_dir, saved)
    cells, first_error = notebook_results(nb, crash)
    return dict(cells=cells, first_error=first_error, not_run=None, crash=crash)


# --- the report -----------------------------------------------------------------------------------

WIDTH = 100
MAX_LINES = 8  # of one message; the rest is in the cell's output in the notebook
KEEP = "\0"  # a space wrap() must not break at


def wrap(prefix, text, indent=None):
    """`prefix` then `text`, wrapped at WIDTH between words (nothing is cut off a line; the
    lines after the first indented by `indent`, default under the text); a message of more than
    MAX_LINES lines says where the rest is."""
    lines = str(text).splitlines() or [""]
    if len(lines) > MAX_LINES:
        more = len(lines) - MAX_LINES
        lines = lines[:MAX_LINES] + [f"... ({more} more line(s): see the cell's output in the "
                                     "notebook)"]
    indent = len(prefix) if indent is None else indent
    out = []
    for i, line in enumerate(lines):
        first = prefix if i == 0 else " " * indent
        # Never break inside `In [n]` or a `command`: their spaces are held until wrapped.
        line = re.sub(r"`[^`]*`|In \[", lambda m: m[0].replace(" ", KEEP), line)
        out.extend(textwrap.wrap(line, WIDTH, initial_indent=first,
                                 subsequent_indent=" " * indent, break_long_words=False,
                                 break_on_hyphens=False) or [first.rstrip()])
    return "\n".join(out).replace(KEEP, " ")


def summarize(questions, modules, notebooks):
    """One line per question: 'done', 'not done', or, when the notebook was not checked (--modules,
    or no data), 'code done' / 'not checked'."""
    summary, all_pass = [], True
    for q in questions:
        name, title = QUESTIONS[q]
        funcs = [r for r in modules if r["question"] == q]
        report = notebooks.get(q, {})
        cells = report.get("cells")
        passed_funcs = sum(r["status"] == "pass" for r in funcs)
        parts = [f"{passed_funcs}/{len(funcs)} functions"] if funcs else []
        done = passed_funcs == len(funcs)
        if cells is None:
            not_run = report.get("not_run")
            parts.append("notebook not run" + (": no CIFAR-10 data" if not_run == "no data"
                                               else ""))
        else:
            visible = [c for c in cells if c["status"] != "hidden"]
            passed_cells = sum(c["status"] == "pass" for c in visible)
            parts.append(f"{passed_cells}/{len(visible)} notebook test cells")
            done = done and passed_cells == len(visible) and len(visible) > 0
        state = "done" if done else "not done"
        if cells is None and report.get("not_run") not in (None, "no data"):
            state = "not done"  # the notebook is missing or cannot run
        elif cells is None:  # --modules, or no data: the notebook part is not known
            state = "code done" if funcs and done else "not done" if funcs else "not checked"
        all_pass = all_pass and state != "not done"
        summary.append(dict(question=q, notebook=name, title=title, state=state,
                            detail=", ".join(parts)))
    return summary, all_pass


def next_step(q, funcs, report):
    """What to do next for one question, or None when nothing is left to do here."""
    name = QUESTIONS[q][0]
    rerun = (f"then run {name} again (Kernel > Restart & Run All), save it, and run "
             f"`python check.py {q}`")
    pending = [r for r in funcs if r["status"] != "pass"]
    if pending:
        r = pending[0]
        if r["status"] == "not done":
            what = f"write {r.get('todo') or r['function']}"
        else:
            what = f"fix {r['function']} (its message above)"
        return f"{what}, check it with `python check.py {q} --modules`; {rerun}."
    if report is None or report.get("cells") is None:
        return None  # not run: said on the notebook line (or --modules: nothing more to say)
    first = report.get("first_error")
    if first and first.get("todo"):  # a function of cs231n still a stub
        return (f"write {first['todo']}, check it with `python check.py {q} --modules`; "
                f"{rerun}.")
    if first:
        return (f"open {name} and fix {_in(first['execution_count'])}, the first error (the "
                f"failures after it may only follow from it); {rerun}.")
    failing = [c for c in report["cells"] if c["status"] not in ("pass", "hidden")]
    if failing:
        c = failing[0]
        return (f"open {name} at test cell {c['cell']} ({_in(c['execution_count'])}) and fix what "
                f"it checks (its message above); {rerun}.")
    return None


def print_report(questions, modules, notebooks, summary, data_problem=None):
    for q in questions:
        name, title = QUESTIONS[q]
        print(f"\n{q.upper()} {name} ({title})")
        funcs = [r for r in modules if r["question"] == q]
        for r in funcs:
            mark = {"pass": "ok  ", "not done": "todo", "fail": "FAIL"}[r["status"]]
            extra = f": {r['message']}" if r["status"] != "pass" else ""
            print(wrap(f"  [{mark}] ", f"{r['function']}{extra}"))
        report = notebooks.get(q)
        if report is not None and report.get("cells") is None:
            why = report.get("not_run")
            print(wrap("  ", "notebook not run: no CIFAR-10 data (what to do: above the "
                       "summary)" if why == "no data" else f"notebook not run: {why}"))
        elif report is not None:
            for c in report["cells"]:
                mark = {"pass": "ok  ", "hidden": "    ", "not run": "skip"}.get(c["status"],
                                                                              "FAIL")
                label = f"test cell {c['cell']}"
                if c["status"] != "hidden":
                    label += f", {_in(c['execution_count'])}"
                extra = f": {c['message']}" if c["status"] != "pass" else ""
                print(wrap(f"  [{mark}] ", label + extra))
            first = report.get("first_error")
            if first:
                start = f', the cell starting "{first["start"]}"' if first["start"] else ""
                print(wrap("  first error: ", f"{_in(first['execution_count'])}{start}: "
                           f"{first['message']}"))
        step = next_step(q, funcs, report)
        if step:
            print(wrap("  next: ", step))
    if data_problem:
        print()
        print(wrap("", data_problem, indent=0))
    print("\nSummary")
    for s in summary:
        print(f"  {s['question'].upper()} {s['notebook']:<26} {s['state']:<11} ({s['detail']})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="*", metavar="qN",
                        help=f"questions to check ({', '.join(QUESTIONS)}; default: all)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--modules", action="store_true", help="only the module checks")
    group.add_argument("--notebooks", action="store_true", help="only the notebook checks")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    questions = [q.lower() for q in args.questions] or list(QUESTIONS)
    unknown = [q for q in questions if q not in QUESTIONS]
    if unknown:
        parser.error(f"unknown question(s) {', '.join(unknown)}: use {', '.join(QUESTIONS)}")

    if NUMPY_2:  # messages show plain numbers
        np.set_printoptions(legacy="1.25")
    modules = [] if args.notebooks else run_module_checks(questions)
    notebooks, data_problem, data = {}, None, None
    if not args.modules:
        folder, missing = find_cifar10()
        data = dict(folder=folder, missing=missing)
        for q in questions:
            name = QUESTIONS[q][0]
            if missing and loads_data(os.path.join(HERE, name)):
                print(f"check.py: {name} not run: no CIFAR-10 data", flush=True)
                notebooks[q] = dict(cells=None, first_error=None, not_run="no data")
                data_problem = no_data_message(folder, missing)
                continue
            print(f"check.py: running {name} in grading mode ...", flush=True)
            notebooks[q] = run_notebook(name)
    summary, all_pass = summarize(questions, modules, notebooks)
    print_report(questions, modules, notebooks, summary, data_problem)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(dict(modules=modules, notebooks=notebooks, summary=summary, data=data), f,
                      indent=1)
    return 0 if all_pass and not data_problem else 1


if __name__ == "__main__":
    sys.exit(main())
