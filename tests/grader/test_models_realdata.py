"""The master's saved models on the real CIFAR-10 (make test-realdata)."""
import os

import pytest

from coursekit.grader import grade_submission, models
from coursekit.grader.master import REPO_ROOT

pytestmark = pytest.mark.realdata


def test_master_saved_models_reach_their_targets():
    cifar = os.environ.get("CS231N_CIFAR10_DIR")
    assert cifar, "set CS231N_CIFAR10_DIR (make test-realdata does)"
    files = [spec["file"] for spec in models.load_models().values()]
    missing = [f for f in files if not (REPO_ROOT / "cs231n" / "saved" / f).is_file()]
    assert not missing, (f"cs231n/saved/ lacks {', '.join(missing)}: run the master notebooks "
                         "(they save the models) and commit the files")
    result = grade_submission(REPO_ROOT, code=False, cifar_dir=cifar)
    for check in result.checks:
        assert check.points >= 0.9 * check.max_points, (check.id, check.message)
        # Trained honestly: neither held for review nor near it.
        assert check.status != "review", (check.id, check.details)
        assert check.details["test"] - check.details["validation"] < 0.03, check.id


def test_least_squares_on_the_test_images_is_held_for_review(tmp_path):
    import shutil

    import numpy as np

    cifar = os.environ.get("CS231N_CIFAR10_DIR")
    assert cifar, "set CS231N_CIFAR10_DIR (make test-realdata does)"
    X_train, _, X_test, y_test = models.master_module("data_utils").load_CIFAR10(cifar)
    mean = X_train[:49000].reshape(49000, -1).mean(axis=0)
    rows = X_test[:1000].reshape(1000, -1) - mean
    rows = np.hstack([rows, np.ones((1000, 1))])
    W = np.linalg.lstsq(rows, np.eye(10)[y_test[:1000]], rcond=None)[0]
    shutil.copytree(REPO_ROOT / "cs231n", tmp_path / "cs231n",
                    ignore=shutil.ignore_patterns("datasets", "__pycache__"))
    np.save(tmp_path / "cs231n" / "saved" / "best_softmax.npy", {"W": W}, allow_pickle=True)
    result = grade_submission(tmp_path, code=False, cifar_dir=cifar)
    held = {c.function: c for c in result.checks}["saved/best_softmax.npy"]
    assert held.status == "review" and held.points == 0, held.message
