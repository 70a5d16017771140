"""Each student graded in a gradebook of their own, written to the course's once at the end.

Grading one student into the course's gradebook opened about 50 sessions on it and made about
130 commits (nbgrader's Autograde writes each cell's grade as it goes, and our steps open their
own sessions); `-j N` workers on one SQLite file waited for each other's locks and fsyncs. With
a SQLite course gradebook, a student is now graded like this (`private`, used by
pipeline._grade_submission):

1. a template: a snapshot of the course's gradebook (the SQLite backup API: its assignment,
   notebooks, cells, due date; every student and submission then deleted), made once per
   grading process, master notebooks (`source_digest`) and assignment rows (a due date moved
   mid-batch makes a new one), kept in the process's scratch;
2. the student's gradebook: a copy of the template in the scratch, with the student's current
   rows of the course's gradebook copied in (every field, one read session): the manual scores,
   comments and extensions entered in formgrader show in the feedback and the result as
   before;
3. grading reads and writes only that file (nbgrader, our steps, the feedback pages), with
   SQLite's fsync off (a throw-away file), through one SQLAlchemy engine per process (`_Shared`:
   statements compiled once, not again for every student);
4. the fields grading writes (gradebook.GRADING_FIELDS) are written to the course's gradebook in
   one session and one commit (gradebook.merge_student_rows), under the locks the grading holds
   (locks.student_lock, locks.gradebook_lock): what an instructor entered meanwhile is kept.

A grading that fails or is interrupted before step 4 leaves the course's gradebook as it was
(grading straight into it left the rows of a half-graded student). A PostgreSQL gradebook is
graded into directly, as before: the server takes concurrent writers without a file lock, and
the workers of a Dask cluster share it. `GradingRun.private_gradebook=False` grades the old way
(the comparison of `make bench`).
"""
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from coursekit.autograde import gradebook

# What a template keeps of the course's gradebook: everything but the students' rows.
STUDENT_TABLES = ("comment", "grade", "submitted_notebook", "submitted_assignment", "student")

# Files whose SQLite connections skip fsync and keep their journal in memory: the students'
# gradebooks of this process (a crash loses a grading that is redone anyway).
_THROWAWAY = set()
# (course gradebook, master notebooks' digest) -> this process's template file.
_TEMPLATES = {}


class Grading:
    """Where one student is graded: `course` (a GradingRun whose gradebook is the student's own,
    or the course's itself) and `write_back()`, which writes the grading's rows to the course's
    gradebook (nothing to do when the grading went to it directly)."""

    def __init__(self, course, student, private_course=None):
        self.course = private_course or course
        self._course, self._student, self._private = course, student, private_course is not None

    def write_back(self):
        if self._private:
            rows = gradebook.student_rows(self.course, self._student, gradebook.GRADING_FIELDS)
            gradebook.merge_student_rows(self._course, self._student, rows)


def applies(course):
    """Is `course` graded through a gradebook per student? (A SQLite gradebook that exists,
    pipeline.prepare made it, and the switch on.)"""
    return bool(course.private_gradebook) and course.sqlite_path is not None and \
        course.sqlite_path.is_file()


@contextmanager
def private(course, student, scratch_dir):
    """The Grading of `student` (steps 1-3 above); its file is removed at the end, however the
    block ends. The caller holds the student's and the gradebook's locks."""
    if not applies(course):
        yield Grading(course, student)
        return
    folder = Path(scratch_dir) / "gradebooks"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    template = template_for(course, folder)
    path = folder / f"{student}.db"
    _copy(template, path)
    _THROWAWAY.add(str(path))
    _Shared.current = str(path)
    try:
        # The grading kernels may read neither gradebook (nbgrade.guard_settings denies the
        # grading course's own; the course's is named here).
        own = course.with_(db_url=f"sqlite:///{path}",
                           private_paths=(*course.private_paths, str(course.sqlite_path)))
        gradebook.merge_student_rows(
            own, student, gradebook.student_rows(course, student, gradebook.ALL_FIELDS))
        yield Grading(course, student, own)
    finally:
        _Shared.current = None
        _THROWAWAY.discard(str(path))
        path.unlink(missing_ok=True)


def template_for(course, folder):
    """This process's template of the course's gradebook (step 1), made again when the master
    notebooks changed, the course's gradebook is another file (deleted and built again), its
    assignments changed (a due date moved while a batch runs: the next student's late penalty
    follows it) or the template went missing."""
    from coursekit.autograde.pipeline import source_digest

    db = course.sqlite_path.resolve()
    key = (str(db), os.stat(db).st_ino, source_digest(course), _assignments(db))
    path = _TEMPLATES.get(key)
    if path is None or not Path(path).is_file():
        path = Path(folder) / f"template-{len(_TEMPLATES)}.db"
        make_template(course.sqlite_path, path)
        _TEMPLATES[key] = str(path)
    return Path(path)


def _assignments(course_db):
    """The rows of the course gradebook's assignment table (names, due dates): one small read."""
    connection = sqlite3.connect(f"{Path(course_db).as_uri()}?mode=ro", uri=True, timeout=60)
    try:
        return tuple(connection.execute("SELECT * FROM assignment ORDER BY id").fetchall())
    finally:
        connection.close()


def make_template(course_db, path):
    """Write to `path` a snapshot of the SQLite gradebook `course_db` without its students'
    rows (one consistent read of the course's file, however busy it is)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    source = sqlite3.connect(f"{Path(course_db).resolve().as_uri()}?mode=ro", uri=True,
                             timeout=60)
    try:
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
            for table in STUDENT_TABLES:
                target.execute(f"DELETE FROM {table}")
            target.commit()
            target.execute("VACUUM")
        finally:
            target.close()
    finally:
        source.close()
    os.replace(tmp, path)


def _copy(template, path):
    with open(template, "rb") as src, open(path, "wb") as dst:
        dst.write(src.read())


def _fast_throwaway(dbapi_connection, _record):
    """SQLAlchemy's connect hook: a student's gradebook (in _THROWAWAY) is written without
    fsync and with its journal in memory; every other database as configured."""
    if not _THROWAWAY or not isinstance(dbapi_connection, sqlite3.Connection):
        return
    files = {row[2] for row in dbapi_connection.execute("PRAGMA database_list")}
    if files & _THROWAWAY:
        dbapi_connection.execute("PRAGMA synchronous=OFF")
        dbapi_connection.execute("PRAGMA journal_mode=MEMORY")


class _Shared:
    """One SQLAlchemy engine for the students' gradebooks of this process.

    nbgrader makes a new engine for every `Gradebook(url)` (about 60 a student), and
    SQLAlchemy keeps its compiled statements per engine (keyed by the engine's dialect): every
    student's grading compiled the same ~280 statements again (about 0.5 s of CPU) and set up
    ~60 engines. A `Gradebook` of the gradebook being graded (`current`, set by `private` for
    the length of one student's grading) gets this engine: it connects to `current` at each
    checkout and keeps no connection (NullPool), so a session opened for one student can never
    reach another's file."""

    current = None
    engine = None

    @classmethod
    def connect(cls):
        path = cls.current
        if path is None:
            raise RuntimeError("no student's gradebook is being graded in this process")
        return sqlite3.connect(path, timeout=60, check_same_thread=False)

    @classmethod
    def create_engine(cls, url, *args, **kwargs):
        from sqlalchemy import create_engine

        if cls.current is None or str(url) != f"sqlite:///{cls.current}":
            return create_engine(url, *args, **kwargs)
        if cls.engine is None:
            from sqlalchemy.pool import NullPool

            # The file name is the dialect's hint only (a file, not :memory:): `connect` opens
            # the current student's.
            cls.engine = create_engine("sqlite:///student-gradebook.db", creator=cls.connect,
                                       poolclass=NullPool, future=True)
        return cls.engine


def _install_hook():
    from nbgrader import api
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _fast_throwaway):
        event.listen(Engine, "connect", _fast_throwaway)
    api.create_engine = _Shared.create_engine


_install_hook()
