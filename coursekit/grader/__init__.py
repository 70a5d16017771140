"""Hidden module grading: runs a submission's `cs231n` package in a sandbox and scores it.

Entry point: `grade_submission(path)` grades the `cs231n/` folder inside `path` against the
hidden checks and reference values of tests/hidden/ and returns a `GradeResult` (`.points`,
`.max_points`, `.checks`, `.notes`, `.seconds`, `.to_dict()`); report.py writes its JSON and the
summary by function. `coursekit grade-module PATH` is the command line.

The modules, in the order a submission meets them:

    sandbox.py     copy the submission, start the jailed worker, one request at a time
    worker.py      the worker itself (runs the student's code) and the array wire format
    driver.py      load checks.py and rubric.toml, run every check, gather the results
    context.py     what a check uses: calls into the worker, comparisons, numeric gradients
    rules.py       source rules read from the submitted files (loops, norm, scipy)
    references.py  the reference values file (written by `make references`)
    master.py      the trusted master modules the grader itself uses
    models.py      the saved models, evaluated on the CIFAR-10 test images
    results.py     CheckResult and GradeResult;  report.py  their JSON and text forms
"""


def grade_submission(path, **kwargs):
    """Grade the `cs231n/` package in folder `path`; see driver.grade_submission."""
    from coursekit.grader.driver import grade_submission as _grade

    return _grade(path, **kwargs)


__all__ = ["grade_submission"]
