"""The benchmark's bookkeeping: interleaved best-of timing and the README table writer."""

import pytest

from coursekit import bench


def test_best_times_keeps_the_fastest_run_of_each_candidate():
    calls = []
    durations = iter([0.03, 0.01, 0.02, 0.04])  # a, b, a, b

    def make(name):
        def fn():
            calls.append(name)
            import time

            time.sleep(next(durations))

        return fn

    best = bench.best_times([make("a"), make("b")], repeats=2)
    assert calls == ["a", "b", "a", "b"]  # interleaved, not one block per candidate
    assert best[0] == pytest.approx(0.02, abs=0.015)
    assert best[1] == pytest.approx(0.01, abs=0.015)
    assert best[0] > best[1]


def test_render_marks_targets_met_and_missed():
    table = bench.render(
        [bench.Row("fast", "0.9x", "<= 1x", True), bench.Row("slow", "2x", "<= 1x", False),
         bench.Row("info", "3 ms")]
    )
    lines = table.splitlines()
    assert lines[2].endswith("| met |")
    assert lines[3].endswith("| MISSED |")
    assert lines[4] == "| info | 3 ms |  |  |"


def test_write_readme_replaces_only_the_marked_block(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{bench.BEGIN}\nold table\n{bench.END}\n\nAfter.\n")
    monkeypatch.setattr(bench, "README", str(readme))
    bench.write_readme("| new |", "test machine")
    text = readme.read_text()
    assert "old table" not in text
    assert "| new |" in text and "test machine" in text
    assert text.startswith("# Title\n") and text.endswith("\nAfter.\n")


def test_write_readme_without_markers_says_what_is_missing(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers here\n")
    monkeypatch.setattr(bench, "README", str(readme))
    with pytest.raises(SystemExit, match="markers"):
        bench.write_readme("| t |", "env")


def test_slowest_notebook_row_names_the_notebook_and_checks_the_minute_target():
    from coursekit.bench import _slowest_notebook_row

    (row,) = _slowest_notebook_row({"knn": 4.2, "softmax": 71.0, "features": None})
    assert "softmax" in row.figure and "71" in row.figure and row.ok is False
    (row,) = _slowest_notebook_row({"knn": 4.2, "softmax": 9.6})
    assert "softmax" in row.figure and row.ok is True
    (row,) = _slowest_notebook_row({"knn": None})
    assert row.figure == "n/a" and row.ok is None


def test_gain_rows_give_each_gain_as_a_ratio_and_say_when_the_scores_differ():
    def run(nbgrader, total, score=185.0, cpu=30.0, forked=5):
        return {"nbgrader": nbgrader, "total": total, "cpu": cpu, "ahead": 4,
                "forked": forked, "notebooks": 5, "score": score}

    gains = {"all": run(24.0, 27.0), "no kernels ahead": run(30.0, 33.0, forked=0),
             "no judge reuse": run(24.0, 27.0, score=180.0), "modules after": run(24.0, 30.0),
             "no zygote": run(25.0, 28.0, cpu=40.0, forked=0)}
    rows = {r.what: r.figure for r in bench.kernels_ahead_rows(gains)}
    ahead = next(f for w, f in rows.items() if "kernels started ahead" in w and "/ without" in w)
    judge = next(f for w, f in rows.items() if "one judge per student" in w)
    beside = next(f for w, f in rows.items() if "module checks beside" in w)
    forked = next(f for w, f in rows.items() if "nbgrader stage" in w and "zygote" in w)
    cpu = next(f for w, f in rows.items() if w.startswith("CPU of one student"))
    assert ahead.startswith("0.80x (24.0 s / 30.0 s") and "differ" not in ahead
    assert judge.startswith("1.00x") and "but the scores differ" in judge
    assert beside.startswith("0.90x (27.0 s / 30.0 s") and "differ" not in beside
    assert forked.startswith("0.96x (24.0 s / 25.0 s")
    assert cpu == "0.75x (30.0 s / 40.0 s)"
    assert rows["notebooks graded in a kernel started ahead / forked from the zygote"] == \
        "4 / 5 of 5"


def test_the_zygote_row_gives_the_cpu_forked_over_on_their_own_and_what_a_student_saves():
    (row,) = bench.zygote_rows({"forked": 3.0, "own": 6.0})
    assert "forked from the student's zygote / each started on its own" in row.what
    assert row.figure == "0.50x (3.0 s / 6.0 s: 3.0 s a student)"
