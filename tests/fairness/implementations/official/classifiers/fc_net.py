# ruff: noqa: F401, UP004, UP029, UP031
"""Official starter: 'W%d' % i keys, xrange, affine_relu_forward/backward, np.sum(W * W)."""

from builtins import object, range

import numpy as np
from past.builtins import xrange

from ..layer_utils import affine_relu_backward, affine_relu_forward
from ..layers import affine_backward, affine_forward, softmax_loss


class TwoLayerNet:
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3,
                 reg=0.0):
        self.params['W1'] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params['b1'] = np.zeros(hidden_dim)
        self.params['W2'] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params['b2'] = np.zeros(num_classes)

    def loss(self, X, y=None):
        h, cache_h = affine_relu_forward(X, self.params['W1'], self.params['b1'])
        scores, cache_scores = affine_forward(h, self.params['W2'], self.params['b2'])
        ...
        loss, dscores = softmax_loss(scores, y)
        W1, W2 = self.params['W1'], self.params['W2']
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dh, grads['W2'], grads['b2'] = affine_backward(dscores, cache_scores)
        dx, grads['W1'], grads['b1'] = affine_relu_backward(dh, cache_h)
        grads['W2'] += self.reg * W2
        grads['W1'] += self.reg * W1


class FullyConnectedNet:
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        dims = [input_dim] + list(hidden_dims) + [num_classes]
        for i in xrange(self.num_layers):
            self.params['W%d' % (i + 1)] = weight_scale * np.random.randn(dims[i], dims[i + 1])
            self.params['b%d' % (i + 1)] = np.zeros(dims[i + 1])

    def loss(self, X, y=None):
        caches = {}
        out = X
        for i in xrange(1, self.num_layers):
            out, caches[i] = affine_relu_forward(out, self.params['W%d' % i],
                                                 self.params['b%d' % i])
        L = self.num_layers
        scores, caches[L] = affine_forward(out, self.params['W%d' % L], self.params['b%d' % L])
        ...
        loss, dout = softmax_loss(scores, y)
        for i in xrange(1, L + 1):
            W = self.params['W%d' % i]
            loss += 0.5 * self.reg * np.sum(W * W)
        dout, grads['W%d' % L], grads['b%d' % L] = affine_backward(dout, caches[L])
        grads['W%d' % L] += self.reg * self.params['W%d' % L]
        for i in reversed(xrange(1, L)):
            dout, grads['W%d' % i], grads['b%d' % i] = affine_relu_backward(dout, caches[i])
            grads['W%d' % i] += self.reg * self.params['W%d' % i]
