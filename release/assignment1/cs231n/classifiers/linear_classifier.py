
import numpy as np

from ..model_io import load_params, save_params
from .softmax import softmax_loss_vectorized


class LinearClassifier:
    def __init__(self):
        self.W = None

    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200,
              verbose=False):
        """
        Train this linear classifier using stochastic gradient descent.

        Inputs:
        - X: A numpy array of shape (N, D) containing training data; there are N training
          samples each of dimension D.
        - y: A numpy array of shape (N,) containing training labels; y[i] = c means that X[i]
          has label 0 <= c < C for C classes.
        - learning_rate: (float) learning rate for optimization.
        - reg: (float) regularization strength.
        - num_iters: (integer) number of steps to take when optimizing.
        - batch_size: (integer) number of training examples to use at each step.
        - verbose: (boolean) If true, print progress during optimization.

        Outputs:
        A list containing the value of the loss function at each training iteration.
        """
        num_train, dim = X.shape
        num_classes = np.max(y) + 1  # assume y takes values 0...K-1 where K is number of classes
        if self.W is None:
            # lazily initialize W
            self.W = 0.001 * np.random.randn(dim, num_classes)

        # Run stochastic gradient descent to optimize W
        loss_history = []
        for it in range(num_iters):
            X_batch = None
            y_batch = None

            # TODO: sample batch_size training examples and their labels into X_batch, of
            # shape (batch_size, dim), and y_batch, of shape (batch_size,). Sample WITH
            # replacement (faster than without), drawing the indices with exactly one call
            # np.random.choice(num_train, batch_size) per iteration.
            raise NotImplementedError("LinearClassifier.train in cs231n/classifiers/linear_classifier.py is not implemented yet: sample batch_size training examples and their labels into X_batch, of shape (batch_size, dim), and y_batch, of shape (batch_size,) (see the TODO above)")

            # evaluate loss and gradient
            loss, grad = self.loss(X_batch, y_batch, reg)
            loss_history.append(loss)

            # TODO: update the weights self.W with one step of gradient descent, using the
            # gradient and the learning rate.
            raise NotImplementedError("LinearClassifier.train in cs231n/classifiers/linear_classifier.py is not implemented yet: update the weights self.W with one step of gradient descent, using the gradient and the learning rate (see the TODO above)")

            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:f}")

        return loss_history

    def predict(self, X):
        """
        Use the trained weights of this linear classifier to predict labels for data points.

        Inputs:
        - X: A numpy array of shape (N, D) containing training data; there are N training
          samples each of dimension D.

        Returns:
        - y_pred: Predicted labels for the data in X. y_pred is a 1-dimensional array of length
          N, and each element is an integer giving the predicted class.
        """
        y_pred = np.zeros(X.shape[0])
        # TODO: predict the label of each row of X: the class with the highest score in
        # X @ self.W. Store the labels in y_pred.
        raise NotImplementedError("LinearClassifier.predict in cs231n/classifiers/linear_classifier.py is not implemented yet: predict the label of each row of X (see the TODO above)")
        return y_pred

    def loss(self, X_batch, y_batch, reg):
        """
        Compute the loss function and its derivative.
        Subclasses will override this.

        Inputs:
        - X_batch: A numpy array of shape (N, D) containing a minibatch of N data points; each
          point has dimension D.
        - y_batch: A numpy array of shape (N,) containing labels for the minibatch.
        - reg: (float) regularization strength.

        Returns: A tuple containing:
        - loss as a single float
        - gradient with respect to self.W; an array of the same shape as W
        """
        raise NotImplementedError(
            f"{type(self).__name__}.loss: LinearClassifier has no loss of its own; "
            "train a subclass such as Softmax"
        )

    def save(self, fname):
        """Save the weights to cs231n/saved/<fname> (np.save of {"W": W})."""
        save_params({"W": self.W}, fname)

    def load(self, fname):
        """Load the weights saved by save(fname) from cs231n/saved/<fname>."""
        self.W = load_params(fname, f"{type(self).__name__}.load")["W"]
        return True


class Softmax(LinearClassifier):
    """A subclass that uses the Softmax + Cross-entropy loss function."""

    def loss(self, X_batch, y_batch, reg):
        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)
