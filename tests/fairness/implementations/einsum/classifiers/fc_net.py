"""einsum: TwoLayerNet chains single layers; FullyConnectedNet inline einsum kept in self.dtype."""

import numpy as np

from ..layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss


class TwoLayerNet:
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3,
                 reg=0.0):
        shapes = ((input_dim, hidden_dim), (hidden_dim, num_classes))
        for layer, (fan_in, fan_out) in enumerate(shapes, start=1):
            self.params[f"W{layer}"] = weight_scale * np.random.randn(fan_in, fan_out)
            self.params[f"b{layer}"] = np.zeros(fan_out)

    def loss(self, X, y=None):
        p = self.params
        a1, cache_a1 = affine_forward(X, p["W1"], p["b1"])
        h1, cache_h1 = relu_forward(a1)
        scores, cache_a2 = affine_forward(h1, p["W2"], p["b2"])
        ...
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.einsum("ij,ij->", p["W1"], p["W1"])
                                  + np.einsum("ij,ij->", p["W2"], p["W2"]))
        dh1, dW2, db2 = affine_backward(dscores, cache_a2)
        da1 = relu_backward(dh1, cache_h1)
        _, dW1, db1 = affine_backward(da1, cache_a1)
        grads = {"W1": dW1 + self.reg * p["W1"], "b1": db1,
                 "W2": dW2 + self.reg * p["W2"], "b2": db2}


class FullyConnectedNet:
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        fan_ins = (input_dim, *hidden_dims)
        fan_outs = (*hidden_dims, num_classes)
        for layer in range(self.num_layers):
            draw = weight_scale * np.random.randn(fan_ins[layer], fan_outs[layer])
            self.params[f"W{layer + 1}"] = draw.astype(dtype)
            self.params[f"b{layer + 1}"] = np.zeros(fan_outs[layer], dtype=dtype)

    def loss(self, X, y=None):
        num = X.shape[0]
        inputs = [X.reshape(num, -1)]
        for layer in range(1, self.num_layers + 1):
            W, b = self.params[f"W{layer}"], self.params[f"b{layer}"]
            z = np.einsum("nd,dm->nm", inputs[-1], W, optimize=True) + b
            inputs.append(z if layer == self.num_layers else np.clip(z, 0, None))
        scores = inputs.pop()
        ...
        num_classes = scores.shape[1]
        one_hot = (np.asarray(y)[:, np.newaxis] == np.arange(num_classes)).astype(self.dtype)
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp_scores = np.exp(shifted)
        sums = np.einsum("nc->n", exp_scores)
        loss = np.einsum("n->", np.log(sums) - np.einsum("nc,nc->n", one_hot, shifted)) / num
        delta = (exp_scores / sums[:, np.newaxis] - one_hot) / num
        for layer in range(self.num_layers, 0, -1):
            W = self.params[f"W{layer}"]
            loss += 0.5 * self.reg * np.einsum("ij,ij->", W, W)
            below = inputs[layer - 1]
            grads[f"W{layer}"] = np.tensordot(below, delta, axes=([0], [0])) + self.reg * W
            grads[f"b{layer}"] = np.einsum("nm->m", delta)
            if layer > 1:
                delta = np.einsum("nm,dm->nd", delta, W, optimize=True) * (below > 0)
