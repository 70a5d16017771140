"""The score a CI step reports, read from a student's result file, never from grading output.

    read_score(Path("autograded/alice/assignment1.json"))  ->  "alice: 187.5 / 214"

What a notebook kernel writes to its stdout or stderr can end up in `coursekit autograde`'s
output, so a line `alice: 214 / 214` (or a `::notice` workflow command) there may be the
student's own. The result JSON is written by the grader itself, after every kernel of the
submission has ended, atomically, outside every folder the sandbox can write
(`pipeline.grade_submission`); `coursekit ci-grade` (coursekit/autograde/ci.py) annotates
the line this returns.
"""
import json


class NoScore(Exception):
    """There is no score to report; the message says why, for the job's error annotation."""


def score_line(result):
    """`<student>: <score> / <max>` of a result (numbers as in grades.csv)."""
    from coursekit.autograde.report import _num

    return f"{result['student']}: {_num(result['score'])} / {_num(result['max_score'])}"


def read_score(path):
    """`<student>: <score> / <max>` of the result file at `path`; NoScore when the file is
    missing or unreadable (the grading did not finish) or records a failed grading."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NoScore(f"no readable result at {path} ({exc}); the grading did not finish") \
            from exc
    if not isinstance(result, dict):
        raise NoScore(f"{path} holds no result (a JSON object was expected)")
    if result.get("status") == "error":
        notices = "; ".join(map(str, result.get("notices", []))) or "no reason recorded"
        raise NoScore(f"the grading of {result.get('student')} failed: {notices}")
    try:
        return score_line(result)
    except (KeyError, TypeError, ValueError) as exc:
        raise NoScore(f"{path} holds no score ({exc!r})") from exc
