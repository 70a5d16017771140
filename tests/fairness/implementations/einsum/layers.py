"""einsum: tensordot on unflattened x, einsum for dw/db/ReLU mask, np.clip ReLU, one-hot softmax."""

import numpy as np


def affine_forward(x, w, b):
    w_shaped = w.reshape(x.shape[1:] + (w.shape[1],))
    out = np.tensordot(x, w_shaped, axes=x.ndim - 1) + b


def affine_backward(dout, cache):
    dx = np.tensordot(dout, w, axes=([1], [1])).reshape(x.shape)
    dw = np.einsum("nd,nm->dm", x.reshape(x.shape[0], -1), dout, optimize=True)
    db = np.einsum("nm->m", dout)


def relu_forward(x):
    out = np.clip(x, 0, None)


def relu_backward(dout, cache):
    mask = (x > 0).astype(dout.dtype)
    dx = np.einsum("...,...->...", dout, mask)


def softmax_loss(x, y):
    num, num_classes = x.shape
    shifted = x - np.max(x, axis=1, keepdims=True)
    one_hot = (y[:, np.newaxis] == np.arange(num_classes)).astype(x.dtype)
    exp_scores = np.exp(shifted)
    sums = np.einsum("nc->n", exp_scores)
    loss = np.einsum("n->", np.log(sums) - np.einsum("nc,nc->n", one_hot, shifted)) / num
    dx = (exp_scores / sums[:, np.newaxis] - one_hot) / num
