# ruff: noqa: F401, UP004, UP029, UP031
"""Official starter: np.random.choice(num_train, batch_size), self.W -= ..., X.dot(self.W)."""

from builtins import object, range

import numpy as np
from past.builtins import xrange


class LinearClassifier:
    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200,
              verbose=False):
        batch_indices = np.random.choice(num_train, batch_size)
        X_batch = X[batch_indices]
        y_batch = y[batch_indices]
        ...
        self.W -= learning_rate * grad

    def predict(self, X):
        y_pred = np.argmax(X.dot(self.W), axis=1)
