"""Ctrl-C and SIGTERM during grading: stop the queue promptly, clean up, keep what is done.

Each process has one of three roles:

- "batch", the main process of `batch.grade_all` (`batch_signals()`): SIGINT and SIGTERM raise
  KeyboardInterrupt there, which stops the queue: no new student starts, the students being
  graded are interrupted (their workers are signalled), and grades.csv and the summary are
  still written for the students already graded. Inside `shielded()` (that last export) a
  signal only warns; a second one gives the export up.
- "worker", a process of a `-j N` batch's pool (`install_worker()`): SIGINT interrupts the
  student being graded, once (the clean-up that follows is not interrupted again), and is
  ignored between students: the batch decides what happens next. SIGTERM keeps its default
  action, since it is how the process pool stops a worker for good (the batch sweeps what a
  killed worker leaves, see scratch.py).
- "default", any other grading process (a `pipeline.grade_submission` call from Python, the
  benchmark; `install_default()`): SIGINT and SIGTERM raise KeyboardInterrupt, so `finally`
  blocks and atexit handlers clean up, where SIGTERM would otherwise end the process at once.

Every signal is also recorded, because a KeyboardInterrupt can be lost: nbgrader's capture_log
swallows it (the notebook would count as failed and grading would go on: `nbgrade.
autograde_notebook` looks at the record and raises it again), and Python drops one raised
inside a weakref callback or `__del__` ("Exception ignored in ..."). `checkpoint()`, called
before each student and each notebook, raises it again, so a stop is late at worst, never lost;
and the grading kernels of the process are killed at once (`nbgrade.kill_live_kernels`), so a
lost KeyboardInterrupt never waits for a student's long cell to end.
"""
import os
import signal
import sys
import threading
from contextlib import contextmanager

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _State:
    role = None
    busy = False        # a student is being graded in this process
    raised = False      # worker: the KeyboardInterrupt of this student was raised already
    shield = None       # the warning of `shielded()`, while it is active
    warned = False
    received = []       # signal numbers, in order


def _record(signum):
    _State.received.append(signum)
    _quiet_the_aftermath()
    nbgrade = sys.modules.get("coursekit.autograde.nbgrade")
    if nbgrade is not None:
        nbgrade._INTERRUPTS.append(signum)
        if not _State.shield:
            nbgrade.kill_live_kernels()     # whatever becomes of the KeyboardInterrupt


# Libraries that log a stop's aftermath as an error with a traceback: nbclient's abandoned cell
# tasks ("Task exception was never retrieved", asyncio) and a gradebook connection the interrupt
# hit while it closed ("Exception closing connection", SQLAlchemy's pool). The batch says what
# happened in one line of its own; these would only read as a crash.
_AFTERMATH_LOGGERS = ("asyncio", "sqlalchemy.pool")


def _quiet_the_aftermath():
    import logging

    for name in _AFTERMATH_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _handler(signum, frame):
    _record(signum)
    if _State.role == "worker":
        if _State.busy and not _State.raised:
            _State.raised = True
            raise KeyboardInterrupt
        return
    if _State.shield and not _State.warned:
        _State.warned = True
        os.write(2, (_State.shield + "\n").encode())
        return
    raise KeyboardInterrupt


def _main_thread():
    return threading.current_thread() is threading.main_thread()


def received():
    """The signals this process received (in its current role)."""
    return list(_State.received)


def install_default():
    """SIGINT and SIGTERM raise KeyboardInterrupt (recorded), unless a role is set already."""
    if _State.role is None and _main_thread():
        _State.role = "default"
        for signum in _SIGNALS:
            signal.signal(signum, _handler)


def install_worker():
    """This process is a worker of a batch's process pool (for its whole life)."""
    if not _main_thread():
        return
    _State.role = "worker"
    _State.received = []
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def batch_signals():
    """For the block, this process is the main process of a batch; then back as it was."""
    if not _main_thread():
        yield
        return
    saved = {s: signal.getsignal(s) for s in _SIGNALS}
    saved_state = (_State.role, _State.received, _State.shield, _State.warned)
    _State.role, _State.received, _State.shield, _State.warned = "batch", [], None, False
    for signum in _SIGNALS:
        signal.signal(signum, _handler)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        _State.role, _State.received, _State.shield, _State.warned = saved_state


def checkpoint():
    """Raise KeyboardInterrupt when a stop was asked for (a signal received) and not acted on."""
    if _State.received:
        raise KeyboardInterrupt("grading stopped by a signal")


@contextmanager
def grading():
    """A student is being graded: a worker's SIGINT interrupts it (once)."""
    if _State.role in (None, "default"):
        _State.received = []        # a Ctrl-C an earlier call acted on is not a new stop
    checkpoint()
    _State.busy, _State.raised = True, False
    try:
        yield
    finally:
        _State.busy = False


@contextmanager
def shielded(warning):
    """Finish the block despite one Ctrl-C (which prints `warning`); a second one stops it."""
    previous = _State.shield
    _State.shield, _State.warned = warning, False
    try:
        yield
    finally:
        _State.shield = previous
