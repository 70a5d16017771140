"""Hidden checks of the layers (cs231n/layers.py).

Values are compared with the reference to tolerances.FLOAT64 (products and sums in any order),
relu to tolerances.EXACT (no rounding in a correct version). The backward passes are also
compared with centred differences that the grader computes itself with its own forward pass
(the student's code only gives the analytic gradient). relu_backward's inputs keep away from
x == 0, where the assignment accepts either gradient. The stability check of softmax_loss adds
750 to 1000 to every score of a row: np.exp overflows without the max shift, and both a shift
followed by probabilities-then-log and a log-sum-exp stay finite. In-place changes are
checked where they break the caller: relu_forward's x is the backward pass's cache, and a
softmax_loss that shifts x in place corrupts the notebook's own gradient check; relu_backward
may overwrite dout (`dx = dout; dx[x <= 0] = 0` is common and harmless).
"""

import numpy as np
import pytest

from coursekit.grader import tolerances
from coursekit.grader.master import master_module

LAYERS = "cs231n.layers"


def forward_of(name):
    return getattr(master_module("layers"), name)


def numeric_gradient(f, x, dout):
    """Centred differences of sum(f(x) * dout), computed here with the grader's functions: the
    master's gradient_check, never the submission's copy."""
    return master_module("gradient_check").eval_numerical_gradient_array(f, x, dout)


def affine_forward(student, x, w, b):
    out, _ = student.call(f"{LAYERS}:affine_forward", x, w, b, what="affine_forward(x, w, b)")
    return student.array(out, "out", shape=(x.shape[0], w.shape[1]))


def affine_case(student, xshape, M):
    x = student.rng.randn(*xshape)
    D = int(np.prod(xshape[1:]))
    return x, student.rng.randn(D, M), student.rng.randn(M)


def check_affine_forward_cases(student, cases):
    """affine_forward on random x, w, b for each (shape of x, M) of cases, against the
    reference values out0, out1, ..."""
    for case, (xshape, M) in enumerate(cases):
        x, w, b = affine_case(student, xshape, M)
        student.expect(f"out{case}", affine_forward(student, x, w, b),
                       f"out for x of shape {xshape}", tolerances.FLOAT64)


@pytest.mark.points(3)
@pytest.mark.function("affine_forward")
def test_affine_forward_matches_the_reference(student):
    check_affine_forward_cases(student, [((5, 2, 3, 4), 6), ((3, 7), 2)])


@pytest.mark.points(1)
@pytest.mark.function("affine_forward")
def test_affine_forward_handles_one_example_and_singleton_dimensions(student):
    # Squeeze-based flattening breaks here.
    check_affine_forward_cases(student, [((1, 5), 3), ((3, 1, 1, 4), 2), ((1, 2, 1, 3), 1)])


@pytest.mark.points(1)
@pytest.mark.function("affine_forward")
def test_affine_forward_leaves_x_unchanged(student):
    x, w, b = affine_case(student, (4, 3, 5), 2)
    handle = student.keep(x)
    out, _ = student.call(f"{LAYERS}:affine_forward", handle, w, b,
                          what="affine_forward(x, w, b)")
    student.expect("out", student.array(out, "out", shape=(4, 2)), "out", tolerances.FLOAT64)
    after = student.array(student.get(handle, what="reading x after affine_forward"), "x")
    student.require(after.shape == x.shape and np.array_equal(after, x),
                    "affine_forward changed its input x (its values or its shape); the cache "
                    "keeps x for the backward pass: reshape into a new name instead")


def affine_backward(student, xshape, M):
    x, w, b = affine_case(student, xshape, M)
    dout = student.rng.randn(xshape[0], M)
    dx, dw, db = student.call(f"{LAYERS}:affine_backward", dout, (x, w, b),
                              what="affine_backward(dout, cache)")
    grads = {"dx": student.array(dx, "dx", shape=x.shape),
             "dw": student.array(dw, "dw", shape=w.shape),
             "db": student.array(db, "db", shape=b.shape)}
    return (x, w, b), dout, grads


@pytest.mark.points(3)
@pytest.mark.function("affine_backward")
def test_affine_backward_matches_the_reference(student):
    _, _, grads = affine_backward(student, (4, 3, 2, 5), 7)
    for name, value in grads.items():
        student.expect(name, value, name, tolerances.FLOAT64)


@pytest.mark.points(2)
@pytest.mark.function("affine_backward")
def test_affine_backward_is_the_gradient_of_affine_forward(student):
    (x, w, b), dout, grads = affine_backward(student, (6, 5), 3)
    forward = forward_of("affine_forward")
    for name, var in (("dx", x), ("dw", w), ("db", b)):

        def f(v, name=name):
            args = {"dx": (v, w, b), "dw": (x, v, b), "db": (x, w, v)}[name]
            return forward(*args)[0]

        student.expect_grad_close(grads[name], numeric_gradient(f, var.copy(), dout), name,
                                  tolerances.NUMERIC_GRADIENT)


@pytest.mark.points(2)
@pytest.mark.function("relu_forward")
def test_relu_forward_matches_the_reference(student):
    x = student.rng.randn(4, 5, 3)
    x[0, 0, :] = 0.0  # relu(0) = 0 whatever the convention
    out, _ = student.call(f"{LAYERS}:relu_forward", x, what="relu_forward(x)")
    student.expect("out", student.array(out, "out", shape=x.shape), "out", tolerances.EXACT)


@pytest.mark.points(1)
@pytest.mark.function("relu_forward")
def test_relu_forward_leaves_x_unchanged(student):
    x = student.rng.randn(3, 8)
    handle = student.keep(x)
    out, _ = student.call(f"{LAYERS}:relu_forward", handle, what="relu_forward(x)")
    student.expect("out", student.array(out, "out", shape=x.shape), "out", tolerances.EXACT)
    after = student.array(student.get(handle, what="reading x after relu_forward"), "x")
    student.require(np.array_equal(after, x), "relu_forward changed its input x in place; x "
                                              "is the cache of the backward pass, leave it "
                                              "unchanged")


def away_from_zero(student, shape):
    """Normal values with |x| >= 0.05: the gradient at exactly 0 may be either."""
    x = student.rng.randn(*shape)
    return np.where(np.abs(x) < 0.05, np.sign(x + 1e-12) * 0.05 + x, x)


@pytest.mark.points(2)
@pytest.mark.function("relu_backward")
def test_relu_backward_matches_the_reference(student):
    x, dout = away_from_zero(student, (6, 7)), student.rng.randn(6, 7)
    dx = student.call(f"{LAYERS}:relu_backward", dout, x, what="relu_backward(dout, cache)")
    student.expect("dx", student.array(dx, "dx", shape=x.shape), "dx", tolerances.EXACT)


@pytest.mark.points(1)
@pytest.mark.function("relu_backward")
def test_relu_backward_is_the_gradient_of_relu(student):
    x, dout = away_from_zero(student, (5, 4)), student.rng.randn(5, 4)
    dx = student.array(student.call(f"{LAYERS}:relu_backward", dout, x,
                                    what="relu_backward(dout, cache)"), "dx", shape=x.shape)
    numeric = numeric_gradient(lambda v: np.maximum(0, v), x.copy(), dout)
    student.expect_grad_close(dx, numeric, "dx", tolerances.NUMERIC_GRADIENT)


def scores_case(student, scale, offset=0.0):
    x = student.rng.randn(9, 6) * scale
    x += offset * student.rng.uniform(0.75, 1.0, size=(9, 1))
    y = student.rng.permutation(np.arange(9) % 6)
    return x, y


def softmax_loss(student, x, y, what="softmax_loss(x, y)"):
    loss, dx = student.call(f"{LAYERS}:softmax_loss", x, y, what=what)
    return student.scalar(loss, "the loss"), student.array(dx, "dx", shape=(9, 6))


@pytest.mark.points(3)
@pytest.mark.function("softmax_loss")
def test_softmax_loss_matches_the_reference(student):
    x, y = scores_case(student, 3.0)
    loss, dx = softmax_loss(student, x, y)
    student.expect("loss", loss, "the loss", tolerances.FLOAT64)
    student.expect("dx", dx, "dx", tolerances.FLOAT64)


@pytest.mark.points(2)
@pytest.mark.function("softmax_loss")
def test_softmax_loss_is_stable_for_large_scores(student):
    x, y = scores_case(student, 3.0, offset=1000.0)
    loss, dx = softmax_loss(student, x, y, "softmax_loss on scores of about 1000")
    student.expect("loss", loss, "the loss on scores of about 1000 (shift each row of x by its "
                                 "maximum before np.exp)", tolerances.FLOAT64)
    student.expect("dx", dx, "dx on scores of about 1000", tolerances.FLOAT64)


@pytest.mark.points(2)
@pytest.mark.function("softmax_loss")
def test_softmax_loss_gradient_is_the_numeric_gradient_of_the_loss(student):
    x, y = scores_case(student, 2.0)
    _, dx = softmax_loss(student, x, y)
    idx = [(i, j) for i in range(0, 9, 2) for j in range(6)]
    numeric = student.numeric_grad(f"{LAYERS}:softmax_loss", [x, y], idx, arg=0, select=[0],
                                   what="softmax_loss(x, y)")
    student.expect_grad_close(dx[tuple(np.array(idx).T)], numeric, "dx",
                              tolerances.NUMERIC_GRADIENT)


@pytest.mark.points(1)
@pytest.mark.function("softmax_loss")
def test_softmax_loss_leaves_x_unchanged(student):
    x, y = scores_case(student, 3.0)
    handle = student.keep(x)
    loss, dx = student.call(f"{LAYERS}:softmax_loss", handle, y, what="softmax_loss(x, y)")
    student.expect("loss", student.scalar(loss, "the loss"), "the loss", tolerances.FLOAT64)
    student.expect("dx", student.array(dx, "dx", shape=x.shape), "dx", tolerances.FLOAT64)
    after = student.array(student.get(handle, what="reading x after softmax_loss"), "x")
    student.require(np.array_equal(after, x), "softmax_loss changed its input x in place (x -= "
                                              "...); shift into a new array (shifted = x - "
                                              "...): the caller's x must stay as it was")
