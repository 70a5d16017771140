"""What the release steps agree on beyond the course manifest (course.toml, read by
coursekit.course.Course): the student-file templates and nbgrader's region delimiters."""
import os

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")

# nbgrader's region delimiters (also nbgrader's defaults).
BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
BEGIN_MARK_SCHEME, END_MARK_SCHEME = "BEGIN MARK SCHEME", "END MARK SCHEME"
