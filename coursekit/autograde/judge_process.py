"""The judge: evaluates notebook test cells on plain data, outside the student's kernel.

Run by the grader (coursekit/autograde/judge.py) as `python -I judge_process.py`; it reads one
request per line on stdin and writes one verdict per line on stdout (JSON). A request holds a
test cell's source, its segments (visible / hidden) and the values the student's kernel handed
over, encoded as plain data (numbers, strings, numpy arrays of numbers, lists, tuples, dicts
and sets of them, and placeholders for anything else). Nothing is unpickled: arrays are raw
bytes with a dtype of numbers, checked against their shape. The test runs here, on those values,
with this interpreter's numpy; what the kernel did to its own numpy, its exception handling or
its tracing cannot reach it.

A verdict is the test cell's outputs, as nbgrader reads them: what the visible lines printed,
and an error output when the test failed. A failure in a hidden segment says only that a hidden
test failed; what hidden lines print is dropped.

Self-contained (standard library and numpy): it imports nothing of the course. The one course
code it runs is `check_saved_model` of the course's given notebook_utils.py (the file named on
its command line), compiled alone from that file's text.
"""
import ast
import base64
import builtins
import contextlib
import io
import json
import math
import sys
import traceback

import numpy as np

# Numbers only: booleans, signed and unsigned integers, floats, complex numbers.
DTYPE_KINDS = "biufc"
MAX_DEPTH = 64
MAX_NODES = 1_000_000
# Bytes that references to the grader's data may expand to in one test's values (what is sent
# as bytes is bounded by the grader's cap on the values' text).
MAX_KNOWN_BYTES = 512 * 2**20
CELL = "<test cell>"
HIDDEN_MESSAGE = "a hidden test failed"


class DecodeError(ValueError):
    pass


class Fetched:
    """An object of the student's kernel that is not plain data (a classifier, a Solver, the
    notebook's settings): only the attributes the test reads were handed over."""

    def __init__(self, name, type_name, attrs):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_attrs", attrs)

    def __getattr__(self, attr):
        attrs = object.__getattribute__(self, "_attrs")
        name = object.__getattribute__(self, "_name")
        if attr in attrs:
            value = attrs[attr]
            if isinstance(value, Problem):
                raise AttributeError(f"reading {name}.{attr} in your notebook raised "
                                     f"{value.message}")
            return value
        raise AttributeError(f"{name} is a {object.__getattribute__(self, '_type')} of your "
                             f"notebook; the grader reads only plain values of it, and not "
                             f".{attr}")

    def __repr__(self):
        return f"<{object.__getattribute__(self, '_type')} of your notebook>"


class Problem:
    """What reading a value in the kernel raised."""

    def __init__(self, message):
        self.message = str(message)[:500]


# The grader's own arrays a value may name instead of carrying its bytes (judge.fetch_code's
# `known`): path -> the array, read once per process.
_KNOWN_ARRAYS = {}


def known_array(path):
    if path not in _KNOWN_ARRAYS:
        _KNOWN_ARRAYS[path] = np.load(path, mmap_mode="r", allow_pickle=False)
    return _KNOWN_ARRAYS[path]


class Decoder:
    def __init__(self, known=None):
        self.nodes = 0
        self.known_bytes = 0
        # name -> path of the arrays the grader named in this request (never the kernel).
        self.known = dict(known or {})

    def value(self, node, depth=0, name="value"):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise DecodeError(f"more than {MAX_NODES} values")
        if depth > MAX_DEPTH:
            raise DecodeError(f"nested deeper than {MAX_DEPTH} levels")
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list):
            return [self.value(item, depth + 1) for item in node]
        if not isinstance(node, dict) or len(node) != 1:
            raise DecodeError("not a value the grader knows")
        (tag, body), = node.items()
        if tag == "nd":
            return self.array(body)
        if tag == "scalar":
            return self.array(body)[()]
        if tag == "tuple":
            return tuple(self.value(item, depth + 1) for item in self.list(body))
        if tag == "set":
            return set(self.value(item, depth + 1) for item in self.list(body))
        if tag == "dict":
            pairs = self.list(body)
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise DecodeError("a dict that is not a list of pairs")
            return {self.value(k, depth + 1): self.value(v, depth + 1) for k, v in pairs}
        if tag == "float":
            return float(body)  # nan, inf, -inf
        if tag == "int":
            return int(str(body)[:5000])
        if tag == "object":
            if not isinstance(body, list) or len(body) != 2 or not isinstance(body[1], dict):
                raise DecodeError("a malformed object")
            attrs = {str(k): self.value(v, depth + 1, f"{name}.{k}")
                     for k, v in body[1].items()}
            return Fetched(name, str(body[0])[:100], attrs)
        if tag == "error":
            return Problem(body)
        raise DecodeError(f"unknown tag {str(tag)[:40]!r}")

    @staticmethod
    def list(body):
        if not isinstance(body, list):
            raise DecodeError("a malformed container")
        return body

    def array(self, body):
        if not isinstance(body, list) or len(body) != 3:
            raise DecodeError("a malformed array")
        dtype_str, shape, data = body
        try:
            dtype = np.dtype(str(dtype_str))
        except TypeError as exc:
            raise DecodeError(f"unknown dtype {str(dtype_str)[:40]!r}") from exc
        if dtype.kind not in DTYPE_KINDS or dtype.fields or dtype.subdtype or \
                dtype.itemsize > 32:
            raise DecodeError(f"an array of {dtype} is not an array of numbers")
        if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape) \
                or len(shape) > 32:
            raise DecodeError("a malformed array shape")
        count = math.prod(shape)
        if isinstance(data, dict):
            return self.known_run(dtype, shape, count, data)
        raw = base64.b64decode(str(data), validate=True)
        if count * dtype.itemsize != len(raw):
            raise DecodeError(f"an array of shape {tuple(shape)} with {len(raw)} bytes")
        self.nodes += count // 1000
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()

    def known_run(self, dtype, shape, count, data):
        """The array the kernel named as a run of one of the grader's arrays: {"known":
        [name, first element]}. The kernel checked that its bytes are exactly those; a kernel
        that lies only gets the grader's data in place of its own."""
        ref = data.get("known") if len(data) == 1 else None
        if not (isinstance(ref, list) and len(ref) == 2 and isinstance(ref[0], str)
                and type(ref[1]) is int and ref[1] >= 0):
            raise DecodeError("a malformed reference to the grader's data")
        name, start = ref
        if name not in self.known:
            raise DecodeError(f"a reference to data the grader does not have "
                              f"({name[:40]!r})")
        try:
            theirs = known_array(self.known[name])
        except (OSError, ValueError) as exc:
            raise DecodeError(f"the grader's {name} cannot be read ({exc})") from None
        if theirs.dtype != dtype or start + count > theirs.size:
            raise DecodeError(f"a reference outside the grader's {name}")
        self.nodes += count // 1000
        self.known_bytes += count * dtype.itemsize
        if self.known_bytes > MAX_KNOWN_BYTES:
            raise DecodeError(f"references to more than {MAX_KNOWN_BYTES // 2**20} MB of the "
                              "grader's data")
        return np.array(theirs.reshape(-1)[start:start + count]).reshape(shape)


def rel_error(x, y):
    """Largest relative error between x and y (the notebooks' rel_error)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def given_function(path, name):
    """Function `name` of a given file of the course (the course's own copy, never the
    student's), compiled on its own: the file's imports do not run, so the function uses
    builtins only. The checks a test calls are then the course's, run here on plain data."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    node = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name),
                None)
    if node is None:
        raise LookupError(f"{path} defines no function {name}")
    scope = {"__builtins__": builtins, "describe_saved_model": _no_file_names}
    exec(compile(ast.Module(body=[node], type_ignores=[]), path, "exec"), scope)
    return scope[name]


def _no_file_names(fname):
    raise AssertionError(f"this test must judge the description of {fname} that the given cell "
                         "above it made (notebook_utils.describe_saved_model), not the file name")


class NotebookUtils:
    """What a test may call of notebook_utils: the course's check_saved_model, on the
    description of the saved file the kernel handed over (notebook_utils.describe_saved_model)."""

    def __init__(self, path):
        self.check_saved_model = given_function(path, "check_saved_model")


NOTEBOOK_UTILS = None  # set by main() from the command line


def namespace():
    names = {"__builtins__": builtins, "__name__": "__test__", "np": np, "numpy": np,
             "math": math, "rel_error": rel_error}
    if NOTEBOOK_UTILS is not None:
        names["notebook_utils"] = NOTEBOOK_UTILS
    return names


def failing_line(tb):
    line = None
    for frame in traceback.extract_tb(tb):
        if frame.filename == CELL:
            line = frame.lineno
    return line


def error_output(ename, evalue, traceback_lines):
    return {"output_type": "error", "ename": ename, "evalue": evalue,
            "traceback": traceback_lines}


def judge(request):
    """The outputs of one test cell."""
    source = request["source"]
    lines = source.split("\n")
    ns = namespace()
    problem = request.get("problem")
    if problem:
        return [error_output("GradingError", problem, [f"GradingError: {problem}"])]
    try:
        values = json.loads(request["values"])
        decoder = Decoder(request.get("known"))
        for name, node in values.items():
            if isinstance(node, dict) and set(node) == {"missing"}:
                continue    # not defined in the kernel: the test meets a NameError
            ns[name] = decoder.value(node, name=name)
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:
        message = (f"the values your notebook handed to the grader could not be read "
                   f"({type(exc).__name__}: {str(exc)[:300]})")
        return [error_output("GradingError", message, [f"GradingError: {message}"])]
    outputs = []
    for segment in request["segments"]:
        hidden, first, last = segment["hidden"], segment["first"], segment["last"]
        # Padded with empty lines: line numbers are the cell's own.
        code = "\n" * (first - 1) + "\n".join(lines[first - 1:last])
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
                exec(compile(code, CELL, "exec"), ns)  # noqa: S102 (the instructor's test)
        except BaseException as exc:  # noqa: BLE001 (every failure is the test's verdict)
            if not hidden and printed.getvalue():
                outputs.append(stream(printed.getvalue()))
            ename = type(exc).__name__
            if hidden:
                outputs.append(error_output(ename, HIDDEN_MESSAGE,
                                            [f"{ename}: {HIDDEN_MESSAGE}"]))
            else:
                number = failing_line(exc.__traceback__)
                evalue = str(exc)[:2000]
                missing = getattr(exc, "name", None) if isinstance(exc, NameError) else None
                if missing:
                    evalue += (f" (your notebook did not compute {missing}: the cell that "
                               "defines it did not run or stopped with an error)")
                text = lines[number - 1].strip() if number else ""
                outputs.append(error_output(ename, evalue, [
                    f"Cell In[ ], line {number}", f"    {text}", f"{ename}: {evalue}"]))
            return outputs
        if not hidden and printed.getvalue():
            outputs.append(stream(printed.getvalue()))
    return outputs


def stream(text):
    return {"output_type": "stream", "name": "stdout", "text": text[:20000]}


def main():
    global NOTEBOOK_UTILS
    # argv[1]: the course's notebook_utils.py (its given copy), whose checks tests may call.
    if len(sys.argv) > 1:
        NOTEBOOK_UTILS = NotebookUtils(sys.argv[1])
    # Tests print with print(); what they print is captured per segment, never on stdout.
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            verdict = {"outputs": judge(json.loads(line))}
        except Exception as exc:  # noqa: BLE001 (a broken request costs its test only)
            message = f"the grader could not judge this test ({type(exc).__name__}: {exc})"
            verdict = {"outputs": [error_output("GradingError", message[:500],
                                                [f"GradingError: {message[:500]}"])]}
        out.write(json.dumps(verdict) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
