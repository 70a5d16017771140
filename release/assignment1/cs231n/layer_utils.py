"""Sandwich layers: common sequences of layers as one forward and one backward function."""

from .layers import affine_backward, affine_forward, relu_backward, relu_forward


def affine_relu_forward(x, w, b):
    """An affine layer followed by a ReLU.

    Inputs:
    - x: Input to the affine layer, of shape (N, d_1, ..., d_k).
    - w: Weights, of shape (D, M).
    - b: Biases, of shape (M,).

    Returns a tuple of:
    - out: Output of the ReLU, of shape (N, M).
    - cache: Tuple (fc_cache, relu_cache) for affine_relu_backward.
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    cache = (fc_cache, relu_cache)
    return out, cache


def affine_relu_backward(dout, cache):
    """Backward pass of affine_relu_forward.

    Inputs:
    - dout: Upstream derivative, of shape (N, M).
    - cache: Tuple (fc_cache, relu_cache) returned by affine_relu_forward.

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, d_1, ..., d_k).
    - dw: Gradient with respect to w, of shape (D, M).
    - db: Gradient with respect to b, of shape (M,).
    """
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db
