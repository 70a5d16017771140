"""Disguises of a copy and synthetic classes, for the tests and the benchmark.

What a student who copies does to hide it, as text transformations of a module:
`rename_variables` (every local name of every function renamed), `reformat` (spacing changed,
comments added), `reorder_functions` (the module's top-level functions in reverse order), and
`vary` (lines dropped, repeated and added at random: an independent-looking version for the
benchmark's class). `write_submission` lays a submission out as a student hands it in.
"""
import ast
import functools
import io
import json
import random
import shutil
import tokenize
from pathlib import Path

from .units import functions_of


def _local_names(text):
    """Names a module's functions assign or take as arguments (not `self`)."""
    names = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                    names.add(inner.id)
                elif isinstance(inner, ast.arg) and inner.arg != "self":
                    names.add(inner.arg)
    return names


def rename_variables(text, suffix="_mine"):
    """`text` with every local name of its functions renamed (`dx` -> `dx_mine`); attribute
    and keyword names and the functions' own names stay, so the module still parses and means
    the same."""
    names = _local_names(text)
    out = []
    previous = None
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        named = previous in (".", "def", "class")  # an attribute or the function's own name
        if tok.type == tokenize.NAME and tok.string in names and not named:
            tok = tok._replace(string=tok.string + suffix)
        out.append(tok)
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            previous = tok.string
    return tokenize.untokenize(out)


def reformat(text):
    """`text` with its spacing changed and a comment above every statement line of a body."""
    lines = []
    for line in text.split("\n"):
        body = line.strip()
        indent = line[: len(line) - len(body)]
        if indent and body and not body.startswith(("#", '"', "'", ")", "]", "}")):
            lines.append(f"{indent}# my step")
            if "#" not in body and '"' not in body and "'" not in body:
                line = indent + body.replace(", ", " ,  ").replace(" = ", "=")
        lines.append(line)
    out = "\n".join(lines)
    ast.parse(out)  # a disguise must still be Python
    return out


def reorder_functions(text):
    """`text` with its top-level functions in reverse order (everything else in place)."""
    tree = ast.parse(text)
    lines = text.split("\n")
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if len(defs) < 2:
        return text
    first, last = defs[0].lineno - 1, defs[-1].end_lineno
    blocks = ["\n".join(lines[n.lineno - 1:n.end_lineno]) for n in defs]
    return "\n".join(lines[:first] + ["\n\n".join(reversed(blocks))] + lines[last:])


@functools.lru_cache(maxsize=256)  # the benchmark varies the same master texts 600 times
def _statement_lines(text):
    """(line numbers starting a statement of the function's body, line numbers of simple
    one-line statements that are not the last of their block) of a function's text."""
    tree = ast.parse(text)
    starts, droppable = set(), set()
    for node in ast.walk(tree):
        for block in (getattr(node, name, None) for name in ("body", "orelse", "finalbody")):
            if not isinstance(block, list) or isinstance(node, ast.Module):
                continue
            for stmt in block:
                starts.add(stmt.lineno)
                simple = isinstance(stmt, (ast.Assign, ast.AugAssign, ast.Expr))
                if simple and stmt.lineno == stmt.end_lineno and stmt is not block[-1]:
                    droppable.add(stmt.lineno)  # never a block's last: none is left empty
    return starts, droppable


def vary(text, rng):
    """A function's text with about a quarter of its statements dropped, repeated or preceded
    by a new one: the benchmark's stand-in for another student's version."""
    starts, droppable = _statement_lines(text)
    out = []
    for number, line in enumerate(text.split("\n"), 1):
        roll = rng.random()
        indent = line[: len(line) - len(line.lstrip())]
        if roll < 0.08 and number in droppable:
            continue
        clause = line.lstrip().startswith(("elif", "else", "except", "finally"))
        if roll < 0.25 and number in starts and not clause:
            out.append(f"{indent}tmp{rng.randrange(1000)} = {rng.choice('xyzw')} * "
                       f"{rng.randrange(2, 9)} + {rng.randrange(100)}")
        out.append(line)
        if roll > 0.92 and number in droppable:
            out.append(line)
    return "\n".join(out)


def module_functions(path):
    return functions_of(Path(path).read_text(encoding="utf-8"))


def write_submission(dest, course, modules=None, notebooks=None):
    """A submission as a student hands it in: the release, with `modules` ({"layers.py":
    text}) in place of the package's files and `notebooks` ({"knn.ipynb": notebook dict})
    in place of the release notebooks. Returns `dest`."""
    dest = Path(dest)
    shutil.copytree(course.release_dir, dest,
                    ignore=shutil.ignore_patterns("__pycache__", "cifar-10-batches-py"))
    for file, text in (modules or {}).items():
        (dest / course.package / file).write_text(text, encoding="utf-8")
    for file, nb in (notebooks or {}).items():
        (dest / file).write_text(json.dumps(nb), encoding="utf-8")
    return dest


def set_cell(nb, grade_id, source):
    """A copy of notebook dict `nb` with the cell of `grade_id` holding `source`."""
    nb = json.loads(json.dumps(nb))
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            cell["source"] = source
            return nb
    raise KeyError(f"no cell {grade_id!r} in the notebook")


def random_class(course, dest, students, seed=0):
    """`students` submissions under dest/<student>/<assignment>, each function and solution
    cell a `vary` of the master's (functions renamed in a third of them): a class for timing.
    Returns dest."""
    rng = random.Random(seed)
    dest = Path(dest)
    masters = {}
    for file in sorted(set(course.student_functions.values())):
        masters[file] = (course.package_dir / file).read_text(encoding="utf-8")
    release_nbs = {nb: json.loads((course.release_dir / nb).read_text(encoding="utf-8"))
                   for nb in course.notebook_files}
    source_cells = {}
    for nb in course.notebook_files:
        for cell in json.loads((course.source_dir / nb).read_text(encoding="utf-8"))["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell["cell_type"] == "code" and meta.get("solution"):
                source_cells[(nb, meta["grade_id"])] = "".join(cell["source"])
    found_in = {file: functions_of(text) for file, text in masters.items()}
    for i in range(students):
        modules = {}
        for file, text in masters.items():
            found = found_in[file]
            varied = text
            for name in found:
                body = found[name]
                if "." in name:  # a method: indented in the module
                    body = "\n".join("    " + line if line else line
                                     for line in body.split("\n"))
                    mine = "\n".join("    " + line if line else line
                                     for line in vary(found[name], rng).split("\n"))
                else:
                    mine = vary(body, rng)
                varied = varied.replace(body, mine, 1)
            modules[file] = rename_variables(varied, f"_{i}") if rng.random() < 0.3 else varied
        notebooks = {}
        for (nb, grade_id), text in source_cells.items():
            notebooks[nb] = set_cell(notebooks.get(nb, release_nbs[nb]), grade_id,
                                     vary(text, rng))
        write_submission(dest / f"s{i:03d}" / course.assignment, course, modules, notebooks)
    return dest
