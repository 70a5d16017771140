"""Step 4, module checks: the hidden module checks and the saved-model checks.

The checks themselves (sandbox, reference values) belong to `coursekit.grader`; this step
calls `GradingRun.module_grader` (coursekit.grader.grade_submission unless a test swaps in a fake)
on the collected submission and turns each CheckResult of its GradeResult into a graded Item,
grouped by the function (or model) it checks, so grades.csv gets one column per function and
one per model. A model the checks hold for review keeps what its release would earn in
`Item.review` (reviews.py). `prepare_shared_data` computes, once per batch, the data every
student's checks share.
"""
import time
import traceback
from pathlib import Path

from coursekit.autograde import reviews
from coursekit.autograde.result import MODEL, MODULE, Item


def check_item(check):
    """The graded Item of one CheckResult: module:<check id> in column module:<function>, or
    model:<name> (one item and column per saved model, named by its file: model:best_softmax).
    """
    if check.is_model:
        name = check.function.removeprefix("saved/").removesuffix(".npy")
        kind, item_id, column = MODEL, f"model:{name}", f"model:{name}"
    else:
        kind, item_id, column = MODULE, f"module:{check.id}", f"module:{check.function}"
    message = check.message or ("not graded" if check.status == "not_graded" else "")
    item = Item(item_id, kind, check.points, check.max_points, column=column, message=message,
                status=check.status)
    if kind == MODEL and check.status == "review":  # held: scored by the instructor's review
        item.review = reviews.held_review(message, check.details)
    return item


def run_module_checks(course, submission_dir, cifar_dir=None):
    """(items, notices, grader notes) of the module/model checks of one submission.

    `cifar_dir`: the CIFAR-10 folder the saved models are scored on (None: they are "not
    graded", unless the grader finds the data in the course itself)."""
    if course.module_grader is None:
        return [], [], []
    try:  # SystemExit too: whatever the grader lets through must not end the grading run
        grade = course.module_grader(str(submission_dir), cifar_dir=cifar_dir)
    except (Exception, SystemExit) as exc:
        tail = traceback.format_exc(limit=-1).strip().splitlines()[-1]
        return [], [f"module checks failed to run ({type(exc).__name__}: {exc}; {tail}); "
                    "this is a grader problem, not the student's: report it to the instructor"], []
    # The grader's notes describe its run (sandbox kind, restarts): kept for the instructor
    # in the JSON, not shown to students as notices.
    return [check_item(c) for c in grade.checks], [], list(grade.notes)


def prepare_shared_data(course, log=print):
    """Compute, once, what the module checks of every student share, before a batch's workers
    start (batch.grade_all calls it in its main process).

    The saved models on features (grading/hidden/models.toml, preprocessing "features") are
    scored on the HOG and colour-histogram features of the CIFAR-10 validation and test images,
    normalised by the training images' (coursekit/grader/models.py). Computing them takes
    minutes on the whole CIFAR-10; the grader caches them in .cache/grader/, but workers that
    start together all miss the cache and compute them side by side. Computed here first, every
    worker reads the cache. The images themselves are loaded by each student's checks (a few
    seconds). Returns True when it computed them, False when there was nothing to do (no module
    grader, no CIFAR-10, no features model, or the cache already there)."""
    cifar_dir = course.kernel_env.get("CS231N_CIFAR10_DIR")
    if course.module_grader is None or not cifar_dir or \
            not (Path(cifar_dir) / "test_batch").is_file():
        return False
    from coursekit.grader.models import CifarImages, load_models

    if not any(spec.get("preprocessing") == "features" for spec in load_models().values()):
        return False
    images = CifarImages(cifar_dir)
    cache = images.features_cache()
    if cache.exists():
        return False
    log(f"coursekit autograde: computing the features of the CIFAR-10 validation and test "
        f"images once for every student (cached in {cache.parent})")
    start = time.monotonic()
    try:
        images.features()
    except Exception as exc:  # the students' own checks meet it again and report it there
        log(f"coursekit autograde: the features could not be computed ({type(exc).__name__}: "
            f"{exc}); each student's saved-model checks will try again")
        return False
    log(f"coursekit autograde: features ready ({time.monotonic() - start:.0f} s)")
    return True
