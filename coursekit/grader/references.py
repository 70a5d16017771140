"""Reference values: one JSON file, written deterministically (sorted keys, repr floats).

`make references` writes it by running the hidden tests on the master package in record mode:
each `student.expect(key, value, what, tol)` stores the master's value and the tolerance the
test grades it with. Regenerating on another machine may change last digits (BLAS kernels
differ by CPU), never more than that tolerance allows: `within_tolerance` is how a test proves
the stored file is up to date.
"""

import json
from pathlib import Path

import numpy as np

from coursekit.grader.master import HIDDEN_DIR

REFERENCES_FILE = "references.json"


class GraderError(Exception):
    """A bug of the grader or of its reference values (never the student's fault)."""


def _array_to_json(value, tol):
    array = np.asarray(value)
    if array.dtype.kind == "f":
        data = [float(v) for v in array.ravel()]
    elif array.dtype.kind in "iub":
        data = [int(v) for v in array.ravel()]
    else:
        raise GraderError(f"reference of dtype {array.dtype} cannot be stored")
    return {"dtype": str(array.dtype), "shape": list(array.shape), "tol": float(tol),
            "data": data}


def _array_from_json(entry):
    return np.array(entry["data"], dtype=entry["dtype"]).reshape(entry["shape"])


class Reference:
    """One recorded value and the tolerance it is graded with."""

    __slots__ = ("value", "tol")

    def __init__(self, value, tol):
        self.value = value
        self.tol = float(tol)


def dump_references(refs):
    """refs: {check id: {key: Reference}} -> the file's text."""
    lines = ["{"]
    items = sorted(refs.items())
    for i, (check_id, values) in enumerate(items):
        body = json.dumps({k: _array_to_json(r.value, r.tol) for k, r in sorted(values.items())},
                          sort_keys=True)
        lines.append(f"  {json.dumps(check_id)}: {body}" + ("," if i < len(items) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def parse_references(text):
    raw = json.loads(text)
    return {cid: {k: Reference(_array_from_json(v), v["tol"]) for k, v in values.items()}
            for cid, values in raw.items()}


def load_references(hidden_dir=HIDDEN_DIR):
    path = Path(hidden_dir) / REFERENCES_FILE
    if not path.exists():
        raise GraderError(f"{path} is missing: run `make references` to generate it")
    return parse_references(path.read_text())


def scaled_error(actual, expected):
    """Largest |actual - expected| over the largest |expected| (see tolerances.py)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    diff = float(np.max(np.abs(actual - expected))) if expected.size else 0.0
    return diff / scale if scale > 0 else diff


def within_tolerance(new, stored):
    """Differences between two reference sets beyond the stored tolerances (empty: the same).

    Both are {check id: {key: Reference}}; a missing or extra value, another shape or dtype
    kind, or an error above the tolerance is reported as 'check id/key: why'.
    """
    problems = []
    for check_id in sorted(set(new) | set(stored)):
        a, b = new.get(check_id, {}), stored.get(check_id, {})
        for key in sorted(set(a) | set(b)):
            where = f"{check_id}/{key}"
            if key not in a or key not in b:
                problems.append(f"{where}: only in the {'new' if key in a else 'stored'} values")
                continue
            x, y = a[key].value, b[key].value
            if x.shape != y.shape or x.dtype.kind != y.dtype.kind:
                problems.append(f"{where}: {x.dtype}{x.shape} against {y.dtype}{y.shape}")
            elif a[key].tol != b[key].tol:
                problems.append(f"{where}: tolerance {a[key].tol:g} against {b[key].tol:g}")
            elif scaled_error(x, y) > b[key].tol:
                problems.append(f"{where}: differs by {scaled_error(x, y):.1e} "
                                f"(tolerance {b[key].tol:g})")
    return problems
