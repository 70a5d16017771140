"""Build a complete `cs231n` package from the student release plus one fairness style.

Why: the fairness corpus holds several independent, correct implementations of the 20 student
functions (one folder per style under `implementations/`). To grade or test a style we need a
real package, identical to what a student hands in: the release's given code everywhere, the
style's code in place of the stubs. A style holds only what a student writes, so the given lines
(signature defaults, config defaults, loops and returns around the stub) come from the release.

What: `build_package(style_dir, dest)` copies `release/assignment1/cs231n` (without `datasets/`
and `__pycache__`) to `dest/cs231n`, then for every `.py` file of the style (same relative path
as in the package):

- each top-level `def f` fills the solution regions of the target's `def f`: a region is the
  stub line `raise NotImplementedError("f in cs231n/... is not implemented yet: ...")` that the
  release wrote where the master had its solution. The style's def has the target's signature;
  its body statements replace the stub line, re-indented to it. A function with several regions
  separates their bodies by a bare `...` statement (standing for the given lines between them);
- each `class C:` block names a class of the target; each method in it fills the regions of the
  method of the same name, as above;
- a `def _f` the target lacks is a helper, appended to the module with the style's other
  module-level statements (constants);
- module-level imports are added to the target after its docstring (names it already imports
  the same way are skipped); the module docstring is ignored.

Anything the target cannot take is a SpliceError, so that a style is never silently ignored: a
name the target lacks (a typo, a missing class or method), a function without a region, another
signature, a number of bodies that is not the number of regions, a decorator, a class's bases
(the class statement is the release's).

A style folder may hold a `BASE` file naming another style: the base is spliced first, except
the functions the style fills itself, so a single-purpose style (one idiom, a few functions)
still yields a complete package.
"""

import ast
import re
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


def _is_function(node):
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))


def _is_separator(node):
    """A bare `...` statement: the given lines between two regions of a function."""
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and node.value.value is Ellipsis)


def _regions(function, qualname):
    """The stub statements of a release function, in source order.

    The release writes each region as one `raise NotImplementedError("<qualname> in cs231n/...
    is not implemented yet: ...")` (coursekit/release/stub.py); other raises of
    NotImplementedError (an abstract method's) are given code.
    """
    message = re.compile(re.escape(qualname) + r" in cs231n/\S+ is not implemented yet: ")
    found = []
    for node in ast.walk(function):
        exc = getattr(node, "exc", None) if isinstance(node, ast.Raise) else None
        if (isinstance(exc, ast.Call) and isinstance(exc.func, ast.Name)
                and exc.func.id == "NotImplementedError" and len(exc.args) == 1
                and isinstance(exc.args[0], ast.Constant) and isinstance(exc.args[0].value, str)
                and message.match(exc.args[0].value)):
            found.append(node)
    return sorted(found, key=lambda n: n.lineno)


def _bodies(function):
    """The style function's body split at its bare `...` statements."""
    bodies = [[]]
    for node in function.body:
        if _is_separator(node):
            bodies.append([])
        else:
            bodies[-1].append(node)
    return bodies


def _fill(style_node, target_node, qualname, where):
    """[(first, last, lines)]: the target's stub lines to replace by the style's bodies."""
    if style_node.decorator_list:
        raise SpliceError(f"{where}: {qualname} has a decorator; a style writes only the body "
                          "of a solution region")
    if ast.dump(style_node.args) != ast.dump(target_node.args):
        raise SpliceError(f"{where}: {qualname} must have the release's signature "
                          f"({ast.unparse(target_node.args)}), not "
                          f"({ast.unparse(style_node.args)})")
    regions = _regions(target_node, qualname)
    if not regions:
        raise SpliceError(f"{where}: {qualname} has no solution region in the release: it is "
                          "given code, which a style does not restate")
    bodies = _bodies(style_node)
    if len(bodies) != len(regions) or not all(bodies):
        raise SpliceError(f"{where}: {qualname} has {len(regions)} solution region(s) in the "
                          f"release; write as many non-empty bodies, separated by a bare `...`")
    return [(region, body) for region, body in zip(regions, bodies, strict=True)]


def splice_file(style_file, target_file, style_name="?", skip=frozenset()):
    """Fill, in `target_file`, the solution regions of the functions that `style_file` holds
    (see the module doc), except those named in `skip` (qualified names)."""
    style_src = style_file.read_text().splitlines(keepends=True)
    target_src = target_file.read_text().splitlines(keepends=True)
    style_tree = ast.parse("".join(style_src), str(style_file))
    target_tree = ast.parse("".join(target_src), str(target_file))
    top = _defs(target_tree.body)

    fills = []  # (target stub statement, style statements)
    helpers = []
    for node in style_tree.body:
        if isinstance(node, ast.ClassDef):
            target_class = top.get(node.name)
            if not isinstance(target_class, ast.ClassDef):
                raise SpliceError(f"{style_file}: class {node.name} not found in {target_file}")
            if node.bases or node.keywords or node.decorator_list:
                raise SpliceError(f"{style_file}: class {node.name} names bases or decorators; "
                                  "the class statement is the release's, write `class "
                                  f"{node.name}:`")
            methods = _defs(target_class.body)
            for item in node.body:
                if isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant):
                    continue  # class docstring
                if not _is_function(item):
                    raise SpliceError(f"{style_file}: class {node.name} may hold only methods")
                if not _is_function(methods.get(item.name)):
                    raise SpliceError(f"{style_file}: method {node.name}.{item.name} not found "
                                      f"in {target_file}")
                qualname = f"{node.name}.{item.name}"
                if qualname not in skip:
                    fills += _fill(item, methods[item.name], qualname, style_file)
        elif _is_function(node):
            if _is_function(top.get(node.name)):
                if node.name not in skip:
                    fills += _fill(node, top[node.name], node.name, style_file)
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

    def block(nodes, indent):
        first, last = _node_lines(nodes[0])[0], _node_lines(nodes[-1])[1]
        return _reindent(style_src[first - 1:last], nodes[0].col_offset, indent)

    out = list(target_src)
    for stub, body in sorted(fills, key=lambda f: -f[0].lineno):
        out[stub.lineno - 1:stub.end_lineno] = block(body, stub.col_offset)
    if helpers:
        out += ["\n", "\n", f"# Helpers of the fairness style {style_name!r}.\n"]
        for node in helpers:
            out += ["\n", "\n"] + block([node], 0)

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


def style_functions(style_dir):
    """{(relative file, qualified name): ast node} of the functions a style folder defines."""
    found = {}
    for path in sorted(Path(style_dir).rglob("*.py")):
        rel = path.relative_to(style_dir).as_posix()
        for node in ast.parse(path.read_text()).body:
            if _is_function(node):
                found[rel, node.name] = node
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if _is_function(item):
                        found[rel, f"{node.name}.{item.name}"] = item
    return found


def _splice_style(style_dir, package, overridden=frozenset()):
    """Splice a style, its BASE first; `overridden`: (file, qualname) a derived style fills."""
    style_dir = Path(style_dir)
    files = sorted(style_dir.rglob("*.py"))
    if not files:
        raise SpliceError(f"style folder {style_dir} holds no .py file")
    base = style_dir / "BASE"
    if base.exists():
        _splice_style(IMPLEMENTATIONS / base.read_text().strip(), package,
                      overridden | set(style_functions(style_dir)))
    for style_file in files:
        rel = style_file.relative_to(style_dir)
        target = package / rel
        if not target.is_file():
            raise SpliceError(f"{style_file}: no module {rel} in the release package")
        skip = {name for file, name in overridden if file == rel.as_posix()}
        splice_file(style_file, target, style_dir.name, skip)


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
