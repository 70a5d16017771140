"""Saved-model grading, on synthetic CIFAR-10 with small models trained here.

The models are fitted by least squares on this test's own preprocessing (the notebooks' recipe,
written again here), so the accuracies the grader reports are checked against an independent
computation of the same numbers. On a training set smaller than CIFAR-10's the grader keeps the
last fifth for validation, so the models here are fitted on the first four fifths.
"""
import json
import os
import pickle
import re

import numpy as np
import pytest

from coursekit.course import current
from coursekit.grader import models
from coursekit.synthetic import write_synthetic_cifar10
from cs231n.features import color_histogram_hsv, extract_features, hog_feature

from .conftest import copy_master, grade

MODEL_FILES = {
    "softmax": "softmax.npy", "best_softmax": "best_softmax.npy",
    "best_two_layer_net": "best_two_layer_net.npy",
    "best_softmax_features": "best_softmax_features.npy",
    "best_two_layer_net_features": "best_two_layer_net_features.npy",
}


def load_split(folder):
    def batch(name):
        with open(f"{folder}/{name}", "rb") as f:
            d = pickle.load(f, encoding="latin1")
        X = np.asarray(d["data"], dtype=np.float64).reshape(-1, 3, 32, 32)
        return X, np.asarray(d["labels"])

    parts = [batch(f"data_batch_{i}") for i in range(1, 6)]
    X_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    X_test, y_test = batch("test_batch")
    return X_train, y_train, X_test, y_test  # channels first


def training_part(X, y):
    """The images the grader does not keep for validation (the first four fifths)."""
    keep = len(X) - len(X) // 5
    return X[:keep], y[:keep]


def fit(X, y):
    onehot = np.eye(10)[y]
    return np.linalg.lstsq(X, onehot, rcond=None)[0]


def ones(X):
    return np.hstack([X, np.ones((len(X), 1))])


@pytest.fixture(scope="module")
def trained(synthetic_cifar_dir):
    """The five model dicts and the test accuracy each should get, computed here."""
    X_train, y_train, X_test, y_test = load_split(synthetic_cifar_dir)
    X_train, y_train = training_part(X_train, y_train)
    rng = np.random.RandomState(3)
    out = {}
    # Linear on channels-last rows minus the mean, with a bias row (softmax.ipynb).
    last_train = X_train.transpose(0, 2, 3, 1).reshape(len(X_train), -1)
    last_test = X_test.transpose(0, 2, 3, 1).reshape(len(X_test), -1)
    mean = last_train.mean(axis=0)
    W = fit(ones(last_train - mean), y_train)
    acc = np.mean(np.argmax(ones(last_test - mean) @ W, axis=1) == y_test)
    out["softmax"] = out["best_softmax"] = ({"W": W}, acc)
    # Net on channels-first rows minus the mean: random ReLU features, least-squares top.
    first_train = X_train.reshape(len(X_train), -1)
    first_test = X_test.reshape(len(X_test), -1)
    mean = first_train.mean(axis=0)
    W1, b1 = rng.randn(3072, 60) * 0.01, rng.randn(60) * 0.1
    hidden = np.maximum((first_train - mean) @ W1 + b1, 0)
    W2 = fit(ones(hidden), y_train)
    net = {"W1": W1, "b1": b1, "W2": W2[:-1], "b2": W2[-1]}
    scores = np.maximum((first_test - mean) @ W1 + b1, 0) @ net["W2"] + net["b2"]
    out["best_two_layer_net"] = (net, np.mean(np.argmax(scores, axis=1) == y_test))
    # Features: HOG + 25-bin hue histogram, normalised by the training features (features.ipynb).
    fns = [hog_feature, lambda im: color_histogram_hsv(im, nbin=25)]
    f_train = extract_features(X_train.transpose(0, 2, 3, 1), fns)
    f_test = extract_features(X_test.transpose(0, 2, 3, 1), fns)
    f_test = (f_test - f_train.mean(axis=0)) / f_train.std(axis=0)
    f_train = (f_train - f_train.mean(axis=0)) / f_train.std(axis=0)
    W = fit(ones(f_train), y_train)
    out["best_softmax_features"] = ({"W": W},
                                    np.mean(np.argmax(ones(f_test) @ W, axis=1) == y_test))
    W1, b1 = rng.randn(169, 80) * 0.3, rng.randn(80) * 0.1
    W2 = fit(ones(np.maximum(f_train @ W1 + b1, 0)), y_train)
    net = {"W1": W1, "b1": b1, "W2": W2[:-1], "b2": W2[-1]}
    scores = np.maximum(f_test @ W1 + b1, 0) @ net["W2"] + net["b2"]
    out["best_two_layer_net_features"] = (net, np.mean(np.argmax(scores, axis=1) == y_test))
    return out


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_GRADING_CACHE", str(tmp_path / "cache"))


def submission_with(tmp_path, saved):
    submission = copy_master(tmp_path / "sub")
    folder = submission / "cs231n" / "saved"
    folder.mkdir(exist_ok=True)
    for path in folder.glob("*.npy"):
        path.unlink()
    for name, value in saved.items():
        np.save(folder / MODEL_FILES[name], value, allow_pickle=True)
    return submission


def model_checks(result):
    """The saved models' checks by model name (the file's stem)."""
    return {c.function.removeprefix("saved/").removesuffix(".npy"): c for c in result.checks
            if c.function.startswith("saved/")}


def test_saved_models_are_scored_by_their_test_accuracy(tmp_path, trained, synthetic_cifar_dir):
    for _, accuracy in trained.values():
        assert accuracy > 0.3  # the synthetic classes are learnable: a real test of scoring
    submission = submission_with(tmp_path, {k: v[0] for k, v in trained.items()})
    result = grade(submission, models=True, code=False, cifar_dir=synthetic_cifar_dir)
    checks = model_checks(result)
    assert set(checks) == set(MODEL_FILES)
    for name, (_, accuracy) in trained.items():
        check = checks[name]
        reported = float(re.search(r"test accuracy (\d\.\d+)", check.message).group(1))
        assert reported == pytest.approx(accuracy, abs=1e-3), name
        target = models.CHANCE
        fraction = check.points / check.max_points
        assert 0 < fraction <= 1 and check.status in ("passed", "partial")
        assert target < accuracy


def test_points_scale_linearly_from_chance_to_target(tmp_path, trained, synthetic_cifar_dir,
                                                    monkeypatch):
    submission = submission_with(tmp_path, {"softmax": trained["softmax"][0]})
    accuracy = trained["softmax"][1]
    # The folder is an argument: the grader neither reads nor sets $CS231N_CIFAR10_DIR (the
    # nested pytest.main only drops the outer run's PYTEST_CURRENT_TEST).
    monkeypatch.setenv("CS231N_CIFAR10_DIR", str(tmp_path / "nowhere"))

    def environment():
        return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}

    before = environment()
    result = grade(submission, models=True, code=False, cifar_dir=synthetic_cifar_dir)
    assert environment() == before
    check = model_checks(result)["softmax"]
    target = models.load_models()["softmax"]["target"]
    expected = min(1.0, (accuracy - 0.10) / (target - 0.10)) * check.max_points
    assert check.points == pytest.approx(expected, abs=1e-3)


def test_missing_and_malformed_models_score_zero_with_a_reason(tmp_path, trained,
                                                               synthetic_cifar_dir):
    bad = {"softmax": {"W": np.zeros((10, 10))}, "best_softmax": {"weights": np.zeros(3)},
           "best_two_layer_net": {"W1": np.full((3072, 5), np.nan), "b1": np.zeros(5),
                                  "W2": np.zeros((5, 10)), "b2": np.zeros(10)}}
    result = grade(submission_with(tmp_path, bad), models=True, code=False,
                   cifar_dir=synthetic_cifar_dir)
    checks = model_checks(result)
    assert "should be (3072, 10)" in checks["softmax"].message
    assert "'W'" in checks["best_softmax"].message
    assert "NaN" in checks["best_two_layer_net"].message
    assert "missing" in checks["best_softmax_features"].message
    assert all(c.points == 0 and c.status == "failed" for c in checks.values())


def test_the_dataset_folder_is_the_one_passed_else_the_courses_never_the_environments(
        tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_CIFAR10_DIR", str(tmp_path / "from-env"))
    assert models.dataset_dir(tmp_path / "given") == tmp_path / "given"
    assert models.dataset_dir(None) == models.DEFAULT_DATASET_DIR


def test_without_the_dataset_models_are_not_graded(tmp_path, trained):
    submission = submission_with(tmp_path, {k: v[0] for k, v in trained.items()})
    result = grade(submission, models=True, code=False, cifar_dir=tmp_path / "nowhere")
    checks = model_checks(result)
    assert len(checks) == 5
    for check in checks.values():
        assert check.status == "not_graded" and check.points == 0
        assert check.message.startswith("not graded: the grader had no CIFAR-10")
        assert str(tmp_path) not in check.message  # the grader's paths are for the notes
    assert any("nowhere" in note for note in result.notes)
    assert result.graded_max_points == result.max_points - sum(
        c.max_points for c in checks.values())


class Exploit:
    """A pickle that runs a command when it is loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_model_file_that_runs_code_runs_it_in_the_jail_only(tmp_path, synthetic_cifar_dir):
    marker = tmp_path / "pwned"
    submission = submission_with(tmp_path, {})
    with open(submission / "cs231n" / "saved" / "softmax.npy", "wb") as f:
        pickle.dump(Exploit(marker), f)
    result = grade(submission, models=True, code=False, cifar_dir=synthetic_cifar_dir)
    assert not marker.exists()
    assert model_checks(result)["softmax"].points == 0


# Hard synthetic data: 40% of the labels are random, so a model gets about 0.6 of the images it
# was not fitted to right, and all of those it was fitted to (as on CIFAR-10, where least squares
# on the test images gets 1.0 there and 0.14 on the validation images).
@pytest.fixture(scope="module")
def noisy_cifar_dir(tmp_path_factory):
    return write_synthetic_cifar10(tmp_path_factory.mktemp("noisy"), num_train=1000,
                                   num_test=200, seed=5, label_noise=0.4)


def linear_on_pixels(X_fit, y_fit, X_mean_of):
    """A linear model on channels-last rows minus the mean training row, fitted by least squares
    on (X_fit, y_fit), as softmax.ipynb would save it."""
    def rows(X):
        return X.transpose(0, 2, 3, 1).reshape(len(X), -1)

    return {"W": fit(ones(rows(X_fit) - rows(X_mean_of).mean(axis=0)), y_fit)}


def test_the_validation_images_are_the_notebooks_validation_split(monkeypatch, noisy_cifar_dir):
    from cs231n.notebook_utils import run_settings

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("CS231N_GRADING_MODE", raising=False)
    for notebook in ("softmax", "two_layer_net", "features"):
        settings = run_settings(notebook)
        assert models.split_sizes(50000) == (settings.num_training, settings.num_validation)
    X_train, y_train, _, y_test = load_split(noisy_cifar_dir)
    images = models.CifarImages(noisy_cifar_dir)
    kept = len(training_part(X_train, y_train)[0])
    assert kept < len(X_train)
    assert np.array_equal(images.labels("val"), y_train[kept:])
    assert np.array_equal(images.labels("test"), y_test)
    assert not images.full  # ceilings are accuracies on the real CIFAR-10 only


@pytest.fixture(scope="module")
def honest_and_fitted(tmp_path_factory, noisy_cifar_dir):
    """Graded: softmax.npy trained on the training images, best_softmax.npy fitted by least
    squares to the test images (no training image used at all)."""
    X_train, y_train, X_test, y_test = load_split(noisy_cifar_dir)
    X_fit, y_fit = training_part(X_train, y_train)
    saved = {"softmax": linear_on_pixels(X_fit, y_fit, X_fit),
             "best_softmax": linear_on_pixels(X_test, y_test, X_fit)}
    submission = submission_with(tmp_path_factory.mktemp("fitted"), saved)
    return grade(submission, models=True, code=False, cifar_dir=noisy_cifar_dir)


def test_a_model_fitted_to_the_test_images_is_held_for_review_and_earns_nothing(
        honest_and_fitted):
    held = model_checks(honest_and_fitted)["best_softmax"]
    assert held.status == "review" and held.points == 0
    assert held.details["test"] > 0.95 and held.details["validation"] < 0.75
    assert held.details["earned"] == held.max_points  # what a release of the review gives
    assert "validation accuracy" in held.details["reason"]
    # The student reads both accuracies and that the instructor reviews, not the limits.
    assert "held for review" in held.message and "instructor" in held.message
    for word in ("limit", "ceiling", "fitted", "cheat"):
        assert word not in held.message.lower()


def test_an_honestly_trained_model_is_not_held_and_earns_its_points(honest_and_fitted):
    kept = model_checks(honest_and_fitted)["softmax"]
    assert kept.status in ("passed", "partial") and kept.points > 0
    assert "reason" not in kept.details
    assert abs(kept.details["test"] - kept.details["validation"]) < 0.1


def test_a_held_model_is_listed_for_the_instructor_and_released_by_a_review(
        tmp_path, honest_and_fitted):
    from coursekit.autograde import report, reviews
    from coursekit.autograde.grading_run import GradingRun
    from coursekit.autograde.module_checks import check_item
    from coursekit.autograde.result import Result

    (tmp_path / "source" / "assignment1").mkdir(parents=True)
    course = GradingRun(root=tmp_path, notebooks=("softmax",), module_grader=None,
                    inline_grader=None, db_url=f"sqlite:///{tmp_path}/gb.db")
    result = Result("carol", "assignment1",
                    items=[check_item(c) for c in honest_and_fitted.checks])
    course.result_path("carol").parent.mkdir(parents=True)
    course.result_path("carol").write_text(result.dumps())
    held = model_checks(honest_and_fitted)["best_softmax"]
    honest = model_checks(honest_and_fitted)["softmax"]

    def grades():
        report.export(course, refresh=False)
        return report.read_grades_csv(course.grades_csv)[1]["carol"]

    row = grades()
    assert float(row["model:best_softmax"]) == 0
    assert float(row["models"]) == pytest.approx(honest.points)
    summary = course.summary_md.read_text()
    listed = [ln for ln in summary.splitlines() if ln.startswith("| carol |")]
    assert len(listed) == 1 and listed[0].startswith("| carol | best_softmax |")  # not softmax
    assert f"{held.details['validation']:.3f}" in listed[0]
    assert f"{held.details['test']:.3f}" in listed[0] and "pending" in listed[0]
    student_view = report.markdown_report(Result.load(course.result_path("carol")))
    assert "held for review" in student_view and "FAILED" not in student_view

    reviews.reviews_path(course).write_text("student,model,decision,note\n"
                                            "carol,best_softmax,release,trained on train+val\n")
    row = grades()
    assert float(row["model:best_softmax"]) == held.details["earned"] == held.max_points
    assert float(row["total"]) == pytest.approx(held.max_points + honest.points)
    assert "released" in course.summary_md.read_text()
    stored = json.loads(course.result_path("carol").read_text())
    assert stored["score"] == pytest.approx(held.max_points + honest.points)

    reviews.reviews_path(course).write_text("student,model,decision\n")  # decision taken back
    assert float(grades()["model:best_softmax"]) == 0


@pytest.mark.parametrize("val, test, ceiling, held", [
    (0.40, 0.41, None, False),   # a little better on test: sampling
    (0.40, 0.39, 0.47, False),   # tuned on validation: a little worse on test
    (0.14, 1.00, None, True),    # least squares on the test images
    (0.40, 0.50, None, True),    # a clear gap only
    (0.50, 0.52, 0.47, True),    # above what the kind of model reaches
    (0.50, 0.52, None, False),   # no ceiling off the real CIFAR-10
])
def test_review_reason_holds_a_clear_gap_or_an_accuracy_above_the_ceiling(val, test, ceiling,
                                                                           held):
    assert bool(models.review_reason(val, test, 1000, 1000, ceiling)) is held


def test_the_gap_allowed_is_a_few_standard_errors_of_the_difference():
    # Standard error of a difference of two accuracies on n images each, at its largest (p=0.5).
    standard_error = np.sqrt(2 * 0.25 / 1000)
    assert 2 * standard_error < models.gap_limit(1000, 1000) < 3 * standard_error
    assert models.gap_limit(200, 200) > models.gap_limit(1000, 1000)  # fewer images, more noise


def test_every_model_has_a_ceiling_above_its_target():
    for name, spec in models.load_models().items():
        assert models.CHANCE < spec["target"] < spec["ceiling"] < 1, name


class FullCifar:
    """Stand-in images of a whole CIFAR-10 (ceilings apply): linear inputs, two classes seen."""

    SPLITS = ("val", "test")
    full = True

    def __init__(self, rng):
        self.X = {s: rng.randn(1000, 4) for s in self.SPLITS}

    def inputs(self, preprocessing, kind, split):
        return self.X[split]

    def labels(self, split):
        return (self.X[split][:, 0] > 0).astype(int)


def test_an_accuracy_above_the_ceiling_is_held_on_the_real_dataset():
    data = FullCifar(np.random.RandomState(0))
    W = np.zeros((4, 10))
    W[0, 1], W[0, 0] = 1.0, -1.0   # perfect on both splits: no gap, but far above any ceiling
    spec = dict(models.load_models()["best_softmax"])
    with pytest.raises(models.CheckFailed) as failed:
        models.score_model({"W": W}, data, spec)
    assert failed.value.status == "review" and failed.value.fraction == 0
    assert "ceiling" in failed.value.details["reason"]
    spec["ceiling"] = 1.0
    message, details = models.score_model({"W": W}, data, spec)
    assert details["test"] == details["validation"] == 1.0


def test_the_graded_models_are_the_ones_the_notebooks_save():
    # models.toml (what grading scores) and course.toml (what the notebooks save, what
    # collect.py zips) name the same files.
    graded = sorted(spec["file"] for spec in models.load_models().values())
    assert graded == sorted(current().saved_models)
