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

import importlib.util
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from coursekit.grader.context import CheckFailed, Context
from coursekit.grader.master import HIDDEN_DIR, REPO_ROOT
from coursekit.grader.references import (
    REFERENCES_FILE,
    GraderError,
    dump_references,
    load_references,
)
from coursekit.grader.results import CheckResult, GradeResult
from coursekit.grader.sandbox import Limits, Sandbox

RUBRIC_FILE = "rubric.toml"


@dataclass
class Check:
    id: str
    function: str
    module: str
    run: object
    timeout: float = 10.0


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


__all__ = ["Check", "CheckFailed", "CheckResult", "GradeResult", "GraderError", "REFERENCES_FILE",
           "check", "grade_submission", "generate_references", "load_references",
           "write_references"]
