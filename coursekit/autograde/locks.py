"""Advisory file locks (fcntl.flock) that keep grading runs from destroying each other's work.

Two gradings into one output root removed each other's staging folders (an honest student got
50/214, and the rerun then skipped them as done), and the same student graded twice at once
ended at neither score (issue 11). So:

- `output_root_lock(course)`: `autograded/.lock`, held by a whole batch (`batch.grade_all`) and by
  an export (`report.export`, `make grades`). A second run into the same output root prints who
  holds it and waits for it to finish; with `wait=False` (`--no-wait`) it refuses at once
  (LockBusy). Re-entrant within one process (a batch ends with an export).
- `student_lock(course, student)`: held while one student is graded (`pipeline.grade_submission`),
  in `GradingRun.student_lock_dir` (next to a SQLite gradebook, which runs into different output
  roots share), so the same student is never graded twice at once: not by two workers of one
  `-j N` batch, not by two runs. A second grading of that student waits for the first.
- `gradebook_lock(course, shared)`: `GradingRun.gradebook_lock_path`, next to a SQLite gradebook.
  Rebuilding the assignment in the gradebook (`pipeline.prepare`) takes it exclusively;
  grading a student and an export's refresh take it shared. Two runs into different output
  roots rebuilt it at once (nbgrader failed on rows the other run had deleted), or under a
  grading that was reading it.

flock locks belong to the open file and the kernel drops them when the process ends, however
it ends: a lock file left behind by a crashed run never blocks anyone. A lock file is removed
by its last holder, under an exclusive lock (a waiter that then holds a removed file opens the
path again), so a run leaves none behind. The holder of an exclusive lock writes its pid and
command into the file for the messages.
"""
import fcntl
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path


class LockBusy(RuntimeError):
    """Another run holds a lock this run was told not to wait for (the message says which)."""


# Locks this process holds: path -> [fd, depth]. A nested request re-enters the lock instead
# of blocking on itself (flock locks of two open files conflict even in one process).
_HELD = {}


def _same_file(fd, path):
    try:
        a, b = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _open_locked(path, wait, shared=False):
    """An fd of `path` holding its lock (exclusive, or `shared`), or None when it is busy and
    not `wait`."""
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except FileNotFoundError:
            continue        # the folder was removed between mkdir and open: make it again
        try:
            fcntl.flock(fd, mode | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            return fd
        # The previous holder removed the file while we waited: our lock guards nothing.
        os.close(fd)


def _command():
    argv = list(sys.argv) or ["python"]
    prog = "coursekit" if "coursekit" in argv[0] else os.path.basename(argv[0])
    command = " ".join([prog, *argv[1:]])
    return command if len(command) <= 100 else command[:99] + "…"


def _write_holder(fd):
    text = f"pid {os.getpid()}, `{_command()}`, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)


def holder_of(path):
    """Who holds the lock at `path`, as written by the holder ("" if unknown)."""
    try:
        return Path(path).read_text(errors="replace").strip()
    except OSError:
        return ""


def _release(fd, path, shared, remove_parent):
    # The file goes while we hold it exclusively (whoever opens the path next gets a fresh
    # one). A shared holder removes it only when it can get it exclusively: it is the last.
    exclusive = not shared
    if shared:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            exclusive = _same_file(fd, path)
        except BlockingIOError:
            pass
    if exclusive:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    os.close(fd)
    if remove_parent:
        try:
            path.parent.rmdir()
        except OSError:
            pass            # another lock is in there (or being made): it removes it


@contextmanager
def file_lock(path, *, wait=True, busy_message=None, log=print, shared=False,
              remove_parent=False):
    """Hold the lock of `path` (exclusive, or `shared`) for the `with` block.

    When another process holds it: `busy_message(holder)` says so, then `wait` blocks until it
    is free (logging the message first) or raises LockBusy with it. Ctrl-C stops the wait.
    A lock this process holds already is entered again, not taken a second time.
    """
    path = Path(path)
    held = _HELD.get(path)
    if held is not None:
        held[1] += 1
        try:
            yield path
        finally:
            held[1] -= 1
        return
    fd = _open_locked(path, wait=False, shared=shared)
    if fd is None:
        holder = holder_of(path) or "a run that did not say who it is"
        message = busy_message(holder) if busy_message else f"{path} is locked by {holder}"
        if not wait:
            raise LockBusy(message)
        log(message)
        fd = _open_locked(path, wait=True, shared=shared)
    if not shared:
        _write_holder(fd)
    _HELD[path] = [fd, 1]
    try:
        yield path
    finally:
        del _HELD[path]
        _release(fd, path, shared, remove_parent)


def output_root_lock(course, wait=True, log=print):
    """One batch or export per output root at a time (a context manager)."""
    where = course.autograded_dir

    def busy(holder):
        if wait:
            return (f"coursekit autograde: {where} is in use by another grading run ({holder}); "
                    "waiting for it to finish (Ctrl-C stops waiting; --no-wait refuses instead)")
        return (f"coursekit autograde: {where} is in use by another grading run ({holder}); "
                "not waiting (--no-wait): run again when it has finished, or grade into "
                "another output root (--output-root, OUTPUT_ROOT=dir)")

    return file_lock(course.lock_path, wait=wait, busy_message=busy, log=log)


def student_lock(course, student, log=print):
    """One grading of `student` at a time, across workers and runs (a context manager)."""
    def busy(holder):
        return (f"coursekit autograde: {student} is being graded by another run ({holder}); "
                "waiting for it to finish before grading them again")

    def log_now(message):
        log(message)
        sys.stdout.flush()

    return file_lock(course.student_lock_dir / f"{student}.lock", busy_message=busy,
                     log=log_now, remove_parent=True)


def gradebook_lock(course, shared, log=print):
    """The gradebook's assignment rebuilt by one run at a time (exclusive, `pipeline.prepare`),
    never under a grading or an export reading it (shared) (a context manager)."""
    where = course.sqlite_path or "database"

    def busy(holder):
        if shared:
            return (f"coursekit autograde: another grading run is rebuilding the assignment in "
                    f"the gradebook {where} (runs into other output roots share it); waiting "
                    "for it to finish")
        return (f"coursekit autograde: another grading run is using the gradebook {where} "
                "(runs into other output roots share it); waiting for it before rebuilding "
                "the assignment there")

    return file_lock(course.gradebook_lock_path, shared=shared, busy_message=busy, log=log)
