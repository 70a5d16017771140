"""einsum: products, one-hot correct scores and L2 term by np.einsum; log-sum-exp; keeps dtype."""

import numpy as np


def softmax_loss_naive(W, X, y, reg):
    dscores = exp_scores / np.sum(exp_scores)
    dscores[y[i]] -= 1
    dW += np.einsum("d,c->dc", X[i], dscores)
    ...
    dW = np.divide(dW, num_train) + np.multiply(2 * reg, W)


def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = np.einsum("nd,dc->nc", X, W, optimize=True)
    scores = scores - scores.max(axis=1, keepdims=True)
    one_hot = (y[:, np.newaxis] == np.arange(W.shape[1])).astype(scores.dtype)
    exp_scores = np.exp(scores)
    sums = np.einsum("nc->n", exp_scores)
    correct = np.einsum("nc,nc->n", one_hot, scores)
    loss = np.einsum("n->", np.log(sums) - correct) / num_train
    loss += reg * np.einsum("dc,dc->", W, W)
    dscores = (exp_scores / sums[:, np.newaxis] - one_hot) / num_train
    dW = np.einsum("nd,nc->dc", X, dscores, optimize=True) + 2 * reg * W
