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


# --- the full run's inputs digest: CI skips a run README.md already holds ----------------------

def a_repo(root):
    """A folder shaped like the repository's parts the digest reads."""
    (root / "source").mkdir(parents=True)
    (root / "source" / "knn.ipynb").write_text('{"cells": []}')
    (root / "cs231n" / "classifiers").mkdir(parents=True)
    (root / "cs231n" / "layers.py").write_text("def f(): return 1\n")
    (root / "cs231n" / "classifiers" / "net.py").write_text("W = 1\n")
    (root / "requirements.txt").write_text("numpy==1.26.4\n")
    return root


def digest_of(root):
    return run.inputs_digest(source_dir=str(root / "source"), repo_root=str(root))


def test_inputs_digest_is_the_same_for_a_copy_anywhere_and_ignores_other_files(tmp_path):
    first = digest_of(a_repo(tmp_path / "a"))
    copy = a_repo(tmp_path / "elsewhere" / "b")
    (copy / "cs231n" / "saved").mkdir()
    (copy / "cs231n" / "saved" / "model.npy").write_bytes(b"weights")
    (copy / "cs231n" / "notes.txt").write_text("not code")
    assert digest_of(copy) == first
    assert len(first) == 16 and int(first, 16) >= 0


@pytest.mark.parametrize("change", [
    lambda root: (root / "source" / "knn.ipynb").write_text('{"cells": [1]}'),
    lambda root: (root / "source" / "softmax.ipynb").write_text("{}"),
    lambda root: (root / "cs231n" / "classifiers" / "net.py").write_text("W = 2\n"),
    lambda root: (root / "cs231n" / "optim.py").write_text(""),
    lambda root: (root / "requirements.txt").write_text("numpy==2.0.0\n"),
    # Content moved from one file to another changes it too.
    lambda root: ((root / "cs231n" / "layers.py").write_text("def f(): return 1\nW = 1\n"),
                  (root / "cs231n" / "classifiers" / "net.py").write_text("")),
])
def test_inputs_digest_changes_with_any_input(tmp_path, change):
    root = a_repo(tmp_path)
    before = digest_of(root)
    change(root)
    assert digest_of(root) != before


def test_recorded_digest_is_read_from_the_results_section_only(tmp_path):
    readme = tmp_path / "README.md"
    line = run.MEASURED_LINE.format(when="2026-12-02 18:00 UTC", machine="x86_64",
                                    digest="0123456789abcdef")
    readme.write_text(f"# T\n{run.RESULTS_BEGIN}\nnote\n\n{line}\n\n| a |\n{run.RESULTS_END}\n")
    assert run.recorded_digest(str(readme)) == "0123456789abcdef"
    readme.write_text(f"# T\n{line}\n{run.RESULTS_BEGIN}\n| a |\n{run.RESULTS_END}\n")
    assert run.recorded_digest(str(readme)) is None
    assert run.recorded_digest(str(tmp_path / "missing.md")) is None


def full_args(**overrides):
    from argparse import Namespace
    args = dict(notebooks=[], data=None, source=run.SOURCE_DIR, save_to=None, readme=True,
                unless_measured=True)
    args.update(overrides)
    return Namespace(**args)


@pytest.fixture
def readme(tmp_path, monkeypatch):
    path = tmp_path / "README.md"
    path.write_text(f"# T\n{run.RESULTS_BEGIN}\nold\n{run.RESULTS_END}\n")
    monkeypatch.setattr(run, "README", str(path))
    return path


def test_unless_measured_runs_a_changed_tree_and_then_skips_the_same_one(readme, monkeypatch,
                                                                          capsys):
    from coursekit.notebooks import command

    calls = []
    monkeypatch.setattr(run, "run_full", lambda *a, **k: calls.append(1) or fake_runs())
    assert command.cmd_full(full_args()) == 0
    assert calls == [1]
    assert run.recorded_digest(str(readme)) == run.inputs_digest()
    assert "| knn | all passed |" in readme.read_text()
    assert command.cmd_full(full_args()) == 0
    assert calls == [1], "ran again on the inputs the README's table was measured on"
    assert "not run again" in capsys.readouterr().out
    # Without the flag (make notebooks-full) it always runs.
    assert command.cmd_full(full_args(unless_measured=False)) == 0
    assert calls == [1, 1]


def test_a_run_with_a_failed_test_cell_records_no_digest_so_the_next_one_runs(readme,
                                                                               monkeypatch):
    from coursekit.notebooks import command

    def failing(*a, **k):
        runs = fake_runs()
        runs[0].failed_tests.append("knn_best_k: AssertionError")
        return runs

    monkeypatch.setattr(run, "run_full", failing)
    assert command.cmd_full(full_args()) == 1
    assert run.recorded_digest(str(readme)) is None and "FAILED" in readme.read_text()
    assert command.cmd_full(full_args()) == 1


def test_unless_measured_on_some_notebooks_only_always_runs(readme, monkeypatch):
    from coursekit.notebooks import command

    calls = []
    monkeypatch.setattr(run, "run_full", lambda *a, **k: calls.append(1) or fake_runs()[:1])
    line = run.MEASURED_LINE.format(when="w", machine="m", digest=run.inputs_digest())
    readme.write_text(f"{run.RESULTS_BEGIN}\n{line}\n{run.RESULTS_END}\n")
    assert command.cmd_full(full_args(notebooks=["knn"])) == 0
    assert calls == [1]
