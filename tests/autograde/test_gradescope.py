"""Gradescope: the zip's run_autograder, run in a folder laid out like /autograder."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tinycourse
from tinycourse import tiny_settings

from coursekit.autograde.gradescope import build_zip, results_json, unpack
from coursekit.autograde.result import Result

HERE = Path(__file__).parent


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
        assert "course/nbgrader_config.py" in names and "course/coursekit/cli.py" in names
        assert z.getinfo("run_autograder").external_attr >> 16 & 0o111


@pytest.mark.slow
def test_run_autograder_writes_results_json_in_an_autograder_layout(tiny_course, tmp_path):
    course = tiny_settings(tiny_course)
    root = tmp_path / "autograder"
    unpack(build_zip(course, tmp_path / "ag.zip"), root / "source")
    # What a student uploads: the notebooks (one renamed by the browser) and the module.
    tinycourse.make_submission(tiny_course, root / "submission", add_body="return int(a + b)")
    (root / "submission" / "ops.ipynb").rename(root / "submission" / "ops (2).ipynb")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADESCOPE_PYTHON": sys.executable,
           "PYTHONPATH": str(HERE)}
    subprocess.run([sys.executable, "-m", "coursekit", "gradescope", "prepare", "--root",
                    str(root / "source")], env=env, check=True, timeout=120)
    proc = subprocess.run([str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    scores = {t["name"]: (t["score"], t["max_score"]) for t in data["tests"]}
    assert scores == {"adder:test_add": (0, 2), "adder:test_grading_mode": (1, 1),
                      "adder:iq3_answer": (1, 1), "ops:test_mul": (3, 3),
                      "module:ops.mul.values": (2, 2), "inline:adder.iq2": (1, 1)}
    assert data["score"] == 8
    text = json.dumps(data)
    assert tinycourse.HIDDEN_MARK not in text and tinycourse.HIDDEN_VALUE not in text
