"""The grading batch with a PostgreSQL gradebook (any db_url nbgrader accepts).

The tests marked `postgres` (make test-postgres) start a throw-away PostgreSQL server
(postgres.py), grade a class of the tiny course with two workers, the gradebook URL taken from
NBGRADER_DB_URL=postgresql://... as `make autograde` does, and compare with a serial run of the
same class on SQLite.
The unmarked tests (make test) check the messages when the database cannot be used.
"""
import csv
import json
import sys
import threading
import time

import pytest
import robustness_corpus
import tinycourse
from nbgrader.api import Gradebook
from tinycourse import tiny_settings

from coursekit.autograde import batch, gradebook, report

# The throw-away server trusts its socket, so any password is accepted; it stands for a real
# server's, which must appear in no output file and no message.
PASSWORD = "pw-9d41-never-in-outputs"
DAMAGES = ("invalid_json", "monkeypatches_numpy", "deleted_locked_cell")

# The gradebook scores each student must have, worked out from the tiny course by hand
# (tinycourse.py): adder.ipynb test_add 2 points (visible + hidden test of add),
# test_grading_mode 1, iq1_answer 1 (free text: 0 until graded by hand), iq3_answer 1 (choice,
# scored by the inline step); ops.ipynb test_mul 3.
FULL_ADDER = {"test_add": 2, "test_grading_mode": 1, "iq1_answer": 0, "iq3_answer": 1}
EXPECTED = {
    "ann": {"adder": FULL_ADDER, "ops": {"test_mul": 3}},
    # int(a + b) passes the visible test and fails the hidden one (4242.125).
    "bob": {"adder": {**FULL_ADDER, "test_add": 0}, "ops": {"test_mul": 3}},
    "cat": {"adder": FULL_ADDER, "ops": {"test_mul": 0}},          # no ops.ipynb
    "dan": {"adder": FULL_ADDER, "ops": {"test_mul": 0}},          # mul adds; adder renamed
    # adder.ipynb is not JSON: every cell of it scores 0.
    "invalid_json": {"adder": dict.fromkeys(FULL_ADDER, 0), "ops": {"test_mul": 3}},
    # Tampering found by the guard: the notebook's test cells score 0, the answer cells stay.
    "monkeypatches_numpy": {"adder": {"test_add": 0, "test_grading_mode": 0, "iq1_answer": 0,
                                      "iq3_answer": 1}, "ops": {"test_mul": 3}},
    # The deleted test cell is put back from the gradebook and passes.
    "deleted_locked_cell": {"adder": FULL_ADDER, "ops": {"test_mul": 3}},
}


# --- the class and the runs ---------------------------------------------------------------

def make_class(course_root, submitted):
    tinycourse.make_submission(course_root, submitted / "ann" / "assignment1")
    tinycourse.make_submission(course_root, submitted / "bob" / "assignment1",
                               add_body="return int(a + b)")
    folder = tinycourse.make_submission(course_root, submitted / "cat" / "assignment1")
    (folder / "ops.ipynb").unlink()
    folder = tinycourse.make_submission(course_root, submitted / "dan" / "assignment1",
                                        mul_body="return a + b")
    (folder / "adder.ipynb").rename(folder / "adder-Copy1.ipynb")
    for name in DAMAGES:
        folder = tinycourse.make_submission(course_root, submitted / name / "assignment1")
        robustness_corpus.CASES[name](folder, None)
    return sorted(EXPECTED)


class ConnectionSampler(threading.Thread):
    """Peak number of connections to a database while a run goes on (sampled every 0.1 s)."""

    def __init__(self, server, database):
        super().__init__(daemon=True)
        self.server, self.database, self.peak = server, database, 0
        self.done = threading.Event()

    def run(self):
        with self.server.connect() as conn:
            while not self.done.is_set():
                count = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                     (self.database,)).fetchone()[0]
                self.peak = max(self.peak, count)
                time.sleep(0.1)

    def stop(self):
        self.done.set()
        self.join(timeout=10)
        return self.peak


@pytest.fixture(scope="module")
def pg_server():
    import postgres

    with postgres.running_server() as server:
        yield server


@pytest.fixture(scope="module")
def runs(tiny_course, pg_server, tmp_path_factory):
    """The class graded twice: serially on SQLite and with two workers on PostgreSQL."""
    tmp = tmp_path_factory.mktemp("pg-runs")
    submitted = tmp / "submitted"
    students = make_class(tiny_course, submitted)
    sqlite = tiny_settings(tiny_course, output_root=tmp / "sqlite",
                           db_url=f"sqlite:///{tmp}/sqlite-gradebook.db?timeout=60")
    batch.grade_all(sqlite, batch.find_submissions(sqlite, submitted), jobs=1, progress=False)

    database = pg_server.create_database("gradebook")
    url = pg_server.url(database, password=PASSWORD)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBGRADER_DB_URL", url)
        # The tiny course's nbgrader_config.py names no db_url: the environment's is used.
        pg = tiny_settings(tiny_course, output_root=tmp / "pg")
    log = []
    sampler = ConnectionSampler(pg_server, database)
    sampler.start()
    start = time.monotonic()
    outcomes = batch.grade_all(pg, batch.find_submissions(pg, submitted), jobs=2,
                               progress=False, log=log.append)
    seconds = time.monotonic() - start
    peak = sampler.stop()
    print(f"PostgreSQL -j 2 run: {seconds:.1f} s, peak {peak} connections")
    return {"students": students, "submitted": submitted, "sqlite": sqlite, "pg": pg,
            "url": url, "outcomes": outcomes, "log": log, "peak": peak, "server": pg_server}


def gradebook_scores(db_url):
    """{student: {notebook: {cell: (score, auto, manual, needs_manual_grade)}}}, and the number
    of submission rows, read through nbgrader's Gradebook API."""
    out = {}
    with Gradebook(db_url) as gb:
        submissions = gb.assignment_submissions("assignment1")
        for sub in submissions:
            notebooks = out.setdefault(sub.student.id, {})
            for nb in sub.notebooks:
                notebooks[nb.name] = {g.name: (float(g.score or 0), g.auto_score, g.manual_score,
                                               bool(g.needs_manual_grade)) for g in nb.grades}
        return out, len(submissions)


def scores_only(snapshot):
    return {s: {nb: {c: v[0] for c, v in cells.items()} for nb, cells in nbs.items()}
            for s, nbs in snapshot.items()}


def comparable(result):
    result = dict(result)
    result.pop("timing", None)
    result["notebooks"] = {k: {kk: vv for kk, vv in v.items() if kk != "seconds"}
                           for k, v in result["notebooks"].items()}
    return result


def grades_rows(course):
    return {r["student"]: r for r in csv.DictReader(course.grades_csv.open())}


# --- with a PostgreSQL server (make test-postgres) ------------------------------------------

@pytest.mark.postgres
def test_parallel_batch_on_postgresql_grades_every_student(runs):
    assert runs["pg"].db_url == runs["url"]           # from NBGRADER_DB_URL
    assert sorted(runs["outcomes"]) == runs["students"]
    assert {s: o[2] for s, o in runs["outcomes"].items() if o[2]} == {}
    for student in runs["students"]:
        result = json.loads(runs["pg"].result_path(student).read_text())
        assert result.get("status") != "error", (student, result.get("notices"))


@pytest.mark.postgres
def test_postgresql_gradebook_holds_every_submission_with_the_right_scores(runs):
    snapshot, rows = gradebook_scores(runs["url"])
    assert rows == len(runs["students"])            # one submission per student, no more
    assert scores_only(snapshot) == EXPECTED
    # The free-text answer waits for a grader wherever the notebook was graded normally.
    assert snapshot["ann"]["adder"]["iq1_answer"][3] is True
    assert snapshot["invalid_json"]["adder"]["iq1_answer"][3] is False


@pytest.mark.postgres
def test_postgresql_gradebook_equals_the_serial_sqlite_gradebook(runs):
    pg, _ = gradebook_scores(runs["url"])
    sqlite, _ = gradebook_scores(runs["sqlite"].db_url)
    assert pg == sqlite


@pytest.mark.postgres
def test_results_and_feedback_match_the_gradebook_and_the_sqlite_run(runs):
    pg, sqlite = runs["pg"], runs["sqlite"]
    snapshot, _ = gradebook_scores(runs["url"])
    for student in runs["students"]:
        a = json.loads(pg.result_path(student).read_text())
        b = json.loads(sqlite.result_path(student).read_text())
        assert comparable(a) == comparable(b), student
        notebook_items = {i["id"]: i["score"] for i in a["items"] if i["id"].count(":") == 1
                          and i["id"].split(":")[0] in ("adder", "ops")}
        assert notebook_items == {f"{nb}:{cell}": v[0] for nb, cells in snapshot[student].items()
                                  for cell, v in cells.items()}, student
        page = f"{student}/assignment1/index.html"
        assert (pg.feedback_dir / page).read_text() == (sqlite.feedback_dir / page).read_text()


@pytest.mark.postgres
def test_grades_csv_equals_the_serial_sqlite_runs(runs):
    text = runs["pg"].grades_csv.read_text()
    assert text == runs["sqlite"].grades_csv.read_text()
    rows = grades_rows(runs["pg"])
    # Gradebook points (EXPECTED) + module check (2 if mul is right) + inline Q2 (1 if the
    # adder notebook could be read).
    assert {s: rows[s]["total"] for s in ("ann", "bob", "cat", "dan")} == \
        {"ann": "10", "bob": "8", "cat": "7", "dan": "5"}


@pytest.mark.postgres
def test_parallel_run_keeps_few_database_connections(runs):
    # Two workers and the main process; a run that leaked a connection per gradebook access
    # would climb towards the server's limit (postgres.SERVER_SETTINGS, 40).
    assert 1 <= runs["peak"] <= 12, runs["peak"]


@pytest.mark.postgres
def test_database_password_is_in_no_output_file(runs):
    out = runs["pg"].output_root
    leaks = [str(p) for p in out.rglob("*") if p.is_file()
             and PASSWORD.encode() in p.read_bytes()]
    assert leaks == []
    assert PASSWORD not in "\n".join(runs["log"])


@pytest.mark.postgres
def test_rerun_skips_graded_students_and_forced_parallel_regrade_keeps_the_gradebook(runs):
    pg, url = runs["pg"], runs["url"]
    before, rows_before = gradebook_scores(url)
    mtimes = {s: pg.result_path(s).stat().st_mtime_ns for s in runs["students"]}
    csv_before = pg.grades_csv.read_text()

    subs = batch.find_submissions(pg, runs["submitted"])
    log = []
    assert batch.grade_all(pg, subs, jobs=2, progress=False, log=log.append) == {}
    assert f"{len(subs)} submission(s) already graded" in "\n".join(log)
    assert {s: pg.result_path(s).stat().st_mtime_ns for s in runs["students"]} == mtimes
    assert gradebook_scores(url) == (before, rows_before)
    assert pg.grades_csv.read_text() == csv_before

    forced = batch.grade_all(pg, subs, jobs=2, force=True, progress=False)
    assert sorted(forced) == runs["students"] and all(o[2] is None for o in forced.values())
    assert all(pg.result_path(s).stat().st_mtime_ns != mtimes[s] for s in runs["students"])
    assert gradebook_scores(url) == (before, rows_before)
    assert pg.grades_csv.read_text() == csv_before


@pytest.mark.postgres
def test_manual_grade_in_postgresql_flows_into_grades_csv(runs):
    pg, url = runs["pg"], runs["url"]
    tinycourse.set_manual_score(url, "ann", 1.0)
    try:
        report.export(pg)
        row = grades_rows(pg)["ann"]
        assert row["adder:iq1_answer"] == "1" and row["total"] == "11"
    finally:
        tinycourse.set_manual_score(url, "ann", None)
        report.export(pg)
    assert grades_rows(pg)["ann"]["total"] == "10"


@pytest.mark.postgres
def test_export_fails_clearly_when_the_database_server_is_down(runs, tmp_path, monkeypatch,
                                                               capsys):
    from coursekit.cli import main

    server = runs["server"]
    down = server.url("gradebook", password=PASSWORD).replace(str(server.socket_dir),
                                                                str(tmp_path / "no-server"))
    monkeypatch.setenv("NBGRADER_DB_URL", down)
    pg = runs["pg"]
    assert main(["autograde", "--export", "--course-root", str(pg.root),
                 "--output-root", str(pg.output_root)]) == 1
    out, err = capsys.readouterr()
    assert "cannot open the gradebook" in err and "Traceback" not in err
    assert PASSWORD not in out + err
    assert grades_rows(runs["pg"])["ann"]["total"] == "10"      # grades.csv left as it was


# --- without a server (make test) ---------------------------------------------------------

def test_unreachable_postgresql_gradebook_stops_grading_with_a_clear_message(tmp_path):
    url = f"postgresql://grader:{PASSWORD}@/gradebook?host={tmp_path / 'no-server'}"
    course = tiny_settings(tmp_path, db_url=url)
    with pytest.raises(gradebook.GradebookError) as info:
        batch.grade_all(course, [("ann", tmp_path)], progress=False)
    message = str(info.value)
    assert "cannot open the gradebook" in message and "NBGRADER_DB_URL" in message
    assert "postgresql://grader:***@/gradebook" in message and PASSWORD not in message


def test_export_refuses_to_drop_manual_grades_when_the_gradebook_is_unreachable(tmp_path):
    url = f"postgresql://grader@/gradebook?host={tmp_path / 'no-server'}"
    course = tiny_settings(tmp_path, output_root=tmp_path / "out", db_url=url)
    course.result_path("ann").parent.mkdir(parents=True)
    course.result_path("ann").write_text(json.dumps({
        "student": "ann", "assignment": "assignment1", "status": "graded", "items": [],
        "notebooks": {}, "score": 0.0, "max_score": 0.0}))
    with pytest.raises(gradebook.GradebookError, match="cannot open the gradebook"):
        report.export(course)
    assert not course.grades_csv.exists()


def test_missing_postgresql_driver_is_named_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)     # import psycopg now fails
    course = tiny_settings(tmp_path, db_url="postgresql://grader@db.example/gradebook")
    with pytest.raises(gradebook.GradebookError) as info:
        gradebook.check_gradebook(course)
    assert "'psycopg'" in str(info.value) and "make venv" in str(info.value)


def test_postgres_scheme_gets_a_spelling_hint(tmp_path):
    course = tiny_settings(tmp_path, db_url="postgres://grader@db.example/gradebook")
    with pytest.raises(gradebook.GradebookError, match="spelled postgresql://"):
        gradebook.check_gradebook(course)


def test_missing_postgresql_programs_fail_with_what_to_install(tmp_path, monkeypatch):
    import postgres

    monkeypatch.setattr(postgres.shutil, "which", lambda name: None)
    monkeypatch.setattr(postgres, "PG_ROOT", tmp_path)       # no /usr/lib/postgresql/*/bin
    with pytest.raises(pytest.fail.Exception) as info:
        postgres.find_programs()
    assert "initdb" in str(info.value) and "apt-get install postgresql" in str(info.value)


def test_server_programs_are_found_in_a_versioned_folder(tmp_path, monkeypatch):
    import postgres

    for version in ("9.6", "15", "13"):
        for name in postgres.PROGRAMS:
            (tmp_path / version / "bin").mkdir(parents=True, exist_ok=True)
            (tmp_path / version / "bin" / name).write_text("")
    monkeypatch.setattr(postgres.shutil, "which", lambda name: None)
    monkeypatch.setattr(postgres, "PG_ROOT", tmp_path)
    assert postgres.find_programs() == {n: str(tmp_path / "15" / "bin" / n)
                                        for n in postgres.PROGRAMS}
