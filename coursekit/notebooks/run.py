"""Run the master notebooks: nbgrader validation in grading mode, and the full real-data run.

- `validate_notebooks` runs every master notebook through nbgrader's Validator (its Python API:
  the `nbgrader validate` command exits 0 even when test cells fail). nbgrader sets
  NBGRADER_EXECUTION=validate in the kernel, so the notebooks run in grading mode (small subset,
  short searches). The data is a synthetic CIFAR-10 written into a temporary folder unless
  CS231N_CIFAR10_DIR is set.
- `run_full` executes the notebooks in normal mode on the full CIFAR-10, records what they reach
  (accuracies after the test cells named in METRICS) and the CPU time of each kernel, and
  `write_readme_table` puts that table into README.md between the results markers, with the
  date, the machine and the digest of what the results depend on (`inputs_digest`: the master
  notebooks, the package, the pins, this runner). A run whose digest the README already holds
  (`recorded_digest`) need not be repeated: CI skips it (`notebooks-full --unless-measured`).

nbformat is imported where it is used: importing it costs over a second (jsonschema's format
checkers), which every `coursekit VERB` call would pay since the verbs' parsers import this module.
"""
import copy
import hashlib
import json
import os
import platform
import re
import resource
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from unittest import mock

from coursekit.course import current
from coursekit.readme import replace_between

# The course's notebooks (course.toml) and folders.
NOTEBOOKS = list(current().notebook_names)
REPO_ROOT = str(current().root)
SOURCE_DIR = str(current().source_dir)
README = os.path.join(REPO_ROOT, "README.md")
RESULTS_BEGIN, RESULTS_END = "<!-- results:begin -->", "<!-- results:end -->"
DATA_ENV = "CS231N_CIFAR10_DIR"
MODE_ENVS = ("NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "CS231N_GRADING_MODE")
# Seconds a single cell may run: grading-mode cells take seconds, full-run cells minutes.
GRADING_CELL_TIMEOUT = 300
FULL_CELL_TIMEOUT = 3600
# Synthetic data for validation: at least what grading mode reads (see notebook_utils).
SYNTHETIC_TRAIN, SYNTHETIC_TEST = 1500, 300
METRIC_MARK = "COURSEKIT_METRIC "
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Metric:
    """A number a notebook reaches, read right after the test cell `after`."""

    notebook: str
    name: str
    after: str          # grade_id of the test cell after which the expression is read
    expression: str     # evaluated in the notebook's kernel
    target: float | None = None  # the real-data target (None: shown, not judged)


METRICS = [
    Metric("knn", "best_k (cross-validated)", "knn_best_k", "best_k"),
    Metric("knn", "test accuracy with best_k", "knn_best_k", "accuracy", 0.28),
    Metric("softmax", "val accuracy, first SGD run", "softmax_sgd", "np.mean(y_val == y_val_pred)"),
    Metric("softmax", "best_val after the search", "softmax_search", "best_val", 0.37),
    Metric("softmax", "test accuracy of best_softmax", "softmax_best_saved", "test_accuracy"),
    Metric("two_layer_net", "val accuracy, first Solver run", "two_layer_net_solver",
           "solver.best_val_acc"),
    Metric("two_layer_net", "val accuracy of best_model", "two_layer_net_best_model",
           "val_accuracy", 0.50),
    Metric("two_layer_net", "test accuracy of best_model", "two_layer_net_best_model",
           "test_accuracy", 0.48),
    Metric("features", "softmax on features: best_val", "features_softmax", "best_val", 0.42),
    Metric("features", "softmax on features: test accuracy", "features_softmax_saved",
           "test_accuracy"),
    Metric("features", "net on features: test accuracy", "features_net", "test_acc", 0.58),
    Metric("FullyConnectedNets", "3-layer overfit: train accuracy", "fc_overfit_three_layer",
           "max(solver.train_acc_history)", 1.0),
    Metric("FullyConnectedNets", "5-layer overfit: train accuracy", "fc_overfit_five_layer",
           "max(solver.train_acc_history)", 1.0),
    Metric("FullyConnectedNets", "val accuracy of best_model", "fc_best_model", "val_accuracy",
           0.52),
    Metric("FullyConnectedNets", "test accuracy of best_model", "fc_best_model", "test_accuracy",
           0.50),
]


@dataclass
class NotebookRun:
    """What one notebook run gave: failed test cells, errors, metrics, CPU and wall seconds."""

    notebook: str
    failed_tests: list = field(default_factory=list)   # grade_ids (or error text) that failed
    errors: list = field(default_factory=list)         # errors of any other cell
    metrics: dict = field(default_factory=dict)        # Metric.name -> value
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0

    @property
    def ok(self):
        return not self.failed_tests and not self.errors


@contextmanager
def environment(**values):
    """Set (value) or remove (None) environment variables for the duration of the block."""
    with mock.patch.dict(os.environ):  # restores the whole environment afterwards
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield


@contextmanager
def child_cpu_clock():
    """Yield a dict that receives the CPU seconds used by child processes (the kernels)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    out = {}
    try:
        yield out
    finally:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        out["wall"] = time.time() - start


@contextmanager
def grading_data(data_dir=None):
    """The CIFAR-10 folder for grading-mode runs: data_dir, $CS231N_CIFAR10_DIR or synthetic."""
    data_dir = data_dir or os.environ.get(DATA_ENV)
    if data_dir:
        yield data_dir
        return
    from coursekit.synthetic import write_synthetic_cifar10
    with tempfile.TemporaryDirectory(prefix="cs231n-synthetic-") as tmp:
        yield write_synthetic_cifar10(tmp, num_train=SYNTHETIC_TRAIN, num_test=SYNTHETIC_TEST)


def notebook_path(name, source_dir=SOURCE_DIR):
    return os.path.join(source_dir, name + ".ipynb")


def validate_notebook(path, data_dir, timeout=GRADING_CELL_TIMEOUT):
    """
    Run one notebook through nbgrader's Validator in grading mode.

    Returns a NotebookRun whose failed_tests lists the failing test cells (grade_id: error).
    """
    from nbgrader.validator import Validator
    from traitlets.config import Config

    config = Config()
    config.Execute.timeout = timeout
    name = os.path.splitext(os.path.basename(path))[0]
    run = NotebookRun(name)
    # In grading, test cells are judged outside the kernel on plain data (judge.py): a test
    # the judge cannot evaluate is an error of the notebook, whatever the validator says.
    from coursekit.autograde.judge import lint_notebook

    run.errors += [f"judge: {cell}: {problem}" for cell, problem in lint_notebook(path)]
    with environment(**{DATA_ENV: data_dir, "CS231N_GRADING_MODE": None}):
        with child_cpu_clock() as clock:
            results = Validator(config=config).validate(path)
    run.cpu_seconds, run.wall_seconds = clock["cpu"], clock["wall"]
    for kind in ("type_changed", "changed"):
        for cell in results.get(kind, []):
            run.errors.append(f"{kind}: {cell['source'][:80]!r}")
    for cell in results.get("failed", []):
        error = _ANSI.sub("", cell["raw_error"] or "").strip()
        last_line = error.splitlines()[-1] if error else "failed"
        run.failed_tests.append(f"{_first_line(cell['source'])}: {last_line}")
    return run


def validate_notebooks(names=NOTEBOOKS, source_dir=SOURCE_DIR, data_dir=None, log=print):
    """Validate the master notebooks in grading mode; returns the list of NotebookRun."""
    runs = []
    with grading_data(data_dir) as data:
        log(f"validate: CIFAR-10 from {data}")
        for name in names:
            run = validate_notebook(notebook_path(name, source_dir), data)
            runs.append(run)
            status = "ok" if run.ok else "FAILED"
            log(f"validate: {name}: {status} ({run.wall_seconds:.0f} s wall, "
                f"{run.cpu_seconds:.0f} s CPU)")
            for line in run.failed_tests + run.errors:
                log(f"    {line}")
    return runs


def _first_line(source):
    for line in source.splitlines():
        if line.strip() and not line.startswith("#"):
            return line.strip()[:80]
    return source.strip()[:80]


def _with_metric_cells(nb, name):
    """A copy of nb with a cell after each METRICS test cell that prints the metric values."""
    import nbformat

    nb = copy.deepcopy(nb)
    wanted = {}
    for metric in METRICS:
        if metric.notebook == name:
            wanted.setdefault(metric.after, []).append(metric)
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in wanted:
            items = ", ".join(f"{m.name!r}: float({m.expression})" for m in wanted.pop(grade_id))
            code = f"import json as _json\nprint({METRIC_MARK!r} + _json.dumps({{{items}}}))"
            cells.append(nbformat.v4.new_code_cell(code))
    if wanted:
        raise ValueError(f"run_full: {name}.ipynb has no test cells {sorted(wanted)}; "
                         "update coursekit/notebooks/run.py METRICS")
    nb.cells = cells
    return nb


def _read_run(nb, run):
    """Fill run.failed_tests, run.errors and run.metrics from an executed notebook."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        grade = cell.get("metadata", {}).get("nbgrader", {})
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                where = grade.get("grade_id") or _first_line(cell.source)
                message = f"{where}: {output.ename}: {output.evalue}"[:300]
                (run.failed_tests if grade.get("grade") else run.errors).append(message)
            elif output.output_type == "stream" and METRIC_MARK in output.text:
                for line in output.text.splitlines():
                    if line.startswith(METRIC_MARK):
                        run.metrics.update(json.loads(line[len(METRIC_MARK):]))


def execute_notebook(path, timeout=FULL_CELL_TIMEOUT, grading=False, save_to=None):
    """
    Execute a notebook (normal mode unless grading) in its own folder and read the results.

    Test cells that fail do not stop the run: every cell runs and every failure is reported.
    """
    import nbformat
    from nbclient import NotebookClient

    name = os.path.splitext(os.path.basename(path))[0]
    nb = _with_metric_cells(nbformat.read(path, as_version=4), name)
    run = NotebookRun(name)
    mode = {key: None for key in MODE_ENVS}
    if grading:
        mode["CS231N_GRADING_MODE"] = "1"
    with environment(**mode):
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": os.path.dirname(path)}})
        with child_cpu_clock() as clock:
            client.execute()
    run.cpu_seconds, run.wall_seconds = clock["cpu"], clock["wall"]
    _read_run(nb, run)
    if save_to:
        os.makedirs(save_to, exist_ok=True)
        nbformat.write(nb, os.path.join(save_to, name + ".ipynb"))
    return run


def run_full(names=NOTEBOOKS, source_dir=SOURCE_DIR, data_dir=None, save_to=None, log=print):
    """Execute the master notebooks in normal mode on the full CIFAR-10; list of NotebookRun."""
    data_dir = data_dir or os.environ.get(DATA_ENV)
    if not data_dir or not os.path.isfile(os.path.join(data_dir, "test_batch")):
        raise FileNotFoundError(
            f"notebooks-full: set {DATA_ENV} to the full CIFAR-10 folder (cifar-10-batches-py); "
            f"got {data_dir!r}. Build it with `make cifar10` (it goes to "
            "~/.cache/cs231n-a1/cifar-10-batches-py).")
    runs = []
    with environment(**{DATA_ENV: data_dir}):
        for name in names:
            log(f"notebooks-full: running {name}.ipynb ...")
            run = execute_notebook(notebook_path(name, source_dir), save_to=save_to)
            runs.append(run)
            log(f"notebooks-full: {name}: {'ok' if run.ok else 'FAILED'} "
                f"({run.cpu_seconds / 60:.1f} min CPU, {run.wall_seconds / 60:.1f} min wall)")
            for line in run.failed_tests + run.errors:
                log(f"    {line}")
            for key, value in run.metrics.items():
                log(f"    {key}: {value:g}")
    return runs


def _fmt(value):
    if value is None:
        return "missing"
    return f"{value:.0f}" if float(value).is_integer() and value > 1 else f"{value:.3f}"


def results_table(runs):
    """The README results table (markdown) of a full run."""
    by_name = {run.notebook: run for run in runs}
    lines = ["| notebook | result | value | target | met |", "|---|---|---|---|---|"]
    for metric in METRICS:
        run = by_name.get(metric.notebook)
        if run is None:
            continue
        value = run.metrics.get(metric.name)
        if metric.target is None:
            target, met = "", ""
        else:
            target = f">= {metric.target:g}"
            met = "yes" if value is not None and value >= metric.target else "**no**"
        lines.append(f"| {metric.notebook} | {metric.name} | {_fmt(value)} | {target} | {met} |")
    lines += ["", "| notebook | test cells | CPU time | wall time |", "|---|---|---|---|"]
    total_cpu = total_wall = 0.0
    for run in runs:
        tests = "all passed" if run.ok else f"{len(run.failed_tests) + len(run.errors)} failed"
        lines.append(f"| {run.notebook} | {tests} | {run.cpu_seconds / 60:.1f} min | "
                     f"{run.wall_seconds / 60:.1f} min |")
        total_cpu += run.cpu_seconds
        total_wall += run.wall_seconds
    lines.append(f"| **total** | | {total_cpu / 60:.1f} min | {total_wall / 60:.1f} min |")
    return "\n".join(lines)


# The line of the README's results section that says where and on what the table was measured.
MEASURED_LINE = ("Measured on {when} on {machine}; inputs digest `{digest}` (the master "
                 "notebooks, `cs231n/`, `requirements.txt` and this runner: while they are "
                 "unchanged, CI's `make notebooks-full-if-changed` does not run them again).")
_RECORDED = re.compile(r"inputs digest `([0-9a-f]{16})`")


def inputs_digest(source_dir=SOURCE_DIR, repo_root=REPO_ROOT):
    """16 hex digits of SHA-256 over what a full run's results depend on besides the data and the
    machine: the master notebooks, the package's modules, the pinned requirements and this
    module (the metric cells). Paths are taken relative to their folder, so a clone anywhere
    gives the same digest."""
    digest = hashlib.sha256()
    groups = [(source_dir, sorted(f for f in os.listdir(source_dir) if f.endswith(".ipynb"))),
              (repo_root, sorted(os.path.relpath(os.path.join(folder, f), repo_root)
                                 for folder, dirs, files in os.walk(os.path.join(repo_root,
                                                                                 "cs231n"))
                                 for f in files if f.endswith(".py"))),
              (repo_root, ["requirements.txt"]),
              (os.path.dirname(os.path.abspath(__file__)), ["run.py"])]
    for folder, names in groups:
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            digest.update(name.replace(os.sep, "/").encode() + b"\0"
                          + str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()[:16]


def recorded_digest(readme=None):
    """The inputs digest README.md's results section was measured on, or None (no section, no
    digest, or a run whose test cells failed: such a run records none)."""
    try:
        with open(readme or README, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    _, _, section = text.partition(RESULTS_BEGIN)
    section, closed, _ = section.partition(RESULTS_END)
    found = _RECORDED.search(section) if closed else None
    return found.group(1) if found else None


def machine_description():
    """"x86_64, 2 cores (CPU model), Python 3.11.7, numpy 1.26.4": where a run was measured."""
    import numpy

    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), "")
    except OSError:
        pass
    return (f"{platform.machine()}, {os.cpu_count()} cores{f' ({model})' if model else ''}, "
            f"Python {platform.python_version()}, numpy {numpy.__version__}")


def write_readme_table(table, readme=None, note=""):
    """Replace the text between the results markers of README.md by the table."""
    body = (note + "\n\n" if note else "") + table
    replace_between(readme or README, RESULTS_BEGIN, RESULTS_END, body)
