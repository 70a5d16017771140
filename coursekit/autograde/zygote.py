"""One student's kernels forked from one process in the student's jail: the grader's side.

A kernel started from nothing spends about 0.35 s of CPU before it answers and 0.5-0.7 s more
on its first cell's imports (numpy, matplotlib's pyplot and inline backend): over 4 s of CPU a
student for five notebooks, which a batch with as many workers as cores pays in full. A
`Zygote` is one bubblewrap jail per student (coursekit/jail.py: the student's user, limits
and mounts, as a kernel's) whose first process, kernel_zygote.py, has imported all that once;
each of the student's kernels is forked from it (`start`) and gets what a kernel of its own
gets: its private folder with a copy of the staged submission, its environment, guard, limits,
session and socket folder. `ZygoteProcess` is the handle the kernel manager keeps as its
`process` (poll, wait, kill as subprocess.Popen's), on the host's side of the jail: a kernel's
time limit never depends on the zygote answering.

What two kernels of one student share here that they did not in jails of their own: the
jail's /tmp (each its own folder in it, removed when it ends) and PID namespace, and the
zygote. A kernel's code may reach the others and the zygote (same user, same jail): that costs
the student's own later notebooks at most, as their own code in them could. Never across
students: the zygote is started for one student's grading and killed with its jail when it
ends (`close`); what an ended kernel left running is killed by the zygote (kernel_zygote.sweep).
Whenever the zygote fails (it cannot start, runs threads, answers with an error, dies, or a
kernel it forked does not answer), the student's remaining kernels start as before, each in a
jail of its own (`usable` turns False).
"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from coursekit import jail

SCRIPT = "kernel_zygote.py"
TMP = "/tmp/zygote"     # the zygote's own folder in the jail's /tmp (HOME, matplotlib's settings)
MPL = f"{TMP}/mpl"      # matplotlib's settings and font cache, read by every kernel
READY_SECONDS = 60      # the imports, on a busy machine
REPLY_SECONDS = 30      # a fork


class ZygoteError(Exception):
    """The zygote cannot start a kernel: the caller starts one in a jail of its own."""


class Zygote:
    """The jail of one student's kernels and the process in it that forks them.

    `ipc_dir`: the host folder of the kernels' socket folders; the zygote's own (its script
    and log) and one socket folder per kernel (`kernels` of them, `kernel_dir`) are made in
    it, the latter bound read-write in the jail, at the same path and length as a kernel's
    own (a Unix socket's path has at most 107 bytes). `staged`: the staged submission the
    kernels copy (among `readonly`, the host paths mounted read-only: it, matplotlib's
    settings, the data). `logs`: host files the kernels write (their guard logs), bound
    read-write too. `limits`, `uid`: the jail's, as a kernel's. `env`: the zygote's
    environment, a kernel's (nbgrade.kernel_env) with TMP as its private folder.
    `mpl_source`: matplotlib's settings folder, copied to MPL in the jail.
    """

    def __init__(self, ipc_dir, staged, readonly, logs, limits, uid, env, mpl_source,
                 kernels):
        self.folder = Path(tempfile.mkdtemp(prefix="z", dir=ipc_dir))
        self.staged = staged
        self.logs = [str(p) for p in logs]
        self.spare = [Path(tempfile.mkdtemp(prefix="k", dir=ipc_dir)) for _ in range(kernels)]
        self.box = jail.Jail(uid=uid, readonly=[*readonly, str(self.folder / "grader")],
                             writable=[*map(str, self.spare), *self.logs], limits=limits,
                             env=env)
        self.mpl_source = str(mpl_source)
        self.usable = True
        self.process = None
        self.host_pid = None    # the zygote's own pid, as the host sees it
        self._lock = threading.Lock()
        self._buffer = b""
        self._lines = []        # the replies read so far: the ready line, then one per request
        self._asked = 0         # requests written
        self._tmps = 0          # kernel folders handed out (next_tmp)

    def start(self):
        """Start the jail and the zygote in it; it imports while the caller goes on."""
        grader = self.folder / "grader"
        grader.mkdir(mode=0o755)
        for name in (SCRIPT, "kernel_launch.py"):     # the zygote imports the launcher
            shutil.copyfile(Path(__file__).with_name(name), grader / name)
            os.chmod(grader / name, 0o644)
        for log in self.logs:
            Path(log).touch()
        self.box.give(*self.spare, *self.logs)
        argv = [sys.executable, str(grader / SCRIPT), "--mpl", self.mpl_source, MPL]
        with open(self.folder / "zygote.log", "ab") as log:
            self.process = subprocess.Popen(
                self.box.command(argv, "/tmp"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log, env=self.box.environment(), preexec_fn=self.box.preexec,
                start_new_session=True, cwd=str(self.folder))
        return self

    def kernel_dir(self):
        """A socket folder for the next kernel, bound in the jail (the kernel's user's); None
        when all are used: that kernel starts in a jail of its own."""
        return self.spare.pop(0) if self.spare else None

    def next_tmp(self):
        """The private folder of the next kernel in the jail's /tmp: /tmp/k1, /tmp/k2, ... in
        the order the kernels are asked for (the student's notebooks' order), so that what a
        kernel shows of its paths (a traceback's) is the same in every run."""
        self._tmps += 1
        return f"/tmp/k{self._tmps}"

    def fork(self, request):
        """Ask for a kernel (kernel_zygote.py says what `request` holds); its handle at once:
        the zygote answers while the caller goes on."""
        if not self.usable or self.process is None or self.process.poll() is not None:
            raise ZygoteError("the zygote is not running")
        with self._lock:
            index = self._asked + 1     # reply 0 is the ready line
            try:
                self.process.stdin.write(json.dumps(request).encode() + b"\n")
                self.process.stdin.flush()
            except (OSError, ValueError) as exc:
                self.usable = False
                raise ZygoteError(f"the zygote does not take requests ({exc})") from exc
            self._asked = index
        return ZygoteProcess(self, index)

    def reply(self, index, seconds):
        """Reply `index` (0: the ready line), waiting at most `seconds` for it."""
        deadline = time.monotonic() + seconds
        with self._lock:
            while len(self._lines) <= index:
                left = deadline - time.monotonic()
                if left <= 0 or not self._read(left):
                    self.usable = False
                    raise ZygoteError(f"the zygote did not answer in {seconds} s")
            return self._lines[index]

    def answered(self, index):
        """Whether reply `index` and the ready line are in, without waiting (False when
        another thread is reading them)."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            while len(self._lines) <= index and self._read(0):
                pass
            return len(self._lines) > index
        except ZygoteError:
            return True     # it ended: `reply` says so at once
        finally:
            self._lock.release()

    def _read(self, seconds):
        """Read what the zygote wrote within `seconds`; whether anything came."""
        stdout = self.process.stdout
        if stdout.closed:
            raise ZygoteError("the zygote was closed")
        if not select.select([stdout], [], [], seconds)[0]:
            return False
        chunk = os.read(stdout.fileno(), 65536)
        if not chunk:
            self.usable = False
            raise ZygoteError("the zygote ended")
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            try:
                self._lines.append(json.loads(line))
            except ValueError:
                self._lines.append({"error": "an unreadable reply"})
        return True

    def ready(self, seconds=READY_SECONDS):
        """Wait for the zygote's imports; its host pid (the parent of every kernel)."""
        if self.host_pid is None:
            line = self.reply(0, seconds)
            if line.get("tasks") != 1:
                self.usable = False
                raise ZygoteError(f"the zygote runs {line.get('tasks')} threads: fork "
                                  "would copy one")
            found = [pid for pid in _descendants(self.process.pid)
                     if _nspid(pid) == line.get("ready")]
            if len(found) != 1:
                self.usable = False
                raise ZygoteError("the zygote's process is not found in its jail")
            self.host_pid = found[0]
        return self.host_pid

    def close(self):
        """Kill the jail: the zygote and every kernel forked from it (the PID namespace ends
        with the jail), then remove the folder."""
        self.usable = False
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            for stream in (self.process.stdin, self.process.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        for folder in [self.folder, *self.spare]:
            shutil.rmtree(folder, ignore_errors=True)
        self.spare = []


class ZygoteProcess:
    """A kernel forked by the zygote, as the kernel manager sees its process: `poll`, `wait`,
    `kill`, `terminate`, `send_signal` act on its host pid, through a pidfd (never on a pid
    that was reused). Its pid becomes known when the zygote answers, on first use; a signal
    sent before (by Ctrl-C's handler, which must never wait) is sent once it is known."""

    stdin = stdout = stderr = None

    def __init__(self, zygote, index):
        self.zygote, self.index = zygote, index
        self.returncode = None
        self.pid = None         # host pid, once known
        self.error = None       # why it never ran, when the zygote said or failed
        self._pidfd = None
        self._resolved = False
        self._killed = False
        self._pending = []      # signals asked for before the pid was known
        self._lock = threading.Lock()

    def _resolve(self, block=True):
        """Find the kernel's host pid (`block`: wait for the zygote's answer); whether done."""
        if self._resolved:
            return True
        if not self._lock.acquire(blocking=block):
            return False
        try:
            if self._resolved:
                return True
            if not block and not self.zygote.answered(self.index):
                return False
            self._find()
            self._resolved = True
        finally:
            self._lock.release()
        pending, self._pending = self._pending, []
        for signum in pending:
            self.send_signal(signum)
        return True

    def _find(self):
        try:
            parent = self.zygote.ready()
            answer = self.zygote.reply(self.index, REPLY_SECONDS)
        except ZygoteError as exc:
            self.error, self.returncode = str(exc), 1
            return
        if "pid" not in answer:
            self.zygote.usable = False
            self.error, self.returncode = str(answer.get("error", answer)), 1
            return
        for pid in _children(parent):
            if _nspid(pid) != answer["pid"]:
                continue
            try:
                fd = os.pidfd_open(pid)
            except OSError:
                break
            if _parent(pid) == parent:    # still the same process, now held by the pidfd
                self.pid, self._pidfd = pid, fd
                return
            os.close(fd)
            break
        self.error, self.returncode = "it ended before it was found", 1

    def poll(self):
        if self.returncode is None:
            self._resolve()
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self.returncode = -signal.SIGKILL if self._killed else 1
            os.close(self._pidfd)
            self._pidfd = None
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired("kernel", timeout)
            select.select([self._pidfd], [], [], left)
        return self.returncode

    def send_signal(self, signum):
        """To the kernel's process group (its session: what it started and did not move)."""
        if not self._resolve(block=False):
            self._pending.append(signum)
            return
        if self.returncode is not None or self._pidfd is None:
            return
        if signum == signal.SIGKILL:
            self._killed = True
        try:
            os.killpg(self.pid, signum)
        except OSError:
            pass
        try:
            signal.pidfd_send_signal(self._pidfd, signum)
        except (OSError, TypeError):
            pass

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


def _stat(pid):
    """(parent pid, state) of a host process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return int(fields[1]), fields[0]


def _parent(pid):
    found = _stat(pid)
    return found[0] if found else None


def _children(parent):
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and _parent(int(e)) == parent]


def _descendants(root):
    parents = {int(e): _parent(int(e)) for e in os.listdir("/proc") if e.isdigit()}
    found, frontier = [], {root}
    while frontier:
        frontier = {pid for pid, up in parents.items() if up in frontier}
        found += sorted(frontier)
    return found


def _nspid(pid):
    """A host process's pid in its innermost PID namespace (NSpid's last field)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        return None
    return None
