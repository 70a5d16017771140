"""The saved models (cs231n/saved/*.npy) scored on the CIFAR-10 test images: models.toml.

Each is scored on the validation images too: a model whose test accuracy is out of line with
them or with its kind of model is held for review (coursekit.grader.models.review_reason).

The model files are opened in the sandboxed worker (they are pickled); the data, its
preprocessing and the forward pass are the grader's (coursekit.grader.models), so a submission
cannot choose the inputs its model is graded on. Without CIFAR-10 on the grading machine the
models are "not graded" (skipped with that message).
"""

from pathlib import Path

import pytest

from coursekit.grader.models import judge_model, load_models

MODELS = load_models(Path(__file__).parent)


@pytest.mark.time_limit(120)
@pytest.mark.parametrize("name", [
    pytest.param(name, id=name, marks=[pytest.mark.points(spec["points"]),
                                       pytest.mark.function(f"saved/{spec['file']}")])
    for name, spec in MODELS.items()])
def test_model(student, cifar_images, name):
    judge_model(student, cifar_images, MODELS[name])
