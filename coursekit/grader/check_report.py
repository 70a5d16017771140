"""Reports of a graded submission: the JSON record and a readable summary by function."""

import json
from pathlib import Path

from coursekit.grader.functions import STUDENT_FUNCTIONS

STATUS_WORDS = {
    "passed": "ok",
    "partial": "partial",
    "failed": "FAILED",
    "error": "ERROR",
    "not_implemented": "not implemented",
    "timeout": "TIMEOUT",
    "crashed": "CRASHED",
    "flood": "OUTPUT FLOOD",
    "junk": "BAD REPLY",
    "not_graded": "not graded",
    "review": "held for review",
    "grader_error": "GRADER ERROR",
}


def to_json(result):
    return json.dumps(result.to_dict(), indent=2) + "\n"


def write_reports(result, out_dir):
    """Write grade.json, summary.txt and results.json (Gradescope's format) into out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / "grade.json", out_dir / "summary.txt", out_dir / "results.json"
    paths[0].write_text(to_json(result))
    paths[1].write_text(summary(result))
    paths[2].write_text(json.dumps(gradescope_results(result), indent=1) + "\n")
    return paths


def gradescope_results(result):
    """Gradescope's results.json: one test per check, named by its function and id."""
    tests = [{"name": f"{c.function}: {c.id}", "score": c.points, "max_score": c.max_points,
              "status": "passed" if c.status == "passed" else "failed",
              "output": c.message or "ok", "visibility": "visible"} for c in result.checks]
    return {"score": result.points, "execution_time": round(result.seconds, 1),
            "tests": tests}


def summary(result):
    """One line per function (points and status), then the message of each lost check."""
    # In the assignment's order of the functions, the saved models last.
    order = {name: i for i, name in enumerate(STUDENT_FUNCTIONS)}
    by_function = {}
    for c in sorted(result.checks, key=lambda c: order.get(c.function, len(order))):
        by_function.setdefault(c.function, []).append(c)
    width = max([len(f) for f in by_function] + [8])
    lines = [f"Module grade of {result.submission}",
             f"Total: {result.points:g} / {result.max_points:g} points"
             + (f" ({result.max_points - result.graded_max_points:g} not graded)"
                if result.graded_max_points != result.max_points else ""), ""]
    for function, checks in by_function.items():
        got = sum(c.points for c in checks)
        top = sum(c.max_points for c in checks)
        statuses = {c.status for c in checks}
        if statuses == {"passed"}:
            word = "ok"
        elif len(statuses) == 1:
            word = STATUS_WORDS.get(checks[0].status, checks[0].status)
        else:
            word = "some checks failed"
        lines.append(f"  {function:<{width}}  {got:5g} / {top:<4g} {word}")
    problems = [c for checks in by_function.values() for c in checks
                if c.status not in ("passed", "not_graded")]
    if problems:
        lines += ["", "What to fix:"]
        for c in problems:
            message = c.message.replace("\n", "\n      ")
            lines.append(f"  - [{c.function}] {c.id}: {message}")
    not_graded = [c for c in result.checks if c.status == "not_graded"]
    if not_graded:
        lines += ["", "Not graded:"] + [f"  - {c.function}: {c.message}" for c in not_graded]
    if result.notes:
        lines += ["", "Notes:"] + [f"  - {n}" for n in result.notes]
    lines.append(f"\nGraded in {result.seconds:.1f} s.")
    return "\n".join(lines) + "\n"
