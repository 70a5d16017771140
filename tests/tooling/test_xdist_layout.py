"""How the suites share expensive fixtures across pytest-xdist workers.

pytest-xdist 3.8 sends a `xdist_group` to one worker by rewriting `item._nodeid`, which
pytest 9 no longer reads (a node's id lives in `_id`): under `--dist loadgroup` the marks are
ignored and every worker builds the group's module fixtures again (test-release built the
wheel's virtualenv twice). Tests that share a fixture live in one file, and the Makefile
runs those suites with `--dist loadfile`.
"""
import re

from coursekit.course import current

REPO = current().root


def test_no_test_relies_on_an_xdist_group_mark():
    marked = sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").rglob("*.py")
                    if p.name != "test_xdist_layout.py" and "xdist_group(" in p.read_text())
    assert marked == [], (f"{marked}: pytest-xdist ignores xdist_group under pytest 9; keep the "
                          "tests sharing a fixture in one file and run them with --dist loadfile")


def test_no_make_target_distributes_by_group():
    makefile = (REPO / "Makefile").read_text()
    assert not re.search(r"--dist[ =]loadgroup", makefile), \
        "--dist loadgroup acts as --dist load under pytest 9: use --dist loadfile"
