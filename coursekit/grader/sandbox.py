"""The sandbox of the module checks: a worker process that runs a submission's code.

Student code never runs in the grader's process. `Sandbox` copies the submission's `cs231n/`
(regular files only: a symlink could point at the master or at the references) into a private
temporary folder and starts `worker.py` in a fresh interpreter (`python -I`) inside the jail of
coursekit/jail.py: a bubblewrap jail with no network, its own PID namespace (nothing outlives
the worker), a read-only system and interpreter, the submission copy read-only, a small private
/tmp as the only writable place, and nothing of the course (master package, grading/ and its
reference values, tests, .git). When the grader is root the worker runs as a user id of its own
without capabilities; limits on memory, CPU time, file size (stdout/stderr go to a file, so this
also stops an output flood) and processes hold inside. Where bwrap cannot run, jail.py's
fallback (a user switch and the limits, or the limits alone) is used and the notes say so.

Each request has a wall-clock timeout enforced here. A worker that hangs, dies or answers with
something unreadable is killed and restarted for the next request.
"""

import os
import random
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from coursekit import jail
from coursekit.grader import worker as wire

WORKER_SOURCE = Path(wire.__file__)

# Skipped when copying a submission: data and caches, never code the grader needs.
SKIP_DIRS = {"datasets", "__pycache__", ".ipynb_checkpoints", ".git"}
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_FILES = 5000


@dataclass
class Limits(jail.Limits):
    """The worker's limits: the jail's, with the output of one request capped."""

    output_bytes: int = 4 * 1024 * 1024  # stdout + stderr of one request
    processes: int = 1  # its own user's tasks: the worker only, no fork, no thread
    tmp_mb: int = 64


@dataclass
class Reply:
    """What came back for one request. status: ok, error, timeout, crashed, flood, junk."""

    status: str
    value: object = None
    error: dict = field(default_factory=dict)
    message: str = ""
    seconds: float = 0.0
    handle: object = None
    extra: dict = field(default_factory=dict)

    @property
    def ok(self):
        return self.status == "ok"


def copy_submission(src_pkg, dest_pkg):
    """Copy the regular files of a `cs231n/` folder as untrusted data (coursekit.untrusted: no
    link followed, real sizes, bounded); returns notes on what was left out."""
    from coursekit import untrusted

    src_pkg = Path(src_pkg)
    if src_pkg.is_symlink() or not src_pkg.is_dir():
        raise FileNotFoundError(f"{src_pkg} is not a folder (a symlink is not accepted)")
    limits = untrusted.Limits(max_entries=MAX_FILES, max_file_bytes=MAX_FILE_BYTES,
                              max_total_bytes=MAX_TOTAL_BYTES)
    copier = untrusted.Copier(src_pkg.parent, limits)
    return copier.copy_tree(src_pkg.name, Path(dest_pkg), skip_dirs=SKIP_DIRS)


def _open_to_all(folder):
    """Readable by the submission's own user (the copy belongs to the grader)."""
    for dirpath, _, filenames in os.walk(folder):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)


def read_sources(pkg_dir):
    """The text of every .py file of a package copy, keyed by path relative to it."""
    sources = {}
    for path in Path(pkg_dir).rglob("*.py"):
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        sources[path.relative_to(pkg_dir).as_posix()] = path.read_text(errors="replace")
    return sources


class Sandbox:
    """One submission's worker. Use as a context manager; `request()` sends one request."""

    def __init__(self, submission_pkg, limits=None, isolation="auto"):
        self.limits = limits or Limits()
        self.notes = []
        # 0711: the submission's own user (the uid fallback) may cross it, not list it.
        self.stage = tempfile.mkdtemp(prefix="ckgrade-")
        os.chmod(self.stage, 0o711)
        self.copy_notes = copy_submission(submission_pkg, Path(self.stage, "sub", "cs231n"))
        # Read before the worker starts: the submission's code may rewrite its own files.
        self.sources = read_sources(Path(self.stage, "sub", "cs231n"))
        grader = Path(self.stage, "grader")
        grader.mkdir(mode=0o755)
        self.worker_path = grader / "worker.py"
        shutil.copyfile(WORKER_SOURCE, self.worker_path)
        os.chmod(self.worker_path, 0o644)
        _open_to_all(Path(self.stage, "sub"))
        self.log_path = os.path.join(self.stage, "output.log")
        self.proc = None
        self.restarts = 0
        self.isolation = jail.mode() if isolation == "auto" else isolation
        if self.isolation not in ("bwrap", "uid", "none"):
            raise ValueError(f"isolation {isolation!r}: use auto, bwrap, uid or none")
        root = os.geteuid() == 0
        self.uid = jail.new_uid() if root and self.isolation != "none" else None
        self.cwd = os.path.join(self.stage, "sub")
        # Inside the jail the copy is /submission and the worker /grader/worker.py; without
        # the jail the host paths.
        self.inside_cwd = "/submission" if self.isolation == "bwrap" else self.cwd
        self.inside_worker = ("/grader/worker.py" if self.isolation == "bwrap"
                              else str(self.worker_path))
        self.jail = jail.Jail(uid=self.uid, readonly=[(self.cwd, "/submission"),
                                                      (str(grader), "/grader")],
                              limits=self.limits, kind=self.isolation,
                              env={**jail.blas_threads(1), "PYTHONHASHSEED": "0",
                                   "PYTHONDONTWRITEBYTECODE": "1"})
        self.notes.append(jail.notes(self.isolation))

    # -- process management

    def start(self):
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
        argv = [sys.executable, "-I", self.inside_worker, str(req_r), str(resp_w)]
        try:
            self.proc = subprocess.Popen(
                self.jail.command(argv, self.inside_cwd), stdin=subprocess.DEVNULL, stdout=log,
                stderr=log, pass_fds=(req_r, resp_w), cwd=self.cwd,
                env=self.jail.environment(), preexec_fn=self.jail.preexec,
                start_new_session=True)
        finally:
            os.close(req_r)
            os.close(resp_w)
            os.close(log)
        self.req_w, self.resp_r = req_w, resp_r
        os.set_blocking(self.req_w, False)

    def kill(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self._kill_strays()
        for fd in (self.req_w, self.resp_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.proc = None

    def _kill_strays(self):
        """Processes of this sandbox's own user id that left the process group (the uid
        fallback; in the jail its PID namespace ends with the worker)."""
        if self.uid is not None and self.isolation != "bwrap":
            jail.kill_user_processes(self.uid)

    def close(self):
        self.kill()
        shutil.rmtree(self.stage, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- requests

    def _write(self, data, deadline):
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            _, writable, _ = select.select([], [self.req_w], [], remaining)
            if not writable:
                raise TimeoutError
            try:
                n = os.write(self.req_w, view[: 1 << 16])
            except BlockingIOError:
                continue
            view = view[n:]

    def _read_exact(self, n, deadline):
        chunks = []
        while n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            readable, _, _ = select.select([self.resp_r], [], [], remaining)
            if not readable:
                raise TimeoutError
            chunk = os.read(self.resp_r, min(n, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _read_message(self, deadline):
        (length,) = struct.unpack("<Q", self._read_exact(8, deadline))
        if length > wire.MAX_MESSAGE:
            raise wire.WireError("reply too large")
        return wire.decode(self._read_exact(length, deadline))

    def output_tail(self, lines=15):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - 4000))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _flooded(self):
        try:
            return os.path.getsize(self.log_path) >= self.limits.output_bytes
        except OSError:
            return False

    def _death(self):
        self.proc.wait()
        code = self.proc.returncode
        if code < 0:
            sig = signal.Signals(-code).name
            why = {"SIGKILL": " (probably the memory limit)",
                   "SIGXCPU": " (the CPU time limit)",
                   "SIGSEGV": " (a crash of the interpreter)"}.get(sig, "")
            return f"the worker process was killed by {sig}{why}"
        return (f"the worker process ended during the call (exit code {code}); does the code "
                "call os._exit() or exit the interpreter?")

    def request(self, req, timeout, oracle=None):
        """Send one request; returns a Reply. `oracle` answers the worker's proxy calls."""
        if self.proc is None:
            self.start()
            self.restarts += 1
        try:
            os.truncate(self.log_path, 0)
        except OSError:
            pass
        nonce = random.getrandbits(48)
        req = {**req, "id": nonce}
        start = time.monotonic()
        deadline = start + timeout
        try:
            self._write(self._frame(wire.encode(req)), deadline)
            while True:
                msg = self._read_message(deadline)
                if isinstance(msg, dict) and "oracle" in msg:
                    self._serve_oracle(msg, oracle, deadline)
                    continue
                break
        except TimeoutError:
            self.kill()
            return Reply("timeout", seconds=time.monotonic() - start,
                         message=f"stopped after {timeout:.2g} s (time limit): an endless "
                                 "loop, or code much slower than needed")
        except (EOFError, BrokenPipeError, ConnectionResetError):
            flooded = self._flooded()
            death = self._death()
            tail = self.output_tail()
            self.kill()
            if flooded:
                return self._flood_reply(start)
            return Reply("crashed", seconds=time.monotonic() - start,
                         message=death, extra={"output": tail})
        except wire.WireError as exc:
            self.kill()
            return Reply("junk", seconds=time.monotonic() - start,
                         message=f"the worker's reply could not be read ({exc})")
        seconds = time.monotonic() - start
        if self._flooded():
            return self._flood_reply(start)
        if not isinstance(msg, dict) or msg.get("id") != nonce:
            self.kill()
            return Reply("junk", seconds=seconds, message="the worker's reply was not the "
                         "answer to the request (did the code write to the grader's channel?)")
        if not msg.get("ok"):
            err = msg.get("error") if isinstance(msg.get("error"), dict) else {}
            return Reply("error", error=err, seconds=seconds, extra=msg)
        return Reply("ok", value=msg.get("value"), handle=msg.get("handle"), seconds=seconds,
                     extra=msg)

    def _flood_reply(self, start):
        self.kill()
        return Reply("flood", seconds=time.monotonic() - start,
                     message=f"the code printed more than {self.limits.output_bytes // 1024} KB "
                             "(output flood); the check was stopped")

    @staticmethod
    def _frame(body):
        return struct.pack("<Q", len(body)) + body

    def _serve_oracle(self, msg, oracle, deadline):
        try:
            if oracle is None:
                raise RuntimeError("no grader function is available in this check")
            value = oracle(msg["oracle"], msg.get("args", []), msg.get("kwargs", {}))
            reply = {"ok": True, "value": value}
        except Exception as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        self._write(self._frame(wire.encode(reply)), deadline)
