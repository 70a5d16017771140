"""Start a grading kernel inside its jail: `python -m coursekit.autograde.kernel_launch
[--memory-mb M] [--cpu-seconds S] [--file-mb F] [--copy SRC DEST]... [--chdir DIR]
-- <kernel command...>`.

Runs as the first process of the jail (coursekit/jail.py), then replaces itself with the kernel
(exec). `--copy` copies the staged submission (mounted read-only) into the jail's private /tmp
and `--chdir` makes it the kernel's working folder: the student's code may write next to its
notebook as it would at home, within the size of that /tmp, and nothing it writes ever reaches
the grader's files. The limits are set here too (the jail's own hold already; these can only
lower them), so a memory bomb raises MemoryError, a runaway process is killed by SIGXCPU and a
10 GB file cannot fill the disk.
"""
import os
import resource
import shutil
import sys

USAGE = ("coursekit.autograde.kernel_launch: usage: [--memory-mb M] [--cpu-seconds S] "
         "[--file-mb F] [--copy SRC DEST]... [--chdir DIR] -- kernel command...\n")


def _limit(which, value):
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, hard))


def parse(argv):
    """(limits, copies, chdir, command) of the arguments, or None when they are malformed."""
    limits = {"--memory-mb": 0, "--cpu-seconds": 0, "--file-mb": 0}
    copies, chdir, args = [], None, list(argv)
    while args and args[0] != "--":
        flag = args[0]
        if flag in limits and len(args) > 1:
            limits[flag], args = int(args[1]), args[2:]
        elif flag == "--copy" and len(args) > 2:
            copies.append((args[1], args[2]))
            args = args[3:]
        elif flag == "--chdir" and len(args) > 1:
            chdir, args = args[1], args[2:]
        else:
            return None
    if len(args) < 2:
        return None
    return limits, copies, chdir, args[1:]


def prepare(limits, copies, chdir):
    """Everything but the exec, as a kernel of the zygote (kernel_zygote.py) needs it too:
    `copies` [(src, dest)...] into the jail's /tmp, HOME and TMPDIR made, the working folder
    `chdir` (or None), `limits` {"memory_mb", "cpu_seconds", "file_mb"} (0: the jail's own)."""
    for src, dest in copies:
        # The source is the grader's staged copy (regular files and folders only).
        shutil.copytree(src, dest, symlinks=True, dirs_exist_ok=True)
    # The kernel's HOME and TMPDIR (inside its private /tmp) exist before it starts.
    for folder in {os.environ.get("HOME"), os.environ.get("TMPDIR")} - {None}:
        os.makedirs(folder, exist_ok=True)
    if chdir:
        os.chdir(chdir)
    if limits.get("memory_mb"):
        _limit(resource.RLIMIT_AS, int(limits["memory_mb"]) * 2**20)
    if limits.get("cpu_seconds"):
        _limit(resource.RLIMIT_CPU, int(limits["cpu_seconds"]))
    if limits.get("file_mb"):
        _limit(resource.RLIMIT_FSIZE, int(limits["file_mb"]) * 2**20)
    _limit(resource.RLIMIT_CORE, 0)


def main(argv):
    parsed = parse(argv)
    if parsed is None:
        sys.stderr.write(USAGE)
        return 2
    limits, copies, chdir, cmd = parsed
    prepare({flag[2:].replace("-", "_"): value for flag, value in limits.items()}, copies,
            chdir)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
