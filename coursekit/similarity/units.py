"""What is compared: units of student-written code, read out of submissions, the release and the
instructor's folders of known solutions.

A unit is one student function of the package (`layers.py` `affine_forward`, by qualified name:
the functions holding a solution region in the master, `Course.student_functions`) or one
solution code cell of a notebook (`knn.ipynb` `knn_cross_validation_solution`, by nbgrader's
grade_id, also found by the cell's id). A `Source` is one submission or one reference folder:
for each unit, the texts it holds (a reference folder may hold several versions of a function).

Every file of a submission is untrusted data (coursekit.untrusted: no link followed, sizes
capped). A file that cannot be read or does not parse costs only its own units, with a problem
recorded for the report.
"""
import ast
import json
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from coursekit import untrusted
from coursekit.autograde.collect import SKIP_DIRS, find_assignment_dir, match_notebooks


@dataclass(frozen=True)
class Unit:
    """One function or solution cell: `file` (`layers.py`, `knn.ipynb`) and `name`."""

    file: str
    name: str
    kind: str  # "function" or "cell"

    @property
    def key(self):
        return f"{self.file}::{self.name}"

    @property
    def title(self):
        return f"{self.name} ({self.file})" if self.kind == "function" else \
            f"cell {self.name} ({self.file})"


@dataclass
class Source:
    """A submission or a reference folder: {unit key: [text, ...]} and what went wrong."""

    name: str
    reference: bool = False
    texts: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    def add(self, unit, text):
        if text.strip():
            self.texts.setdefault(unit.key, []).append(text)


def functions_of(text):
    """{qualified name ("Class.method", "function"): its source, dedented} of a module text
    (SyntaxError if it does not parse). Nested functions belong to the function around them."""
    tree = ast.parse(text)
    lines = text.split("\n")
    found = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = "\n".join(lines[child.lineno - 1:child.end_lineno])
                found.setdefault(prefix + child.name, textwrap.dedent(body))

    visit(tree, "")
    return found


def _cell_ids(cell):
    """The names a cell answers to: its nbgrader grade_id and its cell id."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return [i for i in (meta.get("grade_id"), cell.get("id")) if isinstance(i, str) and i]


def _cell_text(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def code_cells(data):
    """[(ids, source)] of the code cells of a notebook's bytes (ValueError if not a notebook)."""
    try:
        nb = json.loads(data.decode("utf-8"))
        cells = nb["cells"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"not a notebook ({type(exc).__name__})") from None
    if not isinstance(cells, list):
        raise ValueError("not a notebook (its cells are not a list)")
    return [(_cell_ids(c), _cell_text(c)) for c in cells
            if isinstance(c, dict) and c.get("cell_type") == "code"]


@dataclass
class Assignment:
    """The units of a course and the release's text of them (the boilerplate)."""

    package: str
    units: list
    notebooks: tuple  # file names, in question order
    boilerplate: list  # texts: the release's student modules and notebook code cells
    # (notebook, grade_id or cell id) -> its cell unit: a cell is found by either name.
    cell_names: dict = field(default_factory=dict)

    def by_key(self):
        return {u.key: u for u in self.units}

    def function_units(self):
        return [u for u in self.units if u.kind == "function"]

    def cell_units(self):
        return [u for u in self.units if u.kind == "cell"]

    def cell_unit(self, notebook, ids):
        """The unit of a cell of `notebook` (None: any notebook) answering to one of `ids`."""
        for (file, name), unit in self.cell_names.items():
            if name in ids and notebook in (None, file):
                return unit
        return None


def assignment_of(course):
    """The Assignment of a course (coursekit.course.Course): units from the master's solution
    regions and the release notebooks' solution cells, boilerplate from the release."""
    release = Path(course.release_dir)
    if not release.is_dir():
        raise FileNotFoundError(f"{release} not found: the similarity report takes the starter "
                                "code from the release; build it with `coursekit release`")
    units = [Unit(file, name, "function") for name, file in course.student_functions.items()]
    boilerplate, cell_names = [], {}
    for file in sorted(set(course.student_functions.values())):
        path = release / course.package / file
        if path.is_file():
            boilerplate.append(path.read_text(encoding="utf-8"))
    for notebook in course.notebook_files:
        path = release / notebook
        if not path.is_file():
            continue
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell.get("cell_type") != "code":
                continue
            boilerplate.append(_cell_text(cell))
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution") and meta.get("grade_id"):
                unit = Unit(notebook, meta["grade_id"], "cell")
                units.append(unit)
                for name in _cell_ids(cell):
                    cell_names[(notebook, name)] = unit
    return Assignment(course.package, units, tuple(course.notebook_files), boilerplate,
                      cell_names)


def _read(copier, rel, what, max_bytes=None):
    """Bytes of `rel` in a submission, None if absent; raises untrusted.Refused."""
    try:
        return copier.read(rel, max_bytes, what=what)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None


def read_submission(name, folder, assignment, limits=untrusted.LIMITS):
    """The Source of one submission folder (submitted/<student>/<assignment> or a folder
    holding it), every byte read through coursekit.untrusted."""
    source = Source(name)
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink():
        source.problems.append(f"{folder} is not a folder: nothing compared")
        return source
    top = find_assignment_dir(folder, assignment.notebooks)
    copier = untrusted.Copier(top, limits)
    files = {}
    for unit in assignment.function_units():
        files.setdefault(unit.file, []).append(unit)
    for file, units in files.items():
        rel = f"{assignment.package}/{file}"
        try:
            data = _read(copier, rel, "file")
        except untrusted.Refused as exc:
            source.problems.append(f"{exc}; its functions were not compared")
            continue
        if data is None:
            continue
        try:
            found = functions_of(data.decode("utf-8"))
        except (UnicodeDecodeError, SyntaxError, ValueError) as exc:
            where = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
            source.problems.append(f"{rel} does not parse{where}: its functions were not "
                                   "compared")
            continue
        for unit in units:
            if unit.name in found:
                source.add(unit, found[unit.name])
    chosen, _, _ = match_notebooks(top, [Path(n).stem for n in assignment.notebooks])
    for stem, path in chosen.items():
        notebook = f"{stem}.ipynb"
        try:
            data = _read(copier, path.name, "notebook", limits.max_notebook_bytes)
            cells = code_cells(data) if data is not None else []
        except untrusted.Refused as exc:
            source.problems.append(f"{exc}; its cells were not compared")
            continue
        except ValueError as exc:
            source.problems.append(f"{path.name} is {exc}: its cells were not compared")
            continue
        for ids, text in cells:
            unit = assignment.cell_unit(notebook, ids)
            if unit is not None:
                source.add(unit, text)
    return source


def _walk_files(root, limits):
    """Relative paths of the regular .py and .ipynb files under `root`, links not entered."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):  # os.walk does not enter links
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith((".py", ".ipynb")):
                found.append(Path(dirpath, name).relative_to(root).as_posix())
            if len(found) >= limits.max_entries:
                return found
    return found


def read_reference(name, folder, assignment, limits=untrusted.LIMITS):
    """The Source of one folder of known solutions, in any layout: functions are matched to
    units by qualified name, else by their bare name when one unit has it; notebook cells by
    id, else each cell stands for every solution cell (compared by content)."""
    source = Source(f"reference:{name}", reference=True)
    functions = assignment.function_units()
    by_bare = {}
    for unit in functions:
        by_bare.setdefault(unit.name.rsplit(".", 1)[-1], []).append(unit)
    copier = untrusted.Copier(folder, limits)
    for rel in _walk_files(folder, limits):
        what = "notebook" if rel.endswith(".ipynb") else "file"
        try:
            data = _read(copier, rel, what,
                         limits.max_notebook_bytes if what == "notebook" else None)
            if data is None:
                continue
            if what == "notebook":
                for ids, text in code_cells(data):
                    unit = assignment.cell_unit(None, ids)
                    for target in [unit] if unit else assignment.cell_units():
                        source.add(target, text)
                continue
            found = functions_of(data.decode("utf-8"))
        except untrusted.Refused as exc:
            source.problems.append(str(exc))
            continue
        except (UnicodeDecodeError, SyntaxError, ValueError) as exc:
            source.problems.append(f"{rel} was skipped: it does not parse "
                                   f"({type(exc).__name__})")
            continue
        for qualname, text in found.items():
            exact = [u for u in functions if u.name == qualname]
            bare = by_bare.get(qualname.rsplit(".", 1)[-1], [])
            for unit in exact or (bare if len(bare) == 1 else []):
                source.add(unit, text)
    return source


def reference_folders(root):
    """[(name, folder)] of similarity/reference/<name>/ (folders only, links not followed)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return [(p.name, p) for p in sorted(root.iterdir())
            if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
