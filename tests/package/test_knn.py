"""KNearestNeighbor: the three L2 distance functions, the vote, and predict's dispatch."""
import numpy as np
import pytest
from scipy.spatial.distance import cdist

from cs231n.classifiers import KNearestNeighbor

DISTANCE_FUNCTIONS = [
    "compute_distances_two_loops",
    "compute_distances_one_loop",
    "compute_distances_no_loops",
]


@pytest.fixture
def knn_data():
    rng = np.random.default_rng(0)
    X_train = rng.normal(size=(40, 17)) * 30 + 120
    y_train = rng.integers(0, 10, size=40)
    X_test = rng.normal(size=(9, 17)) * 30 + 120
    return X_train, y_train, X_test


def trained_knn(X_train, y_train):
    knn = KNearestNeighbor()
    knn.train(X_train, y_train)
    return knn


def forbid_norm(monkeypatch):
    def norm(*args, **kwargs):
        raise AssertionError("the kNN distances must not use np.linalg.norm")

    monkeypatch.setattr(np.linalg, "norm", norm)


@pytest.mark.parametrize("method", DISTANCE_FUNCTIONS)
def test_distances_equal_scipy_cdist_without_np_linalg_norm(knn_data, method, monkeypatch):
    X_train, y_train, X_test = knn_data
    expected = cdist(X_test, X_train)
    forbid_norm(monkeypatch)
    dists = getattr(trained_knn(X_train, y_train), method)(X_test)
    assert dists.shape == (len(X_test), len(X_train))
    np.testing.assert_allclose(dists, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("method", DISTANCE_FUNCTIONS)
def test_distances_of_integer_arrays_are_float_distances(method):
    X_train = np.array([[0, 0], [3, 4], [1, 1]])
    X_test = np.array([[0, 0], [6, 8]])
    dists = getattr(trained_knn(X_train, np.arange(3)), method)(X_test)
    np.testing.assert_allclose(dists, [[0, 5, np.sqrt(2)], [10, 5, np.sqrt(74)]], atol=1e-12)


def test_three_distance_functions_agree(knn_data):
    X_train, y_train, X_test = knn_data
    knn = trained_knn(X_train, y_train)
    two, one, none = (getattr(knn, m)(X_test) for m in DISTANCE_FUNCTIONS)
    # The notebook compares them with the Frobenius norm of the difference.
    assert np.linalg.norm(two - one) < 1e-9
    assert np.linalg.norm(two - none) < 1e-9


def test_no_loop_distance_of_a_point_to_itself_is_zero_not_nan():
    # With large pixel values the expansion ||a||^2 + ||b||^2 - 2ab can round below zero.
    rng = np.random.default_rng(1)
    X = rng.uniform(200, 255, size=(30, 3072))
    dists = trained_knn(X, np.zeros(30, dtype=int)).compute_distances_no_loops(X)
    assert np.all(np.isfinite(dists))
    # Rounding leaves about sqrt(eps * ||a||^2) ~ 1e-3 on the diagonal; pairs are ~1000 apart.
    assert np.all(np.diag(dists) < 0.05)


def test_predict_labels_k1_returns_label_of_nearest():
    knn = trained_knn(np.zeros((4, 2)), np.array([3, 1, 4, 1]))
    dists = np.array([[5.0, 4.0, 0.5, 9.0], [0.1, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(knn.predict_labels(dists, k=1), [4, 3])


def test_predict_labels_takes_majority_of_k_nearest():
    knn = trained_knn(np.zeros((5, 2)), np.array([7, 2, 7, 2, 2]))
    # The three nearest are columns 0, 1, 2 (labels 7, 2, 7); the two far ones would flip it.
    dists = np.array([[1.0, 2.0, 3.0, 10.0, 11.0]])
    np.testing.assert_array_equal(knn.predict_labels(dists, k=3), [7])
    np.testing.assert_array_equal(knn.predict_labels(dists, k=5), [2])


@pytest.mark.parametrize(
    "labels, k, expected",
    [
        ([3, 1, 0, 0], 2, 1),  # nearest is the larger label 3: the tie still goes to 1
        ([9, 9, 2, 2, 5], 4, 2),
        ([8, 6, 4, 8, 6, 4], 6, 4),
    ],
)
def test_predict_labels_breaks_ties_toward_smaller_label(labels, k, expected):
    labels = np.array(labels)
    knn = trained_knn(np.zeros((len(labels), 2)), labels)
    dists = np.arange(1.0, len(labels) + 1)[np.newaxis, :]  # column j is the (j+1)th nearest
    assert knn.predict_labels(dists, k=k)[0] == expected


@pytest.mark.parametrize(
    "num_loops, method", [(0, DISTANCE_FUNCTIONS[2]), (1, DISTANCE_FUNCTIONS[1]),
                          (2, DISTANCE_FUNCTIONS[0])]
)
def test_predict_dispatches_on_num_loops(knn_data, num_loops, method, monkeypatch):
    X_train, y_train, X_test = knn_data
    knn = trained_knn(X_train, y_train)
    called = []
    for name in DISTANCE_FUNCTIONS:
        real = getattr(knn, name)
        monkeypatch.setattr(
            knn, name, lambda X, name=name, real=real: called.append(name) or real(X)
        )
    y_pred = knn.predict(X_test, k=1, num_loops=num_loops)
    assert called == [method]
    np.testing.assert_array_equal(y_pred, y_train[cdist(X_test, X_train).argmin(axis=1)])


def test_predict_uses_no_loops_by_default(knn_data, monkeypatch):
    X_train, y_train, X_test = knn_data
    knn = trained_knn(X_train, y_train)
    called = []
    real = knn.compute_distances_no_loops
    monkeypatch.setattr(knn, "compute_distances_no_loops", lambda X: called.append(1) or real(X))
    knn.predict(X_test)
    assert called == [1]


@pytest.mark.parametrize("num_loops", [3, -1, 1.5])
def test_predict_rejects_other_num_loops_naming_the_value(knn_data, num_loops):
    X_train, y_train, X_test = knn_data
    with pytest.raises(ValueError, match=rf"num_loops.*{num_loops}|{num_loops}.*num_loops"):
        trained_knn(X_train, y_train).predict(X_test, num_loops=num_loops)


def test_predict_passes_k_to_the_vote(knn_data):
    X_train, y_train, X_test = knn_data
    knn = trained_knn(X_train, y_train)
    nearest5 = y_train[np.argsort(cdist(X_test, X_train), axis=1)[:, :5]]
    expected = [np.bincount(row).argmax() for row in nearest5]
    np.testing.assert_array_equal(knn.predict(X_test, k=5), expected)


def test_knn_scores_far_above_chance_on_synthetic_cifar(synthetic_cifar_dir):
    from cs231n.data_utils import load_CIFAR10

    X_train, y_train, X_test, y_test = load_CIFAR10(synthetic_cifar_dir)
    knn = trained_knn(X_train.reshape(len(X_train), -1), y_train)
    y_pred = knn.predict(X_test.reshape(len(X_test), -1), k=1)
    assert np.mean(y_pred == y_test) > 0.5
