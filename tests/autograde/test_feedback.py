"""feedback: hidden tests and what they could reveal never reach the student's HTML."""
import nbformat
from nbformat.v4 import new_code_cell, new_output

from coursekit.autograde.feedback import HideHiddenTests, failing_line, index_html
from coursekit.autograde.result import Result

SOURCE = "\n".join([
    "assert f(1) == 2",                   # line 1, visible
    "print('visible check done')",       # line 2
    "### BEGIN HIDDEN TESTS",            # line 3
    "expected = 31.4159",                # line 4
    "assert abs(f(10) - expected) < 1e-6, f'expected {expected}'",  # line 5
    "### END HIDDEN TESTS",              # line 6
])


def error(line, evalue):
    tb = ["\x1b[0;31m---------------------------------------------------------------\x1b[0m",
          f"\x1b[0;32mCell In[7], line {line}\x1b[0m",
          "\x1b[1;32m      4\x1b[0m expected = 31.4159",
          f"\x1b[0;31mAssertionError\x1b[0m: {evalue}"]
    return new_output("error", ename="AssertionError", evalue=evalue, traceback=tb)


def run(cell):
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb, _ = HideHiddenTests().preprocess(nb, {})
    return nb.cells[0]


def rendered(cell):
    return cell.source + "".join(str(o) for o in cell.outputs)


def test_failing_line_reads_the_cell_frame():
    assert failing_line(error(5, "x").traceback) == 5
    assert failing_line(["no frame here"]) is None


def test_hidden_region_is_cut_from_the_source():
    cell = run(new_code_cell(SOURCE))
    assert "31.4159" not in cell.source and "BEGIN HIDDEN" not in cell.source
    assert "assert f(1) == 2" in cell.source
    assert "hidden tests run here" in cell.source


def test_failed_hidden_assert_shows_neither_line_nor_expected_value():
    cell = run(new_code_cell(SOURCE, outputs=[error(5, "expected 31.4159")]))
    text = rendered(cell)
    assert "31.4159" not in text
    assert "a hidden test failed" in text
    assert cell.outputs[0].ename == "AssertionError"


def test_failed_visible_assert_keeps_its_message_but_not_the_traceback_context():
    cell = run(new_code_cell(SOURCE, outputs=[error(1, "f(1) should be 2")]))
    text = rendered(cell)
    assert "f(1) should be 2" in text and "line 1" in text
    assert "31.4159" not in text  # the context lines of the traceback are gone


def test_error_without_a_cell_frame_counts_as_hidden():
    out = new_output("error", ename="ValueError", evalue="expected 31.4159", traceback=[])
    text = rendered(run(new_code_cell(SOURCE, outputs=[out])))
    assert "31.4159" not in text and "ValueError" in text


def test_prints_are_dropped_only_when_hidden_code_prints():
    quiet = run(new_code_cell(SOURCE, outputs=[new_output("stream", name="stdout",
                                                          text="visible check done\n")]))
    assert quiet.outputs and quiet.outputs[0].text == "visible check done\n"
    loud_source = SOURCE.replace("expected = 31.4159", "expected = 31.4159; print(expected)")
    loud = run(new_code_cell(loud_source, outputs=[new_output("stream", name="stdout",
                                                              text="31.4159\n")]))
    assert "31.4159" not in rendered(loud)


def test_cells_without_hidden_tests_are_untouched():
    source = "assert g() == 3"
    out = error(1, "g() returned 4")
    cell = run(new_code_cell(source, outputs=[out]))
    assert cell.source == source and cell.outputs[0].traceback == out.traceback


def test_index_lists_items_scores_and_pending_manual_points():
    result = {"student": "ann", "assignment": "a1", "score": 3, "max_score": 5,
              "manual_pending": 1, "notices": ["knn.ipynb: renamed"],
              "notebooks": {"knn": {"status": "graded", "message": ""}},
              "items": [{"id": "knn:test_a", "score": 3, "max_score": 4, "message": "test failed"},
                        {"id": "knn:iq1", "score": 0, "max_score": 1, "pending": True}]}
    page = index_html(Result.from_json(result), {"knn": "knn.html"})
    assert "Score: 3 / 5" in page and "knn:test_a" in page and "to be graded" in page
    assert "href='knn.html'" in page and "renamed" in page


def test_index_escapes_what_a_submission_controls():
    attack = "<script>alert(1)</script>"
    quote = "x' onmouseover='alert(2)"
    result = {"student": "ann", "assignment": "a1", "score": 0, "max_score": 1,
              "notices": [f"{attack}.ipynb: renamed"],
              "notebooks": {"knn": {"status": "graded", "message": quote}},
              "items": [{"id": "knn:test_a", "score": 0, "max_score": 1, "message": attack}]}
    page = index_html(Result.from_json(result), {"knn": "knn.html"})
    assert "<script>" not in page and "onmouseover='" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2
    assert "x&#39; onmouseover=&#39;alert(2)" in page
