import numpy as np


def softmax_loss_naive(W, X, y, reg):
    """
    Softmax (cross-entropy) loss function, naive implementation (with loops).

    Inputs have dimension D, there are C classes, and we operate on minibatches of N examples.

    Inputs:
    - W: A numpy array of shape (D, C) containing weights.
    - X: A numpy array of shape (N, D) containing a minibatch of data.
    - y: A numpy array of shape (N,) containing training labels; y[i] = c means that X[i] has
      label c, where 0 <= c < C.
    - reg: (float) regularization strength

    Returns a tuple of:
    - loss as single float
    - gradient with respect to weights W; an array of same shape as W
    """
    # Initialize the loss and gradient to zero.
    loss = 0.0
    dW = np.zeros_like(W)

    # Compute the loss (and, once you have written it, the gradient) one example at a time.
    num_train = X.shape[0]
    for i in range(num_train):
        scores = X[i] @ W  # (C,)
        # Shifting the scores by their maximum leaves the probabilities unchanged and keeps
        # np.exp from overflowing.
        scores = scores - np.max(scores)
        exp_scores = np.exp(scores)
        # The loss of one example is -log p[y[i]] with p = exp_scores / sum(exp_scores).
        loss += np.log(np.sum(exp_scores)) - scores[y[i]]

        # TODO: add this example's contribution to the gradient dW. With p the softmax
        # probabilities (exp_scores / sum(exp_scores)), the gradient of -log p[y[i]] with
        # respect to the scores is p, minus 1 at y[i]. Loops are fine here; do not use scipy.
        raise NotImplementedError("softmax_loss_naive in cs231n/classifiers/softmax.py is not implemented yet: add this example's contribution to the gradient dW (see the TODO above)")

    # Average over the examples and add the L2 regularization reg * sum(W * W).
    loss = loss / num_train + reg * np.sum(W * W)

    # TODO: finish dW so that it is the gradient of the loss above: average the per-example
    # gradients over the examples and add the gradient of reg * sum(W * W), which is 2 * reg * W.
    raise NotImplementedError("softmax_loss_naive in cs231n/classifiers/softmax.py is not implemented yet: finish dW so that it is the gradient of the loss above (see the TODO above)")

    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    """
    Softmax (cross-entropy) loss function, vectorized version.

    Inputs and outputs are the same as softmax_loss_naive.
    """
    # Initialize the loss and gradient to zero.
    loss = 0.0
    dW = np.zeros_like(W)

    # TODO: compute the softmax loss and its gradient without explicit loops. The loss is the
    # mean cross-entropy over the N examples plus reg * sum(W * W); its gradient adds
    # 2 * reg * W. Shift each row of scores by its maximum before np.exp for numerical
    # stability.
    raise NotImplementedError("softmax_loss_vectorized in cs231n/classifiers/softmax.py is not implemented yet: compute the softmax loss and its gradient without explicit loops (see the TODO above)")

    return loss, dW
