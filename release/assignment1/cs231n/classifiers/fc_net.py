"""Fully connected networks built from the layers in cs231n/layers.py and cs231n/layer_utils.py.

`from cs231n.classifiers.fc_net import *` gives the layer functions as well as both networks,
as the notebooks expect.
"""


import numpy as np

from ..layer_utils import affine_relu_backward, affine_relu_forward
from ..layers import (
    affine_backward,
    affine_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
)
from ..model_io import SavedParams

__all__ = [
    "TwoLayerNet",
    "FullyConnectedNet",
    "affine_forward",
    "affine_backward",
    "relu_forward",
    "relu_backward",
    "softmax_loss",
    "affine_relu_forward",
    "affine_relu_backward",
]

class TwoLayerNet(SavedParams):
    """A two-layer fully connected network with a ReLU and a softmax loss.

    Architecture: affine - relu - affine - softmax. Inputs have dimension D, the hidden layer H
    units, and the network classifies among C classes. There is no optimizer in here: the
    Solver class runs the optimization.

    The learnable parameters are kept in the dictionary self.params, which maps parameter names
    to numpy arrays; save(fname) and load(fname) (from SavedParams) store it in cs231n/saved/.
    """

    def __init__(
        self,
        input_dim=3 * 32 * 32,
        hidden_dim=100,
        num_classes=10,
        weight_scale=1e-3,
        reg=0.0,
    ):
        """Initialize a new network.

        Inputs:
        - input_dim: An integer D, the size of the input.
        - hidden_dim: An integer H, the size of the hidden layer.
        - num_classes: An integer C, the number of classes.
        - weight_scale: Scalar, the standard deviation of the random initial weights.
        - reg: Scalar, the strength of the L2 regularization.
        """
        self.params = {}
        self.reg = reg

        # TODO: Initialize the weights and biases of the two layers. Weights are
        # weight_scale * np.random.randn(rows, cols), drawn in this order: W1 of shape (D, H), then
        # W2 of shape (H, C) (one np.random.randn call each, nothing else drawn, so that seeded
        # results match the notebook's). Biases are zeros: b1 of shape (H,), b2 of shape (C,).
        # Store them in self.params under the keys 'W1', 'b1', 'W2', 'b2'.
        raise NotImplementedError("TwoLayerNet.__init__ in cs231n/classifiers/fc_net.py is not implemented yet: initialize the weights and biases of the two layers (see the TODO above)")

    def loss(self, X, y=None):
        """Compute the loss and gradients for a minibatch of data.

        Inputs:
        - X: Array of input data, of shape (N, d_1, ..., d_k).
        - y: Array of labels, of shape (N,); y[i] is the label of X[i].

        Returns:
        If y is None, run a test-time forward pass and return:
        - scores: Array of shape (N, C); scores[i, c] is the score of class c for X[i].

        If y is not None, run a training-time forward and backward pass and return a tuple of:
        - loss: Scalar, the data loss plus the regularization loss.
        - grads: Dictionary with the same keys as self.params, mapping each parameter name to
          the gradient of the loss with respect to that parameter.
        """
        scores = None
        # TODO: Forward pass: compute the class scores of X (affine - relu - affine) and store
        # them in `scores`. Use the layer functions of cs231n/layers.py and
        # cs231n/layer_utils.py and keep their caches for the backward pass.
        raise NotImplementedError("TwoLayerNet.loss in cs231n/classifiers/fc_net.py is not implemented yet: forward pass (see the TODO above)")

        # Test mode: the scores are all we need.
        if y is None:
            return scores

        loss, grads = 0, {}
        # TODO: Backward pass: compute the loss in `loss` and the gradients in `grads`
        # (grads['W1'] holds the gradient of the loss with respect to self.params['W1'], and so
        # on). The data loss is softmax_loss of the scores. Regularize the weights only, not the
        # biases, with 0.5 * self.reg * sum(W**2) for each weight matrix W: the factor 0.5 makes
        # the gradient simply add self.reg * W, and it decides whether your loss matches the
        # expected numbers.
        raise NotImplementedError("TwoLayerNet.loss in cs231n/classifiers/fc_net.py is not implemented yet: backward pass (see the TODO above)")

        return loss, grads


class FullyConnectedNet(SavedParams):
    """A fully connected network with any number of hidden layers, ReLUs and a softmax loss.

    For a network with L layers the architecture is

    {affine - relu} x (L - 1) - affine - softmax

    The learnable parameters are kept in the dictionary self.params: the weights W1, ..., WL and
    the biases b1, ..., bL of the layers 1, ..., L. There is no optimizer in here: the Solver
    class runs the optimization.

    Dropout and batch/layer normalization belong to Assignment 2. Their arguments are kept so
    that the signature is the official one, but only their defaults (no dropout, no
    normalization) are accepted here.
    """

    def __init__(
        self,
        hidden_dims,
        input_dim=3 * 32 * 32,
        num_classes=10,
        dropout_keep_ratio=1,
        normalization=None,
        reg=0.0,
        weight_scale=1e-2,
        dtype=np.float32,
        seed=None,
    ):
        """Initialize a new FullyConnectedNet.

        Inputs:
        - hidden_dims: A list of integers, the size of each hidden layer.
        - input_dim: An integer D, the size of the input.
        - num_classes: An integer C, the number of classes.
        - dropout_keep_ratio: Must be 1 (no dropout) in Assignment 1.
        - normalization: Must be None (no batch/layer normalization) in Assignment 1.
        - reg: Scalar, the strength of the L2 regularization.
        - weight_scale: Scalar, the standard deviation of the random initial weights.
        - dtype: A numpy datatype; all computations use it. float32 is faster, float64 is
          needed for numeric gradient checks.
        - seed: Seeded the dropout layers in the official code; unused here (no dropout).
        """
        if dropout_keep_ratio != 1:
            raise ValueError(
                f"FullyConnectedNet: dropout_keep_ratio={dropout_keep_ratio!r} is not supported "
                "in Assignment 1 (dropout is part of Assignment 2); leave it at 1."
            )
        if normalization is not None:
            raise ValueError(
                f"FullyConnectedNet: normalization={normalization!r} is not supported in "
                "Assignment 1 (batch/layer normalization is part of Assignment 2); leave it None."
            )
        self.normalization = normalization
        self.use_dropout = False
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}

        # TODO: Initialize the parameters of the L = self.num_layers layers in self.params:
        # weights 'W1', ..., 'WL' and biases 'b1', ..., 'bL'. Layer i maps the size of its input
        # (input_dim for the first layer, else the previous hidden size) to the size of its output
        # (hidden_dims[i - 1], or num_classes for the last layer). Draw the weights as
        # weight_scale * np.random.randn(in_size, out_size), one call per layer, in layer order
        # W1, W2, ... (nothing else drawn, so that seeded results match the notebook's). Biases
        # are zeros. Do not cast here: the line after this block casts everything to dtype.
        raise NotImplementedError("FullyConnectedNet.__init__ in cs231n/classifiers/fc_net.py is not implemented yet: initialize the parameters of the L = self.num_layers layers in self.params (see the TODO above)")

        for name, value in self.params.items():
            self.params[name] = value.astype(dtype)

    def loss(self, X, y=None):
        """Compute the loss and gradients for the fully connected net.

        Inputs and returns are those of TwoLayerNet.loss: X of shape (N, d_1, ..., d_k) and y of
        shape (N,) or None. With y None, return the scores, of shape (N, C); else return
        (loss, grads), grads having the same keys as self.params.
        """
        X = X.astype(self.dtype, copy=False)
        mode = "test" if y is None else "train"

        scores = None
        # TODO: Forward pass: compute the class scores of X and store them in `scores`. Use
        # affine_relu_forward (cs231n/layer_utils.py) for each of the L - 1 hidden layers and
        # affine_forward for the last layer (no ReLU after it). Keep one cache per layer for the
        # backward pass. Loop over the layers, not over the examples.
        raise NotImplementedError("FullyConnectedNet.loss in cs231n/classifiers/fc_net.py is not implemented yet: forward pass (see the TODO above)")

        # Test mode: the scores are all we need.
        if mode == "test":
            return scores

        loss, grads = 0.0, {}
        # TODO: Backward pass: compute the loss in `loss` and the gradients in `grads`
        # (grads['Wi'] / grads['bi'] for every layer i). The data loss is softmax_loss of the
        # scores; then go back through the layers in reverse order with affine_backward for the
        # last layer and affine_relu_backward for the hidden ones. Regularize the weights only,
        # not the biases, with 0.5 * self.reg * sum(W**2) for each weight matrix W, so that each
        # weight gradient adds self.reg * W.
        raise NotImplementedError("FullyConnectedNet.loss in cs231n/classifiers/fc_net.py is not implemented yet: backward pass (see the TODO above)")

        return loss, grads
