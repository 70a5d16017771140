"""What every coursekit process does once, before it imports anything else (coursekit/__init__).

`defer_iri_syntax`: nbformat validates notebooks with jsonschema, whose format checkers import
`rfc3987_syntax` (the non-GPL IRI checker that `jsonschema[format-nongpl]` installs, through
jupyter-events) when jsonschema loads. That import builds some thirty Lark parsers: about
0.65 s of CPU on the 2-core machines of `make bench`, in every process that reads a notebook:
each `coursekit` command, each grading worker of a batch (python-jsonschema/jsonschema#1428).
Only the "iri" and "iri-reference" formats use it, and no notebook schema has them. So the name
is taken by a stand-in whose first use imports the real package: the same answers, paid only by
a process that checks an IRI.
"""
import importlib
import importlib.machinery  # not loaded by `import importlib` in every interpreter
import sys
import types

IRI_SYNTAX = "rfc3987_syntax"


def defer_iri_syntax():
    """Put the stand-in for `rfc3987_syntax` in sys.modules (see the module's doc). Nothing
    when jsonschema's checkers are loaded already, or the package is not installed."""
    if IRI_SYNTAX in sys.modules or "jsonschema._format" in sys.modules:
        return
    if importlib.machinery.PathFinder.find_spec(IRI_SYNTAX) is None:
        return
    stand_in = types.ModuleType(IRI_SYNTAX, "coursekit's stand-in for rfc3987_syntax: the "
                                "real package is imported by the first use (coursekit.startup)")

    def is_valid_syntax(*args, **kwargs):
        return _real(stand_in).is_valid_syntax(*args, **kwargs)

    def __getattr__(name):     # the package's other names (PEP 562)
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_real(stand_in), name)

    stand_in.is_valid_syntax = is_valid_syntax
    stand_in.__getattr__ = __getattr__
    stand_in.__coursekit_stand_in__ = True
    sys.modules[IRI_SYNTAX] = stand_in


def _real(stand_in):
    """The real rfc3987_syntax, imported in place of the stand-in the first time."""
    if sys.modules.get(IRI_SYNTAX) is stand_in:
        del sys.modules[IRI_SYNTAX]
        try:
            return importlib.import_module(IRI_SYNTAX)
        except BaseException:
            sys.modules.setdefault(IRI_SYNTAX, stand_in)
            raise
    return importlib.import_module(IRI_SYNTAX)
