"""The student release: `coursekit release` builds release/assignment1 from the master course.

See `pipeline` for the steps, `stub` for how modules are cleared, `leakcheck` for what may never
reach students, and `templates/` for the files students get besides the notebooks and package.
"""
