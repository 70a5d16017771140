"""Loops: naive gradient loops over classes; vectorized loss as probabilities then log; np.dot."""

import numpy as np


def softmax_loss_naive(W, X, y, reg):
    total = np.sum(exp_scores)
    for c in range(W.shape[1]):
        p_c = exp_scores[c] / total
        if c == y[i]:
            dW[:, c] += (p_c - 1.0) * X[i]
        else:
            dW[:, c] += p_c * X[i]
    ...
    dW = dW / num_train + 2 * reg * W


def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = np.dot(X, W)
    scores = scores - np.max(scores, axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    rows = np.arange(num_train)
    loss = -np.sum(np.log(probs[rows, y])) / num_train + reg * np.sum(W * W)
    dscores = probs.copy()
    dscores[rows, y] -= 1.0
    dscores /= num_train
    dW = np.dot(X.T, dscores) + 2 * reg * W
