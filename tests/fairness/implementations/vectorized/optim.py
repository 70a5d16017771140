"""Vectorized: config.get / config.update, epsilon INSIDE the square root (RMSProp and Adam)."""

import numpy as np


def sgd_momentum(w, dw, config=None):
    mu, lr = config["momentum"], config["learning_rate"]
    v = mu * v - lr * dw
    next_w = w + v


def rmsprop(w, dw, config=None):
    rho = config["decay_rate"]
    config["cache"] = rho * config["cache"] + (1 - rho) * np.square(dw)
    next_w = w - config["learning_rate"] * dw / np.sqrt(config["cache"] + config["epsilon"])


def adam(w, dw, config=None):
    b1, b2 = config["beta1"], config["beta2"]
    t = config.get("t") + 1
    m = b1 * config["m"] + (1 - b1) * dw
    v = b2 * config["v"] + (1 - b2) * np.square(dw)
    config.update(m=m, v=v, t=t)
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    next_w = w - config["learning_rate"] * m_hat / np.sqrt(v_hat + config["epsilon"])
