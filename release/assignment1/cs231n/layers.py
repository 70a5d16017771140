"""Layers of a fully connected network: each forward returns (out, cache), each backward takes
(dout, cache) and returns the gradients of the loss with respect to the forward's inputs."""

import numpy as np


def affine_forward(x, w, b):
    """Forward pass of a fully connected (affine) layer: out = x w + b.

    Each example x[i] may have any shape (d_1, ..., d_k); it is flattened to a row of
    D = d_1 * ... * d_k values before the product.

    Inputs:
    - x: Array of shape (N, d_1, ..., d_k), a minibatch of N examples.
    - w: Array of weights, of shape (D, M).
    - b: Array of biases, of shape (M,).

    Returns a tuple of:
    - out: Output, of shape (N, M).
    - cache: (x, w, b), the inputs, kept for the backward pass.
    """
    out = None
    # TODO: Compute the affine forward pass and store it in `out`. Flatten each example to a row
    # with x.reshape(x.shape[0], -1) (do not change x itself: the cache keeps the original shape),
    # then one matrix product plus the bias broadcast over the rows. No loops.
    raise NotImplementedError("affine_forward in cs231n/layers.py is not implemented yet: compute the affine forward pass and store it in `out` (see the TODO above)")
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """Backward pass of a fully connected (affine) layer.

    Inputs:
    - dout: Upstream derivative, of shape (N, M).
    - cache: Tuple (x, w, b) saved by affine_forward:
      - x: Input data, of shape (N, d_1, ..., d_k).
      - w: Weights, of shape (D, M).
      - b: Biases, of shape (M,).

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, d_1, ..., d_k).
    - dw: Gradient with respect to w, of shape (D, M).
    - db: Gradient with respect to b, of shape (M,).
    """
    x, w, b = cache
    dx, dw, db = None, None, None
    # TODO: Compute dx, dw and db with matrix products, no loops. dx must have the shape of the
    # original x (reshape back to x.shape); dw uses x flattened to (N, D) as in the forward pass;
    # db sums dout over the examples.
    raise NotImplementedError("affine_backward in cs231n/layers.py is not implemented yet: compute dx, dw and db with matrix products, no loops (see the TODO above)")
    return dx, dw, db


def relu_forward(x):
    """Forward pass of a layer of rectified linear units: out = max(0, x), elementwise.

    Input:
    - x: Array of any shape.

    Returns a tuple of:
    - out: Output, of the same shape as x.
    - cache: x itself.
    """
    out = None
    # TODO: Compute the ReLU forward pass, vectorized (np.maximum), no loops. Do not modify x in
    # place: it is the cache the backward pass needs.
    raise NotImplementedError("relu_forward in cs231n/layers.py is not implemented yet: compute the ReLU forward pass, vectorized (np.maximum), no loops (see the TODO above)")
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """Backward pass of a layer of rectified linear units.

    Input:
    - dout: Upstream derivatives, of any shape.
    - cache: Input x of relu_forward, of the same shape as dout.

    Returns:
    - dx: Gradient with respect to x, of the same shape as dout.
    """
    dx, x = None, cache
    # TODO: Compute dx, vectorized, no loops: the gradient flows only where x > 0 (strictly; at
    # x == 0 it is 0).
    raise NotImplementedError("relu_backward in cs231n/layers.py is not implemented yet: compute dx, vectorized, no loops (see the TODO above)")
    return dx


def softmax_loss(x, y):
    """Softmax (cross-entropy) loss and its gradient.

    Inputs:
    - x: Class scores, of shape (N, C); x[i, j] is the score of class j for example i.
    - y: Labels, of shape (N,); y[i] is the label of x[i] and 0 <= y[i] < C.

    Returns a tuple of:
    - loss: Scalar, the cross-entropy averaged over the N examples.
    - dx: Gradient of that averaged loss with respect to x, of shape (N, C).
    """
    loss, dx = None, None
    # TODO: Compute the mean cross-entropy loss over the N examples and its gradient dx, fully
    # vectorized (no loops). Subtract each row's maximum score before exponentiating, so that
    # large scores cannot overflow. The loss is an average, so dx is divided by N too.
    raise NotImplementedError("softmax_loss in cs231n/layers.py is not implemented yet: compute the mean cross-entropy loss over the N examples and its gradient dx, fully vectorized (no loops) (see the TODO above)")
    return loss, dx
