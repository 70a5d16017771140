"""Step 3, inline: the choice inline questions, scored from the notebook text alone.

No code runs: the notebooks helper's parser reads each `Your answer:` line of a student's
notebook and compares it with the key it extracts from the master notebook. Free-text
answers are not scored here; they are nbgrader manually graded cells (formgrader).
"""
import functools
import traceback
from pathlib import Path

from coursekit.autograde.result import INLINE, Item
from coursekit.course import current


@functools.lru_cache(maxsize=4)
def _answer_key(source_dir, stamp):
    from coursekit.notebooks import answers

    return answers.answer_key(source_dir)


def grade_inline_answers(notebooks, source_dir):
    """Default inline scorer: the notebooks' own parser (coursekit.notebooks.answers).

    `notebooks`: {notebook name: path of the student's notebook}; `source_dir`: the master
    notebooks the key is read from. One Item per fixed-answer question, id
    inline:<notebook>:<answer cell>, 1 of 1 when the parsed answer equals the key, else 0;
    `gradebook.record_inline_scores` scales that to the answer cell's points. Messages repeat
    what was read, never the key.
    """
    from coursekit.notebooks import answers

    source_dir = Path(source_dir or current().source_dir)
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
        items.append(Item(f"inline:{question.notebook}:{question.grade_id}", INLINE,
                          1 if ok else 0, 1, message=message))
    return items


def run_inline(course, notebook_paths):
    """(items, grader notes) for {notebook name: path of the student's notebook}.

    When no inline scorer is available the choice questions simply stay with the manually
    graded cells (formgrader); that is a note for the instructor, not a student notice."""
    if course.inline_grader is None:
        return [], []
    paths = {name: Path(p) for name, p in notebook_paths.items()}
    try:
        return course.inline_grader(paths, course.source_dir), []
    except NotImplementedError as exc:
        return [], [f"inline answers left to manual grading: {exc}"]
    except Exception as exc:
        tail = traceback.format_exc(limit=-1).strip().splitlines()[-1]
        return [], [f"inline answers not scored ({type(exc).__name__}: {exc}; {tail}); "
                    "they stay with manual grading"]
