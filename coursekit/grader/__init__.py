"""Hidden module grading: runs a submission's `cs231n` package in a sandbox and scores it.

Entry point: `grade_submission(path)` grades the `cs231n/` folder inside `path` against the
reference values in tests/hidden/ and returns a `GradeResult` (see report.py for its JSON and
text forms). `coursekit grade-module PATH` is the command line.
"""


def grade_submission(path, **kwargs):
    """Grade the `cs231n/` package in folder `path`; see driver.grade_submission."""
    from coursekit.grader.driver import grade_submission as _grade

    return _grade(path, **kwargs)


__all__ = ["grade_submission"]
