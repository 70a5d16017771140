"""Vectorized: @, log-sum-exp (log-probabilities, never log of a probability), np.outer."""

import numpy as np


def softmax_loss_naive(W, X, y, reg):
    log_sum = np.log(np.exp(scores).sum())
    dscores = np.exp(scores - log_sum)
    dscores[y[i]] -= 1
    dW += np.outer(X[i], dscores)
    ...
    dW = dW / num_train + 2 * reg * W


def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    rows = np.arange(num_train)
    loss = -log_probs[rows, y].mean() + reg * (W * W).sum()
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1
    dW = X.T @ dscores / num_train + 2 * reg * W
