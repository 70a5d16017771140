"""The student release: `coursekit release` builds release/<assignment> from the master course.

What the course is made of comes from its manifest (course.toml, `coursekit.course`). See
`build` for the steps, `stub` for how modules are cleared, `leakcheck` for what may never reach
students, and `templates/` for the files students get besides the notebooks and package.
"""
