"""Where the solution regions of the student functions are, and which function a line is in.

Mutation testing mutates only what a student writes: the lines strictly between a
`### BEGIN SOLUTION` and its `### END SOLUTION` line in the master modules below. The regions are
found by nbgrader's delimiters (the same words the release's stubber cuts out), and each is named
by its enclosing function (`Class.method` or `function`, as the hidden checks name them). The
cosmic-ray filter keeps the work items inside a region; the killer names the function a mutant
is in by diffing the mutated copy against the pristine one.
"""
import ast
from dataclasses import dataclass
from pathlib import Path

from coursekit.course import current
from coursekit.release.layout import BEGIN_SOLUTION, END_SOLUTION
from coursekit.release.stub import enclosing_function

NUM_STUDENT_FUNCTIONS = 20


def __getattr__(name):
    # MODULES: the master modules holding the student functions, relative to the course folder
    # (course.toml's student_modules), read when first asked for.
    if name == "MODULES":
        return current().student_modules
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Region:
    """One solution region: its file (as in MODULES), function and delimiter lines (1-based)."""

    file: str
    function: str
    begin: int
    end: int

    def holds(self, first, last):
        """Whether lines first..last lie strictly between the two delimiter lines."""
        return self.begin < first and last < self.end


def _is_delimiter(line, word):
    return line.lstrip().startswith("#") and word in line


def regions_of(text, file):
    """The solution regions of one module's text, in file order."""
    tree = ast.parse(text)
    regions, begin = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if _is_delimiter(line, BEGIN_SOLUTION):
            begin = number
        elif _is_delimiter(line, END_SOLUTION) and begin is not None:
            function = enclosing_function(tree, begin)
            if function:  # a region outside any function is no student function's
                regions.append(Region(file, function, begin, number))
            begin = None
    return regions


def solution_regions(root, modules=None):
    """{file: [Region, ...]} for the modules (default: MODULES) of the copy in folder root."""
    modules = current().student_modules if modules is None else modules
    return {m: regions_of((Path(root) / m).read_text(encoding="utf-8"), m) for m in modules}


def student_functions(regions):
    """The functions that hold a solution region, in file order."""
    return list(dict.fromkeys(r.function for rs in regions.values() for r in rs))


def relative_file(path, root):
    """A module path as MODULES spells it (posix, relative to root) when it lies under root."""
    path = Path(path)
    if path.is_absolute():
        try:
            path = path.resolve().relative_to(Path(root).resolve())
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def mutated_lines(start_pos, end_pos):
    """First and last line a cosmic-ray mutation touches (a zone ending at column 0 of a line
    ends on the line before, as cosmic-ray's own pragma filter reads it)."""
    first, (last, column) = start_pos[0], end_pos
    if column == 0 and last > first:
        last -= 1
    return first, last


def region_of(regions, file, first, last):
    """The region that holds lines first..last of file, or None."""
    return next((r for r in regions.get(file, ()) if r.holds(first, last)), None)


def changed_line(pristine_root, mutated_root, modules=None):
    """(file, line, function) of the first line of the mutated copy that differs from the
    pristine copy; None when the two copies are the same. The function is the one around that
    line in the pristine module (cosmic-ray's operators keep the line numbers), or None when
    the line is in no function."""
    modules = current().student_modules if modules is None else modules
    for file in modules:
        before = (Path(pristine_root) / file).read_text(encoding="utf-8")
        after = (Path(mutated_root) / file).read_text(encoding="utf-8")
        if before == after:
            continue
        old, new = before.splitlines(), after.splitlines()
        line = next((i for i, (a, b) in enumerate(zip(old, new, strict=False), 1) if a != b),
                    min(len(old), len(new)) + 1)
        return file, line, enclosing_function(ast.parse(before), line)
    return None
