"""Runs inside every grading kernel, before the first cell: fences the student's code in.

nbgrader executes the student's notebook with the hidden tests put back, in a kernel that
could otherwise read those tests from the notebook file next to it, read the gradebook
or the master solutions, write anywhere, or replace numpy functions the tests rely on.
`install()` adds a Python audit hook (it cannot be removed once added) that refuses:

- reading notebooks (*.ipynb), the course directory, the staging area of other students
  and the private paths it is given, except the kernel's own folder and the Python
  installation;
- writing anywhere but the kernel's own folder and its private temporary folder;
- starting processes, loading C libraries through ctypes, opening SQLite databases,
  importing database drivers (a PostgreSQL gradebook holds the hidden tests too);
- reading other processes' /proc environment, arguments, memory and files (the grading
  run's environment holds its secrets);

and, after every cell, puts back numpy/builtins functions the cell replaced. Every refusal
and every repair is written as one line to a log the grading run reads afterwards; every
checked cell writes an "ok" line, so a student who disables the checks is noticed too.
The settings arrive as JSON in the environment variable COURSEKIT_GUARD.
This is a fence against accidents and casual cheating, not a security boundary.
"""
import builtins
import json
import os
import sys

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_PROCESS_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                   "os.fork", "os.forkpty", "pty.spawn", "ctypes.dlopen", "sqlite3.connect")
_WRITE_EVENTS = {"os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1),
                 "os.replace": (0, 1), "os.truncate": (0,), "os.chmod": (0,), "os.chown": (0,),
                 "os.symlink": (1,), "os.link": (1,), "os.utime": (0,), "shutil.rmtree": (0,),
                 "shutil.copyfile": (1,), "shutil.move": (0, 1)}
_LIST_EVENTS = ("os.listdir", "os.scandir", "glob.glob")
# Files of /proc/<pid>/ that give away another process's secrets (environment, arguments,
# memory, open files); /proc/<pid>/stat and the like stay readable (ipykernel's shutdown
# lists child processes through them).
_PROC_SECRETS = frozenset({"environ", "cmdline", "mem", "maps", "smaps", "map_files", "fd",
                           "fdinfo", "cwd", "root", "exe", "auxv", "pagemap"})
# Top-level packages a grading kernel may not import: database drivers and toolkits.
_DENIED_IMPORTS = frozenset({"psycopg", "psycopg2", "psycopg_binary", "pg8000", "asyncpg",
                             "sqlalchemy", "pymysql", "MySQLdb"})
_GUARDED_BUILTINS = ("abs", "all", "any", "float", "int", "isinstance", "len", "max", "min",
                     "round", "sum", "print", "open", "__import__")


def _under(path, roots):
    return any(path == r or path.startswith(r + os.sep) for r in roots)


def install():
    settings = json.loads(os.environ.pop("COURSEKIT_GUARD", "{}") or "{}")
    home = os.path.realpath(os.getcwd())
    allow_write = tuple(os.path.realpath(p) for p in [home] + settings.get("allow_write", []))
    allow_read = allow_write + tuple(
        os.path.realpath(p) for p in
        {sys.prefix, sys.base_prefix, sys.exec_prefix, *settings.get("allow_read", [])})
    deny_read = tuple(os.path.realpath(p) for p in settings.get("deny_read", []))
    log_fd = os.open(settings["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) \
        if settings.get("log") else None

    def log(line):
        if log_fd is not None:
            os.write(log_fd, (line.replace("\n", " ") + "\n").encode("utf-8", "replace"))

    def refuse(what):
        log("blocked " + what)
        raise PermissionError(f"blocked by the autograder: {what}")

    def resolve(path):
        if isinstance(path, int):
            return None
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        return os.path.realpath(os.path.join(home, os.fspath(path)))

    own_proc = f"/proc/{os.getpid()}"

    def check_read(path, what):
        real = resolve(path)
        if real is None:
            return
        if real.endswith(".ipynb"):
            refuse(f"{what} of a notebook file ({path})")
        parts = real.split(os.sep)
        if len(parts) > 3 and parts[1] == "proc" and parts[2].isdigit() and not _under(
                real, (own_proc,)):
            # /proc/<pid>/task/<tid>/<file> is the same file as /proc/<pid>/<file>
            leaf = parts[5] if parts[3] == "task" and len(parts) > 5 else parts[3]
            if leaf in _PROC_SECRETS:
                refuse(f"{what} of another process's {leaf} ({path})")
        if _under(real, allow_read):
            return
        if _under(real, deny_read):
            refuse(f"{what} outside the submission ({path})")

    def check_write(path, what):
        real = resolve(path)
        if real is None or real == os.devnull:
            return
        if _under(real, allow_write) and not _under(real, deny_read):
            return
        refuse(f"{what} outside the submission folder ({path})")

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            writing = (mode is not None and any(c in mode for c in "wax+")) or (
                mode is None and flags is not None and flags & _WRITE_FLAGS)
            if writing:
                check_write(path, "writing")
            else:
                check_read(path, "reading")
        elif event in _WRITE_EVENTS:
            for i in _WRITE_EVENTS[event]:
                if i < len(args) and args[i] is not None:
                    check_write(args[i], event)
        elif event in _LIST_EVENTS:
            if args and args[0] is not None:
                check_read(args[0], "listing")
        elif event == "import" and args and isinstance(args[0], str) and \
                args[0].split(".", 1)[0] in _DENIED_IMPORTS:
            refuse(f"import of {args[0]} (the grading kernel may not open databases)")
        elif event.startswith(_PROCESS_EVENTS):
            refuse(f"{event} from {_caller()} (the grading kernel may not start programs or "
                   "load libraries)")

    snapshot = _snapshot()
    sys.addaudithook(hook)
    _register_cell_check(snapshot, log)


def _caller():
    """'file:line' of the innermost frame that is not the audit machinery."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename in (__file__, "<frozen os>") or (
            frame is not None and "subprocess" in frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return "?"
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def _snapshot():
    """(owner, name, object) of every public function the tests rely on."""
    import numpy
    import numpy.linalg
    import numpy.random
    import numpy.testing

    entries = []
    for owner in (numpy, numpy.linalg, numpy.random, numpy.testing):
        for name in dir(owner):
            if not name.startswith("_"):
                value = getattr(owner, name)
                if callable(value):
                    entries.append((owner, name, value))
    entries += [(builtins, name, getattr(builtins, name)) for name in _GUARDED_BUILTINS]
    return entries, dict(sys.modules)


def _register_cell_check(snapshot, log):
    from IPython import get_ipython

    entries, modules = snapshot
    watched_modules = {name: modules[name] for name in
                       ("numpy", "numpy.linalg", "numpy.random", "numpy.testing", "builtins")}

    def check(result):
        if not result.info.store_history:
            return
        cell = result.execution_count
        for name, module in watched_modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
                log(f"repaired cell {cell}: sys.modules['{name}'] was replaced")
        for owner, name, value in entries:
            if getattr(owner, name, None) is not value:
                setattr(owner, name, value)
                log(f"repaired cell {cell}: {owner.__name__}.{name} was replaced")
        log(f"ok cell {cell}")

    shell = get_ipython()
    if shell is not None:  # None outside a kernel (the guard's own tests)
        shell.events.register("post_run_cell", check)
