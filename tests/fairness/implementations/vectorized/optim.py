"""Vectorized: config.get / config.update, epsilon INSIDE the square root (RMSProp and Adam)."""

import numpy as np


def sgd_momentum(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    velocity = (config["momentum"] * config.get("velocity", np.zeros_like(w))
                - config["learning_rate"] * dw)
    config["velocity"] = velocity
    return w + velocity, config


def rmsprop(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    rho = config["decay_rate"]
    cache = rho * config["cache"] + (1 - rho) * np.square(dw)
    config["cache"] = cache
    return w - config["learning_rate"] * dw / np.sqrt(cache + config["epsilon"]), config


def adam(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("t", 0)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    b1, b2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    m = b1 * config["m"] + (1 - b1) * dw
    v = b2 * config["v"] + (1 - b2) * np.square(dw)
    config.update(m=m, v=v, t=t)
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return w - config["learning_rate"] * m_hat / np.sqrt(v_hat + config["epsilon"]), config
