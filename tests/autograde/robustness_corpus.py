"""The robustness corpus: one submission per thing a student can hand in that must not break
grading. Each case is a function that damages a correct submission of the tiny course; the
slow suite grades them all in one batch next to a correct submission."""
import json
import shutil
from pathlib import Path

import nbformat
import tinycourse

# The first lines of the official 2025 starter's modules: Python-2 imports of the `future`
# package (pinned in requirements.txt) that a finished official submission still carries.
OFFICIAL_STARTER_HEADER = ("from __future__ import print_function\n"
                           "from builtins import range\n"
                           "from builtins import object\n"
                           "from past.builtins import xrange\n")
# The official solver.py's.
OFFICIAL_SOLVER_HEADER = ("from __future__ import print_function, division\n"
                          "from future import standard_library\n"
                          "standard_library.install_aliases()\n"
                          "from builtins import range\n"
                          "from builtins import object\n")


def _nb(folder, name="adder"):
    return nbformat.read(str(Path(folder) / f"{name}.ipynb"), as_version=4)


def _save(nb, folder, name="adder"):
    nbformat.write(nb, str(Path(folder) / f"{name}.ipynb"))


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _set_add(folder, body):
    nb = _nb(folder)
    for cell in nb.cells:
        if _grade_id(cell) == "add_solution":
            cell.source = "def add(a, b):\n    " + body.strip().replace("\n", "\n    ")
    _save(nb, folder)


def renamed(folder, course):
    (folder / "adder.ipynb").rename(folder / "adder (1).ipynb")


def missing_notebook(folder, course):
    (folder / "ops.ipynb").unlink()


def invalid_json(folder, course):
    (folder / "adder.ipynb").write_text('{"cells": [ this is not json')


def empty_folder(folder, course):
    shutil.rmtree(folder)
    folder.mkdir()


def deleted_locked_cell(folder, course):
    nb = _nb(folder)
    nb.cells = [c for c in nb.cells if _grade_id(c) != "test_add"]
    _save(nb, folder)


def duplicated_locked_cell(folder, course):
    nb = _nb(folder)
    index = next(i for i, c in enumerate(nb.cells) if _grade_id(c) == "test_add")
    nb.cells.insert(index, nbformat.from_dict(json.loads(json.dumps(nb.cells[index]))))
    _save(nb, folder)


def edited_locked_cell(folder, course):
    # The student "fixes" the test to pass a wrong add; the grader runs the real test.
    nb = _nb(folder)
    for cell in nb.cells:
        if _grade_id(cell) == "test_add":
            cell.source = "pass"
    _save(nb, folder)
    _set_add(folder, "return 0")


def missing_module(folder, course):
    (folder / "tiny" / "ops.py").unlink()


def reads_hidden_tests(folder, course):
    # Tries the notebook next to the kernel (it holds the hidden tests while grading), the
    # gradebook and the master notebook; falls back to a wrong answer.
    gradebook = course.sqlite_path
    master = course.source_dir / "adder.ipynb"
    _set_add(folder, f"""
import re
found = []
for path in ["adder.ipynb", {str(gradebook)!r}, {str(master)!r}]:
    try:
        found.append(open(path, "rb").read())
    except OSError as exc:
        print("could not read", path, type(exc).__name__)
pattern = rb"allclose\\(add\\(4000, 242.125\\), ([0-9.]+)"
values = [float(v) for blob in found for v in re.findall(pattern, blob)]
return values[0] if values else -1""")


def writes_outside(folder, course):
    target = course.root / "PWNED.txt"
    _set_add(folder, f"""
try:
    open({str(target)!r}, "w").write("pwned")
except OSError as exc:
    print("write refused:", type(exc).__name__)
return a + b""")


# The cases that only replace the body of the student's add (in adder.ipynb): name -> body.
ADD_BODIES = {
    "infinite_loop": "while True:\n    pass",
    # A cell that cannot be interrupted after its time limit: the notebook is given up.
    "ignores_interrupts": "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                          "time.sleep(10**6)",
    "memory_bomb": "blob = []\nwhile True:\n    blob.append(bytearray(64 * 2**20))",
    "huge_output": "print('x' * 10_000_000)\nreturn a + b",
    "monkeypatches_numpy": "import numpy as np\nnp.allclose = lambda *args, **kw: True\n"
                           "return int(a + b)",
    "warning_on_stderr": "import warnings\nwarnings.warn('this is slow')\nreturn a + b",
}

# The cases that only replace the student's module tiny/ops.py: name -> its text.
OPS_TEXTS = {
    "syntax_error_in_module": "def mul(a, b)\n    return a * b\n",
    "sys_exit_at_import": "import sys\nsys.exit(3)\n",
    "os_exit_at_import": "import os\nos._exit(3)\n",
    # A correct module that begins as the official starter's do and uses xrange.
    "official_starter_imports": OFFICIAL_STARTER_HEADER
    + "\n\ndef mul(a, b):\n    return sum(a for _ in xrange(b))\n",
}


def _replace_add(body):
    return lambda folder, course: _set_add(folder, body)


def _replace_ops(text):
    return lambda folder, course: (folder / "tiny" / "ops.py").write_text(text)


# name -> damage(folder, course).
CASES = {
    **{f.__name__: f for f in (
        renamed, missing_notebook, invalid_json, empty_folder, deleted_locked_cell,
        duplicated_locked_cell, edited_locked_cell, missing_module, reads_hidden_tests,
        writes_outside)},
    **{name: _replace_add(body) for name, body in ADD_BODIES.items()},
    **{name: _replace_ops(text) for name, text in OPS_TEXTS.items()},
}


def build_corpus(course, submitted):
    """submitted/<case>/assignment1 for every case, plus two correct students."""
    for good in ("good_first", "good_last"):
        tinycourse.make_submission(course.root, submitted / good / "assignment1")
    for name, damage in CASES.items():
        folder = tinycourse.make_submission(course.root, submitted / name / "assignment1")
        damage(folder, course)
    return sorted(["good_first", "good_last", *CASES])
