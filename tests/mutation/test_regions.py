"""make mutation's own parts: the solution regions, the cosmic-ray filter, the killer's function
finder and verdicts, and the scoring of equivalent mutants. Tiny fake modules; no mutation run."""
import json
import shutil
import subprocess
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from coursekit.mutation import killer
from coursekit.mutation.filter import only_functions, outside_regions
from coursekit.mutation.regions import (
    MODULES,
    NUM_STUDENT_FUNCTIONS,
    changed_line,
    mutated_lines,
    regions_of,
    solution_regions,
    student_functions,
)
from coursekit.mutation.run import (
    MARKERS,
    Mutant,
    apply_equivalents,
    survivor_entries,
    tally,
    write_readme,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
FAKE_FILE = "cs231n/layers.py"
FAKE = '''"""A fake module: given code, two student functions, and a region outside any function."""
import numpy as np

### BEGIN SOLUTION
OUTSIDE = 1
### END SOLUTION


def given(x):
    return x + 1


def student(x):
    y = x * 2
    ### BEGIN SOLUTION
    out = y + 1
    ### END SOLUTION
    return out - 1


class Model:
    def method(self, x):
        ### BEGIN SOLUTION
        return np.abs(x * 3)
        ### END SOLUTION
'''


def line_of(text, needle):
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def item(job_id, line, file=FAKE_FILE, last=None):
    mutation = SimpleNamespace(module_path=Path(file), operator_name="core/NumberReplacer",
                               start_pos=(line, 4), end_pos=(last or line, 9))
    return SimpleNamespace(job_id=job_id, mutations=[mutation])


@pytest.fixture
def fake_root(tmp_path):
    """A folder holding a fake cs231n/: FAKE as layers.py, the other modules empty."""
    root = tmp_path / "root"
    for module in MODULES:
        path = root / module
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(FAKE if module == FAKE_FILE else "", encoding="utf-8")
    return root


def test_regions_are_named_by_their_function_and_a_region_outside_functions_is_none():
    regions = regions_of(FAKE, FAKE_FILE)
    assert [(r.function, r.begin, r.end) for r in regions] == [
        ("student", line_of(FAKE, "out = y + 1") - 1, line_of(FAKE, "out = y + 1") + 1),
        ("Model.method", line_of(FAKE, "np.abs") - 1, line_of(FAKE, "np.abs") + 1),
    ]


def test_the_master_package_has_the_twenty_student_functions():
    functions = student_functions(solution_regions(REPO_ROOT))
    assert len(functions) == NUM_STUDENT_FUNCTIONS == len(set(functions))
    assert {"KNearestNeighbor.predict_labels", "TwoLayerNet.__init__", "FullyConnectedNet.loss",
            "softmax_loss", "adam"} <= set(functions)


def test_filter_keeps_work_items_inside_regions_and_skips_the_rest(fake_root):
    regions = solution_regions(fake_root)
    inside = [item("in-student", line_of(FAKE, "out = y + 1")),
              item("in-method", line_of(FAKE, "np.abs"))]
    outside = [item("given", line_of(FAKE, "return x + 1")),
               item("before-region", line_of(FAKE, "y = x * 2")),
               item("after-region", line_of(FAKE, "return out - 1")),
               item("module-level-region", line_of(FAKE, "OUTSIDE = 1")),
               item("delimiter", line_of(FAKE, "### END SOLUTION")),
               item("spans-the-end", line_of(FAKE, "out = y + 1"),
                    last=line_of(FAKE, "return out - 1")),
               item("other-file", line_of(FAKE, "out = y + 1"), file="cs231n/optim.py"),
               item("unknown-file", 3, file="cs231n/solver.py")]
    skipped = outside_regions(inside + outside, regions, fake_root)
    assert skipped == [i.job_id for i in outside]


def test_filter_reads_absolute_module_paths_and_can_keep_one_function(fake_root):
    regions = solution_regions(fake_root)
    student = item("student", line_of(FAKE, "out = y + 1"), file=fake_root / FAKE_FILE)
    method = item("method", line_of(FAKE, "np.abs"), file=fake_root / FAKE_FILE)
    assert outside_regions([student, method], regions, fake_root) == []
    only_method = only_functions(regions, ["Model.method"])
    assert outside_regions([student, method], only_method, fake_root) == ["student"]
    with pytest.raises(SystemExit, match="given"):
        only_functions(regions, ["given"])


def test_a_zone_ending_at_column_zero_ends_on_the_line_before():
    assert mutated_lines((5, 4), (7, 0)) == (5, 6)
    assert mutated_lines((5, 4), (5, 9)) == (5, 5)


def test_filter_on_a_real_cosmic_ray_session(fake_root, monkeypatch):
    # cosmic-ray comes from requirements-mutation.txt, which `make test` installs too.
    from cosmic_ray.commands import init
    from cosmic_ray.work_db import WorkDB, use_db

    from coursekit.mutation.filter import main

    monkeypatch.chdir(fake_root)
    session = fake_root / "session.sqlite"
    with use_db(str(session)) as db:
        init([Path(FAKE_FILE)], db, {})
        everything = len(db.work_items)
    assert main([str(session), "--root", str(fake_root)]) == 0
    with use_db(str(session), WorkDB.Mode.open) as db:
        pending = db.pending_work_items
        skipped = db.num_results
    kept = {m.start_pos[0] for i in pending for m in i.mutations}
    assert kept == {line_of(FAKE, "out = y + 1"), line_of(FAKE, "np.abs")}
    assert skipped > 0 and skipped + len(pending) == everything


def test_killer_finds_the_function_of_the_changed_line(fake_root, tmp_path):
    mutated = tmp_path / "mutated"
    shutil.copytree(fake_root, mutated)
    assert changed_line(fake_root, mutated) is None
    path = mutated / FAKE_FILE
    path.write_text(FAKE.replace("x * 3", "x ** 3"), encoding="utf-8")
    assert changed_line(fake_root, mutated) == (FAKE_FILE, line_of(FAKE, "np.abs"),
                                                "Model.method")
    path.write_text(FAKE.replace("return x + 1", "return x - 1"), encoding="utf-8")
    assert changed_line(fake_root, mutated)[2] == "given"


def test_killer_command_runs_one_function_or_the_whole_suite():
    one = killer.command_line(killer.PYTEST_HIDDEN, "/sub", "adam", "/r.json")
    assert one[-2:] == ["--function", "adam"] and "/sub" in one
    everything = killer.command_line(killer.PYTEST_HIDDEN, "/sub", None, "/r.json")
    assert "--function" not in everything and everything == one[:-2]
    public = killer.command_line(killer.PUBLIC, "/sub", "adam", "/r.json")
    assert public[1:] == ["check.py", "--modules", "--json", "/r.json"]


def done(returncode, stdout="", stderr=""):
    return subprocess.CompletedProcess([], returncode, stdout, stderr)


def test_killer_verdicts(tmp_path):
    grade = {"points": 108.0, "max_points": 110.0, "checks": [
        {"id": "optim.adam.steps", "points": 0.0, "max_points": 2.0},
        {"id": "optim.adam.defaults", "points": 1.0, "max_points": 1.0}]}
    verdict, detail = killer.judge_grade_module(done(0, json.dumps(grade)), None)
    assert verdict == "killed" and "optim.adam.steps" in detail and "defaults" not in detail
    full = dict(grade, points=110.0)
    assert killer.judge_grade_module(done(0, json.dumps(full)), None)[0] == "survived"
    assert killer.judge_grade_module(done(1, "", "Traceback"), None)[0] == "error"
    assert killer.judge_pytest(done(0, "3 passed"), None)[0] == "survived"
    assert killer.judge_pytest(done(1, "FAILED t.py::test_a - x\n1 failed"), None) == (
        "killed", "1 failed; failed: t.py::test_a")
    assert killer.judge_pytest(done(5, "no tests ran"), None)[0] == "error"
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"modules": [{"function": "adam", "status": "fail"}]}))
    assert killer.judge_check_py(done(1), results) == ("killed", "failing: adam (fail)")
    results.write_text(json.dumps({"modules": [{"function": "adam", "status": "pass"}]}))
    assert killer.judge_check_py(done(0), results)[0] == "survived"


def test_killer_exit_status_follows_the_verdict(tmp_path, monkeypatch):
    monkeypatch.setattr(killer, "run_suite", lambda suite, submission, function: (
        "killed" if function else "survived", "stub"))
    assert killer.main(["public", "--submission", str(tmp_path)]) == 0
    monkeypatch.setattr(killer, "run_suite", lambda *a: ("error", "stub"))
    assert killer.main(["hidden", "--submission", str(tmp_path)]) == 3


def test_equivalent_mutants_leave_the_score_and_stale_or_killed_entries_warn():
    def mutant(occurrence, mutated, hidden):
        m = Mutant(FAKE_FILE, 10, "student", "core/NumberReplacer", occurrence,
                   "out = y + 1", mutated)
        m.verdicts = {"hidden": hidden, "public": "survived"}
        return m

    mutants = {m.key: m for m in [mutant(0, "out = y + 2", "killed"),
                                  mutant(1, "out = y + 0", "survived"),
                                  mutant(2, "out = y + 1.0", "survived")]}
    entry = dict(file=FAKE_FILE, function="student", operator="core/NumberReplacer",
                 original="out = y + 1")
    warnings = apply_equivalents(mutants, [
        dict(entry, mutated="out = y + 1.0", reason="same value"),
        dict(entry, mutated="out = y + 2", reason="wrong: it is killed"),
        dict(entry, mutated="out = y + 7", reason="stale")])
    assert len(warnings) == 2 and "killed by the hidden suite" in warnings[0] \
        and "stale" in warnings[1]
    hidden = tally(list(mutants.values()), "hidden")
    assert (hidden["killed"], hidden["survived"], hidden["equivalent"]) == (1, 1, 1)
    assert hidden["score"] == 0.5
    assert tally(list(mutants.values()), "public")["equivalent"] == 1


def test_survivor_entries_round_trip_into_equivalent_toml():
    m = Mutant(FAKE_FILE, 10, "student", "core/ReplaceBinaryOperator_Add_Sub", 0,
               'out = y["a|b"] + 1', 'out = y["a|b"] - 1')
    m.verdicts = {"hidden": "survived"}
    killed = Mutant(FAKE_FILE, 10, "student", "core/NumberReplacer", 0, "out = y + 1",
                    "out = y + 2")
    killed.verdicts = {"hidden": "killed"}
    entries = tomllib.loads(survivor_entries([m, killed]))["mutant"]
    assert len(entries) == 1 and entries[0]["reason"] == "TODO"
    assert apply_equivalents({m.key: m}, entries) == [] and m.status("hidden") == "equivalent"


def test_readme_block_is_replaced_between_the_markers_only(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\n{MARKERS[0]}\nold\n{MARKERS[1]}\n\nrest\n")
    assert write_readme(readme, ["| suite |", "| hidden |"])
    block = f"{MARKERS[0]}\n| suite |\n| hidden |\n{MARKERS[1]}"
    assert readme.read_text() == f"# T\n\n{block}\n\nrest\n"
    readme.write_text("# no block\n")
    assert not write_readme(readme, ["x"]) and readme.read_text() == "# no block\n"
