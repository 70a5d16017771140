"""Tasks the grading pool's own tests (test_pool_exit.py) swap in for `batch._pool_task`; they
run in the pool's spawned workers, which import them from here."""
import atexit
import os
import time
from pathlib import Path

_EXIT = []


def sleepy_task(student, folder):
    """A student's outcome after `folder/seconds` seconds. The worker, at its exit, sleeps
    `folder/../exit_seconds` seconds, then writes `folder/../exited-<pid>`."""
    folder = Path(folder)
    if not _EXIT:
        _EXIT.append(True)
        atexit.register(_exit_slowly, folder.parent)
    seconds = float((folder / "seconds").read_text())
    time.sleep(seconds)
    return student, 1.0, 1.0, None, seconds


def _exit_slowly(root):
    time.sleep(float((root / "exit_seconds").read_text()))
    (root / f"exited-{os.getpid()}").write_text("")
