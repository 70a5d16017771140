"""Loops: nets call cs231n.layers / cs231n.layer_utils, a Python loop over layers each way."""

import numpy as np

from ..layer_utils import affine_relu_backward, affine_relu_forward
from ..layers import affine_backward, affine_forward, softmax_loss


class TwoLayerNet:
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3,
                 reg=0.0):
        self.params["W1"] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params["W2"] = weight_scale * np.random.randn(hidden_dim, num_classes)
        for layer, size in ((1, hidden_dim), (2, num_classes)):
            self.params[f"b{layer}"] = np.zeros(size)

    def loss(self, X, y=None):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        hidden, hidden_cache = affine_relu_forward(X, W1, b1)
        scores, scores_cache = affine_forward(hidden, W2, b2)
        ...
        data_loss, dscores = softmax_loss(scores, y)
        reg_loss = 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        loss = data_loss + reg_loss
        dhidden, dW2, db2 = affine_backward(dscores, scores_cache)
        _, dW1, db1 = affine_relu_backward(dhidden, hidden_cache)
        grads["W1"] = dW1 + self.reg * W1
        grads["b1"] = db1
        grads["W2"] = dW2 + self.reg * W2
        grads["b2"] = db2


class FullyConnectedNet:
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        sizes = [input_dim] + list(hidden_dims) + [num_classes]
        for layer in range(1, self.num_layers + 1):
            fan_in, fan_out = sizes[layer - 1], sizes[layer]
            self.params[f"W{layer}"] = weight_scale * np.random.randn(fan_in, fan_out)
            self.params[f"b{layer}"] = np.zeros(fan_out)

    def loss(self, X, y=None):
        last = self.num_layers
        caches = []
        out = X
        for layer in range(1, last):
            out, cache = affine_relu_forward(out, self.params[f"W{layer}"],
                                             self.params[f"b{layer}"])
            caches.append(cache)
        scores, last_cache = affine_forward(out, self.params[f"W{last}"], self.params[f"b{last}"])
        ...
        loss, dscores = softmax_loss(scores, y)
        for layer in range(1, last + 1):
            W = self.params[f"W{layer}"]
            loss += 0.5 * self.reg * np.sum(W * W)
        dout, dW, db = affine_backward(dscores, last_cache)
        grads[f"W{last}"] = dW + self.reg * self.params[f"W{last}"]
        grads[f"b{last}"] = db
        for layer in range(last - 1, 0, -1):
            dout, dW, db = affine_relu_backward(dout, caches[layer - 1])
            grads[f"W{layer}"] = dW + self.reg * self.params[f"W{layer}"]
            grads[f"b{layer}"] = db
