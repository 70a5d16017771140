"""Update rules of cs231n/optim.py against reference computations written here, entry by entry,
from the formulas of the notebook (and of the lecture notes)."""

import math

import numpy as np
import pytest

from cs231n import optim
from cs231n.gradient_check import rel_error

N, D = 4, 5


def _linspace(lo, hi):
    return np.linspace(lo, hi, num=N * D).reshape(N, D)


def _gradients(num_steps):
    """A different gradient at every step, with both signs and a few large entries."""
    rng = np.random.default_rng(2024)
    return [rng.standard_normal((N, D)) * rng.choice([0.1, 1.0, 10.0], size=(N, D))
            for _ in range(num_steps)]


# Reference rules: plain Python on one float at a time, state in local lists.

def _reference_sgd_momentum(w, dws, lr, mu, v):
    w, v = w.ravel().tolist(), v.ravel().tolist()
    for dw in dws:
        for i, g in enumerate(dw.ravel().tolist()):
            v[i] = mu * v[i] - lr * g
            w[i] = w[i] + v[i]
    return np.reshape(w, (N, D)), np.reshape(v, (N, D))


def _reference_rmsprop(w, dws, lr, decay, eps, cache):
    w, cache = w.ravel().tolist(), cache.ravel().tolist()
    for dw in dws:
        for i, g in enumerate(dw.ravel().tolist()):
            cache[i] = decay * cache[i] + (1 - decay) * g * g
            w[i] = w[i] - lr * g / (math.sqrt(cache[i]) + eps)
    return np.reshape(w, (N, D)), np.reshape(cache, (N, D))


def _reference_adam(w, dws, lr, beta1, beta2, eps, m, v, t):
    w, m, v = w.ravel().tolist(), m.ravel().tolist(), v.ravel().tolist()
    for dw in dws:
        t = t + 1  # the step count the bias correction uses is the new one
        for i, g in enumerate(dw.ravel().tolist()):
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            m_hat = m[i] / (1 - beta1**t)
            v_hat = v[i] / (1 - beta2**t)
            w[i] = w[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
    return np.reshape(w, (N, D)), np.reshape(m, (N, D)), np.reshape(v, (N, D)), t


def _run(rule, w, dws, config):
    """Apply `rule` once per gradient, passing the returned config back as the Solver does."""
    for dw in dws:
        w, config = rule(w, dw, config)
    return w, config


# The rules with one state array: name -> (its key in config, the learning rate of the test,
# reference(w, dws, lr, state) with the rule's default hyperparameters).
ONE_STATE_RULES = {
    "sgd_momentum": ("velocity", 1e-3,
                     lambda w, dws, lr, v: _reference_sgd_momentum(w, dws, lr, 0.9, v)),
    "rmsprop": ("cache", 1e-2,
                lambda w, dws, lr, cache: _reference_rmsprop(w, dws, lr, 0.99, 1e-8, cache)),
}


@pytest.mark.parametrize("num_steps", [1, 5])
@pytest.mark.parametrize("name", sorted(ONE_STATE_RULES))
def test_momentum_and_rmsprop_follow_the_formula_and_carry_their_state(name, num_steps):
    key, lr, reference = ONE_STATE_RULES[name]
    w, state = _linspace(-0.4, 0.6), _linspace(0.6, 0.9)
    dws = _gradients(num_steps)
    config = {"learning_rate": lr, key: state.copy()}

    next_w, config = _run(getattr(optim, name), w.copy(), dws, config)

    expected_w, expected_state = reference(w, dws, lr, state)
    assert rel_error(next_w, expected_w) < 1e-12
    assert rel_error(config[key], expected_state) < 1e-12


def test_sgd_momentum_defaults_and_zero_initial_velocity():
    w, dw = _linspace(-0.4, 0.6), _linspace(-0.6, 0.4)

    next_w, config = optim.sgd_momentum(w.copy(), dw)

    assert config["learning_rate"] == 1e-2
    assert config["momentum"] == 0.9
    # From rest, the first step is a plain gradient step and the velocity is that step.
    assert np.allclose(next_w, w - 1e-2 * dw, rtol=0, atol=1e-15)
    assert np.allclose(config["velocity"], -1e-2 * dw, rtol=0, atol=1e-15)


def test_sgd_momentum_without_momentum_is_sgd():
    w, dws = _linspace(-0.4, 0.6), _gradients(3)

    w_momentum, _ = _run(optim.sgd_momentum, w.copy(), dws, {"learning_rate": 0.05,
                                                             "momentum": 0.0})
    w_sgd, _ = _run(optim.sgd, w.copy(), dws, {"learning_rate": 0.05})

    assert np.allclose(w_momentum, w_sgd, rtol=0, atol=1e-14)


def test_rmsprop_defaults_and_zero_initial_cache():
    w, dw = _linspace(-0.4, 0.6), _linspace(-0.6, 0.4)

    next_w, config = optim.rmsprop(w.copy(), dw)

    assert (config["learning_rate"], config["decay_rate"], config["epsilon"]) == (
        1e-2, 0.99, 1e-8)
    # From a zero cache: cache = 0.01 dw^2, so each weight moves by about 0.1 * sign(dw).
    assert np.allclose(config["cache"], 0.01 * dw**2, rtol=1e-14, atol=0)
    assert np.allclose(next_w, w - 1e-2 * dw / (0.1 * np.abs(dw) + 1e-8), rtol=1e-12, atol=0)


def test_rmsprop_adds_epsilon_after_the_square_root():
    w, dw = np.zeros(1), np.array([1e-6])
    config = {"learning_rate": 1.0, "decay_rate": 0.0, "epsilon": 1e-6}

    next_w, _ = optim.rmsprop(w, dw, config)

    # sqrt(dw^2) + eps = 2e-6; sqrt(dw^2 + eps) would be about 1e-3.
    assert np.allclose(next_w, [-0.5], rtol=1e-12, atol=0)


@pytest.mark.parametrize("start_t, num_steps", [(0, 1), (0, 6), (5, 1), (5, 4)])
def test_adam_follows_the_formula_and_carries_its_state(start_t, num_steps):
    w, m, v = _linspace(-0.4, 0.6), _linspace(0.6, 0.9), _linspace(0.7, 0.5)
    if start_t == 0:
        m, v = np.zeros_like(w), np.zeros_like(w)
    dws = _gradients(num_steps)
    config = {"learning_rate": 1e-2, "m": m.copy(), "v": v.copy(), "t": start_t}

    next_w, config = _run(optim.adam, w.copy(), dws, config)

    expected_w, expected_m, expected_v, expected_t = _reference_adam(
        w, dws, 1e-2, 0.9, 0.999, 1e-8, m, v, start_t)
    assert config["t"] == expected_t == start_t + num_steps
    assert rel_error(next_w, expected_w) < 1e-12
    assert rel_error(config["m"], expected_m) < 1e-12
    assert rel_error(config["v"], expected_v) < 1e-12


def test_adam_defaults_and_first_step_uses_t_equal_one():
    w, dw = _linspace(-0.4, 0.6), _linspace(-0.6, 0.4)

    next_w, config = optim.adam(w.copy(), dw)

    assert (config["learning_rate"], config["beta1"], config["beta2"], config["epsilon"]) == (
        1e-3, 0.9, 0.999, 1e-8)
    assert config["t"] == 1
    # With t incremented before the bias correction, the corrected moments of the first step
    # are dw and dw^2, so each weight moves by learning_rate against the sign of its gradient.
    # (With t = 0 the correction would divide by zero.)
    assert np.all(np.isfinite(next_w))
    assert np.allclose(next_w, w - 1e-3 * np.sign(dw), rtol=0, atol=1e-9)
    assert np.allclose(config["m"], 0.1 * dw, rtol=1e-12, atol=0)
    assert np.allclose(config["v"], 0.001 * dw**2, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["sgd", "sgd_momentum", "rmsprop", "adam"])
def test_update_rules_keep_float32_weights_float32(name):
    w = _linspace(-0.4, 0.6).astype(np.float32)
    dws = [g.astype(np.float32) for g in _gradients(3)]

    next_w, config = _run(getattr(optim, name), w, dws, None)

    assert next_w.dtype == np.float32
    for key in ("velocity", "cache", "m", "v"):
        if key in config:
            assert config[key].dtype == np.float32, key


@pytest.mark.parametrize("name", ["sgd", "sgd_momentum", "rmsprop", "adam"])
def test_update_rules_fill_in_and_return_the_callers_config(name):
    config = {"learning_rate": 0.123}

    _, returned = getattr(optim, name)(_linspace(-0.4, 0.6), _linspace(-0.6, 0.4), config)

    assert returned is config
    assert config["learning_rate"] == 0.123
