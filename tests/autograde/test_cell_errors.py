"""The messages that say which of a student's cells raised, and why a test failed."""
import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from coursekit.autograde.pipeline import _cell_message, cell_errors


def error(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def cell(source, outputs, **nbgrader):
    c = new_code_cell(source)
    c.outputs = outputs
    if nbgrader:
        c.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": False,
                                  "schema_version": 3, **nbgrader}
    return c


def test_student_cells_are_named_with_their_error_and_tests_by_error_name_only(tmp_path):
    nb = new_notebook(cells=[
        cell("import os", []),
        cell("from cs231n.features import *",
             [error("ModuleNotFoundError", "No module named 'cs231n.features'")]),
        cell("while True: pass", [error("KeyboardInterrupt", ""),
                                  error("CellTimeoutError", "No reply from kernel")],
             solution=True, grade_id="knn_best_k_solution"),
        cell("assert best_k == 10", [error("AssertionError", "expected 0.282 (hidden)")],
             grade=True, grade_id="knn_best_k", points=3),
        cell("blob = [bytearray(2**30) for _ in range(99)]", [error("MemoryError", "")],
             grade=True, solution=True, grade_id="answer_cell", points=1),
    ])
    path = tmp_path / "knn.ipynb"
    nbformat.write(nb, str(path))
    tests, others = cell_errors(path, timeout=120)
    assert tests == {"knn_best_k": "AssertionError"}
    assert others == [
        "cell 2: ModuleNotFoundError: No module named 'cs231n.features'",
        "knn_best_k_solution: CellTimeoutError: No reply from kernel (stopped at the grader's "
        "time limit of 120 s per cell)",
        "answer_cell: MemoryError (over the grader's memory limit)",
    ]
    assert "0.282" not in " ".join([*tests.values(), *others])


def test_a_failed_test_message_carries_its_error_name():
    graded = {"status": "graded"}
    failed = {"kind": "test", "score": 0, "max_score": 3}
    assert _cell_message(failed, graded, "NameError") == "test failed (NameError)"
    assert _cell_message(failed, graded) == "test failed"
    assert _cell_message({**failed, "score": 3}, graded, "NameError") == ""
    assert _cell_message(failed, {"status": "missing"}, "NameError") == "missing notebook"


def test_a_notebook_that_was_not_graded_has_no_cell_errors(tmp_path):
    assert cell_errors(tmp_path / "absent.ipynb", timeout=120) == ({}, [])
