"""einsum: ufuncs (np.square, np.multiply, np.divide) that keep w's dtype, eps after the sqrt."""

import numpy as np


def sgd_momentum(w, dw, config=None):
    v = np.multiply(config["momentum"], v) - np.multiply(config["learning_rate"], dw)
    next_w = np.add(w, v)


def rmsprop(w, dw, config=None):
    rho = config["decay_rate"]
    config["cache"] = np.multiply(rho, config["cache"]) + np.multiply(1 - rho, np.square(dw))
    step = np.divide(dw, np.sqrt(config["cache"]) + config["epsilon"])
    next_w = w - np.multiply(config["learning_rate"], step)


def adam(w, dw, config=None):
    config["t"] += 1
    t = config["t"]
    beta1, beta2 = config["beta1"], config["beta2"]
    config["m"] = np.multiply(beta1, config["m"]) + np.multiply(1 - beta1, dw)
    config["v"] = np.multiply(beta2, config["v"]) + np.multiply(1 - beta2, np.square(dw))
    m_hat = np.divide(config["m"], 1 - beta1 ** t)
    v_hat = np.divide(config["v"], 1 - beta2 ** t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
