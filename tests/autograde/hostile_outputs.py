"""Outputs and answers a hostile student can put in a notebook, and the check that a page runs
or loads none of them.

DISPLAYS: (data, metadata) of display outputs carrying scripts, handlers, javascript: links,
remote URLs, an isolated iframe, SVG, JavaScript and mermaid; BIG_* the over-size ones (a 30 MB
base64 PNG, 20 MB of HTML). `outputs()` builds them as nbformat outputs (fast tests);
KERNEL_CODE displays them from a grading kernel (the slow batch). MARKDOWN_ANSWER is an answer
cell with raw HTML. `live_payloads(page)` lists what a browser would run or load from a page.
"""
import re
from html.parser import HTMLParser

import nbformat

MARK = "XSS-"
# A real 1x1 PNG: an ordinary image must survive the cleaning.
SMALL_PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
             "awAAAABJRU5ErkJggg==")
DISPLAYS = [
    ({"text/html": f"<script>alert('{MARK}script')</script><b>kept-bold</b>"}, {}),
    ({"text/html": f"<img src=x onerror=\"alert('{MARK}onerror')\">"}, {}),
    ({"text/html": f"<a href=\"javascript:alert('{MARK}href')\">link</a>"}, {}),
    ({"text/html": f"<a href=\"JaVa&#x09;ScRiPt:alert('{MARK}href2')\">link</a>"}, {}),
    ({"image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg'><script>"
                       f"alert('{MARK}svg')</script></svg>"}, {}),
    ({"application/javascript": f"alert('{MARK}js')"}, {}),
    ({"text/vnd.mermaid": f"</pre><script>alert('{MARK}mermaid')</script>"}, {}),
    ({"text/markdown": f"[x](javascript:alert('{MARK}mdout'))"}, {}),
    ({"text/html": "<b>isolated</b>"}, {"text/html": {"isolated": True}}),
    ({"image/png": SMALL_PNG, "text/plain": "<Figure size 1x1>"},
     {"image/png": {"width": 10, "height": 10},
      "filenames": {"image/png": "http://evil.example/track.png"}}),
]
BIG_IMAGE_CHARS = 30 * 2**20
BIG_HTML_CHARS = 20 * 2**20
STREAM = f"<script>alert('{MARK}stream')</script>\n"
MARKDOWN_ANSWER = (f"My answer <script>alert('{MARK}md')</script> "
                   f"<img src=x onerror=alert('{MARK}mdimg')> "
                   f"[click](javascript:alert('{MARK}mdlink')) [fine](https://example.com)")
KERNEL_CODE = f"""
from IPython.display import publish_display_data
for data, metadata in {DISPLAYS!r}:
    publish_display_data(data, metadata=metadata)
publish_display_data({{"image/png": "A" * {BIG_IMAGE_CHARS}}})
publish_display_data({{"text/html": "<p>" + "y" * {BIG_HTML_CHARS} + "</p>"}})
print({STREAM!r}, end="")
"""


def outputs():
    """The outputs KERNEL_CODE displays, as nbformat outputs."""
    made = [nbformat.v4.new_output("display_data", data=dict(data), metadata=dict(meta))
            for data, meta in DISPLAYS]
    made.append(nbformat.v4.new_output("display_data", data={"image/png": "A" * BIG_IMAGE_CHARS}))
    made.append(nbformat.v4.new_output(
        "display_data", data={"text/html": "<p>" + "y" * BIG_HTML_CHARS + "</p>"}))
    made.append(nbformat.v4.new_output("stream", name="stdout", text=STREAM))
    return made


class _Scan(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems, self.script = [], False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            url = re.sub(r"[\x00-\x20]", "", value or "").lower()
            if name.lower().startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            elif name.lower() in ("href", "src", "action", "formaction", "data", "srcdoc") and (
                    url.startswith(("javascript:", "vbscript:", "data:text")) or "evil" in url):
                self.problems.append(f"<{tag} {name}={value[:60]!r}>")
        if tag == "iframe":
            self.problems.append("<iframe>")
        self.script = tag == "script"

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.script = False

    def handle_endtag(self, tag):
        self.script = False

    def handle_data(self, data):
        if self.script:
            self.problems += [f"<script>{m}" for m in re.findall(MARK + r"\w+", data)]


def live_payloads(page):
    """What of a page a browser would run or load: script content, handlers, javascript:
    URLs, remote URLs of the payloads, iframes. [] for a clean page."""
    scan = _Scan()
    scan.feed(page)
    scan.close()
    return scan.problems
