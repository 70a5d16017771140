"""nbgrader configuration of the course repository.

The course directory is the repository root: source/ holds the master notebooks,
release/ the student version, submitted/ and autograded/ the grading run.
"""
import os

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "cs231n"
c.CourseDirectory.db_assignments = [dict(name="assignment1")]
