"""A student's kernels, forked from one process that imported their libraries once:
`python kernel_zygote.py --mpl SRC DEST`.

Runs as the first process of the student's jail (coursekit/jail.py: the same jail, limits and
user and environment as a kernel of its own; zygote.Zygote starts it). It is started as a
kernel is (no -I: the kernel's PYTHONHASHSEED and the rest of its environment hold here as in
a kernel), copies the matplotlib settings folder to DEST, imports what every notebook's
kernel imports (ipykernel, IPython, numpy, matplotlib with the inline backend), then reads
requests, one JSON object a line, on its standard input; for each it forks a kernel and
answers one JSON line on its standard output: {"pid": <pid inside the jail>} or {"error":
"..."}. Its first line, once the imports are done, is {"ready": <its own pid inside the
jail>, "tasks": <its threads>} (fork copies one thread: the grader uses it only if 1).

A request: {"argv": ipykernel's arguments, "env": the kernel's whole environment, "log": the
file its stdout and stderr go to, "tmp": its private folder under /tmp, "copies": [[src, dest],
...], "chdir": its working folder, "limits": {"memory_mb", "cpu_seconds", "file_mb"}}. The
child is what kernel_launch.py would have made: a session of its own, its limits, its copy of
the staged submission, its environment; then ipykernel runs in it. A fresh kernel spends about
0.35 s of CPU before it answers and 0.5 s on its first cell's imports; a forked one about
0.15 s in all.

The kernels of one student only: the jail is the student's and ends with their grading. Its
code never runs here; a kernel's code may reach this process (same user, same jail), which
costs that student's own later notebooks at most, as their own code could. When a kernel
ends, whatever it left running ends too: every process of the jail that is not this one, the
jail's init or a live kernel's descendant is killed (`sweep`). Only the standard library is
imported before the imports above.
"""
import json
import os
import shutil
import signal
import sys

CHILDREN = {}  # pid -> its private folder, removed once it is reaped


def reap(*_):
    ended = False
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        ended = True
        folder = CHILDREN.pop(pid, None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    if ended:
        sweep()


def _parents():
    """{pid: (parent pid, state)} of every process this jail's /proc shows."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2:].split()
        found[int(entry)] = (int(fields[1]), fields[0])
    return found


def sweep(rounds=50):
    """Kill what an ended kernel left running: every process of the jail but its init (1),
    this one and the descendants of this one (the live kernels and what they started). An
    orphan goes to the jail's init, so this is what no live kernel owns. Again until none is
    left (a fork bomb forks while it is killed)."""
    me = os.getpid()
    for _ in range(rounds):
        table = _parents()
        strays = []
        for pid, (_parent, state) in table.items():
            if pid in (1, me) or state in (b"Z", b"X"):
                continue
            up, hops = pid, 0
            while up not in (0, 1, me) and hops < 100_000:
                up, hops = table.get(up, (0, b""))[0], hops + 1
            if up != me:
                strays.append(pid)
        if not strays:
            return
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def child(request, numpy, kernel_launch):
    """In the forked child: become the kernel the request describes. Never returns."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(null)
        os.close(log)
        os.environ.clear()
        os.environ.update(request["env"])
        import tempfile

        tempfile.tempdir = None
        kernel_launch.prepare(request.get("limits", {}), request.get("copies", []),
                              request.get("chdir"))
        # As `python -m ipykernel_launcher` in its working folder: the student's package
        # (cs231n/ next to the notebooks) imports from there.
        sys.path.insert(0, os.getcwd())
        # A forked child shares its parent's random state: each kernel draws its own.
        import random

        random.seed()
        numpy.random.seed()
        import importlib.util

        sys.argv = [importlib.util.find_spec("ipykernel_launcher").origin, *request["argv"]]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 (the log says why; the parent must go on)
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def main(argv):
    # kernel_launch.py lies beside this script (the zygote's grader folder): its `prepare` makes
    # the zygote's folders and a forked child what the launcher makes a kernel of its own. Then
    # the script's own folder leaves the path: it is never the kernels' to import from.
    import kernel_launch

    sys.path.pop(0)
    copies = [(argv[1], argv[2])] if len(argv) == 3 and argv[0] == "--mpl" else []
    kernel_launch.prepare({}, copies, None)
    os.umask(0o022)
    # What every notebook's kernel imports before its first cell ends. Nothing here starts a
    # thread (BLAS threads are set to 1 by the environment): fork copies only this one.
    import ipykernel.ipkernel  # noqa: F401
    import IPython.core.interactiveshell  # noqa: F401
    import IPython.extensions.autoreload  # noqa: F401 (every notebook's %load_ext)
    import matplotlib
    import matplotlib.pyplot  # noqa: F401
    import matplotlib_inline.backend_inline  # noqa: F401
    import numpy
    import numpy.testing  # noqa: F401 (the guard's, kernel_guard.py)
    from ipykernel import kernelapp  # noqa: F401

    matplotlib.get_configdir()
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    requests = os.fdopen(os.dup(0), "r")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    signal.signal(signal.SIGCHLD, reap)
    tasks = len(os.listdir("/proc/self/task"))
    replies.write(json.dumps({"ready": os.getpid(), "tasks": tasks}) + "\n")
    for line in requests:
        try:
            request = json.loads(line)
            pid = os.fork()
        except (ValueError, OSError) as exc:
            replies.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
            continue
        if pid == 0:
            requests.close()
            replies.close()
            child(request, numpy, kernel_launch)
        CHILDREN[pid] = request.get("tmp")
        replies.write(json.dumps({"pid": pid}) + "\n")
    # The grader closed the requests: the student's grading is over (the jail ends with this
    # process, and every kernel with it).
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
