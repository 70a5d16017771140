"""Outputs and answers are cut to size and cleaned of scripts: in the graded notebook
(nbgrade.TruncateOutput, nbgrade.SanitizeOutputs) and in the feedback page."""
import json

import nbformat
import pytest
from hostile_outputs import (
    MARK,
    MARKDOWN_ANSWER,
    SMALL_PNG,
    live_payloads,
    outputs,
)
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output
from tinycourse import tiny_settings

from coursekit.autograde import feedback
from coursekit.autograde.grading_run import load_nbgrader_config
from coursekit.autograde.nbgrade import BLANK_IMAGE, SanitizeOutputs, TruncateOutput
from coursekit.course import current

REPO_ROOT = current().root

# nbgrader's gradebook API warns about its own sessions when a submission is added.
pytestmark = pytest.mark.filterwarnings("ignore:.*not in session")

# Markdown that must come through untouched: a quote, `<` and `&` in code, math, a web link.
PLAIN_MARKDOWN = "> a quote\n\n`if a < b && c > d:`\n\n$x<y$ and [docs](https://cs231n.github.io)"
ERROR = new_output("error", ename="ValueError", evalue=f"<script>alert('{MARK}err')</script>",
                   traceback=[f"<img src=x onerror=alert('{MARK}tb')>"])


def hostile_cells():
    return [new_markdown_cell(MARKDOWN_ANSWER), new_markdown_cell(PLAIN_MARKDOWN),
            new_code_cell("show()", outputs=outputs()), new_code_cell("fail()", outputs=[ERROR])]


def cleaned(cells, **truncate):
    """The cells after both steps, registered as nbgrader registers its preprocessors."""
    from nbconvert.exporters import NotebookExporter
    from traitlets.config import Config

    exporter = NotebookExporter(config=Config({"TruncateOutput": truncate}))
    exporter.register_preprocessor(TruncateOutput)
    exporter.register_preprocessor(SanitizeOutputs)
    text, _ = exporter.from_notebook_node(nbformat.v4.new_notebook(cells=cells))
    return nbformat.reads(text, as_version=4)


def test_large_outputs_of_every_kind_are_cut_or_replaced_by_a_note():
    nb = cleaned(hostile_cells())
    shown = nb.cells[2].outputs
    assert len(nbformat.writes(nb)) < 500_000
    assert all(len(json.dumps(o)) < 25_000 for o in shown)
    image_note = next(o.data["text/plain"] for o in shown if "image/png output" in
                      o.get("data", {}).get("text/plain", ""))
    assert image_note == ("[image/png output of 30.0 MB removed: over the grader's limit of "
                          "2.0 MB per output]")
    html = [o.data["text/html"] for o in shown if "text/html" in o.get("data", {})]
    assert any(h.startswith("<p>yyy") and "characters cut by the grader" in h for h in html)


def test_scripts_handlers_and_javascript_links_are_cleaned_from_outputs_and_answers():
    nb = cleaned(hostile_cells())
    # What a template inserts as HTML: markdown cells and the data of display outputs.
    rendered_as_html = json.dumps([nb.cells[0].source] + [
        o.get("data") for o in nb.cells[2].outputs if o.output_type == "display_data"])
    for raw in ("<script", "<img src=x onerror", "javascript:alert", "<svg"):
        assert raw not in rendered_as_html, raw
    kinds = {k for o in nb.cells[2].outputs for k in o.get("data", {})}
    assert kinds <= {"text/plain", "text/html", "text/markdown", "image/png"}
    # What is harmless stays: formatting, an ordinary image and its size, plain markdown.
    assert any("<b>kept-bold</b>" in o.data.get("text/html", "") for o in nb.cells[2].outputs)
    image = next(o for o in nb.cells[2].outputs if o.get("data", {}).get("image/png") == SMALL_PNG)
    assert image.metadata == {"image/png": {"width": 10, "height": 10}}
    assert nb.cells[1].source == PLAIN_MARKDOWN
    assert "&lt;script&gt;" in nb.cells[0].source and "https://example.com" in nb.cells[0].source
    # Streams and errors are left as they are: every template shows them as escaped text.
    assert nb.cells[3].outputs[0].evalue == ERROR.evalue


@pytest.mark.parametrize("source, kept", [
    ("**Your answer:**\n\n<!-- BEGIN SOLUTION -->\n1, 3\n<!-- END SOLUTION -->", True),
    (f"<!--><script>alert('{MARK}c1')</script>", False),
    (f"<!-- x --!><img src=x onerror=alert('{MARK}c2')> -->", False),
    (f"[a](java\tscript:alert('{MARK}c3'))", True),      # not a link: plain text
    (f"[a](&#106;avascript:alert('{MARK}c5'))", False),
    (f"<JavaScript:alert('{MARK}c4')>", False),
    ("see <https://cs231n.github.io> and <mailto:staff@example.com>", True),
])
def test_markdown_stays_as_written_only_when_it_can_render_nothing_live(source, kept):
    cell = cleaned([new_markdown_cell(source)]).cells[0]
    assert (cell.source == source) is kept
    from nbconvert.exporters import HTMLExporter

    page, _ = HTMLExporter(template_name="classic").from_notebook_node(
        nbformat.v4.new_notebook(cells=[cell]))
    assert live_payloads(page) == []


def test_an_output_over_the_notebook_budget_keeps_its_stream_and_errors_stay():
    loud = new_code_cell("spam()", outputs=[new_output("stream", name="stdout", text="x" * 500),
                                            new_output("stream", name="stderr", text="warn"),
                                            ERROR])
    graded = new_code_cell("check()", metadata={"nbgrader": {"grade": True, "grade_id": "t",
                                                             "points": 1}},
                           outputs=[new_output("execute_result", data={"text/plain": "0.5"},
                                               execution_count=1)])
    nb = cleaned([loud, graded], max_notebook_chars=600)
    first, second, error = nb.cells[0].outputs
    assert first.text == "x" * 500
    # nbgrader scores stderr output as a failure: the note replacing it stays on stderr.
    assert second.name == "stderr" and "over the grader's limit" in second.text
    assert error.output_type == "error"
    # A graded cell's result (partial credit) is never replaced.
    assert nb.cells[1].outputs[0].data["text/plain"] == "0.5"


def test_markdown_attachments_over_the_image_limit_are_dropped():
    cell = new_markdown_cell("![](attachment:big.png) ![](attachment:ok.png)")
    cell.attachments = {"big.png": {"image/png": "A" * (3 * 2**20)},
                        "ok.png": {"image/png": SMALL_PNG}}
    nb = cleaned([cell])
    assert nb.cells[0].attachments["ok.png"] == {"image/png": SMALL_PNG}
    assert nb.cells[0].attachments["big.png"] == BLANK_IMAGE   # the cell still renders


def test_a_markdown_cell_whose_attachment_is_missing_still_renders(tmp_path):
    from nbconvert.exporters import HTMLExporter

    nb = cleaned([new_markdown_cell("copied from elsewhere: ![](attachment:lost.png)")])
    page, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    assert "copied from elsewhere" in page


@pytest.fixture(scope="module")
def gradebook_student(tiny_course):
    """The tiny course with a submission of `eve` in its gradebook (no grading run)."""
    from nbgrader.api import Gradebook

    course = tiny_settings(tiny_course)
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_student("eve")
        gb.add_submission("assignment1", "eve")
    return course


def hostile_graded_notebook(course, path):
    """The master adder notebook with the hostile cells appended, as nbgrader left it
    (no cleaning: the feedback must also clean notebooks graded before it existed)."""
    nb = nbformat.read(str(course.source_dir / "adder.ipynb"), as_version=4)
    nb.cells += hostile_cells()
    nbformat.write(nb, str(path))
    return path


def test_feedback_page_runs_and_loads_none_of_the_payloads(gradebook_student, tmp_path):
    course = gradebook_student
    page = feedback.notebook_feedback_html(
        course, "eve", "adder", hostile_graded_notebook(course, tmp_path / "adder.ipynb"))
    assert live_payloads(page) == []
    assert len(page) < 2_000_000
    assert "kept-bold" in page and SMALL_PNG in page
    assert "image/png output of 30.0 MB removed" in page
    assert "over the grader&#39;s limit" in page or "over the grader's limit" in page


def test_the_page_check_finds_the_payloads_when_nothing_is_cleaned(tmp_path):
    """The check of the test above is able to fail: nbconvert's own rendering, uncleaned."""
    from nbconvert.exporters import HTMLExporter

    nb = nbformat.v4.new_notebook(cells=hostile_cells())
    page, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    found = " ".join(live_payloads(page))
    for what in ("onerror", "javascript:", "<iframe>", f"{MARK}script", f"{MARK}md",
                 f"{MARK}js", "evil.example"):
        assert what in found, what


def test_nbgrader_generate_feedback_and_formgrader_clean_too():
    cfg = load_nbgrader_config(REPO_ROOT / "nbgrader_config.py")
    steps = cfg.GenerateFeedback.preprocessors
    assert steps.index("coursekit.autograde.nbgrade.SanitizeOutputs") > steps.index(
        "coursekit.autograde.feedback.HideHiddenTests")
    assert "coursekit.autograde.nbgrade.TruncateOutput" in steps
    assert cfg.HTMLExporter.sanitize_html is True
