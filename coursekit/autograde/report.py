"""Step 6, report: grades.csv and the instructor summary, from the per-student JSON files.

`export` first refreshes the notebook items of every result from the gradebook, so scores
an instructor entered by hand in formgrader (free-text answers, corrected test cells)
flow into the JSON, grades.csv and the summary without regrading anything; the same way it
applies the instructor's reviews of held saved models (reviews.py, model_reviews.csv).

grades.csv: the header, then the row `(max points)` (each column's maximum), then one row per
student. Columns follow the course's question order (course.toml, then the master notebook's
cell order): notebook cells, module checks, saved models, inline questions, then the totals
per family, `manual_pending`, `total`, `max_total`. A free-text answer still to be graded by
hand is blank in its column and counts 0 in `total` until graded; its points are in
`manual_pending`. summary.md and summary.png show it as "to be graded", apart from 0.
"""
import csv
import io
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from coursekit.autograde import gradebook, locks, reviews, scratch
from coursekit.autograde.pipeline import atomic_write_text, manual_message
from coursekit.autograde.result import (
    ANSWER,
    ERROR,
    INLINE,
    INTERRUPTED,
    MANUAL,
    MODEL,
    MODULE,
    TEST,
    Result,
)

TOTAL_COLUMNS = ("notebooks", "modules", "models", "inline", "manual_pending", "total",
                 "max_total")


def load_results(course):
    """{student: Result} of every per-student JSON under autograded/ (unreadable ones left out).
    """
    results = {}
    for path in sorted(course.autograded_dir.glob(f"*/{course.assignment}.json")):
        try:
            result = Result.load(path)
        except (OSError, ValueError):
            continue
        results[result.student] = result
    return results


def refresh_from_gradebook(course, result, read=None):
    """Update the notebook items of `result` (a Result) with the gradebook's current scores,
    whether the instructor set them by hand, and the grader's comments. `read`: the student's
    gradebook.StudentGrades when the class was read at once (an export), else read here."""
    inline_cells = {i.id.split(":", 1)[-1] for i in result.items if i.kind == INLINE}
    if read is None:
        try:
            read = gradebook.student_grades(course, result.student)
        except Exception:  # no gradebook entry (e.g. a run that failed before nbgrader)
            return result
    grades, comments = read.notebook_grades(inline_cells), read.comments
    current = {f"{nb}:{g['name']}": g for nb, gs in grades.items() for g in gs}
    for item in result.items:
        g = current.get(item.id)
        if g is None:
            continue
        item.score = float(g["score"])
        item.kind = g["kind"]
        item.pending = bool(g["needs_manual_grade"]) and g["manual_score"] is None
        if g["kind"] == MANUAL:
            item.message = manual_message(g)
        item.set_by_hand(g["manual_score"] is not None)
    result.set_comments(comments)
    return result


FAMILIES = ("notebooks", "modules", "models", "inline")
_KIND_FAMILY = {TEST: "notebooks", ANSWER: "notebooks", MANUAL: "notebooks", INLINE: "inline",
                MODULE: "modules", MODEL: "models"}
# A column of grades.csv that only holds answers still to be graded by hand: blank, as a
# spreadsheet shows a grade not given yet (it counts 0 in `total`; its points are in
# `manual_pending`).
PENDING_CELL = ""
# The first row under the header: each column's maximum. No student id can be this
# (grading_run.STUDENT_ID_RULE: no spaces, no parentheses).
MAX_ROW = "(max points)"


def _family(item):
    """The total an item counts under: its kind's (an inline question is `inline` even when
    its id is the notebook's answer cell), else (a record without kinds) its column's prefix."""
    if item.kind in _KIND_FAMILY:
        return _KIND_FAMILY[item.kind]
    prefix = item.column.split(":", 1)[0]
    return {"module": "modules", "model": "models", "inline": "inline"}.get(prefix, "notebooks")


def column_families(results):
    """{column: family (FAMILIES)}; a column that is an inline question for any student counts
    under `inline` (without an inline scorer the same cell is a manual one)."""
    families = {}
    for result in results.values():
        for item in result.items:
            family = _family(item)
            if families.get(item.column) != "inline":
                families[item.column] = family
    return families


def columns_of(course, results):
    """Item columns in a stable order (the families in FAMILIES' order; notebook cells and
    inline questions by the course's notebook order, then the master notebook's cell order)
    with their maximum score."""
    per_student = {}
    for result in results.values():
        sums = {}
        for item in result.items:
            sums[item.column] = sums.get(item.column, 0.0) + item.max_score
        for col, value in sums.items():
            per_student[col] = max(per_student.get(col, 0.0), value)
    families = column_families(results)
    order = {name: i for i, name in enumerate(course.notebooks)}
    cell_order = {nb: gradebook.source_cell_order(course, nb) for nb in course.notebooks}
    first_seen = {}
    for result in results.values():
        for item in result.items:
            first_seen.setdefault(item.column, len(first_seen))

    def key(col):
        family = FAMILIES.index(families[col])
        if families[col] in ("modules", "models"):
            return (family, 0, 0, first_seen[col])
        nb, _, cell = col.removeprefix("inline:").partition(":")
        position = cell_order.get(nb, {}).get(cell, len(first_seen))
        return (family, order.get(nb, len(order)), position, first_seen[col])

    return [(col, per_student[col]) for col in sorted(per_student, key=key)]


def grades_rows(course, results):
    """(header, max row, student rows, columns) of grades.csv. A column whose items are all
    still to be graded by hand holds PENDING_CELL; totals count them 0."""
    columns = columns_of(course, results)
    families = column_families(results)
    header = ["student", *[c for c, _ in columns], *TOTAL_COLUMNS]
    max_total = sum(m for _, m in columns)
    fam_max = {f: sum(m for c, m in columns if families[c] == f) for f in FAMILIES}
    manual_max = {}
    for result in results.values():
        for item in result.items:
            if item.kind == MANUAL:
                manual_max[item.column] = dict(columns)[item.column]
    max_row = [MAX_ROW, *[_num(m) for _, m in columns], *[_num(fam_max[f]) for f in FAMILIES],
               _num(sum(manual_max.values())), _num(max_total), _num(max_total)]
    rows = []
    for student in sorted(results):
        result = results[student]
        scores, graded, pending = {}, set(), 0.0
        for item in result.items:
            scores[item.column] = scores.get(item.column, 0.0) + item.score
            if item.pending:
                pending += item.max_score
            else:
                graded.add(item.column)
        fams = {f: 0.0 for f in FAMILIES}
        for col, _ in columns:
            fams[families[col]] += scores.get(col, 0.0)
        total = sum(fams.values())
        cells = [PENDING_CELL if c in scores and c not in graded else _num(scores.get(c, 0.0))
                 for c, _ in columns]
        rows.append([student, *cells, *[_num(fams[f]) for f in FAMILIES],
                     _num(pending), _num(total), _num(max_total)])
    return header, max_row, rows, columns


def _num(x):
    """A score as written in grades.csv: whole numbers plain, others to 4 decimals (a partial
    module check is worth fractions of a point; a total must not lose them)."""
    if abs(x - round(x)) <= 1e-9:
        return str(int(round(x)))
    return f"{x:.4f}".rstrip("0").rstrip(".")


def write_grades_csv(course, results):
    """grades.csv: the header, the row of maximum points (MAX_ROW), one row per student."""
    header, max_row, rows, _ = grades_rows(course, results)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerow(max_row)
    writer.writerows(rows)
    atomic_write_text(course.grades_csv, buf.getvalue())
    return course.grades_csv


def read_grades_csv(path):
    """(maximum points {column: text}, {student: {column: text}}) of a grades.csv."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    maxima = next((r for r in rows if r["student"] == MAX_ROW), {})
    return maxima, {r["student"]: r for r in rows if r["student"] != MAX_ROW}


@dataclass(frozen=True)
class ItemStat:
    """One column over the students: its maximum, the mean score of those graded, and the
    shares of students with full marks and with the item still to be graded by hand."""

    column: str
    max_score: float
    mean: float | None      # None: nobody graded yet
    full_marks: float
    pending: float


def item_stats(course, results):
    """[ItemStat] in grades.csv's column order (pending answers are neither 0 nor full)."""
    header, _, rows, columns = grades_rows(course, results)
    stats = []
    for i, (col, maximum) in enumerate(columns, start=1):
        cells = [row[i] for row in rows]
        values = [float(v) for v in cells if v != PENDING_CELL]
        n = len(cells) or 1
        full = sum(1 for v in values if maximum > 0 and v >= maximum - 1e-9)
        stats.append(ItemStat(col, maximum, sum(values) / len(values) if values else None,
                              full / n, (len(cells) - len(values)) / n))
    return stats


_WARMING = []


def warm_up():
    """Import what the summary draws with (matplotlib, about 0.3 s) in a thread, once per
    process: a batch calls it when its grading leaves a core idle (the last students), so the
    export at its end does not wait for the import. `write_summary` waits for the thread."""
    if _WARMING or "matplotlib.pyplot" in sys.modules:
        return
    _WARMING.append(threading.Thread(target=_import_pyplot, name="coursekit-summary-warm-up",
                                     daemon=True))
    _WARMING[0].start()


def _import_pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _summary_margins(fig, labels, fontsize=7):
    """subplots_adjust of the summary figure: room left of the per-item axes for its widest
    label (measured with the figure's renderer), above it for the title and legend, below for
    the axis labels. Instead of fig.tight_layout(), which lays out and draws every label to
    measure it: a fifth of the export's time with some ninety items."""
    from matplotlib.font_manager import FontProperties

    width, height = fig.get_size_inches()
    renderer, prop = fig.canvas.get_renderer(), FontProperties(size=fontsize)
    label = max((renderer.get_text_width_height_descent(text, prop, ismath=False)[0]
                 for text in labels), default=0) / fig.dpi + 0.15
    left, right, between = 0.75, 0.25, label + 0.35     # inches
    axes = (width - left - right - between) / 2.3       # widths 1 : 1.3
    return {"left": left / width, "right": 1 - right / width, "wspace": between / (1.15 * axes),
            "top": 1 - 0.95 / height, "bottom": 0.6 / height}


def write_summary(course, results):
    """summary.md (per-item table) and summary.png (score histogram; per item, the shares of
    full marks, fewer points and answers still to be graded)."""
    for thread in _WARMING:
        thread.join()
    plt = _import_pyplot()

    header, _, rows, columns = grades_rows(course, results)
    stats = item_stats(course, results)
    totals = [float(r[header.index("total")]) for r in rows]
    waiting = [float(r[header.index("manual_pending")]) for r in rows]
    max_total = sum(m for _, m in columns)
    lines = [f"# {course.assignment}: grading summary", "",
             f"{len(rows)} students; total out of {_num(max_total)}.", ""]
    if totals:
        lines.append(f"Mean {sum(totals) / len(totals):.2f}, min {_num(min(totals))}, "
                     f"max {_num(max(totals))}.")
        lines.append("")
    if any(waiting):
        lines += [f"Students with answers still to be graded by hand: "
                  f"{sum(1 for w in waiting if w)} ({_num(sum(waiting))} "
                  f"{'point' if sum(waiting) == 1 else 'points'} in all); the "
                  "totals count them 0 until they are graded in formgrader (then make grades).",
                  ""]
    lines += ["| item | max | mean of graded | full marks | to be graded |",
              "|---|---:|---:|---:|---:|"]
    lines += [f"| {s.column} | {_num(s.max_score)} | "
              f"{'-' if s.mean is None else f'{s.mean:.2f}'} | {s.full_marks:.0%} | "
              f"{s.pending:.0%} |" for s in stats]
    lines += reviews.summary_lines(results)
    lines += similarity_lines(course.autograded_dir)
    out_md = course.summary_md
    atomic_write_text(out_md, "\n".join(lines) + "\n")

    width, height = 12, max(4, 0.22 * len(stats) + 1.5)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(width, height),
                                   gridspec_kw={"width_ratios": [1, 1.3]})
    fig.subplots_adjust(**_summary_margins(fig, [s.column for s in stats]))
    ax1.hist(totals, bins=min(20, max(5, len(totals))), range=(0, max(max_total, 1)),
             color="#4c72b0", edgecolor="white")
    ax1.set_xlabel(f"total score (out of {_num(max_total)})")
    ax1.set_ylabel("students")
    pending_students = sum(1 for w in waiting if w)
    ax1.set_title("Score histogram" + (f"\n({pending_students} with answers still to be "
                                        "graded, counted 0)" if pending_students else ""))
    ys = range(len(stats))
    full = [s.full_marks for s in stats]
    pending = [s.pending for s in stats]
    rest = [max(0.0, 1 - f - p) for f, p in zip(full, pending, strict=True)]
    ax2.barh(ys, full, color="#55a868", label="full marks")
    ax2.barh(ys, rest, left=full, color="#e8b4b0", label="fewer points")
    ax2.barh(ys, pending, left=[f + r for f, r in zip(full, rest, strict=True)],
             color="#f2c14e", hatch="//", edgecolor="#8a6d1f", label="to be graded by hand")
    ax2.set_yticks(list(ys), [s.column for s in stats], fontsize=7)
    ax2.set_ylim(max(len(stats), 1) - 0.5, -0.5)     # the first item on top, no empty rows
    ax2.set_xlim(0, 1)
    ax2.set_xlabel("share of students")
    ax2.set_title("Per item", pad=24)
    ax2.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8,
               frameon=False)
    out_png = course.summary_png
    tmp = out_png.with_name(".summary.png.tmp")
    fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    tmp.replace(out_png)
    return out_md, out_png


# The similarity report (coursekit similarity), for instructors: summary.md links it.
SIMILARITY_INDEX = "similarity/index.html"


def similarity_lines(autograded_dir):
    """The summary's link to the similarity report, when there is one."""
    if not (Path(autograded_dir) / SIMILARITY_INDEX).is_file():
        return []
    return ["", f"Similarity report (instructors only; evidence to review, not a verdict): "
            f"[{SIMILARITY_INDEX}]({SIMILARITY_INDEX})"]


def link_similarity(summary_md):
    """Add the link to an existing summary.md that lacks it (after `coursekit similarity`)."""
    summary_md = Path(summary_md)
    if not summary_md.is_file():
        return
    text = summary_md.read_text(encoding="utf-8")
    lines = similarity_lines(summary_md.parent)
    if lines and SIMILARITY_INDEX not in text:
        atomic_write_text(summary_md, text.rstrip("\n") + "\n" + "\n".join(lines) + "\n")


def _md(text):
    """Text a student controls (file names, error messages) as inert Markdown: no HTML, no
    table breaks, one line."""
    import html

    text = html.escape(" ".join(str(text).split()), quote=False)
    for ch in "\\`*_[]|#!":
        text = text.replace(ch, "\\" + ch)
    return text


def markdown_report(result):
    """A student's Result as Markdown (CI job summary): total, notices, one row per item.
    Ids are checked (course.check_student_id) or the course's own; the rest goes through _md."""
    lines = [f"## {result.assignment}: {result.student}", "",
             f"**Score: {_num(result.score)} / {_num(result.max_score)}**"]
    if result.manual_pending:
        lines[-1] += f" ({_num(result.manual_pending)} points of free-text answers " \
                     "are graded by hand later)"
    lines.append("")
    for note in result.notices:
        lines.append(f"- {_md(note)}")
    for name, info in result.notebooks.items():
        if info.get("status") != "graded" or info.get("message"):
            lines.append(f"- {name}.ipynb: {info.get('status')} {_md(info.get('message', ''))}")
    lines += ["", "| item | score | max | message |", "|---|---:|---:|---|"]
    for item in result.items:
        score = ("to be graded" if item.pending else "held for review" if item.held
                 else _num(item.score))
        message = _md(item.message) + (f" (grader: {_md(item.comment)})" if item.comment else "")
        lines.append(f"| {item.id} | {score} | {_num(item.max_score)} | {message} |")
    return "\n".join(lines) + "\n"


class OutputError(RuntimeError):
    """The output root cannot take the reports (the message says which file and what to do)."""


def check_output_files(course):
    """grades.csv, summary.md and summary.png must be files: a folder of that name (left by a
    run that graded a student called `grades.csv` before ids were checked) breaks every export."""
    for path in (course.grades_csv, course.summary_md, course.summary_png):
        if path.is_dir():
            raise OutputError(
                f"coursekit autograde: {path} is a folder, not a file (a student folder of that "
                f"name, from a run before student ids were checked); move it out of "
                f"{course.autograded_dir} and run again (then grade that student under a "
                "proper id)")


def export(course, refresh=True, feedback=False, wait=True, log=print):
    """Refresh results from the gradebook, then write grades.csv and the summary.

    Holds the output root's lock (locks.output_root_lock): not while a batch writes it."""
    with locks.output_root_lock(course, wait=wait, log=log):
        return _export(course, refresh, feedback)


def _export(course, refresh, feedback):
    # Shared: another run may grade from the gradebook meanwhile, not rebuild it.
    with locks.gradebook_lock(course, shared=True):
        return _export_results(course, refresh, feedback)


def _export_results(course, refresh, feedback):
    check_output_files(course)
    scratch.sweep_output_root(course)      # what a killed run left (we hold the lock)
    results = load_results(course)
    decisions = reviews.load(course)  # a broken file stops here, before anything is written
    if refresh and results and (course.sqlite_path is None or course.sqlite_path.exists()):
        # A gradebook server that cannot be reached is an error, not "no scores yet": the
        # export would silently drop the manual grades.
        gradebook.check_gradebook(course)
    everyone = _read_class(course) if refresh and results else None
    for student, result in results.items():
        before = result.canonical()
        # An interrupted regrade keeps its scores: the gradebook holds a half-done grading.
        refreshed = refresh and everyone is not None and result.status not in (ERROR,
                                                                              INTERRUPTED)
        if refreshed:
            refresh_from_gradebook(course, result, everyone.get(student, gradebook.NO_GRADES))
        reviews.apply(result, decisions)
        changed = result.canonical() != before
        if feedback and (refreshed or changed):
            _rewrite_feedback(course, student, result)
        if changed:
            atomic_write_text(course.result_path(student), result.dumps())
    write_grades_csv(course, results)
    if results:
        write_summary(course, results)
    shutil.rmtree(course.staging_dir, ignore_errors=True)   # the feedback rewrites' staging
    return results


def _read_class(course):
    """Every student's grades and comments (gradebook.class_grades: a few queries for the whole
    class), or None when the gradebook holds no such assignment (nothing to refresh from)."""
    try:
        return gradebook.class_grades(course)
    except Exception:  # no gradebook entry (e.g. a run that failed before nbgrader)
        return None


def _rewrite_feedback(course, student, result):
    import tempfile

    from coursekit.autograde import feedback
    from coursekit.autograde.pipeline import swap_in

    graded = course.autograded_dir / student / course.assignment
    course.staging_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"fb-{student}-", dir=course.staging_dir))
    try:
        feedback.write_feedback(course, student, graded, tmp / "out", result)
        swap_in(tmp / "out", course.feedback_dir / student / course.assignment)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
