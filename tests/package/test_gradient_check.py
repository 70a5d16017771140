"""Numeric-gradient helpers of cs231n/gradient_check.py, on functions with known derivatives."""

import random
import re

import numpy as np
import pytest

from cs231n.gradient_check import (
    centered_difference,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    rel_error,
)


@pytest.mark.parametrize(
    "x, y, expected",
    [
        (1.0, 1.0, 0.0),
        (np.array([1.0, 2.0]), np.array([3.0, 2.0]), 0.5),  # |1-3| / (1+3)
        (np.array([-1.0, 4.0]), np.array([1.0, 4.0]), 1.0),  # opposite signs: the maximum
        (np.zeros(3), np.zeros(3), 0.0),
        (0.0, 1e-9, 0.1),  # the denominator never drops below 1e-8
        (np.array([[1.0, 10.0]]), np.array([[1.1, 10.0]]), 0.1 / 2.1),
    ],
)
def test_rel_error_is_the_largest_relative_difference(x, y, expected):
    assert rel_error(x, y) == pytest.approx(expected, rel=1e-12, abs=0)


def test_centered_difference_steps_one_entry_and_restores_x():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])

    diff = centered_difference(lambda v: v * v, x, (1, 0), h=0.5)

    # Only entry (1, 0) moves: (3.5**2 - 2.5**2) there, 0 elsewhere; x is back as it was.
    assert np.array_equal(diff, [[0.0, 0.0], [6.0, 0.0]])
    assert np.array_equal(x, [[1.0, 2.0], [3.0, 4.0]])


def test_eval_numerical_gradient_of_a_cubic_and_restores_x():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4))
    x_before = x.copy()

    grad = eval_numerical_gradient(lambda x: np.sum(x**3), x, verbose=False)

    assert grad.shape == x.shape
    assert rel_error(grad, 3 * x_before**2) < 1e-8
    assert np.array_equal(x, x_before)


def test_eval_numerical_gradient_prints_every_index_when_verbose(capsys):
    x = np.array([[1.0, 2.0], [3.0, 4.0]])

    eval_numerical_gradient(lambda x: np.sum(x**2), x)

    lines = capsys.readouterr().out.splitlines()
    assert [line.split(")")[0] + ")" for line in lines] == ["(0, 0)", "(0, 1)", "(1, 0)",
                                                            "(1, 1)"]
    assert [float(line.split(")")[1]) for line in lines] == pytest.approx([2, 4, 6, 8], rel=1e-8)


def test_eval_numerical_gradient_is_silent_unless_verbose(capsys):
    eval_numerical_gradient(lambda x: np.sum(x), np.ones(3), verbose=False)

    assert capsys.readouterr().out == ""


def test_eval_numerical_gradient_array_is_the_backward_pass_of_a_matrix_product():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3))
    A = rng.standard_normal((3, 5))
    df = rng.standard_normal((4, 5))
    x_before = x.copy()

    grad = eval_numerical_gradient_array(lambda x: x @ A, x, df)

    assert rel_error(grad, df @ A.T) < 1e-8
    assert np.array_equal(x, x_before)


def test_eval_numerical_gradient_array_copes_with_functions_returning_their_input():
    # f returns x itself: without copying f(x + h) before x changes, the difference would be 0.
    x = np.linspace(-1.0, 1.0, num=6).reshape(2, 3)
    df = np.arange(6.0).reshape(2, 3)

    grad = eval_numerical_gradient_array(lambda x: x, x, df)

    assert np.allclose(grad, df, rtol=1e-8, atol=1e-8)


_SPARSE_LINE = re.compile(
    r"^numerical: (-?\d+\.\d{6}) analytic: (-?\d+\.\d{6}), relative error: (\S+)$"
)


def _sparse_check_lines(capsys, f, x, analytic, num_checks):
    grad_check_sparse(f, x, analytic, num_checks=num_checks)
    lines = capsys.readouterr().out.splitlines()
    matches = [_SPARSE_LINE.match(line) for line in lines]
    assert all(matches), lines
    return [(float(m[1]), float(m[2]), float(m[3])) for m in matches]


def test_grad_check_sparse_reports_small_errors_for_a_correct_gradient(capsys):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 4))

    results = _sparse_check_lines(capsys, lambda x: np.sum(np.sin(x)), x, np.cos(x), 7)

    assert len(results) == 7
    assert all(error < 1e-7 for _, _, error in results)


def test_grad_check_sparse_reports_large_errors_for_a_wrong_gradient(capsys):
    x = np.linspace(0.5, 1.5, num=12).reshape(3, 4)

    results = _sparse_check_lines(capsys, lambda x: np.sum(x**2), x, 3 * x, 5)

    assert all(error == pytest.approx(0.2, rel=1e-5) for _, _, error in results)  # |2x-3x|/5x


def test_grad_check_sparse_samples_indices_with_random_randrange():
    x = np.zeros((3, 7))
    touched = []

    def f(x):
        touched.append(tuple(int(i) for i in np.argwhere(x != 0)[0]))
        return 0.0

    random.seed(3)
    grad_check_sparse(f, x, np.ones_like(x), num_checks=6)

    random.seed(3)
    expected = [(random.randrange(3), random.randrange(7)) for _ in range(6)]
    assert touched[::2] == expected and touched[1::2] == expected
    assert not x.any()
