"""Vectorized: np.random.choice without replacement (unless batch > N), W = W - lr * grad."""

import numpy as np


class LinearClassifier:
    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200,
              verbose=False):
        idx = np.random.choice(num_train, batch_size, replace=batch_size > num_train)
        X_batch, y_batch = X[idx], y[idx]
        ...
        self.W = self.W - learning_rate * grad

    def predict(self, X):
        y_pred = (X @ self.W).argmax(axis=1)
