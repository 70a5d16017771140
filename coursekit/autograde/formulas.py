"""The formulas of the feedback pages as MathML, written when the page is made.

nbconvert leaves `$...$` in the HTML for MathJax, loaded from a CDN: offline (an exam room, a
student reading an archived page) the formulas stay raw LaTeX. Browsers render MathML
themselves (Chromium since 109, Firefox, Safari), so a page with MathML needs no script and no
network. latex2mathml (pure Python, pinned in requirements.txt) converts; what it cannot
convert, or converts into anything but MathML elements, is shown as its LaTeX source in a
<code> element: readable, never half-rendered, never markup a browser would run.
"""
import html
import re
import xml.etree.ElementTree as ET

from jinja2 import pass_context
from latex2mathml.converter import convert
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

MATHML_NS = "{http://www.w3.org/1998/Math/MathML}"
# The MathML elements and attributes latex2mathml writes; anything else (a `<script>` a
# student typed in `\text{...}`, which latex2mathml copies as is; the link of `\href`, the CSS
# of `\style`) sends the formula back to its source.
ELEMENTS = {
    "math", "mrow", "mi", "mn", "mo", "mtext", "ms", "mspace", "mfrac", "msqrt", "mroot",
    "msub", "msup", "msubsup", "munder", "mover", "munderover", "mtable", "mtr", "mtd",
    "mstyle", "mpadded", "mphantom", "menclose", "merror", "mfenced", "semantics",
    "annotation", "mmultiscripts", "mprescripts", "none", "mlabeledtr"}
ATTRIBUTES = {
    "xmlns", "display", "displaystyle", "mathvariant", "stretchy", "fence", "separator",
    "lspace", "rspace", "width", "height", "depth", "linethickness", "columnalign",
    "columnspacing", "rowspacing", "columnlines", "rowlines", "frame", "framespacing",
    "notation", "accent", "accentunder", "movablelimits", "minsize", "maxsize", "symmetric",
    "scriptlevel", "mathsize", "mathcolor", "mathbackground", "open", "close", "separators",
    "rowalign", "equalrows", "equalcolumns", "largeop", "form", "encoding", "align",
    "columnwidth"}
DELIMITED = re.compile(r"^\s*(\$\$?)(.*?)\1\s*$", re.S)


def source_html(latex):
    """A formula kept as its LaTeX source: text in a <code>, never rendered."""
    return f'<code class="latex-source">{html.escape(latex)}</code>'


def _only_mathml(mathml):
    try:
        root = ET.fromstring(mathml)
    except ET.ParseError:
        return False
    for element in root.iter():
        if not element.tag.startswith(MATHML_NS) or \
                element.tag.removeprefix(MATHML_NS) not in ELEMENTS:
            return False
        if any(a not in ATTRIBUTES for a in element.attrib):
            return False
    return True


def to_mathml(latex, display=False):
    """MathML of one formula (`display`: a block of its own), else its source (source_html)."""
    latex = latex.strip()
    if not latex:
        return ""
    try:
        mathml = convert(latex, display="block" if display else "inline")
    except Exception:   # latex2mathml raises its own errors, and a few plain ones
        return source_html(latex)
    return mathml if _only_mathml(mathml) else source_html(latex)


def latex_output_to_mathml(text):
    """A `text/latex` output (`$$...$$`, `$...$` or a bare formula) as MathML."""
    match = DELIMITED.match(text)
    if match:
        return to_mathml(match.group(2), display=match.group(1) == "$$")
    return to_mathml(text, display=True)


class MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer, with formulas as MathML instead of MathJax input."""

    def block_math(self, body):
        return to_mathml(body, display=True)

    def inline_math(self, body):
        return to_mathml(body)

    def latex_environment(self, name, body):
        return to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)


class MathMLHTMLExporter(HTMLExporter):
    """An HTMLExporter whose Markdown (cells and `text/markdown` outputs) and `text/latex`
    outputs carry MathML; its templates load no MathJax."""

    @pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        renderer = MathMLRenderer(
            escape=False, attachments=cell.get("attachments", {}),
            embed_images=self.embed_images, path=path,
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links, **self.lexer_options)
        return MarkdownWithMath(renderer=renderer).render(source)

    def default_filters(self):
        yield from super().default_filters()
        yield ("markdown2html", self.markdown2html)
        yield ("latex2mathml", latex_output_to_mathml)
