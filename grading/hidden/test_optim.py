"""Hidden checks of the update rules sgd_momentum, rmsprop and adam (cs231n/optim.py).

Several steps in a row, the returned config carried to the next step, compared with the
reference to tolerances.UPDATE (the published checks' bar). Gradients keep |dw| >= 0.5, where
epsilon added inside or outside the square root moves the weights by less than 1e-7 of their
size: both placements pass, as in the notebook. The decay rates of the multi-step checks are
well below the defaults (0.3-0.45), where a wrong expression such as `1 % beta` stops agreeing
with `1 - beta`. At the first step with the defaults, a gradient of exactly 0 must leave its
weight where it is (which needs an epsilon somewhere: 0 / 0 is NaN) and a tiny gradient (1e-9)
must move its weight downhill (epsilon added to the denominator, not taken from it); by how
much depends on where epsilon is, so those entries are judged by direction only. Updating w in
place and returning it is allowed (the given sgd does so).
"""

import numpy as np
import pytest

from coursekit.grader import tolerances
from coursekit.grader.context import CheckFailed

OPTIM = "cs231n.optim"
RULES = {
    "sgd_momentum": ({"learning_rate": 0.03, "momentum": 0.85}, ["velocity"]),
    "rmsprop": ({"learning_rate": 0.02, "decay_rate": 0.4}, ["cache"]),
    "adam": ({"learning_rate": 0.01, "beta1": 0.3, "beta2": 0.45}, ["m", "v", "t"]),
}


def each_rule(*rules):
    return pytest.mark.parametrize("rule", [
        pytest.param(r, id=r, marks=pytest.mark.function(r)) for r in rules])


def gradient(student, shape, low=0.5, high=2.0):
    """Random signs, magnitudes in [low, high): never near 0."""
    signs = np.where(student.rng.rand(*shape) < 0.5, -1.0, 1.0)
    return signs * student.rng.uniform(low, high, size=shape)


def check_step(student, rule, value, w, state, tag, judged=None):
    """next_w and the state against the reference; `judged`: the entries of next_w compared."""
    if not isinstance(value, tuple) or len(value) != 2 or not isinstance(value[1], dict):
        raise CheckFailed(f"{rule} should return (next_w, config)")
    next_w, config = value
    next_w = student.array(next_w, "next_w", shape=w.shape)
    words = tag.replace("_", " ")
    student.expect(f"{tag}_w", next_w if judged is None else next_w[judged], f"next_w {words}",
                   tolerances.UPDATE)
    for key in state:
        tol = tolerances.LABELS if key == "t" else tolerances.UPDATE
        student.expect(f"{tag}_{key}", config.get(key), f"config['{key}'] {words}", tol)
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
    zero, tiny = np.zeros(dw.shape, bool), np.zeros(dw.shape, bool)
    zero[1, :2], tiny[2, :3] = True, True
    dw[zero] = 0.0
    dw[tiny] *= 1e-9
    value = student.call(f"{OPTIM}:{rule}", w, dw, None, what=f"{rule}(w, dw, config=None)")
    next_w = check_step(student, rule, value, w, state, "with_default_hyperparameters",
                        judged=~(zero | tiny))
    student.require(np.array_equal(next_w[zero], w[zero]),
                    "a weight whose gradient is 0 should not move at the first step (is epsilon "
                    "in the denominator?)")
    moved = np.sign(next_w[tiny] - w[tiny])
    student.require(np.array_equal(moved, -np.sign(dw[tiny])),
                    "a weight whose gradient is tiny (1e-9) should move against its gradient at "
                    "the first step; it moved the other way or not at all (add epsilon to the "
                    "denominator, do not subtract it)")


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
