"""Mutants of the master: each one realistic bug costs points in its own function's checks only.

A mutant (mutants.toml) is one or more text substitutions applied to a temporary copy of the
master package (an edit whose text is not found exactly once fails loudly, so the corpus follows
the master).
Slow corpus: `make test-mutants`.
"""
import tomllib
from pathlib import Path

import pytest

from .conftest import copy_master, edit, grade, message_leaks

# name: (function that breaks, [(file, old, new), ...]), from mutants.toml (data, in order).
with open(Path(__file__).with_name("mutants.toml"), "rb") as _f:
    MUTANTS = {name: (m["function"], [(e["file"], e["old"], e["new"]) for e in m["edits"]])
               for name, m in tomllib.load(_f).items()}


def test_corpus_has_at_least_25_mutants_over_many_functions():
    assert len(MUTANTS) >= 25
    assert len({function for function, _ in MUTANTS.values()}) >= 15


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_loses_points_in_its_function_only(name, tmp_path):
    function, edits = MUTANTS[name]
    submission = copy_master(tmp_path)
    for relpath, old, new in edits:
        edit(submission, relpath, old, new)
    result = grade(submission)
    own = [c for c in result.checks if c.function == function]
    others = [c for c in result.checks if c.function != function]
    assert own, f"no check of {function}"
    assert sum(c.points for c in own) < sum(c.max_points for c in own), \
        f"mutant {name} keeps every point of {function}"
    assert [(c.id, c.status, c.message) for c in others if c.status != "passed"] == []
    assert message_leaks(result) == []
