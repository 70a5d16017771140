"""The hidden checks of a submitted `cs231n` package (run by coursekit.grader.driver).

Each check builds its own inputs from `ctx.rng` (seeded from the check's id), runs the
submission's code in the sandboxed worker and judges the result: `ctx.expect` against the
reference values that the same check recorded on the master package (`make references`),
`ctx.require` for properties, numeric gradients for analytic ones. The inputs differ from the
notebooks' published checks (other seeds and shapes) and exercise what those cannot see:
negative pre-activations at every layer, large scores, ties, state carried across optimizer steps.

Points per check: rubric.toml. A check passes or fails as a whole. Nets and the linear
classifier's training run with the grader's layer functions and loss (LAYER_PATCH, oracles), so
a bug in a layer costs points in that layer's checks only.
"""

import numpy as np

from coursekit.grader.context import CheckFailed
from coursekit.grader.driver import check
from coursekit.grader.master import master_module
from coursekit.grader.rules import count_loops, find_function, forbidden_uses

KNN = "cs231n.classifiers.k_nearest_neighbor"
KNN_CLS = KNN + ":KNearestNeighbor"
KNN_FILE = "classifiers/k_nearest_neighbor.py"
SOFTMAX = "cs231n.classifiers.softmax"
LINEAR = "cs231n.classifiers.linear_classifier"
LAYERS = "cs231n.layers"
FC = "cs231n.classifiers.fc_net"
OPTIM = "cs231n.optim"
SOLVER = "cs231n.solver"


# ---------------------------------------------------------------------------------------------
# k-nearest neighbours

DIST_METHODS = {
    "two_loops": ("compute_distances_two_loops", 2),
    "one_loop": ("compute_distances_one_loop", 1),
    "no_loops": ("compute_distances_no_loops", 0),
}


def knn_data(ctx, n_train=40, n_test=17, dim=24):
    X_train = ctx.rng.randint(0, 256, size=(n_train, dim)).astype(np.float64)
    X_test = ctx.rng.randint(0, 256, size=(n_test, dim)).astype(np.float64)
    y_train = ctx.rng.randint(0, 6, size=n_train)
    return X_train, y_train, X_test


def knn_model(ctx, X_train, y_train):
    handle = ctx.new(KNN_CLS)
    ctx.call((handle, "train"), X_train, y_train, what="KNearestNeighbor.train(X, y)")
    return handle


def check_distances(ctx, method):
    X_train, y_train, X_test = knn_data(ctx)
    knn = knn_model(ctx, X_train, y_train)
    dists = ctx.call((knn, method), X_test, what=f"{method}(X)")
    ctx.array(dists, f"the result of {method}", shape=(len(X_test), len(X_train)))
    ctx.expect("dists", dists, f"the distances of {method}", rtol=1e-7, atol=1e-6)


def check_source_rules(ctx, method, max_loops):
    try:
        func, tree = find_function(ctx.source(KNN_FILE), "KNearestNeighbor", method)
    except SyntaxError as exc:
        raise CheckFailed(f"cs231n/{KNN_FILE} could not be parsed ({exc})") from None
    if func is None:
        raise CheckFailed(f"KNearestNeighbor.{method} is missing from cs231n/{KNN_FILE}")
    loops = count_loops(func)
    kinds = {0: "no loop and no comprehension", 1: "a single loop (over the test points)",
             2: "only the two given loops (no loop over the dimension)"}
    ctx.require(loops <= max_loops, f"{method} must use {kinds[max_loops]}; it has {loops} "
                                    "loops/comprehensions")
    bad = forbidden_uses(func, tree)
    ctx.require(not bad, f"{method} must not use np.linalg.norm, scipy or hidden loops; "
                         f"found: {', '.join(bad)}")


for _name, (_method, _loops) in DIST_METHODS.items():

    @check(f"knn.{_name}.values", f"KNearestNeighbor.{_method}", KNN)
    def _distances(ctx, method=_method):
        check_distances(ctx, method)

    @check(f"knn.{_name}.rules", f"KNearestNeighbor.{_method}", KNN)
    def _rules(ctx, method=_method, max_loops=_loops):
        # Only a working function can earn its rule points (a stub has no loops either).
        check_distances(ctx, method)
        check_source_rules(ctx, method, max_loops)


@check("knn.no_loops.speed", "KNearestNeighbor.compute_distances_no_loops", KNN, timeout=30)
def _knn_speed(ctx):
    X_train = ctx.rng.randn(500, 3072)
    X_test = ctx.rng.randn(60, 3072)
    knn = knn_model(ctx, X_train, ctx.rng.randint(0, 10, size=500))
    # The best of several no-loop runs: one call takes milliseconds, so a single run slowed by
    # a busy grading machine must not cost a correct submission its points.
    _, x_handle = ctx.call("numpy:asarray", X_test, keep=True, show="none")
    no_loops = min(ctx.timed((knn, "compute_distances_no_loops"), x_handle,
                             what="compute_distances_no_loops(X)") for _ in range(7))
    # A two-loop version slower than 12x the no-loop one is stopped there: enough to decide.
    two_loops = ctx.timed((knn, "compute_distances_two_loops"), x_handle, limit=max(1.0, 12 *
                          no_loops), what="compute_distances_two_loops(X) (the speed is "
                                          "compared with it)")
    ratio = two_loops / max(no_loops, 1e-9)
    ctx.require(ratio >= 10, f"compute_distances_no_loops is only {ratio:.1f}x faster than the "
                             "two-loop version on 60 x 500 points of 3072 values; a vectorized "
                             "version is at least 10x faster")


def label_case(ctx):
    """Distances whose k nearest labels tie, with the larger label sometimes nearer."""
    num_train = 12
    y_train = np.array([5, 2, 5, 2, 7, 1, 1, 7, 3, 0, 4, 4])
    dists = ctx.rng.uniform(10, 20, size=(6, num_train))
    near = {0: [0, 1, 2, 3],   # 5, 2, 5, 2 -> tie -> 2
            1: [4, 5, 6, 7],   # 7, 1, 1, 7 -> tie -> 1 although a 7 is nearest
            2: [9, 10, 11, 8],  # 0, 4, 4, 3 -> 4
            3: [8, 9, 10, 11],  # 3, 0, 4, 4 -> 4
            4: [7, 0, 4, 2],   # 7, 5, 7, 5 -> tie -> 5
            5: [3, 1, 5, 6]}   # 2, 2, 1, 1 -> tie -> 1
    for row, idx in near.items():
        dists[row, idx] = np.sort(ctx.rng.uniform(1, 5, size=4))
    return y_train, dists


@check("knn.predict_labels.k1", "KNearestNeighbor.predict_labels", KNN)
def _predict_labels_k1(ctx):
    y_train = ctx.rng.randint(0, 10, size=30)
    dists = ctx.rng.uniform(0, 50, size=(11, 30))
    knn = knn_model(ctx, np.zeros((30, 2)), y_train)
    labels = ctx.call((knn, "predict_labels"), dists, k=1, what="predict_labels(dists, k=1)")
    ctx.array(labels, "the predicted labels", shape=(11,))
    ctx.expect("labels", labels, "the labels predicted with k=1", rtol=0, atol=1e-9)


@check("knn.predict_labels.majority", "KNearestNeighbor.predict_labels", KNN)
def _predict_labels_vote(ctx):
    y_train = ctx.rng.randint(0, 4, size=40)
    dists = ctx.rng.uniform(0, 50, size=(15, 40))
    knn = knn_model(ctx, np.zeros((40, 2)), y_train)
    labels = ctx.call((knn, "predict_labels"), dists, k=7, what="predict_labels(dists, k=7)")
    ctx.array(labels, "the predicted labels", shape=(15,))
    ctx.expect("labels", labels, "the labels predicted with k=7", rtol=0, atol=1e-9)


@check("knn.predict_labels.ties", "KNearestNeighbor.predict_labels", KNN)
def _predict_labels_ties(ctx):
    y_train, dists = label_case(ctx)
    knn = knn_model(ctx, np.zeros((len(y_train), 2)), y_train)
    labels = ctx.call((knn, "predict_labels"), dists, k=4, what="predict_labels(dists, k=4)")
    ctx.array(labels, "the predicted labels", shape=(len(dists),))
    ctx.expect("labels", labels, "the labels predicted when votes tie (the smaller label "
                                 "should win)", rtol=0, atol=1e-9)


@check("knn.predict.dispatch", "KNearestNeighbor.predict", KNN)
def _predict_dispatch(ctx):
    X_train, y_train, X_test = knn_data(ctx, n_train=25, n_test=8, dim=10)
    knn = knn_model(ctx, X_train, y_train)
    for num_loops, (_, (method, _)) in zip((2, 1, 0), DIST_METHODS.items(), strict=True):
        predicted = ctx.array(ctx.call((knn, "predict"), X_test, k=3, num_loops=num_loops,
                                       what=f"predict(X, k=3, num_loops={num_loops})"),
                              "the predicted labels", shape=(8,))
        dists = ctx.call((knn, method), X_test, what=f"{method}(X)")
        direct = ctx.call((knn, "predict_labels"), dists, k=3, what="predict_labels(dists, k=3)")
        ctx.require(np.array_equal(predicted, ctx.array(direct, "the labels")),
                    f"predict(X, num_loops={num_loops}) should return predict_labels of the "
                    f"distances of {method}")
    # Which distance function each num_loops calls: the grader stands in for all three (they
    # agree on the values, so only the calls tell them apart).
    exact = np.sqrt(np.maximum(((X_test[:, None, :] - X_train[None, :, :]) ** 2).sum(-1), 0))
    patches = []
    for _, (method, _) in DIST_METHODS.items():
        ctx.oracles[method] = lambda X, exact=exact: exact
        patches.append({"obj": knn, "attr": method, "oracle": method})
    for num_loops, (_, (method, _)) in zip((2, 1, 0), DIST_METHODS.items(), strict=True):
        ctx.oracle_log.clear()
        ctx.call((knn, "predict"), X_test, k=3, num_loops=num_loops, patch=patches,
                 what=f"predict(X, k=3, num_loops={num_loops})")
        called = [name for name, _, _ in ctx.oracle_log]
        ctx.require(called == [method], f"predict(X, num_loops={num_loops}) should compute the "
                                        f"distances with {method} only; it called "
                                        f"{', '.join(called) or 'none of them'}")
    try:
        ctx.call((knn, "predict"), X_test, num_loops=3, what="predict(X, num_loops=3)")
    except CheckFailed as exc:
        ctx.require("ValueError" in str(exc), "predict(X, num_loops=3) should raise ValueError; "
                                              f"instead: {exc}")
    else:
        raise CheckFailed("predict(X, num_loops=3) should raise ValueError")


# ---------------------------------------------------------------------------------------------
# Softmax loss


def softmax_data(ctx, N=16, D=20, C=7, x_scale=2.0):
    W = ctx.rng.randn(D, C) * 0.05
    X = ctx.rng.randn(N, D) * x_scale
    y = ctx.rng.permutation(np.arange(N) % C)
    return W, X, y


@check("softmax.vectorized.loss", "softmax_loss_vectorized", SOFTMAX)
def _softmax_loss(ctx):
    # (The naive version's loss is given code: only its gradient is checked.)
    W, X, y = softmax_data(ctx)
    for reg in (0.0, 0.25):
        loss, _ = ctx.call(f"{SOFTMAX}:softmax_loss_vectorized", W, X, y, reg,
                           what=f"softmax_loss_vectorized(W, X, y, reg={reg})")
        ctx.expect(f"loss_reg{reg}", ctx.scalar(loss, "the loss"), f"the loss at reg={reg}")


for _variant in ("naive", "vectorized"):
    _fn = f"{SOFTMAX}:softmax_loss_{_variant}"
    _label = f"softmax_loss_{_variant}"

    @check(f"softmax.{_variant}.grad", _label, SOFTMAX)
    def _softmax_grad(ctx, fn=_fn, label=_label):
        W, X, y = softmax_data(ctx)
        for reg in (0.0, 0.25):
            _, dW = ctx.call(fn, W, X, y, reg, what=f"{label}(W, X, y, reg={reg})")
            ctx.array(dW, "dW", shape=W.shape)
            ctx.expect(f"dW_reg{reg}", dW, f"dW at reg={reg}", rtol=1e-6, atol=1e-9)

    @check(f"softmax.{_variant}.numeric", _label, SOFTMAX)
    def _softmax_numeric(ctx, fn=_fn, label=_label):
        W, X, y = softmax_data(ctx, N=10, D=9, C=5)
        _, dW = ctx.call(fn, W, X, y, 0.3, what=f"{label}(W, X, y, reg=0.3)")
        dW = ctx.array(dW, "dW", shape=W.shape)
        idx = [tuple(ctx.rng.randint(s) for s in W.shape) for _ in range(12)]
        numeric = ctx.numeric_grad(fn, [W, X, y, 0.3], idx, arg=0, select=[0])
        ctx.expect_grad_close(dW[tuple(np.array(idx).T)], numeric, "dW", tol=1e-6)


@check("softmax.vectorized.large_scores", "softmax_loss_vectorized", SOFTMAX)
def _softmax_large(ctx):
    W, X, y = softmax_data(ctx, x_scale=5000.0)  # scores of about 1000: exp overflows
    loss, dW = ctx.call(f"{SOFTMAX}:softmax_loss_vectorized", W, X, y, 0.1,
                        what="softmax_loss_vectorized on large scores")
    ctx.expect("loss", ctx.scalar(loss, "the loss on large scores"),
               "the loss on large scores (shift the scores by their maximum)", rtol=1e-9)
    ctx.expect("dW", dW, "dW on large scores", rtol=1e-6, atol=1e-9)


@check("softmax.vectorized.rules", "softmax_loss_vectorized", SOFTMAX)
def _softmax_rules(ctx):
    W, X, y = softmax_data(ctx)
    loss, _ = ctx.call(f"{SOFTMAX}:softmax_loss_vectorized", W, X, y, 0.2,
                       what="softmax_loss_vectorized(W, X, y, reg=0.2)")
    ctx.expect("loss", ctx.scalar(loss, "the loss"), "the loss at reg=0.2")
    func, _ = find_function(ctx.source("classifiers/softmax.py"), None, "softmax_loss_vectorized")
    ctx.require(func is not None, "softmax_loss_vectorized is missing")
    ctx.require(count_loops(func) == 0, "softmax_loss_vectorized must not use loops or "
                                        "comprehensions")


# ---------------------------------------------------------------------------------------------
# Linear classifier (trained with the grader's softmax loss, so that only train is judged)

LOSS_PATCH = [{"module": SOFTMAX, "attr": "softmax_loss_vectorized",
               "oracle": "softmax_loss_vectorized"}]


def train_run(ctx, num_iters=12, batch_size=9, lr=0.07, reg=0.003, easy=False):
    N, D, C = 50, 8, 4
    y = ctx.rng.permutation(np.arange(N) % C)
    X = ctx.rng.randn(N, D)
    if easy:
        X[np.arange(N), y] += 4.0
    ctx.oracles["softmax_loss_vectorized"] = master_module(
        "classifiers.softmax").softmax_loss_vectorized
    model = ctx.new(f"{LINEAR}:Softmax", fallback_attrs={"W": None})
    history = ctx.call((model, "train"), X, y, learning_rate=lr, reg=reg, num_iters=num_iters,
                       batch_size=batch_size, verbose=False, seed=ctx.seed, patch=LOSS_PATCH,
                       what=f"train(X, y, num_iters={num_iters}, batch_size={batch_size})")
    calls = [(args, kwargs) for name, args, kwargs in ctx.oracle_log
             if name == "softmax_loss_vectorized"]
    final_W = ctx.get(model, "W", what="reading the classifier's W after train")
    return X, y, history, calls, final_W, lr


def call_arrays(ctx, call):
    args, kwargs = call
    values = list(args) + [kwargs.get(k) for k in ("W", "X", "y", "reg")[len(args):]]
    W, X, y, reg = values
    return ctx.array(W, "W"), ctx.array(X, "X_batch"), ctx.array(y, "y_batch"), reg


@check("linear.train.history", "LinearClassifier.train", LINEAR)
def _train_history(ctx):
    _, _, history, calls, _, _ = train_run(ctx)
    history = ctx.array(history, "the loss history", ndim=1)
    ctx.require(len(history) == 12, f"train(num_iters=12) returned {len(history)} losses; it "
                                    "should return one per iteration")
    ctx.require(len(calls) == 12, f"train(num_iters=12) computed the loss {len(calls)} times; "
                                  "it should compute it once per iteration")
    losses = [float(master_module("classifiers.softmax").softmax_loss_vectorized(
        *call_arrays(ctx, c))[0]) for c in calls]
    ctx.require(np.allclose(history, losses, rtol=1e-12, atol=0),
                "the loss history should hold the loss of each iteration's minibatch, in order")


@check("linear.train.minibatch", "LinearClassifier.train", LINEAR)
def _train_minibatch(ctx):
    X, y, _, calls, _, _ = train_run(ctx, batch_size=9)
    ctx.require(len(calls) > 0, "train never computed the loss")
    rows = {tuple(r): i for i, r in enumerate(X)}
    for call in calls:
        W, X_batch, y_batch, _ = call_arrays(ctx, call)
        ctx.require(X_batch.shape == (9, X.shape[1]) and y_batch.shape == (9,),
                    f"train(batch_size=9) used a minibatch of shape {X_batch.shape} / "
                    f"{y_batch.shape}; it should be (9, {X.shape[1]}) / (9,)")
        for xr, yr in zip(X_batch, y_batch, strict=True):
            i = rows.get(tuple(xr))
            ctx.require(i is not None and y[i] == yr, "each minibatch row should be a row of X "
                                                      "with its own label from y")
        ctx.require(W.shape == (X.shape[1], 4), f"W has shape {W.shape}; it should be "
                                                f"({X.shape[1]}, 4)")


@check("linear.train.sgd_step", "LinearClassifier.train", LINEAR)
def _train_step(ctx):
    _, _, _, calls, final_W, lr = train_run(ctx)
    ctx.require(len(calls) >= 2, "train computed the loss fewer than twice in 12 iterations")
    softmax = master_module("classifiers.softmax").softmax_loss_vectorized
    weights = [call_arrays(ctx, c) for c in calls]
    for (W, Xb, yb, reg), (W_next, _, _, _) in zip(weights, weights[1:], strict=False):
        _, grad = softmax(W, Xb, yb, reg)
        ctx.require(np.allclose(W_next, W - lr * grad, rtol=1e-9, atol=1e-12),
                    "each step should update W to W - learning_rate * gradient")
    W, Xb, yb, reg = weights[-1]
    final_W = ctx.array(final_W, "the classifier's W", shape=W.shape)
    ctx.require(np.allclose(final_W, W - lr * softmax(W, Xb, yb, reg)[1], rtol=1e-9,
                            atol=1e-12), "the last step's update should be kept in self.W")


@check("linear.train.decreases", "LinearClassifier.train", LINEAR)
def _train_decreases(ctx):
    _, _, history, _, _, _ = train_run(ctx, num_iters=60, batch_size=20, lr=0.5, easy=True)
    history = ctx.finite(ctx.array(history, "the loss history", ndim=1), "the loss history")
    ctx.require(len(history) == 60 and np.mean(history[-10:]) < 0.5 * history[0],
                "on easy data the loss should fall to less than half its first value")


@check("linear.predict.values", "LinearClassifier.predict", LINEAR)
def _linear_predict(ctx):
    W = ctx.rng.randn(9, 6)
    X = ctx.rng.randn(25, 9) * 3
    model = ctx.new(f"{LINEAR}:LinearClassifier", fallback_attrs={"W": None})
    ctx.set(model, ["W"], W)
    labels = ctx.call((model, "predict"), X, what="predict(X)")
    ctx.array(labels, "the predicted labels", shape=(25,))
    ctx.expect("labels", labels, "the predicted labels", rtol=0, atol=1e-9)


@check("linear.predict.single_row", "LinearClassifier.predict", LINEAR)
def _linear_predict_single(ctx):
    W = ctx.rng.randn(5, 3) * 100
    X = ctx.rng.randn(1, 5)
    model = ctx.new(f"{LINEAR}:LinearClassifier", fallback_attrs={"W": None})
    ctx.set(model, ["W"], W)
    labels = ctx.call((model, "predict"), X, what="predict(X) for one row")
    ctx.array(labels, "the predicted labels", shape=(1,))
    ctx.expect("labels", labels, "the predicted label of one row", rtol=0, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# Layers


@check("layers.affine_forward.values", "affine_forward", LAYERS)
def _affine_forward(ctx):
    for case, (xshape, M) in enumerate((((5, 2, 3, 4), 6), ((3, 7), 2))):
        x = ctx.rng.randn(*xshape)
        D = int(np.prod(xshape[1:]))
        w, b = ctx.rng.randn(D, M), ctx.rng.randn(M)
        out, _ = ctx.call(f"{LAYERS}:affine_forward", x, w, b, what="affine_forward(x, w, b)")
        ctx.array(out, "out", shape=(xshape[0], M))
        ctx.expect(f"out{case}", out, f"out for x of shape {xshape}", rtol=1e-9, atol=1e-12)


@check("layers.affine_forward.edge_shapes", "affine_forward", LAYERS)
def _affine_forward_edges(ctx):
    # One example, and singleton dimensions: squeeze-based flattening breaks here.
    for case, (xshape, M) in enumerate((((1, 5), 3), ((3, 1, 1, 4), 2), ((1, 2, 1, 3), 1))):
        x = ctx.rng.randn(*xshape)
        D = int(np.prod(xshape[1:]))
        w, b = ctx.rng.randn(D, M), ctx.rng.randn(M)
        out, _ = ctx.call(f"{LAYERS}:affine_forward", x, w, b, what="affine_forward(x, w, b)")
        ctx.array(out, "out", shape=(xshape[0], M))
        ctx.expect(f"out{case}", out, f"out for x of shape {xshape}", rtol=1e-9, atol=1e-12)


def affine_backward_case(ctx):
    x = ctx.rng.randn(4, 3, 2, 5)
    w, b = ctx.rng.randn(30, 7), ctx.rng.randn(7)
    dout = ctx.rng.randn(4, 7)
    dx, dw, db = ctx.call(f"{LAYERS}:affine_backward", dout, (x, w, b),
                          what="affine_backward(dout, cache)")
    return x, w, b, dout, ctx.array(dx, "dx"), ctx.array(dw, "dw"), ctx.array(db, "db")


@check("layers.affine_backward.values", "affine_backward", LAYERS)
def _affine_backward(ctx):
    x, w, b, _, dx, dw, db = affine_backward_case(ctx)
    ctx.array(dx, "dx", shape=x.shape)
    for key, value, shape in (("dx", dx, x.shape), ("dw", dw, w.shape), ("db", db, b.shape)):
        ctx.array(value, key, shape=shape)
        ctx.expect(key, value, key, rtol=1e-9, atol=1e-12)


def grader_numeric(f, x, dout, h=1e-5):
    """Numeric gradient of sum(f(x) * dout), computed here with the master's functions."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = np.sum(f(x) * dout)
        x[i] = old - h
        minus = np.sum(f(x) * dout)
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


@check("layers.affine_backward.numeric", "affine_backward", LAYERS)
def _affine_backward_numeric(ctx):
    x, w, b, dout, dx, dw, db = affine_backward_case(ctx)
    forward = master_module("layers").affine_forward
    for name, value, var in (("dx", dx, x), ("dw", dw, w), ("db", db, b)):
        ctx.array(value, name, shape=var.shape)

        def f(v, name=name):
            args = {"dx": (v, w, b), "dw": (x, v, b), "db": (x, w, v)}[name]
            return forward(*args)[0]

        ctx.expect_grad_close(value, grader_numeric(f, var.copy(), dout), name, tol=1e-7)


@check("layers.relu_forward.values", "relu_forward", LAYERS)
def _relu_forward(ctx):
    x = ctx.rng.randn(4, 5, 3)
    x[0, 0, :] = 0.0
    out, _ = ctx.call(f"{LAYERS}:relu_forward", x, what="relu_forward(x)")
    ctx.array(out, "out", shape=x.shape)
    ctx.expect("out", out, "out", rtol=0, atol=0)


@check("layers.relu_forward.input_kept", "relu_forward", LAYERS)
def _relu_forward_keeps_input(ctx):
    x = ctx.rng.randn(3, 8)
    _, handle = ctx.call("numpy:array", x, keep=True, show="none")
    out, _ = ctx.call(f"{LAYERS}:relu_forward", handle, what="relu_forward(x)")
    ctx.expect("out", ctx.array(out, "out", shape=x.shape), "out", rtol=0, atol=0)
    after = ctx.array(ctx.get(handle, what="reading x after relu_forward"), "x")
    ctx.require(np.array_equal(after, x), "relu_forward changed its input x in place; x is the "
                                          "cache of the backward pass, leave it unchanged")


@check("layers.relu_backward.values", "relu_backward", LAYERS)
def _relu_backward(ctx):
    x = ctx.rng.randn(6, 7)
    x[1, :3] = 0.0  # the gradient is 0 where x == 0
    dout = ctx.rng.randn(6, 7)
    dx = ctx.call(f"{LAYERS}:relu_backward", dout, x, what="relu_backward(dout, cache)")
    ctx.array(dx, "dx", shape=x.shape)
    ctx.expect("dx", dx, "dx", rtol=0, atol=0)


@check("layers.relu_backward.numeric", "relu_backward", LAYERS)
def _relu_backward_numeric(ctx):
    x = ctx.rng.randn(5, 4)
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink
    dout = ctx.rng.randn(5, 4)
    dx = ctx.array(ctx.call(f"{LAYERS}:relu_backward", dout, x, what="relu_backward"), "dx",
                   shape=x.shape)
    numeric = grader_numeric(lambda v: np.maximum(0, v), x.copy(), dout)
    ctx.expect_grad_close(dx, numeric, "dx", tol=1e-9)


def scores_case(ctx, scale):
    x = ctx.rng.randn(9, 6) * scale
    y = ctx.rng.permutation(np.arange(9) % 6)
    return x, y


@check("layers.softmax_loss.values", "softmax_loss", LAYERS)
def _softmax_loss(ctx):
    x, y = scores_case(ctx, 3.0)
    loss, dx = ctx.call(f"{LAYERS}:softmax_loss", x, y, what="softmax_loss(x, y)")
    ctx.expect("loss", ctx.scalar(loss, "the loss"), "the loss", rtol=1e-9)
    ctx.array(dx, "dx", shape=x.shape)
    ctx.expect("dx", dx, "dx", rtol=1e-7, atol=1e-12)


@check("layers.softmax_loss.large_scores", "softmax_loss", LAYERS)
def _softmax_loss_large(ctx):
    x, y = scores_case(ctx, 900.0)
    loss, dx = ctx.call(f"{LAYERS}:softmax_loss", x, y, what="softmax_loss on large scores")
    ctx.expect("loss", ctx.scalar(loss, "the loss on large scores"),
               "the loss on large scores (shift the scores by their maximum)", rtol=1e-9)
    ctx.expect("dx", dx, "dx on large scores", rtol=1e-7, atol=1e-12)


@check("layers.softmax_loss.numeric", "softmax_loss", LAYERS)
def _softmax_loss_numeric(ctx):
    x, y = scores_case(ctx, 2.0)
    _, dx = ctx.call(f"{LAYERS}:softmax_loss", x, y, what="softmax_loss(x, y)")
    dx = ctx.array(dx, "dx", shape=x.shape)
    idx = [(i, j) for i in range(0, 9, 2) for j in range(6)]
    numeric = ctx.numeric_grad(f"{LAYERS}:softmax_loss", [x, y], idx, arg=0, select=[0])
    ctx.expect_grad_close(dx[tuple(np.array(idx).T)], numeric, "dx", tol=1e-6)


# ---------------------------------------------------------------------------------------------
# Networks (their layers are the grader's: LAYER_PATCH)

TWO_LAYER = f"{FC}:TwoLayerNet"
FC_NET = f"{FC}:FullyConnectedNet"


def net_params(ctx, dims, dtype="float64"):
    """Weights and biases with negative pre-activations at every hidden layer."""
    params = {}
    for i, (din, dout) in enumerate(zip(dims[:-1], dims[1:], strict=True), start=1):
        params[f"W{i}"] = (ctx.rng.randn(din, dout) * 0.6).astype(dtype)
        params[f"b{i}"] = ctx.rng.uniform(-0.8, 0.4, size=dout).astype(dtype)
    return params


def net_inputs(ctx, N, D, C):
    X = ctx.rng.randn(N, D)
    y = ctx.rng.permutation(np.arange(N) % C)
    return X, y


def two_layer(ctx, params, reg):
    D, H = params["W1"].shape
    C = params["W2"].shape[1]
    net = ctx.new(TWO_LAYER, input_dim=D, hidden_dim=H, num_classes=C,
                  fallback_attrs={"params": {}, "reg": 0.0})
    ctx.set(net, ["params"], params)
    ctx.set(net, ["reg"], reg)
    return net


def fc_net(ctx, params, reg, dtype="float64"):
    L = len(params) // 2
    hidden = [params[f"W{i}"].shape[1] for i in range(1, L)]
    D, C = params["W1"].shape[0], params[f"W{L}"].shape[1]
    net = ctx.new(FC_NET, hidden, input_dim=D, num_classes=C, dtype=dtype,
                  fallback_attrs={"params": {}, "reg": 0.0, "num_layers": L, "dtype": dtype,
                                  "normalization": None, "use_dropout": False,
                                  "dropout_param": {}, "bn_params": []})
    ctx.set(net, ["params"], params)
    ctx.set(net, ["reg"], reg)
    return net


def check_net_loss(ctx, net, params, X, y, tag, rtol=1e-7, atol=1e-10):
    loss, grads = ctx.call((net, "loss"), X, y, layers=True, what="loss(X, y)")
    ctx.expect(f"loss_{tag}", ctx.scalar(loss, "the loss"), f"the loss ({tag})", rtol=rtol)
    if not isinstance(grads, dict) or set(grads) != set(params):
        raise CheckFailed(f"grads should be a dictionary with the keys of params "
                          f"({', '.join(sorted(params))})")
    for name in sorted(params):
        ctx.array(grads[name], f"grads['{name}']", shape=params[name].shape)
        ctx.expect(f"grad_{name}_{tag}", grads[name], f"grads['{name}'] ({tag})", rtol=rtol,
                   atol=atol)


def check_net_numeric(ctx, net, params, X, y, per_param=5):
    _, grads = ctx.call((net, "loss"), X, y, layers=True, what="loss(X, y)")
    if not isinstance(grads, dict):
        raise CheckFailed("loss(X, y) should return (loss, grads) with grads a dictionary")
    for name in sorted(params):
        analytic = ctx.array(grads.get(name), f"grads['{name}']", shape=params[name].shape)
        idx = [tuple(ctx.rng.randint(s) for s in params[name].shape) for _ in range(per_param)]
        numeric = ctx.numeric_grad((net, "loss"), [X, y], idx, target={"obj": net, "path": [
            "params", name]}, select=[0], layers=True, what="loss(X, y)")
        ctx.expect_grad_close(analytic[tuple(np.array(idx).T)], numeric, f"grads['{name}']",
                              tol=1e-6)


@check("twolayer.init.shapes", "TwoLayerNet.__init__", FC)
def _two_init_shapes(ctx):
    net = ctx.new(TWO_LAYER, input_dim=13, hidden_dim=9, num_classes=6, weight_scale=0.02,
                  reg=0.1)
    params = ctx.get(net, "params", what="reading TwoLayerNet.params")
    shapes = {"W1": (13, 9), "b1": (9,), "W2": (9, 6), "b2": (6,)}
    if not isinstance(params, dict) or set(params) != set(shapes):
        raise CheckFailed("TwoLayerNet.params should hold exactly W1, b1, W2, b2")
    for name, shape in shapes.items():
        value = ctx.array(params[name], f"params['{name}']", shape=shape)
        if name.startswith("b"):
            ctx.require(np.all(value == 0), f"params['{name}'] should start at zero")


@check("twolayer.init.values", "TwoLayerNet.__init__", FC)
def _two_init_values(ctx):
    net = ctx.new(TWO_LAYER, input_dim=11, hidden_dim=8, num_classes=5, weight_scale=0.05,
                  seed=ctx.seed)
    params = ctx.get(net, "params", what="reading TwoLayerNet.params")
    for name in ("W1", "W2"):
        ctx.expect(name, params.get(name) if isinstance(params, dict) else None,
                   f"params['{name}'] after np.random.seed (weight_scale * np.random.randn, W1 "
                   "then W2)", rtol=1e-12)


@check("twolayer.init.scale", "TwoLayerNet.__init__", FC)
def _two_init_scale(ctx):
    net = ctx.new(TWO_LAYER, input_dim=200, hidden_dim=150, num_classes=10,
                  weight_scale=0.037, seed=ctx.seed)
    params = ctx.get(net, "params", what="reading TwoLayerNet.params")
    for name in ("W1", "W2"):
        value = ctx.finite(params.get(name) if isinstance(params, dict) else None,
                           f"params['{name}']")
        ctx.require(abs(value.std() / 0.037 - 1) < 0.1 and abs(value.mean()) < 0.01,
                    f"params['{name}'] should have mean 0 and standard deviation weight_scale")


@check("twolayer.loss.scores", "TwoLayerNet.loss", FC)
def _two_scores(ctx):
    params = net_params(ctx, [13, 9, 6])
    X, _ = net_inputs(ctx, 7, 13, 6)
    net = two_layer(ctx, params, 0.0)
    scores = ctx.call((net, "loss"), X, layers=True, what="loss(X) (scores, y=None)")
    ctx.array(scores, "the scores", shape=(7, 6))
    ctx.expect("scores", scores, "the scores", rtol=1e-9, atol=1e-12)


@check("twolayer.loss.reg0", "TwoLayerNet.loss", FC)
def _two_loss(ctx):
    params = net_params(ctx, [13, 9, 6])
    X, y = net_inputs(ctx, 7, 13, 6)
    check_net_loss(ctx, two_layer(ctx, params, 0.0), params, X, y, "reg0")


@check("twolayer.loss.reg", "TwoLayerNet.loss", FC)
def _two_loss_reg(ctx):
    params = net_params(ctx, [13, 9, 6])
    X, y = net_inputs(ctx, 7, 13, 6)
    check_net_loss(ctx, two_layer(ctx, params, 0.45), params, X, y, "reg")


@check("twolayer.loss.numeric", "TwoLayerNet.loss", FC)
def _two_numeric(ctx):
    params = net_params(ctx, [6, 5, 4])
    X, y = net_inputs(ctx, 5, 6, 4)
    check_net_numeric(ctx, two_layer(ctx, params, 0.45), params, X, y)


FC_SHAPES = ([10], [9, 8], [7, 6, 5], [6, 5, 4, 3])


@check("fcnet.init.shapes", "FullyConnectedNet.__init__", FC)
def _fc_init_shapes(ctx):
    for hidden in FC_SHAPES:
        for dtype in ("float64", "float32"):
            net = ctx.new(FC_NET, hidden, input_dim=11, num_classes=4, weight_scale=0.03,
                          dtype=dtype, what=f"FullyConnectedNet({hidden}, dtype={dtype})")
            params = ctx.get(net, "params", what="reading FullyConnectedNet.params")
            dims = [11, *hidden, 4]
            expected = {}
            for i in range(1, len(dims)):
                expected[f"W{i}"] = (dims[i - 1], dims[i])
                expected[f"b{i}"] = (dims[i],)
            if not isinstance(params, dict) or set(params) != set(expected):
                raise CheckFailed(f"FullyConnectedNet({hidden}).params should hold exactly "
                                  f"{', '.join(sorted(expected))}")
            for name, shape in expected.items():
                value = ctx.array(params[name], f"params['{name}']", shape=shape)
                ctx.require(value.dtype == np.dtype(dtype),
                            f"params['{name}'] has dtype {value.dtype}; it should be {dtype}")
                if name.startswith("b"):
                    ctx.require(np.all(value == 0), f"params['{name}'] should start at zero")


@check("fcnet.init.values", "FullyConnectedNet.__init__", FC)
def _fc_init_values(ctx):
    net = ctx.new(FC_NET, [8, 7, 6], input_dim=10, num_classes=5, weight_scale=0.05,
                  dtype="float64", seed=ctx.seed)
    params = ctx.get(net, "params", what="reading FullyConnectedNet.params")
    for i in range(1, 5):
        name = f"W{i}"
        ctx.expect(name, params.get(name) if isinstance(params, dict) else None,
                   f"params['{name}'] after np.random.seed (one weight_scale * np.random.randn "
                   "per layer, in layer order)", rtol=1e-12)


@check("fcnet.init.scale", "FullyConnectedNet.__init__", FC)
def _fc_init_scale(ctx):
    net = ctx.new(FC_NET, [120, 110], input_dim=150, num_classes=10, weight_scale=0.021,
                  dtype="float64", seed=ctx.seed)
    params = ctx.get(net, "params", what="reading FullyConnectedNet.params")
    for name in ("W1", "W2", "W3"):
        value = ctx.finite(params.get(name) if isinstance(params, dict) else None,
                           f"params['{name}']")
        ctx.require(abs(value.std() / 0.021 - 1) < 0.1 and abs(value.mean()) < 0.01,
                    f"params['{name}'] should have mean 0 and standard deviation weight_scale")


for _depth in (1, 2, 3, 4):

    @check(f"fcnet.loss.depth{_depth}", "FullyConnectedNet.loss", FC)
    def _fc_loss(ctx, depth=_depth):
        dims = [12, 10, 9, 8, 7][: depth + 1] + [5]
        params = net_params(ctx, dims)
        X, y = net_inputs(ctx, 8, 12, 5)
        net = fc_net(ctx, params, 0.0)
        scores = ctx.call((net, "loss"), X, layers=True, what="loss(X) (scores, y=None)")
        ctx.array(scores, "the scores", shape=(8, 5))
        ctx.expect("scores", scores, "the scores", rtol=1e-9, atol=1e-12)
        check_net_loss(ctx, net, params, X, y, "reg0")
        ctx.set(net, ["reg"], 0.35)
        check_net_loss(ctx, net, params, X, y, "reg")


@check("fcnet.loss.float32", "FullyConnectedNet.loss", FC)
def _fc_float32(ctx):
    params = net_params(ctx, [12, 10, 9, 5], dtype="float32")
    X, y = net_inputs(ctx, 8, 12, 5)
    net = fc_net(ctx, params, 0.2, dtype="float32")
    check_net_loss(ctx, net, params, X, y, "float32", rtol=1e-4, atol=1e-6)


@check("fcnet.loss.numeric", "FullyConnectedNet.loss", FC)
def _fc_numeric(ctx):
    params = net_params(ctx, [6, 5, 5, 4])
    X, y = net_inputs(ctx, 5, 6, 4)
    check_net_numeric(ctx, fc_net(ctx, params, 0.35), params, X, y, per_param=4)


@check("fcnet.solver.overfit", "FullyConnectedNet.loss", SOLVER, timeout=30)
def _fc_overfit(ctx):
    N, D, C = 30, 20, 5
    X, y = net_inputs(ctx, N, D, C)
    params = {k: v * 0.3 for k, v in net_params(ctx, [D, 40, 40, C]).items()}
    net = fc_net(ctx, params, 0.0)
    data = {"X_train": X, "y_train": y, "X_val": X[:10], "y_val": y[:10]}
    solver = ctx.new(f"{SOLVER}:Solver", net, data, update_rule="sgd",
                     optim_config={"learning_rate": 0.1}, num_epochs=25, batch_size=10,
                     print_every=10**6, verbose=False, what="Solver(model, data, ...)")
    ctx.call((solver, "train"), layers=True, seed=ctx.seed, show="none",
             what="Solver.train() with your FullyConnectedNet")
    trained = ctx.get(net, "params", what="reading the trained params")
    if not isinstance(trained, dict) or set(trained) != set(params):
        raise CheckFailed("after training, model.params should still hold "
                          f"{', '.join(sorted(params))}")
    layers = master_module("layers")
    out = X
    for i in range(1, 4):
        W = ctx.finite(trained[f"W{i}"], f"params['W{i}']")
        b = ctx.finite(trained[f"b{i}"], f"params['b{i}']")
        out = layers.affine_forward(out, W, b)[0]
        if i < 3:
            out = np.maximum(out, 0)
    accuracy = np.mean(np.argmax(out, axis=1) == y)
    ctx.require(accuracy >= 0.9, f"a 3-layer net trained with the Solver on {N} examples "
                                 f"reached only {accuracy:.0%} training accuracy; a correct "
                                 "loss and gradient overfit them (at least 90%)")


# ---------------------------------------------------------------------------------------------
# Update rules, over several steps with the returned config carried to the next step

OPTIMIZERS = {
    "sgd_momentum": ({"learning_rate": 0.03, "momentum": 0.85}, ["velocity"]),
    "rmsprop": ({"learning_rate": 0.02, "decay_rate": 0.95}, ["cache"]),
    "adam": ({"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.97}, ["m", "v", "t"]),
}


def optimizer_steps(ctx, rule, config, state_keys, steps, tag):
    w = ctx.rng.randn(5, 4)
    fn = f"{OPTIM}:{rule}"
    _, handle = ctx.call("builtins:dict", keep=True, show="none", **config)
    for step in range(1, steps + 1):
        dw = ctx.rng.randn(5, 4) * (0.1 if step % 2 else 2.0)
        value, handle = ctx.call(fn, w, dw, handle, keep=True, keep_path=[1],
                                 what=f"{rule}(w, dw, config) at step {step}")
        if not isinstance(value, tuple) or len(value) != 2 or not isinstance(value[1], dict):
            raise CheckFailed(f"{rule} should return (next_w, config)")
        next_w, cfg = value
        ctx.array(next_w, "next_w", shape=w.shape)
        ctx.expect(f"{tag}_w{step}", next_w, f"next_w at step {step}", rtol=1e-9, atol=1e-12)
        for key in state_keys:
            ctx.expect(f"{tag}_{key}{step}", cfg.get(key), f"config['{key}'] at step {step}",
                       rtol=1e-9, atol=1e-12)
        w = np.asarray(next_w, dtype=np.float64)


for _rule, (_config, _state) in OPTIMIZERS.items():

    @check(f"optim.{_rule}.steps", _rule, OPTIM)
    def _optim_steps(ctx, rule=_rule, config=_config, state=_state):
        optimizer_steps(ctx, rule, config, state, steps=5, tag="steps")

    @check(f"optim.{_rule}.defaults", _rule, OPTIM)
    def _optim_defaults(ctx, rule=_rule, state=_state):
        w, dw = ctx.rng.randn(3, 6), ctx.rng.randn(3, 6)
        value = ctx.call(f"{OPTIM}:{rule}", w, dw, None, what=f"{rule}(w, dw, config=None)")
        if not isinstance(value, tuple) or len(value) != 2 or not isinstance(value[1], dict):
            raise CheckFailed(f"{rule} should return (next_w, config)")
        ctx.array(value[0], "next_w", shape=w.shape)
        ctx.expect("w", value[0], "next_w with the default hyperparameters", rtol=1e-9,
                   atol=1e-12)
        for key in state:
            ctx.expect(key, value[1].get(key), f"config['{key}'] after one step", rtol=1e-9,
                       atol=1e-12)


@check("optim.adam.resume", "adam", OPTIM)
def _adam_resume(ctx):
    """A config carried from a checkpoint: t already 7, m and v non-zero."""
    config = {"learning_rate": 0.005, "m": ctx.rng.randn(5, 4) * 0.1,
              "v": ctx.rng.rand(5, 4) * 0.01, "t": 7}
    optimizer_steps(ctx, "adam", config, ["m", "v", "t"], steps=3, tag="resume")


@check("optim.sgd_momentum.resume", "sgd_momentum", OPTIM)
def _momentum_resume(ctx):
    config = {"learning_rate": 0.05, "momentum": 0.7, "velocity": ctx.rng.randn(5, 4) * 0.2}
    optimizer_steps(ctx, "sgd_momentum", config, ["velocity"], steps=3, tag="resume")
