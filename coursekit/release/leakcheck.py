"""The leak check: nothing of the solutions, hidden tests, answer keys or grader files in release/.

What counts as secret (collected from the master side):

- package-solution: every line inside a `### BEGIN SOLUTION` region of a master module;
- notebook-solution: every line inside a solution region of a master notebook's code cell, and
  the whole source of a solution cell that has no region (nbgrader replaces all of it);
- hidden-test: every line inside a `### BEGIN HIDDEN TESTS` region;
- answer-key: every line of a manually graded answer cell's solution region (or of the whole
  answer cell when it has none), and of mark schemes;
- reference-file: a release file that equals a file under tests/ or grading/, a data file
  (.npy, .npz, .pkl, ...), or a number of 7+ significant digits stored under grading/hidden/
  (the hidden checks' reference values) appearing in the release text;
- instructor-report: a `similarity/` folder (coursekit similarity's report and the instructors'
  reference solutions) anywhere in the release;
- tests-content: a `tests` folder, a `test_*.py` or `conftest.py` in the release, or a release
  file that repeats distinctive lines of one file of grading/hidden/ (5 of them, and at least a
  tenth of that file's; lines that other test files or the master also have do not count).

How lines are compared: a line is normalised by deleting all whitespace, and a secret line leaks
when its normalised form occurs inside the normalised text of any release file (notebooks are
read cell by cell, so JSON escaping hides nothing). Answer keys also leak as a whole-line match.

Lines too trivial to leak (the documented rule): a normalised line shorter than 12 characters
(`returndx`, `dx/=N`, `else:`), a line of brackets and punctuation only, a `return` of plain
names (`return loss, grads`), the region delimiters themselves, and any line that the master
itself shows outside its secret regions (given code, TODO text, visible tests): what the master
publishes is not a secret. Answer keys are exempt from the length rule: they are short.
"""
import argparse
import json
import os
import re
import sys
from dataclasses import dataclass

from coursekit.course import current

from . import layout

MIN_CHARS = 12
DATA_EXTENSIONS = (".npy", ".npz", ".pkl", ".pickle", ".h5", ".hdf5", ".mat", ".pt", ".joblib")
TEST_FILE = re.compile(r"^(test_.*\.py|.*_test\.py|conftest\.py)$")
RETURN_NAMES = re.compile(r"^return[\w,.()\[\]]*$")
PUNCTUATION_ONLY = re.compile(r"^[\W_]*$")
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
MIN_SIGNIFICANT = 7
SHARED_TEST_LINES = 5
SHARED_TEST_FRACTION = 0.1
DELIMITERS = (
    layout.BEGIN_SOLUTION, layout.END_SOLUTION, layout.BEGIN_HIDDEN, layout.END_HIDDEN,
    layout.BEGIN_MARK_SCHEME, layout.END_MARK_SCHEME,
)


@dataclass(frozen=True, order=True)
class Leak:
    kind: str
    path: str  # relative to the release folder
    detail: str

    def __str__(self):
        return f"{self.kind}: {self.path}: {self.detail}"


def normalise(line):
    return "".join(line.split())


def is_trivial(norm):
    return (
        len(norm) < MIN_CHARS
        or bool(PUNCTUATION_ONLY.match(norm))
        or bool(RETURN_NAMES.match(norm))
        or any(normalise(d) in norm for d in DELIMITERS)
    )


# --- the secrets of the master side -------------------------------------------------------------

def split_regions(source, regions):
    """Split a text into (public_lines, {kind: secret_lines}) by delimiter pairs.

    `regions` maps a kind to its (begin, end) delimiters. Unbalanced regions raise ValueError.
    """
    public, secret, current = [], {}, None
    for line in source.split("\n"):
        opened = [k for k, (begin, _) in regions.items() if begin in line]
        closed = [k for k, (_, end) in regions.items() if end in line]
        if opened:
            if current is not None:
                raise ValueError(f"nested region in: {line.strip()}")
            current = opened[0]
        elif closed:
            if current != closed[0]:
                raise ValueError(f"unmatched end of region: {line.strip()}")
            current = None
        elif current is None:
            public.append(line)
        else:
            secret.setdefault(current, []).append(line)
    if current is not None:
        raise ValueError("a region is not closed")
    return public, secret


def _nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _cell_source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


@dataclass
class Secrets:
    lines: dict  # kind -> {normalised line: where it comes from}
    public: str  # normalised public text of the master (one string)
    public_lines: frozenset  # its normalised lines

    def add(self, kind, lines, origin):
        for line in lines:
            norm = normalise(line)
            if norm:
                self.lines.setdefault(kind, {}).setdefault(norm, origin)


def collect_secrets(master_package, master_notebooks):
    """The secret lines of the master package and notebooks, and what the master publishes."""
    from .stub import python_files

    secrets, public = Secrets({}, "", frozenset()), []
    solution = {"package-solution": (layout.BEGIN_SOLUTION, layout.END_SOLUTION)}
    for rel in python_files(master_package):
        with open(os.path.join(master_package, rel), encoding="utf-8") as f:
            pub, sec = split_regions(f.read(), solution)
        public.extend(pub)
        for kind, lines in sec.items():
            secrets.add(kind, lines, f"cs231n/{rel}")
    for name in sorted(os.listdir(master_notebooks)):
        if not name.endswith(".ipynb"):
            continue
        with open(os.path.join(master_notebooks, name), encoding="utf-8") as f:
            nb = json.load(f)
        for index, cell in enumerate(nb.get("cells", [])):
            meta, source = _nbgrader_meta(cell), _cell_source(cell)
            is_answer = cell.get("cell_type") != "code"
            regions = {
                "answer-key" if is_answer else "notebook-solution":
                    (layout.BEGIN_SOLUTION, layout.END_SOLUTION),
                "hidden-test": (layout.BEGIN_HIDDEN, layout.END_HIDDEN),
                "answer-key-scheme": (layout.BEGIN_MARK_SCHEME, layout.END_MARK_SCHEME),
            }
            pub, sec = split_regions(source, regions)
            origin = f"{name}, cell {index} ({meta.get('grade_id', 'no grade_id')})"
            if meta.get("solution") and not sec:
                # nbgrader replaces a solution cell without regions as a whole.
                sec = {"answer-key" if is_answer else "notebook-solution": pub}
                pub = []
            public.extend(pub)
            for kind, lines in sec.items():
                secrets.add(kind.replace("-scheme", ""), lines, origin)
    secrets.public = normalise("\n".join(public))
    secrets.public_lines = frozenset(normalise(x) for x in public)
    return secrets


# --- the text of the release ----------------------------------------------------------------------

def _strings(node):
    """Every string inside a parsed JSON document (notebook sources, outputs, metadata)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        if node and all(isinstance(x, str) for x in node):
            yield "".join(node)
        else:
            for x in node:
                yield from _strings(x)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)


def release_files(release_dir):
    found = []
    for dirpath, dirnames, filenames in os.walk(release_dir):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            found.append((os.path.relpath(path, release_dir).replace(os.sep, "/"), path))
    return found


def read_text(path):
    """The text of a release file (a notebook's strings joined), or None for binary files."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if path.endswith(".ipynb"):
        try:
            return "\n".join(_strings(json.loads(text)))
        except json.JSONDecodeError:
            return text
    return text


def _significant(literal):
    """The number's first MIN_SIGNIFICANT significant digits as a key, or None if fewer."""
    digits = re.sub(r"[eE].*$", "", literal).lstrip("+-").replace(".", "").lstrip("0")
    if len(digits) < MIN_SIGNIFICANT:
        return None
    try:
        return f"{float(literal):.{MIN_SIGNIFICANT - 1}e}"
    except ValueError:
        return None


def _reference_numbers(hidden_dirs):
    numbers = {}
    for label, hidden_dir in hidden_dirs:
        for rel, path in release_files(hidden_dir):
            if path.endswith((".npy", ".npz")):
                values = _array_numbers(path)
            else:
                text = read_text(path)
                values = NUMBER.findall(text) if text else []
            for value in values:
                key = _significant(value)
                if key:
                    numbers.setdefault(key, f"{label}/{rel}")
    return numbers


def _array_numbers(path):
    import numpy as np

    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception:  # a pickled or odd file: its bytes are still compared as a whole
        return []
    arrays = [loaded[k] for k in loaded.files] if hasattr(loaded, "files") else [loaded]
    values = []
    for array in arrays:
        if array.dtype.kind == "f":
            values.extend(repr(float(v)) for v in array.ravel()[:20000])
    return values


# --- the check ------------------------------------------------------------------------------------

def secret_lines(secrets):
    """{normalised line: (kind, origin)} of the secrets worth looking for (the trivial rule)."""
    checked = {}
    for kind, lines in secrets.lines.items():
        for norm, origin in lines.items():
            if kind == "answer-key":
                if norm not in secrets.public_lines:
                    checked[norm] = (kind, origin)
            elif not is_trivial(norm) and norm not in secrets.public:
                checked[norm] = (kind, origin)
    return checked


@dataclass
class GraderFiles:
    """What identifies the grader's files: whole files, hidden numbers, hidden lines."""

    files: dict  # bytes -> "<dir>/<rel>"
    numbers: dict  # significant-digit key -> "<dir>/hidden/<rel>"
    hidden_lines: dict  # "<dir>/hidden/<rel>" -> its distinctive normalised lines


def grader_files(grader_dirs, public):
    """Fingerprints of the folders of grader files (tests/, grading/): each file, and the
    numbers and distinctive lines of each folder's hidden/ subfolder."""
    if isinstance(grader_dirs, str):
        grader_dirs = (grader_dirs,)
    dirs = [(os.path.basename(os.path.normpath(d)), d) for d in grader_dirs if os.path.isdir(d)]
    files, generic, hidden = {}, set(), []
    for label, folder in dirs:
        for rel, path in release_files(folder):
            with open(path, "rb") as f:
                files.setdefault(f.read(), f"{label}/{rel}")
            # Lines of the other test files are generic test code (imports, loops over params,
            # the published checks): sharing them with a hidden file proves nothing.
            if not rel.startswith("hidden/"):
                generic.update(normalise(x) for x in (read_text(path) or "").split("\n"))
        if os.path.isdir(os.path.join(folder, "hidden")):
            hidden.append((f"{label}/hidden", os.path.join(folder, "hidden")))
    hidden_lines = {}
    for label, hidden_dir in hidden:
        for rel, path in release_files(hidden_dir):
            distinct = {normalise(x) for x in (read_text(path) or "").split("\n")}
            distinct = {x for x in distinct if not is_trivial(x) and x not in public
                        and x not in generic}
            if distinct:
                hidden_lines[f"{label}/{rel}"] = distinct
    return GraderFiles(files, _reference_numbers(hidden), hidden_lines)


def path_leaks(rel):
    parts = rel.split("/")
    if "tests" in parts[:-1] or TEST_FILE.match(parts[-1]):
        yield Leak("tests-content", rel, "a test file or tests/ folder in the release")
    if rel.lower().endswith(DATA_EXTENSIONS):
        yield Leak("reference-file", rel, "a data file in the release")
    if "similarity" in parts[:-1]:
        yield Leak("instructor-report", rel, "the similarity report or its reference solutions "
                   "(similarity/) in the release")


def secret_line_leaks(rel, text, checked):
    flat = normalise(text)
    whole_lines = {normalise(x) for x in text.split("\n")}
    for norm, (kind, origin) in checked.items():
        if (kind != "answer-key" or not is_trivial(norm)) and norm in flat:
            yield Leak(kind, rel, f"contains a secret line of {origin}: {norm[:60]}")
        elif kind == "answer-key" and norm in whole_lines:
            yield Leak(kind, rel, f"contains the answer key of {origin}: {norm[:60]}")


def grader_file_leaks(rel, data, text, fingerprints):
    if data.strip() and data in fingerprints.files:
        yield Leak("reference-file", rel, f"a copy of {fingerprints.files[data]}")
    if text is None:
        return
    for literal in NUMBER.findall(text):
        origin = fingerprints.numbers.get(_significant(literal))
        if origin:
            yield Leak("reference-file", rel, f"the number {literal} stored in {origin}")
    flat = normalise(text)
    for origin, distinct in fingerprints.hidden_lines.items():
        shared = sum(1 for x in distinct if x in flat)
        needed = min(len(distinct), max(SHARED_TEST_LINES, SHARED_TEST_FRACTION * len(distinct)))
        if shared >= needed:
            yield Leak("tests-content", rel, f"repeats {shared} lines of {origin}")


def find_leaks(release_dir, master_package=None, master_notebooks=None, tests_dir=None):
    """Every leak found in `release_dir`, sorted; an empty list means the release is clean.

    The master package, notebooks and the folders of grader files (tests/ and grading/) are the
    current course's unless given.
    """
    if None in (master_package, master_notebooks, tests_dir):
        course = current()
        master_package = master_package or str(course.package_dir)
        master_notebooks = master_notebooks or str(course.source_dir)
        tests_dir = tests_dir or (str(course.tests_dir), str(course.grading_dir))
    if not os.path.isdir(release_dir):
        raise FileNotFoundError(f"leak check: no release folder {release_dir}; run `make release`")
    secrets = collect_secrets(master_package, master_notebooks)
    checked = secret_lines(secrets)
    fingerprints = grader_files(tests_dir, secrets.public)
    leaks = set()
    for rel, path in release_files(release_dir):
        with open(path, "rb") as f:
            data = f.read()
        text = read_text(path)
        leaks.update(path_leaks(rel))
        leaks.update(grader_file_leaks(rel, data, text, fingerprints))
        if text is not None:
            leaks.update(secret_line_leaks(rel, text, checked))
    return sorted(leaks)


def report(leaks, out=sys.stdout):
    for leak in leaks:
        print(f"LEAK {leak}", file=out)


def run(args):
    args.release = args.release or str(current().release_dir)
    leaks = find_leaks(args.release)
    if leaks:
        report(leaks, sys.stderr)
        print(f"leakcheck: {len(leaks)} leak(s) in {args.release}: fix the master (or the release "
              "templates in coursekit/release/templates/) and run `make release` again.",
              file=sys.stderr)
        return 1
    print(f"leakcheck: {args.release} is clean (no solution, hidden test, answer key, "
          "reference value or test file).")
    return 0


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "leakcheck", help="Check that the student release holds nothing of the solutions",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--release", help="release folder to check (default: course.toml's, "
                        "release/<assignment>)")
    parser.set_defaults(func=run)
