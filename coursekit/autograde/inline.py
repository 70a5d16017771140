"""Step 4, inline: the choice inline questions, scored from the notebook text alone.

No code runs: the notebooks helper's parser reads each `Your answer:` line of a student's
notebook and compares it with the key it extracts from the master notebook. Free-text
answers are not scored here; they are nbgrader manually graded cells (formgrader).
"""
import traceback
from pathlib import Path

from coursekit.autograde.modules import _as_dict, _first, load_callable


def normalise_answers(result):
    """Graded items from the parser's result (list or dict of per-question records)."""
    data = _as_dict(result)
    if isinstance(data, dict) and not any(k in data for k in ("questions", "items", "answers")):
        records = [dict(_as_dict(v), id=k) if isinstance(_as_dict(v), dict) else
                   {"id": k, "score": v} for k, v in data.items()]
    elif isinstance(data, dict):
        records = _first(data, "questions", "items", "answers", default=[])
    else:
        records = data
    items = []
    for record in records:
        record = _as_dict(record)
        qid = str(_first(record, "id", "question", "name", default="question"))
        max_score = float(_first(record, "max_points", "max_score", "points_possible",
                                 default=1.0))
        score = _first(record, "points", "score")
        if score is None:
            score = max_score if _first(record, "correct", "passed", default=False) else 0.0
        items.append({"id": f"inline:{qid}", "column": f"inline:{qid}", "score": float(score),
                      "max_score": max_score,
                      "needs_manual": bool(_first(record, "needs_manual", "manual_part",
                                                  default=False)),
                      "message": str(_first(record, "message", "feedback", default=""))})
    return items


def grade_inline_answers(notebooks):
    """Default inline grader: the notebooks helper's parser over {name: notebook path}."""
    raise NotImplementedError(
        "coursekit.autograde.inline: the inline-answer parser of the notebooks (issue 3) is not "
        "wired in yet; set Course.inline_grader to its 'module:function'")


def run_inline(course, notebook_paths):
    """(items, notices, grader notes) for {notebook name: path of the student's notebook}.

    When no inline scorer is available the choice questions simply stay with the manually
    graded cells (formgrader); that is a note for the instructor, not a student notice."""
    if not course.inline_grader:
        return [], [], []
    paths = {name: Path(p) for name, p in notebook_paths.items()}
    try:
        grader = load_callable(course.inline_grader)
        return normalise_answers(grader(paths)), [], []
    except NotImplementedError as exc:
        return [], [], [f"inline answers left to manual grading: {exc}"]
    except Exception as exc:
        tail = traceback.format_exc(limit=-1).strip().splitlines()[-1]
        return [], [], [f"inline answers not scored ({type(exc).__name__}: {exc}; {tail}); "
                        "they stay with manual grading"]
