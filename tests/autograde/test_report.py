"""report: grades.csv (one row per student, one column per item, totals) and the summary."""
import csv
import json

from coursekit.autograde.grading_run import GradingRun
from coursekit.autograde.module_checks import check_item
from coursekit.autograde.report import (
    MAX_ROW,
    export,
    item_stats,
    load_results,
    read_grades_csv,
)
from coursekit.autograde.result import Result
from coursekit.grader.results import GradeResult


def result(student, items):
    return {"version": 1, "student": student, "assignment": "assignment1", "status": "graded",
            "fingerprint": "x", "notebooks": {}, "notices": [], "items": items,
            "score": sum(i["score"] for i in items),
            "max_score": sum(i["max_score"] for i in items)}


def item(col, score, maximum, **extra):
    return {"id": extra.pop("id", col), "column": col, "score": score, "max_score": maximum,
            **extra}


def write_results(course, results):
    for r in results:
        path = course.result_path(r["student"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(r))


def course_at(tmp_path):
    (tmp_path / "source" / "assignment1").mkdir(parents=True)
    return GradingRun(root=tmp_path, notebooks=("knn", "softmax"), module_grader=None,
                  inline_grader=None, db_url=f"sqlite:///{tmp_path}/gb.db")


def test_grades_csv_has_one_row_per_student_and_item_columns_with_totals(tmp_path):
    course = course_at(tmp_path)
    write_results(course, [
        result("bob", [item("softmax:test_loss", 2, 2), item("knn:test_dist", 0, 3),
                       item("module:predict_labels", 1, 1, id="module:a"),
                       item("module:predict_labels", 0, 2, id="module:b"),
                       item("model:best_softmax", 1.5, 3), item("inline:knn.q2", 1, 1)]),
        result("ann", [item("knn:test_dist", 3, 3), item("softmax:test_loss", 2, 2),
                       item("module:predict_labels", 3, 3, id="module:a"),
                       item("model:best_softmax", 3, 3), item("inline:knn.q2", 0, 1),
                       item("knn:iq1", 0, 2, pending=True)]),
    ])
    export(course, refresh=False)
    rows = list(csv.reader(course.grades_csv.open()))
    header, maxima, body = rows[0], rows[1], rows[2:]
    assert header[:7] == ["student", "knn:test_dist", "knn:iq1", "softmax:test_loss",
                          "module:predict_labels", "model:best_softmax", "inline:knn.q2"]
    assert [r[0] for r in body] == ["ann", "bob"]
    ann = dict(zip(header, body[0], strict=True))
    bob = dict(zip(header, body[1], strict=True))
    assert bob["module:predict_labels"] == "1"          # checks of one function are summed
    assert bob["model:best_softmax"] == "1.5"
    assert bob["knn:iq1"] == "0"                         # an item a student lacks scores 0
    assert ann["knn:iq1"] == ""                          # one still to be graded is blank
    assert bob["total"] == "5.5"                         # 0 + 2 + 1 + 1.5 + 1
    assert ann["total"] == "11" and ann["manual_pending"] == "2"
    assert ann["max_total"] == bob["max_total"] == str(3 + 2 + 2 + 3 + 3 + 1)
    top = dict(zip(header, maxima, strict=True))
    assert top["student"] == MAX_ROW
    assert [top[c] for c in header[1:7]] == ["3", "2", "2", "3", "3", "1"]
    assert (top["notebooks"], top["modules"], top["models"], top["inline"]) == ("7", "3", "3", "1")
    assert top["total"] == top["max_total"] == ann["max_total"]


def test_inline_questions_count_under_inline_whatever_their_column_is_called(tmp_path):
    # A choice question that is an nbgrader answer cell keeps the cell's name as its id
    # ("knn:knn_inline_q2"); its kind says what it is.
    course = course_at(tmp_path)
    write_results(course, [result("ann", [
        item("knn:test_dist", 2, 3, kind="test"),
        item("knn:knn_inline_q2", 1, 1, kind="inline"),
        item("softmax:softmax_inline_q4", 0, 1, kind="inline"),
        item("module:f", 1.5, 2, kind="module")])])
    export(course, refresh=False)
    maxima, rows = read_grades_csv(course.grades_csv)
    ann = rows["ann"]
    assert (ann["notebooks"], ann["modules"], ann["inline"], ann["total"]) == ("2", "1.5", "1",
                                                                              "4.5")
    assert (maxima["notebooks"], maxima["inline"], maxima["total"]) == ("3", "2", "7")
    header = next(csv.reader(course.grades_csv.open()))
    # Inline questions after the modules, in the course's notebook order.
    assert header.index("module:f") < header.index("knn:knn_inline_q2") < header.index(
        "softmax:softmax_inline_q4")


def test_columns_and_feedback_follow_the_course_order_not_the_alphabet(tmp_path):
    (tmp_path / "source" / "assignment1").mkdir(parents=True)
    course = GradingRun(root=tmp_path, notebooks=("softmax", "knn"), module_grader=None,
                        inline_grader=None, db_url=f"sqlite:///{tmp_path}/gb.db")
    record = result("ann", [item("knn:test_a", 1, 1, kind="test"),
                            item("softmax:test_b", 1, 1, kind="test")])
    record["notebooks"] = {"knn": {"status": "graded"}, "softmax": {"status": "graded"}}
    write_results(course, [record])
    export(course, refresh=False)            # as make grades does: from the JSON record
    header = next(csv.reader(course.grades_csv.open()))
    assert header.index("softmax:test_b") < header.index("knn:test_a")
    table = course.summary_md.read_text()
    assert table.index("softmax:test_b") < table.index("knn:test_a")
    from coursekit.autograde.feedback import index_html

    loaded = Result.load(course.result_path("ann"))
    assert list(loaded.notebooks) == ["knn", "softmax"]        # the JSON sorts its keys
    page = index_html(loaded, {}, course.notebooks)
    assert page.index("softmax.ipynb") < page.index("knn.ipynb")


def test_pending_answers_are_neither_zero_nor_full_marks_in_the_summary(tmp_path):
    course = course_at(tmp_path)
    write_results(course, [
        result("ann", [item("knn:iq1", 0, 2, pending=True, kind="manual")]),
        result("bob", [item("knn:iq1", 0, 2, pending=True, kind="manual")]),
        result("cat", [item("knn:iq1", 2, 2, kind="manual")]),
        result("dan", [item("knn:iq1", 0, 2, kind="manual")])])
    export(course, refresh=False)
    stats = {s.column: s for s in item_stats(course, load_results(course))}
    iq1 = stats["knn:iq1"]
    assert (iq1.full_marks, iq1.pending, iq1.mean) == (0.25, 0.5, 1.0)  # mean of cat and dan
    table = course.summary_md.read_text()
    assert "| knn:iq1 | 2 | 1.00 | 25% | 50% |" in table
    assert "still to be graded by hand: 2 (4 points in all)" in table
    _, rows = read_grades_csv(course.grades_csv)
    assert [rows[s]["knn:iq1"] for s in ("ann", "bob", "cat", "dan")] == ["", "", "2", "0"]
    assert [rows[s]["manual_pending"] for s in ("ann", "cat")] == ["2", "0"]


def test_summary_has_histogram_png_and_pass_rate_table(tmp_path):
    course = course_at(tmp_path)
    write_results(course, [result(f"s{i}", [item("knn:test_dist", i % 2, 1)]) for i in range(4)])
    export(course, refresh=False)
    png = course.autograded_dir / "summary.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = (course.autograded_dir / "summary.md").read_text()
    assert "| knn:test_dist | 1 | 0.50 | 50% | 0% |" in table
    stats = item_stats(course, {f"s{i}": Result.from_json(result(f"s{i}", [item("x:y", 1, 1)]))
                                for i in range(3)})
    assert [(s.column, s.max_score, s.mean, s.full_marks, s.pending) for s in stats] == [
        ("x:y", 1.0, 1.0, 1.0, 0.0)]


def test_the_summary_margins_hold_the_longest_item_label():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from coursekit.autograde.report import _summary_margins

    for labels in (["x:y"], [f"FullyConnectedNets:{'W' * n}" for n in range(0, 60, 6)],
                   [f"module:{'i' * n}" for n in range(0, 120, 10)]):
        height = max(4, 0.22 * len(labels) + 1.5)
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, height),
                                       gridspec_kw={"width_ratios": [1, 1.3]})
        fig.subplots_adjust(**_summary_margins(fig, labels))
        ax2.barh(range(len(labels)), [0.5] * len(labels))
        ax2.set_yticks(list(range(len(labels))), labels, fontsize=7)
        ax1.set_ylabel("students")
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        right_of_histogram = ax1.get_window_extent(renderer).x1
        for tick in ax2.get_yticklabels():
            box = tick.get_window_extent(renderer)
            assert box.x0 > right_of_histogram, tick.get_text()     # no overlap
        assert ax1.yaxis.label.get_window_extent(renderer).x0 >= 0   # inside the figure
        assert ax2.get_position().x1 <= 1 and ax2.get_position().x0 < 0.9
        plt.close(fig)


def test_grader_results_become_module_and_model_columns():
    grader_dict = {"submission": "s", "notes": [], "checks": [
        {"id": "knn.two_loops.values", "function": "KNearestNeighbor.compute_distances_two_loops",
         "points": 2.0, "max_points": 2.0, "status": "passed", "message": "", "seconds": 0.1},
        {"id": "model.best_softmax", "function": "saved/best_softmax.npy", "points": 0.0,
         "max_points": 3.0, "status": "not_graded", "message": "", "seconds": 0.0}]}
    items = [check_item(c) for c in GradeResult.from_dict(grader_dict).checks]
    assert [i.column for i in items] == [
        "module:KNearestNeighbor.compute_distances_two_loops", "model:best_softmax"]
    assert items[1].message == "not graded"
    assert [(i.score, i.max_score) for i in items] == [(2.0, 2.0), (0.0, 3.0)]


def test_grades_csv_keeps_fractional_points_of_large_totals(tmp_path):
    course = course_at(tmp_path)
    items = [item(f"module:f{i}", 99.5 + i / 16, 100) for i in range(120)]
    write_results(course, [result("cat", items)])
    export(course, refresh=False)
    header, _, row = list(csv.reader(course.grades_csv.open()))
    cat = dict(zip(header, row, strict=True))
    expected_total = sum(99.5 + i / 16 for i in range(120))   # 12382.125
    assert float(cat["total"]) == expected_total
    assert "e" not in cat["total"].lower() and cat["max_total"] == "12000"
    assert cat["module:f1"] == "99.5625"


def test_the_ci_markdown_report_shows_what_a_student_controls_as_inert_text():
    from coursekit.autograde.report import markdown_report

    hostile = "<img src=x onerror=alert(1)> | [link](javascript:x) `code`\n## heading"
    result = {"assignment": "assignment1", "student": "ann", "score": 1, "max_score": 2,
              "notices": [f"skipped {hostile}"],
              "notebooks": {"knn": {"status": "refused", "message": hostile}},
              "items": [{"id": "knn:q1", "score": 1, "max_score": 2, "message": hostile}]}
    text = markdown_report(Result.from_json(result))
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "[link](javascript" not in text and "\\[link\\](javascript" in text
    assert "\n## heading" not in text
    row = next(line for line in text.splitlines() if line.startswith("| knn:q1"))
    assert row.count(" | ") == 3 and row.endswith(" |")   # the message stays in its column
