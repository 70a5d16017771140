"""A stand-in module grader for tests/autograde/test_batch_progress.py: in each grading worker,
it notes whether the saved models' inputs (the features of the CIFAR-10 validation and test
images among them) were already prepared (a line "hit" or "miss" in $FEATURE_LOG), then reads
them as the real saved-model checks do."""
import os

from coursekit.autograde import grading_cache
from coursekit.grader.models import CifarImages
from coursekit.grader.results import GradeResult


def features_grader(submission_dir, cifar_dir=None):
    images = CifarImages(cifar_dir)
    state = "hit" if grading_cache.model_cache_dir(cifar_dir).exists() else "miss"
    with open(os.environ["FEATURE_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{os.getpid()} {state}\n")
    images.inputs("features", "linear", "test")
    return GradeResult(submission=str(submission_dir))
