"""Loops: explicit loops where allowed, np.dot, clamp by mask, votes counted by hand in a dict."""

import numpy as np


class KNearestNeighbor:
    def compute_distances_two_loops(self, X):
        num_test = X.shape[0]
        num_train = self.X_train.shape[0]
        dists = np.zeros((num_test, num_train))
        for i in range(num_test):
            for j in range(num_train):
                diff = X[i] - self.X_train[j]
                dists[i, j] = np.sqrt(np.dot(diff, diff))
        return dists

    def compute_distances_one_loop(self, X):
        num_test = X.shape[0]
        num_train = self.X_train.shape[0]
        dists = np.zeros((num_test, num_train))
        for i in range(num_test):
            diff = self.X_train - X[i]
            dists[i, :] = np.sqrt(np.sum(diff * diff, axis=1))
        return dists

    def compute_distances_no_loops(self, X):
        test_sq = np.sum(X * X, axis=1).reshape(-1, 1)
        train_sq = np.sum(self.X_train * self.X_train, axis=1).reshape(1, -1)
        squared = test_sq + train_sq - 2.0 * np.dot(X, self.X_train.T)
        squared[squared < 0] = 0.0
        dists = np.sqrt(squared)
        return dists

    def predict_labels(self, dists, k=1):
        num_test = dists.shape[0]
        y_pred = np.zeros(num_test)
        for i in range(num_test):
            order = np.argsort(dists[i])
            closest_y = []
            for idx in order[:k]:
                closest_y.append(self.y_train[idx])
            votes = {}
            for label in closest_y:
                votes[label] = votes.get(label, 0) + 1
            best_label, best_count = None, 0
            for label, count in votes.items():
                if count > best_count or (count == best_count and label < best_label):
                    best_label, best_count = label, count
            y_pred[i] = best_label
        return y_pred
