"""Mutants of the master: each one realistic bug costs points in its own function's checks only.

A mutant is one or more text substitutions applied to a temporary copy of the master package
(an edit whose text is not found exactly once fails loudly, so the corpus follows the master).
Slow corpus: `make test-mutants`.
"""
import pytest

from .conftest import copy_master, edit, grade, message_leaks

KNN = "classifiers/k_nearest_neighbor.py"
SOFTMAX = "classifiers/softmax.py"
LINEAR = "classifiers/linear_classifier.py"
FC = "classifiers/fc_net.py"

TWO = "dists[i, j] = np.sqrt(np.sum((X[i] - self.X_train[j]) ** 2))"
ONE = "dists[i, :] = np.sqrt(np.sum((self.X_train - X[i]) ** 2, axis=1))"
NO_TEST_SQ = 'test_sq = np.einsum("ij,ij->i", X, X)'
NO_PRODUCT = "dists = -2.0 * (X @ self.X_train.T)"
NO_SQRT = "np.sqrt(np.maximum(dists, 0.0, out=dists), out=dists)"
VOTE = "y_pred[i] = np.bincount(closest_y).argmax()"
NAIVE_DW = "dW = dW / num_train + 2 * reg * W"
VEC_LOSS = "loss = np.mean(np.log(sum_exp) - scores[rows, y]) + reg * np.sum(W * W)"
VEC_DW = "dW = X.T @ dscores / num_train + 2 * reg * W"
ADAM_T = 'config["t"] += 1\n'
ADAM_W = 'next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])'

# name: (function that breaks, [(file, old, new), ...])
MUTANTS = {
    "two_loops_no_sqrt": ("KNearestNeighbor.compute_distances_two_loops", [
        (KNN, TWO, "dists[i, j] = np.sum((X[i] - self.X_train[j]) ** 2)")]),
    "two_loops_loop_over_dimension": ("KNearestNeighbor.compute_distances_two_loops", [
        (KNN, TWO, "dists[i, j] = np.sqrt(sum((X[i][d] - self.X_train[j][d]) ** 2 "
                   "for d in range(X.shape[1])))")]),
    "one_loop_l1_distance": ("KNearestNeighbor.compute_distances_one_loop", [
        (KNN, ONE, "dists[i, :] = np.sum(np.abs(self.X_train - X[i]), axis=1)")]),
    "one_loop_uses_norm": ("KNearestNeighbor.compute_distances_one_loop", [
        (KNN, ONE, "dists[i, :] = np.linalg.norm(self.X_train - X[i], axis=1)")]),
    "no_loops_sqrt_inside_the_sum": ("KNearestNeighbor.compute_distances_no_loops", [
        (KNN, NO_TEST_SQ, 'test_sq = np.sqrt(np.einsum("ij,ij->i", X, X))'),
        (KNN, 'train_sq = np.einsum("ij,ij->i", self.X_train, self.X_train)',
         'train_sq = np.sqrt(np.einsum("ij,ij->i", self.X_train, self.X_train))')]),
    "no_loops_missing_factor_two": ("KNearestNeighbor.compute_distances_no_loops", [
        (KNN, NO_PRODUCT, "dists = -(X @ self.X_train.T)")]),
    "no_loops_comprehension": ("KNearestNeighbor.compute_distances_no_loops", [
        (KNN, NO_SQRT, "dists = np.array([np.sqrt(np.maximum(r, 0.0)) for r in dists])")]),
    "no_loops_scipy": ("KNearestNeighbor.compute_distances_no_loops", [
        (KNN, NO_SQRT, "from scipy.spatial.distance import cdist\n"
                       "        dists = cdist(X, self.X_train)")]),
    "ties_toward_larger_label": ("KNearestNeighbor.predict_labels", [
        (KNN, VOTE, "counts = np.bincount(closest_y)\n"
                    "            y_pred[i] = len(counts) - 1 - counts[::-1].argmax()")]),
    "k_ignored": ("KNearestNeighbor.predict_labels", [
        (KNN, "np.argsort(dists[i])[:k]", "np.argsort(dists[i])[:1]")]),
    "farthest_neighbours": ("KNearestNeighbor.predict_labels", [
        (KNN, "np.argsort(dists[i])[:k]", "np.argsort(-dists[i])[:k]")]),
    "naive_missing_2_reg": ("softmax_loss_naive", [
        (SOFTMAX, NAIVE_DW, "dW = dW / num_train + reg * W")]),
    "naive_gradient_not_divided_by_n": ("softmax_loss_naive", [
        (SOFTMAX, NAIVE_DW, "dW = dW + 2 * reg * W")]),
    "vectorized_wrong_reg_factor": ("softmax_loss_vectorized", [
        (SOFTMAX, VEC_LOSS, VEC_LOSS.replace("+ reg", "+ 0.5 * reg"))]),
    "vectorized_no_max_shift": ("softmax_loss_vectorized", [
        (SOFTMAX, "scores -= np.max(scores, axis=1, keepdims=True)", "scores = scores + 0")]),
    "vectorized_gradient_not_divided_by_n": ("softmax_loss_vectorized", [
        (SOFTMAX, VEC_DW, "dW = X.T @ dscores + 2 * reg * W")]),
    "train_gradient_ascent": ("LinearClassifier.train", [
        (LINEAR, "self.W -= learning_rate * grad", "self.W += learning_rate * grad")]),
    "train_labels_not_matching_rows": ("LinearClassifier.train", [
        (LINEAR, "y_batch = y[batch_idx]",
         "y_batch = y[np.random.choice(num_train, batch_size)]")]),
    "train_loss_computed_twice": ("LinearClassifier.train", [
        (LINEAR, "self.W -= learning_rate * grad",
         "self.W -= learning_rate * grad\n            self.loss(X_batch, y_batch, reg)")]),
    "predict_argmin": ("LinearClassifier.predict", [
        (LINEAR, "np.argmax(X @ self.W, axis=1)", "np.argmin(X @ self.W, axis=1)")]),
    "train_same_minibatch_every_iteration": ("LinearClassifier.train", [
        (LINEAR, "batch_idx = np.random.choice(num_train, batch_size)",
         "batch_idx = np.arange(batch_size)")]),
    "affine_forward_no_bias": ("affine_forward", [
        ("layers.py", "out = x.reshape(x.shape[0], -1) @ w + b",
         "out = x.reshape(x.shape[0], -1) @ w")]),
    "affine_forward_squeeze": ("affine_forward", [
        ("layers.py", "out = x.reshape(x.shape[0], -1) @ w + b",
         "out = np.squeeze(x.reshape(x.shape[0], -1)) @ w + b")]),
    "affine_backward_dx_not_reshaped": ("affine_backward", [
        ("layers.py", "dx = (dout @ w.T).reshape(x.shape)", "dx = dout @ w.T")]),
    "affine_backward_db_mean": ("affine_backward", [
        ("layers.py", "db = dout.sum(axis=0)", "db = dout.mean(axis=0)")]),
    "relu_forward_in_place": ("relu_forward", [
        ("layers.py", "out = np.maximum(0, x)", "out = np.maximum(0, x, out=x)")]),
    "relu_forward_leaky": ("relu_forward", [
        ("layers.py", "out = np.maximum(0, x)", "out = np.maximum(0.01 * x, x)")]),
    "relu_backward_masks_by_dout": ("relu_backward", [
        ("layers.py", "dx = dout * (x > 0)", "dx = dout * (dout > 0)")]),
    "softmax_loss_gradient_not_divided_by_n": ("softmax_loss", [
        ("layers.py", "    dx /= N\n", "    dx /= 1\n")]),
    "softmax_loss_no_max_shift": ("softmax_loss", [
        ("layers.py", "shifted = x - x.max(axis=1, keepdims=True)", "shifted = x + 0")]),
    "softmax_loss_shifts_x_in_place": ("softmax_loss", [
        ("layers.py", "shifted = x - x.max(axis=1, keepdims=True)",
         "x -= x.max(axis=1, keepdims=True)\n    shifted = x")]),
    "two_layer_relu_on_scores": ("TwoLayerNet.loss", [
        (FC, 'scores, scores_cache = affine_forward(hidden, self.params["W2"], self.params["b2"])',
         'scores, scores_cache = affine_forward(hidden, self.params["W2"], self.params["b2"])\n'
         "        scores = np.maximum(scores, 0)")]),
    "two_layer_w2_gradient_without_reg": ("TwoLayerNet.loss", [
        (FC, 'grads["W2"] += self.reg * W2', 'grads["W2"] += 0 * W2')]),
    "two_layer_init_ignores_weight_scale": ("TwoLayerNet.__init__", [
        (FC, "weight_scale * np.random.randn(input_dim, hidden_dim)",
         "np.random.randn(input_dim, hidden_dim) / np.sqrt(input_dim)")]),
    "two_layer_b2_of_hidden_size": ("TwoLayerNet.__init__", [
        (FC, 'self.params["b2"] = np.zeros(num_classes)',
         'self.params["b2"] = np.zeros(hidden_dim)')]),
    "fc_weights_drawn_transposed": ("FullyConnectedNet.__init__", [
        (FC, "weight_scale * np.random.randn(layer_dims[i - 1], layer_dims[i])",
         "weight_scale * np.random.randn(layer_dims[i], layer_dims[i - 1]).T")]),
    "fc_sqrt_of_weight_scale": ("FullyConnectedNet.__init__", [
        (FC, "weight_scale * np.random.randn(layer_dims[i - 1], layer_dims[i])",
         "np.sqrt(weight_scale) * np.random.randn(layer_dims[i - 1], layer_dims[i])")]),
    "fc_last_layer_left_out_of_reg": ("FullyConnectedNet.loss", [
        (FC, "for i in range(1, L + 1):\n            W = self.params",
         "for i in range(1, L):\n            W = self.params")]),
    "fc_biases_start_at_one": ("FullyConnectedNet.__init__", [
        (FC, 'self.params[f"b{i}"] = np.zeros(layer_dims[i])',
         'self.params[f"b{i}"] = np.ones(layer_dims[i])')]),
    "fc_full_reg_factor": ("FullyConnectedNet.loss", [
        (FC, "loss += 0.5 * self.reg * np.sum(W * W)", "loss += self.reg * np.sum(W * W)")]),
    "momentum_sign_error": ("sgd_momentum", [
        ("optim.py", 'v = config["momentum"] * v - config["learning_rate"] * dw',
         'v = config["momentum"] * v + config["learning_rate"] * dw')]),
    "adam_t_incremented_after_use": ("adam", [
        ("optim.py", "    " + ADAM_T, ""),
        ("optim.py", ADAM_W, ADAM_W + "\n    " + ADAM_T.rstrip("\n"))]),
    "adam_without_epsilon": ("adam", [
        ("optim.py", ADAM_W, ADAM_W.replace(' + config["epsilon"]', ""))]),
    "adam_no_bias_correction": ("adam", [
        ("optim.py", 'm_hat = config["m"] / (1 - beta1 ** config["t"])', 'm_hat = config["m"]')]),
}


def test_corpus_has_at_least_25_mutants_over_many_functions():
    assert len(MUTANTS) >= 25
    assert len({function for function, _ in MUTANTS.values()}) >= 15


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_loses_points_in_its_function_only(name, tmp_path):
    function, edits = MUTANTS[name]
    submission = copy_master(tmp_path)
    for relpath, old, new in edits:
        edit(submission, relpath, old, new)
    result = grade(submission)
    own = [c for c in result.checks if c.function == function]
    others = [c for c in result.checks if c.function != function]
    assert own, f"no check of {function}"
    assert sum(c.points for c in own) < sum(c.max_points for c in own), \
        f"mutant {name} keeps every point of {function}"
    assert [(c.id, c.status, c.message) for c in others if c.status != "passed"] == []
    assert message_leaks(result) == []
