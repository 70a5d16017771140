"""Where a grading run reads and writes: the course directory and its grading settings."""
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from coursekit.autograde.inline import grade_inline_answers
from coursekit.course import MANIFEST, Course
from coursekit.grader import grade_submission
from coursekit.untrusted import LIMITS, Limits


def _path(folder, name):
    """A property: the path `name` in the folder that attribute `folder` holds."""
    return property(lambda self: getattr(self, folder) / name,
                    doc=f"{folder} / {name!r}")


@dataclass(frozen=True)
class GradingRun:
    """One course directory in nbgrader's layout, plus the knobs of the grading run.

    `root` holds nbgrader_config.py, source/ and (by default) the gradebook; the outputs
    go under `output_root` (default: `root`): autograded/, feedback/ and the reports.
    """

    # Default: the course the command runs in (coursekit.course.Course.find).
    root: Path | None = None
    # Default: course.toml's (a folder without one: "assignment1").
    assignment: str = ""
    # Default: course.toml's notebooks, in question order (a folder without one: the
    # notebooks its source/<assignment>/ holds, by name).
    notebooks: tuple = ()
    output_root: Path | None = None
    db_url: str = ""
    config_file: Path | None = None
    # f(submission_dir, cifar_dir=...) -> the GradeResult of the module/model checks
    # (coursekit.grader); None skips them. Tests swap in a stand-in.
    module_grader: Callable | None = grade_submission
    # f({notebook name: path}, source_dir) -> the Items of the inline answers (inline.py);
    # None leaves them to manual grading.
    inline_grader: Callable | None = grade_inline_answers
    kernel_memory_mb: int = 4096
    kernel_cpu_seconds: int = 1800
    kernel_threads: int = 1
    # The jail of a student's kernels (coursekit/jail.py): its private /tmp (which holds the
    # kernel's copy of the submission), the tasks of all its processes, and wall-clock limits.
    kernel_tmp_mb: int = 1024
    kernel_processes: int = 256
    notebook_seconds: int = 900
    submission_seconds: int = 2400
    # A cell's limit; None: nbgrader_config.py's c.Execute.timeout.
    cell_seconds: int | None = None
    # Extra environment for the grading kernels (e.g. CS231N_CIFAR10_DIR).
    kernel_env: dict = field(default_factory=dict)
    # Paths a grading kernel may never read (on top of the course root and the gradebook).
    private_paths: tuple = ()
    # Files of `root` that replace the student's copies before grading (default: course.toml's
    # given_files).
    given_files: tuple | None = None
    # What a submission may hold (files, sizes, notebook size, depth): untrusted.Limits.
    submission_limits: Limits = LIMITS
    # A SQLite gradebook: grade each student in a gradebook of their own and write their rows
    # to the course's once at the end (student_gradebook.py); False grades straight into it.
    private_gradebook: bool = True
    # Run the module checks beside the notebooks, in a forked process (bubblewrap jail only;
    # module_checks.beside); False runs them after the notebooks (their memory then never adds
    # to a kernel's).
    modules_beside: bool = True

    def __post_init__(self):
        root = Path(self.root).resolve() if self.root else Course.find().root
        manifest = Course.load(root) if (root / MANIFEST).is_file() else None
        # The course manifest of `root` (None for a folder without course.toml).
        object.__setattr__(self, "manifest", manifest)
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "output_root", Path(self.output_root or root).resolve())
        if not self.assignment:
            object.__setattr__(self, "assignment",
                               manifest.assignment if manifest else "assignment1")
        if not self.notebooks:
            if manifest:
                names = manifest.notebook_names
            else:
                names = tuple(sorted(p.stem for p in self.source_dir.glob("*.ipynb")))
            object.__setattr__(self, "notebooks", names)
        if self.config_file is None and (root / "nbgrader_config.py").exists():
            object.__setattr__(self, "config_file", root / "nbgrader_config.py")
        if not self.db_url:
            object.__setattr__(self, "db_url", default_db_url(root, self.config_file))
        if self.given_files is None:
            object.__setattr__(self, "given_files", manifest.given_files if manifest else ())

    def with_(self, **changes):
        return replace(self, **changes)

    # Where the outputs go (output_root/...).
    autograded_dir = _path("output_root", "autograded")
    feedback_dir = _path("output_root", "feedback")
    # Same file system as autograded/, so a finished student is moved in with a rename.
    staging_dir = _path("autograded_dir", ".staging")
    grades_csv = _path("autograded_dir", "grades.csv")
    summary_md = _path("autograded_dir", "summary.md")
    summary_png = _path("autograded_dir", "summary.png")
    # The output root's lock (locks.output_root_lock): one batch or export at a time.
    lock_path = _path("autograded_dir", ".lock")

    @property
    def source_dir(self):
        """The master notebooks: course.toml's source folder (source/<assignment>/)."""
        if self.manifest is not None:
            return self.manifest.source_dir
        return self.root / "source" / self.assignment

    def result_path(self, student):
        return self.autograded_dir / student / f"{self.assignment}.json"

    @property
    def gradebook_lock_path(self):
        """The gradebook's lock (locks.gradebook_lock): next to a SQLite gradebook, else in
        the output root."""
        if self.sqlite_path is not None:
            return self.sqlite_path.with_name(f".{self.sqlite_path.name}.lock")
        return self.autograded_dir / ".gradebook.lock"

    @property
    def student_lock_dir(self):
        """Where the per-student locks go (locks.student_lock): next to a SQLite gradebook,
        since runs into different output roots share it; else in the output root."""
        if self.sqlite_path is not None:
            return self.sqlite_path.parent / f".{self.sqlite_path.name}.locks"
        return self.autograded_dir / ".locks"

    @property
    def sqlite_path(self):
        """Path of the SQLite gradebook, or None for another database."""
        prefix = "sqlite:///"
        if not self.db_url.startswith(prefix):
            return None
        return Path(self.db_url[len(prefix):].split("?", 1)[0])


def default_db_url(root, config_file=None):
    """The gradebook URL: $NBGRADER_DB_URL, else nbgrader_config.py's, else root/gradebook.db.

    SQLite URLs always get `?timeout=60` so parallel workers wait for the lock instead of
    failing with `database is locked`.
    """
    url = os.environ.get("NBGRADER_DB_URL", "")
    if not url and config_file is not None:
        url = load_nbgrader_config(config_file).CourseDirectory.get("db_url", "")
    if not url:
        url = f"sqlite:///{Path(root) / 'gradebook.db'}"
    if url.startswith("sqlite:///") and "timeout=" not in url:
        url += ("&" if "?" in url else "?") + "timeout=60"
    return url


def load_nbgrader_config(config_file):
    """The traitlets Config of a course's nbgrader_config.py (empty if there is none)."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    if config_file is None or not Path(config_file).exists():
        return Config()
    path = Path(config_file)
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


# Class-wide outputs of autograded/ next to the per-student folders (report.py writes the files,
# coursekit similarity the folder similarity/); a student of that name would collide with one
# and break every later export.
OUTPUT_FILES = ("grades.csv", "summary.md", "summary.png", "similarity")
STUDENT_ID_MAX = 100
# What an id may hold besides ASCII letters and digits.
STUDENT_ID_PUNCTUATION = "-_.@+"
STUDENT_ID_RULE = (f"a student id is 1 to {STUDENT_ID_MAX} characters: ASCII letters, digits and "
                   "- _ . @ +, starting with a letter or a digit, without '..', and not one of "
                   "the output files (" + ", ".join(OUTPUT_FILES) + ")")


class StudentIdError(ValueError):
    """A student id that cannot name a folder and a gradebook row (the message says why)."""


def student_id_problem(student):
    """Why `student` is not a usable student id, or "" when it is.

    Ids become folder names (autograded/<id>, feedback/<id>, lock files) and gradebook keys, so
    they stay plain: no path separators or '..' (a path outside the output root), no leading
    '.' or '-' (hidden files, lock and staging names, command-line options), nothing that
    is already a file of autograded/.
    """
    if not isinstance(student, str) or not student:
        return "it is empty"
    if len(student) > STUDENT_ID_MAX:
        return f"it is {len(student)} characters long (at most {STUDENT_ID_MAX})"
    bad = sorted({ch for ch in student if not _id_character(ch)})
    if bad:
        return "it contains " + " ".join(repr(ch) for ch in bad)
    if not student[0].isalnum():
        return f"it starts with {student[0]!r}"
    if ".." in student:
        return "it contains '..'"
    if student.lower() in OUTPUT_FILES:
        return f"{student!r} is the name of an output file of autograded/"
    return ""


def _id_character(ch):
    return ch.isascii() and (ch.isalnum() or ch in STUDENT_ID_PUNCTUATION)


def student_id_from_name(name):
    """A usable student id made from a name that may break the rules (a GitHub user name, a
    workflow input): `dependabot[bot]` -> `dependabot_bot_`, the same id for the same name.

    A character outside the id's alphabet becomes '_', so does a '.' before another '.';
    what comes before the first letter or digit is dropped; the id is cut at STUDENT_ID_MAX
    characters, and the name of an output file gets a '_' appended. A name without any ASCII
    letter or digit (`李雷`) becomes `student-` and a digest of the name. Two names can give
    one id (`a[b]` and `a_b_`): give such students ids of your own. StudentIdError for an
    empty name, which names nobody.
    """
    import hashlib
    import re

    if not isinstance(name, str) or not name:
        raise StudentIdError("coursekit: no student id can be made from an empty name; "
                             "give the student's id instead")
    plain = "".join(ch if _id_character(ch) else "_" for ch in name)
    plain = re.sub(r"\.(?=\.)", "_", plain)
    plain = plain.lstrip(STUDENT_ID_PUNCTUATION)[:STUDENT_ID_MAX]
    if not plain:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        plain = "student-" + digest[:12]
    if plain.lower() in OUTPUT_FILES:
        plain += "_"
    return check_student_id(plain, where=f"made from the name {name!r}")


def check_student_id(student, where=""):
    """`student` if it is a usable id, else StudentIdError naming the id, where it came from
    (`where`: "--student", "a folder of submitted/", ...) and the rule it breaks. The one
    validator of every way an id enters grading."""
    problem = student_id_problem(student)
    if problem:
        origin = f" ({where})" if where else ""
        raise StudentIdError(f"coursekit autograde: unusable student id {student!r}{origin}: "
                             f"{problem}; {STUDENT_ID_RULE}")
    return student


# --- The CIFAR-10 of a grading run ---------------------------------------------------------
# One variable names it for every way of grading (make autograde, autograde-one, coursekit
# autograde, the notebooks, the saved models, grade-module); `make autograde GRADING_DATA=...`
# is an alias the Makefile turns into it.
DATA_ENV = "CS231N_CIFAR10_DIR"
# What a complete cifar-10-batches-py folder holds (the python version of CIFAR-10).
CIFAR10_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                 "data_batch_5", "test_batch")


class GradingDataError(ValueError):
    """No usable CIFAR-10 for a grading run (the message names the variable, the path tried and
    what to do)."""


def default_data_dir(root, package="cs231n"):
    """Where get_datasets.sh puts CIFAR-10 in a course: <package>/datasets/cifar-10-batches-py."""
    return Path(root) / package / "datasets" / "cifar-10-batches-py"


def data_problem(folder):
    """Why `folder` is not a complete cifar-10-batches-py folder, or "" when it is one."""
    folder = Path(folder)
    if not folder.exists():
        return "does not exist"
    if not folder.is_dir():
        return "is not a folder"
    missing = [name for name in CIFAR10_FILES if not (folder / name).is_file()]
    if missing:
        return ("is not a complete cifar-10-batches-py folder (missing: " + ", ".join(missing)
                + ")")
    return ""


def find_grading_data(course, environ=None):
    """The CIFAR-10 folder a grading run of `course` reads, as a resolved Path.

    $CS231N_CIFAR10_DIR when set (it must hold a complete cifar-10-batches-py), else the
    course's own <package>/datasets/cifar-10-batches-py, where cs231n/datasets/get_datasets.sh
    downloads it. A folder without course.toml (a test course) needs no data: None when neither
    is there. Otherwise GradingDataError, one message saying what to do."""
    environ = os.environ if environ is None else environ
    given = environ.get(DATA_ENV, "")
    package = course.manifest.package if course.manifest is not None else "cs231n"
    default = default_data_dir(course.root, package)
    how = (f"download it with `bash {package}/datasets/get_datasets.sh` (from the course "
           f"folder {course.root}; it unpacks into {default}), or set {DATA_ENV} to the full "
           "path of an unpacked cifar-10-batches-py folder (`make autograde "
           f"{DATA_ENV}=/path/to/cifar-10-batches-py`)")
    if given:
        problem = data_problem(given)
        if problem:
            raise GradingDataError(f"coursekit autograde: no CIFAR-10 to grade with: {DATA_ENV}="
                                   f"{given} {problem}; {how}")
        return Path(given).resolve()
    problem = data_problem(default)
    if not problem:
        return default.resolve()
    if course.manifest is None:
        return None
    raise GradingDataError(f"coursekit autograde: no CIFAR-10 to grade with: {DATA_ENV} is not "
                           f"set and {default} {problem}; grading runs the notebooks and scores "
                           f"the saved models on it: {how}")
