"""Loops: batch indices from np.random.randint, in-place SGD step, argmax row by row."""

import numpy as np


class LinearClassifier:
    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200,
              verbose=False):
        batch_idx = np.random.randint(0, num_train, batch_size)
        X_batch = X[batch_idx]
        y_batch = y[batch_idx]
        ...
        self.W -= learning_rate * grad

    def predict(self, X):
        scores = np.dot(X, self.W)
        for i in range(X.shape[0]):
            y_pred[i] = np.argmax(scores[i])
