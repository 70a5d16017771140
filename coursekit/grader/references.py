"""Reference values: one JSON file, written deterministically (sorted keys, repr floats).

`make references` writes it from the master package (driver.write_references); a test proves
that writing it again gives the same bytes.
"""

import json
from pathlib import Path

import numpy as np

from coursekit.grader.master import HIDDEN_DIR

REFERENCES_FILE = "references.json"


class GraderError(Exception):
    """A bug of the grader or of its reference values (never the student's fault)."""


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
