"""feedback: hidden tests and what they could reveal never reach the student's HTML."""
import json
import re

import nbformat
from nbformat.v4 import new_code_cell, new_output

from coursekit.autograde.feedback import (
    HideHiddenTests,
    failing_line,
    index_html,
    notebook_feedback_html,
    page_context,
)
from coursekit.autograde.formulas import MathMLHTMLExporter, latex_output_to_mathml, to_mathml
from coursekit.autograde.result import INLINE, MANUAL, TEST, Item, Result

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


def test_index_shows_the_instructors_score_and_comments_not_the_automatic_message():
    item = Item("knn:knn_inline_q2", INLINE, 1, 1, message="your answer: 2 (not correct)")
    item.set_by_hand(True)
    item.comment = "<b>accepted</b>: option 2 is defensible"
    result = Result("ann", "a1", items=[item, Item("knn:iq1", MANUAL, 0, 2, pending=True)],
                    notebooks={"knn": {"status": "graded",
                                       "comments": [["knn_code", "use broadcasting"]]}})
    page = index_html(result, {})
    row = next(ln for ln in page.splitlines() if "knn:knn_inline_q2" in ln)
    assert "graded by hand" in row and "not correct" not in row and 'class="byhand"' in row
    assert "Grader's comment: &lt;b&gt;accepted&lt;/b&gt;: option 2 is defensible" in row
    assert "Grader's comment on knn_code: use broadcasting" in page
    pending = next(ln for ln in page.splitlines() if "knn:iq1" in ln)
    assert "to be graded" in pending and 'class="pending"' in pending


def test_index_lists_the_notebooks_in_the_course_order():
    result = Result("ann", "a1", notebooks={n: {"status": "graded"} for n in ("b", "a", "c")})
    page = index_html(Result.from_json(json.loads(result.dumps())), {}, ("c", "a", "b"))
    assert page.index("c.ipynb") < page.index("a.ipynb") < page.index("b.ipynb")


def test_a_notebook_page_counts_its_own_items_and_shows_pending_as_to_be_graded():
    result = Result("ann", "a1", items=[
        Item("adder:test_add", TEST, 2, 2), Item("adder:iq1_answer", MANUAL, 0, 1, pending=True),
        Item("adder:iq3_answer", INLINE, 0, 1, message="your answer: 1 (not correct)"),
        Item("ops:test_mul", TEST, 3, 3), Item("inline:adder.iq2", INLINE, 1, 1)])
    page = page_context(result, "adder")
    assert (page["score"], page["max_score"], page["pending"]) == ("2", "4", "1")
    assert page["cells"]["iq1_answer"]["score"] == "to be graded"
    assert page["cells"]["iq1_answer"]["state"] == "pending"
    assert (page["cells"]["iq3_answer"]["score"], page["cells"]["iq3_answer"]["state"]) == (
        "0 / 1", "fail")
    assert set(page["cells"]) == {"test_add", "iq1_answer", "iq3_answer"}


def test_formulas_become_mathml_and_what_cannot_stays_readable_source():
    assert "<mfrac>" in to_mathml(r"\frac{\partial L}{\partial W}")
    assert 'display="block"' in to_mathml("x^2", display=True)
    # latex2mathml copies \text{} as is: markup there sends the formula back to its source.
    script = to_mathml(r"\text{<script>alert(1)</script>}")
    assert "<script>" not in script and script.startswith('<code class="latex-source">')
    assert "&lt;script&gt;" in script
    for link_or_css in (r"\href{javascript:alert(1)}{x}", r"\style{position:fixed}{x}"):
        assert to_mathml(link_or_css).startswith('<code class="latex-source">'), link_or_css
    assert latex_output_to_mathml("$$a+b$$").startswith("<math")


def test_markdown_formulas_render_as_mathml_and_code_stays_code():
    exporter = MathMLHTMLExporter(template_name="classic")
    html, _ = exporter.from_notebook_node(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(
            "Loss $L = \\frac{1}{N}\\sum_i L_i$ and\n\n$$\\nabla_W L$$\n\nnot `$HOME`")]))
    body = html[html.index("<body"):]
    assert body.count("<math") == 2 and "\\frac" not in body and "$L" not in body
    assert "<code>$HOME</code>" in body


def test_a_notebook_page_reads_pending_from_the_result_not_the_gradebooks_zero(tiny_course,
                                                                               tmp_path):
    from nbgrader.api import Gradebook
    from tinycourse import tiny_settings

    course = tiny_settings(tiny_course)
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_student("fay")
        gb.add_submission("assignment1", "fay")
    nb = nbformat.read(str(course.source_dir / "adder.ipynb"), as_version=4)
    nbformat.write(nb, str(tmp_path / "adder.ipynb"))
    result = Result("fay", "assignment1", items=[
        Item("adder:test_add", TEST, 2, 2), Item("adder:test_grading_mode", TEST, 0, 1),
        Item("adder:iq1_answer", MANUAL, 0, 1, pending=True),
        Item("adder:iq3_answer", INLINE, 1, 1)])
    page = notebook_feedback_html(course, "fay", "adder", tmp_path / "adder.ipynb", result)
    bar = re.search(r'id="cell-iq1_answer">.*?</div>', page, re.S).group(0)
    assert "to be graded" in bar and "0 / 1" not in bar and "0.0" not in bar
    assert "Score: 3 / 5" in page and "1 point still to be graded by hand" in page
    assert "<script" not in page                              # MathJax and its CDN neither
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)


def test_a_notebook_page_escapes_code_and_embeds_images_with_alt_text(tiny_course, tmp_path):
    """The page writes code cells through pygments alone (no sanitizer pass) and images
    itself: markup in any code cell's source is text, and an image output is embedded with a
    text alternative, never loaded from a path the kernel named."""
    from tinycourse import tiny_settings

    course = tiny_settings(tiny_course)
    nb = nbformat.read(str(course.source_dir / "adder.ipynb"), as_version=4)
    attack = "</div></pre><script>alert(1)</script><img src=x onerror=alert(2)>"
    graded = next(c for c in nb.cells if c.cell_type == "code"
                  and c.metadata.get("nbgrader", {}).get("solution"))
    graded.source = f"x = 1  # {attack}"
    plain = new_code_cell(f"s = '{attack}'")
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJ"
           "RU5ErkJggg==")
    plain.outputs = [new_output("display_data", data={"image/png": png},
                                metadata={"filenames": {"image/png": "/etc/passwd"},
                                          "image/png": {"width": 7}})]
    nb.cells.append(plain)
    nbformat.write(nb, str(tmp_path / "adder.ipynb"))
    page = notebook_feedback_html(course, "fay", "adder", tmp_path / "adder.ipynb",
                                  Result("fay", "assignment1"))
    body = page[page.index("<body"):]
    assert "<script" not in body
    assert body.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2
    images = re.findall(r"<img\b[^>]*>", body)
    assert len(images) == 1 and "/etc/passwd" not in body
    assert 'alt="' in images[0] and f'src="data:image/png;base64,{png}"' in images[0]
    assert 'width="7"' in images[0]


def test_remembered_highlighting_is_nbconverts_for_every_source_language_and_magic(
        monkeypatch):
    from nbconvert.filters import Highlight2HTML

    from coursekit.autograde.feedback import CachedHighlight

    monkeypatch.setattr(CachedHighlight, "_html", {})
    cases = [("x = 1  # <b>not bold</b>", None, None), ("x = 1  # <b>not bold</b>", "python", None),
             ("%%bash\necho hi", None, {"magics_language": "bash"}), ("", None, None),
             ("def f(a):\n    return a @ a.T", "ipython3", {})]
    for lexer in ("ipython3", "python"):
        cached, plain = CachedHighlight(pygments_lexer=lexer), Highlight2HTML(pygments_lexer=lexer)
        for source, language, metadata in cases * 2:  # the second time from memory
            assert cached(source, language, metadata) == plain(source, language, metadata)
    # Different lexers and magics are different entries, the repeats are not.
    assert len(CachedHighlight._html) == len({(s, lang or lexer, (m or {}).get("magics_language"))
                                             for lexer in ("ipython3", "python")
                                             for s, lang, m in cases})


def test_remembered_highlighting_stays_within_its_bound(monkeypatch):
    from coursekit.autograde.feedback import CachedHighlight

    monkeypatch.setattr(CachedHighlight, "_html", {})
    monkeypatch.setattr(CachedHighlight, "CACHED", 3)
    highlight = CachedHighlight(pygments_lexer="python")
    for k in range(10):
        assert f"{k}" in highlight(f"x = {k}")
        assert len(CachedHighlight._html) <= 3
