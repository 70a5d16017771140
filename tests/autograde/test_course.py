"""The real course graded end to end (slow): the master, the untouched release and a mutant in
one parallel batch, on synthetic CIFAR-10 (the notebooks' grading mode needs only a subset).

Checks the pipeline on the real notebooks and the real module grader: every notebook runs,
the master earns every automatic point of the notebook tests and module checks, the release
and the mutant lose points exactly where they should, and nothing hidden reaches feedback."""
import html
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from coursekit.autograde import batch
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
    dest.mkdir(parents=True)
    for nb in SOURCE.glob("*.ipynb"):
        shutil.copyfile(nb, dest / nb.name)
    shutil.copytree(REPO_ROOT / "cs231n", dest / "cs231n",
                    ignore=shutil.ignore_patterns("__pycache__", "cifar-10-batches-py"))
    rng = np.random.default_rng(0)
    for name, shapes in SAVED.items():
        params = {k: 0.001 * rng.standard_normal(shape) for k, shape in shapes.items()}
        np.save(dest / "cs231n" / "saved" / name, params)
    return dest


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
    outcomes = batch.grade_all(course, batch.find_submissions(course, submitted), jobs=2,
                               progress=False)
    results = {s: json.loads(course.result_path(s).read_text()) for s in outcomes}
    return course, outcomes, results


def by_id(result):
    return {i["id"]: i for i in result["items"]}


def test_every_notebook_of_every_submission_is_graded(graded_course):
    _, outcomes, results = graded_course
    assert {s: o[2] for s, o in outcomes.items() if o[2]} == {}
    for student, result in results.items():
        statuses = {n: i["status"] for n, i in result["notebooks"].items()}
        assert set(statuses.values()) == {"graded"}, (student, statuses, result["notebooks"])


def test_master_earns_every_automatic_notebook_and_module_point(graded_course):
    master = graded_course[2]["master"]
    lost = {k: (i["score"], i["max_score"], i.get("message")) for k, i in by_id(master).items()
            if i.get("kind") in ("test", "answer") or k.startswith("module:")
            if i["score"] < i["max_score"]}
    assert lost == {}


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
