"""Gradescope for real (slow): the zip of `coursekit gradescope build`, unpacked into a folder
laid out like /autograder, its setup.sh run as Gradescope runs it (twice: it must be safe to
rerun), then its run_autograder on three uploads (the master's solutions, the untouched release,
and a cheater graded in the fallback of Gradescope's containers, COURSEKIT_JAIL=uid). Each stage
runs once per pytest run, also under pytest-xdist; together about 5 minutes on 2 cores.

The layout lives in a folder of the system temp folder that every user may cross (0755), as /
is on Gradescope: pytest's own temporary folders are closed to other users (0700), and behind
them the permissions setup.sh gives (the secrets readable by root only, CIFAR-10 and the
virtualenv open to all) could not be told apart. It is removed when the last test using it is
done. The permission tests switch to an unprivileged user id of their own with `setpriv`
(they need root, as Gradescope's autograder runs).

Real here: the zip and its unpacking (`unzip`), setup.sh end to end (a virtualenv made from the
machine's Python 3.11 found on PATH, `pip install` of requirements.txt from the package index,
the editable course tooling, the gradebook), run_autograder with the virtualenv setup.sh made.
Not real: the CIFAR-10 download (synthetic CIFAR-10 is put where setup.sh looks; curl and wget
are stubs that fail and log, so any download attempt shows) and setup.sh's apt/deadsnakes
branch, which runs only on Ubuntu without a Python 3.11.5+: the fast tests at the end emulate
it with stubbed apt-get and add-apt-repository, and check setup.sh's other failure messages.
"""
import contextlib
import fcntl
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hidden_source import hidden_test_lines

from coursekit import jail
from coursekit.autograde import benchmark
from coursekit.autograde.gradescope import RUN_AUTOGRADER, SETUP_SH
from coursekit.course import current
from coursekit.synthetic import write_synthetic_cifar10

REPO_ROOT = current().root

# The Python 3.11 the repository's virtualenv was made from: the machine's, not a virtualenv's.
MACHINE_PYTHON = Path(sys._base_executable).resolve()
SOURCE = REPO_ROOT / "source" / "assignment1"
RELEASE = REPO_ROOT / "release" / "assignment1"
HIDDEN = REPO_ROOT / "grading" / "hidden"
# Settings of the machine running the tests that must not leak into the autograder's runs.
DROPPED_ENV = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "CS231N_CIFAR10_DIR",
               "NBGRADER_DB_URL", "GRADESCOPE_PYTHON", "AUTOGRADER_PYTHON", "AUTOGRADER_ROOT")
DATA_IN_ZIP = Path("source/course/cs231n/datasets/cifar-10-batches-py")
CACHE_IN_ZIP = Path("source/course/.cache/grading-data")
CIFAR_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]


def autograder_env(root, stubs):
    """The environment of Gradescope's runs: no virtualenv on PATH, downloaders stubbed."""
    own_bin = Path(sys.executable).parent
    path = [str(stubs), str(MACHINE_PYTHON.parent)] + [
        p for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and Path(p).resolve() != own_bin.resolve()]
    env = {k: v for k, v in os.environ.items()
           if k not in DROPPED_ENV and not k.startswith(("PYTEST", "COV_"))}
    env.update(PATH=os.pathsep.join(path), AUTOGRADER_ROOT=str(root))
    return env


def downloader_stubs(folder):
    """curl and wget that fail and append their command line to folder/downloads.log."""
    folder.mkdir(parents=True)
    for name in ("curl", "wget"):
        stub = folder / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "{folder}/downloads.log"\nexit 1\n')
        stub.chmod(0o755)
    return folder / "downloads.log"


@contextlib.contextmanager
def stages_lock(tmp_path_factory):
    """Held while a stage runs or is read, and while the layout is removed; yields the
    folder of the stages' records, shared by the run's pytest-xdist workers."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent   # the run's folder, shared by its workers
    folder = base / "gradescope"
    folder.mkdir(exist_ok=True)
    with open(base / "gradescope.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield folder


@contextlib.contextmanager
def shared_stage(tmp_path_factory, name):
    """The stage `name` runs once per pytest run, even when pytest-xdist workers share the
    tests: the first worker to ask runs it (under a lock) and records its outcome as JSON; the
    others wait and read it. Yields (folder, outcome or None: the caller runs the stage)."""
    with stages_lock(tmp_path_factory) as folder:
        record = folder / f"{name}.json"
        outcome = json.loads(record.read_text()) if record.exists() else None
        if outcome is None:
            outcome = {}
            try:
                yield folder, outcome
            except Exception as exc:   # recorded, so the other worker does not redo it
                outcome["error"] = f"{type(exc).__name__}: {exc}"
            record.write_text(json.dumps(outcome))
        else:
            yield folder, outcome
    if "error" in outcome:
        pytest.fail(f"Gradescope stage {name!r} failed: {outcome['error']}", pytrace=False)


@pytest.fixture(scope="module")
def gradescope(tmp_path_factory):
    """An /autograder-like folder after setup.sh: (root, env, zip path, setup.sh's output, the
    output of its second run)."""
    users = None
    with shared_stage(tmp_path_factory, "setup") as (tmp, outcome):
        if not outcome:
            parent = Path(tempfile.mkdtemp(prefix="cs231n-gradescope-"))
            parent.chmod(0o755)   # crossable by all, as / is on Gradescope
            outcome["root"] = str(parent / "autograder")
            try:
                outcome["output"], outcome["rerun"], outcome["cache"] = set_up(
                    tmp, Path(outcome["root"]))
            except BaseException:
                shutil.rmtree(parent, ignore_errors=True)
                raise
        if "error" not in outcome:
            # Each worker using the layout holds a shared lock on it; the last one removes it.
            users = open(Path(outcome["root"]).parent / "users.lock", "a")  # noqa: SIM115
            fcntl.flock(users, fcntl.LOCK_SH)
    root = Path(outcome["root"])
    yield (root, autograder_env(root, tmp / "stubs"), tmp / "autograder.zip", outcome["output"],
           outcome["rerun"], outcome["cache"])
    with stages_lock(tmp_path_factory) as folder:
        users.close()
        with open(root.parent / "users.lock", "a") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return   # another worker still grades in it: it removes it
        shutil.rmtree(root.parent, ignore_errors=True)
        (folder / "setup.json").unlink(missing_ok=True)   # a worker coming later sets up again


def set_up(tmp, root):
    """Build the zip, unzip it into root/source, add the data, run setup.sh twice (Gradescope
    may run it again: the second run must leave the same autograder); the two outputs and the
    files of the grading cache setup.sh left (before any submission is graded)."""
    log = downloader_stubs(tmp / "stubs")
    env = autograder_env(root, tmp / "stubs")
    coursekit = Path(sys.executable).with_name("coursekit")
    subprocess.run([str(coursekit), "gradescope", "build", "--out", str(tmp / "autograder.zip")],
                   cwd=REPO_ROOT, check=True, capture_output=True, timeout=120)
    (root / "source").mkdir(parents=True)
    subprocess.run(["unzip", "-q", str(tmp / "autograder.zip"), "-d", str(root / "source")],
                   check=True)
    write_synthetic_cifar10((root / DATA_IN_ZIP).parent, num_train=1500, num_test=300)
    setup = subprocess.run(["bash", "setup.sh"], cwd=root / "source", env=env,
                           capture_output=True, text=True, timeout=1200)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    assert not log.exists(), f"setup.sh tried to download: {log.read_text()}"
    # Gradescope copies run_autograder next to source/ and runs it from there.
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    again = subprocess.run(["bash", "setup.sh"], cwd=root / "source", env=env,
                           capture_output=True, text=True, timeout=1200)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    cache = root / CACHE_IN_ZIP
    files = sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file())
    return setup.stdout + setup.stderr, again.stdout + again.stderr, files


def run_autograder(gradescope, make_submission, **env):
    """Upload a submission, run run_autograder; (results.json, its output)."""
    root = gradescope[0]
    env = {**gradescope[1], **env}
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
    make_submission(root / "submission")
    proc = subprocess.run([str(root / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = root / "results" / "results.json"
    assert results.is_file(), f"run_autograder wrote no results.json: {proc.stderr[-3000:]}"
    return json.loads(results.read_text()), proc.stdout + proc.stderr


def graded_outcome(tmp_path_factory, gradescope, make_submission, **env):
    """The stage of one upload: results.json and the output of run_autograder, the grader's own
    result (its notes say how the code was confined), the graded notebooks as published (with
    their outputs), and which published files an unprivileged user could read (None: the
    tests do not run as root)."""
    with shared_stage(tmp_path_factory, make_submission.__name__) as (_, outcome):
        if not outcome:
            outcome["results"], outcome["output"] = run_autograder(gradescope, make_submission,
                                                                   **env)
            work = gradescope[0] / "source" / "work"
            outcome["result"] = json.loads((work / "autograded" / "student"
                                            / "assignment1.json").read_text())
            published = work / "autograded" / "student" / "assignment1"
            outcome["notebooks"] = {p.stem: p.read_text() for p in published.glob("*.ipynb")}
            files = [p for p in sorted(work.rglob("*")) if p.is_file() and not p.is_symlink()]
            outcome["files"] = [str(p) for p in files]
            outcome["readable"] = ([str(p) for p in readable_by_others(files)]
                                   if can_switch_user() else None)
    return outcome


def graded(tmp_path_factory, gradescope, make_submission):
    outcome = graded_outcome(tmp_path_factory, gradescope, make_submission)
    return outcome["results"], outcome["output"]


def models_for(data_dir):
    """Saved models that classify the synthetic images well: the master's own were trained on
    the real CIFAR-10. Inputs as the rubric says (raw: pixels minus the mean training image,
    rows channels-last for the linear models and channels-first for the nets; features: HOG +
    25-bin hue histogram, standardised); weights: the nearest class mean as a linear map, and
    for the nets a fixed random ReLU layer under it. Seconds, no training loop."""
    from cs231n import features
    from cs231n.data_utils import load_CIFAR10

    X, y = load_CIFAR10(str(data_dir))[:2]
    centered = X - X.mean(axis=0)
    feats = features.extract_features(
        X, [features.hog_feature, lambda im: features.color_histogram_hsv(im, nbin=25)])
    feats = (feats - feats.mean(axis=0)) / feats.std(axis=0)

    def nearest_mean(inputs):   # (D + 1, 10): the bias row last
        means = np.stack([inputs[y == c].mean(axis=0) for c in range(10)])
        return np.vstack([means.T, -0.5 * (means ** 2).sum(axis=1)])

    def net(inputs, hidden):
        W1 = np.random.default_rng(0).standard_normal((inputs.shape[1], hidden))
        W = nearest_mean(np.maximum(inputs @ W1, 0))
        return {"W1": W1, "b1": np.zeros(hidden), "W2": W[:-1], "b2": W[-1]}

    rows = centered.reshape(len(X), -1)
    linear = {"W": nearest_mean(rows)}
    return {"softmax.npy": linear, "best_softmax.npy": linear,
            "best_two_layer_net.npy": net(centered.transpose(0, 3, 1, 2).reshape(len(X), -1),
                                          100),
            "best_softmax_features.npy": {"W": nearest_mean(feats)},
            "best_two_layer_net_features.npy": net(feats, 500)}


def master(dest):
    """The master's notebooks and package, with saved models fit to the setup's data."""
    return benchmark.master_submission(dest, models_for(dest.parent / DATA_IN_ZIP))


def release(dest):
    """The untouched student release."""
    assert RELEASE.is_dir(), "release/assignment1 is missing: run `make release` first"
    shutil.copytree(RELEASE, dest)


@pytest.fixture(scope="module")
def master_graded(tmp_path_factory, gradescope):
    return graded_outcome(tmp_path_factory, gradescope, master)


@pytest.fixture(scope="module")
def master_results(master_graded):
    return master_graded["results"], master_graded["output"]


@pytest.fixture(scope="module")
def release_results(tmp_path_factory, gradescope):
    return graded(tmp_path_factory, gradescope, release)



@pytest.mark.slow
def test_zip_holds_only_the_scripts_and_the_private_course(gradescope):
    with zipfile.ZipFile(gradescope[2]) as z:
        names = z.namelist()
    top = {n.split("/", 1)[0] for n in names}
    assert top == {"setup.sh", "run_autograder", "gradescope.json", "course"}
    # No student work, grades, gradebook, dataset or environment of the instructor's checkout.
    unwanted = re.compile(r"(^|/)(submitted|autograded|feedback|\.venv|cifar-10-batches-py|"
                          r"\.git)/|gradebook\.db$|\.pyc$")
    assert [n for n in names if unwanted.search(n)] == []


@pytest.mark.slow
def test_setup_sh_runs_every_step_and_says_so(gradescope):
    for output in gradescope[3:5]:   # the first run and the second
        steps = re.findall(r"^setup\.sh: (\d)/5 ", output, flags=re.M)
        assert steps == ["1", "2", "3", "4", "5"], output[-3000:]
        assert "already complete" in output and "nothing downloaded" in output
        assert "setup.sh: error" not in output
        assert "setup.sh: done: run_autograder can grade submissions" in output


@pytest.mark.slow
def test_setup_sh_makes_its_venv_from_the_machines_python_with_the_pinned_tooling(gradescope):
    root, env = gradescope[:2]
    venv = root / "venv"
    cfg = (venv / "pyvenv.cfg").read_text()
    home = re.search(r"^home = (.+)$", cfg, flags=re.M).group(1).strip()
    assert Path(home).resolve() == MACHINE_PYTHON.parent, cfg
    # past.builtins (the future package): the official starter's modules import it.
    probe = ("import importlib.util, nbgrader, numpy, coursekit, past.builtins; "
             "print(nbgrader.__file__); print(numpy.__version__); print(coursekit.__file__); "
             "print(importlib.util.find_spec('cs231n'))")
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", probe], cwd="/", env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    nbgrader_file, numpy_version, coursekit_file, cs231n_spec = proc.stdout.split("\n")[:4]
    assert Path(nbgrader_file).is_relative_to(venv)
    pinned = dict(line.split("==") for line in (REPO_ROOT / "requirements.txt").read_text()
                  .splitlines() if "==" in line and not line.startswith("#"))
    assert numpy_version == pinned["numpy"]
    # The course tooling runs from the unpacked zip; the master package is not importable.
    assert Path(coursekit_file).is_relative_to(root / "source" / "course")
    assert cs231n_spec == "None"
    # So run_autograder, which gets no GRADESCOPE_PYTHON here, can only have graded with it.
    other = subprocess.run(["python3.11", "-c", "import nbgrader"], env=env, cwd="/",
                           capture_output=True, timeout=60)
    assert other.returncode != 0, "the machine's python3.11 has nbgrader: the test proves less"


@pytest.mark.slow
def test_setup_sh_records_the_master_notebooks_in_the_gradebook(gradescope):
    root = gradescope[0]
    gradebook = list((root / "source").rglob("gradebook.db"))
    assert gradebook, "setup.sh left no gradebook.db under source/"
    with sqlite3.connect(gradebook[0]) as db:
        notebooks = {row[0] for row in db.execute("SELECT name FROM notebook")}
    assert notebooks == {p.stem for p in SOURCE.glob("*.ipynb")}


@pytest.mark.slow
def test_setup_sh_prepares_the_grading_data_into_the_image(gradescope, master_results):
    """Gradescope grades each submission in a fresh container of the image setup.sh built:
    the grading cache must be in it, or every submission prepares it again (minutes of CPU
    with the real CIFAR-10)."""
    cache = gradescope[5]
    subset = {"X_train.npy", "y_train.npy", "X_test.npy", "y_test.npy", "features_train.npy",
              "features_test.npy"}
    assert subset <= {Path(f).name for f in cache if f.startswith("notebooks/cifar10-")}
    assert any(f.startswith("models/cifar10-") and f.endswith(".npy") for f in cache), cache
    assert "grading subset ready" in gradescope[3]
    assert "preparing" not in gradescope[4]             # the second setup.sh finds it all
    _, output = master_results
    assert "coursekit autograde: preparing" not in output, output[-2000:]


def assert_gradescope_format(data):
    assert set(data) >= {"score", "tests"}
    assert data["tests"], "results.json has no tests"
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility"}, test
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert test["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
        assert 0 <= test["score"] <= test["max_score"] + 1e-9, test
    names = [t["name"] for t in data["tests"]]
    assert len(names) == len(set(names))
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]), abs=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["master", "release"])
def test_results_json_follows_gradescope_format(which, request):
    data, _ = request.getfixturevalue(f"{which}_results")
    assert_gradescope_format(data)


@pytest.mark.slow
def test_master_gets_every_automatic_point(master_results):
    data, output = master_results
    lost = {t["name"]: (t["score"], t["max_score"], t["output"]) for t in data["tests"]
            if t["score"] < t["max_score"] - 1e-9}
    assert lost == {}, output[-2000:]
    assert data["score"] == pytest.approx(sum(t["max_score"] for t in data["tests"]))
    kinds = {t["name"].split(":", 1)[0] for t in data["tests"]}
    assert {p.stem for p in SOURCE.glob("*.ipynb")} | {"module", "model"} <= kinds
    assert len([t for t in data["tests"] if "_inline_q" in t["name"]]) == 5   # choice answers
    # The saved models were graded on the data setup.sh left in place.
    models = [t for t in data["tests"] if t["name"].startswith("model:")]
    assert len(models) == 5 and all("test accuracy" in t["output"] for t in models), models


@pytest.mark.slow
def test_release_gets_a_low_score(master_results, release_results):
    master_data, release_data = master_results[0], release_results[0]
    possible = sum(t["max_score"] for t in release_data["tests"])
    assert possible == pytest.approx(sum(t["max_score"] for t in master_data["tests"]))
    assert release_data["score"] < 0.1 * possible, release_data["score"]


def hidden_material():
    """Lines of the hidden tests (master notebooks, hidden checks) and reference values."""
    lines = hidden_test_lines(SOURCE)
    # Code lines of the hidden module checks (their message strings are meant to be shown).
    lines += [ln.strip() for path in sorted(HIDDEN.glob("test_*.py"))
              for ln in path.read_text().splitlines()
              if len(ln.strip()) > 25 and not ln.strip().startswith("#")
              and not any(q in ln for q in "\"'")]
    assert len(lines) > 50
    numbers = set(re.findall(r"-?\d\.\d{8,}", (HIDDEN / "references.json").read_text()))
    return lines, numbers


@pytest.mark.slow
@pytest.mark.parametrize("which", ["master", "release"])
def test_results_json_holds_no_hidden_test_source_or_reference_values(which, request):
    data, _ = request.getfixturevalue(f"{which}_results")
    lines, numbers = hidden_material()
    assert lines and numbers, "no hidden tests or reference values to look for"
    texts = [data.get("output", "")] + [t["output"] for t in data["tests"]]
    text = "\n".join(texts)
    assert [ln for ln in lines if ln in text] == []
    assert sorted(n for n in numbers if n in text)[:5] == []


# --- what an unprivileged user may read: the fallback where bubblewrap cannot run -------------

def can_switch_user():
    return os.geteuid() == 0 and shutil.which("setpriv") is not None


needs_root = pytest.mark.skipif(not can_switch_user(), reason="switching to an unprivileged "
                                "user needs root and setpriv (Gradescope's autograder is root)")


def as_other(argv, timeout=120):
    """Run argv as an unprivileged user id of its own, no groups, from /, in a bare environment,
    as jail.py's fallback runs student code. `env` starts argv, not setpriv: setpriv still holds
    root's capabilities when it starts a program, so a program in a folder closed to others
    would start all the same."""
    uid = jail.new_uid()
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                           "env", "-i", "PATH=/usr/bin:/bin", "LANG=C.UTF-8", *map(str, argv)],
                          cwd="/", capture_output=True, text=True, timeout=timeout)


def readable_by_others(files):
    """The files of `files` an unprivileged user can read (`cat`)."""
    loop = 'for f; do cat -- "$f" >/dev/null 2>&1 && printf "%s\\n" "$f"; done; true'
    proc = as_other(["sh", "-c", loop, "sh", *files])
    return [Path(line) for line in proc.stdout.splitlines()]


def listable_by_others(folders):
    """The folders of `folders` an unprivileged user can list (`ls`)."""
    loop = 'for d; do ls -a -- "$d" >/dev/null 2>&1 && printf "%s\\n" "$d"; done; true'
    proc = as_other(["sh", "-c", loop, "sh", *folders])
    return [Path(line) for line in proc.stdout.splitlines()]


def python_starts_for_others(root):
    """Whether an unprivileged user can start the virtualenv's Python and import numpy (where
    the machine's Python lives in a folder closed to others, such as /root, it cannot)."""
    return as_other([root / "venv" / "bin" / "python", "-I", "-c", "import numpy"]).returncode == 0


def secrets_and_their_folders(root):
    """Every file of the unpacked zip but the tooling, the data, the notebooks' grading subset
    and the output root (the master notebooks, the master package, grading/,
    nbgrader_config.py, the gradebook, the saved models' prepared inputs, the zip's own files,
    whatever else the zip holds), and every folder holding them."""
    source = root / "source"
    course = source / "course"
    open_to_all = {course / "coursekit", root / DATA_IN_ZIP, source / "work",
                   root / CACHE_IN_ZIP / "notebooks"}
    files, folders = [root / "run_autograder"], []
    for folder, dirs, names in os.walk(source):
        folders.append(Path(folder))
        dirs[:] = sorted(d for d in dirs if Path(folder, d) not in open_to_all)
        files += [Path(folder, n) for n in sorted(names)]
    return files, folders


PERMISSIONS = {   # what setup.sh's last step leaves (its header says why)
    "source": 0o711, "source/course": 0o711, "source/course/cs231n": 0o711,
    "source/course/cs231n/datasets": 0o711, str(DATA_IN_ZIP): 0o755,
    "source/work": 0o711, "source/work/autograded": 0o711,
    "source/work/autograded/student": 0o700,
    "source/course/source": 0o700, "source/course/grading": 0o700,
    "source/course/cs231n/classifiers": 0o700, "source/course/coursekit": 0o755,
    "source/course/.cache": 0o711, "source/course/.cache/grading-data": 0o711,
    "source/course/.cache/grading-data/notebooks": 0o755,
    "source/course/.cache/grading-data/models": 0o700,
    "source/gradescope.json": 0o600, "source/course/nbgrader_config.py": 0o600,
    "source/course/gradebook.db": 0o600, "source/course/cs231n/layers.py": 0o600,
    "source/setup.sh": 0o700, "source/run_autograder": 0o700, "run_autograder": 0o700,
}


@pytest.mark.slow
def test_setup_sh_gives_the_autograders_files_their_permissions(gradescope):
    root = gradescope[0]
    modes = {rel: stat.S_IMODE((root / rel).stat().st_mode) for rel in PERMISSIONS}
    assert modes == PERMISSIONS
    assert stat.S_IMODE(root.stat().st_mode) & 0o001   # crossable on the way to the venv


@pytest.mark.slow
@needs_root
def test_an_unprivileged_user_cannot_read_the_secrets_nor_list_their_folders(gradescope):
    root = gradescope[0]
    files, folders = secrets_and_their_folders(root)
    course = root / "source" / "course"
    # The list holds what must stay secret (not an empty walk that proves nothing).
    assert {course / "grading" / "hidden" / "references.json", course / "nbgrader_config.py",
            course / "gradebook.db", course / "cs231n" / "layers.py",
            course / "cs231n" / "classifiers" / "fc_net.py", root / "source" / "gradescope.json",
            root / "source" / "setup.sh", root / "run_autograder"} <= set(files)
    assert {p.name for p in files if p.parent == course / "source" / "assignment1"} == {
        p.name for p in SOURCE.glob("*.ipynb")}
    assert len(files) > 40 and all(p.is_file() for p in files)
    assert readable_by_others(files) == []
    assert listable_by_others(folders) == []
    # Root reads them all: the user switch is what stops the loops above.
    assert all(os.access(p, os.R_OK) for p in files)


@pytest.mark.slow
@needs_root
def test_an_unprivileged_user_can_read_what_student_code_needs(gradescope):
    root = gradescope[0]
    venv, data = root / "venv", root / DATA_IN_ZIP
    site = next((venv / "lib").glob("python3*/site-packages"))
    needed = [data / name for name in CIFAR_FILES] + [
        venv / "pyvenv.cfg", site / "numpy" / "__init__.py", site / "nbformat" / "__init__.py",
        *sorted(site.glob("__editable__*coursekit*")),
        root / "source" / "course" / "coursekit" / "__init__.py"]
    assert all(p.is_file() for p in needed)
    assert readable_by_others(needed) == needed
    assert listable_by_others([data, site / "numpy"]) == [data, site / "numpy"]
    # Crossable, not listable: the way to the data and to the grader's staging folders.
    work = root / "source" / "work"
    assert as_other(["test", "-x", work / "autograded"]).returncode == 0
    assert as_other(["test", "-x", data.parent]).returncode == 0


@pytest.mark.slow
@needs_root
def test_setup_sh_says_whether_student_code_can_run_as_an_unprivileged_user(gradescope):
    """It can where the interpreter is open to all (Gradescope's deadsnakes Python in /usr);
    not where it lives in a folder closed to others (a pyenv under /root, 0700): then jail.py
    falls back to the grader's own user, and setup.sh warns."""
    root, env = gradescope[:2]
    starts = python_starts_for_others(root)
    # setup.sh's check, jail.py's and this test's agree.
    probe = subprocess.run([str(root / "venv" / "bin" / "python"), "-c",
                            "from coursekit import jail; print(jail.uid_works())"],
                           cwd="/", env=env, capture_output=True, text=True, timeout=120)
    assert probe.stdout.strip() == str(starts), probe.stderr
    for output in gradescope[3:5]:
        if starts:
            assert "checked: an unprivileged user can start" in output
        else:
            assert "setup.sh: warning: an unprivileged user cannot start" in output
            assert "student code will run as root" in output


@pytest.mark.slow
@needs_root
def test_an_unprivileged_user_reads_the_notebooks_grading_subset_not_the_models_inputs(
        gradescope):
    """The kernels (another user, no jail) read the prepared subset instead of the whole
    CIFAR-10; what only the grader reads stays root's."""
    from coursekit.autograde import nbgrade

    cache = gradescope[0] / CACHE_IN_ZIP
    subset = sorted(p for p in (cache / "notebooks").rglob("*") if p.is_file())
    models = sorted(p for p in (cache / "models").rglob("*") if p.is_file())
    assert subset and models
    assert readable_by_others(subset) == subset
    assert readable_by_others(models) == []
    assert listable_by_others([cache, cache.parent]) == []
    assert nbgrade._open_to_all(cache / "notebooks")       # the uid fallback hands it out


# --- a cheater graded in the fallback ---------------------------------------------------------

STEAL = '''
import json, os

def steal(paths):
    """What this code finds at the autograder's own files: for each, how many bytes it read,
    or the error of a plain open and of one the in-kernel guard does not see (relative to a
    descriptor of /: the guard is no boundary, the file's permissions must be)."""
    found, texts = {}, {}
    top = os.open("/", os.O_RDONLY)
    for name, path in paths.items():
        tries = []
        for how in ("open", "dir_fd"):
            try:
                if how == "open":
                    with open(path, "rb") as f:
                        texts[name] = f.read()
                else:
                    fd = os.open(path.lstrip("/"), os.O_RDONLY, dir_fd=top)
                    with os.fdopen(fd, "rb") as f:
                        texts[name] = f.read()
                tries.append(f"{how}: read {len(texts[name])} bytes")
                break
            except Exception as e:
                tries.append(f"{how}: {type(e).__name__} errno {getattr(e, 'errno', None)}")
        found[name] = "; ".join(tries)
    os.close(top)
    return found, texts
'''


def stolen_paths(root):
    course = root / "source" / "course"
    return {"references": str(course / "grading" / "hidden" / "references.json"),
            "notebook": str(course / "source" / "assignment1" / "knn.ipynb"),
            "layers": str(course / "cs231n" / "layers.py")}


def cheater(dest):
    """The release, whose code reads the autograder's secrets by absolute path, in a notebook
    cell and in a module function, and writes what it found to its output; had it read the
    master layers.py, it would run the master's affine_forward (points it did not earn)."""
    release(dest)
    paths = repr(stolen_paths(dest.parent))
    layers = dest / "cs231n" / "layers.py"
    code = layers.read_text().replace("def affine_forward(", "def _stub_affine_forward(", 1)
    layers.write_text(code + STEAL + f"""
def affine_forward(x, w, b):
    found, texts = steal({paths})
    if "layers" in texts:
        master = {{}}
        exec(texts["layers"], master)
        return master["affine_forward"](x, w, b)
    raise RuntimeError("CHEAT-FOUND " + json.dumps(found))
""")
    notebook = dest / "FullyConnectedNets.ipynb"
    nb = json.loads(notebook.read_text())
    cell = STEAL + f"""
found, texts = steal({paths})
print("CHEAT-FOUND " + json.dumps(found) + " as uid", os.getuid())
if "layers" in texts:
    import cs231n.layers
    exec(texts["layers"], vars(cs231n.layers))
"""
    nb["cells"].insert(2, {"cell_type": "code", "id": "cheater-reads-the-secrets",
                           "execution_count": None, "metadata": {}, "outputs": [],
                           "source": cell})
    notebook.write_text(json.dumps(nb, indent=1))


@pytest.fixture(scope="module")
def cheater_graded(tmp_path_factory, gradescope):
    return graded_outcome(tmp_path_factory, gradescope, cheater, COURSEKIT_JAIL="uid")


def cheat_reports(outcome):
    """Every `CHEAT-FOUND {...}` the cheater's code wrote, by where it went: "kernel" (the
    outputs of the graded notebooks), "module" (the messages of the module checks), "elsewhere"
    (the rest of results.json and of the grader's result)."""
    def strings(value):
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            if value and all(isinstance(v, str) for v in value):
                return ["".join(value)]   # a notebook's lines
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    def found(values):
        return [json.loads(m.group(1)) for text in strings(values)
                for m in re.finditer(r"CHEAT-FOUND (\{.*?\})", text)]

    items = outcome["result"]["items"]
    module = [i for i in items if i["id"].startswith("module:")]
    return {"kernel": found([json.loads(nb)["cells"] for nb in outcome["notebooks"].values()]),
            "module": found(module),
            "elsewhere": found([outcome["results"], [i for i in items if i not in module],
                                {k: v for k, v in outcome["result"].items() if k != "items"}])}


@pytest.mark.slow
@needs_root
def test_a_cheater_in_the_uid_fallback_reads_nothing_and_gains_nothing(cheater_graded,
                                                                       release_results,
                                                                       gradescope):
    """Graded with COURSEKIT_JAIL=uid (Gradescope's containers forbid bubblewrap's
    namespaces): the notes say so; whatever of the cheater's code ran got a PermissionError at
    every secret, and it scored no more than the untouched release."""
    root = gradescope[0]
    result, data = cheater_graded["result"], cheater_graded["results"]
    assert jail.notes("uid") in result["grader_notes"], result["grader_notes"]
    assert "ran as an unprivileged user" in jail.notes("uid")
    assert data["score"] <= release_results[0]["score"] + 1e-9
    affine = [t for t in data["tests"] if "affine_forward" in t["name"]]
    assert affine and all(t["score"] == 0 for t in affine), affine
    reports = cheat_reports(cheater_graded)
    everything = [r for where in reports.values() for r in where]
    for report in everything:
        assert set(report) == {"references", "notebook", "layers"}, report
        assert not [how for how in report.values() if "bytes" in how], report
    # What the student sees holds none of the hidden tests.
    assert not [ln for ln in hidden_material()[0] if ln in json.dumps(data)]
    if can_switch_user() and python_starts_for_others(root):
        # The code ran as its own user: the notebook's cell and the module function both
        # wrote what they found, and the files' permissions (not the in-kernel guard) stopped
        # the open the guard does not see: errno 13, EACCES.
        assert reports["kernel"] and reports["module"], cheater_graded["output"][-3000:]
        assert all("PermissionError errno 13" in report[name] for report in everything
                   for name in ("references", "layers")), reports
    else:
        # A machine whose interpreter lives in a folder closed to other users (this one's is
        # under /root): in the fallback no code of the submission could start, neither kernel
        # nor module worker. It read nothing and scored 0, and the notes still say which mode
        # ran; the permissions themselves are proven without Python (`cat` as another user).
        assert everything == []
        assert data["score"] == 0
        interpreter = str(root / "venv" / "bin" / "python")
        assert {name: info["status"] for name, info in result["notebooks"].items()} == {
            name: "failed" for name in result["notebooks"]}
        assert all(f"PermissionError: [Errno 13] Permission denied: '{interpreter}'"
                   in info["message"] for info in result["notebooks"].values())


@pytest.mark.slow
@needs_root
@pytest.mark.parametrize("which", ["master", "cheater"])
def test_what_grading_leaves_in_the_output_root_is_root_only(which, request):
    """The graded notebooks (hidden tests put back), the grader's result, grades.csv: a process
    of the student's that outlived its notebook (the fallback has no PID namespace) could read
    none of them."""
    outcome = request.getfixturevalue(f"{which}_graded")
    assert outcome["files"], "grading published nothing"
    readable = [Path(p) for p in outcome["readable"]]
    assert [p for p in readable if p.suffix in (".ipynb", ".json", ".csv", ".md", ".py")] == []
    assert not [p for p in readable if "student" in p.parts]



# --- setup.sh's checks, fast: an unpacked layout without the course, nothing installed -------

def setup_layout(tmp_path):
    """tmp_path/autograder/source as the zip leaves it, minus most of the course."""
    root = tmp_path / "autograder"
    source = root / "source"
    datasets = source / "course" / "cs231n" / "datasets"
    datasets.mkdir(parents=True)
    (source / "setup.sh").write_text(SETUP_SH)
    (source / "gradescope.json").write_text("{}\n")
    (source / "course" / "requirements.txt").write_text("numpy\n")
    shutil.copy(REPO_ROOT / "cs231n" / "datasets" / "get_datasets.sh", datasets)
    return root, datasets / "cifar-10-batches-py"


def run_setup(root, tmp_path, **env):
    log = downloader_stubs(tmp_path / "stubs")
    base = autograder_env(root, tmp_path / "stubs")
    proc = subprocess.run(["bash", "setup.sh"], cwd=root / "source", env={**base, **env},
                          capture_output=True, text=True, timeout=60)
    return proc, (log.read_text() if log.exists() else "")


def cifar_folder(path, files=CIFAR_FILES):
    path.mkdir(parents=True)
    for name in files:
        (path / name).write_bytes(b"not empty")
    return path


def failing_venv_python(tmp_path):
    """A Python 3.11.5+ whose `-m venv` fails: setup.sh stops at its third step."""
    path = tmp_path / "python-without-venv"
    path.write_text(f'#!/bin/sh\nif [ "$1" = -m ]; then echo "no venv module" >&2; exit 1; fi\n'
                    f'exec "{MACHINE_PYTHON}" "$@"\n')
    path.chmod(0o755)
    return path


def test_setup_sh_outside_an_unpacked_zip_says_where_to_unzip_it(tmp_path):
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "source" / "setup.sh").write_text(SETUP_SH)
    proc, _ = run_setup(root, tmp_path)
    assert proc.returncode != 0
    assert "does not hold the unpacked autograder" in proc.stderr
    assert f"unzip the zip of 'make gradescope' into {root / 'source'}" in proc.stderr


@pytest.mark.parametrize("program", ["/bin/true", "/bin/echo", "/no/such/python3.11"])
def test_setup_sh_refuses_an_autograder_python_that_is_not_python_311(tmp_path, program):
    root, _ = setup_layout(tmp_path)
    proc, _ = run_setup(root, tmp_path, AUTOGRADER_PYTHON=program)
    assert proc.returncode != 0
    assert f"AUTOGRADER_PYTHON={program} is not a Python 3.11" in proc.stderr
    assert "setup.sh: to fix: point AUTOGRADER_PYTHON at" in proc.stderr
    assert not (root / "venv").exists()


def test_setup_sh_without_python_311_or_apt_says_what_to_install(tmp_path):
    root, _ = setup_layout(tmp_path)
    bare = tmp_path / "bare-bin"   # no python, no apt-get: only what the message needs
    bare.mkdir()
    (bare / "tr").symlink_to(shutil.which("tr"))
    proc = subprocess.run(["/bin/bash", "setup.sh"], cwd=root / "source", timeout=60,
                          env={"PATH": str(bare), "AUTOGRADER_ROOT": str(root)},
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "no Python 3.11 (3.11.5 or newer) on PATH" in proc.stderr
    assert "AUTOGRADER_PYTHON=/path/to/python3.11" in proc.stderr


def test_setup_sh_checks_cifar10_dir_before_installing_anything(tmp_path):
    root, data = setup_layout(tmp_path)
    partial = cifar_folder(tmp_path / "partial" / "cifar-10-batches-py", ["data_batch_1"])
    proc, downloads = run_setup(root, tmp_path, AUTOGRADER_PYTHON=str(MACHINE_PYTHON),
                                CS231N_CIFAR10_DIR=str(partial))
    assert proc.returncode != 0
    assert f"CS231N_CIFAR10_DIR={partial} is not a complete cifar-10-batches-py" in proc.stderr
    assert "test_batch" in proc.stderr and downloads == ""
    assert not (root / "venv").exists() and not data.exists()


def test_setup_sh_links_cifar10_dir_where_run_autograder_looks(tmp_path):
    root, data = setup_layout(tmp_path)
    given = cifar_folder(tmp_path / "given" / "cifar-10-batches-py")
    proc, downloads = run_setup(root, tmp_path, CS231N_CIFAR10_DIR=str(given),
                                AUTOGRADER_PYTHON=str(failing_venv_python(tmp_path)))
    assert data.is_symlink() and data.resolve() == given.resolve()
    assert "2/5 CIFAR-10" in proc.stdout and downloads == ""
    # ...and the next step's failure says what to install.
    assert proc.returncode != 0
    assert "-m venv could not create" in proc.stderr and "python3.11-venv" in proc.stderr


def test_setup_sh_refuses_a_partial_data_folder_that_get_datasets_would_keep(tmp_path):
    root, data = setup_layout(tmp_path)
    cifar_folder(data, ["data_batch_1", "batches.meta"])
    proc, downloads = run_setup(root, tmp_path, AUTOGRADER_PYTHON=str(MACHINE_PYTHON))
    assert proc.returncode != 0
    assert f"{data} is there but incomplete" in proc.stderr
    assert f"delete {data} and run setup.sh again" in proc.stderr
    assert downloads == "" and sorted(os.listdir(data)) == ["batches.meta", "data_batch_1"]


def test_setup_sh_without_data_runs_get_datasets_and_says_what_to_do_when_it_fails(tmp_path):
    root, data = setup_layout(tmp_path)
    proc, downloads = run_setup(root, tmp_path, AUTOGRADER_PYTHON=str(MACHINE_PYTHON))
    assert "www.cs.toronto.edu" in downloads   # the stubbed curl was asked for the archive
    assert proc.returncode != 0
    assert "get_datasets.sh could not get CIFAR-10" in proc.stderr
    assert f"put an unpacked cifar-10-batches-py in {data}" in proc.stderr
    assert not data.exists() and not (root / "venv").exists()


def test_setup_sh_skips_the_download_when_the_data_is_complete(tmp_path):
    root, data = setup_layout(tmp_path)
    cifar_folder(data)
    proc, downloads = run_setup(root, tmp_path,
                                AUTOGRADER_PYTHON=str(failing_venv_python(tmp_path)))
    assert "already complete" in proc.stdout and downloads == ""
    assert "-m venv could not create" in proc.stderr


def ubuntu_without_python(tmp_path, ppa_fails=False):
    """Emulated Gradescope image (its apt cannot run here): an Ubuntu os-release, no Python on
    PATH, apt-get and add-apt-repository stubs that log; `apt-get install python3.11` puts
    this machine's Python there (whose -m venv fails, to stop before the real install)."""
    os_release = tmp_path / "os-release"
    os_release.write_text('NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="22.04"\n')
    bare = tmp_path / "bare-bin"
    bare.mkdir()
    for tool in ("tr", "ln", "dirname", "cp"):
        (bare / tool).symlink_to(shutil.which(tool))
    log = tmp_path / "apt.log"
    python = failing_venv_python(tmp_path)
    stubs = {"apt-get": f'case "$*" in *python3.11*) cp "{python}" "{bare}/python3.11";; esac',
             "add-apt-repository": "exit 1" if ppa_fails else ""}
    for name, body in stubs.items():
        (bare / name).write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n{body}\n')
        (bare / name).chmod(0o755)
    return {"PATH": str(bare), "AUTOGRADER_OS_RELEASE": str(os_release)}, log, bare


def test_setup_sh_on_ubuntu_without_python_311_installs_it_from_deadsnakes(tmp_path):
    root, data = setup_layout(tmp_path)
    cifar_folder(data)
    env, log, bare = ubuntu_without_python(tmp_path)
    proc = subprocess.run(["/bin/bash", "setup.sh"], cwd=root / "source", timeout=60,
                          env={**env, "AUTOGRADER_ROOT": str(root)},
                          capture_output=True, text=True)
    assert log.read_text().splitlines() == [
        "apt-get update -q", "apt-get install -y -q software-properties-common",
        "add-apt-repository -y ppa:deadsnakes/ppa", "apt-get update -q",
        "apt-get install -y -q python3.11 python3.11-venv"]
    assert f"1/5 Python: {bare}/python3.11" in proc.stdout, proc.stderr
    assert proc.returncode != 0 and "-m venv could not create" in proc.stderr


def test_setup_sh_says_what_to_check_when_the_deadsnakes_ppa_cannot_be_added(tmp_path):
    root, _ = setup_layout(tmp_path)
    env, log, _ = ubuntu_without_python(tmp_path, ppa_fails=True)
    proc = subprocess.run(["/bin/bash", "setup.sh"], cwd=root / "source", timeout=60,
                          env={**env, "AUTOGRADER_ROOT": str(root)},
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "could not add ppa:deadsnakes/ppa" in proc.stderr
    assert "ppa.launchpadcontent.net" in proc.stderr
    assert "python3.11" not in log.read_text()   # stopped before installing


def test_run_autograder_without_setup_still_writes_results_json_that_says_so(tmp_path):
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "run_autograder").write_text(RUN_AUTOGRADER)
    env = autograder_env(root, tmp_path)
    proc = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "setup.sh did not finish" in proc.stderr and "rebuild the image" in proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["score"] == 0 and data["tests"] == []
    assert "not set up" in data["output"] and "tell your instructor" in data["output"]
