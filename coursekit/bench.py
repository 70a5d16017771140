"""`make bench`: speed figures of the course repository, as ratios measured side by side.

Each section times our code and its yardstick in the same process, interleaving the
repeats so that a noisy neighbour on a shared machine slows both sides alike, and reports
the ratio of the best times. Absolute seconds are printed for context only.

    python -m coursekit.bench                 # all sections, a table on stdout
    python -m coursekit.bench --only knn      # one section
    python -m coursekit.bench --write-readme  # also rewrite the README's benchmark table
"""

import argparse
import importlib
import os
import platform
import time
from dataclasses import dataclass

import numpy as np

from coursekit.readme import replace_between

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(REPO, "README.md")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


@dataclass
class Row:
    """One line of the table: a measured figure and, where there is one, its target."""

    what: str
    figure: str
    target: str = ""
    ok: bool | None = None

    @property
    def verdict(self):
        return {True: "met", False: "MISSED", None: ""}[self.ok]


def best_times(fns, repeats=5):
    """Best wall time of each callable, running them in turn `repeats` times.

    Interleaving the candidates (a, b, a, b, ...) rather than timing each in a block
    keeps a burst of load on the machine from favouring one side of a ratio.
    """
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def ratio(a, b):
    return f"{a / b:.2f}x"


# --- sections ---------------------------------------------------------------------------


def bench_knn():
    """kNN distances on the knn notebook's shapes: 500 test x 5000 train x 3072, float64."""
    from sklearn.metrics.pairwise import euclidean_distances

    from cs231n.classifiers import KNearestNeighbor

    rng = np.random.default_rng(0)
    X_train = rng.uniform(0, 255, size=(5000, 3072))
    X_test = rng.uniform(0, 255, size=(500, 3072))
    knn = KNearestNeighbor()
    knn.train(X_train, np.zeros(5000, dtype=int))

    no_loop, sk, floor = best_times(
        [
            lambda: knn.compute_distances_no_loops(X_test),
            lambda: euclidean_distances(X_test, X_train),
            lambda: X_test @ X_train.T,
        ],
        repeats=7,
    )
    # The loop versions take minutes on the full shapes; time them on the first rows and
    # scale, since their cost is linear in the number of test rows.
    n_one, n_two = 100, 10
    one_loop, two_loop = best_times(
        [
            lambda: knn.compute_distances_one_loop(X_test[:n_one]),
            lambda: knn.compute_distances_two_loops(X_test[:n_two]),
        ],
        repeats=2,
    )
    one_loop *= 500 / n_one
    two_loop *= 500 / n_two
    return [
        Row("kNN no-loop distances / bare `X @ X_train.T`", ratio(no_loop, floor),
            "<= 1.20x", no_loop <= 1.2 * floor),
        Row("kNN no-loop distances / scikit-learn `euclidean_distances`", ratio(no_loop, sk),
            "<= 1.00x", no_loop <= sk),
        Row("kNN one-loop distances / no-loop", ratio(one_loop, no_loop)),
        Row("kNN two-loop distances / no-loop", ratio(two_loop, no_loop)),
        Row("kNN no-loop distances, seconds", f"{no_loop:.3f} s"),
    ]


def bench_softmax():
    """Softmax loss and gradient on 500 CIFAR-sized examples: vectorized vs naive."""
    from cs231n.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized

    rng = np.random.default_rng(1)
    W = 1e-4 * rng.standard_normal((3073, 10))
    X = rng.standard_normal((500, 3073))
    y = rng.integers(10, size=500)
    naive, vec = best_times(
        [lambda: softmax_loss_naive(W, X, y, 5e-6), lambda: softmax_loss_vectorized(W, X, y, 5e-6)],
        repeats=20,
    )
    return [
        Row("softmax naive / vectorized (loss + gradient, N=500)", ratio(naive, vec)),
        Row("softmax vectorized, seconds", f"{vec * 1e3:.2f} ms"),
    ]


FC_HIDDEN, FC_BATCH, FC_LR = [100] * 5, 200, 1e-3


def bench_fc_step():
    """One SGD step of FullyConnectedNet([100]*5), batch 200, float32, against PyTorch."""
    from cs231n.classifiers.fc_net import FullyConnectedNet

    rng = np.random.default_rng(2)
    X = rng.standard_normal((FC_BATCH, 3072)).astype(np.float32)
    y = rng.integers(10, size=FC_BATCH)
    model = FullyConnectedNet(FC_HIDDEN, weight_scale=5e-2, reg=0.0, dtype=np.float32)

    def ours():
        _, grads = model.loss(X, y)
        for name, g in grads.items():
            model.params[name] -= FC_LR * g

    rows = []
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        (ours_t,) = best_times([ours], repeats=10)
        return [
            Row("FC step ([100]*5, batch 200, float32), seconds", f"{ours_t * 1e3:.2f} ms"),
            Row("FC step / PyTorch CPU", "not measured: torch is not installed",
                "<= 1.50x (make bench-deps installs torch)", None),
        ]

    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    dims = [3072, *FC_HIDDEN, 10]
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(net.parameters(), lr=FC_LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def theirs():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(Xt), yt).backward()
        opt.step()

    ours_t, theirs_t = best_times([ours, theirs], repeats=20)
    rows.append(Row("FC step / PyTorch CPU (same step, same shapes)", ratio(ours_t, theirs_t),
                    "<= 1.50x", ours_t <= 1.5 * theirs_t))
    rows.append(Row("FC step, seconds (ours / PyTorch)",
                    f"{ours_t * 1e3:.2f} ms / {theirs_t * 1e3:.2f} ms"))
    return rows


def bench_release():
    """`make release` end to end (nbgrader, stubs, leak check) into a scratch folder, as a
    fresh process like the make target, so interpreter and import start-up count too."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-release-") as tmp:
        cmd = [sys.executable, "-m", "coursekit", "release", "--dest",
               os.path.join(tmp, "assignment1")]
        (seconds,) = best_times(
            [lambda: subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)], repeats=2
        )
    return [Row("make release (once the virtualenv exists), seconds", f"{seconds:.1f} s",
                "<= 30 s", seconds <= 30)]


def bench_grade_module():
    """Hidden module checks of one submission (the master package), sandboxed."""
    from coursekit.grader import grade_submission

    result = None

    def grade():
        nonlocal result
        result = grade_submission(REPO, models=False)

    (seconds,) = best_times([grade], repeats=2)
    return [Row("hidden module checks of one submission (master), seconds",
                f"{seconds:.1f} s ({result.points:g}/{result.max_points:g} points)",
                "<= 20 s", seconds <= 20)]


DEFAULT_CIFAR = os.path.expanduser("~/.cache/cs231n-a1/cifar-10-batches-py")


def _grading_data():
    """CIFAR-10 for the notebooks' grading mode, as instructors grade: the real one
    ($CS231N_CIFAR10_DIR, else the cache `make cifar10` builds), else synthetic."""
    import tempfile

    from coursekit.synthetic import write_synthetic_cifar10

    for folder in (os.environ.get("CS231N_CIFAR10_DIR"), DEFAULT_CIFAR):
        if folder and os.path.isdir(folder):
            return folder, "real CIFAR-10"
    tmp = tempfile.mkdtemp(prefix="bench-cifar-")
    return write_synthetic_cifar10(tmp, num_train=2000, num_test=500), "synthetic CIFAR-10"


def bench_autograde():
    """Grading one submission (the master's, saved models included) against its floor, the
    notebooks' own cells; plain nbgrader on the same submission; batches with -j 1, -j 2 and
    through Dask; what the CLI's start-up costs. All measured in this one run."""
    import tempfile

    from coursekit.autograde import benchmark as b

    data, kind = _grading_data()
    os.environ["CS231N_CIFAR10_DIR"] = data
    rows = _cli_start_up_rows()
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
        # Six for the -j 2 and Dask batches: once running (steady_seconds), four students.
        subs = [b.master_submission(os.path.join(tmp, f"s{i}")) for i in range(6)]
        print(f"[bench] autograde: floor ({kind}) ...", flush=True)
        floor = b.notebook_floor(subs[0])
        print("[bench] autograde: the floor of two submissions side by side ...", flush=True)
        side = b.floor_side_by_side(subs[:2])
        print("[bench] autograde: coursekit autograde, jailed and bare ...", flush=True)
        one, jailed, bare = _jail_cost(subs[0])
        kernel = b.kernel_start_seconds()
        print("[bench] autograde: plain nbgrader autograde ...", flush=True)
        plain = b.plain_nbgrader(subs[0])
        print("[bench] autograde: kernels started ahead, one judge per student ...",
              flush=True)
        gains = b.kernels_ahead_gains(subs[0])
        print("[bench] autograde: a student's kernels forked from their zygote / on their own "
              "...", flush=True)
        forked = b.zygote_kernel_cpu()
        print("[bench] autograde: batches -j 1, -j 2, Dask ...", flush=True)
        serial = b.batch_throughput(subs[:2], jobs=1)
        pair = b.batch_throughput(subs, jobs=2)
        dask = b.dask_throughput(subs, workers=2)
        print("[bench] autograde: an idle Dask cluster, Dask's defaults / the grading settings "
              "...", flush=True)
        idle = b.dask_idle_cpu(workers=2)
        print("[bench] autograde: the gradebook written once per student, and as before ...",
              flush=True)
        once = b.gradebook_once(subs[:4])
        print("[bench] autograde: a rerun of a graded class finding whom to grade ...",
              flush=True)
        rerun = b.rerun_check(subs[0])
        print("[bench] autograde: the export of a class of 600 ...", flush=True)
        export = b.export_of_a_class(600)
    rows += _floor_rows(floor, one, plain, kind)
    per_student = one["total_seconds"] - one["prepare_seconds"]
    rows.append(Row("one grading kernel (jail, guard): start until it answers / shut-down, "
                    "seconds", f"{kernel[0]:.2f} s / {kernel[1]:.2f} s"))
    rows += [
        Row(f"full autograde of one submission ({kind}), seconds: the student's grading "
            "(with the once-per-class gradebook set-up)",
            f"{per_student:.1f} s ({one['total_seconds']:.1f} s)", "<= 30 s", per_student <= 30),
        *_jail_rows(jailed, bare, one),
        *_slowest_notebook_row(one["notebooks"]),
    ]
    rows += throughput_rows(floor["seconds"], serial, pair, dask, side)
    rows += dask_idle_rows(idle)
    rows += rerun_rows(rerun)
    rows += export_rows(export)
    rows += gradebook_once_rows(once)
    rows += kernels_ahead_rows(gains)
    rows += zygote_rows(forked)
    return rows


def zygote_rows(cpu, notebooks=5):
    """Issue 15: the CPU a student's kernels cost beyond their cells (a first cell importing
    numpy and pyplot in each of `notebooks` notebooks), forked from the student's zygote / each
    started on its own (benchmark.zygote_kernel_cpu)."""
    saved = cpu["own"] - cpu["forked"]
    return [Row(f"one student's {notebooks} kernels until their first cell's imports are done "
                "(CPU of the grader and all its processes), forked from the student's zygote / "
                "each started on its own",
                f"{cpu['forked'] / cpu['own']:.2f}x ({cpu['forked']:.1f} s / {cpu['own']:.1f} s: "
                f"{saved:.1f} s a student)")]


def kernels_ahead_rows(gains):
    """Issue 15: each notebook's kernel started while the one before runs, one judge per
    student, the student's kernels forked from one zygote, each as the nbgrader stage with it /
    without it (the zygote also as the CPU of the whole grading); the module checks beside the
    notebooks, as the whole grading with it / without it. Same submission, one run."""
    best = gains["all"]
    rows = []
    for name, gain in (("no kernels ahead", "kernels started ahead (killed at the end)"),
                       ("no judge reuse", "one judge per student"),
                       ("no zygote", "kernels forked from the student's zygote")):
        other = gains[name]
        same = "" if abs(other["score"] - best["score"]) < 1e-6 else ", but the scores differ"
        rows.append(Row(f"nbgrader stage of one submission, {gain} / without",
                        f"{best['nbgrader'] / other['nbgrader']:.2f}x ({best['nbgrader']:.1f} s "
                        f"/ {other['nbgrader']:.1f} s{same})"))
    other = gains["no zygote"]
    rows.append(Row("CPU of one student's grading (all its processes), kernels forked from "
                    "the student's zygote / each started on its own",
                    f"{best['cpu'] / other['cpu']:.2f}x ({best['cpu']:.1f} s / "
                    f"{other['cpu']:.1f} s)"))
    rows.append(Row("notebooks graded in a kernel started ahead / forked from the zygote",
                    f"{best['ahead']} / {best['forked']} of {best['notebooks']}"))
    after = gains["modules after"]
    same = "" if abs(after["score"] - best["score"]) < 1e-6 else ", but the scores differ"
    rows.append(Row("one student's grading, module checks beside the notebooks (a forked "
                    "process) / after them",
                    f"{best['total'] / after['total']:.2f}x ({best['total']:.1f} s / "
                    f"{after['total']:.1f} s{same})"))
    return rows


def _cli_start_up_rows():
    """`coursekit VERB` start-up, lazy (today) against the imports every call made before
    (nbformat, numpy, pytest loaded up front, as the verbs' modules did), interleaved."""
    import subprocess
    import sys

    eager = [sys.executable, "-c", "import sys, nbformat, numpy, pytest\n"
             "from coursekit.cli import main\nsys.exit(main(sys.argv[1:]))"]
    lazy = [sys.executable, "-m", "coursekit"]
    rows = []
    for argv in (["autograde", "--help"], ["ci-student-id", "Ada"]):
        now, before = best_times([
            lambda a=argv: subprocess.run([*lazy, *a], capture_output=True, check=True),
            lambda a=argv: subprocess.run([*eager, *a], capture_output=True, check=True)],
            repeats=3)
        rows.append(Row(f"`coursekit {' '.join(argv)}` start-up, lazy imports / eager (before)",
                        f"{now:.2f} s / {before:.2f} s"))
    # A batch's worker (and `coursekit autograde`) reads notebooks: nbformat, hence jsonschema,
    # whose IRI checker coursekit.startup defers. Before: jsonschema's checkers loaded first.
    worker = "import coursekit.autograde.batch"
    now, before = best_times([
        lambda: subprocess.run([sys.executable, "-c", worker], check=True),
        lambda: subprocess.run([sys.executable, "-c", f"import jsonschema._format; {worker}"],
                               check=True)], repeats=3)
    rows.append(Row("a grading worker's imports (coursekit.autograde.batch: nbgrader, nbformat), "
                    "jsonschema's IRI checker deferred (coursekit.startup) / imported (before)",
                    f"{now:.2f} s / {before:.2f} s"))
    return rows


# Stages whose time is not on the student's wall-clock path, named so.
STAGE_NAMES = {
    "modules": "modules (the wait for them after the notebooks)",
    "modules_beside": "modules, their own time beside the notebooks (not added to the total)",
}


def _floor_rows(floor, one, plain, kind):
    """Issue 15: the floor, each stage of grading and the whole grading as ratios to it."""
    base = floor["seconds"]
    per_student = one["total_seconds"] - one["prepare_seconds"]
    shown = ", ".join(f"{n} {t:.1f}" for n, t in floor["notebooks"].items())
    errors = f"; errors: {', '.join(floor['errors'][:3])}" if floor["errors"] else ""
    rows = [Row(f"floor: the five notebooks' own cells in grading mode ({kind}), seconds",
                f"{base:.1f} s ({shown}){errors}")]
    stages = {"scratch set-up": one["scratch_seconds"], **{
        k: v for k, v in one["stages"].items() if isinstance(v, (int, float))}}
    rows += [Row(f"autograde stage {STAGE_NAMES.get(name, name)} / floor",
                 f"{t / base:.2f}x ({t:.1f} s)") for name, t in stages.items()]
    rows += [
        Row("gradebook from the master notebooks (once per class, not per student) / floor",
            f"{one['prepare_seconds'] / base:.2f}x ({one['prepare_seconds']:.1f} s)"),
        Row("full autograde of one submission / floor", f"{per_student / base:.2f}x "
            f"({per_student:.0f} s, {one['score']:g}/{one['max_score']:g})",
            "<= 1.30x", per_student <= 1.3 * base),
        Row("plain `nbgrader autograde` of the same submission / floor",
            f"{plain['seconds'] / base:.2f}x ({plain['seconds']:.0f} s, "
            f"{len(plain['graded'])} notebooks graded)"),
        Row("course gradebook while grading one student: sessions opened, commits (their "
            "seconds)",
            "{opened} ({open_seconds:.1f} s), {commits} commits ({commit_seconds:.1f} s)"
            .format(**one["gradebook"])),
    ]
    overhead = {n: t - floor["notebooks"].get(n, 0) for n, t in one["notebooks"].items()
                if isinstance(t, (int, float))}
    if overhead:
        rows.append(Row("per notebook, nbgrader stage beyond its cells (kernel start, sandbox, "
                        "guard, judge, gradebook), seconds",
                        ", ".join(f"{n} {t:.1f}" for n, t in overhead.items())))
    return rows


def _once_running_row(what, left_out, run, floor, workers):
    """The row of a batch once running (benchmark.steady_seconds), when it was measured."""
    steady = run.get("steady_seconds_per_student")
    if not steady:
        return []
    nth = {1: "first", 2: "second", 3: "third"}.get(workers, f"{workers}th")
    return [Row(f"{what}, once running (from the {nth} student's finish to the last's: "
                f"{left_out}): per student / (floor / {workers})",
                f"{steady / (floor / workers):.2f}x ({60 / steady:.1f} students/min, "
                f"{steady:.0f} s each)", "<= 1.20x", steady <= 1.2 * floor / workers)]


def throughput_rows(floor, serial, pair, dask, side=None):
    """Students per minute with -j 1, -j 2 and Dask, against the per-student floor (N
    workers: within 1.2x of floor / N per student), and a class of 600 from the CPU time.
    `side` (benchmark.floor_side_by_side of two submissions): how much sharing the machine
    slows the cells alone, and the -j 2 batch against that floor (no target: what this
    machine allows)."""
    from coursekit.autograde.benchmark import class_cost

    rows = []
    if side:
        errors = f"; errors: {', '.join(side['errors'][:3])}" if side["errors"] else ""
        rows.append(Row(f"floor of {side['jobs']} submissions side by side (a process each, as "
                        f"-j {side['jobs']} shares the machine): per submission / floor alone",
                        f"{side['seconds'] / floor:.2f}x ({side['seconds']:.1f} s{errors})"))
    for run in (serial, pair):
        jobs, per = run["jobs"], run["seconds_per_student"]
        failed = f", errors: {', '.join(run['errors'])}" if run["errors"] else ""
        rows.append(Row(f"batch of {run['students']} with -j {jobs}: per student / (floor / "
                        f"{jobs})", f"{per / (floor / jobs):.2f}x ({60 / per:.1f} students/min, "
                        f"{per:.0f} s each{failed})", "<= 1.20x", per <= 1.2 * floor / jobs))
        rows += _once_running_row(f"batch of {run['students']} with -j {jobs}",
                                  "the workers' start and the final grades.csv left out, as in "
                                  "a class", run, floor, jobs)
        if run.get("end_seconds") is not None:
            rows.append(Row(f"batch of {run['students']} with -j {jobs}: from the last "
                            "student's finish to the batch's end (grades.csv and the summary; "
                            "the workers exit meanwhile), seconds",
                            f"{run['end_seconds']:.2f} s"))
        if side and jobs == side["jobs"]:
            rows.append(Row(f"batch of {run['students']} with -j {jobs}: per student / (floor "
                            f"side by side / {jobs})",
                            f"{per / (side['seconds'] / jobs):.2f}x"))
    if dask["available"]:
        workers, students = dask["workers"], dask["students"]
        fresh = dask.get("fresh")
        if fresh:
            per = fresh["seconds_per_student"]
            rows.append(Row(f"Dask, {workers} workers on this machine, batch of {students}, "
                            f"first run on a fresh cluster (each worker's set-up included): "
                            f"per student / (floor / {workers})",
                            f"{per / (floor / workers):.2f}x ({60 / per:.1f} students/min, "
                            f"{fresh['cpu_seconds_per_student']:.0f} s CPU each)"))
        per = dask["seconds_per_student"]
        rows.append(Row(f"Dask, {workers} workers on this machine, batch of {students}"
                        f"{', again on the running cluster' if fresh else ''}: "
                        f"per student / (floor / {workers})",
                        f"{per / (floor / workers):.2f}x ({60 / per:.1f} students/min, "
                        f"{dask['cpu_seconds_per_student']:.0f} s CPU each)",
                        "<= 1.20x", per <= 1.2 * floor / workers))
        rows += _once_running_row(f"Dask, {workers} workers on this machine, batch of "
                                  f"{students}{', again on the running cluster' if fresh else ''}",
                                  "the command's start, the class gradebook and grades.csv left "
                                  "out", dask, floor, workers)
        client = dask.get("client_cpu_seconds_per_student")
        if client is not None:
            # 0: the run of one cost the client as much as the batch (within the noise)
            pace = (f"one client keeps up with at most {60 / client:.0f} students/min"
                    if client > 0 else "no more than the run of one: within the noise")
            rows.append(Row(f"Dask client (the command alone): CPU of the batch of {students} / "
                            "what each further student adds (collect, send, receive, merge the "
                            "gradebook rows, write the results; a run of one beside it)",
                            f"{dask['client_cpu_seconds']:.1f} s / {client:.2f} s ({pace})"))
    else:
        rows.append(Row("Dask, 2 workers on this machine", f"not available ({dask['why']})"))
    cpu = serial["cpu_seconds_per_student"]
    rows += [
        Row("CPU time per student (user + sys, grader and its children, -j 1 / -j 2)",
            f"{cpu:.0f} s / {pair['cpu_seconds_per_student']:.0f} s"),
        Row("class of 600 on one 32-core machine, from the CPU time per student (-j 1)",
            f"{class_cost(cpu, 600, 32, 1):.2f} h ({class_cost(cpu, 600, 32, 1) * 60:.0f} min)"),
        Row("class of 600 on ten 32-core machines (Dask), same computation",
            f"{class_cost(cpu, 600, 32, 10) * 60:.1f} min"),
    ]
    client = dask.get("client_cpu_seconds_per_student") if dask["available"] else None
    if client:
        rows.append(Row("class of 600 on ten 32-core machines (Dask), the client's pace as a "
                        "bound (600 x its CPU per student, when longer)",
                        f"{class_cost(cpu, 600, 32, 10, client) * 60:.1f} min"))
    if serial.get("peak_rss_mb") and pair.get("peak_rss_mb"):
        one, two = serial["peak_rss_mb"], pair["peak_rss_mb"]
        # One more worker's grading (its kernels, module checks beside, judge) costs what the
        # -j 2 batch holds beyond the -j 1 one; the batch's own process is counted once.
        extra = max(0, two - one)
        rows += [
            Row("peak resident memory of the batch, -j 1 / -j 2 (summed over the grader's "
                "process tree, module checks beside: an upper bound, shared pages counted in "
                "each process)", f"{one / 1024:.1f} GB / {two / 1024:.1f} GB"),
            Row("-j 32 on one machine, resident memory estimated from them (-j 1 + 31 x the "
                "difference)", f"{(one + 31 * extra) / 1024:.0f} GB"),
        ]
    return rows


def dask_idle_rows(idle):
    """What an idle Dask cluster's own monitoring takes from grading, with Dask's defaults and
    with the course's grading settings (coursekit/autograde/dask-grading.yaml), side by side."""
    if not idle["available"]:
        return []
    default, grading = idle["default"], idle["grading"]
    return [Row(f"Dask cluster idle (scheduler, {idle['workers']} workers and their nannies), "
                "CPU seconds per minute: Dask's defaults / the grading settings "
                "(dask-grading.yaml; side by side)",
                f"{default:.2f} s / {grading:.2f} s ({default / max(grading, 0.01):.1f}x less)")]


def rerun_rows(rerun):
    """A rerun of a class graded already finding whom to grade (every submission fingerprinted,
    coursekit/autograde/graded.py): in -j processes / one after another."""
    serial, parallel = rerun["serial"], rerun["parallel"]
    return [Row(f"rerun of a class of {rerun['students']} graded already, finding whom to grade: "
                f"-j {rerun['jobs']} processes / one", f"{parallel / serial:.2f}x "
                f"({parallel:.1f} s / {serial:.1f} s)")]


def export_rows(export):
    """The export that ends every batch and `make grades`, for a large class: the class's
    grades read at once (gradebook.class_grades) / student by student through nbgrader's
    objects, as the export read them before (benchmark.export_of_a_class)."""
    n, at_once, one_by_one = export["students"], export["at_once"], export["one_by_one"]
    return [Row(f"export of a class of {n} (every result refreshed from the gradebook, "
                "grades.csv, the summary), seconds", f"{export['export']:.1f} s"),
            Row(f"the export's read of a class of {n}'s grades and comments: at once / student "
                "by student through nbgrader's objects", f"{at_once / one_by_one:.3f}x "
                f"({at_once:.2f} s / {one_by_one:.1f} s)")]


def gradebook_once_rows(once):
    """Issue 15: the gradebook written once per student (student_gradebook.py) against
    grading straight into the course's gradebook, measured side by side (benchmark.py)."""
    old, new = once["old"], once["new"]
    same = "" if new["score"] == old["score"] else ", but the scores differ"
    rows = [
        Row("course gradebook per student, a gradebook of their own / straight into it: "
            "sessions, commits (those that wrote)",
            f"{new['sessions']}, {new['commits']} ({new['writes']}) / {old['sessions']}, "
            f"{old['commits']} ({old['writes']}); {new['commit_seconds']:.2f} s / "
            f"{old['commit_seconds']:.2f} s committing", "1 write", new["writes"] == 1),
        Row("one student graded, own gradebook / straight into the course's",
            f"{new['one_seconds'] / old['one_seconds']:.2f}x ({new['one_seconds']:.1f} s / "
            f"{old['one_seconds']:.1f} s{same})"),
    ]
    a, b = new["batch"], old["batch"]
    errors = sorted(set(a["errors"]) | set(b["errors"]))
    rows.append(Row(f"batch of {a['students']} with -j {a['jobs']}, own gradebook / straight "
                    "into the course's", f"{a['seconds'] / b['seconds']:.2f}x "
                    f"({a['seconds']:.0f} s / {b['seconds']:.0f} s"
                    + (f", errors: {', '.join(errors)}" if errors else "") + ")"))
    return rows


def _jail_cost(submission, repeats=1):
    """The same submission graded in turn with the sandbox this machine allows and with none
    (COURSEKIT_JAIL=none: how grading ran before the jail); best of `repeats` each, interleaved.
    Returns (the first jailed timing, best jailed seconds, best bare seconds)."""
    from coursekit import jail
    from coursekit.autograde.benchmark import time_submission
    from coursekit.notebooks.run import environment

    saved = os.environ.get("COURSEKIT_JAIL") or None
    first, jailed, bare = None, float("inf"), float("inf")
    for _ in range(repeats):
        with environment(COURSEKIT_JAIL=saved):
            timing = time_submission(submission)
        first = first or timing
        jailed = min(jailed, timing["total_seconds"])
        with environment(COURSEKIT_JAIL="none"):
            plain = time_submission(submission)
        bare = min(bare, plain["total_seconds"])
        # A jail that breaks the notebooks is fast: the figure holds only for equal grades.
        first["same_score"] = first.get("same_score", True) and \
            abs(timing["score"] - plain["score"]) < 1e-6
    first["jail"] = saved or jail.mode()
    return first, jailed, bare


def _jail_rows(jailed, bare, one):
    """Issue 11: grading in the sandbox costs at most 10% over grading without it."""
    same = one["same_score"]
    figure = f"{jailed / bare:.2f}x ({jailed:.0f} s / {bare:.0f} s)"
    return [Row(f"autograde in the sandbox ({one['jail']}) / without it, same submission",
                figure if same else f"{figure}, but the scores differ",
                "<= 1.10x, same score", same and jailed / bare <= 1.10)]


def _slowest_notebook_row(seconds):
    """Issue 3: each notebook runs in grading mode in under a minute on 2 cores."""
    timed = {name: t for name, t in seconds.items() if isinstance(t, (int, float))}
    if not timed:
        return [Row("slowest notebook in grading mode (nbgrader autograde), seconds", "n/a")]
    name = max(timed, key=timed.get)
    return [Row("slowest notebook in grading mode (nbgrader autograde), seconds",
                f"{timed[name]:.0f} s ({name})", "<= 60 s", timed[name] <= 60)]


def bench_similarity():
    """Issue 16: the similarity report of a generated class of 600 in under 5 minutes."""
    from coursekit.similarity.benchmark import bench_similarity as rows

    return rows()


SECTIONS = {
    "knn": bench_knn,
    "softmax": bench_softmax,
    "fc": bench_fc_step,
    "release": bench_release,
    "grade-module": bench_grade_module,
    "autograde": bench_autograde,
    "similarity": bench_similarity,
}


def environment_line():
    from threadpoolctl import threadpool_info

    blas = threadpool_info()
    blas_desc = ", ".join(
        f"{b.get('internal_api')} {b.get('architecture', '')} x{b.get('num_threads')}" for b in blas
    )
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}, BLAS: {blas_desc or 'unknown'}")


def render(rows):
    lines = ["| figure | measured | target | |", "|---|---|---|---|"]
    lines += [f"| {r.what} | {r.figure} | {r.target} | {r.verdict} |" for r in rows]
    return "\n".join(lines)


def write_readme(table, env):
    try:
        replace_between(README, BEGIN, END, f"Measured with `make bench` on {env}.\n\n{table}")
    except ValueError as err:
        raise SystemExit(f"bench: {err}") from None


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m coursekit.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append",
                        help="run only this section (repeatable)")
    parser.add_argument("--write-readme", action="store_true",
                        help="rewrite the benchmark table in README.md")
    args = parser.parse_args(argv)

    env = environment_line()
    print(env, flush=True)
    rows = []
    for name in args.only or SECTIONS:
        print(f"[bench] {name} ...", flush=True)
        rows += SECTIONS[name]()
    table = render(rows)
    print(table)
    if args.write_readme:
        write_readme(table, env)
    missed = [r.what for r in rows if r.ok is False]
    if missed:
        print("targets missed: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
