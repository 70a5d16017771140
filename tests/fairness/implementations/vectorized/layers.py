"""Vectorized: @, np.maximum, np.where passing the gradient at x == 0, log-sum-exp softmax."""

import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(len(x), -1) @ w + b


def affine_backward(dout, cache):
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(len(x), -1).T @ dout
    db = dout.sum(axis=0)


def relu_forward(x):
    out = np.maximum(x, 0)


def relu_backward(dout, cache):
    dx = np.where(x >= 0, dout, 0)


def softmax_loss(x, y):
    num = len(x)
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(num)
    loss = -log_probs[rows, y].mean()
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= num
