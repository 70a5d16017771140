# ruff: noqa: F401, UP004, UP029, UP031
"""Official starter: py2-era imports, X[i, :] slices, np.sum(np.square()), np.unique vote."""

from builtins import object, range

import numpy as np
from past.builtins import xrange


class KNearestNeighbor:
    def compute_distances_two_loops(self, X):
        dists[i, j] = np.sqrt(np.sum(np.square(X[i, :] - self.X_train[j, :])))

    def compute_distances_one_loop(self, X):
        dists[i, :] = np.sqrt(np.sum(np.square(self.X_train - X[i, :]), axis=1))

    def compute_distances_no_loops(self, X):
        test_sum = np.sum(np.square(X), axis=1, keepdims=True)
        train_sum = np.sum(np.square(self.X_train), axis=1)
        inner = X.dot(self.X_train.T)
        dists = np.sqrt(np.maximum(test_sum + train_sum - 2 * inner, 0))

    def predict_labels(self, dists, k=1):
        closest_y = self.y_train[np.argsort(dists[i, :])[:k]]
        ...
        labels, counts = np.unique(closest_y, return_counts=True)
        y_pred[i] = labels[np.argmax(counts)]
