"""Gradescope: the zip's run_autograder, run in a folder laid out like /autograder."""
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tinycourse
from tinycourse import tiny_settings

from coursekit.autograde.gradescope import build_zip, results_json, unpack
from coursekit.autograde.grading_run import GradingRun
from coursekit.autograde.result import Result

HERE = Path(__file__).parent
# Put first on PYTHONPATH of a run from an unpacked zip: drops the repository's editable
# install of coursekit (its finder would serve any module the zip lacks from the checkout),
# so the run imports the zip's copy or fails.
# $ZIP_ONLY_LOG, when set, gets the file each process imported coursekit from.
ZIP_ONLY = """import atexit, os, sys
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]

def _note():
    if os.environ.get("ZIP_ONLY_LOG") and "coursekit" in sys.modules:
        with open(os.environ["ZIP_ONLY_LOG"], "a") as log:
            log.write(sys.modules["coursekit"].__file__ + "\\n")

atexit.register(_note)
"""


def zip_only_path(tmp_path, course_dir):
    """A PYTHONPATH on which `coursekit` is the unpacked zip's course_dir/coursekit only."""
    site = tmp_path / "zip-only"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(ZIP_ONLY)
    return os.pathsep.join([str(site), str(course_dir)])


def test_results_json_follows_gradescope_format_and_leaves_manual_items_out():
    result = Result.from_json({"student": "ann", "assignment": "assignment1", "items": [
        {"id": "knn:test_a", "kind": "test", "score": 2, "max_score": 2, "message": ""},
        {"id": "module:x", "score": 0.5, "max_score": 1, "message": "wrong shape"},
        {"id": "knn:iq1", "kind": "manual", "score": 0, "max_score": 3, "pending": True}],
        "notebooks": {"knn": {"status": "renamed", "message": "graded 'knn (1).ipynb'"}},
        "notices": ["tiny/ops.py could not be read"]})
    data = results_json(result)
    assert data["score"] == 2.5
    assert [t["name"] for t in data["tests"]] == ["knn:test_a", "module:x"]
    assert all({"name", "score", "max_score", "output", "visibility"} <= set(t)
               for t in data["tests"])
    assert "3 more points" in data["output"] and "knn (1).ipynb" in data["output"]
    json.dumps(data)


def test_a_held_model_shows_as_held_for_review_not_as_a_plain_failure():
    held = {"id": "model:best_softmax", "score": 0.0, "max_score": 3, "kind": "model",
            "message": "held", "review": {"status": "pending", "held": 2.5}}
    released = {**held, "id": "model:softmax", "score": 2.0,
                "review": {"status": "released", "held": 2.0}}
    data = results_json(Result.from_json({"student": "ann", "assignment": "assignment1",
                                          "items": [held, released]}))
    assert [t["name"] for t in data["tests"]] == ["model:best_softmax (held for review)",
                                                  "model:softmax"]
    assert "model:best_softmax: held for your instructor's review" in data["output"]
    assert data["score"] == 2.0


def test_zip_has_setup_run_autograder_and_the_private_course(tiny_course, tmp_path):
    course = tiny_settings(tiny_course)
    zip_path = build_zip(course, tmp_path / "ag.zip")
    with zipfile.ZipFile(zip_path) as z:
        names = set(z.namelist())
        assert {"setup.sh", "run_autograder", "gradescope.json"} <= names
        assert "course/source/assignment1/adder.ipynb" in names
        assert "course/nbgrader_config.py" in names
        assert "course/coursekit/autograde/gradescope.py" in names
        assert z.getinfo("run_autograder").external_attr >> 16 & 0o111


@pytest.mark.slow
def test_run_autograder_writes_results_json_in_an_autograder_layout(tiny_course, tmp_path):
    course = tiny_settings(tiny_course)
    root = tmp_path / "autograder"
    unpack(build_zip(course, tmp_path / "ag.zip"), root / "source")
    # What a student uploads: the notebooks (one renamed by the browser) and the module.
    tinycourse.make_submission(tiny_course, root / "submission", add_body="return int(a + b)")
    (root / "submission" / "ops.ipynb").rename(root / "submission" / "ops (2).ipynb")
    # The zip's own tooling (not the checkout's), and tinycourse for the stand-in graders.
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADESCOPE_PYTHON": sys.executable,
           "PYTHONPATH": zip_only_path(tmp_path, root / "source" / "course") + os.pathsep
           + str(HERE), "ZIP_ONLY_LOG": str(tmp_path / "imported.log")}
    # Run from folders outside the checkout, as on Gradescope (the working folder comes first
    # on sys.path under `python -m` and `-c`).
    subprocess.run([sys.executable, "-m", "coursekit.autograde.gradescope", "prepare", "--root",
                    str(root / "source")], env=env, cwd=root / "source", check=True, timeout=120)
    proc = subprocess.run([str(root / "source" / "run_autograder")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    scores = {t["name"]: (t["score"], t["max_score"]) for t in data["tests"]}
    assert scores == {"adder:test_add": (0, 2), "adder:test_grading_mode": (1, 1),
                      "adder:iq3_answer": (1, 1), "ops:test_mul": (3, 3),
                      "module:ops.mul.values": (2, 2), "inline:adder.iq2": (1, 1)}
    assert data["score"] == 8
    # The zip's copy ran: every process that imported coursekit took it from the zip.
    imported = set((tmp_path / "imported.log").read_text().split())
    assert imported == {str(root / "source" / "course" / "coursekit" / "__init__.py")}
    text = json.dumps(data)
    assert tinycourse.HIDDEN_MARK not in text and tinycourse.HIDDEN_VALUE not in text


def test_zip_holds_only_the_tooling_grading_imports(tmp_path):
    with zipfile.ZipFile(build_zip(GradingRun(), tmp_path / "ag.zip")) as z:
        names = set(z.namelist())
    tooling = {n.removeprefix("course/coursekit/") for n in names
               if n.startswith("course/coursekit/")}
    # Never run by grading: the release (its templates are the students' files), benchmarks,
    # synthetic data, mutation testing, the notebook runner, the other verbs.
    for left_out in ("bench.py", "synthetic.py", "cli.py", "__main__.py", "readme.py",
                     "release/build.py", "release/templates/check.py",
                     "release/templates/collect.py", "mutation/run.py", "notebooks/run.py",
                     "autograde/benchmark.py", "autograde/ci.py"):
        assert left_out not in tooling, left_out
    assert not any(n.startswith("release/templates/") for n in tooling)
    # What grading runs, imported or used by its file name.
    for needed in ("autograde/gradescope.py", "autograde/pipeline.py", "autograde/feedback.py",
                   "autograde/templates/feedback_index.html", "autograde/gradescope_setup.sh",
                   "autograde/kernel_launch.py", "autograde/kernel_guard.py",
                   "grader/plugin.py", "grader/worker.py", "grader/models.py", "jail.py",
                   "startup.py"):    # run by the package's __init__
        assert needed in tooling, needed
    assert "course/grading/hidden/references.json" in names
    assert not any(n.startswith("course/grading/mutation/") for n in names)
    # Every coursekit import of a zipped module names a zipped module.
    for name in tooling:
        if not name.endswith(".py"):
            continue
        text = (Path(GradingRun().root) / "coursekit" / name).read_text()
        for module in re.findall(r"^\s*(?:from|import) (coursekit(?:\.\w+)*)", text, re.M):
            rel = module.removeprefix("coursekit").lstrip(".").replace(".", "/")
            assert f"{rel}.py" in tooling or f"{rel}/__init__.py" in tooling \
                or (rel == "" and "__init__.py" in tooling), (name, module)


def test_imports_are_found_in_nested_statements_and_read_again_when_the_file_changes(
        tmp_path):
    from coursekit.autograde import gradescope

    module = tmp_path / "m.py"
    module.write_text(
        "import os\n"
        "def f(x):\n"
        "    try:\n        pass\n"
        "    except ImportError:\n        import coursekit.jail\n"
        "    match x:\n        case 1:\n            from coursekit.autograde import batch\n"
        "    with open(x):\n        for _ in x:\n            if x:\n"
        "                import coursekit.synthetic\n"
        "    return [__import__('coursekit.bench')]   # not an import statement\n")
    assert gradescope._imports(module) == {"coursekit.jail", "coursekit.autograde",
                                           "coursekit.autograde.batch", "coursekit.synthetic"}
    module.write_text("import coursekit.readme\n")
    assert gradescope._imports(module) == {"coursekit.readme"}


def test_the_zips_tooling_loads_the_hidden_checks_without_the_checkout(tmp_path):
    """From an unpacked zip, with only the zip's coursekit importable: the Gradescope entry
    starts, and the hidden checks (the pytest plugin, the grader, the master package) collect
    to the same checks as in the checkout."""
    from coursekit.grader.driver import collect_checks

    root = tmp_path / "source"
    unpack(build_zip(GradingRun(), tmp_path / "ag.zip"), root)
    course = root / "course"
    env = {**os.environ, "PYTHONPATH": zip_only_path(tmp_path, course)}
    env.pop("COURSEKIT_COURSE", None)
    code = ("import coursekit, coursekit.autograde.gradescope\n"
            f"assert coursekit.__file__.startswith({str(course)!r}), coursekit.__file__\n"
            "from coursekit.grader.driver import collect_checks\n"
            "print(len(collect_checks()))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=course, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert int(proc.stdout.split()[-1]) == len(collect_checks())
    proc = subprocess.run([sys.executable, "-m", "coursekit.autograde.gradescope", "--help"],
                          cwd=course, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "run" in proc.stdout, proc.stderr[-3000:]
