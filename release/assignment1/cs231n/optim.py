"""First-order update rules for training neural networks.

Every rule has the same interface:

    next_w, config = update(w, dw, config=None)

Inputs:
- w: Array of the current weights.
- dw: Array of the same shape as w, the gradient of the loss with respect to w.
- config: Dictionary of hyperparameters (learning rate, momentum, ...) and of the state the rule
  carries from one step to the next (velocity, moving averages, ...). Missing hyperparameters
  get their defaults; missing state gets its initial value.

Returns:
- next_w: The weights after the update.
- config: The same dictionary, holding the state for the next step.

The Solver keeps one config per parameter and passes it back on every step, so the state must
be stored in config. For convenience, rules may update w in place and return it.
"""

import numpy as np


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: w <- w - learning_rate * dw.

    config format:
    - learning_rate: Scalar learning rate (default 1e-2).
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)

    w -= config["learning_rate"] * dw
    return w, config


def sgd_momentum(w, dw, config=None):
    """Stochastic gradient descent with momentum.

    config format:
    - learning_rate: Scalar learning rate (default 1e-2).
    - momentum: Scalar between 0 and 1, the momentum value (default 0.9); momentum = 0 gives
      plain sgd.
    - velocity: Array of the same shape as w and dw, a moving average of the gradients
      (zeros at the first step).
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))

    next_w = None
    # TODO: Implement the momentum update, vectorized:
    #     v = momentum * v - learning_rate * dw
    #     next_w = w + v
    # and store the new velocity in config["velocity"] for the next step.
    raise NotImplementedError("sgd_momentum in cs231n/optim.py is not implemented yet: implement the momentum update, vectorized (see the TODO above)")
    config["velocity"] = v

    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp: a moving average of the squared gradients sets a per-parameter learning rate.

    config format:
    - learning_rate: Scalar learning rate (default 1e-2).
    - decay_rate: Scalar between 0 and 1, the decay rate of the squared-gradient cache
      (default 0.99).
    - epsilon: Small scalar that avoids dividing by zero (default 1e-8).
    - cache: Array of the same shape as w, the moving average of the squared gradients (zeros
      at the first step).
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))

    next_w = None
    # TODO: Implement the RMSProp update, vectorized:
    #     cache = decay_rate * cache + (1 - decay_rate) * dw**2
    #     next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)
    # Note that epsilon is added after the square root. Store the new cache in config["cache"].
    raise NotImplementedError("rmsprop in cs231n/optim.py is not implemented yet: implement the RMSProp update, vectorized (see the TODO above)")

    return next_w, config


def adam(w, dw, config=None):
    """Adam: moving averages of the gradient and of its square, with bias correction.

    config format:
    - learning_rate: Scalar learning rate (default 1e-3).
    - beta1: Decay rate of the moving average of the gradient (default 0.9).
    - beta2: Decay rate of the moving average of the squared gradient (default 0.999).
    - epsilon: Small scalar that avoids dividing by zero (default 1e-8).
    - m: Moving average of the gradient (zeros at the first step).
    - v: Moving average of the squared gradient (zeros at the first step).
    - t: Iteration number (0 before the first step).
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)

    next_w = None
    # TODO: Implement the Adam update with bias correction, vectorized. Increment t FIRST and
    # use the incremented t in the bias correction (the first step uses t = 1):
    #     t = t + 1
    #     m = beta1 * m + (1 - beta1) * dw
    #     v = beta2 * v + (1 - beta2) * dw**2
    #     m_hat = m / (1 - beta1**t),  v_hat = v / (1 - beta2**t)
    #     next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)
    # Store the new m, v and t in config.
    raise NotImplementedError("adam in cs231n/optim.py is not implemented yet: implement the Adam update with bias correction, vectorized (see the TODO above)")

    return next_w, config
