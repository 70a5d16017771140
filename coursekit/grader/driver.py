"""The check driver: runs the hidden checks of tests/hidden/ against one submission.

A hidden check is a function `check(ctx)` registered with `@check(id, function, module)` in
tests/hidden/checks.py. It builds its inputs with `ctx.rng` (seeded from its id), asks the
sandboxed worker to run the submission's code through `ctx` (`call`, `new`, `get`, `set`,
`numeric_grad`, `timed`) and judges what comes back with `ctx.expect` (against the stored
reference values) or `ctx.require` (a property). The same checks, run on the master package in
"record" mode, produce the reference values (`write_references`), so the inputs of a reference
and of its comparison can never drift apart.

Student code only ever runs in the worker. Expected values stay in this process; the messages a
student sees say what was wrong, never what was expected.
"""

import ast
import importlib.util
import json
import sys
import time
import tomllib
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coursekit.grader.sandbox import Limits, Sandbox
from coursekit.grader.worker import Handle, Junk

REPO_ROOT = Path(__file__).resolve().parents[2]
HIDDEN_DIR = REPO_ROOT / "tests" / "hidden"
REFERENCES_FILE = "references.json"
RUBRIC_FILE = "rubric.toml"
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


class GraderError(Exception):
    """A bug of the grader or of its reference values (never the student's fault)."""


@dataclass
class Check:
    id: str
    function: str
    module: str
    run: object
    timeout: float = 10.0


@dataclass
class CheckResult:
    id: str
    function: str
    points: float
    max_points: float
    status: str
    message: str
    seconds: float

    def to_dict(self):
        return {"id": self.id, "function": self.function,
                "kind": "model" if self.id.startswith("model.") else "module",
                "points": self.points,
                "max_points": self.max_points, "status": self.status,
                "message": self.message, "seconds": round(self.seconds, 3)}


@dataclass
class GradeResult:
    submission: str
    checks: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def points(self):
        return round(sum(c.points for c in self.checks), 6)

    @property
    def max_points(self):
        return round(sum(c.max_points for c in self.checks), 6)

    @property
    def graded_max_points(self):
        return round(sum(c.max_points for c in self.checks if c.status != "not_graded"), 6)

    def by_id(self):
        return {c.id: c for c in self.checks}

    def to_dict(self):
        return {"submission": self.submission, "points": self.points,
                "max_points": self.max_points, "graded_max_points": self.graded_max_points,
                "seconds": round(self.seconds, 3), "notes": list(self.notes),
                "checks": [c.to_dict() for c in self.checks]}


_REGISTRY = []


def check(check_id, function, module, timeout=10.0):
    """Register a hidden check (used by tests/hidden/checks.py)."""

    def register(fn):
        _REGISTRY.append(Check(check_id, function, module, fn, timeout))
        return fn

    return register


def load_checks(hidden_dir=HIDDEN_DIR):
    """The checks defined in hidden_dir/checks.py, in definition order."""
    _REGISTRY.clear()
    path = Path(hidden_dir) / "checks.py"
    spec = importlib.util.spec_from_file_location("_coursekit_hidden_checks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    checks = list(_REGISTRY)
    ids = [c.id for c in checks]
    if len(set(ids)) != len(ids):
        raise GraderError(f"{path}: duplicate check ids")
    return checks


def load_rubric(hidden_dir=HIDDEN_DIR):
    with open(Path(hidden_dir) / RUBRIC_FILE, "rb") as f:
        return tomllib.load(f)


def master_module(name, repo_root=REPO_ROOT):
    """A standalone module of the master package ("layers", "classifiers.softmax", ...).

    Loaded from its file under a private name (trusted code, in the grader only); the modules
    used here import nothing from the package, so its __init__ files are not run.
    """
    alias = "_coursekit_master_" + name.replace(".", "_")
    if alias not in sys.modules:
        path = Path(repo_root) / "cs231n" / (name.replace(".", "/") + ".py")
        spec = importlib.util.spec_from_file_location(alias, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[alias] = module
    return sys.modules[alias]


# ---------------------------------------------------------------------------------------------
# Reference values: one JSON file, written deterministically (sorted keys, repr floats).


def _array_to_json(value):
    array = np.asarray(value)
    if array.dtype.kind == "f":
        data = [float(v) for v in array.ravel()]
    elif array.dtype.kind in "iub":
        data = [int(v) for v in array.ravel()]
    else:
        raise GraderError(f"reference of dtype {array.dtype} cannot be stored")
    return {"dtype": str(array.dtype), "shape": list(array.shape), "data": data}


def _array_from_json(entry):
    return np.array(entry["data"], dtype=entry["dtype"]).reshape(entry["shape"])


def dump_references(refs):
    lines = ["{"]
    items = sorted(refs.items())
    for i, (check_id, values) in enumerate(items):
        body = json.dumps({k: _array_to_json(v) for k, v in sorted(values.items())},
                          sort_keys=True)
        lines.append(f"  {json.dumps(check_id)}: {body}" + ("," if i < len(items) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def load_references(hidden_dir=HIDDEN_DIR):
    path = Path(hidden_dir) / REFERENCES_FILE
    if not path.exists():
        raise GraderError(f"{path} is missing: run `make references` to generate it")
    raw = json.loads(path.read_text())
    return {cid: {k: _array_from_json(v) for k, v in values.items()}
            for cid, values in raw.items()}


# ---------------------------------------------------------------------------------------------
# Source rules: read the submitted source (as text, parsed, never run).

LOOP_NODES = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp,
              ast.GeneratorExp)


def find_function(source, class_name, func_name):
    """The ast of class_name.func_name (or of module-level func_name if class_name is None)."""
    tree = ast.parse(source)
    scope = tree.body
    if class_name is not None:
        classes = [n for n in scope if isinstance(n, ast.ClassDef) and n.name == class_name]
        if not classes:
            return None, tree
        scope = classes[-1].body
    funcs = [n for n in scope if isinstance(n, ast.FunctionDef) and n.name == func_name]
    return (funcs[-1] if funcs else None), tree


def count_loops(node):
    return sum(isinstance(n, LOOP_NODES) for n in ast.walk(node))


def forbidden_uses(func, tree, forbidden_attrs=("norm",), forbidden_modules=("scipy",),
                   forbidden_names=("cdist", "pdist", "distance_matrix", "vectorize",
                                    "apply_along_axis", "fromiter")):
    """Names in func that reach np.linalg.norm, scipy or a hidden loop, including aliases."""
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mod = getattr(node, "module", None) or ""
            for alias in node.names:
                full = f"{mod}.{alias.name}" if mod else alias.name
                if any(full.startswith(m) for m in forbidden_modules) or "linalg" in full:
                    aliases.add(alias.asname or alias.name.split(".")[0])
    found = []
    for node in ast.walk(func):
        if isinstance(node, ast.Attribute) and (node.attr in forbidden_attrs
                                                or node.attr in forbidden_names):
            found.append(node.attr)
        elif isinstance(node, ast.Name) and (node.id in aliases or node.id in forbidden_names
                                             or node.id in forbidden_modules):
            found.append(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append("import inside the function")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("map", "eval", "exec", "__import__"):
            found.append(node.func.id)
    return sorted(set(found))


# ---------------------------------------------------------------------------------------------
# The context a check runs in.


def seed_for(check_id):
    return (BASE_SEED + zlib.crc32(check_id.encode())) % (2**31)


class Context:
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


# ---------------------------------------------------------------------------------------------
# Running the checks.


def error_text(reply):
    """'Type: message' of a failed reply, cut short (the worker's strings are untrusted)."""
    if reply.status != "error":
        return reply.message
    return f"{str(reply.error.get('type'))[:100]}: {str(reply.error.get('message'))[:500]}"


def _module_file(module):
    return module.replace(".", "/").removeprefix("cs231n/") + ".py"


# Wall-clock budget of all the code checks of one submission (a correct one needs a few seconds;
# this bounds a submission whose every function hangs).
TOTAL_BUDGET = 240.0


def run_checks(sandbox, checks, rubric, refs, mode, timeout_scale=1.0, progress=None,
               strict=True):
    points = rubric.get("checks", {})
    budget_end = time.monotonic() + TOTAL_BUDGET * timeout_scale
    results, recorded = [], {}
    import_errors, hung = {}, set()
    sources = sandbox.sources
    for module in dict.fromkeys(c.module for c in checks):
        reply = sandbox.request({"op": "import", "module": module}, 20 * timeout_scale)
        if reply.ok and isinstance(reply.value, str):
            sandbox.notes.append(f"import: {reply.value[:300]}")
        if not reply.ok:
            detail = error_text(reply)
            import_errors[module] = f"cs231n/{_module_file(module)} could not be imported " \
                                    f"({detail})"
    for check_def in checks:
        max_points = float(points.get(check_def.id, 0))
        start = time.monotonic()
        status, message = "passed", ""
        ctx = None
        if check_def.module in import_errors:
            status, message = "error", import_errors[check_def.module]
        elif check_def.function in hung:
            status, message = "timeout", (f"skipped: {check_def.function} did not finish in an "
                                          "earlier check")
        elif start >= budget_end:
            status, message = "timeout", ("skipped: the time for grading this submission "
                                          f"({TOTAL_BUDGET * timeout_scale:g} s) was used up by "
                                          "functions that did not finish")
        else:
            deadline = min(start + check_def.timeout * timeout_scale, budget_end)
            ctx = Context(sandbox, check_def, mode, refs, deadline, sources)
            try:
                check_def.run(ctx)
            except CheckFailed as exc:
                status, message = exc.status, str(exc)
            except GraderError:
                raise
            except Exception as exc:  # a reply the check did not expect: junk from the worker
                status = "failed"
                message = f"the results could not be checked ({type(exc).__name__}: {exc})"
        placeholder = [w for w in (ctx.warnings if ctx else []) if "not implemented" in w]
        if placeholder and status in ("passed", "failed"):
            # A release placeholder ran (it returns zeros and warns): not the student's work.
            status, message = "not_implemented", placeholder[0]
        if status == "timeout":
            hung.add(check_def.function)
        seconds = time.monotonic() - start
        if mode == "record":
            if status != "passed" and strict:
                raise GraderError(f"the master package fails {check_def.id}: {message}")
            if ctx is not None and ctx.recorded:
                recorded[check_def.id] = ctx.recorded
        earned = max_points if status == "passed" else 0.0
        results.append(CheckResult(check_def.id, check_def.function, earned, max_points,
                                   status, message, seconds))
        if progress:
            progress(results[-1])
    return results, recorded


def _package_dir(path):
    path = Path(path)
    if path.name == "cs231n" and (path / "__init__.py").exists() and not path.is_symlink():
        return path
    return path / "cs231n"


def grade_submission(path, *, hidden_dir=HIDDEN_DIR, cifar_dir=None, limits=None,
                     isolation="auto", timeout_scale=1.0, models=True, code=True,
                     progress=None):
    """Grade the `cs231n/` package in folder `path`; returns a GradeResult.

    - hidden_dir: the folder of checks.py, rubric.toml and references.json.
    - cifar_dir: CIFAR-10 folder for the saved models (default: $CS231N_CIFAR10_DIR, else the
      master's cs231n/datasets/cifar-10-batches-py); without it they are "not graded".
    - limits: sandbox.Limits (memory, CPU, output); isolation: "auto", "jail" or "none".
    - timeout_scale: multiplies every check's time limit.
    - models / code: grade the saved models / run the code checks (both by default).
    """
    start = time.monotonic()
    pkg = _package_dir(path)
    result = GradeResult(str(path))
    checks = load_checks(hidden_dir)
    rubric = load_rubric(hidden_dir)
    refs = load_references(hidden_dir)
    if not pkg.is_dir() or pkg.is_symlink():
        for c in checks:
            result.checks.append(CheckResult(c.id, c.function, 0.0,
                                             float(rubric["checks"].get(c.id, 0)), "error",
                                             f"no cs231n/ folder in {path}", 0.0))
        result.notes.append(f"no cs231n/ package folder found in {path}")
        result.seconds = time.monotonic() - start
        return result
    with Sandbox(pkg, limits=limits or Limits(), isolation=isolation) as sandbox:
        if code:
            results, _ = run_checks(sandbox, checks, rubric, refs, "grade", timeout_scale,
                                    progress)
            result.checks += results
        if models:
            from coursekit.grader.models import grade_models

            result.checks += grade_models(sandbox, rubric, cifar_dir, timeout_scale)
        result.notes += sandbox.notes + sandbox.copy_notes
        if sandbox.restarts > 1:
            result.notes.append(f"the worker was restarted {sandbox.restarts - 1} time(s) "
                                "after a crash, a timeout or an unreadable reply")
    result.seconds = time.monotonic() - start
    return result


def generate_references(master_root=REPO_ROOT, hidden_dir=HIDDEN_DIR):
    """Run every check on the master package and return the reference file's text."""
    checks = load_checks(hidden_dir)
    rubric = load_rubric(hidden_dir)
    with Sandbox(_package_dir(master_root)) as sandbox:
        _, recorded = run_checks(sandbox, checks, rubric, {}, "record")
    return dump_references(recorded)


def write_references(master_root=REPO_ROOT, hidden_dir=HIDDEN_DIR):
    text = generate_references(master_root, hidden_dir)
    path = Path(hidden_dir) / REFERENCES_FILE
    path.write_text(text)
    return path


__all__ = ["Check", "CheckFailed", "CheckResult", "Context", "GradeResult", "GraderError",
           "Handle", "check", "grade_submission", "generate_references", "write_references"]
