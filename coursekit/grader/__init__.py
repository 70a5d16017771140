"""Hidden module grading: a submission's `cs231n` package run in a sandbox and judged by pytest.

The hidden checks are the pytest tests of grading/hidden/ (test_<topic>.py, each test with its
points and student function as markers; references.json; models.toml for the saved models).
`pytest grading/hidden --submission PATH` runs them for an instructor; `grade_submission(path)`
runs the same through `pytest.main` and returns a `GradeResult` (`.points`, `.max_points`,
`.checks`, `.notes`, `.seconds`, `.to_dict()`); `coursekit grade-module PATH` is the command
line.

The modules, in the order a submission meets them:

    driver.py        pytest.main on grading/hidden; record mode for the reference values
    plugin.py        the pytest plugin: options, markers, the `student` fixture, the results
    sandbox.py       copy the submission, start the jailed worker, one request at a time
    worker.py        the worker itself (runs the student's code) and the array wire format
    context.py       `student`: calls into the worker, comparisons, numeric gradients, messages
    tolerances.py    how close every kind of value must be, and why
    functions.py     the student functions (course.toml, read off the master) and their files
    rules.py         source rules read from the submitted files (loops, norm, scipy)
    references.py    the reference values file (written by `make references`)
    master.py        the trusted master modules the grader itself uses
    models.py        the saved models, evaluated on the CIFAR-10 test images
    results.py       CheckResult and GradeResult
    check_report.py  their JSON, text and Gradescope forms (`coursekit grade-module`)
"""


def grade_submission(path, **kwargs):
    """Grade the `cs231n/` package in folder `path`; see driver.grade_submission."""
    from coursekit.grader.driver import grade_submission as _grade

    return _grade(path, **kwargs)


__all__ = ["grade_submission"]
