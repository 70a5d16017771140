"""Where a grading run reads and writes: the course directory and its grading settings."""
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

ASSIGNMENT = "assignment1"
# Notebooks of the assignment in question order (ASSIGNMENT.md).
NOTEBOOKS = ("knn", "softmax", "two_layer_net", "features", "FullyConnectedNets")
REPO_ROOT = Path(__file__).resolve().parents[2]
# Files of the package that hold only given code the grading itself relies on: the grading-mode
# switch and the sizes (notebook_utils), where models are saved (model_io), how CIFAR-10 is found
# and loaded (data_utils) and the numeric gradients the tests compare against (gradient_check).
# A student has nothing to write in them, and an official cs231n package lacks the first two, so
# grading uses the course's copies (relative to the course root and to the submission).
GIVEN_FILES = ("cs231n/notebook_utils.py", "cs231n/model_io.py", "cs231n/data_utils.py",
               "cs231n/gradient_check.py")


@dataclass(frozen=True)
class Course:
    """One course directory in nbgrader's layout, plus the knobs of the grading run.

    `root` holds nbgrader_config.py, source/ and (by default) the gradebook; the outputs
    go under `output_root` (default: `root`): autograded/, feedback/ and the reports.
    """

    root: Path = REPO_ROOT
    assignment: str = ASSIGNMENT
    # Default: the notebooks of NOTEBOOKS that source/<assignment>/ has (all five when done);
    # for another course, the notebooks its source/<assignment>/ holds.
    notebooks: tuple = ()
    output_root: Path | None = None
    db_url: str = ""
    config_file: Path | None = None
    # "module:function" called as f(submission_dir) -> module/model check results.
    module_grader: str | None = "coursekit.grader:grade_submission"
    # "module:function" called as f(notebook_path_by_name) -> inline answer results.
    inline_grader: str | None = "coursekit.autograde.inline:grade_inline_answers"
    kernel_memory_mb: int = 4096
    kernel_cpu_seconds: int = 1800
    kernel_threads: int = 1
    # Extra environment for the grading kernels (e.g. CS231N_CIFAR10_DIR).
    kernel_env: dict = field(default_factory=dict)
    # Paths a grading kernel may never read (on top of the course root and the gradebook).
    private_paths: tuple = ()
    # Files of `root` that replace the student's copies before grading (default: GIVEN_FILES
    # when the course has a cs231n package, else none).
    given_files: tuple | None = None

    def __post_init__(self):
        root = Path(self.root).resolve()
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "output_root", Path(self.output_root or root).resolve())
        if not self.notebooks:
            present = tuple(n for n in NOTEBOOKS if (root / "source" / self.assignment
                                                     / f"{n}.ipynb").exists())
            others = tuple(sorted(p.stem for p in (root / "source" / self.assignment).glob(
                "*.ipynb")))
            object.__setattr__(self, "notebooks", present or others or NOTEBOOKS)
        if self.config_file is None and (root / "nbgrader_config.py").exists():
            object.__setattr__(self, "config_file", root / "nbgrader_config.py")
        if not self.db_url:
            object.__setattr__(self, "db_url", default_db_url(root, self.config_file))
        if self.given_files is None:
            given = GIVEN_FILES if (root / "cs231n").is_dir() else ()
            object.__setattr__(self, "given_files", given)

    def with_(self, **changes):
        return replace(self, **changes)

    @property
    def autograded_dir(self):
        return self.output_root / "autograded"

    @property
    def feedback_dir(self):
        return self.output_root / "feedback"

    @property
    def source_dir(self):
        return self.root / "source" / self.assignment

    @property
    def staging_dir(self):
        # Same file system as autograded/, so a finished student is moved in with a rename.
        return self.autograded_dir / ".staging"

    def result_path(self, student):
        return self.autograded_dir / student / f"{self.assignment}.json"

    @property
    def grades_csv(self):
        return self.autograded_dir / "grades.csv"

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


def student_id_ok(student):
    """Student ids become folder names and database keys: keep them plain."""
    return bool(student) and student not in (".", "..") and not student.startswith(".") and all(
        ch.isalnum() or ch in "-_.@+" for ch in student
    )
