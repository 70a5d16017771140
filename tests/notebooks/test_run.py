"""coursekit.notebooks.run: metric cells, the README table and the full run's data check (fast)."""
import os

import nbformat
import pytest

from coursekit.notebooks import run


def fake_runs(overrides=None):
    runs = []
    for name in run.NOTEBOOKS:
        r = run.NotebookRun(name, cpu_seconds=60.0, wall_seconds=90.0)
        for metric in run.METRICS:
            if metric.notebook == name:
                r.metrics[metric.name] = metric.target if metric.target is not None else 0.3
        runs.append(r)
    for (name, metric_name), value in (overrides or {}).items():
        next(r for r in runs if r.notebook == name).metrics[metric_name] = value
    return runs


def test_table_marks_met_targets_and_totals_the_cpu_time():
    table = run.results_table(fake_runs())
    assert "**no**" not in table
    assert table.count("| yes |") == sum(m.target is not None for m in run.METRICS)
    assert "| **total** | | 5.0 min | 7.5 min |" in table


def test_table_flags_a_missed_target_and_a_missing_value():
    runs = fake_runs({("knn", "test accuracy with best_k"): 0.26})
    del runs[2].metrics["val accuracy of best_model"]
    table = run.results_table(runs)
    assert "| knn | test accuracy with best_k | 0.260 | >= 0.28 | **no** |" in table
    assert "| two_layer_net | val accuracy of best_model | missing | >= 0.5 | **no** |" in table


def test_table_reports_failed_test_cells():
    runs = fake_runs()
    runs[0].failed_tests.append("knn_best_k: AssertionError")
    assert "| knn | 1 failed |" in run.results_table(runs)


def test_readme_table_replaces_only_the_marked_region(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\n<!-- results:begin -->\nold\n<!-- results:end -->\n\n## Next\n")
    run.write_readme_table("| a |", readme=str(readme), note="note")
    assert readme.read_text() == ("# Title\n\n<!-- results:begin -->\nnote\n\n| a |\n"
                                  "<!-- results:end -->\n\n## Next\n")


def test_readme_without_markers_is_an_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(ValueError, match="markers"):
        run.write_readme_table("| a |", readme=str(readme))


@pytest.mark.parametrize("name", run.NOTEBOOKS)
def test_metric_cells_follow_their_test_cells(name):
    nb = nbformat.read(run.notebook_path(name), as_version=4)
    with_metrics = run._with_metric_cells(nb, name)
    wanted = {m.after for m in run.METRICS if m.notebook == name}
    assert len(with_metrics.cells) == len(nb.cells) + len(wanted)
    for i, cell in enumerate(with_metrics.cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") in wanted:
            assert run.METRIC_MARK in with_metrics.cells[i + 1].source
    assert len(nb.cells) == len(nbformat.read(run.notebook_path(name), as_version=4).cells)


def test_reading_an_executed_notebook_collects_metrics_and_failures():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
            "stream", name="stdout", text=run.METRIC_MARK + '{"acc": 0.5}\n')]),
        nbformat.v4.new_code_cell("t", metadata={"nbgrader": {"grade": True, "grade_id": "t1"}},
                                  outputs=[nbformat.v4.new_output(
                                      "error", ename="AssertionError", evalue="low",
                                      traceback=[])]),
        nbformat.v4.new_code_cell("y", outputs=[nbformat.v4.new_output(
            "error", ename="NameError", evalue="y", traceback=[])]),
    ])
    r = run.NotebookRun("demo")
    run._read_run(nb, r)
    assert r.metrics == {"acc": 0.5}
    assert r.failed_tests == ["t1: AssertionError: low"]
    assert r.errors == ["y: NameError: y"] and not r.ok


def test_full_run_without_real_data_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.delenv("CS231N_CIFAR10_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="make cifar10"):
        run.run_full(data_dir=None)
    with pytest.raises(FileNotFoundError, match="CS231N_CIFAR10_DIR"):
        run.run_full(data_dir=str(tmp_path))


def test_environment_restores_the_variables(monkeypatch):
    monkeypatch.setenv("COURSEKIT_TEST_A", "1")
    monkeypatch.delenv("COURSEKIT_TEST_B", raising=False)
    with run.environment(COURSEKIT_TEST_A=None, COURSEKIT_TEST_B="2"):
        assert "COURSEKIT_TEST_A" not in os.environ and os.environ["COURSEKIT_TEST_B"] == "2"
    assert os.environ["COURSEKIT_TEST_A"] == "1" and "COURSEKIT_TEST_B" not in os.environ
