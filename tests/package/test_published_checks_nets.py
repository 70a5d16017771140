"""The checks printed in the official notebooks (two_layer_net.ipynb, FullyConnectedNets.ipynb),
reproduced with their inputs and their published numbers and tolerances.

The expected values below are the official notebooks' numbers, not outputs of our code.
"""

import numpy as np

from cs231n.classifiers.fc_net import TwoLayerNet
from cs231n.gradient_check import rel_error
from cs231n.layers import affine_forward, relu_forward, softmax_loss
from cs231n.optim import sgd_momentum


def test_affine_forward_reproduces_published_output():
    num_inputs, input_shape, output_dim = 2, (4, 5, 6), 3
    input_size = num_inputs * np.prod(input_shape)
    weight_size = output_dim * np.prod(input_shape)
    x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
    w = np.linspace(-0.2, 0.3, num=weight_size).reshape(np.prod(input_shape), output_dim)
    b = np.linspace(-0.3, 0.1, num=output_dim)

    out, _ = affine_forward(x, w, b)

    correct_out = np.array(
        [[1.49834967, 1.70660132, 1.91485297], [3.25553199, 3.51413270, 3.77273342]]
    )
    # The notebook expects an error around 1e-9 (the published values have 8 decimals).
    assert rel_error(out, correct_out) < 1e-8


def test_relu_forward_reproduces_published_output():
    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)

    out, _ = relu_forward(x)

    correct_out = np.array(
        [
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.04545455, 0.13636364],
            [0.22727273, 0.31818182, 0.40909091, 0.5],
        ]
    )
    # The notebook expects an error around 5e-8 (8 published decimals).
    assert rel_error(out, correct_out) < 1e-7


def test_softmax_loss_reproduces_published_loss_near_log_10():
    np.random.seed(231)
    num_classes, num_inputs = 10, 50
    x = 0.001 * np.random.randn(num_inputs, num_classes)
    y = np.random.randint(num_classes, size=num_inputs)

    loss, _ = softmax_loss(x, y)

    assert abs(loss - 2.3025458445007376) < 1e-12
    assert abs(loss - np.log(num_classes)) < 1e-3


def _published_two_layer_net(reg=0.0):
    """The notebook's set-up: a seeded TwoLayerNet whose parameters are then overwritten."""
    np.random.seed(231)
    N, D, H, C = 3, 5, 50, 7
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=1e-3, reg=reg)
    model.params["W1"] = np.linspace(-0.7, 0.3, num=D * H).reshape(D, H)
    model.params["b1"] = np.linspace(-0.1, 0.9, num=H)
    model.params["W2"] = np.linspace(-0.3, 0.4, num=H * C).reshape(H, C)
    model.params["b2"] = np.linspace(-0.9, 0.1, num=C)
    X = np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T
    y = np.asarray([0, 5, 1])
    return model, X, y


def test_two_layer_net_initialization_has_published_scale():
    np.random.seed(231)
    D, H, C, std = 5, 50, 7, 1e-3
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=std)

    assert abs(model.params["W1"].std() - std) < std / 10, "First layer weights do not seem right"
    assert np.all(model.params["b1"] == 0), "First layer biases do not seem right"
    assert abs(model.params["W2"].std() - std) < std / 10, "Second layer weights do not seem right"
    assert np.all(model.params["b2"] == 0), "Second layer biases do not seem right"


def test_two_layer_net_reproduces_published_test_time_scores():
    model, X, _ = _published_two_layer_net()

    scores = model.loss(X)

    correct_scores = np.asarray(
        [
            [11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765,
             16.09215096],
            [12.05769098, 12.74614105, 13.43459113, 14.1230412, 14.81149128, 15.49994135,
             16.18839143],
            [12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822, 15.66781506,
             16.2846319],
        ]
    )
    assert scores.shape == (3, 7)
    assert np.abs(scores[0] - correct_scores[0]).sum() < 1e-6
    # The notebook's tolerance on the whole score matrix.
    assert np.abs(scores - correct_scores).sum() < 1e-6


def test_two_layer_net_reproduces_published_loss_without_regularization():
    model, X, y = _published_two_layer_net(reg=0.0)

    loss, _ = model.loss(X, y)

    assert abs(loss - 3.4702243556) < 1e-10


def test_two_layer_net_reproduces_published_loss_with_regularization():
    model, X, y = _published_two_layer_net()
    model.reg = 1.0

    loss, _ = model.loss(X, y)

    assert abs(loss - 26.5948426952) < 1e-10


def test_sgd_momentum_reproduces_published_next_w():
    N, D = 4, 5
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    dw = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
    v = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    config = {"learning_rate": 1e-3, "velocity": v}

    next_w, _ = sgd_momentum(w, dw, config=config)

    expected_next_w = np.asarray(
        [
            [0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
            [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
            [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
            [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096],
        ]
    )
    # The notebook expects errors around 1e-8 (8 published decimals).
    assert rel_error(next_w, expected_next_w) < 1e-7
