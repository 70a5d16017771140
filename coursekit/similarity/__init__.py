"""`coursekit similarity`: the student-written code of every submission compared with every other
submission and with known solutions, per function and per notebook cell, for instructors only.

    units.py      what is compared: the functions of the master's solution regions (by qualified
                  name) and the notebooks' solution code cells (by cell id), read out of a
                  submission as untrusted data, out of the release (the boilerplate) and out of
                  the instructor's folders of known solutions (similarity/reference/<name>/)
    compare.py    copydetect's fingerprints (winnowing, as MOSS) of each unit, the fingerprints
                  the release holds or most of the class shares left out, and the weighted score
                  of every pair of sources on every unit
    pages.py      the HTML report: autograded/similarity/index.html (ranked pairs) and one page
                  per pair with the matching code side by side, the matched regions marked
    command.py    the verb: settings from course.toml's [similarity] table or the command line
    benchmark.py  a class of 600 generated submissions compared, timed (for make bench)

The report is evidence for an instructor to review, never a verdict, and never reaches a
student: it is written under autograded/ (not feedback/), and the leak check refuses a
`similarity/` folder in the release. docs/similarity.md says how to read it.
"""
