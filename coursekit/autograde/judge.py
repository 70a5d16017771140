"""Test cells judged outside the student's kernel.

In grading, a test cell of a notebook (an nbgrader grade cell that is not an answer) never runs
in the student's kernel. At its place in the notebook:

1. `plan` reads the test's source: the names it uses that the judge does not provide
   (`JUDGE_NAMES`), and for each the attributes it reads (`solver.loss_history`);
2. the kernel runs `fetch_code`, given code that hands those values over as plain data (JSON,
   with numpy arrays of numbers as raw bytes, or a large array that is a run of the grading
   subset as that file's name and an offset), published as one display output;
3. the judge process (judge_process.py, the grader's own Python, outside the jail) decodes
   them without unpickling anything, runs the test on them with its own numpy, and returns the
   cell's outputs: what the visible lines print, and an error when the test fails (for a hidden
   segment only "a hidden test failed").

Hidden test source and expected values never enter the kernel; visible tests are judged the
same way. A test that needs the student's code to compute something reads a variable that a
given (read-only) cell before it computed in the kernel.

`lint_notebook` checks a master notebook against these rules (`coursekit validate`).
"""
import ast
import builtins
import functools
import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from coursekit import jail
from coursekit.course import current

# What the judge provides itself (judge_process.namespace): a test reading one of these never
# fetches it from the kernel.
JUDGE_NAMES = frozenset({"np", "numpy", "math", "rel_error", "notebook_utils"})
# What a test may call of notebook_utils in the judge.
JUDGE_HELPERS = {"notebook_utils": {"check_saved_model"}}
# Methods of plain data (arrays, lists, dicts, strings, numbers) a test may call on a fetched
# value; any other call on a fetched value (`best_softmax.predict(...)`) runs student code and
# belongs in a given cell of the kernel.
DATA_METHODS = frozenset({
    "all", "any", "argmax", "argmin", "astype", "copy", "count", "cumsum", "flatten", "get",
    "index", "item", "items", "keys", "max", "mean", "min", "prod", "ravel", "reshape", "round",
    "squeeze", "std", "sum", "tolist", "transpose", "values", "var", "startswith", "endswith",
    "lower", "upper", "strip", "split", "is_integer"})
MIME = "application/x-coursekit-values"
MAX_VALUES_BYTES = 256 * 2**20
# Arrays this large that the grader has itself (the grading subset) cross by name (fetch_code).
KNOWN_MIN_BYTES = 2**20
JUDGE_SCRIPT = Path(__file__).with_name("judge_process.py")


@dataclass
class Plan:
    """What one test cell needs from the kernel, and its segments."""
    requests: dict = field(default_factory=dict)   # name -> sorted attribute paths
    segments: list = field(default_factory=list)   # {"hidden", "first", "last"} (1-based)
    calls: list = field(default_factory=list)      # (line, dotted name) of fetched calls
    assigned: set = field(default_factory=set)


def _dotted(node):
    """('a', 'b', 'c') for the expression a.b.c, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return (node.id, *reversed(parts))
    return None


def _stored_names(tree):
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def hidden_lines(source, begin="BEGIN HIDDEN TESTS", end="END HIDDEN TESTS"):
    """1-based line numbers of the hidden region(s) of a cell, markers included. As in
    nbgrader's ClearHiddenTests, a line holding the begin marker opens a region even if it
    holds the end marker too."""
    lines, inside = set(), False
    for number, line in enumerate(source.split("\n"), start=1):
        if inside or begin in line:
            lines.add(number)
        if begin in line:
            inside = True
        elif end in line:
            inside = False
    return lines


def segments(source):
    """The cell's visible and hidden parts, in order: [{"hidden", "first", "last"}]."""
    hidden = hidden_lines(source)
    count = len(source.split("\n"))
    parts = []
    for number in range(1, count + 1):
        kind = number in hidden
        if parts and parts[-1]["hidden"] == kind:
            parts[-1]["last"] = number
        else:
            parts.append({"hidden": kind, "first": number, "last": number})
    return parts


def plan(source):
    """The values a test cell reads from the kernel: raises SyntaxError for a test that does
    not parse."""
    tree = ast.parse(source)
    local = _stored_names(tree)
    free = set(dir(builtins)) | JUDGE_NAMES | local
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    result = Plan(segments=segments(source), assigned=local)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name) or not isinstance(node.ctx, ast.Load):
            continue
        if node.id in free:
            if node.id in JUDGE_HELPERS:
                parent = parents.get(node)
                if isinstance(parent, ast.Attribute) and \
                        parent.attr not in JUDGE_HELPERS[node.id]:
                    result.calls.append((node.lineno, f"{node.id}.{parent.attr}"))
            continue
        # The longest chain of attributes read from this name; a method called on it is not
        # part of the path (it runs on the fetched value, in the judge).
        top = node
        while isinstance(parents.get(top), ast.Attribute):
            top = parents[top]
        parent = parents.get(top)
        path = _dotted(top)
        if isinstance(parent, ast.Call) and parent.func is top and len(path) > 1:
            if path[-1] not in DATA_METHODS:
                result.calls.append((node.lineno, ".".join(path)))
            path = path[:-1]
        elif isinstance(parent, ast.Call) and parent.func is top:
            result.calls.append((node.lineno, path[0]))
        paths = result.requests.setdefault(node.id, set())
        if len(path) > 1:
            paths.add(".".join(path[1:]))
    result.requests = {name: sorted(paths) for name, paths in sorted(result.requests.items())}
    result.calls.sort()
    return result


# Runs in the student's kernel (its own namespace): hands over the values a test reads. What the
# kernel does to itself can only change these values, never the judging.
FETCH_TEMPLATE = '''\
def _coursekit_fetch(_requests, _ns, _known):
    import base64, json, math
    try:
        import numpy as _np
    except ImportError:
        _np = None
    _loaded = {}

    def known(a):
        # A large array whose bytes are a run of one of the grader's own arrays (the grading
        # subset this kernel read: a prefix of it, a view into such a prefix) is named, not sent.
        if a.nbytes < KNOWN_MIN_HERE or not a.flags.c_contiguous or not _known:
            return None
        starts = [0]
        base = a.base
        if isinstance(base, _np.ndarray) and base.flags.c_contiguous and base.dtype == a.dtype:
            offset = a.ctypes.data - base.ctypes.data
            if 0 < offset and offset % a.itemsize == 0 and offset + a.nbytes <= base.nbytes:
                starts.insert(0, offset // a.itemsize)
        mine = a.reshape(-1).view(_np.uint8)
        for name, path in _known.items():
            try:
                if path not in _loaded:
                    _loaded[path] = _np.load(path, mmap_mode="r", allow_pickle=False)
                theirs = _loaded[path]
            except Exception:
                continue
            if theirs.dtype != a.dtype or not theirs.flags.c_contiguous:
                continue
            for start in starts:
                if start + a.size <= theirs.size and _np.array_equal(
                        theirs.reshape(-1)[start:start + a.size].view(_np.uint8), mine):
                    return {"known": [name, start]}
        return None

    def plain(v, depth):
        if depth > 60:
            raise ValueError("nested too deep")
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            return v if abs(v) < 2 ** 63 else {"int": str(v)}
        if isinstance(v, float):
            return v if math.isfinite(v) else {"float": repr(v)}
        if _np is not None and isinstance(v, (_np.ndarray, _np.generic)) \\
                and v.dtype.kind in "biufc" and not v.dtype.fields:
            a = _np.asarray(v)    # tobytes() is in C order whatever the layout
            data = known(a) or base64.b64encode(a.tobytes()).decode()
            body = [a.dtype.str, list(a.shape), data]
            return {"nd": body} if isinstance(v, _np.ndarray) else {"scalar": body}
        if isinstance(v, list):
            return [plain(x, depth + 1) for x in v]
        if isinstance(v, tuple):
            return {"tuple": [plain(x, depth + 1) for x in v]}
        if isinstance(v, (set, frozenset)):
            return {"set": [plain(x, depth + 1) for x in v]}
        if isinstance(v, dict):
            return {"dict": [[plain(k, depth + 1), plain(x, depth + 1)] for k, x in v.items()]}
        return {"object": [type(v).__name__, {}]}

    def fetch(v, paths):
        node = plain(v, 0)
        if not (isinstance(node, dict) and "object" in node):
            return node
        for path in paths:
            parts, here, value = path.split("."), node, v
            for i, attr in enumerate(parts):
                attrs = here["object"][1]
                try:
                    value = getattr(value, attr)
                except Exception as exc:
                    attrs[attr] = {"error": type(exc).__name__ + ": " + str(exc)[:300]}
                    break
                if attr not in attrs:
                    attrs[attr] = plain(value, 0)
                here = attrs[attr]
                if not (isinstance(here, dict) and "object" in here):
                    break
        return node

    values = {}
    for name, paths in _requests.items():
        if name not in _ns:
            values[name] = {"missing": True}
            continue
        try:
            values[name] = fetch(_ns[name], paths)
        except Exception as exc:
            values[name] = {"object": [type(_ns[name]).__name__, {}]}
    return json.dumps(values)


__import__("IPython").display.publish_display_data(
    {MIME_HERE: _coursekit_fetch(REQUESTS_HERE, globals(), KNOWN_HERE)})
del _coursekit_fetch
'''


def fetch_code(requests, known=None):
    """Given code that hands the values `requests` names over (see FETCH_TEMPLATE). `known`:
    {name: path of an .npy file} the kernel and the judge both read (the grading subset,
    `known_arrays`): an array of at least KNOWN_MIN_BYTES whose bytes are a run of one of them
    crosses as that name and an offset instead of its bytes."""
    return (FETCH_TEMPLATE.replace("MIME_HERE", repr(MIME))
            .replace("REQUESTS_HERE", repr(dict(requests)))
            .replace("KNOWN_MIN_HERE", str(KNOWN_MIN_BYTES))
            .replace("KNOWN_HERE", repr(dict(known or {}))))


def read_values(outputs, limit=MAX_VALUES_BYTES):
    """(the values' JSON text, None) from the fetch cell's outputs, or (None, problem)."""
    for output in outputs:
        data = output.get("data") or {}
        if MIME in data:
            text = data[MIME]
            if not isinstance(text, str):
                return None, "the values your notebook handed to the grader are not text"
            if len(text) > limit:
                return None, (f"the values this test reads are over the grader's limit of "
                              f"{limit // 2**20} MB together")
            return text, None
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if errors:
        error = errors[-1]
        return None, (f"your notebook's kernel could not hand over the values this test reads "
                      f"({str(error.get('ename'))[:80]}: {str(error.get('evalue'))[:300]})")
    return None, ("your notebook's kernel did not hand over the values this test reads (its "
                  "output was captured or changed)")


class JudgeProcess:
    """The judge (judge_process.py) in a process of its own: started on first use, restarted
    after a test it could not finish. Trusted code on untrusted data: it unpickles nothing, runs
    with a memory limit and a time limit per test."""

    def __init__(self, seconds=120, memory_mb=4096, notebook_utils=None):
        self.seconds = seconds
        self.memory_mb = memory_mb
        # The course's given notebook_utils.py, whose check_saved_model tests may call (default:
        # the current course's; none when the course has no such file).
        if notebook_utils is None:
            notebook_utils = current().package_dir / "notebook_utils.py"
        self.notebook_utils = Path(notebook_utils) if Path(notebook_utils).is_file() else None
        self.process = None

    def _start(self):
        env = {"PATH": os.environ.get("PATH", ""), **jail.blas_threads(1),
               "PYTHONHASHSEED": "0"}
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(JUDGE_SCRIPT),
             *([str(self.notebook_utils)] if self.notebook_utils else [])], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd="/",
            preexec_fn=functools.partial(jail.cap_address_space, self.memory_mb))
        self._buffer = b""

    def start(self):
        """Start the process now if it does not run (the first test then finds it ready)."""
        if self.process is None or self.process.poll() is not None:
            self._start()

    def close(self):
        if self.process is not None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
            self.process = None

    def judge(self, source, values=None, problem=None, known=None):
        """The outputs of a test cell (nbformat output dicts). `known`: the grader's arrays
        the values may name (fetch_code), {name: path}."""
        request = {"source": source, "segments": segments(source), "values": values or "{}",
                   "problem": problem, "known": dict(known or {})}
        if self.process is None or self.process.poll() is not None:
            self._start()
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            line = self._read_line(time.monotonic() + self.seconds)
            return json.loads(line)["outputs"]
        except (OSError, ValueError, TimeoutError) as exc:
            self.process.kill()
            self.process.wait()
            self.process = None
            reason = ("it ran longer than the grader's limit of "
                      f"{self.seconds} s" if isinstance(exc, TimeoutError) else
                      "the judge stopped (out of memory?)")
            message = f"the grader could not judge this test on your notebook's values: {reason}"
            return [{"output_type": "error", "ename": "GradingError", "evalue": message,
                     "traceback": [f"GradingError: {message}"]}]

    def _read_line(self, deadline):
        out = self.process.stdout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([out], [], [], left)
            if ready:
                chunk = os.read(out.fileno(), 1 << 20)
                if not chunk:
                    raise ValueError("the judge ended")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()


def is_test_cell(cell):
    """An nbgrader grade cell that is code and not an answer: a test."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and \
        not meta.get("solution")


def lint_notebook(path):
    """Problems of a master notebook's test cells for the judge: [(cell name, problem)]."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    problems = []
    defined_later = {}
    test_assigned = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        name = cell.metadata.get("nbgrader", {}).get("grade_id") or cell.get("id")
        if is_test_cell(cell):
            try:
                found = plan(cell.source)
            except SyntaxError as exc:
                problems.append((name, f"does not parse ({exc.msg}, line {exc.lineno})"))
                continue
            for line, call in found.calls:
                problems.append((name, f"line {line} calls {call}(...): a test cannot run the "
                                       "student's code; compute it in a given cell before "
                                       "the test and check the variable"))
            for segment in found.segments:
                code = "\n".join(cell.source.split("\n")[segment["first"] - 1:segment["last"]])
                try:
                    ast.parse(code)
                except SyntaxError:
                    problems.append((name, f"lines {segment['first']}-{segment['last']} "
                                           f"({'hidden' if segment['hidden'] else 'visible'}) "
                                           "do not parse on their own: hidden regions must "
                                           "hold whole statements"))
            test_assigned[name] = found.assigned
        else:
            try:
                tree = ast.parse(_python_only(cell.source))
            except SyntaxError:
                continue
            used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Load)}
            for test, names in test_assigned.items():
                for leaked in sorted(names & used - _stored_names(tree)):
                    defined_later.setdefault((test, leaked), name)
    for (test, leaked), user in sorted(defined_later.items()):
        problems.append((test, f"assigns {leaked}, which the later cell {user} reads: a test "
                               "does not run in the student's kernel, so what it assigns does "
                               "not exist there"))
    return problems


def _python_only(source):
    """Cell source without IPython magics and shell lines (they do not parse as Python)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.split("\n"))
