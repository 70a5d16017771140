"""A tiny course in the repository's layout, for testing the release pipeline on its own.

One package with a solution region, one nbgrader master notebook with a solution cell, a test
cell with visible and hidden tests, and a manually graded answer cell whose answer line holds
the key in a solution region. Small enough to generate in a second, complete enough that every
kind of leak has something to leak.
"""
import os

import nbformat

from coursekit.course import Course

MODULE = '''"""Tiny arithmetic for the release tests."""

import numpy as np


def scaled_sum(x, scale):
    """Sum of x times scale.

    Inputs:
    - x: Array of shape (N,).
    - scale: A float.

    Returns:
    - total: A float.
    """
    total = None
    # TODO: compute the scaled sum of x and store it in `total`. No loops.
    ### BEGIN SOLUTION
    weighted_values = np.asarray(x, dtype=float) * scale
    total = float(weighted_values.sum())
    ### END SOLUTION
    return total


def given_mean(x):
    """The mean of x (given code, nothing to write)."""
    return float(np.mean(x))
'''

SOLUTION_CELL = '''from cs231n.mathops import scaled_sum

numbers = [1.0, 2.0, 3.0]
### BEGIN SOLUTION
best_scale_found = max([0.5, 2.0, 1.5])
### END SOLUTION
'''

TEST_CELL = '''assert best_scale_found > 0, "best_scale_found must be positive"
### BEGIN HIDDEN TESTS
assert abs(scaled_sum(numbers, best_scale_found) - 12.0) < 1e-12
### END HIDDEN TESTS
'''

ANSWER_CELL = '''**Your answer:**
### BEGIN SOLUTION
Your answer: 2, 3 (scaling by the largest factor maximises the sum)
### END SOLUTION
'''

# Lines a leak test injects: each one is secret and must be caught.
SECRETS = {
    "package_solution": "weighted_values = np.asarray(x, dtype=float) * scale",
    "notebook_solution": "best_scale_found = max([0.5, 2.0, 1.5])",
    "hidden_test": "assert abs(scaled_sum(numbers, best_scale_found) - 12.0) < 1e-12",
    "answer_key": "Your answer: 2, 3 (scaling by the largest factor maximises the sum)",
}


def _cell(kind, source, **nbgrader):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if nbgrader:
        meta = dict(schema_version=3, locked=False, solution=False, grade=False, task=False)
        meta.update(nbgrader)
        cell.metadata["nbgrader"] = meta
    return cell


def tiny_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        _cell("markdown", "# Tiny notebook\n\nRun every cell."),
        _cell("code", SOLUTION_CELL, solution=True, grade_id="tiny_solution"),
        _cell("code", TEST_CELL, grade=True, locked=True, points=2, grade_id="tiny_test"),
        _cell("markdown", ANSWER_CELL, solution=True, grade=True, points=1,
              grade_id="tiny_answer"),
    ]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"tiny-{i}"
    return nb


MANIFEST = """
[assignment]
name = "assignment1"
package = "cs231n"
student_modules = ["cs231n/mathops.py"]

[[notebooks]]
name = "tiny"
question = "q1"
title = "tiny"
"""


def write_tiny_course(root):
    """Write the tiny course under `root`; returns dict of its paths."""
    package = os.path.join(root, "cs231n")
    os.makedirs(os.path.join(package, "datasets"))
    os.makedirs(os.path.join(package, "saved"))
    with open(os.path.join(package, "__init__.py"), "w") as f:
        f.write("")
    with open(os.path.join(package, "mathops.py"), "w") as f:
        f.write(MODULE)
    with open(os.path.join(package, "datasets", "get_datasets.sh"), "w") as f:
        f.write("#!/bin/bash\necho tiny\n")
    with open(os.path.join(package, "saved", "model.npy"), "w") as f:
        f.write("a trained model of the master, never released\n")
    notebooks = os.path.join(root, "source", "assignment1")
    os.makedirs(notebooks)
    os.symlink(os.path.join("..", "..", "cs231n"), os.path.join(notebooks, "cs231n"))
    nbformat.write(tiny_notebook(), os.path.join(notebooks, "tiny.ipynb"))
    with open(os.path.join(root, "course.toml"), "w") as f:
        f.write(MANIFEST)
    tests = os.path.join(root, "tests", "hidden")
    os.makedirs(tests)
    with open(os.path.join(tests, "references.json"), "w") as f:
        f.write('{"scaled_sum": 12.000000000123456}\n')
    return dict(root=root, package=package, notebooks=notebooks, tests=os.path.join(root, "tests"))


def tiny_course_config(paths):
    """The course manifest of a tiny course written by write_tiny_course."""
    return Course.load(paths["root"])
