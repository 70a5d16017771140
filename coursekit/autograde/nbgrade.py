"""Step 2, nbgrade: nbgrader autograde of each notebook, through its Python API.

One notebook at a time, so a kernel that dies (os._exit, a memory bomb, a crash) costs that
notebook only. Each grading process grades in its own staging course directory and talks to the
shared gradebook (SQLite with a 60 s lock timeout, or any db_url nbgrader accepts). Every
kernel is started by `GuardedKernelManager` in the student's jail (coursekit/jail.py:
bubblewrap, no network, nothing of the course, the student's own user id, a private /tmp
holding a copy of the staged submission as the working folder), over IPC sockets in a folder
of its own (no TCP port collisions between parallel workers), with a cleaned environment,
resource limits (kernel_launch), a wall-clock limit per notebook and per submission, and the
in-kernel guard (kernel_guard: friendly messages, not the security boundary).
"""
import os
import re
import shutil
import sys
import tempfile
import time
import weakref
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbconvert.preprocessors.sanitize import SanitizeHTML
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
from traitlets import Any, Bool, Integer, List, Set, Unicode

from coursekit import jail, untrusted
from coursekit.autograde import judge
from coursekit.autograde.grading_run import load_nbgrader_config

# Environment variables a grading kernel inherits; everything else (tokens, secrets of a CI
# runner, the gradebook URL) stays out.
KERNEL_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "NBGRADER_EXECUTION",
                   "CS231N_CIFAR10_DIR", "SYSTEMROOT")


class KernelSettings:
    """Per-process settings the kernel manager reads (set by `prepare_scratch`, and per student
    by `begin_submission`)."""

    ipc_dir = None
    memory_mb = 4096
    cpu_seconds = 1800
    file_mb = 512
    threads = 1
    tmp_mb = 1024
    processes = 256
    notebook_seconds = 900
    env = {}
    guard = {}
    # Per student: the host user id of the student's kernels (root grader), the time the whole
    # submission must end by, and the notebooks whose kernel was stopped for time.
    uid = None
    deadline = None
    notebook = None
    timed_out = set()
    # The staged submission a kernel works on (a copy of it, in its jail).
    submitted = None
    # Per student: its kernels started ahead and its judge (kernels_ahead.StudentKernels),
    # while the pipeline grades its notebooks; None otherwise (each notebook on its own).
    session = None
    # Start each notebook's kernel while the notebook before it runs (bubblewrap jail only),
    # and kill a notebook's kernel at its end rather than wait for it to shut down.
    start_ahead = True
    # One judge process for all the notebooks of a student, not one per notebook.
    one_judge = True
    # Fork a student's kernels from one process that imported their libraries (zygote.py;
    # with start_ahead only).
    zygote = True


_INTERRUPTS = []


class _CheckedSchemaValidation:
    """What nbgrader's metadata validator (nbgrader/nbgraderformat/common.py) calls as
    `jsonschema.validate`: the same check and the same error (jsonschema's best match), but
    nbgrader's schema is checked against JSON Schema's meta-schema once per process, not once
    per graded cell (jsonschema.validate does it on every call: 0.3 s of CPU per student for a
    schema that never changes)."""

    def __init__(self):
        self._validators = {}

    def validate(self, instance, schema):
        import json

        import jsonschema

        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[key] = cls(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error


def _check_nbgrader_schema_once():
    from nbgrader.nbgraderformat import common

    if not isinstance(common.jsonschema, _CheckedSchemaValidation):
        common.jsonschema = _CheckedSchemaValidation()


_check_nbgrader_schema_once()


def catch_interrupts():
    """Remember Ctrl-C/SIGTERM (in `_INTERRUPTS`): nbgrader's capture_log swallows
    KeyboardInterrupt (it would record the notebook as failed and grading would go on). The
    handlers and the roles of a batch's processes are in coursekit/autograde/interrupts.py."""
    from coursekit.autograde import interrupts

    interrupts.install_default()


def prepare_scratch(course, folder=None):
    """Create this grading process's scratch folder: IPC sockets, temp, matplotlib cache.

    Without `folder`, a folder `ck-autograde-<pid>-*` of the system temp folder owned by this
    process (coursekit/autograde/scratch.py): removed at exit, also after Ctrl-C or SIGTERM,
    and swept by the next batch if the process was killed. A given `folder` is the caller's
    to remove."""
    from coursekit.autograde import scratch as scratch_folders

    base = Path(folder) if folder else scratch_folders.make_folder("autograde")
    for sub in ("ipc", "tmp"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    warm_matplotlib_cache(base / "mpl")
    catch_interrupts()
    KernelSettings.ipc_dir = str(base / "ipc")
    KernelSettings.memory_mb = course.kernel_memory_mb
    KernelSettings.cpu_seconds = course.kernel_cpu_seconds
    KernelSettings.threads = course.kernel_threads
    KernelSettings.tmp_mb = course.kernel_tmp_mb
    KernelSettings.processes = course.kernel_processes
    KernelSettings.notebook_seconds = course.notebook_seconds
    KernelSettings.env = dict(course.kernel_env)
    data_dir = grading_data_dir(course)
    if data_dir:    # passed to the kernel and mounted in its jail alike (kernel_jail)
        KernelSettings.env["CS231N_CIFAR10_DIR"] = data_dir
        subsets = grading_subsets(data_dir)
        if subsets:     # read-only in the jail too: the kernels read it, never write it
            KernelSettings.env[GRADING_CACHE_ENV] = str(subsets)
    KernelSettings.scratch = str(base)
    # Kernels run as another user: they may cross the scratch folder (0711), not list it.
    os.chmod(base, 0o711)
    os.chmod(base / "ipc", 0o711)
    return base


def begin_submission(course):
    """Settings of one student's kernels: a host user id of their own (when the grader is
    root), and the time the whole submission must be graded by."""
    KernelSettings.uid = jail.new_uid() if os.geteuid() == 0 else None
    KernelSettings.deadline = time.monotonic() + course.submission_seconds
    KernelSettings.timed_out = set()


def warm_matplotlib_cache(folder):
    """Build matplotlib's font cache once, outside the guarded kernel: building it runs
    `fc-list`, which the kernel may not start, and costs seconds per notebook otherwise."""
    import subprocess

    shared = shared_matplotlib_cache()
    if not any(shared.glob("fontlist*.json")):
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"],
                       env={**os.environ, "MPLCONFIGDIR": str(shared)}, timeout=300,
                       capture_output=True)
    folder = Path(folder)
    if not folder.exists():
        import shutil

        # Another worker may be building the cache right now: its lock file comes and goes,
        # and a cache copied in part only costs the kernels some time.
        try:
            shutil.copytree(shared, folder, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.matplotlib-lock"))
        except shutil.Error:
            folder.mkdir(exist_ok=True)


def shared_matplotlib_cache():
    """The font cache every worker copies: in the user's cache folder (it outlives a run on
    purpose, and the system temp folder must not collect it), else in the temp folder."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for folder in (Path(cache) / "coursekit" / "matplotlib",
                   Path(tempfile.gettempdir()) / f"coursekit-mpl-{os.getuid()}"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return folder
        except OSError:
            continue
    raise OSError(f"coursekit autograde: cannot create a matplotlib cache in {cache} or "
                  f"{tempfile.gettempdir()}; make one of them writable")


class GuardedKernelManager(AsyncKernelManager):
    """A kernel manager for grading: the kernel runs in the submission's jail (coursekit/jail.py)
    over IPC sockets in a folder of its own, with a clean environment, limits, a copy of the
    staged submission as its working folder, a wall-clock limit, and the in-kernel guard."""

    live = weakref.WeakSet()  # the managers of this process (kill_live_kernels)

    def __init__(self, **kwargs):
        kwargs.setdefault("transport", "ipc")
        # The student's zygote (zygote.py), when their kernels are forked from one.
        self.zygote = getattr(KernelSettings.session, "zygote", None)
        if self.zygote is not None and not self.zygote.usable:
            self.zygote = None
        # Unique per kernel: workers never share a socket path. The folder is the only one of
        # the host the kernel may write (its sockets), and belongs to the kernel's user.
        self.kernel_dir = self.zygote.kernel_dir() if self.zygote is not None else None
        if self.kernel_dir is None:
            self.zygote = None
            self.kernel_dir = Path(tempfile.mkdtemp(dir=KernelSettings.ipc_dir or None))
        kwargs.setdefault("ip", str(self.kernel_dir / "k"))
        kwargs.setdefault("connection_file", str(self.kernel_dir / "kernel.json"))
        super().__init__(**kwargs)
        self._timer = None
        self._uid = None    # the host user id the kernel runs as (uid fallback), at launch
        # What the kernel is for, bound when it is made: a kernel started ahead is made while
        # the notebook before its own runs (kernels_ahead.py), and gets its notebook's guard.
        self.guard = KernelSettings.guard
        self.submitted = KernelSettings.submitted
        # Started ahead: its clock (`start_clock`) starts when its notebook does.
        self.started_ahead = False
        GuardedKernelManager.live.add(self)

    @property
    def kernel_spec(self):
        """The ipykernel of the grading interpreter (sys.executable, as the module worker), never
        a kernel spec found on the Jupyter paths: JUPYTER_PATH or a user-level `ipykernel
        install --user` of another Python would otherwise run the notebooks there, without the
        pinned packages (numpy, future for the official starter's `past.builtins`).
        Interrupts are messages on the control channel: a signal to the process group would
        reach bwrap, not the kernel in its own session inside the jail."""
        if self._kernel_spec is None:
            from ipykernel.kernelspec import RESOURCES, get_kernel_dict
            from jupyter_client.kernelspec import KernelSpec

            spec = {**get_kernel_dict(), "interrupt_mode": "message"}
            self._kernel_spec = KernelSpec(resource_dir=RESOURCES, **spec)
        return self._kernel_spec

    def kernel_jail(self, staged):
        """The jail of this kernel: the staged submission and the data read-only, its own
        socket folder read-write."""
        kind = jail.mode()
        guard_log = self.guard.get("log")
        writable = [str(self.kernel_dir)] + ([guard_log] if guard_log else [])
        uid = KernelSettings.uid if kind != "none" else None
        self._uid = uid
        box = jail.Jail(uid=uid, readonly=kernel_readonly(staged), writable=writable,
                        limits=kernel_limits(), kind=kind)
        box.give(self.kernel_dir, *([guard_log] if guard_log else []))
        return box

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        # nbgrader's cwd is its autograded/ folder, not for the kernel's eyes: in grading, the
        # kernel gets the staged submission (autograde_notebook says where).
        cwd = kw.pop("cwd", None)
        staged = self.submitted or cwd or os.getcwd()
        if self.zygote is not None:
            from coursekit.autograde.zygote import ZygoteError

            try:
                return self._fork_kernel(kernel_cmd, staged, kw)
            except ZygoteError as exc:
                self.zygote.usable = False
                self.log.warning("the kernel could not be forked (%s): it starts in a jail "
                                 "of its own", exc)
                self.zygote = None
        box = self.kernel_jail(staged)
        # Inside the jail /tmp is private; outside it (the fallbacks) the kernel's own folder.
        tmp = "/tmp" if box.kind == "bwrap" else str(self.kernel_dir / "tmp")
        work = f"{tmp}/work"
        scripts = self.grader_scripts()
        box.env = {**kernel_env(kw.get("env") or os.environ, tmp, self.guard),
                   "COURSEKIT_GUARD_DIR": str(scripts)}
        limits = ["--memory-mb", str(KernelSettings.memory_mb),
                  "--cpu-seconds", str(KernelSettings.cpu_seconds),
                  "--file-mb", str(KernelSettings.file_mb)]
        launcher = [sys.executable, "-I", str(scripts / "kernel_launch.py"), *limits,
                    "--copy", staged, work,
                    "--copy", str(Path(KernelSettings.scratch) / "mpl"), f"{tmp}/mpl",
                    "--chdir", work, "--", *kernel_cmd]
        if box.kind != "bwrap":
            Path(tmp).mkdir(exist_ok=True)
            box.give(tmp)
        box.give(self.connection_file)  # written 0600 by the manager, read by the kernel
        kw["env"] = box.environment() if box.kind == "bwrap" else box.env
        kw["preexec_fn"] = box.preexec
        kw["cwd"] = str(self.kernel_dir)
        # What the kernel prints outside the notebook goes to a file of its own (capped by its
        # file-size limit), never to the grader's stdout.
        log = open(self.kernel_dir / "kernel.log", "ab")  # noqa: SIM115 (Popen keeps it)
        kw["stdout"] = kw["stderr"] = log
        try:
            info = await super()._async_launch_kernel(box.command(launcher, "/tmp"), **kw)
        finally:
            log.close()
        if not self.started_ahead:
            self.start_clock()
        return info

    def grader_scripts(self):
        """The kernel's grader folder (its launcher and guard, read by the kernel's user)."""
        scripts = self.kernel_dir / "grader"
        scripts.mkdir(mode=0o755)
        for name in SCRIPTS:
            shutil.copyfile(Path(__file__).with_name(name), scripts / name)
            os.chmod(scripts / name, 0o644)
        return scripts

    def _fork_kernel(self, kernel_cmd, staged, kw):
        """The kernel forked by the student's zygote, with what a kernel of its own would
        have (kernel_launch.py's copy, working folder and limits; its environment and guard);
        ZygoteError when the zygote cannot make this one."""
        from coursekit.autograde import zygote as zygotes

        zyg = self.zygote
        guard_log = self.guard.get("log")
        if kernel_cmd[1:3] != ["-m", "ipykernel_launcher"]:
            raise zygotes.ZygoteError(f"not an ipykernel command: {kernel_cmd[:3]}")
        if staged != zyg.staged or (guard_log and str(guard_log) not in zyg.logs):
            raise zygotes.ZygoteError("this kernel's submission or guard log is not the "
                                      "zygote's")
        tmp = zyg.next_tmp()
        scripts = self.grader_scripts()
        env = {**kernel_env(kw.get("env") or os.environ, tmp, self.guard, mpl=zygotes.MPL),
               "COURSEKIT_GUARD_DIR": str(scripts)}
        zyg.box.give(self.connection_file)
        self._uid = zyg.box.uid
        process = zyg.fork({
            "argv": kernel_cmd[3:], "env": env, "log": str(self.kernel_dir / "kernel.log"),
            "tmp": tmp, "copies": [[staged, f"{tmp}/work"]], "chdir": f"{tmp}/work",
            "limits": {"memory_mb": KernelSettings.memory_mb,
                       "cpu_seconds": KernelSettings.cpu_seconds,
                       "file_mb": KernelSettings.file_mb}})
        provisioner = self.provisioner
        provisioner.process, provisioner.pid, provisioner.pgid = process, None, None
        provisioner.cwd = str(self.kernel_dir)
        self._reconcile_connection_info(provisioner.connection_info)
        if not self.started_ahead:
            self.start_clock()

    def start_clock(self):
        """Stop the kernel when the notebook or the whole submission runs out of time: from
        its launch, or for a kernel started ahead from the start of its notebook."""
        import threading

        seconds = KernelSettings.notebook_seconds
        if KernelSettings.deadline is not None:
            seconds = min(seconds, KernelSettings.deadline - time.monotonic())
        # Bound now: a timer that outlives its kernel (one whose clean-up never ran) must not
        # mark a notebook of the student graded next as timed out.
        notebook, timed_out = KernelSettings.notebook, KernelSettings.timed_out

        def stop():
            process = getattr(self.provisioner, "process", None)
            if process is not None and process.poll() is None:
                timed_out.add(notebook)
                process.kill()

        self._timer = threading.Timer(max(seconds, 0.0), stop)
        self._timer.daemon = True
        self._timer.start()

    async def _async_cleanup_resources(self, restart=False):
        if self._timer is not None:
            self._timer.cancel()
        if jail.mode() == "uid" and self._uid is not None:
            # Without the jail's PID namespace, what the kernel left running ends here: the
            # processes of the user this kernel was started as (bound at launch: a clean-up
            # that runs late must never reach the student graded next).
            jail.kill_user_processes(self._uid)
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self.kernel_dir, ignore_errors=True)


def kernel_readonly(staged):
    """What a grading kernel's jail mounts read-only besides the system: the staged
    submission, matplotlib's settings, the data and the grading cache."""
    readonly = [staged, str(Path(KernelSettings.scratch) / "mpl")]
    for name in ("CS231N_CIFAR10_DIR", GRADING_CACHE_ENV):
        if KernelSettings.env.get(name):
            readonly.append(KernelSettings.env[name])
    return readonly


def kernel_limits():
    return jail.Limits(memory_mb=KernelSettings.memory_mb,
                       cpu_seconds=KernelSettings.cpu_seconds, file_mb=KernelSettings.file_mb,
                       processes=KernelSettings.processes, tmp_mb=KernelSettings.tmp_mb)


def kill_live_kernels():
    """Kill every grading kernel of this process now (a stop: Ctrl-C or SIGTERM, called from
    the signal handler, coursekit/autograde/interrupts.py). The KeyboardInterrupt that stops
    grading can be lost (raised inside a `__del__` or a weakref callback, Python drops it):
    nbclient would then wait for the running cell to end (the student's cell may sleep for its
    whole time limit) before grading looks at the stop again. With its kernel dead, the cell
    ends at nbclient's next liveness poll, and the stop is acted on."""
    for km in list(GuardedKernelManager.live):
        process = getattr(km.provisioner, "process", None) if km.provisioner else None
        try:
            if process is not None and process.returncode is None:
                process.kill()  # the jail (bwrap --die-with-parent) ends with it
        except OSError:
            pass


async def end_kernel(km, kc=None):
    """Kill a grading kernel at once (with its jail: the PID namespace ends with it) and free
    what it held (its client's sockets, its socket folder). Graded notebooks keep nothing of
    a kernel, so it is not asked to shut down and waited for (0.2 s a notebook)."""
    from jupyter_core.utils import ensure_async

    if kc is not None:
        await ensure_async(kc.stop_channels())
    if km is None:
        return
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
        else:
            await km.cleanup_resources()
    finally:
        if km._timer is not None:
            km._timer.cancel()
        shutil.rmtree(km.kernel_dir, ignore_errors=True)


def kill_kernel(km, kc=None):
    """`end_kernel`, from code that is not a coroutine."""
    run_sync(end_kernel)(km, kc)


def kernel_env(base, tmp=None, guard=None, mpl=None):
    """The environment of a grading kernel: what grading needs, nothing of the grader's own
    (tokens, secrets of a CI runner, the gradebook URL). `tmp`: its private temporary folder;
    `guard`: its guard's settings (default: the current notebook's); `mpl`: matplotlib's
    settings folder (default: in `tmp`)."""
    import json

    guard = KernelSettings.guard if guard is None else guard

    env = {k: v for k, v in base.items() if k in KERNEL_ENV_KEEP or k.startswith("LC_")}
    env.update(KernelSettings.env)
    tmp = tmp or str(Path(KernelSettings.scratch or tempfile.gettempdir()) / "tmp")
    mpl = mpl or f"{tmp}/mpl"
    env.update({
        "HOME": f"{tmp}/home", "TMPDIR": f"{tmp}/home",
        "MPLCONFIGDIR": mpl, "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
        **jail.blas_threads(KernelSettings.threads),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "COURSEKIT_GUARD": json.dumps({**guard,
                                       "allow_write": [f"{tmp}/home", mpl,
                                                       *guard.get("allow_write", [])]}),
    })
    return env


# The guard is a copy of kernel_guard.py in the kernel's own folder (the jail holds nothing of
# the course, the tooling included); COURSEKIT_GUARD_DIR says where.
GUARD_LINE = ("import os, sys; sys.path.insert(0, os.environ.pop('COURSEKIT_GUARD_DIR')); "
              "import kernel_guard as _ckg; sys.path.pop(0); _ckg.install(); del _ckg")
SCRIPTS = ("kernel_launch.py", "kernel_guard.py")  # self-contained: standard library only


class GuardedExecute(Execute):
    """nbgrader's Execute with the guarded kernel manager and the in-kernel guard, and a cap
    on what a notebook's kernel may send as outputs while it runs: beyond it, outputs are
    dropped as they arrive (a flood of prints must not fill the grader's memory; TruncateOutput
    cuts what is kept afterwards)."""

    max_output_bytes = Integer(64 * 2**20, help="outputs kept per notebook while it runs"
                               ).tag(config=True)
    judge_seconds = Integer(120, help="seconds the judge may take for one test cell"
                            ).tag(config=True)
    notebook_utils = Unicode("", help="the course's given notebook_utils.py, whose checks the "
                             "tests may call (default: the current course's)").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = GuardedKernelManager
        super().__init__(*args, **kwargs)
        self.extra_arguments = [*self.extra_arguments, "--HistoryManager.hist_file=:memory:",
                                f"--IPKernelApp.exec_lines={GUARD_LINE}"]
        self._output_bytes = 0
        self._probing = False
        self._judge = None

    def preprocess(self, nb, resources=None, km=None):
        """Run the notebook. Within a student's grading (`KernelSettings.session`, a
        kernels_ahead.StudentKernels) its kernel may be the one started ahead for it, the next
        notebook's kernel starts now, this one is killed at the end, and the judge is the
        student's; otherwise a kernel and a judge of its own, shut down at the end."""
        session = KernelSettings.session
        shared_judge = session is not None and KernelSettings.one_judge
        utils = self.notebook_utils or None
        self._judge = session.judge(self.judge_seconds, utils) if shared_judge else \
            judge.JudgeProcess(seconds=self.judge_seconds, notebook_utils=utils)
        try:
            if km is not None or session is None or not session.start_ahead:
                return super().preprocess(nb, resources, km)
            notebook = KernelSettings.notebook
            # Passed in, the kernel is ours to end: nbclient leaves it running.
            km = session.take(notebook) or self._new_kernel_manager(nb)
            session.start_next(notebook, self, nb)
            try:
                return super().preprocess(nb, resources, km)
            finally:
                km, kc, self.km, self.kc = self.km, self.kc, None, None
                kill_kernel(km, kc)
        finally:
            if not shared_judge:
                self._judge.close()

    def _new_kernel_manager(self, nb):
        name = self.kernel_name or nb.metadata.get("kernelspec", {}).get("name") or "python3"
        return self.kernel_manager_class(kernel_name=name, config=self.config)

    async def async_start_new_kernel_client(self):
        """nbclient's, and for a kernel started ahead or forked by the student's zygote that
        does not answer (the notebook before it used up the student's processes while it
        started, say, or stopped the zygote), a fresh kernel in a jail of its own, as without
        either: what one notebook did never costs the next."""
        session = KernelSettings.session
        ahead = getattr(self.km, "started_ahead", False)
        forked = getattr(self.km, "zygote", None) is not None
        try:
            client = await super().async_start_new_kernel_client()
        except Exception as exc:  # noqa: BLE001 (any failure: the fresh kernel decides)
            if not ahead and not forked:
                raise
            # nbclient has ended the kernel started ahead (and forgotten it) already, unless
            # it failed before making a client.
            await end_kernel(self.km)
            if session is not None and forked:
                # Forked: what the notebook before left in the jail (a fork bomb, a stopped
                # zygote) ends with it, and the next kernel starts in a jail of its own.
                session.drop_zygote()
            self.log.warning("the kernel %s did not answer (%s); starting another",
                             "forked" if forked else "started ahead", exc)
            self.km = self._new_kernel_manager(self.nb)
            await self.async_start_new_kernel()
            client = await super().async_start_new_kernel_client()
        if session is not None:
            session.record(KernelSettings.notebook, self.km)
        return client

    # nbclient's setup_kernel calls the blocking form, bound to its own coroutine.
    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def preprocess_cell(self, cell, resources, index):
        """A test cell is judged outside the kernel (coursekit/autograde/judge.py): the kernel
        only hands over the values the test reads; every other cell runs in the kernel."""
        if not judge.is_test_cell(cell):
            return super().preprocess_cell(cell, resources, index)
        self._check_assign_resources(resources)
        try:
            found = judge.plan(cell.source)
        except SyntaxError as exc:
            cell.outputs = [nbformat_from_dict(judge_error(
                f"the test does not parse ({exc.msg}); report it to the instructor"))]
            return cell, self.resources
        known = known_arrays()
        probe = nbformat_from_dict({"cell_type": "code", "source": judge.fetch_code(
            found.requests, known), "metadata": {}, "outputs": [], "execution_count": None})
        values, problem = None, None
        if found.requests:
            self._probing = True
            try:
                self.execute_cell(probe, index, store_history=False)
            finally:
                self._probing = False
                self.nb.cells[index] = cell
            values, problem = judge.read_values(probe.outputs)
        cell.outputs = [nbformat_from_dict(o) for o in self._judge.judge(cell.source, values,
                                                                         problem, known)]
        cell.execution_count = None
        return cell, self.resources

    def output(self, outs, msg, display_id, cell_index):
        if self._probing:   # the values a test reads: capped by judge.read_values
            return super().output(outs, msg, display_id, cell_index)
        content = msg.get("content", {})
        texts = [content.get("text"), *(content.get("data") or {}).values()]
        self._output_bytes += sum(len(t) for t in texts if isinstance(t, str))
        if self._output_bytes > self.max_output_bytes:
            note = f"[outputs beyond {self.max_output_bytes // 2**20} MB dropped by the grader]\n"
            if not outs or outs[-1].get("text") != note:
                outs.append(nbformat_from_dict({"output_type": "stream", "name": "stderr",
                                                "text": note}))
            return None
        return super().output(outs, msg, display_id, cell_index)


class TruncateOutput(NbGraderPreprocessor):
    """Caps the size of every output, of every kind, and of a notebook's outputs together.

    LimitOutput (nbgrader) caps lines only: one print of 10 MB on one line, a 30 MB image or
    20 MB of HTML would otherwise end up in the graded notebook, the gradebook copy and the
    feedback page. Text (streams, text/*) is cut with a note; an image or any other output
    over its limit is replaced by a short text note; an error stays an error (a test cell's
    score depends on it) with its message and traceback cut. Once the outputs of a notebook
    reach `max_notebook_chars`, the later outputs of cells that are not graded are replaced by
    a note (a stderr stream stays on stderr: nbgrader scores it as a failure). An attachment of
    a markdown cell over the image limit becomes a blank image (a missing one would stop the
    whole page from rendering).
    """

    max_chars = Integer(20000, help="characters per text output (stream, text/*, error) and "
                                    "per output of another kind").tag(config=True)
    # A matplotlib figure of the assignment is 20-200 KB of base64.
    max_image_chars = Integer(2 * 2**20, help="base64 characters per image").tag(config=True)
    max_notebook_chars = Integer(10 * 2**20, help="characters of all the outputs of one "
                                                  "notebook together").tag(config=True)

    def preprocess(self, nb, resources):
        self._used = 0
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        attachments = cell.get("attachments") or {}
        for name in [n for n, a in attachments.items() if _size(a) > self.max_image_chars]:
            attachments[name] = dict(BLANK_IMAGE)
        if cell.cell_type != "code":
            return cell, resources
        graded = cell.metadata.get("nbgrader", {}).get("grade", False)
        outputs = []
        for output in cell.get("outputs", []):
            self._cut(output)
            size = _size(output)
            if not graded and output.get("output_type") != "error" and \
                    self._used + size > self.max_notebook_chars:
                output = _note(f"[output removed: the outputs of this notebook are over the "
                               f"grader's limit of {_mb(self.max_notebook_chars)} together]",
                               output.get("name", "stdout"))
                size = _size(output)
            self._used += size
            outputs.append(output)
        cell.outputs = outputs
        return cell, resources

    def _cut(self, output):
        kind = output.get("output_type")
        if kind == "stream":
            output.text = _cut_text(output.get("text", ""), self.max_chars)
            return
        if kind == "error":
            output.evalue = _cut_text(str(output.get("evalue", "")), self.max_chars)
            output.traceback = _cut_lines(output.get("traceback", []), self.max_chars)
            return
        data = output.get("data", {})
        notes = []
        for key, value in list(data.items()):
            if key.startswith("text/") and isinstance(value, str):
                data[key] = _cut_text(value, self.max_chars)
                continue
            limit = self.max_image_chars if key.startswith("image/") else self.max_chars
            if _size(value) > limit:
                del data[key]
                notes.append(f"[{key} output of {_mb(_size(value))} removed: over the "
                             f"grader's limit of {_mb(limit)} per output]")
        if notes:
            data["text/plain"] = "\n".join([*filter(None, [data.get("text/plain")]), *notes])
        if _size(output.get("metadata", {})) > self.max_chars:
            output.metadata = {}


def _size(value):
    """Characters of an output or of one of its values, as stored in the notebook."""
    import json

    return len(value) if isinstance(value, str) else len(json.dumps(value))


def _mb(chars):
    return f"{chars / 2**20:.1f} MB"


def _cut_text(text, limit):
    text = "".join(text) if isinstance(text, list) else text
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [{len(text) - limit} characters cut by the grader]\n"


def _cut_lines(lines, limit):
    kept, used = [], 0
    for line in lines:
        if used + len(line) > limit:
            return kept + [f"... [traceback cut by the grader: over {limit} characters]"]
        kept.append(line)
        used += len(line)
    return kept


def _note(text, stream="stdout"):
    import nbformat

    return nbformat.v4.new_output("stream", name=stream, text=text + "\n")


class SanitizeOutputs(SanitizeHTML):
    """nbconvert's SanitizeHTML, made to fit the feedback and formgrader pages.

    Outputs and answer cells are the student's: a `<script>` or an `<img onerror=...>` in them
    would run in the browser of whoever opens the page, formgrader included (an instructor's
    Jupyter session, where a script can run code). nbgrader's feedback and formgrade templates
    insert markdown cells without cleaning them and nbconvert inserts some output types as they
    are, so the notebook itself is cleaned:

    - outputs keep only text, LaTeX, JSON, HTML, markdown, PNG and JPEG; JavaScript, SVG,
      widgets, mermaid and the rest are dropped (with a note when nothing is left);
    - HTML goes through bleach with the tags of formatted text, lists, tables and links: no
      `<script>`, no `on*=` handler, no `style`, no URL but http(s) and mailto;
    - a markdown cell or output stays as written when it can only render as such safe HTML;
      otherwise (a raw tag, a `javascript:` link) it becomes its rendering, cleaned (cleaning
      every cell would also escape each `>` and `&`, breaking quotes and code);
    - output metadata keeps only the width and height of an image (`filenames` would make the
      page load any URL, `isolated` would put HTML in an iframe).
    """

    # On unless configured off, as nbgrader's own preprocessors (nbconvert's default is off, and
    # nbgrader registers its preprocessors without enabling them).
    enabled = Bool(True).tag(config=True)
    tags = List(Unicode(), default_value=[
        "a", "abbr", "acronym", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2",
        "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "span", "strong", "sub",
        "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"]).tag(config=True)
    attributes = Any(default_value={
        "a": ["href", "title"], "abbr": ["title"], "acronym": ["title"],
        "td": ["align", "colspan", "rowspan"], "th": ["align", "colspan", "rowspan"],
        "*": ["class"]}).tag(config=True)
    safe_output_keys = Set(default_value={
        "text/plain", "text/latex", "application/json", "image/png", "image/jpeg"}).tag(
        config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            missing = set(_ATTACHMENT.findall(cell.source)) - set(cell.get("attachments") or {})
            if missing:  # nbconvert cannot render a cell whose attachment is missing
                cell.attachments = {**{n: dict(BLANK_IMAGE) for n in missing},
                                    **(cell.get("attachments") or {})}
            cell.source = self.safe_markdown(cell.source, cell.get("attachments"))
        elif cell.cell_type == "raw":
            cell.source = self.sanitize_html_tags(cell.source)
        elif cell.cell_type == "code":
            for output in cell.get("outputs", []):
                self._clean(output)
        return cell, resources

    def _clean(self, output):
        if output.get("output_type") not in ("display_data", "execute_result"):
            return  # streams and errors are shown as escaped text
        data = output.get("data", {})
        removed = sorted(k for k in data
                         if k not in self.safe_output_keys | self.sanitized_output_types)
        for key in removed:
            del data[key]
        if "text/html" in data:
            data["text/html"] = self.sanitize_html_tags(data["text/html"])
        if "text/markdown" in data:
            text = data.pop("text/markdown")
            if _ATTACHMENT.search(text):  # an output has no attachments: it could not render
                data.setdefault("text/plain", text)
            else:
                data["text/markdown"] = self.safe_markdown(text)
        if removed and not data:
            data["text/plain"] = (f"[{', '.join(removed)} output not shown: the grader shows "
                                  "text, HTML and PNG/JPEG images only]")
        output.metadata = {
            mime: {k: v for k, v in (meta or {}).items() if k in ("width", "height")
                   and isinstance(v, int | float) and not isinstance(v, bool)}
            for mime, meta in (output.get("metadata") or {}).items()
            if mime in ("image/png", "image/jpeg") and isinstance(meta, dict)}

    def safe_markdown(self, text, attachments=None):
        """`text` unchanged when it renders to safe HTML only; else its rendering, cleaned."""
        from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

        text = "".join(text) if isinstance(text, list) else text
        renderer = IPythonRenderer(escape=False, attachments=dict(attachments or {}))
        rendered = MarkdownWithMath(renderer=renderer).render(text)
        if not _TAG_START.search(_COMMENT.sub("", text)) and all(
                _safe_url(url) for url in _URL_ATTRIBUTE.findall(rendered)):
            return text
        return self.sanitize_html_tags(rendered)


# What starts raw HTML in markdown (CommonMark): `<tag` or `</tag` followed by a space, `/`,
# `>` or the end, `<!` or `<?`. (`$x<y$` is not a tag.)
_TAG_START = re.compile(r"<(?:/?[A-Za-z][A-Za-z0-9-]*(?=[\s/>]|$)|[!?])")
# A well-formed HTML comment (`<!-- BEGIN SOLUTION -->`): no `--` inside, not `<!-->`, which
# browsers and markdown would end at different places.
_COMMENT = re.compile(r"<!--(?!-?>)(?:(?!--)[\s\S])*-->")
_ATTACHMENT = re.compile(r"attachment:([^\s)\"'>]+)")
# A transparent 1x1 PNG, in place of an attachment that is too large or missing.
BLANK_IMAGE = {"image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAA"
                            "jCB0C8AAAAASUVORK5CYII="}
_URL_ATTRIBUTE = re.compile(r"\b(?:href|src)\s*=\s*[\"']([^\"']*)")
_SAFE_SCHEMES = ("http", "https", "mailto")
# The renderer turns a cell's image attachments into these.
_SAFE_DATA = ("data:image/png;base64,", "data:image/jpeg;base64,", "data:image/gif;base64,")


def _safe_url(url):
    """Whether a URL rendered from markdown is a web or mail link (or relative): browsers
    ignore whitespace and control characters in a scheme (`java\tscript:`)."""
    import html

    plain = re.sub(r"[\x00-\x20]", "", html.unescape(url))
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", plain)
    return scheme is None or scheme.group(1).lower() in _SAFE_SCHEMES or \
        plain.lower().startswith(_SAFE_DATA)


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


def judge_error(message):
    return {"output_type": "error", "ename": "GradingError", "evalue": message,
            "traceback": [f"GradingError: {message}"]}


def nbformat_from_dict(cell):
    import nbformat

    return nbformat.from_dict(cell)


SANITIZE_PREPROCESSORS = [ClearOutput, RobustDeduplicateIds, OverwriteKernelspec,
                          RobustOverwriteCells, CheckCellMetadata]
# Outputs are cut before nbgrader scores them (the gradebook keeps no 10 MB output) and
# cleaned after (cleaning never changes a score).
AUTOGRADE_PREPROCESSORS = [GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                           TruncateOutput, SaveAutoGrades, AssignLatePenalties, SanitizeOutputs,
                           CheckCellMetadata]
# The folder of a staging course directory where nbgrader writes the graded notebooks.
GRADED_DIR = "graded"


class HostSideAutograde(Autograde):
    """nbgrader's Autograde with its host-side file operations safe against what student code
    may leave in the build folder (autograded/<student>/<assignment>, the folder the kernels
    are started in, which the pipeline empties before each notebook):

    - the graded notebook is written into `graded_dir`, a folder no kernel runs in: nbgrader's
      writer opens `<build folder>/<notebook>.ipynb` and would follow a link put there while
      the notebook ran, writing the graded notebook over the master, the gradebook, anything;
    - the first pass's notebook (before its kernel starts) is written without following links;
    - nbgrader's set_permissions is skipped: it chmods every file of the build folder following
      links (making any file the grader can reach read-only); the pipeline publishes a fresh
      copy instead (pipeline.publish_graded).
    """

    graded_dir = Unicode("", help="folder the graded notebooks are written to").tag(config=True)

    def write_single_notebook(self, output, resources):
        build = Path(self._format_dest(resources["nbgrader"]["assignment"],
                                       resources["nbgrader"]["student"]))
        # Autograde reads the first pass's notebook back from the writer's build directory.
        self.writer.build_directory = str(build)
        folder = Path(self.graded_dir) if self.graded_dir and not self._sanitizing else build
        folder.mkdir(parents=True, exist_ok=True)
        name = resources["unique_key"] + resources.get("output_extension", ".ipynb")
        untrusted.write_file(folder / name, output.encode("utf-8"))

    def set_permissions(self, assignment_id, student_id):
        if not self.graded_dir:
            super().set_permissions(assignment_id, student_id)


def autograde_config(course, stage_root):
    """nbgrader_config.py of the course, pointed at this grading process's staging directory."""
    cfg = load_nbgrader_config(course.config_file)
    cfg.CourseDirectory.root = str(stage_root)
    cfg.CourseDirectory.db_url = course.db_url
    # The staging directory has no source/ folder: nothing of the instructor's (master
    # modules included) is copied over the student's files.
    cfg.CourseDirectory.source_directory = "no-source"
    cfg.Autograde.sanitize_preprocessors = SANITIZE_PREPROCESSORS
    cfg.Autograde.autograde_preprocessors = AUTOGRADE_PREPROCESSORS
    cfg.Autograde.create_student = True
    if course.cell_seconds:
        cfg.Execute.timeout = course.cell_seconds
    # nbconvert validates the whole notebook after each of its ~30 preprocessors (0.3 s of CPU
    # a student): once, after the last one, rejects the same notebooks.
    cfg.Exporter.optimistic_validation = True
    # Deleted grade cells go back where the master notebook has them.
    cfg.RobustOverwriteCells.master_dir = str(course.source_dir)
    cfg.HostSideAutograde.graded_dir = str(Path(stage_root) / GRADED_DIR)
    package = course.manifest.package if course.manifest else "cs231n"
    cfg.GuardedExecute.notebook_utils = str(course.root / package / "notebook_utils.py")
    return cfg


def open_stage(course, stage_root, student):
    """Make the staging folder ready for the student's kernels. What a kernel gets is the
    student's own submission, never nbgrader's autograded/ folder, which holds the notebooks
    graded so far with their hidden tests put back. The staging folder is crossable but not
    listable; autograded/ is the grader's alone (the kernel's user could otherwise open it by
    name where there is no jail)."""
    KernelSettings.submitted = str(Path(stage_root) / "submitted" / student / course.assignment)
    os.chmod(stage_root, 0o711)
    for private in ("autograded", GRADED_DIR):  # graded notebooks: hidden tests put back
        (Path(stage_root) / private).mkdir(mode=0o700, exist_ok=True)
        os.chmod(Path(stage_root) / private, 0o700)


def autograde_notebook(course, stage_root, student, notebook, guard_log):
    """nbgrader autograde of one notebook of one student. Returns a status dict."""
    KernelSettings.guard = guard_settings(course, stage_root, guard_log)
    open_stage(course, stage_root, student)
    cfg = autograde_config(course, stage_root)
    coursedir = CourseDirectory(config=cfg)
    coursedir.assignment_id = course.assignment
    coursedir.student_id = student
    coursedir.notebook_id = notebook
    app = HostSideAutograde(coursedir=coursedir, config=cfg)
    app.force = True
    start = time.monotonic()
    from coursekit.autograde import interrupts

    interrupts.checkpoint()     # a stop whose KeyboardInterrupt was lost before this notebook
    _INTERRUPTS.clear()
    KernelSettings.notebook = notebook
    result = capture_log(app)
    if _INTERRUPTS:
        raise KeyboardInterrupt("grading interrupted")
    out = {"success": bool(result["success"]), "seconds": round(time.monotonic() - start, 2)}
    if notebook in KernelSettings.timed_out:
        out["success"] = False
        out["error"] = (f"the notebook ran longer than the grader's time limit "
                        f"({KernelSettings.notebook_seconds} s for a notebook, "
                        f"{course.submission_seconds} s for the whole submission)")
    elif not result["success"]:
        out["error"] = summarize_failure(result.get("error", ""), result.get("log", ""))
    return out


# The folder of the notebooks' prepared grading subsets (coursekit/autograde/grading_cache.py),
# read by the given cs231n/data_utils.py in the kernel.
GRADING_CACHE_ENV = "CS231N_GRADING_CACHE"


def grading_subsets(data_dir):
    """The notebooks' grading-subset folder of the dataset in data_dir, prepared when missing
    (module_checks.prepare_shared_data does it once before a batch); None when it cannot be:
    the notebooks then load the whole dataset."""
    from coursekit.autograde import grading_cache

    if not Path(data_dir, "test_batch").is_file():
        return None  # grading_run refuses such a folder before grading; nothing to prepare
    folder = grading_cache.prepare_notebook_data(data_dir, log=lambda message: None)
    if folder and jail.mode() == "uid" and not _open_to_all(folder):
        # Without bwrap the kernel's own user sees the host's folders as they are (on
        # Gradescope the course's .cache/ is 0700): it would only meet an unreadable cache.
        return None
    return folder


def _open_to_all(folder):
    """Whether any user may read `folder` (and cross every folder above it)."""
    import stat

    path = Path(folder).resolve()
    needed = [(p, stat.S_IXOTH) for p in path.parents] + [(path, stat.S_IXOTH | stat.S_IROTH)]
    return all(p.stat().st_mode & bits == bits for p, bits in needed)


_KNOWN = {}


def known_arrays():
    """{name: path} of the prepared grading subset the kernels read (their
    $CS231N_GRADING_CACHE): a test's large values that are a run of one of them cross to the
    judge by name (judge.fetch_code); {} when the kernels have no prepared subset."""
    cache = KernelSettings.env.get(GRADING_CACHE_ENV)
    data_dir = KernelSettings.env.get("CS231N_CIFAR10_DIR")
    if not cache or not data_dir:
        return {}
    if (cache, data_dir) not in _KNOWN:
        from coursekit.autograde import grading_cache

        du = grading_cache.data_utils()
        try:
            folder = Path(du.subset_dir(data_dir, cache))
        except OSError:
            return {}
        names = [*du.SUBSET_ARRAYS, *du.GRADING_FEATURES]
        _KNOWN[(cache, data_dir)] = {name: str(folder / f"{name}.npy") for name in names
                                     if (folder / f"{name}.npy").is_file()}
    return _KNOWN[(cache, data_dir)]


def grading_data_dir(course):
    """The CIFAR-10 folder the notebooks read in grading mode: the course's kernel_env, else
    the grader's own $CS231N_CIFAR10_DIR; None when neither says."""
    return course.kernel_env.get("CS231N_CIFAR10_DIR") or os.environ.get("CS231N_CIFAR10_DIR")


def guard_settings(course, stage_root, guard_log):
    deny = [str(course.root), str(course.output_root), str(stage_root), *course.private_paths]
    if course.sqlite_path is not None:
        deny.append(str(course.sqlite_path))
    scratch = Path(KernelSettings.scratch or tempfile.gettempdir())
    import coursekit

    # The course tooling is not secret (reference values live in grading/hidden/); tracebacks
    # and autoreload read its sources.
    allow_read = [str(scratch / "mpl"), str(Path(coursekit.__file__).parent)]
    data_dir = grading_data_dir(course)
    if data_dir:
        allow_read.append(data_dir)
    if KernelSettings.env.get(GRADING_CACHE_ENV):
        allow_read.append(KernelSettings.env[GRADING_CACHE_ENV])
    # The kernel writes its log from inside the jail: the file exists before it starts.
    Path(guard_log).touch()
    return {"deny_read": deny, "allow_read": allow_read, "allow_write": [str(scratch / "mpl")],
            "log": str(guard_log)}


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
