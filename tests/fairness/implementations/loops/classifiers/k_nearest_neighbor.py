"""Loops: explicit loops where allowed, np.dot, clamp by mask, votes counted by hand in a dict."""

import numpy as np


class KNearestNeighbor:
    def compute_distances_two_loops(self, X):
        diff = X[i] - self.X_train[j]
        dists[i, j] = np.sqrt(np.dot(diff, diff))

    def compute_distances_one_loop(self, X):
        diff = self.X_train - X[i]
        dists[i, :] = np.sqrt(np.sum(diff * diff, axis=1))

    def compute_distances_no_loops(self, X):
        test_sq = np.sum(X * X, axis=1).reshape(-1, 1)
        train_sq = np.sum(self.X_train * self.X_train, axis=1).reshape(1, -1)
        squared = test_sq + train_sq - 2.0 * np.dot(X, self.X_train.T)
        squared[squared < 0] = 0.0
        dists = np.sqrt(squared)

    def predict_labels(self, dists, k=1):
        order = np.argsort(dists[i])
        for idx in order[:k]:
            closest_y.append(self.y_train[idx])
        ...
        votes = {}
        for label in closest_y:
            votes[label] = votes.get(label, 0) + 1
        best_label, best_count = None, 0
        for label, count in votes.items():
            if count > best_count or (count == best_count and label < best_label):
                best_label, best_count = label, count
        y_pred[i] = best_label
