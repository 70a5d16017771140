"""The master package on the real CIFAR-10 (run by `make test-realdata`).

Needs CS231N_CIFAR10_DIR: the cifar-10-batches-py folder built by `make cifar10` (a JPEG copy of
CIFAR-10 whose published figures are in ../shared/data/cifar10/README.md).
"""

import numpy as np
import pytest

from cs231n.classifiers import KNearestNeighbor
from cs231n.data_utils import get_CIFAR10_data, load_CIFAR10

pytestmark = pytest.mark.realdata

# 1-NN with L2 on train[:5000] / test[:500]: 136/500 on the JPEG copy (137/500 on the official
# archive); the copy's pixels differ slightly, so one image either way is allowed.
KNN_1NN_CORRECT = 136


@pytest.fixture(scope="module")
def cifar10(cifar10_dir):
    return load_CIFAR10(cifar10_dir)


def test_load_CIFAR10_gives_the_official_shapes_dtypes_and_class_counts(cifar10):
    X_train, y_train, X_test, y_test = cifar10
    assert X_train.shape == (50000, 32, 32, 3) and X_train.dtype == np.float64
    assert X_test.shape == (10000, 32, 32, 3) and X_test.dtype == np.float64
    assert y_train.shape == (50000,) and y_test.shape == (10000,)
    assert np.issubdtype(y_train.dtype, np.integer)
    assert np.bincount(y_train).tolist() == [5000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    # Train mean per channel, as published for this copy: 125.27, 122.93, 113.86.
    np.testing.assert_allclose(X_train.mean(axis=(0, 1, 2)), [125.27, 122.93, 113.86], atol=0.01)


def test_1nn_on_5000_train_500_test_matches_the_published_count(cifar10):
    X_train, y_train, X_test, y_test = cifar10
    # As the knn notebook does: subsample, then one row per image.
    X_train, y_train = X_train[:5000].reshape(5000, -1), y_train[:5000]
    X_test, y_test = X_test[:500].reshape(500, -1), y_test[:500]
    knn = KNearestNeighbor()
    knn.train(X_train, y_train)
    num_correct = int(np.sum(knn.predict(X_test, k=1) == y_test))
    assert abs(num_correct - KNN_1NN_CORRECT) <= 1, f"got {num_correct} / 500 correct"


def test_get_CIFAR10_data_gives_the_notebook_shapes(cifar10):
    X_train, y_train, X_test, y_test = cifar10
    data = get_CIFAR10_data()
    assert data["X_train"].shape == (49000, 3, 32, 32)
    assert data["X_val"].shape == (1000, 3, 32, 32)
    assert data["X_test"].shape == (1000, 3, 32, 32)
    np.testing.assert_array_equal(data["y_val"], y_train[49000:50000])
    np.testing.assert_array_equal(data["y_test"], y_test[:1000])
    # The train mean image was subtracted: validation pixel = raw - mean of the first 49000.
    mean_pixel = X_train[:49000, 5, 7, 1].mean()
    assert data["X_val"][3, 1, 5, 7] == pytest.approx(X_train[49003, 5, 7, 1] - mean_pixel)
