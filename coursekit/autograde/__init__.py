"""Grading of student submissions, end to end.

A short pipeline of small named steps, each in its own module and each runnable alone:

    collect       -> normalise a submission folder (renamed, missing, invalid notebooks)
    nbgrade       -> nbgrader autograde of every notebook, in grading mode, in a guarded
                     kernel (kernel_launch: resource limits; kernel_guard: the in-kernel
                     fence; gradebook: the scores nbgrader records, read back and adjusted;
                     kernels_ahead: a student's next kernel started while a notebook runs,
                     one judge per student; zygote, kernel_zygote: a student's kernels
                     forked from one process in the student's jail)
    inline        -> the choice inline answers, scored from the notebook text
    module_checks -> the hidden module checks and saved-model checks (coursekit.grader);
                     reviews: the instructor's decisions on saved models held for review
    feedback      -> per-student HTML without hidden tests or expected values
                     (formulas: the pages' LaTeX as MathML, made offline)
    report        -> grades.csv and the instructor summary from the per-student JSON
                     (result: the typed Result that JSON holds)

`pipeline.grade_submission` runs the steps for one student; `batch.grade_all` runs many
students in parallel; `command` is the `coursekit autograde` verb, `gradescope` the
Gradescope autograder, `ci` the GitHub workflow's steps (`coursekit ci-student-id`,
`coursekit ci-grade`; `score` reads the score they annotate), `benchmark` the timings for
`make bench`.

This module stays import-light on purpose: the kernel launcher
(`coursekit.autograde.kernel_launch`) is imported in every grading kernel.
"""
