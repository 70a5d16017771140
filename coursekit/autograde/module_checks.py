"""Step 3, module checks: the hidden module checks and the saved-model checks.

The checks themselves (sandbox, reference values) belong to `coursekit.grader`; this step
calls its entry point on the collected submission and turns whatever it returns into
graded items: one per check, grouped by the function (or model) it checks, so grades.csv
gets one column per function and one per model. A model the checks hold for review keeps
what its release would earn in `item["review"]` (reviews.py).
"""
import importlib
import traceback

from coursekit.autograde import reviews


def load_callable(spec):
    """'package.module:function' -> the function."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name or "main")


def _as_dict(result):
    for attr in ("to_dict", "as_dict", "to_json_dict"):
        if hasattr(result, attr):
            return getattr(result, attr)()
    if hasattr(result, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(result)
    return result


def _first(d, *keys, default=None):
    for key in keys:
        if key in d and d[key] is not None:
            return d[key]
    return default


def normalise_checks(result):
    """Graded items from the grader's result (a dict, a list, or an object with to_dict)."""
    data = _as_dict(result)
    if isinstance(data, dict):
        checks = _first(data, "checks", "results", "items", default=[])
    else:
        checks = data
    items = []
    for check in checks:
        check = _as_dict(check)
        check_id = str(_first(check, "id", "name", "check", default="check"))
        function = str(_first(check, "function", "group", "target", default=""))
        is_model = check_id.startswith("model") or function.startswith("saved/")
        if is_model:
            # One item and column per saved model, named by its file: model:best_softmax.
            group = (function.removeprefix("saved/").removesuffix(".npy")
                     if function.startswith("saved/") else check_id.split(".", 1)[-1])
            prefix, check_id = "model", group
        else:
            prefix, group = "module", function or check_id.split(".")[0]
        max_score = float(_first(check, "max_points", "max_score", "points_possible",
                                 "weight", default=1.0))
        score = _first(check, "points", "score", "earned")
        if score is None:
            score = max_score if _first(check, "passed", "ok", default=False) else 0.0
        message = str(_first(check, "message", "feedback", "detail", default=""))
        status = _first(check, "status", default="")
        if status == "not_graded" and not message:
            message = "not graded"
        item = {
            "id": f"{prefix}:{check_id}", "column": f"{prefix}:{group}", "kind": prefix,
            "score": float(score), "max_score": max_score,
            "message": message,
        }
        if is_model and status == "review":  # held: scored by the instructor's review
            item["review"] = reviews.held_item(item, _first(check, "details", default={}))
        items.append(item)
    return items


def run_module_checks(course, submission_dir):
    """(items, notices, grader notes) of the module/model checks of one submission."""
    if not course.module_grader:
        return [], [], []
    try:
        grader = load_callable(course.module_grader)
    except Exception as exc:
        return [], [f"module checks not run: cannot load {course.module_grader} ({exc}); "
                    "finish coursekit.grader (issue 5) or set Course.module_grader"], []
    import os

    data_dir = course.kernel_env.get("CS231N_CIFAR10_DIR")
    if data_dir and not os.environ.get("CS231N_CIFAR10_DIR"):
        os.environ["CS231N_CIFAR10_DIR"] = data_dir  # the saved models are evaluated on it
    try:  # SystemExit too: whatever the grader lets through must not end the grading run
        result = grader(str(submission_dir))
        notes = _as_dict(result).get("notes", []) if isinstance(_as_dict(result), dict) else []
        # The grader's notes describe its run (sandbox kind, restarts): kept for the
        # instructor in the JSON, not shown to students as notices.
        return normalise_checks(result), [], notes
    except (Exception, SystemExit) as exc:
        tail = traceback.format_exc(limit=-1).strip().splitlines()[-1]
        return [], [f"module checks failed to run ({type(exc).__name__}: {exc}; {tail}); "
                    "this is a grader problem, not the student's: report it to the instructor"], []
