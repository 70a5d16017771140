"""Hidden checks of TwoLayerNet and FullyConnectedNet (cs231n/classifiers/fc_net.py).

The networks run with the grader's layer functions (LAYER_PATCH: the student's layers are
judged in test_layers.py, once), on parameters whose pre-activations are negative at every
hidden layer somewhere, so a ReLU that is skipped or misplaced shows. Values: tolerances.FLOAT64
(float32 nets: tolerances.FLOAT32, whether the student keeps float32 or promotes); initial
weights: tolerances.SEEDED_DRAWS (the same seeded draws). Numeric-gradient checks need a loss
that moves.
"""

import numpy as np
import pytest

from coursekit.grader import tolerances
from coursekit.grader.context import CheckFailed
from coursekit.grader.master import master_module

FC = "cs231n.classifiers.fc_net"
TWO_LAYER = f"{FC}:TwoLayerNet"
FC_NET = f"{FC}:FullyConnectedNet"


def net_params(student, dims, dtype="float64"):
    """Weights and biases with negative pre-activations at every hidden layer."""
    params = {}
    for i, (din, dout) in enumerate(zip(dims[:-1], dims[1:], strict=True), start=1):
        params[f"W{i}"] = (student.rng.randn(din, dout) * 0.6).astype(dtype)
        params[f"b{i}"] = student.rng.uniform(-0.8, 0.4, size=dout).astype(dtype)
    return params


def net_inputs(student, N, D, C):
    X = student.rng.randn(N, D)
    y = student.rng.permutation(np.arange(N) % C)
    return X, y


def two_layer(student, params, reg):
    D, H = params["W1"].shape
    C = params["W2"].shape[1]
    net = student.new(TWO_LAYER, input_dim=D, hidden_dim=H, num_classes=C,
                      fallback_attrs={"params": {}, "reg": 0.0})
    student.set(net, ["params"], params)
    student.set(net, ["reg"], reg)
    return net


def fc_net(student, params, reg, dtype="float64"):
    L = len(params) // 2
    hidden = [params[f"W{i}"].shape[1] for i in range(1, L)]
    D, C = params["W1"].shape[0], params[f"W{L}"].shape[1]
    net = student.new(FC_NET, hidden, input_dim=D, num_classes=C, dtype=dtype,
                      fallback_attrs={"params": {}, "reg": 0.0, "num_layers": L,
                                      "dtype": dtype, "normalization": None,
                                      "use_dropout": False, "dropout_param": {},
                                      "bn_params": []})
    student.set(net, ["params"], params)
    student.set(net, ["reg"], reg)
    return net


def two_layer_case(student, reg, dims=(13, 9, 6), N=7):
    """A TwoLayerNet D - H - C (dims) with set parameters and reg, and N examples for it:
    (net, params, X, y)."""
    params = net_params(student, dims)
    X, y = net_inputs(student, N, dims[0], dims[-1])
    return two_layer(student, params, reg), params, X, y


def check_scores(student, net, X, shape, tol=tolerances.FLOAT64):
    scores = student.call((net, "loss"), X, layers=True, what="loss(X) (scores, y=None)")
    student.expect("scores", student.array(scores, "the scores", shape=shape), "the scores", tol)


def check_loss(student, net, params, X, y, tag, tol=tolerances.FLOAT64):
    loss, grads = student.call((net, "loss"), X, y, layers=True, what="loss(X, y)")
    student.expect(f"loss_{tag}", student.scalar(loss, "the loss"), f"the loss ({tag})", tol)
    if not isinstance(grads, dict) or set(grads) != set(params):
        raise CheckFailed(f"grads should be a dictionary with the keys of params "
                          f"({', '.join(sorted(params))})")
    for name in sorted(params):
        value = student.array(grads[name], f"grads['{name}']", shape=params[name].shape)
        student.expect(f"grad_{name}_{tag}", value, f"grads['{name}'] ({tag})", tol)


def check_numeric(student, net, params, X, y, per_param=5):
    _, grads = student.call((net, "loss"), X, y, layers=True, what="loss(X, y)")
    if not isinstance(grads, dict):
        raise CheckFailed("loss(X, y) should return (loss, grads) with grads a dictionary")
    for name in sorted(params):
        analytic = student.array(grads.get(name), f"grads['{name}']", shape=params[name].shape)
        idx = [tuple(student.rng.randint(s) for s in params[name].shape)
               for _ in range(per_param)]
        numeric = student.numeric_grad((net, "loss"), [X, y], idx,
                                       target={"obj": net, "path": ["params", name]},
                                       select=[0], layers=True, what="loss(X, y)")
        student.expect_grad_close(analytic[tuple(np.array(idx).T)], numeric,
                                  f"grads['{name}']", tolerances.NUMERIC_GRADIENT)


def read_params(student, net, what):
    params = student.get(net, "params", what=f"reading {what}.params")
    if not isinstance(params, dict):
        raise CheckFailed(f"{what}.params should be a dictionary")
    return params


def check_init_scale(student, params, names, weight_scale):
    for name in names:
        value = student.finite(params.get(name), f"params['{name}']")
        student.require(abs(value.std() / weight_scale - 1) < 0.1 and abs(value.mean()) < 0.01,
                        f"params['{name}'] should have mean 0 and standard deviation "
                        "weight_scale")


# -- TwoLayerNet


@pytest.mark.points(1)
@pytest.mark.function("TwoLayerNet.__init__")
def test_two_layer_init_makes_the_four_parameters_with_zero_biases(student):
    net = student.new(TWO_LAYER, input_dim=13, hidden_dim=9, num_classes=6, weight_scale=0.02,
                      reg=0.1)
    params = read_params(student, net, "TwoLayerNet")
    shapes = {"W1": (13, 9), "b1": (9,), "W2": (9, 6), "b2": (6,)}
    if set(params) != set(shapes):
        raise CheckFailed("TwoLayerNet.params should hold exactly W1, b1, W2, b2")
    for name, shape in shapes.items():
        value = student.array(params[name], f"params['{name}']", shape=shape)
        if name.startswith("b"):
            student.require(np.all(value == 0), f"params['{name}'] should start at zero")


@pytest.mark.points(2)
@pytest.mark.function("TwoLayerNet.__init__")
def test_two_layer_init_draws_the_seeded_weights_in_order(student):
    net = student.new(TWO_LAYER, input_dim=11, hidden_dim=8, num_classes=5, weight_scale=0.05,
                      seed=student.seed)
    params = read_params(student, net, "TwoLayerNet")
    for name in ("W1", "W2"):
        student.expect(name, params.get(name), f"params['{name}'] after np.random.seed "
                                               "(weight_scale * np.random.randn, W1 then W2)",
                       tolerances.SEEDED_DRAWS)


@pytest.mark.points(1)
@pytest.mark.function("TwoLayerNet.__init__")
def test_two_layer_init_scales_the_weights_by_weight_scale(student):
    net = student.new(TWO_LAYER, input_dim=200, hidden_dim=150, num_classes=10,
                      weight_scale=0.037, seed=student.seed)
    check_init_scale(student, read_params(student, net, "TwoLayerNet"), ("W1", "W2"), 0.037)


@pytest.mark.points(2)
@pytest.mark.function("TwoLayerNet.loss")
def test_two_layer_scores_match_the_reference(student):
    net, _, X, _ = two_layer_case(student, 0.0)
    check_scores(student, net, X, (7, 6))


@pytest.mark.points(2)
@pytest.mark.function("TwoLayerNet.loss")
def test_two_layer_loss_and_gradients_match_the_reference(student):
    check_loss(student, *two_layer_case(student, 0.0), "reg0")


@pytest.mark.points(2)
@pytest.mark.function("TwoLayerNet.loss")
def test_two_layer_regularizes_the_weights_only(student):
    check_loss(student, *two_layer_case(student, 0.45), "reg")


@pytest.mark.points(2)
@pytest.mark.function("TwoLayerNet.loss")
@pytest.mark.time_limit(30)
def test_two_layer_gradients_are_the_numeric_gradients_of_the_loss(student):
    check_numeric(student, *two_layer_case(student, 0.45, dims=(6, 5, 4), N=5))


# -- FullyConnectedNet

FC_SHAPES = ([10], [9, 8], [7, 6, 5], [6, 5, 4, 3])


@pytest.mark.points(2)
@pytest.mark.function("FullyConnectedNet.__init__")
def test_fc_init_makes_every_layer_in_the_requested_dtype_with_zero_biases(student):
    for hidden in FC_SHAPES:
        for dtype in ("float64", "float32"):
            net = student.new(FC_NET, hidden, input_dim=11, num_classes=4, weight_scale=0.03,
                              dtype=dtype, what=f"FullyConnectedNet({hidden}, dtype={dtype})")
            params = read_params(student, net, "FullyConnectedNet")
            dims = [11, *hidden, 4]
            expected = {}
            for i in range(1, len(dims)):
                expected[f"W{i}"] = (dims[i - 1], dims[i])
                expected[f"b{i}"] = (dims[i],)
            if set(params) != set(expected):
                raise CheckFailed(f"FullyConnectedNet({hidden}).params should hold exactly "
                                  f"{', '.join(sorted(expected))}")
            for name, shape in expected.items():
                value = student.array(params[name], f"params['{name}']", shape=shape)
                student.require(value.dtype == np.dtype(dtype),
                                f"params['{name}'] has dtype {value.dtype}; it should be {dtype}")
                if name.startswith("b"):
                    student.require(np.all(value == 0), f"params['{name}'] should start at zero")


@pytest.mark.points(2)
@pytest.mark.function("FullyConnectedNet.__init__")
def test_fc_init_draws_the_seeded_weights_in_layer_order(student):
    net = student.new(FC_NET, [8, 7, 6], input_dim=10, num_classes=5, weight_scale=0.05,
                      dtype="float64", seed=student.seed)
    params = read_params(student, net, "FullyConnectedNet")
    for i in range(1, 5):
        student.expect(f"W{i}", params.get(f"W{i}"), f"params['W{i}'] after np.random.seed (one "
                       "weight_scale * np.random.randn per layer, in layer order)",
                       tolerances.SEEDED_DRAWS)


@pytest.mark.points(1)
@pytest.mark.function("FullyConnectedNet.__init__")
def test_fc_init_scales_the_weights_by_weight_scale(student):
    net = student.new(FC_NET, [120, 110], input_dim=150, num_classes=10, weight_scale=0.021,
                      dtype="float64", seed=student.seed)
    check_init_scale(student, read_params(student, net, "FullyConnectedNet"),
                     ("W1", "W2", "W3"), 0.021)


@pytest.mark.points(2)
@pytest.mark.function("FullyConnectedNet.loss")
@pytest.mark.parametrize("depth", [1, 2, 3, 4], ids=lambda d: f"{d + 1}_layers")
def test_fc_scores_loss_and_gradients_match_the_reference(student, depth):
    dims = [12, 10, 9, 8, 7][: depth + 1] + [5]
    params = net_params(student, dims)
    X, y = net_inputs(student, 8, 12, 5)
    net = fc_net(student, params, 0.0)
    check_scores(student, net, X, (8, 5))
    check_loss(student, net, params, X, y, "reg0")
    student.set(net, ["reg"], 0.35)
    check_loss(student, net, params, X, y, "reg")


@pytest.mark.points(2)
@pytest.mark.function("FullyConnectedNet.loss")
def test_fc_loss_works_in_float32(student):
    params = net_params(student, [12, 10, 9, 5], dtype="float32")
    X, y = net_inputs(student, 8, 12, 5)
    net = fc_net(student, params, 0.2, dtype="float32")
    check_loss(student, net, params, X, y, "float32", tol=tolerances.FLOAT32)


@pytest.mark.points(2)
@pytest.mark.function("FullyConnectedNet.loss")
@pytest.mark.time_limit(30)
def test_fc_gradients_are_the_numeric_gradients_of_the_loss(student):
    params = net_params(student, [6, 5, 5, 4])
    X, y = net_inputs(student, 5, 6, 4)
    check_numeric(student, fc_net(student, params, 0.35), params, X, y, per_param=4)


@pytest.mark.points(3)
@pytest.mark.function("FullyConnectedNet.loss")
@pytest.mark.time_limit(60)
def test_fc_net_trained_by_the_solver_overfits_a_small_set(student):
    N, D, C = 30, 20, 5
    X, y = net_inputs(student, N, D, C)
    params = {k: v * 0.3 for k, v in net_params(student, [D, 40, 40, C]).items()}
    net = fc_net(student, params, 0.0)
    data = {"X_train": X, "y_train": y, "X_val": X[:10], "y_val": y[:10]}
    solver = student.new("cs231n.solver:Solver", net, data, update_rule="sgd",
                         optim_config={"learning_rate": 0.1}, num_epochs=25, batch_size=10,
                         print_every=10**6, verbose=False, what="Solver(model, data, ...)")
    student.call((solver, "train"), layers=True, seed=student.seed, show="none",
                 what="Solver.train() with your FullyConnectedNet")
    trained = read_params(student, net, "the trained FullyConnectedNet")
    if set(trained) != set(params):
        raise CheckFailed("after training, model.params should still hold "
                          f"{', '.join(sorted(params))}")
    layers = master_module("layers")
    out = X
    for i in range(1, 4):
        W = student.finite(trained[f"W{i}"], f"params['W{i}']")
        b = student.finite(trained[f"b{i}"], f"params['b{i}']")
        out = layers.affine_forward(out, W, b)[0]
        if i < 3:
            out = np.maximum(out, 0)
    accuracy = np.mean(np.argmax(out, axis=1) == y)
    student.require(accuracy >= 0.9, f"a 3-layer net trained with the Solver on {N} examples "
                                     f"reached only {accuracy:.0%} training accuracy; a "
                                     "correct loss and gradient overfit them (at least 90%)")
