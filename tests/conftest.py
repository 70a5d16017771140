"""Fixtures shared by every test suite of the repository."""
import os

# One BLAS thread in the test processes and the kernels and programs they start (they inherit
# the environment), as grading gives its kernels. The suites run with pytest -n 2 on 2 cores:
# a notebook whose BLAS starts a thread per core beside another worker's spins against it
# (the master softmax notebook took 28.6 s under validate in make test-notebooks, 6 s alone,
# 4 s in make validate). Set before numpy is imported here; a value already set is kept.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import pytest  # noqa: E402

from coursekit.synthetic import write_synthetic_cifar10  # noqa: E402


@pytest.fixture(scope="session")
def synthetic_cifar_dir(tmp_path_factory):
    """Path (str) of a synthetic `cifar-10-batches-py` folder: 500 train, 100 test, str keys.

    Written once per session; treat it as read-only (write your own with
    `write_synthetic_cifar10` if a test needs other sizes or the bytes key style).
    """
    return write_synthetic_cifar10(tmp_path_factory.mktemp("synthetic_cifar10"))
