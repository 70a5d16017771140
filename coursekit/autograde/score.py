"""The score a CI step reports, read from a student's result file, never from grading output.

    python -m coursekit.autograde.score autograded/<student>/assignment1.json
    -> alice: 187.5 / 214

What a notebook kernel writes to its stdout or stderr can end up in `coursekit autograde`'s
output, so a line `alice: 214 / 214` (or a `::notice` workflow command) there may be the
student's own. The result JSON is written by the grader itself, after every kernel of the
submission has ended, atomically, outside every folder the sandbox can write
(`pipeline.grade_submission`); `.github/workflows/autograde.yml` annotates what this prints.
Exit code 1, with the reason on stderr, when there is no result or its grading failed.
"""
import json
import sys
from pathlib import Path


def score_line(result):
    """`<student>: <score> / <max>` of a result (numbers as in grades.csv)."""
    from coursekit.autograde.report import _num

    return f"{result['student']}: {_num(result['score'])} / {_num(result['max_score'])}"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m coursekit.autograde.score RESULT_JSON", file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"coursekit.autograde.score: no readable result at {path} ({exc}); the grading "
              "did not finish: read its output above", file=sys.stderr)
        return 1
    if result.get("status") == "error":
        notices = "; ".join(result.get("notices", [])) or "no reason recorded"
        print(f"coursekit.autograde.score: grading of {result.get('student')} failed: {notices}",
              file=sys.stderr)
        return 1
    print(score_line(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
