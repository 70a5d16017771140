"""Step 5, feedback: per-student HTML that never shows hidden tests or expected values.

nbgrader's own feedback renders the autograded notebook, where the hidden tests are back
in the test cells and a failed hidden assert prints its line (and numpy's message prints
the expected array) in the traceback. `HideHiddenTests` runs before rendering: it cuts the
hidden region out of each test cell, and replaces every error of such a cell by its
exception name, keeping the message only when the failing line is a visible one. Outputs
printed by hidden code are dropped too. Then every output is cut to size and cleaned of
anything a browser would run (`nbgrade.TruncateOutput`, `nbgrade.SanitizeOutputs`: no
`<script>`, no `on*=` handler, no `javascript:` link, no 30 MB image), also for notebooks graded
before those steps existed. The notebook pages use nbgrader's feedback template; `index.html`
lists every graded item with its score and message, escaped.
"""
import re
from pathlib import Path

import jinja2
import nbformat
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor
from traitlets import Unicode
from traitlets.config import Config

from coursekit.autograde.judge import hidden_lines
from coursekit.autograde.nbgrade import SanitizeOutputs, TruncateOutput

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


def _exporter():
    import nbgrader

    base = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    c = Config()
    c.HTMLExporter.template_name = "feedback"
    c.HTMLExporter.extra_template_basedirs = [str(base / "templates")]
    c.HTMLExporter.extra_template_paths = [
        str(base / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
    c.Exporter.default_preprocessors = []
    exporter = HTMLExporter(config=c)
    exporter.register_preprocessor(HideHiddenTests(), enabled=True)
    exporter.register_preprocessor(TruncateOutput(), enabled=True)
    exporter.register_preprocessor(SanitizeOutputs(), enabled=True)
    exporter.register_preprocessor(GetGrades(), enabled=True)
    exporter.register_preprocessor(CSSHTMLHeaderPreprocessor(), enabled=True)
    return exporter


def notebook_feedback_html(course, student, notebook, graded_notebook_path):
    """HTML feedback of one autograded notebook (scores from the gradebook)."""
    nb = nbformat.read(str(graded_notebook_path), as_version=4)
    resources = {"unique_key": notebook, "nbgrader": {
        "student": student, "assignment": course.assignment, "notebook": notebook,
        "db_url": course.db_url}}
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
            (out_dir / page).write_text(notebook_feedback_html(course, student, name, path),
                                        encoding="utf-8")
            pages[name] = page
    (out_dir / "index.html").write_text(index_html(result, pages), encoding="utf-8")
    return ["index.html", *pages.values()]


def index_html(result, pages):
    """One page of a Result: total, then every graded item with its score and message."""
    notebooks = [{"name": name, "page": pages.get(name), "status": info["status"],
                  "message": info.get("message")} for name, info in result.notebooks.items()]
    rows = []
    for item in result.items:
        held = item.held  # a saved model: reviews.py
        cls = ("pending" if item.pending or held else
               "pass" if item.score >= item.max_score else "fail")
        score = ("to be graded" if item.pending else
                 "held for review" if held else f"{item.score:g}")
        rows.append({"cls": cls, "cells": [item.id, score, f"{item.max_score:g}",
                                           item.message]})
    pending = result.manual_pending
    return _INDEX.render(
        student=result.student, assignment=result.assignment,
        score=f"{result.score:g}", max_score=f"{result.max_score:g}",
        pending=f"{pending:g}" if pending else "", notices=result.notices or [],
        notebooks=notebooks, rows=rows)
