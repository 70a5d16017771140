"""The feedback pages as a browser shows them, offline: headless Chromium renders the pages of
the tiny course after grading and after `make grades` (report.export with feedback), and the
text a student sees holds no markup, no raw LaTeX, no hidden test, and the states the grading
recorded (to be graded, graded by hand, the grader's comment).

Needs Chromium (Debian: apt-get install chromium; .ci/run installs it); slow (grades a class).
"""
import html.parser
import re
import shutil
import subprocess

import pytest
import tinycourse
from hidden_source import hidden_test_lines
from nbgrader.api import Gradebook
from tinycourse import tiny_settings

from coursekit.autograde import batch, report

pytestmark = pytest.mark.slow

FORMULA_ANSWER = ("Because $a + b = b + a$ for all numbers, so\n\n"
                  "$$\\frac{a + b}{2} = \\frac{b + a}{2}$$\n\nholds too.")
COMMENT = "Good start; say why it holds for floats too."
# Chromium without the network: every host name fails to resolve (the pages must need none).
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9"]
RAW_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")
RAW_LATEX = re.compile(r"\$[^$\n]+\$|\\(frac|cdot|sum|begin)\b")


def chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("Chromium is not installed: apt-get install -y chromium (the CI script "
                    ".ci/run installs it when missing)")
    return exe


def browse(tmp_path, *args):
    """Run headless Chromium offline with `args`; its stdout."""
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    proc = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", *OFFLINE, *args],
        capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


class VisibleText(html.parser.HTMLParser):
    """The text of a DOM outside <script>, <style>, <head> (what a reader sees), and the tags."""

    SKIP = {"script", "style", "head", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.tags, self.skipping = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in self.SKIP:
            self.skipping.append(tag)

    def handle_endtag(self, tag):
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def visible(dom):
    parser = VisibleText()
    parser.feed(dom)
    return " ".join(" ".join(parser.parts).split()), parser.tags


def rendered(tmp_path, page):
    """(visible text, tag names) of `page` as Chromium built its DOM, offline."""
    return visible(browse(tmp_path, "--dump-dom", page.as_uri()))


@pytest.fixture(scope="module")
def graded(tiny_course):
    """ann: a formula in her free-text answer, left to be graded; bob: his choice answer
    overridden by the instructor, his free-text answer graded with a comment (then
    `make grades`)."""
    course = tiny_settings(tiny_course)
    submitted = tiny_course / "submitted"
    tinycourse.make_submission(tiny_course, submitted / "ann" / "assignment1",
                               iq1=FORMULA_ANSWER)
    tinycourse.make_submission(tiny_course, submitted / "bob" / "assignment1", iq3="1",
                               iq1="Addition does not care about order.")
    batch.grade_all(course, batch.find_submissions(course), jobs=1, progress=False)
    before = course.result_path("bob").read_text()
    tinycourse.set_manual_score(course.db_url, "bob", 1)
    with Gradebook(course.db_url) as gb:
        gb.find_grade("iq3_answer", "adder", "assignment1", "bob").manual_score = 1
        gb.find_comment("iq1_answer", "adder", "assignment1", "bob").manual_comment = COMMENT
        gb.db.commit()
    report.export(course, feedback=True)
    return course, before


def page(course, student, name):
    return course.feedback_dir / student / "assignment1" / name


def test_the_checks_below_can_fail(tmp_path):
    """Raw tags and raw LaTeX shown as text are found by the same scan."""
    text, _ = visible("<body><p>&lt;b&gt;x&lt;/b&gt; and $\\frac{1}{2}$</p></body>")
    assert RAW_TAG.search(text) and RAW_LATEX.search(text)


def test_a_pending_answer_reads_to_be_graded_and_its_formulas_render_offline(graded, tmp_path):
    course, _ = graded
    text, tags = rendered(tmp_path, page(course, "ann", "adder.html"))
    assert "Your written answer to be graded" in text
    assert "Score: 4 / 5 (1 point still to be graded by hand)" in text
    assert not re.search(r"Your written answer\s+0(\.0)? / 1", text)
    assert "math" in tags and "mfrac" in tags               # MathML, built by no script
    assert "script" not in tags
    assert not RAW_TAG.search(text), RAW_TAG.search(text)
    assert not RAW_LATEX.search(text), RAW_LATEX.search(text)
    assert "for all numbers" in text and "holds too" in text


@pytest.mark.parametrize("student", ["ann", "bob"])
@pytest.mark.parametrize("name", ["index.html", "adder.html", "ops.html"])
def test_no_markup_latex_or_hidden_test_is_visible(graded, tmp_path, student, name):
    course, _ = graded
    text, _ = rendered(tmp_path, page(course, student, name))
    assert text, "the page shows nothing"
    assert not RAW_TAG.search(text), RAW_TAG.search(text)
    assert not RAW_LATEX.search(text), RAW_LATEX.search(text)
    hidden = hidden_test_lines(course.source_dir, min_length=15)
    assert [ln for ln in hidden if ln in text] == []
    assert tinycourse.HIDDEN_MARK not in text and tinycourse.HIDDEN_VALUE not in text


def test_the_instructors_score_and_comment_show_on_both_pages(graded, tmp_path):
    course, before = graded
    assert "your answer: ['1']" in before              # the automatic message, before
    index, _ = rendered(tmp_path, page(course, "bob", "index.html"))
    assert "adder:iq3_answer 1 1 graded by hand ops:" in index, index
    assert "your answer: ['1']" not in index
    assert f"Grader's comment: {COMMENT}" in index
    notebook, _ = rendered(tmp_path, page(course, "bob", "adder.html"))
    assert "Your choice 1 / 1 graded by hand" in notebook
    assert f"Grader's comment: {COMMENT}" in notebook
    assert "your answer: ['1']" not in notebook


def test_notebooks_keep_the_course_order_after_make_grades(graded, tmp_path):
    course, _ = graded
    text, _ = rendered(tmp_path, page(course, "bob", "index.html"))
    positions = [text.index(f"{name}.ipynb") for name in course.notebooks]
    assert positions == sorted(positions)


def test_screenshots_of_a_feedback_page_and_the_summary(graded, tmp_path):
    course, _ = graded
    shots = {}
    for name, target in (("feedback", page(course, "ann", "adder.html")),
                         ("summary", course.summary_png)):
        shot = tmp_path / f"{name}.png"
        browse(tmp_path, f"--screenshot={shot}", "--window-size=1100,1400",
               "--hide-scrollbars", target.as_uri())
        shots[name] = shot
    # Look at these by hand when the pages change: the kept copies are in tmp_path.
    for shot in shots.values():
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, shot
    summary = course.summary_md.read_text()
    assert "still to be graded by hand: 1 (1 point in all)" in summary


# --- every number agrees: grades.csv, summary.md and every feedback page ----------------------

def _number(text):
    return float(text) if text not in ("", "to be graded") else None


def _index_rows(html_text):
    """(item, score or None when to be graded, max) of an index page's table."""
    rows = re.findall(r"<tr[^>]*><td>([^<]+)</td><td>([^<]*)</td><td>([^<]*)</td>", html_text)
    return [(name, _number(score), float(top)) for name, score, top in rows]


def _score_line(html_text):
    """(score, max, points to be graded) from a page's 'Score: a / b (n ... to be graded ...)'."""
    text, _ = visible(html_text)
    found = re.search(r"Score: ([\d.]+) / ([\d.]+)(?: \(([\d.]+) points? [^)]*to be graded)?",
                      text)
    assert found, text[:300]
    return float(found[1]), float(found[2]), float(found[3] or 0)


def test_grades_csv_summary_and_every_page_agree_on_every_number(graded):
    course, _ = graded
    maxima, by_student = report.read_grades_csv(course.grades_csv)
    assert course.grades_csv.read_text().splitlines()[1].startswith("(max points),")
    rows = list(by_student.values())
    items = [h for h in maxima if ":" in h]
    summary = course.summary_md.read_text()
    for student in ("ann", "bob"):
        row = by_student[student]
        pending = [i for i in items if row[i] == ""]
        assert pending == (["adder:iq1_answer"] if student == "ann" else []), pending
        # grades.csv with itself: the total is the sum of the scored items, the max the maxima.
        assert float(row["total"]) == sum(float(row[i]) for i in items if row[i] != "")
        assert float(row["max_total"]) == sum(float(maxima[i]) for i in items)
        assert float(row["manual_pending"]) == sum(float(maxima[i]) for i in pending)
        # The index: the same total, max and pending points, and the same score per item.
        index = page(course, student, "index.html").read_text()
        assert _score_line(index) == (float(row["total"]), float(row["max_total"]),
                                      float(row["manual_pending"]))
        index_rows = _index_rows(index)
        assert sum(s for _, s, _ in index_rows if s is not None) == float(row["total"])
        assert sum(m for _, _, m in index_rows) == float(row["max_total"])
        for name, score, top in index_rows:
            if name in items:
                assert (score, top) == (_number(row[name]), float(maxima[name])), name
        # Each notebook page: the items of that notebook in grades.csv, no more, no less.
        for notebook in ("adder", "ops"):
            columns = [i for i in items if i.startswith(f"{notebook}:")]
            expected = (sum(float(row[i]) for i in columns if row[i] != ""),
                        sum(float(maxima[i]) for i in columns),
                        sum(float(maxima[i]) for i in columns if row[i] == ""))
            assert _score_line(page(course, student, f"{notebook}.html").read_text()) == \
                expected, (student, notebook)
    # summary.md: the mean total, and per item its max, the mean of the graded, the pending share.
    totals = [float(r["total"]) for r in rows]
    assert f"Mean {sum(totals) / len(totals):.2f}" in summary
    for item in items:
        graded_scores = [float(r[item]) for r in rows if r[item] != ""]
        share = round(100 * sum(r[item] == "" for r in rows) / len(rows))
        line = next(li for li in summary.splitlines() if li.startswith(f"| {item} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert float(cells[1]) == float(maxima[item]), line
        assert float(cells[2]) == pytest.approx(sum(graded_scores) / len(graded_scores),
                                                abs=0.005), line
        assert cells[4] == f"{share}%", line
