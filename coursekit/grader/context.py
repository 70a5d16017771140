"""`student`: what a hidden test uses to run the submission's code and to judge it.

A hidden test (grading/hidden/test_*.py) receives a `Student` bound to itself: `rng` and `seed`
(fixed by the test's id, so its inputs never change), the calls into the sandboxed worker
(`call`, `new`, `get`, `set`, `numeric_grad`, `timed`) and the judge (`expect` against the
recorded reference, `require` for a property, `array`/`scalar`/`finite` for the form of a
value, `expect_grad_close` against centred differences). Every failure raises CheckFailed, whose
message is what the student reads: it says what is wrong and how far off, never an expected
value, a grader path or a line of the hidden test.

In record mode (`make references`, on the master package) `expect` stores the value and its
tolerance instead of comparing.
"""

import re
import time
import zlib
from dataclasses import dataclass

import numpy as np

from coursekit.grader.functions import is_student_code
from coursekit.grader.master import master_module
from coursekit.grader.references import GraderError, Reference, scaled_error
from coursekit.grader.worker import Junk

BASE_SEED = 20250611

# The layer functions a network's checks take from the grader (the master's, trusted), so that a
# bug in the student's layers costs points in the layers' checks only, not again in the nets'.
LAYER_FUNCTIONS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
                   "softmax_loss")
LAYER_PATCH = [{"module": "cs231n.layers", "attr": name, "oracle": name}
               for name in LAYER_FUNCTIONS]

_WHERE = re.compile(r"^cs231n/(?P<file>[^:]+):(?P<line>\d+) in (?P<function>\S+)$")


class CheckFailed(Exception):
    """The check's verdict: the submission does not do what it should.

    status: failed, error, not_implemented, timeout, crashed, flood, junk, partial, review
    (a saved model held for the instructor's review);
    fraction: the share of the check's points earned all the same (saved models only);
    details: numbers for the instructor (a saved model's accuracies), never shown to the student.
    """

    def __init__(self, message, status="failed", fraction=0.0, details=None):
        super().__init__(message)
        self.status = status
        self.fraction = fraction
        self.details = details or {}


@dataclass(frozen=True)
class CheckInfo:
    id: str  # "<topic>.<test name>", e.g. "layers.affine_forward_matches_the_reference"
    function: str  # the student function (or saved model) whose points it holds
    time_limit: float = 10.0  # seconds of this check, timeout scale applied


def seed_for(check_id):
    """The seed of a check's inputs: fixed by its id, different for every check."""
    return (BASE_SEED + zlib.crc32(check_id.encode())) % (2**31)


class Student:
    """Everything one hidden test needs; made fresh for every test by the plugin."""

    def __init__(self, sandbox, check, mode, refs, deadline, sources, oracle_server=None):
        self.sandbox = sandbox
        self.oracle_server = oracle_server
        self.check = check
        self.mode = mode
        self.refs = refs
        self.recorded = {}
        self.deadline = deadline
        self.sources = sources
        self.seed = seed_for(check.id)
        self.rng = np.random.RandomState(self.seed)
        self.oracle_log = []
        # Grader functions this check lends to the student's code: name -> (master module, attr).
        self.oracles = {name: ("layers", name) for name in LAYER_FUNCTIONS}
        self.message = ""  # said even when the check passes (a saved model's accuracy)
        self.details = {}  # for the instructor, even when it passes (CheckFailed.details)

    # -- talking to the worker

    def _oracle(self, name, args, kwargs):
        """A grader function the student's code called: computed in the oracle process, sized
        and timed like the student's own calls (oracle.py)."""
        self.oracle_log.append((name, args, kwargs))
        if name not in self.oracles:
            raise GraderError(f"no grader function {name}")
        module, attr = self.oracles[name]
        if self.oracle_server is None:  # record mode and the repository's own tools
            return getattr(master_module(module), attr)(*args, **kwargs)
        return self.oracle_server.call(module, attr, args, kwargs,
                                       timeout=self.deadline - time.monotonic())

    def request(self, req, what, limit=None):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise CheckFailed(f"{what}: stopped, the check's time limit "
                              f"({self.check.time_limit:g} s) was used up", "timeout")
        if limit is not None:
            remaining = min(remaining, limit)
        # The grader answers only the stand-ins this request installed: any other call (a proxy
        # kept from an earlier check, a forged message) would be a free oracle.
        allowed = {p["oracle"] for p in req.get("patch", [])}

        def oracle(name, args, kwargs):
            if name not in allowed:
                raise PermissionError(f"{name} is not available in this call")
            return self._oracle(name, args, kwargs)

        reply = self.sandbox.request(req, remaining, oracle=oracle)
        if reply.status == "ok":
            return reply
        if reply.status == "error":
            raise CheckFailed(*self._error_message(reply.error, what))
        message = f"{what}: {reply.message}"
        if reply.extra.get("output"):
            message += "\nlast lines printed:\n" + reply.extra["output"]
        raise CheckFailed(message, reply.status)

    def _error_message(self, error, what):
        """(message, status) of an exception the submission's code raised."""
        # Whatever the worker sent is untrusted: short strings only.
        err = {k: str(error.get(k))[:cap] if error.get(k) is not None else None
               for k, cap in (("type", 100), ("message", 500), ("where", 200))}
        where = err.get("where") or ""
        if error.get("not_implemented") is True:
            said = err.get("message") or f"{what} is not implemented yet"
            return f"{said} (NotImplementedError{' at ' + where if where else ''})", \
                "not_implemented"
        if err.get("type") == "SystemExit":
            return f"{what} called sys.exit(){' at ' + where if where else ''}; return " \
                   "values instead", "error"
        match = _WHERE.match(where)
        if match and not is_student_code(match["file"], match["function"]):
            # A given function (Solver._step, affine_relu_forward, ...) failed on what the
            # student's function returned or stored: that function is the one to look at.
            return (f"{what}: the given code at {where} raised {err.get('type')}: "
                    f"{err.get('message')}. It works with what your {self.check.function} "
                    "returns or stores: check that first", "error")
        return f"{what} raised {err.get('type')}{' at ' + where if where else ''}: " \
               f"{err.get('message')}", "error"

    @staticmethod
    def _fn(fn):
        if isinstance(fn, tuple):
            handle, attr = fn
            return {"obj": handle, "attr": attr}
        module, attr = fn.split(":")
        return {"module": module, "attr": attr}

    def call(self, fn, *args, what=None, seed=None, keep=False, keep_path=(), show=None,
             layers=False, patch=(), limit=None, **kwargs):
        """Call fn ("module:Qual.name" or (handle, "method")) in the worker; returns its value.

        keep: also return a handle of the result (or of result[keep_path]) kept in the worker;
        layers: the network's layer functions are the grader's during the call (LAYER_PATCH).
        """
        patches = list(patch) + (LAYER_PATCH if layers else [])
        req = {"op": "call", "fn": self._fn(fn), "args": list(args), "kwargs": kwargs,
               "seed": seed, "keep": keep, "keep_path": list(keep_path), "show": show,
               "patch": patches}
        reply = self.request(req, what or self._what(fn), limit)
        return (reply.value, reply.handle) if keep else reply.value

    def keep(self, value):
        """A handle of a copy of `value` kept in the worker (to see what a call does to it)."""
        return self.call("numpy:array", value, keep=True, show="none",
                         what="copying an input")[1]

    def new(self, cls, *args, what=None, seed=None, fallback_attrs=None, **kwargs):
        module, attr = cls.split(":")
        req = {"op": "new", "cls": {"module": module, "attr": attr}, "args": list(args),
               "kwargs": kwargs, "seed": seed}
        if fallback_attrs is not None:
            req["fallback_attrs"] = fallback_attrs
        reply = self.request(req, what or f"{attr}(...)")
        return reply.handle

    def get(self, handle, *path, what=None):
        reply = self.request({"op": "get", "target": {"obj": handle, "path": list(path)}},
                             what or "reading " + ".".join(map(str, path)))
        return reply.value

    def set(self, handle, path, value):
        self.request({"op": "set", "target": {"obj": handle, "path": list(path)},
                      "value": value}, "setting " + ".".join(map(str, path)))

    def numeric_grad(self, fn, args, indices, *, arg=None, target=None, select=(),
                     h=1e-5, layers=False, what=None, **kwargs):
        """Centred differences of the worker's f at the given entries of one input."""
        patches = LAYER_PATCH if layers else []
        perturb = {"arg": arg} if arg is not None else {"target": target}
        req = {"op": "fevals", "call": {"fn": self._fn(fn), "args": list(args), "kwargs": kwargs},
               "perturb": perturb, "indices": [list(map(int, i)) for i in indices],
               "select": list(select), "project": None, "h": h, "patch": patches}
        values = self.request(req, what or self._what(fn)).value
        values = self.array(values, "the function's values", shape=(len(indices), 2))
        return (values[:, 0] - values[:, 1]) / (2 * h)

    def timed(self, fn, *args, what=None, limit=None, **kwargs):
        """Wall time of one call as the grader sees it (the result is not sent back)."""
        start = time.perf_counter()
        self.call(fn, *args, what=what, show="none", limit=limit, **kwargs)
        return time.perf_counter() - start

    @staticmethod
    def _what(fn):
        if isinstance(fn, tuple):
            return f"{fn[1]}(...)"
        return fn.split(":")[1] + "(...)"

    # -- judging what came back

    def source(self, relpath):
        text = self.sources.get(relpath)
        if text is None:
            raise CheckFailed(f"cs231n/{relpath} is missing from the submission")
        return text

    @staticmethod
    def require(condition, message):
        if not condition:
            raise CheckFailed(message)

    @staticmethod
    def array(value, what, shape=None, ndim=None):
        """value as a numeric ndarray, or a failed check saying why it is not one."""
        if isinstance(value, Junk):
            raise CheckFailed(f"{what}: got a {value.description}, not a numpy array of numbers")
        if value is None:
            raise CheckFailed(f"{what}: got None (was it computed and returned?)")
        if isinstance(value, (bool, int, float, np.generic)):
            value = np.asarray(value)
        if isinstance(value, list):
            try:
                value = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise CheckFailed(f"{what}: got a list that is not an array of numbers") from None
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            raise CheckFailed(f"{what}: got a {type(value).__name__}, not an array of numbers")
        if shape is not None and tuple(value.shape) != tuple(shape):
            raise CheckFailed(f"{what}: shape {tuple(value.shape)}, should be {tuple(shape)}")
        if ndim is not None and value.ndim != ndim:
            raise CheckFailed(f"{what}: {value.ndim} dimensions, should be {ndim}")
        return value

    def scalar(self, value, what):
        array = self.array(value, what)
        if array.size != 1:
            raise CheckFailed(f"{what}: should be a single number, got shape {array.shape}")
        return float(array.reshape(()))

    def finite(self, value, what):
        array = self.array(value, what)
        if not np.all(np.isfinite(array)):
            raise CheckFailed(f"{what}: contains NaN or inf")
        return array

    def expect(self, key, value, what, tol):
        """Compare value with this check's reference `key` within `tol` (tolerances.py).

        Record mode stores the value and the tolerance. Returns the value as an array.
        """
        array = self.array(value, what)
        if self.mode == "record":
            if not np.all(np.isfinite(array)):
                raise GraderError(f"{self.check.id}: reference {key} is not finite")
            self.recorded[key] = Reference(np.array(array), tol)
            return array
        try:
            ref = self.refs[self.check.id][key]
        except KeyError:
            raise GraderError(f"{self.check.id}: no reference value {key!r}; "
                              "run `make references`") from None
        if ref.tol != tol:
            raise GraderError(f"{self.check.id}: {key} is recorded with tolerance {ref.tol:g}, "
                              f"checked with {tol:g}; run `make references`")
        expected = ref.value
        if array.shape != expected.shape:
            raise CheckFailed(f"{what}: shape {array.shape}, should be {expected.shape}")
        self.finite(array, what)
        if tol == 0:
            wrong = int(np.sum(array != expected))
            if wrong:
                raise CheckFailed(f"{what}: {wrong} of {array.size} wrong")
            return array
        error = scaled_error(array, expected)
        if not error <= tol:
            # One significant digit: the size of the error, not a way back to the expected value.
            raise CheckFailed(f"{what}: wrong values (largest error {error:.0e} relative to the "
                              f"largest expected value; allowed {tol:.0e})")
        return array

    def expect_grad_close(self, analytic, numeric, what, tol):
        """An analytic gradient against centred differences of the student's own function.

        Both come from the student's code, so their error may be printed. A function whose
        value does not move (a constant or zero loss, as a stub returns) has nothing to check
        and fails: a numeric-gradient check needs a loss first.
        """
        analytic = np.asarray(self.finite(analytic, what), dtype=np.float64)
        numeric = np.asarray(numeric, dtype=np.float64)
        if not np.all(np.isfinite(numeric)):
            raise CheckFailed(f"your function's values around the inputs contain NaN or inf, "
                              f"so {what} cannot be checked against a numeric gradient")
        if not np.max(np.abs(numeric)) > 1e-8:
            raise CheckFailed(f"your function's value does not change when its input changes "
                              f"(numeric gradient 0), so {what} cannot be checked: compute the "
                              "loss first")
        scale = max(np.max(np.abs(analytic)), np.max(np.abs(numeric)))
        error = np.max(np.abs(analytic - numeric)) / scale
        if not error <= tol:  # NaN fails too
            raise CheckFailed(f"{what} does not match the numeric gradient of your own function "
                              f"(largest error {error:.1e} relative to the largest entry; "
                              f"allowed {tol:.0e})")
