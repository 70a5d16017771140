# ruff: noqa: F401, UP004, UP029, UP031
"""Official starter: config['t'] += 1 first, dw**2, epsilon after the sqrt, state in config."""

from builtins import object, range

import numpy as np
from past.builtins import xrange


def sgd_momentum(w, dw, config=None):
    v = config['momentum'] * v - config['learning_rate'] * dw
    next_w = w + v


def rmsprop(w, dw, config=None):
    config['cache'] = config['decay_rate'] * config['cache'] + (1 - config['decay_rate']) * dw**2
    next_w = w - config['learning_rate'] * dw / (np.sqrt(config['cache']) + config['epsilon'])


def adam(w, dw, config=None):
    config['t'] += 1
    config['m'] = config['beta1'] * config['m'] + (1 - config['beta1']) * dw
    config['v'] = config['beta2'] * config['v'] + (1 - config['beta2']) * (dw**2)
    m_hat = config['m'] / (1 - config['beta1']**config['t'])
    v_hat = config['v'] / (1 - config['beta2']**config['t'])
    next_w = w - config['learning_rate'] * m_hat / (np.sqrt(v_hat) + config['epsilon'])
