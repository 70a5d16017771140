"""Base loops; update rules change w and their state arrays in place and return w itself."""

import numpy as np


def sgd_momentum(w, dw, config=None):
    v *= config["momentum"]
    v -= config["learning_rate"] * dw
    w += v
    next_w = w


def rmsprop(w, dw, config=None):
    cache = config["cache"]
    cache *= config["decay_rate"]
    cache += (1 - config["decay_rate"]) * dw * dw
    denom = np.sqrt(cache)
    denom += config["epsilon"]
    w -= config["learning_rate"] * dw / denom
    next_w = w


def adam(w, dw, config=None):
    m, v = config["m"], config["v"]
    t = config["t"] = config["t"] + 1
    m *= config["beta1"]
    m += (1 - config["beta1"]) * dw
    v *= config["beta2"]
    v += (1 - config["beta2"]) * dw * dw
    denom = np.sqrt(v / (1 - config["beta2"] ** t))
    denom += config["epsilon"]
    w -= config["learning_rate"] * (m / (1 - config["beta1"] ** t)) / denom
    next_w = w
