"""The course manifest (course.toml), read into one `Course` object.

Every list the tools agree on comes from here: the assignment's name, its notebooks in question
order (with titles and the models each saves), the given files, the modules holding student
functions (the functions themselves are read off the master's solution regions), and the
folders. `Course.load(root)` reads the manifest of one course folder; `Course.find()` finds the
course the command runs in (`$COURSEKIT_COURSE`, else the working folder or a parent of it,
else the checkout this package was installed from).
"""
import os
import tomllib
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

MANIFEST = "course.toml"
CHOICE_KINDS = ("select", "truefalse")  # coursekit.notebooks.answers
COURSE_ENV = "COURSEKIT_COURSE"


class ManifestError(ValueError):
    """course.toml is missing or does not say what a tool needs (the message says what)."""


@dataclass(frozen=True)
class Notebook:
    """One notebook of the assignment: `name` (file stem), question id, title, saved models."""

    name: str
    question: str
    title: str
    saved_models: tuple = ()
    # The inline questions with a fixed answer: dicts of grade_id, kind, options, none_option.
    choice_questions: tuple = ()

    @property
    def filename(self):
        return f"{self.name}.ipynb"


@dataclass(frozen=True)
class Course:
    """A course folder and what its course.toml says."""

    root: Path
    assignment: str
    title: str
    package: str
    notebooks: tuple
    student_modules: tuple
    given_files: tuple
    source_root: Path
    release_root: Path
    grading_dir: Path
    tests_dir: Path
    nbgrader_config: Path

    @classmethod
    def load(cls, root):
        """The course of folder `root` (ManifestError naming the problem if its manifest is
        missing or incomplete)."""
        root = Path(root).resolve()
        path = root / MANIFEST
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise ManifestError(f"{path} not found: a course folder holds a {MANIFEST} "
                                "(see the repository's own for its fields)") from None
        except tomllib.TOMLDecodeError as err:
            raise ManifestError(f"{path} is not valid TOML: {err}") from None
        return cls.from_dict(root, data, where=str(path))

    @classmethod
    def from_dict(cls, root, data, where=MANIFEST):
        root = Path(root).resolve()

        def need(table, key, section):
            value = table.get(key)
            if not isinstance(value, str) or not value:
                raise ManifestError(f"{where}: {section} needs `{key}`, a non-empty string")
            return value

        assignment = data.get("assignment", {})
        name = need(assignment, "name", "[assignment]")
        paths = data.get("paths", {})
        notebooks = []
        for entry in data.get("notebooks", []):
            stem = need(entry, "name", "each [[notebooks]] entry")
            for question in entry.get("choice_questions", ()):
                section = f"a choice question of notebook {stem!r}"
                need(question, "grade_id", section)
                if question.get("kind") not in CHOICE_KINDS:
                    raise ManifestError(f"{where}: {section} needs `kind`, one of "
                                        f"{', '.join(CHOICE_KINDS)}")
            notebooks.append(Notebook(name=stem, question=entry.get("question", ""),
                                      title=entry.get("title", stem),
                                      saved_models=tuple(entry.get("saved_models", ())),
                                      choice_questions=tuple(
                                          entry.get("choice_questions", ()))))
        if not notebooks:
            raise ManifestError(f"{where}: no [[notebooks]]; list the assignment's notebooks")
        names = [n.name for n in notebooks]
        if len(set(names)) != len(names):
            raise ManifestError(f"{where}: a notebook is listed twice: {names}")
        saved = [m for n in notebooks for m in n.saved_models]
        if len(set(saved)) != len(saved):
            raise ManifestError(f"{where}: a saved model is listed under two notebooks: {saved}")
        return cls(
            root=root,
            assignment=name,
            title=assignment.get("title", ""),
            package=assignment.get("package", "cs231n"),
            notebooks=tuple(notebooks),
            student_modules=tuple(assignment.get("student_modules", ())),
            given_files=tuple(assignment.get("given_files", ())),
            source_root=root / paths.get("source", "source"),
            release_root=root / paths.get("release", "release"),
            grading_dir=root / paths.get("grading", "grading"),
            tests_dir=root / paths.get("tests", "tests"),
            nbgrader_config=root / paths.get("nbgrader_config", "nbgrader_config.py"),
        )

    @classmethod
    def find(cls, start=None):
        """The course a command works on: the folder named by $COURSEKIT_COURSE, else the first
        of `start` (default: the working folder) and its parents that holds course.toml, else
        the checkout this package lives in."""
        if os.environ.get(COURSE_ENV):
            return cls.load(os.environ[COURSE_ENV])
        here = Path(start or os.getcwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / MANIFEST).is_file():
                return cls.load(folder)
        checkout = Path(__file__).resolve().parents[1]
        if (checkout / MANIFEST).is_file():
            return cls.load(checkout)
        raise ManifestError(f"no {MANIFEST} in {here} or its parents: run coursekit in a course "
                            f"folder, or set {COURSE_ENV} to one")

    # Folders and files.
    @property
    def source_dir(self):
        """The master notebooks (nbgrader's source/<assignment>/)."""
        return self.source_root / self.assignment

    @property
    def release_dir(self):
        return self.release_root / self.assignment

    @property
    def package_dir(self):
        """The master package."""
        return self.root / self.package

    @property
    def hidden_dir(self):
        """The hidden module checks and their reference values."""
        return self.grading_dir / "hidden"

    # Lists.
    @property
    def notebook_names(self):
        return tuple(n.name for n in self.notebooks)

    @property
    def notebook_files(self):
        return tuple(n.filename for n in self.notebooks)

    @property
    def saved_models(self):
        """{model file: the notebook file that saves it}, in question order."""
        return {m: n.filename for n in self.notebooks for m in n.saved_models}

    def notebook(self, name):
        for n in self.notebooks:
            if n.name == name:
                return n
        raise KeyError(f"{name!r} is not a notebook of {self.root / MANIFEST}")

    @cached_property
    def student_functions(self):
        """{"Class.method" or "function": its module relative to the package ("layers.py")},
        the functions of `student_modules` holding a solution region in the master, in order."""
        from coursekit.mutation.regions import solution_regions

        prefix = self.package + "/"
        functions = {}
        for file, regions in solution_regions(self.root, self.student_modules).items():
            for region in regions:
                functions.setdefault(region.function, file.removeprefix(prefix))
        return functions


@cache
def current():
    """The course this process works on (`Course.find()`, read once)."""
    return Course.find()
