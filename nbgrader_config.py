"""nbgrader configuration of the course repository.

The course directory is the repository root: source/ holds the master notebooks,
release/ the student version, submitted/ and autograded/ the grading run.
"""
import os

from coursekit.autograde.gradebook import ensure_alembic_on_path
from coursekit.course import Course

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

HERE = os.path.dirname(os.path.abspath(__file__))
# The assignment, its folders and given files: course.toml next to this file.
COURSE = Course.load(HERE)

c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "cs231n"
# The assignment is put in the gradebook by grading itself (coursekit autograde records the
# master notebooks there first, coursekit/autograde/pipeline.py `prepare`), so formgrader lists
# it after the first `make autograde`; nbgrader 0.9 has no option for it.

# nbgrader runs the `alembic` program (from PATH) whenever it opens the gradebook, formgrader
# too: the virtualenv's, also when Jupyter was started as .venv/bin/jupyter without activating it.
ensure_alembic_on_path()

# nbgrader's exchange (release, fetch and submit through a shared folder on one machine) is not
# used here: submissions arrive with zip_collect or from repositories (docs/grading.md). Formgrader
# still checks its folder on every page and logs "Unwritable directory" for the default
# /usr/local/share/nbgrader/exchange: it gets a writable folder of its own instead (git-ignored).
EXCHANGE = os.path.join(HERE, ".cache", "nbgrader-exchange")
try:
    os.makedirs(EXCHANGE, exist_ok=True)
except OSError:
    pass  # a read-only checkout: formgrader only logs the warning
c.Exchange.root = EXCHANGE

# --- Grading (coursekit autograde) ---------------------------------------------------
# The gradebook. SQLite waits up to 60 s for a lock instead of failing with "database is locked"
# when parallel grading workers write; NBGRADER_DB_URL selects any other database nbgrader
# accepts (e.g. postgresql://user@host/cs231n).
c.CourseDirectory.db_url = os.environ.get("NBGRADER_DB_URL") or (
    "sqlite:///" + os.path.join(HERE, "gradebook.db") + "?timeout=60")
# Every notebook runs in the course's Python kernel, whatever kernel the student's file names.
c.Execute.kernel_name = "python3"
# Seconds per cell; grading mode (NBGRADER_EXECUTION set) keeps each notebook near a minute.
c.Execute.timeout = 120
# A warning on stderr must not zero a test cell: nbgrader scores any stderr output as a failure,
# and IgnorePattern only drops matching output when it is also enabled.
c.IgnorePattern.pattern = r"\w*Warning:|warnings\.warn"
c.IgnorePattern.enabled = True
# Grade cells a student deleted are put back (and scored) instead of silently dropped.
c.OverwriteCells.add_missing_cells = True
# The student's files are graded as handed in: nbgrader copies the instructor's version of every
# non-notebook file of source/ over the submission unless it is listed here. The exceptions are
# the given files grading relies on (grading-mode switch, data loading, saving, numeric
# gradients), which are always the course's copies.
c.Autograde.exclude_overwriting = {
    COURSE.assignment: sorted(
        rel for rel in (
            os.path.relpath(os.path.join(folder, name), COURSE.source_dir)
            for folder, _, names in os.walk(COURSE.source_dir, followlinks=True)
            for name in names if not name.endswith(".ipynb") and "__pycache__" not in folder)
        if rel.replace(os.sep, "/") not in COURSE.given_files
    )
}
# `nbgrader generate_feedback` (and formgrader's feedback button) would show the hidden tests,
# through the test cells' source and the tracebacks of failed asserts: cut them out first. The
# student's outputs and answers are cut to size and cleaned of scripts (the pages open in a
# browser; formgrader's in the instructor's Jupyter session).
c.GenerateFeedback.preprocessors = [
    "coursekit.autograde.feedback.HideHiddenTests",
    "coursekit.autograde.nbgrade.TruncateOutput",
    "coursekit.autograde.nbgrade.SanitizeOutputs",
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# Formgrader and generate_feedback also pass HTML outputs through nbconvert's own sanitiser and
# never run an output's JavaScript (a notebook graded by plain `nbgrader autograde` is not
# cleaned by coursekit's SanitizeOutputs).
c.HTMLExporter.sanitize_html = True
