"""Base loops; update rules change w and their state arrays in place and return w itself."""

import numpy as np


def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.setdefault("velocity", np.zeros_like(w))
    v *= config["momentum"]
    v -= config["learning_rate"] * dw
    w += v
    return w, config


def rmsprop(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.setdefault("cache", np.zeros_like(w))
    cache *= config["decay_rate"]
    cache += (1 - config["decay_rate"]) * dw * dw
    denom = np.sqrt(cache)
    denom += config["epsilon"]
    w -= config["learning_rate"] * dw / denom
    return w, config


def adam(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    m = config.setdefault("m", np.zeros_like(w))
    v = config.setdefault("v", np.zeros_like(w))
    config["t"] = config.get("t", 0) + 1
    t = config["t"]
    m *= config["beta1"]
    m += (1 - config["beta1"]) * dw
    v *= config["beta2"]
    v += (1 - config["beta2"]) * dw * dw
    denom = np.sqrt(v / (1 - config["beta2"] ** t))
    denom += config["epsilon"]
    w -= config["learning_rate"] * (m / (1 - config["beta1"] ** t)) / denom
    return w, config
