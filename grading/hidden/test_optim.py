"""Hidden checks of the update rules sgd_momentum, rmsprop and adam (cs231n/optim.py).

Several steps in a row, the returned config carried to the next step, compared with the
reference to tolerances.UPDATE (the published checks' bar). Gradients keep |dw| >= 0.5, where
epsilon added inside or outside the square root moves the weights by less than 1e-7 of their
size: both placements pass, as in the notebook. Where a gradient is exactly 0 at the first step
the weight must stay put, which needs an epsilon somewhere (0 / 0 is NaN). Updating w in place
and returning it is allowed (the given sgd does so).
"""

import numpy as np
import pytest

from coursekit.grader import tolerances
from coursekit.grader.context import CheckFailed

OPTIM = "cs231n.optim"
RULES = {
    "sgd_momentum": ({"learning_rate": 0.03, "momentum": 0.85}, ["velocity"]),
    "rmsprop": ({"learning_rate": 0.02, "decay_rate": 0.95}, ["cache"]),
    "adam": ({"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.97}, ["m", "v", "t"]),
}


def each_rule(*rules):
    return pytest.mark.parametrize("rule", [
        pytest.param(r, id=r, marks=pytest.mark.function(r)) for r in rules])


def gradient(student, shape, low=0.5, high=2.0):
    """Random signs, magnitudes in [low, high): never near 0."""
    signs = np.where(student.rng.rand(*shape) < 0.5, -1.0, 1.0)
    return signs * student.rng.uniform(low, high, size=shape)


def check_step(student, rule, value, w, state, tag):
    if not isinstance(value, tuple) or len(value) != 2 or not isinstance(value[1], dict):
        raise CheckFailed(f"{rule} should return (next_w, config)")
    next_w, config = value
    next_w = student.array(next_w, "next_w", shape=w.shape)
    student.expect(f"{tag}_w", next_w, f"next_w {tag.replace('_', ' ')}", tolerances.UPDATE)
    for key in state:
        tol = tolerances.LABELS if key == "t" else tolerances.UPDATE
        student.expect(f"{tag}_{key}", config.get(key), f"config['{key}'] "
                                                         f"{tag.replace('_', ' ')}", tol)
    return np.asarray(next_w, dtype=np.float64)


def run_steps(student, rule, config, state, steps):
    w = student.rng.randn(5, 4)
    _, handle = student.call("builtins:dict", keep=True, show="none", **config)
    for step in range(1, steps + 1):
        dw = gradient(student, w.shape, *((0.5, 1.0) if step % 2 else (1.0, 2.0)))
        value, handle = student.call(f"{OPTIM}:{rule}", w, dw, handle, keep=True, keep_path=[1],
                                     what=f"{rule}(w, dw, config) at step {step}")
        w = check_step(student, rule, value, w, state, f"at_step_{step}")


@pytest.mark.points(2)
@each_rule("sgd_momentum", "rmsprop", "adam")
def test_steps_carry_the_state_in_config(student, rule):
    config, state = RULES[rule]
    run_steps(student, rule, config, state, steps=5)


@pytest.mark.points(1)
@each_rule("sgd_momentum", "rmsprop", "adam")
def test_first_step_with_the_default_hyperparameters(student, rule):
    _, state = RULES[rule]
    w, dw = student.rng.randn(3, 6), gradient(student, (3, 6))
    dw[1, :2] = 0.0  # no gradient: the weight stays, and nothing divides 0 by 0
    value = student.call(f"{OPTIM}:{rule}", w, dw, None, what=f"{rule}(w, dw, config=None)")
    check_step(student, rule, value, w, state, "with_default_hyperparameters")


@pytest.mark.points(1)
@each_rule("sgd_momentum", "adam")
def test_steps_resume_from_a_saved_config(student, rule):
    """A config carried over from earlier training: velocity, or m and v with t already 7."""
    if rule == "adam":
        config = {"learning_rate": 0.005, "m": student.rng.randn(5, 4) * 0.1,
                  "v": student.rng.uniform(0.001, 0.01, size=(5, 4)), "t": 7}
    else:
        config = {"learning_rate": 0.05, "momentum": 0.7,
                  "velocity": student.rng.randn(5, 4) * 0.2}
    run_steps(student, rule, config, RULES[rule][1], steps=3)
