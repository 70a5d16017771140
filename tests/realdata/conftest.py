"""Fixtures of the real-data suites (`make test-realdata`)."""
import os

import pytest


@pytest.fixture(scope="session")
def cifar10_dir():
    """The cifar-10-batches-py folder built by `make cifar10`, named by CS231N_CIFAR10_DIR."""
    folder = os.environ.get("CS231N_CIFAR10_DIR")
    if not folder:
        pytest.fail("CS231N_CIFAR10_DIR is not set: run `make test-realdata`, or build the data "
                    "with `make cifar10` and set CS231N_CIFAR10_DIR to "
                    "~/.cache/cs231n-a1/cifar-10-batches-py")
    return folder
