"""Step 6, report: grades.csv and the instructor summary, from the per-student JSON files.

`export` first refreshes the notebook items of every result from the gradebook, so scores
an instructor entered by hand in formgrader (free-text answers, corrected test cells)
flow into the JSON, grades.csv and the summary without regrading anything; the same way it
applies the instructor's reviews of held saved models (reviews.py, model_reviews.csv).
"""
import csv
import io
import shutil
from pathlib import Path

from coursekit.autograde import gradebook, locks, reviews, scratch
from coursekit.autograde.pipeline import atomic_write_text, manual_message
from coursekit.autograde.result import ERROR, INLINE, INTERRUPTED, MANUAL, Result

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


def refresh_from_gradebook(course, result):
    """Update the notebook items of `result` (a Result) with the gradebook's current scores."""
    try:
        inline_cells = {i.id.split(":", 1)[-1] for i in result.items if i.kind == INLINE}
        grades = gradebook.notebook_grades(course, result.student, inline_cells)
    except Exception:  # no gradebook entry (e.g. a run that failed before nbgrader)
        return result
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
    return result


def _family(column):
    prefix = column.split(":", 1)[0]
    return {"module": "modules", "model": "models", "inline": "inline"}.get(prefix, "notebooks")


def columns_of(course, results):
    """Item columns in a stable order (notebooks in question order, then modules, models,
    inline) with their maximum score."""
    per_student = {}
    for result in results.values():
        sums = {}
        for item in result.items:
            sums[item.column] = sums.get(item.column, 0.0) + item.max_score
        for col, value in sums.items():
            per_student[col] = max(per_student.get(col, 0.0), value)
    order = {name: i for i, name in enumerate(course.notebooks)}
    family_rank = {"notebooks": 0, "modules": 1, "models": 2, "inline": 3}

    cell_order = {nb: gradebook.source_cell_order(course, nb) for nb in course.notebooks}

    def key(col):
        fam = _family(col)
        if fam != "notebooks":
            return (family_rank[fam], 0, 0, _first_seen[col])
        nb, _, cell = col.partition(":")
        position = cell_order.get(nb, {}).get(cell, len(_first_seen))
        return (0, order.get(nb, len(order)), position, _first_seen[col])

    _first_seen = {}
    for result in results.values():
        for item in result.items:
            _first_seen.setdefault(item.column, len(_first_seen))
    return [(col, per_student[col]) for col in sorted(per_student, key=key)]


def grades_rows(course, results):
    columns = columns_of(course, results)
    header = ["student", *[c for c, _ in columns], *TOTAL_COLUMNS]
    max_total = sum(m for _, m in columns)
    rows = []
    for student in sorted(results):
        result = results[student]
        scores = {}
        pending = 0.0
        for item in result.items:
            scores[item.column] = scores.get(item.column, 0.0) + item.score
            if item.pending:
                pending += item.max_score
        fams = {f: 0.0 for f in ("notebooks", "modules", "models", "inline")}
        for col, _ in columns:
            fams[_family(col)] += scores.get(col, 0.0)
        total = sum(fams.values())
        rows.append([student, *[_num(scores.get(c, 0.0)) for c, _ in columns],
                     *[_num(fams[f]) for f in ("notebooks", "modules", "models", "inline")],
                     _num(pending), _num(total), _num(max_total)])
    return header, rows, columns


def _num(x):
    """A score as written in grades.csv: whole numbers plain, others to 4 decimals (a partial
    module check is worth fractions of a point; a total must not lose them)."""
    if abs(x - round(x)) <= 1e-9:
        return str(int(round(x)))
    return f"{x:.4f}".rstrip("0").rstrip(".")


def write_grades_csv(course, results):
    header, rows, _ = grades_rows(course, results)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(course.grades_csv, buf.getvalue())
    return course.grades_csv


def item_stats(course, results):
    """[(column, max, mean score, pass rate)] over the students."""
    header, rows, columns = grades_rows(course, results)
    stats = []
    for i, (col, maximum) in enumerate(columns, start=1):
        values = [float(row[i]) for row in rows]
        n = len(values) or 1
        passed = sum(1 for v in values if maximum > 0 and v >= maximum - 1e-9)
        stats.append((col, maximum, sum(values) / n, passed / n))
    return stats


def write_summary(course, results):
    """summary.md (pass-rate table) and summary.png (score histogram, pass rates)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    header, rows, columns = grades_rows(course, results)
    stats = item_stats(course, results)
    totals = [float(r[header.index("total")]) for r in rows]
    max_total = sum(m for _, m in columns)
    lines = [f"# {course.assignment}: grading summary", "",
             f"{len(rows)} students; total out of {_num(max_total)}.", ""]
    if totals:
        lines.append(f"Mean {sum(totals) / len(totals):.2f}, min {_num(min(totals))}, "
                     f"max {_num(max(totals))}.")
        lines.append("")
    lines += ["| item | max | mean | pass rate |", "|---|---:|---:|---:|"]
    lines += [f"| {c} | {_num(m)} | {mean:.2f} | {rate:.0%} |" for c, m, mean, rate in stats]
    lines += reviews.summary_lines(results)
    out_md = course.summary_md
    atomic_write_text(out_md, "\n".join(lines) + "\n")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, max(4, 0.22 * len(stats) + 1)),
                                   gridspec_kw={"width_ratios": [1, 1.3]})
    ax1.hist(totals, bins=min(20, max(5, len(totals))), range=(0, max(max_total, 1)),
             color="#4c72b0", edgecolor="white")
    ax1.set_xlabel(f"total score (out of {_num(max_total)})")
    ax1.set_ylabel("students")
    ax1.set_title("Score histogram")
    names = [c for c, *_ in stats]
    ax2.barh(range(len(stats)), [rate for *_, rate in stats], color="#55a868")
    ax2.set_yticks(range(len(stats)), names, fontsize=7)
    ax2.invert_yaxis()
    ax2.set_xlim(0, 1)
    ax2.set_xlabel("pass rate (full marks)")
    ax2.set_title("Pass rate per item")
    fig.tight_layout()
    out_png = course.summary_png
    tmp = out_png.with_name(".summary.png.tmp")
    fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    tmp.replace(out_png)
    return out_md, out_png


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
        score = ("by hand" if item.pending else "held for review" if item.held
                 else _num(item.score))
        lines.append(f"| {item.id} | {score} | {_num(item.max_score)} | {_md(item.message)} |")
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
    for student, result in results.items():
        before = result.dumps()
        # An interrupted regrade keeps its scores: the gradebook holds a half-done grading.
        refreshed = refresh and result.status not in (ERROR, INTERRUPTED)
        if refreshed:
            refresh_from_gradebook(course, result)
        reviews.apply(result, decisions)
        changed = result.dumps() != before
        if feedback and (refreshed or changed):
            _rewrite_feedback(course, student, result)
        if changed:
            atomic_write_text(course.result_path(student), result.dumps())
    write_grades_csv(course, results)
    if results:
        write_summary(course, results)
    shutil.rmtree(course.staging_dir, ignore_errors=True)   # the feedback rewrites' staging
    return results


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
