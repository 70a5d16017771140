"""What check.py tells a student: the data found first, cells named as Jupyter names them,
whole messages, plain numbers, and what to do next (fast: no notebook is executed here; see
test_check_notebooks_slow.py for runs in a kernel)."""
import json
import os
import runpy
import textwrap

import pytest

import cs231n
from coursekit.course import current
from coursekit.release.build import render_student_file
from coursekit.release.notebooks import STUB_MESSAGE
from cs231n import data_utils, notebook_utils
from tests.release.conftest import run_student_python

COURSE = current()
QUESTIONS = [n.question for n in COURSE.notebooks]
NO_BYTECODE = {"PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture
def check(tmp_path):
    """The functions of the release's check.py, loaded from a folder of its own."""
    path = tmp_path / "check.py"
    path.write_text(render_student_file(COURSE, "check.py"))
    return runpy.run_path(str(path))


# --- the data -------------------------------------------------------------------------------------

def test_data_is_looked_up_where_the_notebooks_look(check, tmp_path, monkeypatch):
    monkeypatch.delenv(data_utils.CIFAR10_DIR_ENV, raising=False)
    assert check["CIFAR10_ENV"] == data_utils.CIFAR10_DIR_ENV
    assert check["CIFAR10_FILES"] == notebook_utils.CIFAR10_FILES
    folder, missing = check["find_cifar10"]()
    package = os.path.dirname(cs231n.__file__)
    assert os.path.relpath(folder, tmp_path / "cs231n") == os.path.relpath(
        data_utils.DEFAULT_CIFAR10_DIR, package)
    assert missing == notebook_utils.CIFAR10_FILES


def test_data_named_by_the_variable_is_found(check, synthetic_cifar_dir, monkeypatch):
    monkeypatch.setenv(data_utils.CIFAR10_DIR_ENV, synthetic_cifar_dir)
    assert check["find_cifar10"]() == (synthetic_cifar_dir, [])


def test_only_notebooks_that_load_data_wait_for_it(check, tmp_path):
    def notebook(*sources):
        path = tmp_path / f"nb{len(sources)}.ipynb"
        cells = [{"cell_type": "code", "source": s, "metadata": {}, "outputs": []}
                 for s in sources]
        path.write_text(json.dumps({"cells": cells}))
        return str(path)

    assert check["loads_data"](notebook("x = 1", "from cs231n.data_utils import load_CIFAR10"))
    assert not check["loads_data"](notebook("def triple(x):\n    return 3 * x\n"))
    for name in COURSE.notebook_files:
        assert check["loads_data"](str(COURSE.release_dir / name)), name


def test_without_data_the_notebooks_are_skipped_and_it_is_said_once(release_copy, tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    env = dict(NO_BYTECODE, CS231N_CIFAR10_DIR=str(empty))
    result = run_student_python(release_copy, "check.py", "--json", "check.json", env=env)
    report = json.loads((release_copy / "check.json").read_text())
    assert result.returncode == 1
    out = result.stdout
    assert out.count("CIFAR-10 not found") == 1, out
    words = " ".join(out.split())
    assert "get_datasets.sh" in words and f"CS231N_CIFAR10_DIR is set to {empty}" in words
    assert "NameError" not in out and "Traceback" not in out
    assert {q: r["not_run"] for q, r in report["notebooks"].items()} == {
        q: "no data" for q in QUESTIONS}
    skipped = [line for line in out.splitlines()
               if line.startswith("  notebook not run: no CIFAR-10 data")]
    assert len(skipped) == len(QUESTIONS)
    # The module checks still ran: every student function is reported.
    assert len(report["modules"]) == len(COURSE.student_functions)
    assert report["data"]["missing"] == notebook_utils.CIFAR10_FILES


# --- messages -------------------------------------------------------------------------------------

def error(ename, evalue):
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}


def cell(count, source, outputs=(), **nbgrader):
    return {"cell_type": "code", "execution_count": count, "source": source,
            "outputs": list(outputs), "metadata": {"nbgrader": nbgrader} if nbgrader else {}}


def executed_notebook():
    """A notebook as nbclient leaves it: the solution cell In [2] raised the release stub,
    so the test In [3] misses its name; In [4] passes; the last test is hidden-only."""
    stub = f"# YOUR CODE HERE\nraise NotImplementedError({STUB_MESSAGE!r})"
    return {"cells": [
        {"cell_type": "markdown", "source": "# Title", "metadata": {}},
        cell(1, "import numpy as np"),
        cell(2, "# Pick the best scale.\n" + stub, [error("NotImplementedError", STUB_MESSAGE)],
             solution=True, grade_id="pick_solution"),
        cell(3, "assert best > 0", [error("NameError", "name 'best' is not defined")],
             grade=True, grade_id="pick_test"),
        cell(4, "assert 1 + 1 == 2", grade=True, grade_id="sum_test"),
        cell(5, "# hidden tests only", grade=True, grade_id="hidden_test"),
    ]}


def test_results_name_test_cells_by_grade_id_and_execution_count(check):
    results, first = check["notebook_results"](executed_notebook())
    by_id = {r["cell"]: r for r in results}
    assert [r["cell"] for r in results] == ["pick_test", "sum_test", "hidden_test"]
    assert by_id["pick_test"]["execution_count"] == 3 and by_id["pick_test"]["status"] == "fail"
    assert "name 'best' is not defined" in by_id["pick_test"]["message"]
    assert "In [2] above failed" in by_id["pick_test"]["message"]  # the cause, named
    assert by_id["sum_test"]["status"] == "pass" and by_id["hidden_test"]["status"] == "hidden"
    assert first["execution_count"] == 2 and first["start"] == "# Pick the best scale."
    assert first["message"] == f"NotImplementedError: {STUB_MESSAGE}"


def test_a_bare_not_implemented_error_says_what_to_do(check):
    nb = executed_notebook()
    nb["cells"][2]["outputs"] = [error("NotImplementedError", "")]
    _, first = check["notebook_results"](nb)
    assert first["message"].startswith("NotImplementedError (no message)")
    assert "replace" in first["message"] and "with your code" in first["message"]


def test_cells_after_a_crash_are_reported_not_run_with_the_reason(check):
    nb = executed_notebook()
    for c in nb["cells"][3:]:
        c["execution_count"], c["outputs"] = None, []
    results, _ = check["notebook_results"](nb, crash="the kernel died")
    pick = results[0]
    assert pick["status"] == "not run"
    assert "the notebook stopped at In [3]" in pick["message"]
    assert "the kernel died" in pick["message"]


def report_text(check, capsys, notebooks, modules=()):
    questions = list(notebooks)
    summary, _ = check["summarize"](questions, list(modules), notebooks)
    check["print_report"](questions, list(modules), notebooks, summary)
    return capsys.readouterr().out


def test_report_wraps_long_messages_whole_and_says_what_to_do(check, capsys):
    long_hint = " ".join(f"word{i}" for i in range(80))  # far longer than a line
    nb = executed_notebook()
    nb["cells"][3]["outputs"] = [error("AssertionError", long_hint)]
    results, first = check["notebook_results"](nb)
    out = report_text(check, capsys, {"q1": dict(cells=results, first_error=first)})
    width = check["WIDTH"]
    assert max(len(line) for line in out.splitlines()) <= width
    assert long_hint in " ".join(out.split())  # every word, in order
    assert "..." not in out
    assert "test cell pick_test, In [3]: AssertionError: word0" in out
    assert "first error: In [2]" in out
    words = " ".join(out.split())
    assert "next: open knn.ipynb and fix In [2]" in words
    assert "Kernel > Restart & Run All" in words


def test_in_n_and_commands_are_never_split_across_lines(check):
    wrap = check["wrap"]
    text = ("x " * 45) + "see In [12] and run `python check.py q1 --modules` " + ("y " * 40)
    out = wrap("  next: ", text)
    assert "In [12]" in out and "`python check.py q1 --modules`" in out
    assert " ".join(out.split()) == " ".join(("  next: " + text).split())


def test_a_very_long_message_says_where_the_rest_is(check):
    text = "\n".join(f"line {i}" for i in range(30))
    out = check["wrap"]("  [FAIL] ", text)
    assert "line 0" in out and "line 29" not in out
    assert "more line(s): see the cell's output in the notebook" in out


def test_a_stub_function_names_its_file_and_todo(check):
    message = ("KNearestNeighbor.predict_labels in cs231n/classifiers/k_nearest_neighbor.py is "
               "not implemented yet: use the ith row of dists (see the TODO above)")
    own, todo = check["_not_done"]("KNearestNeighbor.predict_labels", message)
    assert own == "not implemented yet (cs231n/classifiers/k_nearest_neighbor.py)"
    assert todo == ("KNearestNeighbor.predict_labels in cs231n/classifiers/k_nearest_neighbor.py"
                    " (its TODO: use the ith row of dists)")
    needs, _ = check["_not_done"]("Other.method", message)
    assert needs.startswith("needs KNearestNeighbor.predict_labels first")


WRONG_KNN = textwrap.dedent('''
    import numpy as np


    class KNearestNeighbor:
        def train(self, X, y):
            self.y_train = y

        def predict_labels(self, dists, k=1):
            return np.zeros(dists.shape[0])  # floats, and wrong

        def compute_distances_two_loops(self, X):
            return np.zeros((X.shape[0], 1))

        compute_distances_one_loop = compute_distances_no_loops = compute_distances_two_loops
''')


def test_module_check_messages_print_plain_numbers(release_copy):
    (release_copy / "cs231n" / "classifiers" / "k_nearest_neighbor.py").write_text(WRONG_KNN)
    result = run_student_python(release_copy, "check.py", "q1", "--modules", env=NO_BYTECODE)
    assert result.returncode == 1
    assert "predict_labels(k=1) gave [0.0, 0.0], expected [3, 1]" in result.stdout
    assert "np.float64" not in result.stdout and "np.int64" not in result.stdout
    words = " ".join(result.stdout.split())
    assert "next: fix KNearestNeighbor.compute_distances_two_loops" in words


def test_plain_turns_numpy_values_into_python_numbers(check):
    import numpy as np

    assert check["plain"]([np.float64(3.0), np.int64(1)]) == [3.0, 1]
    assert repr(check["plain"](np.array([[1.5, 2.0]]))) == "[[1.5, 2.0]]"
    assert check["plain"](np.float32(0.5)) == 0.5 and type(check["plain"](np.int64(2))) is int


@pytest.mark.parametrize("ename, blamed", [("KeyError", True), ("NameError", True),
                                           ("AssertionError", False)])
def test_a_test_failing_after_a_failed_cell_names_that_cell_unless_it_is_its_verdict(
        check, ename, blamed):
    nb = executed_notebook()
    nb["cells"][3]["outputs"] = [error(ename, "0")]
    results, _ = check["notebook_results"](nb)
    assert ("In [2] above failed" in results[0]["message"]) == blamed
