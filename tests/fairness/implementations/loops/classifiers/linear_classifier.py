"""Loops: batch indices from np.random.randint, in-place SGD step, argmax row by row."""

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
            batch_idx = np.random.randint(0, num_train, batch_size)
            X_batch = X[batch_idx]
            y_batch = y[batch_idx]

            loss, grad = self.loss(X_batch, y_batch, reg)
            loss_history.append(loss)

            self.W -= learning_rate * grad

            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:f}")
        return loss_history

    def predict(self, X):
        scores = np.dot(X, self.W)
        y_pred = np.zeros(X.shape[0])
        for i in range(X.shape[0]):
            y_pred[i] = np.argmax(scores[i])
        return y_pred
