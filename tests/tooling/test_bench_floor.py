"""The grading floor's bookkeeping (issue 15): the cells' time read from an executed notebook,
the ratios and targets of the rows, what a class costs, and the Dask row when Dask is absent.
No timing is asserted here: the figures themselves are `make bench`'s."""
import subprocess
import sys
import time

import nbformat
import pytest

from coursekit import bench
from coursekit.autograde import benchmark


def executed_cell(start, end, cell_type="code"):
    cell = (nbformat.v4.new_code_cell("x = 1") if cell_type == "code"
            else nbformat.v4.new_markdown_cell("text"))
    stamps = {"iopub.status.busy": "2026-11-30T10:00:00.000000Z"}
    if start:
        stamps["iopub.execute_input"] = start
    if end:
        stamps["shell.execute_reply"] = end
    cell.metadata["execution"] = stamps
    return cell


def test_cell_seconds_is_execute_input_to_reply_of_each_code_cell_that_ran():
    nb = nbformat.v4.new_notebook(cells=[
        executed_cell("2026-11-30T10:00:00.250000Z", "2026-11-30T10:00:01.750000Z"),
        executed_cell("2026-11-30T10:00:59.500000Z", "2026-11-30T10:01:02.000000Z"),
        executed_cell(None, None),                                     # never ran
        executed_cell("2026-11-30T10:00:01Z", None),                   # no reply: left out
        executed_cell("2026-11-30T10:00:00Z", "2026-11-30T10:00:09Z", "markdown"),
    ])
    assert benchmark.cell_seconds(nb) == pytest.approx([1.5, 2.5])


def test_cell_seconds_of_a_notebook_nbclient_executed(tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import time; time.sleep(0.3)"),
        nbformat.v4.new_markdown_cell("between"),
        nbformat.v4.new_code_cell("1 + 1"),
    ])
    NotebookClient(nb, timeout=60, kernel_name="python3", record_timing=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    first, second = benchmark.cell_seconds(nb)
    assert 0.3 <= first < 5 and 0 <= second < first


@pytest.mark.parametrize("cpu, machines, hours", [(60, 1, 600 * 60 / 32 / 3600),
                                                  (60, 10, 600 * 60 / 320 / 3600),
                                                  (12, 1, 0.0625)])
def test_class_cost_is_students_times_cpu_over_all_cores(cpu, machines, hours):
    assert benchmark.class_cost(cpu, students=600, cores=32, machines=machines) == \
        pytest.approx(hours)


def test_class_cost_is_bound_by_what_one_process_does_for_every_student():
    # 600 x 15 s over 320 cores is 28 s; a client spending 0.3 s on each student needs 180 s.
    assert benchmark.class_cost(15, 600, 32, 10, serial_seconds_per_student=0.3) == \
        pytest.approx(180 / 3600)
    assert benchmark.class_cost(15, 600, 32, 1, serial_seconds_per_student=0.3) == \
        pytest.approx(600 * 15 / 32 / 3600)
    with pytest.raises(ValueError, match="serial seconds"):
        benchmark.class_cost(15, serial_seconds_per_student=-1)


def test_client_cost_is_what_each_further_student_adds():
    assert benchmark.client_cost(4.0, 2.5, 6) == {"client_cpu_seconds": 4.0,
                                                  "client_cpu_seconds_per_student": 0.3}
    assert benchmark.client_cost(4.0, 4.2, 6)["client_cpu_seconds_per_student"] == 0
    assert benchmark.client_cost(4.0, 4.0, 1)["client_cpu_seconds_per_student"] is None


def test_children_cpu_counts_a_reaped_child():
    before = benchmark.children_cpu()
    subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)
    assert benchmark.children_cpu() - before > 0.05


def test_throughput_rows_bound_a_cluster_by_its_clients_pace():
    dask = {"available": True, "students": 6, "workers": 2, "seconds": 54.0,
            "seconds_per_student": 9.0, "cpu_seconds_per_student": 16.0,
            "client_cpu_seconds": 3.9, "client_cpu_seconds_per_student": 0.3}
    rows = bench.throughput_rows(14.0, batch(1, 15.0, cpu=15.0), batch(2, 8.0), dask)
    (client,) = [r for r in rows if r.what.startswith("Dask client")]
    assert client.figure == "3.9 s / 0.30 s (one client keeps up with at most 200 students/min)"
    (bound,) = [r for r in rows if "client's pace" in r.what]
    assert bound.figure == "3.0 min"            # 600 x 0.3 s; the cores alone: 600 x 15 / 320
    dask["client_cpu_seconds_per_student"] = None
    assert not [r for r in bench.throughput_rows(14.0, batch(1, 15.0, cpu=15.0), batch(2, 8.0),
                                                 dask) if "client" in r.what]
    # A run of one that cost the client as much as the batch: the row stays, no bound
    dask["client_cpu_seconds_per_student"] = 0.0
    rows = bench.throughput_rows(14.0, batch(1, 15.0, cpu=15.0), batch(2, 8.0), dask)
    (client,) = [r for r in rows if r.what.startswith("Dask client")]
    assert client.figure == "3.9 s / 0.00 s (no more than the run of one: within the noise)"
    assert not [r for r in rows if "client's pace" in r.what]


def test_class_cost_refuses_a_measure_that_cannot_be_one():
    with pytest.raises(ValueError, match="CPU seconds per student"):
        benchmark.class_cost(0)
    with pytest.raises(ValueError, match="cores and machines"):
        benchmark.class_cost(10, cores=0)


def test_dask_row_says_why_when_distributed_is_not_importable(tmp_path, monkeypatch):
    # An interpreter that cannot import `distributed` (a venv of its own would take long to
    # build: an isolated one, -I -S, finds no site-packages).
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\nexec {sys.executable} -I -S \"$@\"\n")
    fake.chmod(0o755)
    assert benchmark.dask_unavailable(str(fake)) == "distributed is not installed"
    monkeypatch.setattr(benchmark, "dask_unavailable", lambda: "distributed is not installed")
    assert benchmark.dask_throughput(["unused"]) == {"available": False,
                                                     "why": "distributed is not installed"}
    rows = bench.throughput_rows(10.0, batch(1, 12.0), batch(2, 5.5),
                                 {"available": False, "why": "distributed is not installed"})
    (row,) = [r for r in rows if r.what.startswith("Dask")]
    assert row.figure == "not available (distributed is not installed)" and row.ok is None


@pytest.mark.parametrize("usage, why", [
    ("usage: coursekit autograde [-h] [--all] [-j JOBS]", "coursekit autograde has no --scheduler"),
    ("usage: coursekit autograde [-h] [--all] [--scheduler ADDRESS]", ""),
])
def test_dask_row_needs_the_scheduler_option_of_autograde(tmp_path, usage, why):
    # An interpreter where `import distributed` works and `-m coursekit autograde --help`
    # prints `usage`.
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\n[ \"$1\" = -m ] && echo '{usage}'\nexit 0\n")
    fake.chmod(0o755)
    assert benchmark.dask_unavailable(str(fake)) == why


def batch(jobs, per_student, cpu=20.0, errors=()):
    return {"students": 4, "jobs": jobs, "seconds": 4 * per_student,
            "seconds_per_student": per_student, "cpu_seconds_per_student": cpu,
            "errors": list(errors)}


def test_throughput_rows_compare_each_batch_with_the_floor_divided_by_its_workers():
    dask = {"available": True, "students": 4, "workers": 2, "seconds": 30.0,
            "seconds_per_student": 7.5, "cpu_seconds_per_student": 21.0}
    rows = {r.what.split(":")[0]: r for r in
            bench.throughput_rows(10.0, batch(1, 11.0), batch(2, 6.5), dask)}
    serial, pair = rows["batch of 4 with -j 1"], rows["batch of 4 with -j 2"]
    assert serial.figure.startswith("1.10x") and serial.ok is True        # 11 / 10
    assert pair.figure.startswith("1.30x") and pair.ok is False           # 6.5 / (10 / 2)
    assert "9.2 students/min" in pair.figure                              # 60 / 6.5
    assert rows["Dask, 2 workers on this machine, batch of 4"].figure.startswith("1.50x")
    class_rows = [r for r in rows.values() if r.what.startswith("class of 600")]
    assert [r.figure for r in class_rows] == ["0.10 h (6 min)", "0.6 min"]  # 600*20/32 s; /10


def test_memory_rows_give_each_batch_and_scale_the_extra_worker_to_32():
    dask = {"available": False, "why": "not installed"}
    serial, pair = batch(1, 11.0), batch(2, 6.5)
    assert not [r for r in bench.throughput_rows(10.0, serial, pair, dask)
                if "memory" in r.what]                  # not measured: no rows
    serial["peak_rss_mb"], pair["peak_rss_mb"] = 2048, 3072
    rows = [r for r in bench.throughput_rows(10.0, serial, pair, dask) if "memory" in r.what]
    assert [r.figure for r in rows] == ["2.0 GB / 3.0 GB", "33 GB"]   # 2 + 31 x 1 GB
    assert all(r.ok is None for r in rows)


def test_dask_rows_give_the_first_run_on_a_fresh_cluster_and_hold_the_running_one_to_the_target():
    dask = {"available": True, "students": 4, "workers": 2, "seconds": 24.0,
            "seconds_per_student": 6.0, "cpu_seconds_per_student": 11.0,
            "fresh": {"seconds": 40.0, "seconds_per_student": 10.0,
                      "cpu_seconds_per_student": 19.0}}
    rows = [r for r in bench.throughput_rows(10.0, batch(1, 11.0), batch(2, 6.5), dask)
            if r.what.startswith("Dask")]
    assert len(rows) == 2
    fresh, running = rows
    assert "fresh cluster" in fresh.what and fresh.ok is None             # no target
    assert fresh.figure.startswith("2.00x") and "19 s CPU" in fresh.figure  # 10 / (10 / 2)
    assert "running cluster" in running.what
    assert running.figure.startswith("1.20x") and running.ok is True     # 6 / (10 / 2)
    assert "10.0 students/min" in running.figure                          # 60 / 6


def test_steady_seconds_leave_out_each_workers_first_student_and_count_the_tail():
    # -j 2, six students: the workers' first students finish at 20 and 21 s (their start-up
    # included), then one student every 8 s a worker; the last ends 3 s after the one before.
    finished = [21.0, 20.0, 28.0, 29.0, 36.0, 39.0]          # as they come, not sorted
    assert benchmark.steady_seconds(finished, 2) == pytest.approx((39.0 - 21.0) / 4)
    assert benchmark.steady_seconds([5.0, 12.0, 19.5], 1) == pytest.approx(7.25)
    assert benchmark.steady_seconds([20.0, 21.0], 2) is None      # no student after the first
    assert benchmark.steady_seconds([], 1) is None
    with pytest.raises(ValueError, match="jobs"):
        benchmark.steady_seconds([1.0, 2.0], 0)


def test_throughput_rows_hold_a_batch_once_running_to_the_target_too():
    dask = {"available": False, "why": "not installed"}
    pair = {**batch(2, 6.5), "students": 6, "steady_seconds_per_student": 5.8}
    serial = {**batch(1, 12.5), "steady_seconds_per_student": None}
    rows = bench.throughput_rows(10.0, serial, pair, dask)
    whole = next(r for r in rows if r.what.startswith("batch of 6 with -j 2:"))
    assert whole.figure.startswith("1.30x") and whole.ok is False      # 6.5 / (10 / 2)
    (running,) = [r for r in rows if "once running" in r.what]
    assert running.what.startswith("batch of 6 with -j 2, once running (from the second ")
    assert running.figure.startswith("1.16x") and running.ok is True    # 5.8 / (10 / 2)
    assert "10.3 students/min" in running.figure                        # 60 / 5.8
    pair["steady_seconds_per_student"] = 6.2
    (running,) = [r for r in bench.throughput_rows(10.0, serial, pair, dask)
                  if "once running" in r.what]
    assert running.figure.startswith("1.24x") and running.ok is False


def test_throughput_rows_show_a_batchs_end_when_it_was_timed():
    dask = {"available": False, "why": "not installed"}
    pair = {**batch(2, 6.5), "students": 6, "end_seconds": 0.614}
    (end,) = [r for r in bench.throughput_rows(10.0, batch(1, 12.5), pair, dask)
              if "last student's finish to the batch's end" in r.what]
    assert end.what.startswith("batch of 6 with -j 2: ") and end.figure == "0.61 s"
    pair["end_seconds"] = None
    assert not [r for r in bench.throughput_rows(10.0, batch(1, 12.5), pair, dask)
                if "batch's end" in r.what]


def test_timed_lines_times_each_students_line_as_it_comes():
    script = ("import sys, time\n"
              "print('coursekit autograde: 2 submissions', flush=True)\n"
              "print('ann: 1 / 2  graded  1.0 s  [1/2]', flush=True)\n"
              "time.sleep(0.5)\n"
              "print('bob: grading failed (boom)  0.2 s  [2/2]', flush=True)\n"
              "print('oops', file=sys.stderr)\n"
              "sys.exit(3)\n")
    before = time.monotonic()
    code, out, err, finished = benchmark.timed_lines([sys.executable, "-c", script])
    assert code == 3 and err == "oops\n" and out.count("\n") == 3
    assert len(finished) == 2 and before < finished[0]
    assert finished[1] - finished[0] >= 0.45              # bob's line came after the sleep


def test_dask_rows_hold_the_running_cluster_once_running_to_the_target_too():
    dask = {"available": True, "students": 6, "workers": 2, "seconds": 60.0,
            "seconds_per_student": 10.0, "steady_seconds_per_student": 5.5,
            "cpu_seconds_per_student": 11.0}
    rows = [r for r in bench.throughput_rows(10.0, batch(1, 11.0), batch(2, 6.5), dask)
            if r.what.startswith("Dask")]
    whole, running = rows
    assert whole.figure.startswith("2.00x") and whole.ok is False          # 10 / (10 / 2)
    assert "once running (from the second student's finish" in running.what
    assert running.figure.startswith("1.10x") and running.ok is True       # 5.5 / (10 / 2)
    dask["steady_seconds_per_student"] = None                              # too few students
    assert len([r for r in bench.throughput_rows(10.0, batch(1, 11.0), batch(2, 6.5), dask)
                if r.what.startswith("Dask")]) == 1


def test_throughput_rows_measure_the_pair_against_the_floor_of_two_side_by_side_too():
    dask = {"available": False, "why": "not installed"}
    side = {"jobs": 2, "seconds": 12.5, "each": [12.0, 13.0], "errors": []}
    rows = bench.throughput_rows(10.0, batch(1, 11.0), batch(2, 6.5), dask, side)
    slowed = next(r for r in rows if r.what.startswith("floor of 2 submissions"))
    assert slowed.figure == "1.25x (12.5 s)" and slowed.ok is None         # 12.5 / 10
    against = next(r for r in rows if r.what.endswith("per student / (floor / 2)"))
    assert against.figure.startswith("1.30x") and against.ok is False      # the target's
    shared = next(r for r in rows if r.what.endswith("(floor side by side / 2)"))
    assert shared.figure == "1.04x" and shared.ok is None                  # 6.5 / (12.5 / 2)
    assert not any("side by side" in r.what for r in
                   bench.throughput_rows(10.0, batch(1, 11.0), batch(2, 6.5), dask))


def test_floor_rows_give_every_stage_and_the_whole_as_ratios_to_the_floor():
    floor = {"notebooks": {"knn": 4.0, "softmax": 6.0}, "seconds": 10.0, "errors": []}
    one = {"total_seconds": 16.0, "prepare_seconds": 3.0, "scratch_seconds": 0.5,
           "stages": {"collect": 0.2, "nbgrader": 11.0, "feedback": 1.0},
           "notebooks": {"knn": 5.0, "softmax": 6.5}, "score": 9, "max_score": 10,
           "gradebook": {"opened": 14, "open_seconds": 0.7, "commits": 30,
                         "commit_seconds": 0.2}}
    plain = {"seconds": 12.0, "graded": ["knn", "softmax"]}
    rows = {r.what: r for r in bench._floor_rows(floor, one, plain, "synthetic CIFAR-10")}
    assert rows["autograde stage nbgrader / floor"].figure == "1.10x (11.0 s)"
    assert rows["autograde stage scratch set-up / floor"].figure == "0.05x (0.5 s)"
    whole = rows["full autograde of one submission / floor"]
    assert whole.figure.startswith("1.30x") and whole.ok is True     # (16 - 3) / 10
    assert rows["plain `nbgrader autograde` of the same submission / floor"].figure \
        .startswith("1.20x")
    assert "synthetic CIFAR-10" in next(w for w in rows if w.startswith("floor:"))
    assert any("knn 1.0, softmax 0.5" == r.figure for r in rows.values())


def test_gradebook_activity_counts_sessions_and_commits_then_stops(tmp_path):
    from nbgrader.api import Gradebook

    from coursekit.autograde.gradebook import ensure_alembic_on_path

    ensure_alembic_on_path()
    url = f"sqlite:///{tmp_path}/gradebook.db"
    with Gradebook(url):
        pass    # created before counting: the schema's own commits are not the grading's
    with benchmark.gradebook_activity() as seen:
        with Gradebook(url) as gb:
            gb.update_or_create_student("ada")      # commits
            gb.update_or_create_student("grace")    # commits
        with Gradebook(url) as gb:
            gb.find_student("ada")                  # reads only
    counted = dict(seen)
    assert counted["opened"] == 2 and counted["commits"] >= 2   # nbgrader may commit more
    assert counted["open_seconds"] > 0 and counted["commit_seconds"] > 0
    with Gradebook(url) as gb:                      # no longer counted
        gb.update_or_create_student("alan")
    assert seen == counted


BURN = "import time\nwhile time.process_time() < {}: pass\n"


def test_tree_cpu_counts_the_processes_under_this_one_grandchildren_included():
    # A child that burns 0.6 s of CPU, then starts a grandchild that burns 0.6 s more: the
    # grading kernels are such grandchildren (grader -> sandbox -> kernel).
    import subprocess

    child = (BURN.format(0.6) + "import subprocess, sys\n"
             f"subprocess.run([sys.executable, '-c', {BURN.format(0.6)!r}], check=True)\n")
    with benchmark.tree_cpu(interval=0.05) as cpu:
        subprocess.run([sys.executable, "-c", child], check=True)
    assert 1.0 <= cpu["seconds"] < 3.0


def test_tree_cpu_sees_the_peak_memory_of_a_grandchild():
    # A grandchild that holds 300 MB for a second: the tree's peak includes it, on top of this
    # process's own memory.
    import subprocess

    import psutil

    hold = ("import time\nblock = bytearray(300 * 2**20)\n"
            "block[::4096] = b'x' * (300 * 256)\n"     # every page touched: resident
            "time.sleep(1.0)\n")
    child = ("import subprocess, sys\n"
             f"subprocess.run([sys.executable, '-c', {hold!r}], check=True)\n")
    own = psutil.Process().memory_info().rss / 2**20
    with benchmark.tree_cpu(interval=0.05) as tree:
        subprocess.run([sys.executable, "-c", child], check=True)
    assert own + 300 <= tree["peak_rss_mb"] < own + 600


def test_the_idle_dask_row_gives_both_settings_side_by_side():
    (row,) = bench.dask_idle_rows({"available": True, "workers": 2, "default": 3.0,
                                   "grading": 0.75})
    assert "Dask's defaults / the grading settings" in row.what and "2 workers" in row.what
    assert row.figure == "3.00 s / 0.75 s (4.0x less)" and row.ok is None
    assert bench.dask_idle_rows({"available": False, "why": "distributed is not installed"}) == []


def test_the_idle_dask_cluster_is_not_measured_without_distributed(monkeypatch):
    monkeypatch.setattr(benchmark, "dask_unavailable", lambda: "distributed is not installed")
    assert benchmark.dask_idle_cpu() == {"available": False,
                                         "why": "distributed is not installed"}


def test_the_rerun_row_compares_the_check_in_processes_with_one_after_another():
    (row,) = bench.rerun_rows({"students": 200, "jobs": 2, "serial": 6.0, "parallel": 3.9})
    assert "class of 200" in row.what and "-j 2 processes / one" in row.what
    assert row.figure == "0.65x (3.9 s / 6.0 s)" and row.ok is None


def test_the_export_rows_give_the_large_class_and_the_two_reads_side_by_side():
    rows = bench.export_rows({"students": 600, "export": 2.345, "at_once": 0.3,
                              "one_by_one": 30.0})
    assert [r.figure for r in rows] == ["2.3 s", "0.010x (0.30 s / 30.0 s)"]
    assert all("class of 600" in r.what for r in rows) and all(r.ok is None for r in rows)


def test_the_export_of_a_class_reads_the_same_grades_both_ways():
    """A small class through the whole measurement: its gradebook, its results, both reads
    (which must agree) and the export (a grades.csv row per student); it raises otherwise."""
    out = benchmark.export_of_a_class(students=3)
    assert out["students"] == 3
    assert out["export"] > 0 and out["at_once"] > 0 and out["one_by_one"] > 0
