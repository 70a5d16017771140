"""Source rules: what the TODO text forbids, read from the submitted source (parsed, never run)."""

import ast

LOOP_NODES = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp,
              ast.GeneratorExp)


def find_function(source, class_name, func_name):
    """The ast of class_name.func_name (or of module-level func_name if class_name is None)."""
    tree = ast.parse(source)
    scope = tree.body
    if class_name is not None:
        classes = [n for n in scope if isinstance(n, ast.ClassDef) and n.name == class_name]
        if not classes:
            return None, tree
        scope = classes[-1].body
    funcs = [n for n in scope if isinstance(n, ast.FunctionDef) and n.name == func_name]
    return (funcs[-1] if funcs else None), tree


def count_loops(node):
    return sum(isinstance(n, LOOP_NODES) for n in ast.walk(node))


HIDDEN_LOOPS = ("cdist", "pdist", "distance_matrix", "vectorize", "apply_along_axis", "fromiter")


def forbidden_uses(func, tree, forbidden_attrs=("norm",), forbidden_modules=("scipy",),
                   forbidden_names=HIDDEN_LOOPS):
    """Names in func that reach np.linalg.norm, scipy or a hidden loop, including aliases.

    Add to forbidden_names the functions whose loops would be hidden behind a call (the other
    distance methods, for a kNN distance method).
    """
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mod = getattr(node, "module", None) or ""
            for alias in node.names:
                full = f"{mod}.{alias.name}" if mod else alias.name
                if any(full.startswith(m) for m in forbidden_modules) or "linalg" in full:
                    aliases.add(alias.asname or alias.name.split(".")[0])
    found = []
    for node in ast.walk(func):
        if isinstance(node, ast.Attribute) and (node.attr in forbidden_attrs
                                                or node.attr in forbidden_names):
            found.append(node.attr)
        elif isinstance(node, ast.Name) and (node.id in aliases or node.id in forbidden_names
                                             or node.id in forbidden_modules):
            found.append(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append("import inside the function")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("map", "eval", "exec", "__import__"):
            found.append(node.func.id)
    return sorted(set(found))
