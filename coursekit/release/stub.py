"""Step `package`: the student's `cs231n/` made from the master package.

nbgrader copies `.py` files verbatim, solutions included, so the package is ours to clear. Each
`### BEGIN SOLUTION` ... `### END SOLUTION` region of a module is cut out with nbgrader's own
region logic (ClearSolutions, the same code that clears notebook cells, so the delimiters mean
exactly the same thing in modules and notebooks) and replaced, at the region's indentation, by

    raise NotImplementedError("<function> in cs231n/<file>.py is not implemented yet: <hint>")

where <hint> is the whole first sentence of the TODO comment above the region (never cut: the
student reads it in check.py's report and in the notebook's error). Everything else (the
docstrings, the TODO text, the given code) stays byte for byte, so a stubbed module imports, is
documented, and tells the student what to write.

No placeholder values: the official starter lets `softmax_loss_naive` return its given loss with
a zero gradient, but then the notebook's loss test passes on the untouched release (a free
point, and a test that cannot fail in nbgrader's `validate --invert` sense). Every region raises.
"""
import ast
import os
import re

from .layout import BEGIN_SOLUTION, END_SOLUTION

# What nbgrader writes in place of each region; swapped for the per-region raise afterwards.
_MARKER = "__COURSEKIT_STUB_MARKER__"
_FALLBACK_HINT = "replace this line with your code (see the TODO above)"


class StubError(RuntimeError):
    """A master module whose solution regions cannot be stubbed."""


def _clear_regions(text):
    """Text with every solution region replaced by one marker line (nbgrader's logic)."""
    import nbformat
    from nbgrader.preprocessors import ClearSolutions

    clearer = ClearSolutions(
        code_stub={"python": _MARKER},
        begin_solution_delimeter=BEGIN_SOLUTION,
        end_solution_delimeter=END_SOLUTION,
    )
    cell = nbformat.v4.new_code_cell(text)
    clearer._replace_solution_region(cell, "python")
    return cell.source


def region_starts(text):
    """1-based line numbers of the BEGIN SOLUTION lines of a module text."""
    return [i for i, line in enumerate(text.split("\n"), 1) if BEGIN_SOLUTION in line]


def enclosing_function(tree, lineno):
    """Qualified name (`Class.method` or `function`) of the innermost function around a line."""
    best = None

    def visit(node, prefix):
        nonlocal best
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                inside = child.lineno <= lineno <= child.end_lineno
                if inside and not isinstance(child, ast.ClassDef):
                    best = name
                if inside:
                    visit(child, name + ".")

    visit(tree, "")
    return best


def todo_hint(lines, begin_index):
    """Hint from the `# TODO:` comment block right above line `begin_index` (0-based): its
    first sentence, up to the first colon or semicolon, whole."""
    block = []
    i = begin_index - 1
    while i >= 0 and lines[i].strip().startswith("#"):
        block.insert(0, lines[i].strip().lstrip("#").strip())
        if block[0].startswith("TODO"):
            break
        i -= 1
    if not block or not block[0].startswith("TODO"):
        return _FALLBACK_HINT
    text = re.sub(r"^TODO:?\s*", "", " ".join(block))
    hint = re.split(r"(?<=\.)\s|[:;]\s", text, maxsplit=1)[0].rstrip(".")
    return (hint[:1].lower() + hint[1:] + " (see the TODO above)") if hint else _FALLBACK_HINT


def _string_literal(text):
    """A double-quoted Python literal of `text` (repr's quotes only when it must)."""
    if '"' in text or "\\" in text:
        return repr(text)
    return f'"{text}"'


def stub_module(text, relpath):
    """The student version of one master module's text; `relpath` like `layers.py`.

    Returns (new_text, functions): the names of the stubbed functions, one per region.
    """
    starts = region_starts(text)
    if not starts:
        return text, []
    try:
        tree = ast.parse(text)
    except SyntaxError as err:
        raise StubError(f"cs231n/{relpath}: the master module does not parse: {err}") from err
    lines = text.split("\n")
    stubs, functions = [], []
    for lineno in starts:
        name = enclosing_function(tree, lineno)
        if name is None:
            raise StubError(
                f"cs231n/{relpath}, line {lineno}: a solution region outside any function; "
                "regions must sit inside a function body so that the stub raises when called."
            )
        hint = todo_hint(lines, lineno - 1)
        message = f"{name} in cs231n/{relpath} is not implemented yet: {hint}"
        stubs.append([f"raise NotImplementedError({_string_literal(message)})"])
        functions.append(name)
    try:
        cleared = _clear_regions(text)
    except RuntimeError as err:
        raise StubError(f"cs231n/{relpath}: {err}") from err
    out, k = [], 0
    for line in cleared.split("\n"):
        if line.strip() == _MARKER:
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + stub_line for stub_line in stubs[k])
            k += 1
        else:
            out.append(line)
    assert k == len(stubs), f"cs231n/{relpath}: {k} stubs written for {len(stubs)} regions"
    new_text = "\n".join(out)
    try:
        compile(new_text, f"cs231n/{relpath}", "exec")
    except SyntaxError as err:
        raise StubError(f"cs231n/{relpath}: the stubbed module does not compile: {err}") from err
    return new_text, functions


def python_files(package_dir):
    """Relative paths (posix, sorted) of the package's .py files, caches excluded."""
    found = []
    for dirpath, dirnames, filenames in os.walk(package_dir):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        for name in filenames:
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, name), package_dir)
                found.append(rel.replace(os.sep, "/"))
    return sorted(found)


def stub_package(master_dir, dest_dir):
    """Write the stubbed copy of every .py file of `master_dir` into `dest_dir`.

    Returns {relpath: [stubbed function names]} for the modules that had regions.
    """
    stubbed = {}
    for rel in python_files(master_dir):
        with open(os.path.join(master_dir, rel), encoding="utf-8") as f:
            text = f.read()
        new_text, functions = stub_module(text, rel)
        target = os.path.join(dest_dir, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="\n") as f:
            f.write(new_text)
        if functions:
            stubbed[rel] = functions
    return stubbed
