"""The context a hidden check runs in: it talks to the worker and judges what comes back.

`Context.call/new/get/set/numeric_grad/timed` send requests to the sandboxed worker and raise
CheckFailed (with the status: error, not_implemented, timeout, crashed, flood, junk) when the
submission's code fails; `expect`, `require`, `array`, `scalar`, `finite`, `expect_grad_close`
judge the values. In "record" mode `expect` stores the master's values as the references.
"""

import time
import zlib

import numpy as np

from coursekit.grader.master import master_module
from coursekit.grader.references import GraderError
from coursekit.grader.worker import Junk

BASE_SEED = 20250611

# The layer functions a network's checks take from the grader (the master's, trusted), so that a
# bug in the student's layers costs points in the layers' checks only, not again in the nets'.
LAYER_FUNCTIONS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
                   "softmax_loss")
LAYER_PATCH = [{"module": "cs231n.layers", "attr": name, "oracle": name}
               for name in LAYER_FUNCTIONS]


class CheckFailed(Exception):
    """The check's verdict: the submission does not do what it should."""

    def __init__(self, message, status="failed"):
        super().__init__(message)
        self.status = status


def seed_for(check_id):
    """The seed of a check's inputs: fixed by its id, different for every check."""
    return (BASE_SEED + zlib.crc32(check_id.encode())) % (2**31)


class Context:
    """Everything one check needs; made fresh for every check by driver.run_checks."""

    def __init__(self, sandbox, check_def, mode, refs, deadline, sources):
        self.sandbox = sandbox
        self.check = check_def
        self.mode = mode
        self.refs = refs
        self.recorded = {}
        self.deadline = deadline
        self.sources = sources
        self.rng = np.random.RandomState(seed_for(check_def.id))
        self.seed = seed_for(check_def.id)
        self.oracle_log = []
        self.oracles = {}
        self.warnings = []

    # -- talking to the worker

    def _oracle(self, name, args, kwargs):
        self.oracle_log.append((name, args, kwargs))
        if name in self.oracles:
            return self.oracles[name](*args, **kwargs)
        if name in LAYER_FUNCTIONS:
            return getattr(master_module("layers"), name)(*args, **kwargs)
        raise GraderError(f"no grader function {name}")

    def request(self, req, what, limit=None):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise CheckFailed(f"{what}: stopped, the check's time limit "
                              f"({self.check.timeout:g} s) was used up", "timeout")
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
        warned = reply.extra.get("warnings") if isinstance(reply.extra, dict) else None
        if isinstance(warned, list):
            self.warnings += [w[:300] for w in warned[:5] if isinstance(w, str)]
        if reply.status == "ok":
            return reply
        if reply.status == "error":
            # Whatever the worker sent is untrusted: short strings only.
            err = {k: str(reply.error.get(k))[:cap] if reply.error.get(k) is not None else None
                   for k, cap in (("type", 100), ("message", 500), ("where", 200))}
            err["not_implemented"] = reply.error.get("not_implemented") is True
            where = f" at {err['where']}" if err.get("where") else ""
            if err.get("not_implemented"):
                said = err.get("message") or f"{what} is not implemented yet"
                raise CheckFailed(f"{said} (NotImplementedError{where})", "not_implemented")
            if err.get("type") == "SystemExit":
                raise CheckFailed(f"{what} called sys.exit(){where}; return values instead",
                                  "error")
            raise CheckFailed(f"{what} raised {err.get('type')}{where}: {err.get('message')}",
                              "error")
        message = f"{what}: {reply.message}"
        if reply.extra.get("output"):
            message += "\nlast lines printed:\n" + reply.extra["output"]
        raise CheckFailed(message, reply.status)

    @staticmethod
    def _fn(fn):
        if isinstance(fn, tuple):
            handle, attr = fn
            return {"obj": handle, "attr": attr}
        module, attr = fn.split(":")
        return {"module": module, "attr": attr}

    def call(self, fn, *args, what=None, seed=None, keep=False, keep_path=(), show=None,
             layers=False, patch=(), limit=None, **kwargs):
        """Call fn ("module:Qual.name" or (handle, "method")) in the worker; returns its value."""
        patches = list(patch) + (LAYER_PATCH if layers else [])
        req = {"op": "call", "fn": self._fn(fn), "args": list(args), "kwargs": kwargs,
               "seed": seed, "keep": keep, "keep_path": list(keep_path), "show": show,
               "patch": patches}
        reply = self.request(req, what or self._what(fn), limit)
        return (reply.value, reply.handle) if keep else reply.value

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
                     project=None, h=1e-5, layers=False, what=None, **kwargs):
        """Centered differences of the worker's f at the given entries of one input."""
        patches = LAYER_PATCH if layers else []
        perturb = {"arg": arg} if arg is not None else {"target": target}
        req = {"op": "fevals", "call": {"fn": self._fn(fn), "args": list(args), "kwargs": kwargs},
               "perturb": perturb, "indices": [list(map(int, i)) for i in indices],
               "select": list(select), "project": project, "h": h, "patch": patches}
        values = self.request(req, what or self._what(fn)).value
        values = self.array(values, "the function's values", shape=(len(indices), 2))
        return (values[:, 0] - values[:, 1]) / (2 * h)

    def timed(self, fn, *args, what=None, limit=None, **kwargs):
        """Wall time of one call as the grader sees it (the result is not sent back).

        With `limit`, a call still running after `limit` seconds is stopped and counts as
        taking that long (the worker is restarted; the check goes on).
        """
        start = time.perf_counter()
        try:
            self.call(fn, *args, what=what, show="none", limit=limit, **kwargs)
        except CheckFailed as exc:
            if limit is None or exc.status != "timeout" or time.perf_counter() - start < limit:
                raise
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
            raise CheckFailed(f"{what} is a {value.description}, not a numpy array of numbers")
        if value is None:
            raise CheckFailed(f"{what} is None (was the result computed and returned?)")
        if isinstance(value, (bool, int, float, np.generic)):
            value = np.asarray(value)
        if isinstance(value, list):
            try:
                value = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise CheckFailed(f"{what} is not an array of numbers") from None
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            raise CheckFailed(f"{what} is a {type(value).__name__}, not an array of numbers")
        if shape is not None and tuple(value.shape) != tuple(shape):
            raise CheckFailed(f"{what} has shape {tuple(value.shape)}; it should have shape "
                              f"{tuple(shape)}")
        if ndim is not None and value.ndim != ndim:
            raise CheckFailed(f"{what} has {value.ndim} dimensions; it should have {ndim}")
        return value

    def scalar(self, value, what):
        array = self.array(value, what)
        if array.size != 1:
            raise CheckFailed(f"{what} should be a single number; it has shape {array.shape}")
        return float(array.reshape(()))

    def finite(self, value, what):
        array = self.array(value, what)
        if not np.all(np.isfinite(array)):
            raise CheckFailed(f"{what} contains NaN or inf")
        return array

    def expect(self, key, value, what, rtol=1e-7, atol=1e-9):
        """Compare value with the reference `key` of this check (record it, in record mode)."""
        array = self.array(value, what)
        if self.mode == "record":
            if not np.all(np.isfinite(array)):
                raise GraderError(f"{self.check.id}: reference {key} is not finite")
            self.recorded[key] = np.array(array)
            return
        try:
            expected = self.refs[self.check.id][key]
        except KeyError:
            raise GraderError(f"{self.check.id}: no reference value {key!r}; "
                              "run `make references`") from None
        if array.shape != expected.shape:
            raise CheckFailed(f"{what} has shape {array.shape}; it should have shape "
                              f"{expected.shape}")
        self.finite(array, what)
        ok = np.abs(array.astype(np.float64) - expected) <= atol + rtol * np.abs(expected)
        if not np.all(ok):
            raise CheckFailed(f"{what} does not match the reference values "
                              f"({int(np.sum(~ok))} of {ok.size} entries differ beyond the "
                              "tolerance)")

    def expect_grad_close(self, analytic, numeric, what, tol):
        """Analytic against numeric gradient (both from the student's code, so printable)."""
        analytic = np.asarray(self.finite(analytic, what), dtype=np.float64)
        numeric = np.asarray(numeric, dtype=np.float64)
        if not np.all(np.isfinite(numeric)):
            raise CheckFailed(f"your function's values around the inputs contain NaN or inf, "
                              f"so {what} cannot be checked against a numeric gradient")
        rel = np.max(np.abs(analytic - numeric) / np.maximum(1e-8, np.abs(analytic)
                                                             + np.abs(numeric)))
        if not rel <= tol:  # NaN fails too
            raise CheckFailed(f"{what} does not match the numeric gradient of your own function "
                              f"(relative error {rel:.1e}, allowed {tol:.0e})")
