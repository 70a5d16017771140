"""The gradebook side of grading: what nbgrader records, read and adjusted.

nbgrader keeps every graded cell's score in its gradebook (SQLite by default, any db_url it
accepts). These small functions read the scores back in the master notebook's cell order,
give 0 to notebooks that could not be graded, and store the inline scores; formgrader and
`nbgrader export` see the same numbers.
"""
import os
import sys
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry


def ensure_alembic_on_path():
    """nbgrader runs the `alembic` program (from PATH) when it creates a new gradebook; put
    this interpreter's bin folder on PATH so that works without an activated virtualenv."""
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


class GradebookError(RuntimeError):
    """The gradebook's database cannot be used (the message says why and what to do)."""


def describe_url(db_url):
    """The gradebook URL for messages, its password hidden."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except Exception:
        return "(a db_url SQLAlchemy cannot parse)"


def check_gradebook(course):
    """Open the gradebook once, so a database that cannot be used stops the run with one clear
    message (a missing driver, a server that is down, a wrong URL) instead of a traceback
    later, or an export that silently keeps old scores."""
    from sqlalchemy.exc import SQLAlchemyError

    where = describe_url(course.db_url)
    fix = ("fix NBGRADER_DB_URL or c.CourseDirectory.db_url in nbgrader_config.py "
           "(PostgreSQL: postgresql://user:password@host:port/database)")
    check_sqlite_file(course.sqlite_path)
    ensure_alembic_on_path()    # a new gradebook runs `alembic`
    try:
        with Gradebook(course.db_url):
            pass
    except ModuleNotFoundError as exc:
        raise GradebookError(
            f"coursekit autograde: the gradebook {where} needs the Python module {exc.name!r}, "
            "which is not installed; run make venv (requirements.txt pins psycopg[binary], "
            "the driver of postgresql:// URLs) or pip install it into this environment") from exc
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        hint = "; postgres:// is spelled postgresql://" if course.db_url.startswith(
            "postgres://") else ""
        raise GradebookError(
            f"coursekit autograde: cannot open the gradebook {where} "
            f"({detail[0] if detail else type(exc).__name__}){hint}; start the database server "
            f"and create the database, or {fix}") from exc


def sqlite_problem(path):
    """Why the SQLite file at `path` is not a usable database ("" when it is, or is missing
    or empty: nbgrader creates a new gradebook then)."""
    import sqlite3

    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return ""
        with path.open("rb") as f:
            header = f.read(16)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror})"
    if header != b"SQLite format 3\x00":
        return "it is not an SQLite database"
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
        try:
            rows = db.execute("PRAGMA quick_check").fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return f"SQLite says: {exc}"
    problems = [r[0] for r in rows if r[0] != "ok"]
    return f"SQLite says: {problems[0]}" if problems else ""


def check_sqlite_file(path):
    """Stop with one message when the SQLite gradebook is corrupt (not a database, truncated,
    damaged pages): which file, and what to do. Nothing to check for other databases."""
    if path is None:
        return
    problem = sqlite_problem(path)
    if problem:
        raise GradebookError(
            f"coursekit autograde: the gradebook {path} is corrupt ({problem}); restore it from "
            "a backup, or delete it to start over (the next run builds a new gradebook; "
            "regrade everyone with make autograde FORCE=1, and the scores entered by hand in "
            "formgrader are lost)")


def gradebook_notebooks(course):
    """Notebook names of the assignment known to the gradebook (empty if none)."""
    with Gradebook(course.db_url) as gb:
        try:
            assignment = gb.find_assignment(course.assignment)
        except MissingEntry:
            return []
        return [nb.name for nb in assignment.notebooks]


def zero_notebook(course, student, notebook):
    """Give every grade cell of a notebook that could not be graded a score of 0."""
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(course.assignment, student)
        try:
            submission = gb.find_submission_notebook(notebook, course.assignment, student)
        except MissingEntry:
            return
        for grade in submission.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
        gb.db.commit()


def zero_tests(course, student, notebook):
    """Score 0 for the test cells of a notebook whose test results cannot be trusted."""
    with Gradebook(course.db_url) as gb:
        nb = gb.find_notebook(notebook, course.assignment)
        solution_names = {cell.name for cell in nb.solution_cells}
        submission = gb.find_submission_notebook(notebook, course.assignment, student)
        for grade in submission.grades:
            if grade.name not in solution_names:
                grade.auto_score = 0
        gb.db.commit()


def record_inline_scores(course, student, items):
    """Store inline-answer scores as the automatic score of their answer cells.

    `items`: the inline step's Items. Returns (the items that matched no cell, names of the
    cells that were scored).

    A choice question is an nbgrader manually graded answer cell; when the inline scorer
    returns a score for it (item id 'inline:' + the cell's grade_id, optionally with
    '<notebook>:' before it), it becomes the cell's auto score and the cell no longer waits
    for manual grading. An instructor can still override it in formgrader.
    """
    with Gradebook(course.db_url) as gb:
        assignment = gb.find_assignment(course.assignment)
        cells = {}
        for nb in assignment.notebooks:
            for cell in nb.grade_cells:
                cells[cell.name] = (nb.name, cell)
                cells[f"{nb.name}:{cell.name}"] = (nb.name, cell)
        unmatched, scored = [], set()
        for item in items:
            key = item.id.removeprefix("inline:")
            if key not in cells:
                unmatched.append(item)
                continue
            nb_name, cell = cells[key]
            try:
                grade = gb.find_grade(cell.name, nb_name, course.assignment, student)
            except MissingEntry:
                unmatched.append(item)
                continue
            # The scorer's fraction of its own maximum, in the cell's points.
            fraction = item.score / (item.max_score or 1.0)
            grade.auto_score = round(min(max(fraction, 0.0), 1.0) * float(cell.max_score), 4)
            # A question with a free-text part too (an explanation) still waits for a
            # grader, who starts from the automatic score of its choice part.
            grade.needs_manual_grade = item.needs_manual
            scored.add(cell.name)
        gb.db.commit()
    return unmatched, scored


def notebook_grades(course, student, inline_cells=()):
    """{notebook: [grade dict]} for a student, in cell order, from the gradebook.

    Each grade: name, kind ("test"; "inline" for the cells in `inline_cells`, scored by the
    inline step; "manual" free text; "answer" autograded code), score (manual if an
    instructor set one, else auto), max_score, needs_manual_grade, manual_score.
    """
    return student_grades(course, student).notebook_grades(inline_cells)


def cell_comments(course, student):
    """{"<notebook>:<cell>": comment} of the student's solution cells that carry a comment: a
    grader's, entered in formgrader, else nbgrader's own ("No response." for an answer left as
    released), in the master notebooks' cell order."""
    return student_grades(course, student).comments


def student_grades(course, student):
    """The StudentGrades of one student (NO_GRADES without a submission)."""
    return class_grades(course, [student]).get(student, NO_GRADES)


class StudentGrades:
    """One student's graded cells and comments of the assignment, as `class_grades` read
    them: `notebook_grades(inline_cells)` and `comments` as the functions of those names."""

    def __init__(self):
        self.notebooks = {}     # notebook -> [(grade cell, its row)], in cell order
        self.comments = {}

    def notebook_grades(self, inline_cells=()):
        return {name: [_grade_dict(cell, row, inline_cells) for cell, row in cells]
                for name, cells in self.notebooks.items()}


NO_GRADES = StudentGrades()     # a student without a submission: nothing, as nbgrader has


class _Cell:
    """What a grade's dict takes from its master cell (plain data: the session is closed)."""

    def __init__(self, cell, solution):
        self.name, self.cell_type = cell.name, cell.cell_type
        self.max_score, self.solution = float(cell.max_score), solution


def _grade_dict(cell, row, inline_cells):
    if not cell.solution:
        kind = "test"
    elif cell.name in inline_cells:
        kind = "inline"     # a choice question scored by the inline step
    elif cell.cell_type == "markdown" or row.needs_manual_grade:
        kind = "manual"     # nbgrader scores an untouched answer 0 by itself
    else:
        kind = "answer"
    return {"name": cell.name, "kind": kind, "max_score": cell.max_score,
            "auto_score": row.auto_score, "manual_score": row.manual_score,
            "score": float(row.score or 0.0), "needs_manual_grade": bool(row.needs_manual_grade)}


def class_grades(course, students=None):
    """{student: StudentGrades} of every student with a submission of the assignment (or of
    those of `students`), read in four queries whatever the class's size: an export refreshes
    every result from the gradebook, and reading them student by student (nbgrader's objects,
    loaded lazily) took some seventy queries a student, half a minute for a class of 600.
    MissingEntry when the gradebook has no such assignment."""
    from nbgrader.api import BaseCell, Comment, Grade, SubmittedAssignment, SubmittedNotebook

    with Gradebook(course.db_url) as gb:
        db = gb.db
        assignment = gb.find_assignment(course.assignment)
        masters, orders, rank, names = {}, {}, {}, {}   # notebook id -> name, -> cell order
        graded = {}                           # grade cell id -> _Cell
        for nb in assignment.notebooks:       # by name, as nbgrader orders them
            masters[nb.id] = nb.name
            orders[nb.id] = source_cell_order(course, nb.name)
            solution = {cell.name for cell in nb.solution_cells}
            for cell in nb.grade_cells:
                graded[cell.id] = _Cell(cell, cell.name in solution)
        for cell_id, name, notebook_id in db.query(BaseCell.id, BaseCell.name,
                                                   BaseCell.notebook_id).filter(
                BaseCell.notebook_id.in_(list(masters))):
            order = orders[notebook_id]
            names[cell_id] = name
            rank[cell_id] = (order.get(name, len(order)), name)
        submitted = (db.query(SubmittedNotebook.id, SubmittedNotebook.notebook_id,
                              SubmittedAssignment.student_id)
                     .join(SubmittedAssignment,
                           SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                     .filter(SubmittedAssignment.assignment_id == assignment.id))
        if students is not None:
            submitted = submitted.filter(SubmittedAssignment.student_id.in_(list(students)))
        owner = {}                            # submitted notebook id -> (student, notebook)
        out = {}
        for nb_id, master_id, student in sorted(submitted.all(),
                                                key=lambda r: masters.get(r[1], "")):
            if master_id in masters:
                owner[nb_id] = (student, masters[master_id])
                out.setdefault(student, StudentGrades()).notebooks[masters[master_id]] = []
        if not owner:
            return out
        ids = submitted.with_entities(SubmittedNotebook.id).scalar_subquery()
        rows = db.query(Grade.notebook_id, Grade.cell_id, Grade.auto_score, Grade.manual_score,
                        Grade.score, Grade.needs_manual_grade).filter(
            Grade.notebook_id.in_(ids)).all()
        for row in sorted(rows, key=lambda r: rank.get(r.cell_id, (0, ""))):
            if row.notebook_id in owner and row.cell_id in graded:
                student, notebook = owner[row.notebook_id]
                out[student].notebooks[notebook].append((graded[row.cell_id], row))
        comments = db.query(Comment.notebook_id, Comment.cell_id, Comment.comment).filter(
            Comment.notebook_id.in_(ids)).all()
        kept = [(owner[r.notebook_id], r) for r in comments
                if r.notebook_id in owner and r.cell_id in names and (r.comment or "").strip()]
        # by notebook (by name, as above), then in the master's cell order
        for (student, notebook), row in sorted(kept, key=lambda k: (k[0][1],
                                                                     rank[k[1].cell_id])):
            out[student].comments[f"{notebook}:{names[row.cell_id]}"] = row.comment.strip()
    return out


def source_cell_order(course, notebook):
    """{grade_id: position} of the cells of a master notebook (empty if it is not there)."""
    import json

    path = course.source_dir / f"{notebook}.ipynb"
    try:
        cells = json.loads(path.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return {}
    ids = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in cells]
    return {gid: i for i, gid in enumerate(ids) if gid}


# --- one student's rows, carried from one gradebook to another ------------------------------
# A student is graded in a gradebook of their own (student_gradebook.py: a private SQLite file;
# cluster.py: a Dask worker's) and their rows are then written to the course's gradebook in one
# session and one commit. Only what grading writes is carried back: the fields of
# GRADING_FIELDS. What an instructor enters in formgrader or `nbgrader db` (INSTRUCTOR_FIELDS)
# stays as it is in the course's gradebook, also when it was changed while the student was
# being graded.
GRADING_FIELDS = {
    "student": (),
    "submission": ("timestamp",),                   # nbgrader's Autograde, from timestamp.txt
    "notebook": ("late_submission_penalty",),       # AssignLatePenalties
    "grade": ("auto_score", "needs_manual_grade"),  # SaveAutoGrades, zero_*, inline scores
    "comment": ("auto_comment",),                   # SaveAutoGrades ("No response.")
}
INSTRUCTOR_FIELDS = {
    "student": ("first_name", "last_name", "email", "lms_user_id"),
    "submission": ("extension",),
    "notebook": ("flagged",),
    "grade": ("manual_score", "extra_credit"),
    "comment": ("manual_comment",),
}
ALL_FIELDS = {kind: GRADING_FIELDS[kind] + INSTRUCTOR_FIELDS[kind] for kind in GRADING_FIELDS}


def student_rows(course, student, fields=GRADING_FIELDS):
    """The student's rows of the assignment, as plain data: {"student": {field: value},
    "submission": {field: value}, "notebooks": {notebook: {"notebook": {field: value},
    "grades": {cell: {field: value}}, "comments": {cell: {field: value}}}}}, with the
    `fields` of each kind (GRADING_FIELDS, ALL_FIELDS). {} for a student the gradebook does
    not know; no "submission" and "notebooks" for one without a submission."""
    with Gradebook(course.db_url) as gb:
        try:
            person = gb.find_student(student)
        except MissingEntry:
            return {}
        rows = {"student": _fields(person, fields["student"])}
        try:
            submission = gb.find_submission(course.assignment, student)
        except MissingEntry:
            return rows
        rows["submission"] = _fields(submission, fields["submission"])
        rows["notebooks"] = {
            nb.name: {"notebook": _fields(nb, fields["notebook"]),
                      "grades": {g.name: _fields(g, fields["grade"]) for g in nb.grades},
                      "comments": {c.name: _fields(c, fields["comment"]) for c in nb.comments}}
            for nb in submission.notebooks}
    return rows


def _fields(row, names):
    return {name: getattr(row, name) for name in names}


def merge_student_rows(course, student, rows):
    """Write `rows` (student_rows of another gradebook of the same master notebooks) into the
    course's gradebook in one session and one commit: the student and their submission are
    created when missing (as nbgrader's add_submission makes them), the fields `rows` holds
    are set, every other field is kept. GradebookError, and nothing written, for a notebook or
    cell the course's gradebook does not have (its master notebooks differ)."""
    import warnings

    if not rows:
        return
    with warnings.catch_warnings(), Gradebook(course.db_url) as gb:
        # nbgrader's own autoflush notices of a new submission (pipeline.py silences them too)
        warnings.filterwarnings("ignore", message=".*not in session.*")
        try:
            _set_rows(gb, course, student, rows)
        except BaseException:
            gb.db.rollback()
            raise
        gb.db.commit()


def _set_rows(gb, course, student, rows):
    # nbgrader's update_or_create_* commit as they go: the rows are made here, committed once.
    from nbgrader.api import Student

    try:
        person = gb.find_student(student)
    except MissingEntry:
        person = Student(id=student)
        gb.db.add(person)
    _set_fields(person, rows.get("student", {}))
    if "submission" not in rows:
        return
    try:
        submission = gb.find_submission(course.assignment, student)
    except MissingEntry:
        submission = _new_submission(gb, course.assignment, person)
    _set_fields(submission, rows["submission"])
    notebooks = {nb.name: nb for nb in submission.notebooks}
    where = describe_url(course.db_url)
    for name, notebook in rows.get("notebooks", {}).items():
        if name not in notebooks:
            raise GradebookError(
                f"coursekit autograde: {student}'s grades name the notebook {name!r}, which "
                f"the gradebook {where} does not know; they were graded with other master "
                "notebooks: run the batch again")
        _set_fields(notebooks[name], notebook.get("notebook", {}))
        grades = {g.name: g for g in notebooks[name].grades}
        comments = {c.name: c for c in notebooks[name].comments}
        unknown = (notebook["grades"].keys() - grades.keys()) | \
            (notebook["comments"].keys() - comments.keys())
        if unknown:
            raise GradebookError(
                f"coursekit autograde: {student}'s grades of {name} name cells the gradebook "
                f"{where} does not know ({', '.join(sorted(unknown))}); they were graded with "
                "other master notebooks: run the batch again")
        for cell, values in notebook["grades"].items():
            _set_fields(grades[cell], values)
        for cell, values in notebook["comments"].items():
            _set_fields(comments[cell], values)


def _set_fields(row, values):
    for name, value in values.items():
        setattr(row, name, value)


def _new_submission(gb, assignment, person):
    """A new submission of `assignment` with a row per graded and answer cell, as nbgrader's
    Gradebook.add_submission makes it, without its commit."""
    from nbgrader.api import Comment, Grade, SubmittedAssignment, SubmittedNotebook

    master = gb.find_assignment(assignment)
    with gb.db.no_autoflush:    # the rows are flushed together, when they are complete
        submission = SubmittedAssignment(assignment=master, student=person)
        for notebook in master.notebooks:
            nb = SubmittedNotebook(notebook=notebook, assignment=submission)
            for cell in notebook.grade_cells:
                Grade(cell=cell, notebook=nb)
            for cell in notebook.solution_cells:
                Comment(cell=cell, notebook=nb)
            for cell in notebook.task_cells:
                Comment(cell=cell, notebook=nb)
                Grade(cell=cell, notebook=nb)
        gb.db.add(submission)
    return submission
