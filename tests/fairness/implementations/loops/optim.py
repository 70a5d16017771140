"""Loops: plain formulas building new arrays each step, epsilon added after the square root."""

import numpy as np


def sgd_momentum(w, dw, config=None):
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v


def rmsprop(w, dw, config=None):
    decay = config["decay_rate"]
    cache = decay * config["cache"] + (1 - decay) * dw * dw
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache


def adam(w, dw, config=None):
    beta1, beta2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    m = beta1 * config["m"] + (1 - beta1) * dw
    v = beta2 * config["v"] + (1 - beta2) * dw * dw
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config["m"], config["v"], config["t"] = m, v, t
