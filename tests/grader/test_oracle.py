"""Grader functions lent to the student's code run in a process of their own, sized and timed."""
import numpy as np
import pytest

from coursekit.grader.master import master_module
from coursekit.grader.oracle import MAX_BYTES, OracleError, OracleServer


@pytest.fixture
def server():
    server = OracleServer(memory_mb=1024)
    yield server
    server.close()


def test_answers_with_the_master_function(server):
    rng = np.random.RandomState(0)
    x, w, b = rng.randn(4, 3), rng.randn(3, 2), rng.randn(2)
    out, cache = server.call("layers", "affine_forward", (x, w, b), {}, timeout=30)
    np.testing.assert_array_equal(out, master_module("layers").affine_forward(x, w, b)[0])
    assert isinstance(cache, tuple) and len(cache) == 3


def test_refuses_requests_larger_than_the_cap_without_computing(server):
    x = np.zeros(MAX_BYTES // 8 + 1)
    with pytest.raises(OracleError, match="accepts at most"):
        server.call("layers", "relu_forward", (x,), {}, timeout=30)
    assert server.proc is None  # nothing was started for it


def test_a_request_past_the_checks_time_is_stopped_and_the_next_one_works(server):
    x = np.ones((1500, 1500))
    with pytest.raises(OracleError, match="did not finish"):
        server.call("layers", "affine_forward", (x, x, np.zeros(1500)), {}, timeout=0.001)
    out, _ = server.call("layers", "relu_forward", (np.array([-1.0, 2.0]),), {}, timeout=30)
    assert out.tolist() == [0.0, 2.0]


def test_an_error_of_the_master_function_is_the_students_message(server):
    with pytest.raises(OracleError, match="ValueError|shapes"):
        server.call("layers", "affine_forward", (np.ones((2, 3)), np.ones((4, 5)),
                                                 np.zeros(5)), {}, timeout=30)


def test_a_request_over_the_memory_limit_costs_that_request_only(server):
    # Within the byte cap, but the product would need far more than the process's 1 GB.
    x = np.ones((1, 64 * 2**10))
    w = np.ones((64 * 2**10, 1))
    with pytest.raises(OracleError):
        server.call("layers", "affine_forward", (x.T, x, np.zeros(x.shape[1])), {}, timeout=60)
    out, _ = server.call("layers", "affine_forward", (x, w, np.zeros(1)), {}, timeout=30)
    assert out.item() == x.shape[1]


def test_the_oracle_process_runs_under_its_memory_cap_with_one_blas_thread(server):
    server.call("layers", "relu_forward", (np.zeros(1),), {}, timeout=30)  # starts it
    pid = server.proc.pid
    limits = open(f"/proc/{pid}/limits").read()
    row = next(line for line in limits.splitlines() if line.startswith("Max address space"))
    assert row.split()[3:5] == [str(1024 * 2**20)] * 2  # soft and hard, in bytes
    environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    assert b"OPENBLAS_NUM_THREADS=1" in environ and b"OMP_NUM_THREADS=1" in environ
