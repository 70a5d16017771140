"""Step 2, nbgrade: nbgrader autograde of each notebook, through its Python API.

One notebook at a time, so a kernel that dies (os._exit, a memory bomb, a crash) costs that
notebook only. Each worker grades in its own staging course directory and talks to the
shared gradebook (SQLite with a 60 s lock timeout, or any db_url nbgrader accepts). Every
kernel is started by `GuardedKernelManager`: IPC transport under a folder private to the
worker (no TCP port collisions between parallel workers), a cleaned environment, resource
limits (kernel_launch) and the in-kernel guard (kernel_guard).
"""
import os
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    Execute,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from nbgrader.utils import capture_log
from traitlets import Integer, Unicode

from coursekit.autograde.course import load_nbgrader_config

# Environment variables a grading kernel inherits; everything else (tokens, secrets of a CI
# runner, the gradebook URL) stays out.
KERNEL_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "NBGRADER_EXECUTION",
                   "CS231N_CIFAR10_DIR", "SYSTEMROOT")


class KernelSettings:
    """Per-worker settings the kernel manager reads (set once by `prepare_worker`)."""

    ipc_dir = None
    memory_mb = 4096
    cpu_seconds = 1800
    file_mb = 512
    threads = 1
    env = {}
    guard = {}


_INTERRUPTS = []


def _on_interrupt(signum, frame):
    _INTERRUPTS.append(signum)
    raise KeyboardInterrupt


def catch_interrupts():
    """Remember Ctrl-C/SIGTERM: nbgrader's capture_log swallows KeyboardInterrupt (it would
    record the notebook as failed and grading would go on)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_interrupt)
        signal.signal(signal.SIGTERM, _on_interrupt)


def prepare_worker(course, scratch=None):
    """Create this worker's private folders (IPC sockets, temp, matplotlib cache)."""
    base = Path(scratch or tempfile.mkdtemp(prefix=f"ck-autograde-{os.getpid()}-"))
    for sub in ("ipc", "tmp"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    warm_matplotlib_cache(base / "mpl")
    catch_interrupts()
    KernelSettings.ipc_dir = str(base / "ipc")
    KernelSettings.memory_mb = course.kernel_memory_mb
    KernelSettings.cpu_seconds = course.kernel_cpu_seconds
    KernelSettings.threads = course.kernel_threads
    KernelSettings.env = dict(course.kernel_env)
    KernelSettings.scratch = str(base)
    return base


def warm_matplotlib_cache(folder):
    """Build matplotlib's font cache once, outside the guarded kernel: building it runs
    `fc-list`, which the kernel may not start, and costs seconds per notebook otherwise."""
    import subprocess

    shared = Path(tempfile.gettempdir()) / f"coursekit-mpl-{os.getuid()}"
    shared.mkdir(exist_ok=True)
    if not any(shared.glob("fontlist*.json")):
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"],
                       env={**os.environ, "MPLCONFIGDIR": str(shared)}, timeout=300,
                       capture_output=True)
    folder = Path(folder)
    if not folder.exists():
        import shutil

        shutil.copytree(shared, folder)


class GuardedKernelManager(AsyncKernelManager):
    """A kernel manager for grading: IPC transport, clean env, limits, guard."""

    def __init__(self, **kwargs):
        kwargs.setdefault("transport", "ipc")
        if KernelSettings.ipc_dir:
            # Unique per kernel: workers never share a socket path.
            kwargs.setdefault("ip", tempfile.mkdtemp(dir=KernelSettings.ipc_dir) + "/k")
        super().__init__(**kwargs)

    @property
    def kernel_spec(self):
        """The ipykernel of the grading interpreter (sys.executable, as the module worker), never
        a kernel spec found on the Jupyter paths: JUPYTER_PATH or a user-level `ipykernel
        install --user` of another Python would otherwise run the notebooks there, without the
        pinned packages (numpy, future for the official starter's `past.builtins`)."""
        if self._kernel_spec is None:
            from ipykernel.kernelspec import RESOURCES, get_kernel_dict
            from jupyter_client.kernelspec import KernelSpec

            self._kernel_spec = KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())
        return self._kernel_spec

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        limits = ["--memory-mb", str(KernelSettings.memory_mb),
                  "--cpu-seconds", str(KernelSettings.cpu_seconds),
                  "--file-mb", str(KernelSettings.file_mb)]
        cmd = [sys.executable, "-m", "coursekit.autograde.kernel_launch", *limits, "--",
               *kernel_cmd]
        kw["env"] = kernel_env(kw.get("env") or os.environ)
        return await super()._async_launch_kernel(cmd, **kw)


def kernel_env(base):
    import json

    env = {k: v for k, v in base.items() if k in KERNEL_ENV_KEEP or k.startswith("LC_")}
    env.update(KernelSettings.env)
    scratch = Path(KernelSettings.scratch or tempfile.gettempdir())
    threads = str(KernelSettings.threads)
    env.update({
        "HOME": str(scratch / "tmp"), "TMPDIR": str(scratch / "tmp"),
        "MPLCONFIGDIR": str(scratch / "mpl"), "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "COURSEKIT_GUARD": json.dumps(KernelSettings.guard),
    })
    return env


GUARD_LINE = "import coursekit.autograde.kernel_guard as _ckg; _ckg.install(); del _ckg"


class GuardedExecute(Execute):
    """nbgrader's Execute with the guarded kernel manager and the in-kernel guard."""

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = GuardedKernelManager
        super().__init__(*args, **kwargs)
        self.extra_arguments = [*self.extra_arguments, "--HistoryManager.hist_file=:memory:",
                                f"--IPKernelApp.exec_lines={GUARD_LINE}"]


class TruncateOutput(NbGraderPreprocessor):
    """Caps the characters of each output (LimitOutput only caps lines): 10 MB of print on
    one line must not end up in the gradebook copy and the feedback."""

    max_chars = Integer(20000, help="maximum characters per output").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and len(output.text) > self.max_chars:
                cut = len(output.text) - self.max_chars
                output.text = output.text[: self.max_chars] + f"\n... [{cut} characters cut]\n"
            for key, value in list(output.get("data", {}).items()):
                too_long = isinstance(value, str) and len(value) > self.max_chars
                if too_long and key.startswith("text"):
                    output.data[key] = value[: self.max_chars] + "\n... [output cut]"
        return cell, resources


class RobustOverwriteCells(OverwriteCells):
    """nbgrader's OverwriteCells, with the re-adding of deleted cells made robust.

    nbgrader 0.9.6 crashes the whole notebook (KeyError) when a deleted grade cell follows a
    cell that is neither graded nor a solution, or when any cell carries nbgrader metadata
    unknown to the gradebook (a copied cell, an answer cell, a cell of another notebook). Here a
    deleted cell goes back right after the cell that precedes it in the master notebook
    (`master_dir`), found in the submission by its cell id or grade id: a test comes back after
    the plain cell that computes what it checks, not after the previous graded cell. Without the
    master notebook, it goes just before the next master cell the submission still has.
    Configured by nbgrader's own `OverwriteCells.add_missing_cells`.
    """

    master_dir = Unicode("", help="folder of the master notebooks (cell order)").tag(config=True)

    def _master_cells(self):
        import nbformat

        path = Path(self.master_dir or "/nonexistent") / f"{self.notebook_id}.ipynb"
        if not self.master_dir or not path.is_file():
            return []
        return nbformat.read(str(path), as_version=4).cells

    def _insert_position(self, nb, name, source_ids, master_cells):
        present = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
        cell_ids = [c.get("id") for c in nb.cells]
        master_names = [c.metadata.get("nbgrader", {}).get("grade_id") for c in master_cells]
        if name in master_names:
            for earlier in reversed(master_cells[:master_names.index(name)]):
                grade_id = earlier.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id and grade_id in present:
                    return present.index(grade_id) + 1
                if not grade_id and earlier.get("id") and earlier.get("id") in cell_ids:
                    return cell_ids.index(earlier.get("id")) + 1
            return 0
        at = source_ids.index(name)
        for later in source_ids[at + 1:]:
            if later in present:
                return present.index(later)
        return len(nb.cells)

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_cells = list(source_nb.source_cells)
        source_ids = [cell.name for cell in source_cells]
        solution_ids = {cell.name for cell in source_nb.solution_cells}
        master_cells = self._master_cells()
        for grade_cell in source_nb.grade_cells:
            present = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
            if grade_cell.name in present or grade_cell.name not in source_ids:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook",
                             grade_cell.name)
            insert_at = self._insert_position(nb, grade_cell.name, source_ids, master_cells)
            at = source_ids.index(grade_cell.name)
            cell = self.missing_cell_transform(source_cells[at], grade_cell.max_score,
                                               is_solution=grade_cell.name in solution_ids)
            nb.cells.insert(insert_at, nbformat_from_dict(cell))
        return nb, resources

    def add_missing_task_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_cells = list(source_nb.source_cells)
        source_ids = [cell.name for cell in source_cells]
        present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
        for task_cell in source_nb.task_cells:
            if task_cell.name not in present and task_cell.name in source_ids:
                cell = self.missing_cell_transform(source_cells[source_ids.index(task_cell.name)],
                                                   task_cell.max_score, is_task=True)
                nb.cells.append(nbformat_from_dict(cell))
        return nb, resources


class RobustDeduplicateIds(DeduplicateIds):
    """nbgrader's DeduplicateIds leaves `{}` as the metadata of a duplicated cell, which a
    later step rejects as an outdated schema (the whole notebook scores 0); here the copy
    simply stops being an nbgrader cell. The first copy (in notebook order) is kept."""

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


def nbformat_from_dict(cell):
    import nbformat

    return nbformat.from_dict(cell)


SANITIZE_PREPROCESSORS = [ClearOutput, RobustDeduplicateIds, OverwriteKernelspec,
                          RobustOverwriteCells, CheckCellMetadata]
AUTOGRADE_PREPROCESSORS = [GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                           TruncateOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]


def autograde_config(course, stage_root):
    """nbgrader_config.py of the course, pointed at this worker's staging directory."""
    cfg = load_nbgrader_config(course.config_file)
    cfg.CourseDirectory.root = str(stage_root)
    cfg.CourseDirectory.db_url = course.db_url
    # The staging directory has no source/ folder: nothing of the instructor's (master
    # modules included) is copied over the student's files.
    cfg.CourseDirectory.source_directory = "no-source"
    cfg.Autograde.sanitize_preprocessors = SANITIZE_PREPROCESSORS
    cfg.Autograde.autograde_preprocessors = AUTOGRADE_PREPROCESSORS
    cfg.Autograde.create_student = True
    # Deleted grade cells go back where the master notebook has them.
    cfg.RobustOverwriteCells.master_dir = str(course.source_dir)
    return cfg


def autograde_notebook(course, stage_root, student, notebook, guard_log):
    """nbgrader autograde of one notebook of one student. Returns a status dict."""
    KernelSettings.guard = guard_settings(course, stage_root, guard_log)
    cfg = autograde_config(course, stage_root)
    coursedir = CourseDirectory(config=cfg)
    coursedir.assignment_id = course.assignment
    coursedir.student_id = student
    coursedir.notebook_id = notebook
    app = Autograde(coursedir=coursedir, config=cfg)
    app.force = True
    start = time.monotonic()
    _INTERRUPTS.clear()
    result = capture_log(app)
    if _INTERRUPTS:
        raise KeyboardInterrupt("grading interrupted")
    out = {"success": bool(result["success"]), "seconds": round(time.monotonic() - start, 2)}
    if not result["success"]:
        out["error"] = summarize_failure(result.get("error", ""), result.get("log", ""))
    return out


def guard_settings(course, stage_root, guard_log):
    deny = [str(course.root), str(course.output_root), str(stage_root), *course.private_paths]
    if course.sqlite_path is not None:
        deny.append(str(course.sqlite_path))
    scratch = Path(KernelSettings.scratch or tempfile.gettempdir())
    import coursekit

    # The course tooling is not secret (reference values live in grading/hidden/); tracebacks
    # and autoreload read its sources.
    allow_read = [str(scratch / "mpl"), str(Path(coursekit.__file__).parent)]
    data_dir = course.kernel_env.get("CS231N_CIFAR10_DIR") or os.environ.get("CS231N_CIFAR10_DIR")
    if data_dir:
        allow_read.append(data_dir)
    return {"deny_read": deny, "allow_read": allow_read,
            "allow_write": [str(scratch / "tmp"), str(scratch / "mpl")], "log": str(guard_log)}


def summarize_failure(error, log):
    """One line a student and an instructor understand, from nbgrader's traceback and log."""
    import re

    text = f"{error}\n{log}"
    for marker, message in (
        ("DeadKernelError", "the kernel died while running the notebook (os._exit, a crash, "
                            "or the memory/CPU limit of the grader)"),
        ("UnresponsiveKernel", "the kernel stopped responding (an endless loop in C code?)"),
        ("CellTimeoutError", "a cell ran longer than the grader's time limit"),
        ("MissingEntry", "a graded cell of the notebook is unknown to the gradebook"),
        ("NotJSONError", "the notebook file is not valid JSON"),
    ):
        if marker in text:
            return message
    raised = [ln.strip() for ln in text.splitlines()
              if re.match(r"\s*[\w.]+(Error|Exception|Exit)\b.*", ln)
              and "NbGraderException" not in ln]
    if raised:
        return f"nbgrader could not grade it ({raised[-1][:200]})"
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "nbgrader autograde failed"
