# ruff: noqa: F401, UP004, UP029, UP031
"""Official starter: xrange loop over classes, dW /= and +=, probs then -log vectorized, .dot."""

from builtins import object, range

import numpy as np
from past.builtins import xrange


def softmax_loss_naive(W, X, y, reg):
    probs = exp_scores / np.sum(exp_scores)
    for j in xrange(W.shape[1]):
        dW[:, j] += probs[j] * X[i]
    dW[:, y[i]] -= X[i]
    ...
    dW /= num_train
    dW += 2 * reg * W


def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    loss = np.sum(-np.log(probs[np.arange(num_train), y]))
    loss /= num_train
    loss += reg * np.sum(W * W)
    dscores = probs
    dscores[np.arange(num_train), y] -= 1
    dW = X.T.dot(dscores) / num_train + 2 * reg * W
