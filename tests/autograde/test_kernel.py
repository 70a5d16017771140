"""The grading kernel's set-up: IPC transport per grading process, a cleaned environment,
the guard."""
import os
from pathlib import Path

from robustness_corpus import OFFICIAL_SOLVER_HEADER, OFFICIAL_STARTER_HEADER

from coursekit.autograde import nbgrade
from coursekit.autograde.grading_run import GradingRun
from coursekit.course import current

REPO_ROOT = current().root


def test_kernels_use_ipc_sockets_private_to_the_grading_process(tmp_path):
    nbgrade.prepare_scratch(GradingRun(), folder=tmp_path / "scratch")
    a, b = nbgrade.GuardedKernelManager(), nbgrade.GuardedKernelManager()
    assert a.transport == b.transport == "ipc"
    assert a.ip != b.ip
    assert Path(a.ip).parent.parent == tmp_path / "scratch" / "ipc"


def test_kernel_environment_keeps_grading_mode_and_data_but_no_secrets(tmp_path, monkeypatch):
    nbgrade.prepare_scratch(GradingRun(kernel_env={"CS231N_CIFAR10_DIR": "/data/c10"}),
                           folder=tmp_path / "scratch")
    base = {"PATH": "/usr/bin", "NBGRADER_EXECUTION": "autograde", "GITHUB_TOKEN": "s3cret",
            "NBGRADER_DB_URL": "postgresql://x", "AWS_SECRET_ACCESS_KEY": "k"}
    env = nbgrade.kernel_env(base)
    assert env["NBGRADER_EXECUTION"] == "autograde" and env["CS231N_CIFAR10_DIR"] == "/data/c10"
    assert not {"GITHUB_TOKEN", "NBGRADER_DB_URL", "AWS_SECRET_ACCESS_KEY"} & set(env)
    assert env["HOME"].startswith(str(tmp_path)) and env["OPENBLAS_NUM_THREADS"] == "1"


def test_the_graders_own_data_folder_is_given_to_the_kernel_and_mounted_in_its_jail(
        tmp_path, monkeypatch):
    """A course without kernel_env (the library, make bench) grades with the grader's
    $CS231N_CIFAR10_DIR: the kernel must both be told it and find it in its jail."""
    data = tmp_path / "c10"
    data.mkdir()
    monkeypatch.setenv("CS231N_CIFAR10_DIR", str(data))
    # No notebook is being graded here (a grading run earlier in this process left its own).
    monkeypatch.setattr(nbgrade.KernelSettings, "guard", {})
    nbgrade.prepare_scratch(GradingRun(), folder=tmp_path / "scratch")
    assert nbgrade.kernel_env({})["CS231N_CIFAR10_DIR"] == str(data)
    manager = nbgrade.GuardedKernelManager()
    assert str(data) in manager.kernel_jail(str(tmp_path)).readonly


def test_guard_settings_deny_the_course_and_gradebook_but_allow_the_data(tmp_path):
    course = GradingRun(kernel_env={"CS231N_CIFAR10_DIR": "/data/c10"}, private_paths=("/secret",))
    nbgrade.prepare_scratch(course, folder=tmp_path / "scratch")
    settings = nbgrade.guard_settings(course, tmp_path / "stage", tmp_path / "guard.log")
    assert str(REPO_ROOT) in settings["deny_read"] and "/secret" in settings["deny_read"]
    assert str(course.sqlite_path) in settings["deny_read"]
    assert "/data/c10" in settings["allow_read"]
    assert all(not p.startswith(str(REPO_ROOT)) for p in settings["allow_write"])


GUARDED_PROBE = """
import json, os, sys
import coursekit.autograde.kernel_guard as guard
guard.install()
out = {}
def attempt(name, f):
    try:
        f()
        out[name] = "allowed"
    except PermissionError as exc:
        out[name] = "refused: " + str(exc)
attempt("own_status", lambda: open("/proc/self/status").read())
attempt("own_pid_status", lambda: open(f"/proc/{os.getpid()}/status").read())
attempt("cpuinfo", lambda: open("/proc/cpuinfo").read())
attempt("parent_environ", lambda: open(f"/proc/{os.getppid()}/environ", "rb").read())
attempt("parent_cmdline", lambda: open(f"/proc/{os.getppid()}/cmdline", "rb").read())
attempt("parent_stat", lambda: open(f"/proc/{os.getppid()}/stat").read())
attempt("parent_thread_environ", lambda: open(
    f"/proc/{os.getppid()}/task/{os.getppid()}/environ", "rb").read())
attempt("import_sqlalchemy", lambda: __import__("sqlalchemy"))
attempt("import_psycopg", lambda: __import__("psycopg"))
attempt("import_json_decoder", lambda: __import__("json.decoder"))
print(json.dumps(out))
"""


def test_guard_refuses_other_processes_proc_files_and_database_drivers(tmp_path):
    import json
    import subprocess
    import sys

    log = tmp_path / "guard.log"
    env = {**os.environ, "COURSEKIT_GUARD": json.dumps({"log": str(log)}),
           "NBGRADER_DB_URL": "postgresql://grader:s3cret@db/cs231n"}
    proc = subprocess.run([sys.executable, "-c", GUARDED_PROBE], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for allowed in ("own_status", "own_pid_status", "cpuinfo", "import_json_decoder",
                    "parent_stat"):
        assert out[allowed] == "allowed", (allowed, out[allowed])
    for refused in ("parent_environ", "parent_cmdline", "parent_thread_environ",
                    "import_sqlalchemy", "import_psycopg"):
        assert out[refused].startswith("refused: blocked by the autograder"), (refused, out)
    assert "s3cret" not in proc.stdout
    logged = log.read_text()
    assert "another process" in logged and "import of sqlalchemy" in logged


def write_official_starter_package(folder):
    """A `cs231n` package whose modules begin as the official starter's do and use xrange."""
    pkg = folder / "cs231n"
    (pkg / "classifiers").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "classifiers" / "__init__.py").write_text(
        "from cs231n.classifiers.k_nearest_neighbor import *\n")
    (pkg / "classifiers" / "k_nearest_neighbor.py").write_text(OFFICIAL_STARTER_HEADER + (
        "import numpy as np\n\n\n"
        "class KNearestNeighbor(object):\n"
        "    def compute_distances_two_loops(self, X, Y):\n"
        "        dists = np.zeros((X.shape[0], Y.shape[0]))\n"
        "        for i in xrange(X.shape[0]):\n"
        "            for j in range(Y.shape[0]):\n"
        "                dists[i, j] = np.sqrt(np.sum((X[i] - Y[j]) ** 2))\n"
        "        return dists\n"))
    (pkg / "solver.py").write_text(OFFICIAL_SOLVER_HEADER + (
        "\n\nclass Solver(object):\n"
        "    def epochs(self, n):\n"
        "        return [e for e in range(n)]\n"))


def run_in_grading_kernel(folder, source, scratch, guard_log):
    """Run one code cell in a kernel started as grading starts it (GuardedExecute: the
    GuardedKernelManager, kernel_launch's limits, the cleaned environment, the guard) with
    `folder` as the notebook's folder. Returns the cell's outputs."""
    from nbformat.v4 import new_code_cell, new_notebook

    course = GradingRun()
    nbgrade.prepare_scratch(course, folder=scratch)
    nbgrade.KernelSettings.guard = nbgrade.guard_settings(course, folder.parent, guard_log)
    nbgrade.KernelSettings.submitted = str(folder)
    nb = new_notebook(cells=[new_code_cell(source)],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    executor = nbgrade.GuardedExecute(timeout=60, kernel_name="python3")
    nb, _ = executor.preprocess(nb, {"metadata": {"path": str(folder)}})
    return nb.cells[0].outputs


def test_grading_kernel_runs_a_package_with_the_official_starters_python2_imports(
        tmp_path, monkeypatch):
    import json
    import sys

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    student = tmp_path / "stage" / "ann"
    write_official_starter_package(student)
    log = tmp_path / "guard.log"
    source = ("import json, sys\n"
              "import numpy as np\n"
              "from cs231n.classifiers import KNearestNeighbor\n"
              "from cs231n.solver import Solver\n"
              "d = KNearestNeighbor().compute_distances_two_loops(np.zeros((2, 2)), "
              "np.array([[3.0, 4.0]]))\n"
              "print(json.dumps({'dists': d.tolist(), 'epochs': Solver().epochs(3), "
              "'python': sys.executable}))")
    outputs = run_in_grading_kernel(student, source, tmp_path / "scratch", log)
    errors = [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]
    assert errors == [], errors
    text = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")
    got = json.loads(text.strip().splitlines()[-1])
    assert got["dists"] == [[5.0], [5.0]] and got["epochs"] == [0, 1, 2]
    # The module worker's interpreter (sys.executable), so both import the same packages.
    assert got["python"] == sys.executable
    guard = log.read_text().splitlines()
    assert "ok cell 1" in guard and not [g for g in guard if not g.startswith("ok ")], guard


def test_grading_kernel_is_the_grading_interpreter_whatever_the_jupyter_paths_hold(
        tmp_path, monkeypatch):
    """A python3 kernel spec of another Python on the Jupyter paths (JUPYTER_PATH, a user-level
    `ipykernel install --user`) would run the notebooks without the pinned packages."""
    import json
    import sys

    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": ["/nonexistent/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "another Python", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    from jupyter_client.kernelspec import KernelSpecManager

    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == "/nonexistent/python3"
    nbgrade.prepare_scratch(GradingRun(), folder=tmp_path / "scratch")
    cmd = nbgrade.GuardedKernelManager(kernel_name="python3").format_kernel_cmd()
    assert cmd[:3] == [sys.executable, "-m", "ipykernel_launcher"]


def test_an_output_flood_is_dropped_as_it_arrives_not_kept_in_memory(tmp_path, monkeypatch):
    from nbformat.v4 import new_code_cell, new_notebook

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    folder = tmp_path / "stage" / "ann"
    folder.mkdir(parents=True)
    course = GradingRun()
    nbgrade.prepare_scratch(course, folder=tmp_path / "scratch")
    nbgrade.KernelSettings.guard = nbgrade.guard_settings(course, folder.parent,
                                                          tmp_path / "guard.log")
    nbgrade.KernelSettings.submitted = str(folder)
    nb = new_notebook(cells=[new_code_cell("for _ in range(200):\n    print('x' * 50_000)"),
                             new_code_cell("print('after the flood')")])
    executor = nbgrade.GuardedExecute(timeout=60, kernel_name="python3",
                                      max_output_bytes=1_000_000)
    nb, _ = executor.preprocess(nb, {"metadata": {"path": str(folder)}})
    kept = sum(len(o.get("text", "")) for c in nb.cells for o in c.outputs)
    assert kept < 1_200_000  # 10 MB were printed
    assert "dropped by the grader" in "".join(o.get("text", "") for o in nb.cells[0].outputs)


def test_a_kernels_late_clean_up_ends_only_its_own_students_processes(tmp_path, monkeypatch):
    """Under the uid fallback, a kernel's clean-up kills the processes of the user it was
    started as, never those of the user of the student graded since."""
    import asyncio

    from coursekit import jail

    monkeypatch.setattr(nbgrade.KernelSettings, "guard", {})
    nbgrade.prepare_scratch(GradingRun(), folder=tmp_path / "scratch")
    monkeypatch.setattr(jail, "mode", lambda: "uid")
    killed = []
    monkeypatch.setattr(jail, "kill_user_processes", killed.append)
    monkeypatch.setattr(nbgrade.KernelSettings, "uid", 61001)
    manager = nbgrade.GuardedKernelManager()
    manager.kernel_jail(str(tmp_path))           # launched as the first student's user
    monkeypatch.setattr(nbgrade.KernelSettings, "uid", 61002)   # the next student begins
    asyncio.run(manager._async_cleanup_resources())
    assert killed == [61001]
