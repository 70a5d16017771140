"""Saved models held for review: the instructor's decisions, and what they do to the scores.

The module checks hold a saved model for review (0 points, `Item.review` in the result) when
its test accuracy is out of line with its validation accuracy or with its kind of model
(coursekit/grader/models.py). The class summary lists those models with both accuracies. The
instructor looks at each one and writes a line per decision into `model_reviews.csv` at the
output root (next to autograded/):

    student,model,decision,note
    alice,best_softmax,release,trained on train + val: fine
    bob,best_two_layer_net,withhold,fitted to the test images

then runs `make grades`. A released model earns the points its test accuracy is worth; a
withheld one stays at 0 and says so. The file is read again by every export and every grading,
so a decision can be changed or removed and exported again, and a regrade keeps it.
"""
import csv

from coursekit.autograde.result import Review

FILE_NAME = "model_reviews.csv"
HEADER = ("student", "model", "decision", "note")
DECISIONS = {"release": "released", "withhold": "withheld"}


class ReviewsError(ValueError):
    """model_reviews.csv cannot be read (the message names the line and what to do)."""


def reviews_path(course):
    return course.output_root / FILE_NAME


def load(course):
    """{(student, model): "release" or "withhold"} of model_reviews.csv ({} without the file)."""
    path = reviews_path(course)
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or tuple(c.strip() for c in rows[0][:3]) != HEADER[:3]:
        raise ReviewsError(f"{path}: the first line must be '{','.join(HEADER)}'; fix the file "
                           "and run make grades again")
    decisions = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        student, model, decision = ([c.strip() for c in row] + ["", "", ""])[:3]
        if decision not in DECISIONS or not student or not model:
            raise ReviewsError(f"{path}, line {number}: write 'student,model,decision' with the "
                               f"decision 'release' or 'withhold' (got {','.join(row)!r}); fix "
                               "the line and run make grades again")
        decisions[(student, model.removesuffix(".npy"))] = decision
    return decisions


def held_review(message, details):
    """The Review of a model the checks held (`details`: the check's accuracies, what it
    would earn, why it is held); `message` is the student's while it waits."""
    return Review("pending", details.get("validation"), details.get("test"),
                  float(details.get("earned", 0.0)), str(details.get("reason", "")), message)


def apply(result, decisions):
    """Score the held models of `result` (a Result) by the decisions, in place. Returns the
    items of the held models."""
    held = [item for item in result.items if item.review is not None]
    for item in held:
        review = item.review
        model = item.column.removeprefix("model:")
        review.status = DECISIONS.get(decisions.get((result.student, model)), "pending")
        item.score = review.held if review.status == "released" else 0.0
        item.message = _message(review)
    return held


def _message(review):
    if review.status == "pending":
        return review.message
    accuracies = (f"validation accuracy {review.validation:.3f}, test accuracy "
                  f"{review.test:.3f}")
    if review.status == "released":
        return f"{accuracies}: reviewed by your instructor; the points count."
    return (f"{accuracies}: reviewed by your instructor; this model earns no points. Ask your "
            "instructor about it.")


def summary_lines(results):
    """The class summary's section on held models, of {student: Result} (no lines when there
    are none)."""
    rows = []
    for student in sorted(results):
        for item in results[student].items:
            review = item.review
            if review:
                rows.append(f"| {student} | {item.column.removeprefix('model:')} | "
                            f"{review.validation:.3f} | {review.test:.3f} | "
                            f"{review.held:g} of {item.max_score:g} | {review.status} | "
                            f"{review.reason} |")
    if not rows:
        return []
    return ["", "## Saved models held for review", "",
            "Each is scored 0 until reviewed. To decide, add `student,model,release` (or "
            f"`withhold`) to `{FILE_NAME}` at the output root and run `make grades` "
            "(docs/grading.md, section 3).", "",
            "| student | model | validation | test | points on release | review | why held |",
            "|---|---|---:|---:|---:|---|---|", *rows]
