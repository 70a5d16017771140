"""Step 4, module checks: the hidden module checks and the saved-model checks.

The checks themselves (sandbox, reference values) belong to `coursekit.grader`; this step
calls `GradingRun.module_grader` (coursekit.grader.grade_submission unless a test swaps in a fake)
on the collected submission and turns each CheckResult of its GradeResult into a graded Item,
grouped by the function (or model) it checks, so grades.csv gets one column per function and
one per model. A model the checks hold for review keeps what its release would earn in
`Item.review` (reviews.py).
"""
import traceback

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
