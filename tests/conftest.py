"""Fixtures shared by every test suite of the repository."""
import pytest

from coursekit.synthetic import write_synthetic_cifar10


@pytest.fixture(scope="session")
def synthetic_cifar_dir(tmp_path_factory):
    """Path (str) of a synthetic `cifar-10-batches-py` folder: 500 train, 100 test, str keys.

    Written once per session; treat it as read-only (write your own with
    `write_synthetic_cifar10` if a test needs other sizes or the bytes key style).
    """
    return write_synthetic_cifar10(tmp_path_factory.mktemp("synthetic_cifar10"))
