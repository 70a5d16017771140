"""Numeric gradients by centered differences, to check the analytic gradients against."""

from random import randrange

import numpy as np


def rel_error(x, y):
    """Largest elementwise relative error between x and y (arrays or scalars).

    Each difference |x - y| is divided by |x| + |y|, or by 1e-8 when that is smaller, so that
    two values both near zero do not blow the error up.
    """
    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))


def centered_difference(f, x, ix, h=1e-5):
    """f(x + h) - f(x - h) for a step h in the single entry ix of x.

    Inputs:
    - f: A function that takes one array and returns a scalar or an array.
    - x: The array to step; perturbed in place and restored afterwards.
    - ix: The index (a tuple) of the entry of x to step.
    - h: The step.

    Returns:
    - The difference of the two values of f, not yet divided by 2h. f may return a view of
      its input or reuse a buffer, so each value is copied before x changes again.
    """
    oldval = x[ix]
    x[ix] = oldval + h
    fxph = np.copy(f(x))
    x[ix] = oldval - h
    fxmh = np.copy(f(x))
    x[ix] = oldval
    return fxph - fxmh


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Numeric gradient of a scalar function f at x.

    Inputs:
    - f: A function that takes one array and returns a scalar.
    - x: The array (of any shape) at which to evaluate the gradient. It is perturbed in place
      one entry at a time and restored afterwards.
    - verbose: If True, print every index with its gradient.
    - h: The step of the centered difference (f(x + h) - f(x - h)) / (2h).

    Returns:
    - grad: Array of the shape of x, the numeric gradient.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        grad[ix] = centered_difference(f, x, ix, h) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numeric gradient, through an array-valued function f, of the scalar sum(f(x) * df).

    This is what a backward pass computes: df is the upstream derivative of the loss with
    respect to f(x), and the result is the derivative of the loss with respect to x.

    Inputs:
    - f: A function that takes one array and returns an array.
    - x: The array (of any shape) at which to evaluate the gradient; perturbed in place one
      entry at a time and restored afterwards.
    - df: Array of the shape of f(x), the upstream derivative.
    - h: The step of the centered difference.

    Returns:
    - grad: Array of the shape of x.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        grad[ix] = np.sum(centered_difference(f, x, ix, h) * df) / (2 * h)
        it.iternext()
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5):
    """Compare the analytic gradient with the numeric one at num_checks random entries of x.

    Prints, for each sampled entry, the numeric and the analytic gradient and their relative
    error. Entries are sampled with Python's random module (random.randrange per dimension).

    Inputs:
    - f: A function that takes one array and returns a scalar.
    - x: The array at which to check; perturbed in place and restored.
    - analytic_grad: Array of the shape of x, the gradient to check.
    - num_checks: How many entries to check.
    - h: The step of the centered difference.
    """
    for _ in range(num_checks):
        ix = tuple(randrange(m) for m in x.shape)
        grad_numerical = centered_difference(f, x, ix, h) / (2 * h)
        grad_analytic = analytic_grad[ix]
        error = rel_error(grad_numerical, grad_analytic)
        print(
            f"numerical: {grad_numerical:f} analytic: {grad_analytic:f}, "
            f"relative error: {error:e}"
        )
