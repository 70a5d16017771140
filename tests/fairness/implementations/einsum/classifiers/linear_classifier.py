"""einsum: np.random.choice(..., replace=True) by keyword, rebinding SGD step, einsum scores."""

import numpy as np


class LinearClassifier:
    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200,
              verbose=False):
        batch = np.random.choice(num_train, size=batch_size, replace=True)
        X_batch = np.take(X, batch, axis=0)
        y_batch = np.take(y, batch)
        ...
        self.W = np.subtract(self.W, np.multiply(learning_rate, grad))

    def predict(self, X):
        scores = np.einsum("nd,dc->nc", X, self.W, optimize=True)
        y_pred = np.argmax(scores, axis=1)
