"""Step 5, feedback: per-student HTML that never shows hidden tests or expected values.

nbgrader's own feedback renders the autograded notebook, where the hidden tests are back
in the test cells and a failed hidden assert prints its line (and numpy's message prints
the expected array) in the traceback. `HideHiddenTests` runs before rendering: it cuts the
hidden region out of each test cell, and replaces every error of such a cell by its
exception name, keeping the message only when the failing line is a visible one. Outputs
printed by hidden code are dropped too. Then every output is cut to size and cleaned of
anything a browser would run (`nbgrade.TruncateOutput`, `nbgrade.SanitizeOutputs`: no
`<script>`, no `on*=` handler, no `javascript:` link, no 30 MB image), also for notebooks graded
before those steps existed. The notebook pages use our template (templates/feedback_notebook:
scores from the student's Result, so an answer still to be graded by hand reads "to be graded"
there as on the index, an instructor's score reads "graded by hand", the grader's comments
show; no script, formulas as MathML, formulas.py); `index.html` lists the notebooks in
question order and every graded item with its score, message and comment, escaped.
"""
import functools
import re
from pathlib import Path

import jinja2
import nbformat
from nbconvert.exporters import TemplateExporter
from nbconvert.filters import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor
from traitlets import Unicode
from traitlets.config import Config

from coursekit.autograde.formulas import MathMLHTMLExporter
from coursekit.autograde.judge import hidden_lines
from coursekit.autograde.nbgrade import SanitizeOutputs, TruncateOutput
from coursekit.autograde.result import ANSWER, INLINE, MANUAL, TEST

HIDDEN_NOTE = "# (hidden tests run here; they are not shown)"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# IPython >= 8: "Cell In[12], line 5"; older: "<ipython-input-12-...> in <module>" + "---> 5".
CELL_LINE = re.compile(r"Cell In\s*\[\d*\],\s*line (\d+)")
PRINTS = re.compile(r"\b(print|display|sys\.stdout|sys\.stderr|write)\b")
# The index page's template; autoescaped, so every value it shows is text, never markup.
_INDEX = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
    trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined).get_template("feedback_index.html")


def strip_hidden(source, begin="BEGIN HIDDEN TESTS", end="END HIDDEN TESTS"):
    """The cell's source with each hidden region (judge.hidden_lines) replaced by one note at
    the indentation of its begin marker; a stray end marker goes too."""
    hidden, out = hidden_lines(source, begin, end), []
    for number, line in enumerate(source.split("\n"), start=1):
        if begin in line:
            out.append(line[: len(line) - len(line.lstrip())] + HIDDEN_NOTE)
        elif number not in hidden and end not in line:
            out.append(line)
    return "\n".join(out)


def failing_line(traceback_lines):
    """Line number (in the cell) of the innermost frame of the cell, or None."""
    found = None
    for entry in traceback_lines or []:
        for match in CELL_LINE.finditer(ANSI.sub("", entry)):
            found = int(match.group(1))
    return found


class HideHiddenTests(NbGraderPreprocessor):
    """Cuts hidden tests and everything they could reveal out of a graded notebook."""

    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end_test_delimeter = Unicode("END HIDDEN TESTS").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        hidden = hidden_lines(cell.source, self.begin_test_delimeter, self.end_test_delimeter)
        if not hidden:
            return cell, resources
        hidden_code = "\n".join(cell.source.split("\n")[i - 1] for i in sorted(hidden))
        hidden_prints = bool(PRINTS.search(hidden_code))
        last_line = len(cell.source.rstrip("\n").split("\n"))
        outputs = []
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                line = failing_line(output.get("traceback"))
                visible = line is not None and line not in hidden
                message = output.get("evalue", "") if visible else "a hidden test failed"
                where = f" (line {line} of this cell)" if visible else ""
                outputs.append(nbformat.v4.new_output(
                    "error", ename=output.get("ename", "Error"), evalue=message,
                    traceback=[f"{output.get('ename', 'Error')}: {message}{where}"]))
            elif kind == "stream" and not hidden_prints:
                outputs.append(output)
            elif kind == "execute_result" and last_line not in hidden:
                outputs.append(output)
            elif kind == "display_data" and not hidden_prints:
                outputs.append(output)
        cell.outputs = outputs
        cell.source = strip_hidden(cell.source, self.begin_test_delimeter,
                                   self.end_test_delimeter)
        return cell, resources


class CachedHighlight(Highlight2HTML):
    """nbconvert's code highlighting, remembered per process: most of a page's code is the
    assignment's given code, the same on every student's page, and pygments was a third of a
    page's time. The HTML depends only on the source, the language and the cell's
    magics_language (the formatter's options are the exporter's, the same for every page)."""

    CACHED = 4096
    _html = {}

    def __call__(self, source, language=None, metadata=None):
        key = (source, language or self.pygments_lexer,
               (metadata or {}).get("magics_language"))
        html = self._html.get(key)
        if html is None:
            html = super().__call__(source, language, metadata)
            if len(self._html) >= self.CACHED:
                self._html.clear()
            self._html[key] = html
        return html


class FeedbackExporter(MathMLHTMLExporter):
    """The notebook pages' exporter: nbconvert's HTMLExporter without its last pass, which
    parses the whole page again with BeautifulSoup to add alt text to images and tabindex to
    JupyterLab's cells (our template is classic: it writes the alt text itself and has no such
    cells); that pass was over half of a page's time."""

    def from_notebook_node(self, nb, resources=None, **kw):
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name"))
        self.register_filter("highlight_code", self.filters.get(
            "highlight_code", CachedHighlight(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)


@functools.cache
def _exporter():
    """One exporter per process, built on first use (its templates compile once): it keeps
    nothing of one page for the next (the preprocessors read each page's resources)."""
    templates = Path(__file__).parent / "templates"
    c = Config()
    c.HTMLExporter.template_name = "feedback_notebook"
    c.HTMLExporter.extra_template_basedirs = [str(templates)]
    c.Exporter.default_preprocessors = []
    exporter = FeedbackExporter(config=c)
    exporter.register_preprocessor(HideHiddenTests(), enabled=True)
    exporter.register_preprocessor(TruncateOutput(), enabled=True)
    exporter.register_preprocessor(SanitizeOutputs(), enabled=True)
    exporter.register_preprocessor(GetGrades(), enabled=True)   # the grader's comments
    exporter.register_preprocessor(CSSHTMLHeaderPreprocessor(), enabled=True)
    return exporter


# How a graded cell is named on its notebook's page, by Item.kind.
CELL_LABELS = {TEST: "Test cell", ANSWER: "Your code", MANUAL: "Your written answer",
               INLINE: "Your choice"}


def item_state(item):
    """pending (waits for a grader or a review), byhand (the instructor's score), pass, fail:
    the CSS class of the item on both pages."""
    if item.pending or item.held:
        return "pending"
    if item.by_hand:
        return "byhand"
    return "pass" if item.score >= item.max_score else "fail"


def score_text(item, of_max=False):
    """The score as a student reads it: never 0 for an answer that is not graded yet."""
    if item.pending:
        return "to be graded"
    if item.held:
        return "held for review"
    return f"{item.score:g} / {item.max_score:g}" if of_max else f"{item.score:g}"


def page_context(result, notebook):
    """What a notebook's page shows of `result`: its items by cell and its totals."""
    cells, score, max_score, pending = {}, 0.0, 0.0, 0.0
    for item in result.items if result else []:
        if item.notebook != notebook:
            continue
        cell = item.id.split(":")[-1]
        cells[cell] = {"anchor": f"cell-{cell}", "label": CELL_LABELS.get(item.kind, "Graded cell"),
                       "score": score_text(item, of_max=True), "state": item_state(item),
                       "message": item.message}
        score += item.score
        max_score += item.max_score
        pending += item.max_score if item.pending else 0.0
    if not cells:
        return {"notebook": notebook, "cells": {}, "score": "", "max_score": "", "pending": ""}
    return {"notebook": notebook, "cells": cells, "score": f"{score:g}",
            "max_score": f"{max_score:g}", "pending": f"{pending:g}" if pending else ""}


def notebook_feedback_html(course, student, notebook, graded_notebook_path, result=None):
    """HTML feedback of one autograded notebook: its cells, with the scores of `result` (a
    Result; None: no scores) and the grader's comments (from the gradebook)."""
    nb = nbformat.read(str(graded_notebook_path), as_version=4)
    resources = {"unique_key": notebook, "coursekit": page_context(result, notebook),
                 "nbgrader": {"student": student, "assignment": course.assignment,
                              "notebook": notebook, "db_url": course.db_url}}
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    return body


def write_feedback(course, student, graded_dir, out_dir, result):
    """Write out_dir/index.html (from `result`, a Result) and one page per graded notebook.
    Returns the file names."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = {}
    for name in course.notebooks:
        path = Path(graded_dir) / f"{name}.ipynb"
        if result.notebooks.get(name, {}).get("status") == "graded" and path.exists():
            page = f"{name}.html"
            (out_dir / page).write_text(
                notebook_feedback_html(course, student, name, path, result), encoding="utf-8")
            pages[name] = page
    (out_dir / "index.html").write_text(index_html(result, pages, course.notebooks),
                                        encoding="utf-8")
    return ["index.html", *pages.values()]


def index_html(result, pages, order=()):
    """One page of a Result: total, the notebooks in question order (`order`: the course's),
    then every graded item with its score, message and the grader's comment."""
    notebooks = [{"name": name, "page": pages.get(name), "status": info["status"],
                  "message": info.get("message"),
                  "comments": [{"cell": c, "text": t} for c, t in info.get("comments", [])]}
                 for name, info in result.notebooks_in_order(order)]
    rows = [{"cls": item_state(item), "id": item.id, "score": score_text(item),
             "max": f"{item.max_score:g}", "message": item.message, "comment": item.comment}
            for item in result.items]
    pending = result.manual_pending
    return _INDEX.render(
        student=result.student, assignment=result.assignment,
        score=f"{result.score:g}", max_score=f"{result.max_score:g}",
        pending=f"{pending:g}" if pending else "", notices=result.notices or [],
        notebooks=notebooks, rows=rows)
