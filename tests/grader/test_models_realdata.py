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
