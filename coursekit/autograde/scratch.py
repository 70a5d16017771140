"""Temporary folders of grading: removed at exit, after an exception, Ctrl-C or SIGTERM, and
swept when a dead run left them behind.

Grading used to leave a `ck-autograde-*` folder in the system temp folder per grading process
and run (62 of them, 0.5 GB, on one machine; issue 11). Now:

- Every grading process (each worker of a batch, or the one process of a serial run) makes one
  folder `ck-autograde-<pid>-<random>` (`make_folder`, from `nbgrade.prepare_scratch`): kernel
  sockets, the matplotlib cache, and `py/`, where Python's `tempfile` puts every other
  temporary folder that process makes while grading (`redirect_tempfile`: the module grader's
  `ckgrade-*` and `ck-grade-*` stages, fingerprints, ...). Removing that one folder removes
  them all; it happens when the grading is over (`remove_folder`), and at interpreter exit for
  whatever is left (atexit; `interrupts` turns Ctrl-C and SIGTERM into a normal exit).
- Each folder holds `owner.lock`, flocked by its process for as long as it lives. The kernel
  drops the lock when the process dies, even by SIGKILL, so `sweep_stale` (run by every batch at
  its start and end) can tell a dead run's folder from a live one: it removes this user's
  `ck-<kind>-<pid>-*` folders whose lock is free, and those without a lock (from older versions,
  or a run killed between making the folder and locking it) whose pid is gone.
- Per-student staging in the output root (`autograded/.staging`, and the `.<name>.old-<pid>-*`
  folders a swap leaves when killed mid-way) is swept by `sweep_output_root`, which the batch
  runs while it holds the output root's lock: no other run can be using them then.
"""
import atexit
import fcntl
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

OWNER_LOCK = "owner.lock"
# ck-autograde-<pid>-..., ck-fp-<pid>-..., ck-grade-<pid>-...: the pid of the owner.
STALE_NAME = re.compile(r"^ck-[a-z]+-(\d+)-")

_OWNED = {}            # folder -> fd of its flocked owner.lock
_SYSTEM_TMP = []       # the system temp folder, remembered while tempfile is redirected
_ATEXIT = []


def system_tempdir():
    """The system temp folder, also while `redirect_tempfile` points tempfile elsewhere."""
    return _SYSTEM_TMP[0] if _SYSTEM_TMP else tempfile.gettempdir()


def pid_prefix(kind):
    """Prefix of a temporary folder whose owner `sweep_stale` can recognise."""
    return f"ck-{kind}-{os.getpid()}-"


def make_folder(kind="autograde", parent=None):
    """A new folder `ck-<kind>-<pid>-<random>` owned by this process: locked for its lifetime,
    removed by `remove_folder` or at exit."""
    folder = Path(tempfile.mkdtemp(prefix=pid_prefix(kind), dir=parent or system_tempdir()))
    fd = os.open(folder / OWNER_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    _OWNED[folder] = fd
    if not _ATEXIT:
        atexit.register(remove_all)
        _ATEXIT.append(True)
    return folder


def remove_folder(folder):
    """Remove a folder of `make_folder` (or any folder) with everything in it."""
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    fd = _OWNED.pop(folder, None)
    if fd is not None:
        os.close(fd)


def remove_all():
    """Remove every folder this process still owns (atexit)."""
    for folder in list(_OWNED):
        remove_folder(folder)


def owned():
    return list(_OWNED)


def _owner_alive(folder, pid):
    lock = folder / OWNER_LOCK
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return _pid_alive(pid)
    except OSError:
        return True         # cannot tell: keep it
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(parent=None):
    """Remove the scratch folders of this user's dead grading processes; returns them."""
    parent = Path(parent or system_tempdir())
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        match = STALE_NAME.match(entry.name)
        if not match or Path(entry.path) in _OWNED:
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or \
                    entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
        except OSError:
            continue
        folder = Path(entry.path)
        if not _owner_alive(folder, int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def sweep_output_root(course):
    """Remove what dead runs left in the output root: the staging folder and the
    `.<name>.old-<pid>-*` folders of an interrupted swap. Call it holding the output root's
    lock (locks.output_root_lock)."""
    shutil.rmtree(course.staging_dir, ignore_errors=True)
    for base in (course.autograded_dir, course.feedback_dir):
        for old in base.glob("*/.*.old-*"):
            pid = re.search(r"\.old-(\d+)-", old.name)
            if old.is_dir() and not old.is_symlink() and not (pid and _pid_alive(int(pid[1]))):
                shutil.rmtree(old, ignore_errors=True)


def _point_tempfile_at(folder):
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Search-only for others: the graders' jails of the uid fallback run as another user and
    # reach their own (0700, chowned) folders made in here; nobody can list it.
    folder.chmod(0o711)
    tempfile.tempdir = str(folder)
    os.environ["TMPDIR"] = str(folder)


@contextmanager
def redirect_tempfile(folder):
    """Python's temporary files and folders go under `folder` inside the block (and the
    TMPDIR of programs started from it), so they go when `folder` goes."""
    saved = (tempfile.tempdir, os.environ.get("TMPDIR"))
    _SYSTEM_TMP.insert(0, system_tempdir())
    _point_tempfile_at(folder)
    try:
        yield Path(folder)
    finally:
        _SYSTEM_TMP.pop(0)
        tempfile.tempdir = saved[0]
        if saved[1] is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved[1]


def redirect_tempfile_for_good(folder):
    """`redirect_tempfile` for the rest of this process (a batch's worker process)."""
    _SYSTEM_TMP.insert(0, system_tempdir())
    _point_tempfile_at(folder)
