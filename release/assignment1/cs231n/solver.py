"""Solver: trains a classification model with minibatch gradient descent."""

import copy
import pickle

import numpy as np

from . import optim


class Solver:
    """Train a classification model with one of the update rules of cs231n/optim.py.

    The model must have:
    - model.params: a dictionary mapping parameter names to numpy arrays.
    - model.loss(X, y=None): with y, returns (loss, grads) where grads has the keys of
      model.params; without y, returns the class scores of X, of shape (N, C).

    Construct a Solver with the model, the data and the options below, call train(), then read
    the histories. The model ends with the parameters that had the best validation accuracy.

    Example:

        data = {"X_train": ..., "y_train": ..., "X_val": ..., "y_val": ...}
        model = TwoLayerNet(hidden_dim=100, reg=1e-3)
        solver = Solver(model, data, update_rule="sgd",
                        optim_config={"learning_rate": 1e-3},
                        lr_decay=0.95, num_epochs=10, batch_size=100, print_every=100)
        solver.train()

    After train():
    - solver.loss_history: the loss of every iteration.
    - solver.train_acc_history, solver.val_acc_history: the accuracies measured at the first
      iteration, at the end of every epoch and at the last iteration.
    - solver.best_val_acc: the best validation accuracy seen.
    """

    def __init__(self, model, data, **kwargs):
        """Construct a new Solver.

        Required arguments:
        - model: A model object as described in the class docstring.
        - data: A dictionary with the training and validation data:
          - "X_train": Array of shape (N_train, d_1, ..., d_k) of training images.
          - "y_train": Array of shape (N_train,) of training labels.
          - "X_val": Array of shape (N_val, d_1, ..., d_k) of validation images.
          - "y_val": Array of shape (N_val,) of validation labels.

        Optional keyword arguments:
        - update_rule: Name of an update rule in cs231n/optim.py (default "sgd").
        - optim_config: Dictionary of hyperparameters for the update rule; every parameter of
          the model gets its own copy. All rules need "learning_rate".
        - lr_decay: The learning rate is multiplied by this at the end of every epoch.
        - batch_size: Size of the minibatches (default 100).
        - num_epochs: Number of epochs to train (default 10).
        - num_train_samples: Number of training examples the training accuracy is measured on
          (default 1000); None uses the whole training set.
        - num_val_samples: Number of validation examples the validation accuracy is measured on;
          None (the default) uses the whole validation set.
        - checkpoint_name: If not None, a checkpoint is pickled to
          "<checkpoint_name>_epoch_<epoch>.pkl" every time accuracies are measured.
        - print_every: Print the loss every print_every iterations (default 10).
        - verbose: If False, print nothing during training (default True).
        """
        self.model = model
        self.X_train = data["X_train"]
        self.y_train = data["y_train"]
        self.X_val = data["X_val"]
        self.y_val = data["y_val"]

        self.update_rule = kwargs.pop("update_rule", "sgd")
        self.optim_config = kwargs.pop("optim_config", {})
        self.lr_decay = kwargs.pop("lr_decay", 1.0)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        self.num_train_samples = kwargs.pop("num_train_samples", 1000)
        self.num_val_samples = kwargs.pop("num_val_samples", None)
        self.checkpoint_name = kwargs.pop("checkpoint_name", None)
        self.print_every = kwargs.pop("print_every", 10)
        self.verbose = kwargs.pop("verbose", True)

        if kwargs:
            unknown = ", ".join(f'"{name}"' for name in kwargs)
            raise ValueError(f"Solver: unrecognized arguments {unknown}; check their spelling.")

        if not isinstance(self.update_rule, str) or not hasattr(optim, self.update_rule):
            raise ValueError(
                f'Solver: invalid update_rule "{self.update_rule}"; use the name of a function '
                "of cs231n/optim.py: sgd, sgd_momentum, rmsprop or adam."
            )
        self.update_rule = getattr(optim, self.update_rule)

        self._reset()

    def _reset(self):
        """Set up the bookkeeping of an optimization run. Called by the constructor."""
        self.epoch = 0
        self.best_val_acc = 0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []

        # Every parameter carries its own state (velocity, moving averages...) in its config.
        self.optim_configs = {name: copy.deepcopy(self.optim_config) for name in self.model.params}

    def _step(self):
        """One gradient update on a random minibatch (sampled with replacement)."""
        num_train = self.X_train.shape[0]
        batch_mask = np.random.choice(num_train, self.batch_size)
        X_batch = self.X_train[batch_mask]
        y_batch = self.y_train[batch_mask]

        loss, grads = self.model.loss(X_batch, y_batch)
        self.loss_history.append(loss)

        for name, w in self.model.params.items():
            next_w, next_config = self.update_rule(w, grads[name], self.optim_configs[name])
            self.model.params[name] = next_w
            self.optim_configs[name] = next_config

    def _save_checkpoint(self):
        if self.checkpoint_name is None:
            return
        checkpoint = {
            "model": self.model,
            "update_rule": self.update_rule,
            "lr_decay": self.lr_decay,
            "optim_config": self.optim_config,
            "batch_size": self.batch_size,
            "num_train_samples": self.num_train_samples,
            "num_val_samples": self.num_val_samples,
            "epoch": self.epoch,
            "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
        }
        filename = f"{self.checkpoint_name}_epoch_{self.epoch}.pkl"
        if self.verbose:
            print(f'Saving checkpoint to "{filename}"')
        with open(filename, "wb") as f:
            pickle.dump(checkpoint, f)

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Accuracy of the model on the given data.

        Inputs:
        - X: Array of data, of shape (N, d_1, ..., d_k).
        - y: Array of labels, of shape (N,).
        - num_samples: If not None and smaller than N, measure on a random subsample (drawn
          with replacement) of this many examples.
        - batch_size: Predict in batches of this size, to bound the memory used.

        Returns:
        - acc: Scalar, the fraction of examples the model classifies correctly.
        """
        N = X.shape[0]
        if num_samples is not None and N > num_samples:
            mask = np.random.choice(N, num_samples)
            N = num_samples
            X = X[mask]
            y = y[mask]

        num_batches = N // batch_size
        if N % batch_size != 0:
            num_batches += 1
        y_pred = []
        for i in range(num_batches):
            scores = self.model.loss(X[i * batch_size : (i + 1) * batch_size])
            y_pred.append(np.argmax(scores, axis=1))
        y_pred = np.hstack(y_pred)
        return np.mean(y_pred == y)

    def train(self):
        """Run the optimization; the model ends with the best parameters found."""
        num_train = self.X_train.shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch

        for t in range(num_iterations):
            self._step()

            if self.verbose and t % self.print_every == 0:
                print(f"(Iteration {t + 1} / {num_iterations}) loss: {self.loss_history[-1]:f}")

            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                for config in self.optim_configs.values():
                    config["learning_rate"] *= self.lr_decay

            # Measure the accuracies at the first and last iterations and after every epoch.
            if t == 0 or t == num_iterations - 1 or epoch_end:
                train_acc = self.check_accuracy(
                    self.X_train, self.y_train, num_samples=self.num_train_samples
                )
                val_acc = self.check_accuracy(
                    self.X_val, self.y_val, num_samples=self.num_val_samples
                )
                self.train_acc_history.append(train_acc)
                self.val_acc_history.append(val_acc)
                self._save_checkpoint()

                if self.verbose:
                    print(
                        f"(Epoch {self.epoch} / {self.num_epochs}) "
                        f"train acc: {train_acc:f}; val_acc: {val_acc:f}"
                    )

                if val_acc > self.best_val_acc:
                    self.best_val_acc = val_acc
                    self.best_params = {name: w.copy() for name, w in self.model.params.items()}

        # Keep the best model. (The official code also swapped in an empty dict when the
        # validation accuracy never rose above 0, which left a model without parameters.)
        if self.best_params:
            self.model.params = self.best_params
