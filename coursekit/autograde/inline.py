"""Step 4, inline: the choice inline questions, scored from the notebook text alone.

No code runs: the notebooks helper's parser reads each `Your answer:` line of a student's
notebook and compares it with the key it extracts from the master notebook. Free-text
answers are not scored here; they are nbgrader manually graded cells (formgrader).
"""
import functools
import inspect
import traceback
from pathlib import Path

from coursekit.autograde.course import ASSIGNMENT, REPO_ROOT
from coursekit.autograde.module_checks import _as_dict, _first, load_callable


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
        items.append({"id": f"inline:{qid}", "column": f"inline:{qid}", "kind": "inline",
                      "score": float(score),
                      "max_score": max_score,
                      "needs_manual": bool(_first(record, "needs_manual", "manual_part",
                                                  default=False)),
                      "message": str(_first(record, "message", "feedback", default=""))})
    return items


@functools.lru_cache(maxsize=4)
def _answer_key(source_dir, stamp):
    from coursekit.notebooks import answers

    return answers.answer_key(source_dir)


def grade_inline_answers(notebooks, source_dir=None):
    """Default inline scorer: the notebooks' own parser (coursekit.notebooks.answers).

    Each fixed-answer question scores 1 of 1 when the parsed answer equals the key read from
    the master notebooks, else 0; `record_inline_scores` scales that to the answer cell's
    points. Messages repeat what was read, never the key.
    """
    from coursekit.notebooks import answers

    source_dir = Path(source_dir or REPO_ROOT / "source" / ASSIGNMENT)
    stamp = tuple(p.stat().st_mtime_ns for p in sorted(source_dir.glob("*.ipynb")))
    key = _answer_key(str(source_dir), stamp)
    parsed = {}
    for path in notebooks.values():
        try:
            parsed.update(answers.read_answers(str(path)))
        except (OSError, ValueError):
            continue
    items = []
    for question in answers.QUESTIONS:
        answer = parsed.get(question.grade_id)
        ok = answer is not None and answers.score(answer, key[question.grade_id])
        if answer is None:
            message = f"no answer cell found in {question.notebook}.ipynb"
        elif not answer.answered:
            message = f"could not read your answer: {answer.problem}" if answer.problem \
                else "no answer after 'Your answer:'"
        else:
            value = answer.value
            shown = (", ".join(map(str, sorted(value))) if isinstance(value, frozenset)
                     else str(value))
            message = f"your answer: {shown}" + ("" if ok else " (not correct)")
        items.append({"id": f"{question.notebook}:{question.grade_id}", "points": 1 if ok else 0,
                      "max_points": 1, "message": message})
    return items


def run_inline(course, notebook_paths):
    """(items, notices, grader notes) for {notebook name: path of the student's notebook}.

    When no inline scorer is available the choice questions simply stay with the manually
    graded cells (formgrader); that is a note for the instructor, not a student notice."""
    if not course.inline_grader:
        return [], [], []
    paths = {name: Path(p) for name, p in notebook_paths.items()}
    try:
        grader = load_callable(course.inline_grader)
        if "source_dir" in inspect.signature(grader).parameters:
            return normalise_answers(grader(paths, source_dir=course.source_dir)), [], []
        return normalise_answers(grader(paths)), [], []
    except NotImplementedError as exc:
        return [], [], [f"inline answers left to manual grading: {exc}"]
    except Exception as exc:
        tail = traceback.format_exc(limit=-1).strip().splitlines()[-1]
        return [], [], [f"inline answers not scored ({type(exc).__name__}: {exc}; {tail}); "
                        "they stay with manual grading"]
