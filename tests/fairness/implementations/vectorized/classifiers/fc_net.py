"""Vectorized: nets written inline with numpy (@, np.maximum, log-sum-exp), no layer calls."""

import numpy as np


def _log_softmax(scores):
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class TwoLayerNet:
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3,
                 reg=0.0):
        W1 = weight_scale * np.random.randn(input_dim, hidden_dim)
        W2 = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params = {"W1": W1, "b1": np.zeros(hidden_dim),
                       "W2": W2, "b2": np.zeros(num_classes)}

    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        inputs = X.reshape(len(X), -1)
        hidden = np.maximum(inputs @ W1 + b1, 0)
        scores = hidden @ W2 + b2
        ...
        num = len(X)
        rows = np.arange(num)
        log_probs = _log_softmax(scores)
        loss = -log_probs[rows, y].mean() + 0.5 * self.reg * ((W1 ** 2).sum() + (W2 ** 2).sum())
        dscores = np.exp(log_probs)
        dscores[rows, y] -= 1
        dscores /= num
        dhidden = (dscores @ W2.T) * (hidden > 0)
        grads = {
            "W1": inputs.T @ dhidden + self.reg * W1,
            "b1": dhidden.sum(axis=0),
            "W2": hidden.T @ dscores + self.reg * W2,
            "b2": dscores.sum(axis=0),
        }


class FullyConnectedNet:
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        sizes = [input_dim, *hidden_dims, num_classes]
        for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), 1):
            self.params[f"W{layer}"] = weight_scale * np.random.randn(fan_in, fan_out)
            self.params[f"b{layer}"] = np.zeros(fan_out)

    def loss(self, X, y=None):
        last = self.num_layers
        activations = [X.reshape(len(X), -1)]
        for layer in range(1, last + 1):
            z = activations[-1] @ self.params[f"W{layer}"] + self.params[f"b{layer}"]
            activations.append(np.maximum(z, 0) if layer < last else z)
        scores = activations[-1]
        ...
        num = len(X)
        rows = np.arange(num)
        log_probs = _log_softmax(scores)
        weights = [self.params[f"W{layer}"] for layer in range(1, last + 1)]
        loss = -log_probs[rows, y].mean() + 0.5 * self.reg * sum((W ** 2).sum() for W in weights)
        delta = np.exp(log_probs)
        delta[rows, y] -= 1
        delta /= num
        for layer in range(last, 0, -1):
            W = self.params[f"W{layer}"]
            below = activations[layer - 1]
            grads[f"W{layer}"] = below.T @ delta + self.reg * W
            grads[f"b{layer}"] = delta.sum(axis=0)
            if layer > 1:
                delta = (delta @ W.T) * (below > 0)
