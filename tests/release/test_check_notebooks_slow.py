"""check.py running a notebook in a kernel (slow: `make test-release`): what it reports of the
cells that ran, as the student sees them in Jupyter."""
import json
import shutil

import nbformat
import pytest

from tests.release.conftest import run_student_python

pytestmark = pytest.mark.slow

NUMBERS_TEST = ("import numpy as np\n"
                "values = [np.float64(3.0), np.float64(1.0)]\n"
                "assert values == [2.0], values\n")


def test_check_reports_in_n_the_stub_its_consequence_and_plain_numbers(tiny_release, tmp_path):
    student = tmp_path / "student"
    shutil.copytree(tiny_release, student)
    nb = nbformat.read(student / "tiny.ipynb", as_version=4)
    meta = {"grade": True, "solution": False, "locked": True, "points": 1,
            "grade_id": "tiny_numbers", "schema_version": 3}
    nb.cells.append(nbformat.v4.new_code_cell(NUMBERS_TEST, metadata={"nbgrader": meta}))
    nbformat.write(nb, student / "tiny.ipynb")
    no_data = tmp_path / "no-data"
    no_data.mkdir()
    # tiny.ipynb loads no CIFAR-10: it runs although the data is missing.
    result = run_student_python(student, "check.py", "--notebooks", "--json", "check.json",
                                env={"PYTHONDONTWRITEBYTECODE": "1",
                                     "CS231N_CIFAR10_DIR": str(no_data)})
    report = json.loads((student / "check.json").read_text())["notebooks"]["q1"]
    assert result.returncode == 1
    cells = {c["cell"]: c for c in report["cells"]}
    # The untouched solution cell runs first (In [1]) and says what to do.
    first = report["first_error"]
    assert first["execution_count"] == 1
    assert first["message"].startswith("NotImplementedError: fill in this cell")
    # The test below it misses the name that cell was to define, and says so.
    assert cells["tiny_test"]["execution_count"] == 2
    assert "NameError" in cells["tiny_test"]["message"]
    assert "In [1] above failed" in cells["tiny_test"]["message"]
    # numpy values print as plain numbers in the kernel's error messages.
    assert cells["tiny_numbers"]["execution_count"] == 3
    assert cells["tiny_numbers"]["message"] == "AssertionError: [3.0, 1.0]"
    out = result.stdout
    assert "test cell tiny_numbers, In [3]: AssertionError: [3.0, 1.0]" in out
    assert "np.float64" not in out and "CIFAR-10 not found" not in out
