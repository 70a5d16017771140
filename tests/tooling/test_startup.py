"""coursekit.startup: jsonschema's IRI checker (rfc3987_syntax, some 0.65 s of import) is imported
only by a process that checks an IRI, and answers exactly as the real package does."""
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit import startup

IRIS = ["http://example.com/a", "http://exa mple.com/a b", "https://例え.jp/パス?q=1#f",
        "relative/path", "#frag", "mailto:ada@example.com", "http://[::1]:80/", "http://%zz",
        "", 5]

CHECK = f"""
import json, sys
{{first}}
from jsonschema import Draft7Validator
answers = {{{{}}}}
for fmt in ("iri", "iri-reference"):
    v = Draft7Validator({{{{"format": fmt}}}}, format_checker=Draft7Validator.FORMAT_CHECKER)
    answers[fmt] = [v.is_valid(x) for x in {IRIS!r}]
print(json.dumps(answers))
"""


def run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return out.stdout.strip().splitlines()


def test_reading_notebooks_does_not_import_the_iri_checker():
    lines = run("import sys, coursekit.autograde.batch, nbformat\n"
                "nbformat.validate(nbformat.v4.new_notebook())\n"
                "m = sys.modules['rfc3987_syntax']\n"
                "print(getattr(m, '__coursekit_stand_in__', False))\n"
                "print('rfc3987_syntax.syntax_helpers' in sys.modules)")
    assert lines == ["True", "False"]


def test_without_coursekit_nbformat_imports_it():
    # What the stand-in saves: the real package comes with nbformat otherwise.
    assert run("import sys, nbformat\n"
               "print('rfc3987_syntax.syntax_helpers' in sys.modules)") == ["True"]


def test_iri_formats_are_checked_as_the_real_package_checks_them():
    real = json.loads(run(CHECK.format(first=""))[0])
    deferred = run(CHECK.format(first="import coursekit") +
                   "print('rfc3987_syntax.syntax_helpers' in sys.modules)")
    assert json.loads(deferred[0]) == real
    assert deferred[1] == "True"       # the first check imported the real package
    for answers in real.values():       # the sample tells valid from invalid
        assert True in answers and False in answers


def test_coursekit_imports_in_a_bare_interpreter():
    # No site, no .pth files: nothing has loaded importlib.machinery (a fresh virtualenv's
    # `coursekit` command found it missing).
    root = Path(startup.__file__).parents[1]
    out = subprocess.run([sys.executable, "-I", "-S", "-c",
                          f"import sys; sys.path.insert(0, {str(root)!r}); import coursekit; "
                          "print(sorted(m for m in sys.modules if m.startswith('rfc3987')))"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"       # -S: the package is not on the path at all


def test_nothing_is_put_in_place_once_jsonschema_loaded_its_checkers():
    lines = run("import sys, jsonschema._format\nimport coursekit\n"
                "print(getattr(sys.modules['rfc3987_syntax'], '__coursekit_stand_in__', False))")
    assert lines == ["False"]


def test_without_the_package_there_is_no_stand_in(monkeypatch):
    monkeypatch.delitem(sys.modules, startup.IRI_SYNTAX, raising=False)
    monkeypatch.delitem(sys.modules, "jsonschema._format", raising=False)
    monkeypatch.setattr(importlib.machinery.PathFinder, "find_spec",
                        classmethod(lambda cls, name, path=None, target=None: None))
    startup.defer_iri_syntax()
    assert startup.IRI_SYNTAX not in sys.modules


def test_a_failed_import_leaves_the_stand_in_to_try_again(monkeypatch):
    monkeypatch.delitem(sys.modules, startup.IRI_SYNTAX, raising=False)
    monkeypatch.delitem(sys.modules, "jsonschema._format", raising=False)
    startup.defer_iri_syntax()
    stand_in = sys.modules[startup.IRI_SYNTAX]
    assert stand_in.__coursekit_stand_in__

    def broken(name, *args):
        raise ImportError(f"no {name}")

    monkeypatch.setattr(importlib, "import_module", broken)
    with pytest.raises(ImportError):
        stand_in.is_valid_syntax("iri", "http://example.com")
    assert sys.modules[startup.IRI_SYNTAX] is stand_in
    monkeypatch.undo()      # sys.modules as it was: the real package or none
