"""The jail of a submission's code: one bubblewrap policy for every process that runs it.

Everything that runs student code - the five notebook kernels and the module worker - starts
through `Jail.popen_args()`: bubblewrap (`bwrap`, Debian's package `bubblewrap`) gives each
process new user, PID, network, IPC, UTS and cgroup namespaces (no network at all; nothing
outlives the process: `--unshare-pid --die-with-parent`), and a filesystem made of

- read-only: /usr and the interpreter with its site-packages (the Python installation, the
  virtualenv, every folder their symbolic links pass through), and the paths the caller names
  (the submission's staged copy, the CIFAR-10 folder, the grader's own launch scripts);
- read-write: only the paths the caller names (a kernel's socket folder) and a fresh tmpfs
  /tmp of `tmp_mb` (HOME points there), gone when the process ends;
- nothing else: no course (master package, master notebooks, grading/, tests/), no gradebook,
  no output root, no other student, no /root or /home, no /etc beyond what the dynamic loader
  and fonts need.

When the grader runs as root, all processes of one submission run under one host user id of
their own (`uid`, switched to inside the jail by `setpriv`, without capabilities), so
`processes` (RLIMIT_NPROC) bounds the whole submission and no other process can be signalled or
traced. Without root, bwrap builds the jail in a user namespace of the grader's own user.
Resource limits (address space, CPU time, file size, no core files) are set on each process
before bwrap starts and hold inside.

Where bwrap cannot run (not installed, or user namespaces forbidden: some containers such as
Gradescope's), the fallback is the same user switch and limits without namespaces ("uid"), and
without root only the limits ("none"); `mode()` says which, and `notes()` words it for the
instructor, with what it does not protect.
"""

import functools
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

BWRAP = "bwrap"
SETPRIV = "setpriv"  # util-linux: the user switch inside the jail when the grader is root
# What the dynamic loader, Python and matplotlib read under /etc; nothing else of it.
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts", "/etc/mime.types")
# Host user ids handed to submissions (one each) when the grader is root.
UID_RANGE = (2_000_000, 2_000_000_000)


@dataclass
class Limits:
    memory_mb: int = 2048  # address space of each process
    cpu_seconds: int = 600  # CPU time of each process (backstop of the wall-clock limits)
    file_mb: int = 64  # largest file a process may write (its stdout/stderr log included)
    processes: int = 64  # tasks (threads count) of the whole submission, when the uid is its own
    tmp_mb: int = 256  # the private /tmp


def blas_threads(n=1):
    """The environment variables that hold numpy's BLAS (OpenMP, OpenBLAS, MKL) to n threads."""
    return {name: str(n) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                      "MKL_NUM_THREADS")}


def cap_address_space(memory_mb):
    """Cap this process's address space, soft and hard, at memory_mb (run it in a child before
    exec: a submission's jail, the grader's judge and oracle processes)."""
    limit = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


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


def interpreter_paths():
    """What the interpreter needs, read-only: /usr, the Python installation, the virtualenv and
    every folder the interpreter's symbolic links go through."""
    paths = ["/usr"]
    hop_dirs = {os.path.dirname(p) for p in _symlink_hops(sys.executable)}
    for p in sorted({sys.prefix, sys.base_prefix,
                     os.path.dirname(os.path.realpath(sys.executable)), *hop_dirs}):
        # The folder as the links name it and as it really is (it may be a link itself).
        for path in dict.fromkeys((os.path.realpath(p), os.path.abspath(p))):
            if not any(path == q or path.startswith(q + "/") for q in paths):
                paths.append(path)
    return paths


@functools.cache
def bwrap_works():
    """Whether bwrap can build the jail here (installed, and namespaces permitted)."""
    if shutil.which(BWRAP) is None or (os.geteuid() == 0 and shutil.which(SETPRIV) is None):
        return False
    probe = Jail(uid=new_uid() if os.geteuid() == 0 else None)
    try:
        done = subprocess.run(probe.command(["/bin/true"], cwd="/"), capture_output=True,
                              timeout=60, preexec_fn=probe.preexec)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@functools.cache
def uid_works():
    """Whether an unprivileged user may run the interpreter (its folders are open to all)."""
    if os.geteuid() != 0:
        return False
    probe = Jail(uid=new_uid(), kind="uid")
    try:
        done = subprocess.run([sys.executable, "-I", "-c", "import numpy"], capture_output=True,
                              timeout=60, preexec_fn=probe.preexec, env=probe.environment(),
                              cwd="/")
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


MODES = ("bwrap", "uid", "none")


def mode():
    """'bwrap' (the jail), 'uid' (root, no namespaces: a user of its own and limits) or
    'none' (limits only): the strongest this machine allows, or $COURSEKIT_JAIL (to try a
    fallback, as tests/autograde does for Gradescope's containers)."""
    forced = os.environ.get("COURSEKIT_JAIL")
    if forced:
        if forced not in MODES:
            raise ValueError(f"COURSEKIT_JAIL={forced!r}: use one of {', '.join(MODES)}")
        return forced
    if bwrap_works():
        return "bwrap"
    return "uid" if uid_works() else "none"


def why_not_bwrap():
    if shutil.which(BWRAP) is None:
        return "bwrap is not installed (apt-get install bubblewrap)"
    return "bwrap is installed but user namespaces are not permitted on this machine"


def why_not_uid():
    if os.geteuid() != 0:
        return "the grader is not root"
    return (f"the interpreter ({sys.executable}) is in folders other users may not open: "
            "install Python and the virtualenv where every user can read them")


def notes(kind):
    """The instructor's one-line description of how a submission's code was confined."""
    if kind == "bwrap":
        return ("sandbox: bubblewrap jail (own user, PID and network namespaces; read-only "
                "system; nothing of the course mounted), resource limits")
    if kind == "uid":
        return (f"sandbox: no bubblewrap jail ({why_not_bwrap()}): the code ran as an "
                "unprivileged user with resource limits only; it could read every file readable "
                "by all users and reach the network")
    return (f"sandbox: no bubblewrap jail ({why_not_bwrap()}) and no user of its own "
            f"({why_not_uid()}): the code ran as the grader's own user with resource limits "
            "only and could read the grader's files")


def new_uid():
    import random

    return random.SystemRandom().randrange(*UID_RANGE)


@dataclass
class Jail:
    """How one submission's processes run; `command()` wraps an argv, `preexec` goes to Popen.

    uid: the host user id of the submission's processes (root grader only; None keeps the
    grader's user). readonly / writable: host paths visible at the same path inside.
    """

    uid: int | None
    readonly: list = field(default_factory=list)  # paths, or (host path, path inside) pairs
    writable: list = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    env: dict = field(default_factory=dict)
    kind: str = "bwrap"

    def command(self, argv, cwd):
        """The argv that runs `argv` in the jail with working folder `cwd`."""
        if self.kind != "bwrap":
            return list(argv)
        cmd = [BWRAP, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
               "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
        drop = []
        if self.uid is not None and os.geteuid() == 0:
            # bwrap as root mounts what root may read (the interpreter may live under /root),
            # then setpriv makes the command the submission's own user, without capabilities
            # (bwrap sets no_new_privs: no setuid program gives them back).
            cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                    "--cap-add", "CAP_SETPCAP"]
            drop = [SETPRIV, f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--"]
        else:
            # Without root, a user namespace of the grader's own user.
            cmd += ["--unshare-user", "--disable-userns"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = "/" + name
            if os.path.islink(path):
                cmd += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                cmd += ["--ro-bind", path, path]
        cmd += ["--proc", "/proc", "--dev", "/dev",
                "--size", str(self.limits.tmp_mb * 2**20), "--tmpfs", "/tmp"]
        if drop:
            # The tmpfs belongs to root: open it to the submission's user.
            cmd += ["--chmod", "1777", "/tmp"]
        # After /tmp: a path under the host's /tmp (a staged copy) is mounted over the tmpfs.
        system = [*interpreter_paths(), *ETC_FILES]
        readonly = [(str(p), str(p)) if isinstance(p, (str, Path)) else (str(p[0]), str(p[1]))
                    for p in [*system, *self.readonly]]
        readonly = [(src, dest) for src, dest in readonly if os.path.exists(src)]
        writable = [(str(p), str(p)) for p in self.writable]
        # bwrap makes missing parent folders 0700, which the submission's user could not
        # cross: make them first, traversable.
        parents = {str(a) for _, p in readonly + writable for a in Path(p).parents}
        for folder in sorted(parents - {"/", "/tmp"}, key=lambda p: (p.count("/"), p)):
            cmd += ["--perms", "0755", "--dir", folder]
        for src, dest in readonly:
            cmd += ["--ro-bind", src, dest]
        for src, dest in writable:
            cmd += ["--bind", src, dest]
        cmd += ["--chdir", str(cwd), "--clearenv"]
        for key, value in {"HOME": "/tmp", "TMPDIR": "/tmp", "PATH": "/usr/bin:/bin",
                           "LANG": "C.UTF-8", **self.env}.items():
            cmd += ["--setenv", key, str(value)]
        return cmd + ["--", *drop, *argv]

    def environment(self):
        """The environment of the process itself (bwrap clears it inside; the fallbacks do not)."""
        return {"HOME": "/tmp", "TMPDIR": "/tmp", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                **{k: str(v) for k, v in self.env.items()}}

    def preexec(self):
        """Runs in the child before exec: the limits, and the submission's own user where the
        jail does not switch to it itself."""
        limits = self.limits
        os.umask(0o022)  # bwrap creates the mount points with it: they must stay traversable
        if self.uid is not None and os.geteuid() == 0:
            # Counted against the submission's user once it runs as that user (root is exempt).
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
            if self.kind != "bwrap":
                os.setgroups([])
                os.setgid(self.uid)
                os.setuid(self.uid)
        cap_address_space(limits.memory_mb)
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        size = limits.file_mb * 2**20
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    def give(self, *paths):
        """Hand host folders/files to the submission's user (sockets, logs it must write)."""
        if self.uid is not None and os.geteuid() == 0:
            for path in paths:
                os.chown(path, self.uid, self.uid)


def kill_user_processes(uid):
    """SIGKILL every process of host user `uid` (the fallback's cleanup: the jail's PID
    namespace does this by itself). Returns how many were found."""
    import signal

    found = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                uid_line = next(line for line in f if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if int(uid_line.split()[1]) == uid:
            found += 1
            try:
                os.kill(int(entry), signal.SIGKILL)
            except ProcessLookupError:
                pass
    return found
