"""Start a grading kernel under resource limits: `python -m coursekit.autograde.kernel_launch
--memory-mb M --cpu-seconds S --file-mb F -- <kernel command...>`.

The limits are set in this small process, which then replaces itself with the kernel
(exec), so a memory bomb raises MemoryError, a runaway process is killed by SIGXCPU and a
10 GB file cannot fill the disk: the damage stays inside one student's kernel.
"""
import os
import resource
import sys


def _limit(which, value):
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, hard))


def main(argv):
    limits = {"--memory-mb": 0, "--cpu-seconds": 0, "--file-mb": 0}
    args = list(argv)
    while args and args[0] in limits:
        limits[args[0]] = int(args[1])
        args = args[2:]
    if not args or args[0] != "--" or len(args) < 2:
        sys.stderr.write("coursekit.autograde.kernel_launch: usage: [--memory-mb M] "
                         "[--cpu-seconds S] [--file-mb F] -- kernel command...\n")
        return 2
    cmd = args[1:]
    if limits["--memory-mb"]:
        _limit(resource.RLIMIT_AS, limits["--memory-mb"] * 2**20)
    if limits["--cpu-seconds"]:
        _limit(resource.RLIMIT_CPU, limits["--cpu-seconds"])
    if limits["--file-mb"]:
        _limit(resource.RLIMIT_FSIZE, limits["--file-mb"] * 2**20)
    _limit(resource.RLIMIT_CORE, 0)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
