"""The sandbox: a worker process that runs a submission's code away from the grader.

Student code never runs in the grader's process. `Sandbox` copies the submission's `cs231n/`
(regular files only: a symlink could point at the master or at the references) into a private
temporary folder and starts `worker.py` in a fresh interpreter (`python -I`) there. When the grader
runs as root (the course's grading machine, CI), the worker is jailed before it starts:

- new mount, network, IPC and UTS namespaces: no network at all (only a loopback that is down);
- a chroot whose root is an empty tmpfs (64 MB, the only writable place, /tmp) holding only,
  read-only, /usr, the Python installation and the virtualenv (for numpy), the submission copy,
  the worker script and /dev/null, /dev/zero, /dev/urandom. The repository (master package,
  reference values, hidden checks, .git), the host's /tmp, /root and /home do not exist there;
- a user id of its own (unique per sandbox, no passwd entry), no supplementary groups, and
  no_new_privs, so setuid binaries under /usr give nothing back and no other process can be
  signalled or traced;
- resource limits: address space, CPU time, file size (stdout/stderr go to a file, so this also
  stops an output flood), process count, no core files.

Without root, the same jail is built in a user namespace where the grader's user is root
(isolation "userns"): same view, no network, same limits, but the worker keeps the grader's user
id, and execs with an empty capability bounding set so that it cannot leave the chroot or undo
its mounts. Where neither is permitted (no namespaces at all, e.g. some containers), the worker
gets only the resource limits and a temporary working directory, and the result carries a note
saying that the submission could read the grader's files.

Each request has a wall-clock timeout enforced here. A worker that hangs, dies or answers with
something unreadable is killed and restarted for the next request.
"""

import ctypes
import os
import random
import resource
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.grader import worker as wire

WORKER_SOURCE = Path(wire.__file__)

# Skipped when copying a submission: data and caches, never code the grader needs.
SKIP_DIRS = {"datasets", "__pycache__", ".ipynb_checkpoints", ".git"}
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_FILES = 5000

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x20000, 0x4000000, 0x8000000, 0x40000000
CLONE_NEWUSER = 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT = 1, 2, 4, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 38, 24


@dataclass
class Limits:
    memory_mb: int = 2048  # address space of the worker (numpy alone maps a few hundred MB)
    cpu_seconds: int = 600  # CPU time of one worker over all its requests (backstop)
    output_bytes: int = 4 * 1024 * 1024  # stdout + stderr of one request
    processes: int = 1  # tasks of the worker's own user id: the worker only, no fork, no thread


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
    """Copy the regular files of a `cs231n/` folder; returns notes on what was left out."""
    notes, total, count = [], 0, 0
    src_pkg = Path(src_pkg)
    if src_pkg.is_symlink() or not src_pkg.is_dir():
        raise FileNotFoundError(f"{src_pkg} is not a folder (a symlink is not accepted)")
    for dirpath, dirnames, filenames in os.walk(src_pkg, followlinks=False):
        rel = Path(dirpath).relative_to(src_pkg)
        kept = []
        for d in sorted(dirnames):
            full = Path(dirpath, d)
            if d in SKIP_DIRS:
                continue
            if full.is_symlink():
                notes.append(f"skipped the symlink cs231n/{rel / d}")
                continue
            kept.append(d)
        dirnames[:] = kept
        (Path(dest_pkg) / rel).mkdir(parents=True, exist_ok=True)
        for name in sorted(filenames):
            full = Path(dirpath, name)
            st = os.lstat(full)
            if not stat.S_ISREG(st.st_mode):
                notes.append(f"skipped cs231n/{rel / name} (not a regular file)")
                continue
            if st.st_size > MAX_FILE_BYTES or total + st.st_size > MAX_TOTAL_BYTES:
                notes.append(f"skipped cs231n/{rel / name} (too large)")
                continue
            if count >= MAX_FILES:
                notes.append(f"skipped the files after the first {MAX_FILES}")
                return notes
            total += st.st_size
            count += 1
            with open(full, "rb") as fin, open(Path(dest_pkg) / rel / name, "wb") as fout:
                shutil.copyfileobj(fin, fout)
    return notes


def read_sources(pkg_dir):
    """The text of every .py file of a package copy, keyed by path relative to it."""
    sources = {}
    for path in Path(pkg_dir).rglob("*.py"):
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        sources[path.relative_to(pkg_dir).as_posix()] = path.read_text(errors="replace")
    return sources


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
    return libc


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(libc, src, target, fstype, flags, data=None):
    args = [None if s is None else os.fsencode(s) for s in (src, target, fstype)]
    opts = None if data is None else os.fsencode(data)
    _check(libc.mount(*args, flags, opts), f"mount {target}")


def _bind_ro(libc, root, path):
    inside = root + path
    os.makedirs(inside, mode=0o755, exist_ok=True)
    _mount(libc, path, inside, None, MS_BIND | MS_REC)
    _mount(libc, None, inside, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _symlink_hops(path):
    """Every path the kernel passes through when it opens `path`: the path itself and each
    symbolic link target in turn (a virtualenv's python -> /usr/local/bin/python3.11 ->
    /opt/python/bin/python3.11 needs all three folders inside the jail)."""
    hops, seen = [os.path.abspath(path)], set()
    while os.path.islink(hops[-1]) and hops[-1] not in seen and len(hops) < 40:
        seen.add(hops[-1])
        target = os.readlink(hops[-1])
        # A link target is relative to the folder of the link, which may itself be a link.
        folder = os.path.realpath(os.path.dirname(hops[-1]))
        hops.append(os.path.normpath(os.path.join(folder, target)))
    return hops


def _readonly_paths():
    """What the interpreter needs: /usr, the Python installation, the virtualenv and every
    folder the interpreter's symbolic links go through."""
    paths = ["/usr"]
    hop_dirs = {os.path.dirname(p) for p in _symlink_hops(sys.executable)}
    for p in sorted({sys.prefix, sys.base_prefix,
                     os.path.dirname(os.path.realpath(sys.executable)), *hop_dirs}):
        # The folder as the links name it and as it really is (it may be a link itself).
        for path in dict.fromkeys((os.path.realpath(p), os.path.abspath(p))):
            if not any(path == q or path.startswith(q + "/") for q in paths):
                paths.append(path)
    # The virtualenv is found through the path of its interpreter, so keep its own path too.
    if sys.prefix not in paths and os.path.realpath(sys.prefix) != sys.prefix:
        paths.append(sys.prefix)
    return paths


def _set_limits(limits):
    mem = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _enter_user_namespace(libc, flags):
    """unshare with a new user namespace in which this process's user is root (no privilege
    outside it): how a grader that is not root may still build the jail."""
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(CLONE_NEWUSER | flags), "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"),
                       ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def _jail(stage, uid, limits, worker_bytes, userns=False):
    """Runs in the forked child, before exec: namespaces, chroot, user switch, limits.

    userns: the grader is not root; the jail is built in a user namespace and the worker keeps
    the grader's user id (no other is available), with the same view and limits.
    """
    libc = _libc()
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    if userns:
        _enter_user_namespace(libc, flags)
    else:
        _check(libc.unshare(flags), "unshare")
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    root = os.path.join(stage, "root")
    _mount(libc, "tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=0755")
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        if os.path.islink("/" + name):
            os.symlink(os.readlink("/" + name), os.path.join(root, name))
        elif os.path.isdir("/" + name):
            _bind_ro(libc, root, "/" + name)
    for path in _readonly_paths():
        _bind_ro(libc, root, path)
    os.makedirs(root + "/dev", mode=0o755)
    for dev in ("null", "zero", "urandom", "random"):
        open(f"{root}/dev/{dev}", "w").close()
        _mount(libc, "/dev/" + dev, f"{root}/dev/{dev}", None, MS_BIND)
    # exist_ok: /tmp is already there when the virtualenv lives under the host's /tmp (a CI
    # checkout in /tmp/...); its bind mount stays read-only below the jail's writable /tmp.
    os.makedirs(root + "/tmp", mode=0o777, exist_ok=True)
    os.chmod(root + "/tmp", 0o1777)
    os.makedirs(root + "/grader", mode=0o755)
    with open(root + "/grader/worker.py", "wb") as f:
        f.write(worker_bytes)
    os.makedirs(root + "/submission", mode=0o755)
    _mount(libc, os.path.join(stage, "sub"), root + "/submission", None, MS_BIND)
    # Read-only: the only writable place is the jail's small tmpfs (/tmp), so the submission's
    # code cannot fill the grader's disk.
    _mount(libc, None, root + "/submission", None,
           MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last_cap = int(f.read())
    os.chroot(root)
    os.chdir("/submission")
    if userns:
        # Root of its namespace, but with an empty capability bounding set the worker execs
        # with no capability at all: no way out of the chroot, no unmounting of the jail.
        for cap in range(last_cap + 1):
            _check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "prctl")
    else:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")
    _set_limits(limits)
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))


def _probe(userns):
    """Whether a child process can create the namespaces the jail needs."""
    pid = os.fork()
    if pid == 0:  # the probe: a child that tries what the jail needs, then exits
        try:
            libc = _libc()
            if userns:
                _enter_user_namespace(libc, CLONE_NEWNS | CLONE_NEWNET)
            else:
                _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
            ok = libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) == 0
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def choose_isolation():
    """("jail" | "userns" | "none", why not better): the strongest isolation permitted here."""
    if not sys.platform.startswith("linux"):
        return "none", "namespaces need Linux"
    if os.geteuid() == 0:
        if _probe(userns=False):
            return "jail", ""
        why = "mount and network namespaces are not permitted here"
    else:
        why = "the grader is not running as root"
    if _probe(userns=True):
        return "userns", why
    return "none", why + ", and user namespaces are not permitted either"


class Sandbox:
    """One submission's worker. Use as a context manager; `request()` sends one request."""

    def __init__(self, submission_pkg, limits=None, isolation="auto"):
        self.limits = limits or Limits()
        self.notes = []
        self.stage = tempfile.mkdtemp(prefix="ckgrade-")
        os.chmod(self.stage, 0o700)
        self.copy_notes = copy_submission(submission_pkg, Path(self.stage, "sub", "cs231n"))
        # Read before the worker starts: the submission's code may rewrite its own files.
        self.sources = read_sources(Path(self.stage, "sub", "cs231n"))
        self.log_path = os.path.join(self.stage, "output.log")
        self.proc = None
        self.restarts = 0
        why = ""
        if isolation == "auto":
            isolation, why = choose_isolation()
        self.isolation = isolation
        if isolation in ("jail", "userns"):
            os.makedirs(os.path.join(self.stage, "root"))
        if isolation == "jail":
            self.uid = random.SystemRandom().randrange(2_000_000, 2_000_000_000)
            self.notes.append("sandbox: chroot with namespaces (no network), "
                              "unprivileged user, resource limits")
        elif isolation == "userns":
            self.uid = None
            self.notes.append("sandbox: chroot in a user namespace (no network), the grader's "
                              f"own user id, resource limits{f' ({why})' if why else ''}")
        elif why:
            self.notes.append(
                f"sandbox: no filesystem/network isolation ({why}); the submission ran "
                "with only resource limits and could read the grader's files")
        else:
            self.notes.append("sandbox: no filesystem/network isolation (isolation='none'); "
                              "the submission ran with only resource limits")
        self.cwd = os.path.join(self.stage, "sub")

    # -- process management

    def start(self):
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
        if self.isolation in ("jail", "userns"):
            worker_bytes = WORKER_SOURCE.read_bytes()
            stage, uid, limits = self.stage, self.uid, self.limits
            userns = self.isolation == "userns"

            def preexec():
                _jail(stage, uid, limits, worker_bytes, userns=userns)

            script, cwd = "/grader/worker.py", None
        else:
            script = os.path.join(self.stage, "worker.py")
            shutil.copyfile(WORKER_SOURCE, script)
            limits = self.limits

            def preexec():
                _set_limits(limits)

            cwd = self.cwd
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", script, str(req_r), str(resp_w)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(req_r, resp_w),
                cwd=cwd, env=env, preexec_fn=preexec, start_new_session=True)
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
        """Processes of this sandbox's own user id that left the process group."""
        if self.isolation != "jail":
            return
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as f:
                    uid_line = next(line for line in f if line.startswith("Uid:"))
            except (OSError, StopIteration):
                continue
            if int(uid_line.split()[1]) == self.uid:
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except ProcessLookupError:
                    pass

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
