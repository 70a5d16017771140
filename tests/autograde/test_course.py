"""The real course graded end to end (slow): the master, the untouched release and a mutant in
one parallel batch, on synthetic CIFAR-10 (the notebooks' grading mode needs only a subset).

Checks the pipeline on the real notebooks and the real module grader: every notebook runs,
the master earns every automatic point of the notebook tests and module checks, the release
and the mutant lose points exactly where they should, and nothing hidden reaches feedback."""
import html
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from coursekit.autograde import benchmark
from coursekit.autograde.course import REPO_ROOT, Course
from coursekit.synthetic import write_synthetic_cifar10

pytestmark = pytest.mark.slow

SOURCE = REPO_ROOT / "source" / "assignment1"
RELEASE = REPO_ROOT / "release" / "assignment1"
# Shapes of the models the notebooks save "for the autograder" (ASSIGNMENT.md).
SAVED = {"softmax.npy": {"W": (3073, 10)}, "best_softmax.npy": {"W": (3073, 10)},
         "best_two_layer_net.npy": {"W1": (3072, 100), "b1": (100,), "W2": (100, 10),
                                    "b2": (10,)},
         "best_softmax_features.npy": {"W": (170, 10)},
         "best_two_layer_net_features.npy": {"W1": (169, 500), "b1": (500,), "W2": (500, 10),
                                             "b2": (10,)}}


def master_submission(dest):
    """What a student with a perfect solution hands in: notebooks, package, saved models."""
    rng = np.random.default_rng(0)
    saved = {name: {k: 0.001 * rng.standard_normal(shape) for k, shape in shapes.items()}
             for name, shapes in SAVED.items()}
    return benchmark.master_submission(dest, saved)


def knn_mutant(dest):
    """The master with predict_labels breaking ties toward the larger label."""
    master_submission(dest)
    path = dest / "cs231n" / "classifiers" / "k_nearest_neighbor.py"
    text = path.read_text()
    assert "def predict_labels(self, dists, k=1):" in text, \
        "k_nearest_neighbor.py changed: update the mutant of tests/autograde/test_course.py"
    path.write_text(text.replace("def predict_labels(self, dists, k=1):",
                                 "def predict_labels(self, dists, k=1):\n"
                                 "        return self._mutant(dists, k)\n\n"
                                 "    def _original(self, dists, k=1):")
                    + "\n\ndef _mutant(self, dists, k=1):\n"
                      "    import numpy as np\n"
                      "    order = np.argsort(dists, axis=1, kind='stable')[:, :k]\n"
                      "    labels = self.y_train[order]\n"
                      "    return np.array([np.flatnonzero(np.bincount(row) =="
                      " np.bincount(row).max())[-1] for row in labels])\n\n\n"
                      "KNearestNeighbor._mutant = _mutant\n")
    return dest


def _edit_cell(folder, notebook, grade_id, source):
    path = folder / f"{notebook}.ipynb"
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            cell["source"] = source
    path.write_text(json.dumps(nb))


def _append_cell(folder, notebook, source):
    path = folder / f"{notebook}.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"].insert(3, {"cell_type": "code", "metadata": {}, "source": source,
                           "outputs": [], "execution_count": None})
    path.write_text(json.dumps(nb))


def damaged(dest, damage):
    """The master submission with one thing a student can do wrong."""
    master_submission(dest)
    package = dest / "cs231n"
    if damage == "renamed":
        (dest / "knn.ipynb").rename(dest / "knn (1).ipynb")
    elif damage == "missing_notebook":
        (dest / "softmax.ipynb").unlink()
    elif damage == "invalid_json":
        (dest / "features.ipynb").write_text('{"cells": [oops')
    elif damage == "edited_test_cell":
        _edit_cell(dest, "knn", "knn_distances_two_loops", "print('all good')")
        path = package / "classifiers" / "k_nearest_neighbor.py"
        path.write_text(path.read_text().replace(
            "def compute_distances_two_loops(self, X):",
            "def compute_distances_two_loops(self, X):\n"
            "        return np.zeros((X.shape[0], self.X_train.shape[0]))\n\n"
            "    def _unused(self, X):"))
    elif damage == "syntax_error":
        path = package / "layers.py"
        path.write_text(path.read_text().replace("def affine_forward(x, w, b):",
                                                 "def affine_forward(x, w, b)"))
    elif damage == "os_exit_at_import":
        path = package / "features.py"   # imported by the features notebook only
        path.write_text("import os\nos._exit(3)\n" + path.read_text())
    elif damage == "cheater":
        secret = REPO_ROOT / "tests" / "hidden" / "references.json"
        _append_cell(dest, "knn", "\n".join([
            "import numpy as np",
            f"for path in ['knn.ipynb', {str(secret)!r}]:",
            "    try:",
            "        print(len(open(path).read()))",
            "    except OSError as exc:",
            "        print('refused', type(exc).__name__)",
            "try:",
            f"    open({str(REPO_ROOT / 'ck-pwned.txt')!r}, 'w').write('x')",
            "except OSError:",
            "    pass",
            "np.allclose = lambda *a, **k: True"]))
    return dest


DAMAGES = ("renamed", "missing_notebook", "invalid_json", "edited_test_cell", "syntax_error",
           "os_exit_at_import", "cheater")


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    assert SOURCE.is_dir() and list(SOURCE.glob("*.ipynb")), "no master notebooks yet"
    tmp = tmp_path_factory.mktemp("course")
    data = write_synthetic_cifar10(tmp / "data", num_train=1500, num_test=300)
    course = Course(output_root=tmp / "out", db_url=f"sqlite:///{tmp}/gradebook.db?timeout=60",
                    inline_grader=None, kernel_env={"CS231N_CIFAR10_DIR": str(data)})
    submitted = tmp / "submitted"
    master_submission(submitted / "master" / "assignment1")
    knn_mutant(submitted / "mutant" / "assignment1")
    if RELEASE.is_dir():
        shutil.copytree(RELEASE, submitted / "release" / "assignment1")
    for damage in DAMAGES:
        damaged(submitted / damage / "assignment1", damage)
    # What `make autograde -j 2` runs, pointed at this test's folders.
    env = {**os.environ, "CS231N_CIFAR10_DIR": str(data)}
    env.pop("NBGRADER_DB_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "coursekit", "autograde", "--all", "-j", "2", "-q",
         "--submitted", str(submitted), "--output-root", str(tmp / "out")],
        env={**env, "NBGRADER_DB_URL": course.db_url}, capture_output=True, text=True,
        timeout=3000)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    students = [p.name for p in submitted.iterdir()]
    results = {s: json.loads(course.result_path(s).read_text()) for s in students}
    outcomes = {s: (r["score"], r["max_score"], r.get("status") == "error" or None)
                for s, r in results.items()}
    return course, outcomes, results


def by_id(result):
    return {i["id"]: i for i in result["items"]}


def test_every_notebook_of_every_submission_is_graded(graded_course):
    _, outcomes, results = graded_course
    assert {s: o[2] for s, o in outcomes.items() if o[2]} == {}
    for student in ("master", "mutant", "release"):
        if student not in results:
            continue
        result = results[student]
        statuses = {n: i["status"] for n, i in result["notebooks"].items()}
        assert set(statuses.values()) == {"graded"}, (student, statuses, result["notebooks"])


def test_master_earns_every_automatic_notebook_and_module_point(graded_course):
    master = graded_course[2]["master"]
    lost = {k: (i["score"], i["max_score"], i.get("message")) for k, i in by_id(master).items()
            if i.get("kind") in ("test", "answer") or k.startswith("module:")
            if i["score"] < i["max_score"]}
    assert lost == {}


def test_choice_questions_are_scored_from_the_answer_lines(graded_course):
    results = graded_course[2]
    inline = [i for i in results["master"]["items"] if i.get("kind") == "inline"]
    assert len(inline) == 5 and all(i["score"] == i["max_score"] > 0 for i in inline)
    if "release" in results:
        release = [i for i in results["release"]["items"] if i.get("kind") == "inline"]
        assert len(release) == 5 and all(i["score"] == 0 for i in release)


def test_release_scores_less_than_master(graded_course):
    results = graded_course[2]
    if "release" not in results:
        pytest.fail("release/assignment1 is missing: run `make release` first")
    assert results["release"]["score"] < results["master"]["score"]


def test_mutant_loses_the_tie_breaking_points_only(graded_course):
    master, mutant = (by_id(graded_course[2][s]) for s in ("master", "mutant"))
    lost = sorted(k for k in master if mutant[k]["score"] < master[k]["score"])
    assert lost and all("knn" in k.lower() or "predict" in k.lower() for k in lost), lost


def test_feedback_holds_no_hidden_test_source(graded_course):
    course, _, results = graded_course
    hidden = []
    for nb in SOURCE.glob("*.ipynb"):
        for cell in json.loads(nb.read_text())["cells"]:
            text = "".join(cell["source"])
            if "BEGIN HIDDEN TESTS" in text:
                body = text.split("BEGIN HIDDEN TESTS", 1)[1].split("END HIDDEN TESTS", 1)[0]
                hidden += [ln.strip() for ln in body.splitlines()[1:]
                           if len(ln.strip()) > 25 and not ln.strip().startswith("#")]
    assert hidden, "the master notebooks have no hidden tests to look for"
    for student in results:
        pages = Path(course.feedback_dir / student / "assignment1").glob("*.html")
        text = html.unescape("".join(p.read_text() for p in pages))
        leaked = [ln for ln in hidden if ln in text]
        assert leaked == [], (student, leaked[:3])


def lost_items(graded_course, student):
    """Columns of grades.csv (module checks grouped by function) where `student` has less."""
    def per_column(result):
        sums = {}
        for item in result["items"]:
            sums[item["column"]] = sums.get(item["column"], 0) + item["score"]
        return sums

    master, other = (per_column(graded_course[2][s]) for s in ("master", student))
    return sorted(k for k in master if other.get(k, 0) < master[k] - 1e-9)


@pytest.mark.parametrize("damage, notebook_status, lost_prefixes", [
    ("renamed", {"knn": "graded"}, ()),
    ("missing_notebook", {"softmax": "missing"}, ("softmax:",)),
    ("invalid_json", {"features": "invalid"}, ("features:",)),
    ("edited_test_cell", {"knn": "graded"}, ("knn:", "module:KNearestNeighbor")),
    ("os_exit_at_import", {"features": "failed", "knn": "graded"}, ("features:", "model:")),
])
def test_damaged_submission_loses_points_only_where_it_is_damaged(graded_course, damage,
                                                                  notebook_status,
                                                                  lost_prefixes):
    result = graded_course[2][damage]
    for notebook, status in notebook_status.items():
        assert result["notebooks"][notebook]["status"] == status, result["notebooks"][notebook]
    lost = lost_items(graded_course, damage)
    assert all(k.startswith(lost_prefixes) for k in lost), lost
    assert bool(lost) == bool(lost_prefixes), lost


def test_syntax_error_in_a_module_costs_the_checks_of_that_module(graded_course):
    lost = lost_items(graded_course, "syntax_error")
    assert any(k.startswith("module:affine_forward") for k in lost), lost
    assert not any(k.startswith(("knn:", "module:KNearestNeighbor")) for k in lost), lost


def test_cheater_is_refused_and_its_tests_score_zero(graded_course):
    result = graded_course[2]["cheater"]
    notices = " ".join(result["notices"])
    assert "knn.ipynb" in notices and "references.json" in notices
    assert "numpy.allclose" in result["notebooks"]["knn"]["message"]
    assert not (REPO_ROOT / "ck-pwned.txt").exists()
    tests = [i for i in result["items"] if i["id"].startswith("knn:") and i["kind"] == "test"]
    assert tests and all(i["score"] == 0 for i in tests)


def test_grades_csv_and_summary_cover_the_whole_batch(graded_course):
    import csv

    course, _, results = graded_course
    rows = list(csv.DictReader(course.grades_csv.open()))
    assert sorted(r["student"] for r in rows) == sorted(results)
    assert (course.autograded_dir / "summary.png").stat().st_size > 10_000
    table = (course.autograded_dir / "summary.md").read_text()
    assert f"{len(results)} students" in table and "module:affine_forward" in table
