"""Build a complete `cs231n` package from the student release plus one fairness style.

Why: the fairness corpus holds several independent, correct implementations of the 20 student
functions (one folder per style under `implementations/`). To grade or test a style we need a
real package, identical to what a student hands in: the release's given code everywhere, the
style's code in place of the stubs.

What: `build_package(style_dir, dest)` copies `release/assignment1/cs231n` (without `datasets/`
and `__pycache__`) to `dest/cs231n`, then for every `.py` file of the style (same relative path
as in the package):

- each top-level `def f` replaces the target's top-level `def f` (ast line ranges, decorators
  included); a `def _f` the target lacks is a helper, appended to the module;
- each `class C:` block names a class of the target; each method in it replaces the method of
  the same name in the target's class, re-indented to the target's indentation (an unknown class
  or method is an error: the style would otherwise be silently ignored);
- module-level imports are added to the target after its docstring (names it already imports
  the same way are skipped); the module docstring is ignored.

Any other name the target lacks (a typo, a missing class or method) is a SpliceError: a style
must never be silently ignored.

A style folder may hold a `BASE` file naming another style: the base is spliced first, so a
single-purpose style (one idiom, a few functions) still yields a complete package.
"""

import ast
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMPLEMENTATIONS = HERE / "implementations"
RELEASE_PACKAGE = HERE.parents[1] / "release" / "assignment1" / "cs231n"


class SpliceError(Exception):
    """A style names something the release does not have, or yields invalid Python."""


def style_dirs():
    """Every style folder under implementations/, sorted by name."""
    return sorted(p for p in IMPLEMENTATIONS.iterdir() if p.is_dir() and p.name[0] not in "._")


def _node_lines(node):
    """(first, last) 1-based line numbers of a statement, a def's decorators included."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return first, node.end_lineno


def _reindent(lines, old, new):
    """Move a block of source lines from indentation `old` (columns) to `new`."""
    out = []
    for line in lines:
        if not line.strip():
            out.append("\n")
        elif line[:old].strip():
            raise SpliceError(f"line is less indented than its block: {line!r}")
        else:
            out.append(" " * new + line[old:])
    return out


def _bound(node):
    """(kind, module, level, name, asname) for each name an import statement binds."""
    if isinstance(node, ast.Import):
        return {("import", None, 0, a.name, a.asname) for a in node.names}
    return {("from", node.module, node.level, a.name, a.asname) for a in node.names}


def _new_imports(style_tree, target_tree):
    """Source lines of the style's imports, minus the names the target imports already."""
    have = set()
    for node in target_tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            have |= _bound(node)
    lines = []
    for node in style_tree.body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        node.names = [a for a in node.names if not (_bound(_single(node, a)) <= have)]
        if node.names:
            lines.append(ast.unparse(node) + "\n")
    return lines


def _single(node, alias):
    """A copy of import statement `node` binding only `alias`."""
    if isinstance(node, ast.Import):
        return ast.Import(names=[alias])
    return ast.ImportFrom(module=node.module, names=[alias], level=node.level)


def _defs(body):
    """Name -> node of the function and class definitions of a body."""
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name: node for node in body if isinstance(node, kinds)}


def splice_file(style_file, target_file, style_name="?"):
    """Replace, in `target_file`, the definitions that `style_file` holds (see module doc)."""
    style_src = style_file.read_text().splitlines(keepends=True)
    target_src = target_file.read_text().splitlines(keepends=True)
    style_tree = ast.parse("".join(style_src), str(style_file))
    target_tree = ast.parse("".join(target_src), str(target_file))
    top = _defs(target_tree.body)

    replacements = []  # (target node, style node)
    helpers = []
    for node in style_tree.body:
        if isinstance(node, ast.ClassDef):
            target_class = top.get(node.name)
            if not isinstance(target_class, ast.ClassDef):
                raise SpliceError(f"{style_file}: class {node.name} not found in {target_file}")
            methods = _defs(target_class.body)
            for item in node.body:
                if isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant):
                    continue  # class docstring
                if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    raise SpliceError(f"{style_file}: class {node.name} may hold only methods")
                if item.name not in methods:
                    raise SpliceError(f"{style_file}: method {node.name}.{item.name} not found "
                                      f"in {target_file}")
                replacements.append((methods[item.name], item))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if isinstance(top.get(node.name), (ast.FunctionDef, ast.AsyncFunctionDef)):
                replacements.append((top[node.name], node))
            elif node.name.startswith("_"):
                helpers.append(node)
            else:
                raise SpliceError(f"{style_file}: function {node.name} not found in "
                                  f"{target_file} (name helpers with a leading underscore)")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            pass
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            pass  # module docstring
        else:
            helpers.append(node)  # e.g. a module-level constant used by the style

    def block(node, indent):
        first, last = _node_lines(node)
        return _reindent(style_src[first - 1:last], node.col_offset, indent)

    out = list(target_src)
    for target, node in sorted(replacements, key=lambda r: -r[0].lineno):
        first, last = _node_lines(target)
        out[first - 1:last] = block(node, target.col_offset)
    if helpers:
        out += ["\n", "\n", f"# Helpers of the fairness style {style_name!r}.\n"]
        for node in helpers:
            out += ["\n", "\n"] + block(node, 0)

    imports = _new_imports(style_tree, target_tree)
    body = target_tree.body
    has_doc = body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    at = body[0].end_lineno if has_doc else 0
    out[at:at] = imports

    text = "".join(out)
    try:
        ast.parse(text, str(target_file))
    except SyntaxError as exc:
        raise SpliceError(f"splicing {style_file} into {target_file} gave invalid Python: "
                          f"{exc}") from exc
    target_file.write_text(text)


def _splice_style(style_dir, package):
    style_dir = Path(style_dir)
    base = style_dir / "BASE"
    if base.exists():
        _splice_style(IMPLEMENTATIONS / base.read_text().strip(), package)
    files = sorted(style_dir.rglob("*.py"))
    if not files:
        raise SpliceError(f"style folder {style_dir} holds no .py file")
    for style_file in files:
        target = package / style_file.relative_to(style_dir)
        if not target.is_file():
            raise SpliceError(f"{style_file}: no module {target.relative_to(package)} in the "
                              "release package")
        splice_file(style_file, target, style_dir.name)


def build_package(style_dir, dest):
    """Write the release package with the style's functions to dest/cs231n; return that path.

    Grade it with `grade_submission(result.parent)`; import it with `dest` on sys.path.
    """
    package = Path(dest) / "cs231n"
    if package.exists():
        shutil.rmtree(package)
    shutil.copytree(RELEASE_PACKAGE, package,
                    ignore=shutil.ignore_patterns("datasets", "__pycache__"))
    _splice_style(style_dir, package)
    return package


def build_all(dest_root):
    """build_package for every style into dest_root/<style>/cs231n; returns {style: package}."""
    return {d.name: build_package(d, Path(dest_root) / d.name) for d in style_dirs()}
