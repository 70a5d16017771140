"""Vectorized: np.random.choice without replacement (unless batch > N), W = W - lr * grad."""

import numpy as np


class LinearClassifier:
    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200,
              verbose=False):
        num_train, dim = X.shape
        num_classes = np.max(y) + 1
        if self.W is None:
            self.W = 0.001 * np.random.randn(dim, num_classes)

        loss_history = []
        for it in range(num_iters):
            idx = np.random.choice(num_train, batch_size, replace=batch_size > num_train)
            X_batch, y_batch = X[idx], y[idx]
            loss, grad = self.loss(X_batch, y_batch, reg)
            loss_history.append(loss)
            self.W = self.W - learning_rate * grad
            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:f}")
        return loss_history

    def predict(self, X):
        return (X @ self.W).argmax(axis=1)
