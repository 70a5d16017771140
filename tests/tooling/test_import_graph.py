"""coursekit's modules import each other without a cycle (module-level imports, read by ast).

A cycle works until someone imports the other module first, then fails with "cannot import
name" (partially initialised module). Imports inside functions are not edges: they run late,
and are how a module that must stay import-light defers a heavy one.
"""
import ast
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "coursekit"


def module_files(root=PACKAGE_ROOT, package=PACKAGE):
    """{dotted module name: (path, is a package __init__)} of the package's .py files."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


def _module_level(nodes):
    """The import statements run when the module is imported: top level, and inside the
    if/try/with blocks there (not in functions or classes)."""
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for block in ("body", "orelse", "finalbody"):
                yield from _module_level(getattr(node, block, []))
            for handler in getattr(node, "handlers", []):
                yield from _module_level(handler.body)


def imported_modules(name, path, is_package, modules):
    """The modules of `modules` that module `name` imports at its top level."""
    here = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in _module_level(ast.parse(path.read_text(), str(path)).body):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                parent = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            # `from pkg import mod` imports pkg.mod; `from mod import name` imports mod.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                       for a in node.names]
        for target in targets:
            # Importing a.b.c runs a and a.b first: the nearest module known is the edge.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(root=PACKAGE_ROOT, package=PACKAGE):
    modules = module_files(root, package)
    return {name: imported_modules(name, path, is_package, modules)
            for name, (path, is_package) in modules.items()}


def find_cycle(graph):
    """One import cycle of `graph` as [a, b, ..., a], or [] when there is none."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_coursekit_has_no_import_cycle():
    graph = import_graph()
    assert "coursekit.autograde.pipeline" in graph and len(graph) > 40   # the walk found them
    cycle = find_cycle(graph)
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_the_graph_has_the_edges_the_code_has():
    graph = import_graph()
    assert "coursekit.autograde.result" in graph["coursekit.autograde.pipeline"]
    assert "coursekit.grader.models" in graph["coursekit.grader.driver"]
    # Imports inside functions are not edges: coursekit.grader's package map imports the
    # driver only when grade_submission is called.
    assert "coursekit.grader.driver" not in graph["coursekit.grader"]


def test_a_cycle_is_found_and_named(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("try:\n    from .. import c\nexcept ImportError:\n"
                                          "    pass\n")
    (package / "c.py").write_text("import pkg.a\n\ndef late():\n    import pkg.sub.b\n")
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.c"}
    assert graph["pkg.c"] == {"pkg.a"}
    assert find_cycle(graph) == ["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]
    (package / "c.py").write_text("def late():\n    import pkg.a\n")
    assert find_cycle(import_graph(tmp_path, "pkg")) == []
