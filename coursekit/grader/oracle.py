"""The grader's own functions that a check lends to the student's code: in a process of their own.

A network's checks run with the master's layer functions and `LinearClassifier.train` with the
master's softmax loss (context.LAYER_PATCH, oracles): the worker asks, the grader answers. The
inputs come from the student's code, so they are sized like any student call (`MAX_BYTES`) and
computed in a separate interpreter (`python -m coursekit.grader.oracle`) with a memory limit,
stopped when the check's time is up: a request of 3 GB or of ten minutes costs that check, never
the grading run. Requests and replies use the worker's wire format (numbers and arrays only).
"""

import functools
import os
import select
import subprocess
import sys

import numpy as np

from coursekit import jail
from coursekit.grader import worker as wire

MAX_BYTES = 64 * 2**20  # arrays of one request
MEMORY_MB = 2048


class OracleError(Exception):
    """A request the grader would not or could not answer (its message is the student's)."""


def serve(req_fd, resp_fd):
    """The oracle process: master functions on request, until the request pipe closes."""
    from coursekit.grader.master import master_module

    while True:
        try:
            req = wire.decode(wire.read_message(req_fd))
        except EOFError:
            return
        name = req["name"]
        try:
            reply = {"ok": True,
                     "value": getattr(master_module(req["module"]), name)(*req["args"],
                                                                          **req["kwargs"])}
        except MemoryError:
            reply = {"ok": False, "error": f"MemoryError: the grader's {name} ran out of memory"}
        except Exception as exc:  # the student's inputs made the master function fail
            reply = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        wire.write_message(resp_fd, wire.encode(reply))


def request_bytes(value, depth=0):
    """Bytes of the arrays in a decoded request (lists, tuples and dicts of them)."""
    if depth > 50:
        return 0
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (list, tuple)):
        return sum(request_bytes(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return sum(request_bytes(v, depth + 1) for v in value.values())
    return 0


class OracleServer:
    """One oracle process, started on first use (`call`), restarted after a timeout."""

    def __init__(self, memory_mb=MEMORY_MB):
        self.memory_mb = memory_mb
        self.proc = None

    def _start(self):
        limits = functools.partial(jail.cap_address_space, self.memory_mb)
        self.proc = subprocess.Popen([sys.executable, "-m", "coursekit.grader.oracle"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, preexec_fn=limits,
                                     env={**os.environ, **jail.blas_threads(1)})

    def call(self, module, name, args, kwargs, timeout):
        """master_module(module).name(*args, **kwargs), or OracleError saying why not."""
        size = request_bytes([args, kwargs])
        if size > MAX_BYTES:
            raise OracleError(f"the grader's {name} was asked to work on {size / 2**20:.0f} MB "
                              f"of arrays; it accepts at most {MAX_BYTES // 2**20} MB")
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        try:
            wire.write_message(self.proc.stdin.fileno(), wire.encode(
                {"module": module, "name": name, "args": list(args), "kwargs": kwargs}))
            readable, _, _ = select.select([self.proc.stdout], [], [], max(timeout, 0.0))
            if not readable:
                self.close()
                raise OracleError(f"the grader's {name} did not finish in the check's time "
                                  f"(inputs of {size / 2**20:.1f} MB)")
            reply = wire.decode(wire.read_message(self.proc.stdout.fileno()))
        except (EOFError, BrokenPipeError, wire.WireError):
            self.close()
            raise OracleError(f"the grader's {name} stopped (its memory limit?)") from None
        if not reply.get("ok"):
            raise OracleError(str(reply.get("error"))[:300])
        return reply["value"]

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                stream.close()
        self.proc = None


if __name__ == "__main__":
    serve(sys.stdin.fileno(), sys.stdout.fileno())
