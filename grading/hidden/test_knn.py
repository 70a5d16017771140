"""Hidden checks of KNearestNeighbor (cs231n/classifiers/k_nearest_neighbor.py).

Distances are compared with the reference to tolerances.FLOAT64 of the largest distance: the
no-loop expansion ||x||^2 + ||t||^2 - 2 x.t loses a few digits for near points, never 1e-7 of
the largest distance, and the notebook's own comparison (Frobenius difference < 1e-3) is looser.
Some test points lie within 1 of a training point (a wrong clamp of the squares shows), none
on one, so an expansion that does not clamp tiny negative squares at zero is not punished for a
rounding it never meets in the notebook. Labels are
compared exactly; distance ties are avoided (random real distances), vote ties are not.
The rules and the speed of a method count only once its values are right.
"""

import numpy as np
import pytest

from coursekit.grader import tolerances
from coursekit.grader.context import CheckFailed
from coursekit.grader.rules import HIDDEN_LOOPS, count_loops, find_function, forbidden_uses

KNN_CLS = "cs231n.classifiers.k_nearest_neighbor:KNearestNeighbor"
KNN_FILE = "classifiers/k_nearest_neighbor.py"

# name: (method, loops allowed, what the TODO allows)
METHODS = {
    "two_loops": ("compute_distances_two_loops", 2,
                  "only the two given loops (no loop over the dimension)"),
    "one_loop": ("compute_distances_one_loop", 1, "a single loop (over the test points)"),
    "no_loops": ("compute_distances_no_loops", 0, "no loop and no comprehension"),
}


def each_method(*names):
    return pytest.mark.parametrize("method", [
        pytest.param(METHODS[name][0], id=name,
                     marks=pytest.mark.function(f"KNearestNeighbor.{METHODS[name][0]}"))
        for name in names])


def knn_data(student, n_train=40, n_test=17, dim=24):
    """Pixel-like integer points (0..255), and four test points within 1 of a training point
    (so distances below 1 are met); no test point equals a training point."""
    X_train = student.rng.randint(0, 256, size=(n_train, dim)).astype(np.float64)
    X_test = student.rng.randint(0, 256, size=(n_test, dim)).astype(np.float64)
    near = student.rng.choice(n_train, size=4, replace=False)
    X_test[:4] = X_train[near] + student.rng.uniform(-0.15, 0.15, size=(4, dim))
    y_train = student.rng.randint(0, 6, size=n_train)
    return X_train, y_train, X_test


def knn_model(student, X_train, y_train):
    handle = student.new(KNN_CLS)
    student.call((handle, "train"), X_train, y_train, what="KNearestNeighbor.train(X, y)")
    return handle


def check_distances(student, method):
    X_train, y_train, X_test = knn_data(student)
    knn = knn_model(student, X_train, y_train)
    dists = student.call((knn, method), X_test, what=f"{method}(X)")
    student.array(dists, f"the result of {method}", shape=(len(X_test), len(X_train)))
    student.expect("dists", dists, f"the distances of {method}", tolerances.FLOAT64)


@pytest.mark.points(2)
@each_method("two_loops", "one_loop", "no_loops")
def test_distances_match_the_reference(student, method):
    check_distances(student, method)


@pytest.mark.points(1)
@each_method("two_loops", "one_loop", "no_loops")
def test_distances_follow_the_rules_of_the_method(student, method):
    check_distances(student, method)  # a stub has no loops either: only working code counts
    name = next(n for n, spec in METHODS.items() if spec[0] == method)
    _, max_loops, allowed = METHODS[name]
    try:
        func, tree = find_function(student.source(KNN_FILE), "KNearestNeighbor", method)
    except SyntaxError as exc:
        raise CheckFailed(f"cs231n/{KNN_FILE} could not be parsed ({exc})") from None
    student.require(func is not None, f"KNearestNeighbor.{method} is missing from "
                                      f"cs231n/{KNN_FILE}")
    loops = count_loops(func)
    student.require(loops <= max_loops, f"{method} must use {allowed}; it has {loops} "
                                        "loops/comprehensions")
    others = tuple(spec[0] for spec in METHODS.values() if spec[0] != method)
    bad = forbidden_uses(func, tree, forbidden_names=HIDDEN_LOOPS + others)
    student.require(not bad, f"{method} must not use np.linalg.norm, scipy, hidden loops or "
                             f"the other distance methods; found: {', '.join(bad)}")


@pytest.mark.points(2)
@pytest.mark.function("KNearestNeighbor.compute_distances_no_loops")
@pytest.mark.time_limit(60)
def test_no_loop_distances_cost_about_one_matrix_product(student):
    check_distances(student, "compute_distances_no_loops")  # a fast wrong answer earns nothing
    X_train, X_test = student.rng.randn(300, 3072), student.rng.randn(200, 3072)
    knn = knn_model(student, X_train, student.rng.randint(0, 10, size=300))
    x, train_t = student.keep(X_test), student.keep(np.ascontiguousarray(X_train.T))
    # The bare product X @ X_train.T, timed in the same worker right beside each run: the best
    # of five of each, so a busy machine slows both alike. A vectorized version costs 1-3
    # products (norms included); a hidden loop or a (num_test, num_train, D) array 30 or more.
    product, no_loops = [], []
    for _ in range(5):
        product.append(student.timed("numpy:matmul", x, train_t, what="X @ X_train.T"))
        no_loops.append(student.timed((knn, "compute_distances_no_loops"), x,
                                      what="compute_distances_no_loops(X)"))
    ratio = min(no_loops) / max(min(product), 1e-6)
    student.require(ratio <= 10, f"compute_distances_no_loops took {ratio:.0f} times as long "
                                 "as one matrix product of the same shapes (200 x 3072 times "
                                 "3072 x 300); with one matrix product and two broadcast sums "
                                 "it takes at most a few times as long. Does it loop somewhere, "
                                 "or build a (num_test, num_train, D) array?")


def label_case(student):
    """Distances whose k = 4 nearest labels tie, with the larger label sometimes nearer."""
    y_train = np.array([5, 2, 5, 2, 7, 1, 1, 7, 3, 0, 4, 4])
    dists = student.rng.uniform(10, 20, size=(6, len(y_train)))
    near = {0: [0, 1, 2, 3],    # 5, 2, 5, 2 -> tie -> 2
            1: [4, 5, 6, 7],    # 7, 1, 1, 7 -> tie -> 1 although a 7 is nearest
            2: [9, 10, 11, 8],  # 0, 4, 4, 3 -> 4
            3: [8, 9, 10, 11],  # 3, 0, 4, 4 -> 4
            4: [7, 0, 4, 2],    # 7, 5, 7, 5 -> tie -> 5
            5: [3, 1, 5, 6]}    # 2, 2, 1, 1 -> tie -> 1
    for row, idx in near.items():
        dists[row, idx] = np.sort(student.rng.uniform(1, 5, size=4))
    return y_train, dists


def predicted_labels(student, y_train, dists, k):
    knn = knn_model(student, np.zeros((len(y_train), 2)), y_train)
    labels = student.call((knn, "predict_labels"), dists, k=k,
                          what=f"predict_labels(dists, k={k})")
    return student.array(labels, "the predicted labels", shape=(len(dists),))


def check_random_votes(student, num_classes, num_test, num_train, k):
    """predict_labels with k on random distances to random training labels."""
    y_train = student.rng.randint(0, num_classes, size=num_train)
    dists = student.rng.uniform(0, 50, size=(num_test, num_train))
    labels = predicted_labels(student, y_train, dists, k=k)
    student.expect("labels", labels, f"the labels predicted with k={k}", tolerances.LABELS)


@pytest.mark.points(2)
@pytest.mark.function("KNearestNeighbor.predict_labels")
def test_predict_labels_with_k1_takes_the_nearest_label(student):
    check_random_votes(student, num_classes=10, num_test=11, num_train=30, k=1)


@pytest.mark.points(2)
@pytest.mark.function("KNearestNeighbor.predict_labels")
def test_predict_labels_takes_the_majority_of_the_k_nearest(student):
    # Only 4 classes among 40 training points: the 7 nearest really vote.
    check_random_votes(student, num_classes=4, num_test=15, num_train=40, k=7)


@pytest.mark.points(2)
@pytest.mark.function("KNearestNeighbor.predict_labels")
def test_predict_labels_breaks_ties_toward_the_smaller_label(student):
    y_train, dists = label_case(student)
    labels = predicted_labels(student, y_train, dists, k=4)
    student.expect("labels", labels, "the labels predicted when votes tie (the smaller label "
                                     "should win)", tolerances.LABELS)
