"""Slow: the master notebooks executed in grading mode (what `make validate` runs), and a
release-like copy with its solutions cleared failing its notebook-level test cells."""
import copy
import os

import nbformat
import pytest
from nbgrader.preprocessors import ClearSolutions

from coursekit.notebooks import run
from coursekit.synthetic import write_synthetic_cifar10

from .expected import NOTEBOOK_LEVEL_TESTS

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def grading_cifar_dir(tmp_path_factory):
    return write_synthetic_cifar10(tmp_path_factory.mktemp("grading_cifar"),
                                   num_train=run.SYNTHETIC_TRAIN, num_test=run.SYNTHETIC_TEST)


@pytest.mark.parametrize("name", run.NOTEBOOKS)
def test_master_passes_every_test_cell_under_nbgrader_validate(name, grading_cifar_dir):
    result = run.validate_notebook(run.notebook_path(name), grading_cifar_dir)
    assert result.ok, f"{name}: {result.failed_tests + result.errors}"
    # The time of each notebook in grading mode is a benchmark figure (make bench), not a test.


@pytest.mark.parametrize("name", run.NOTEBOOKS)
def test_cleared_solutions_fail_the_notebook_level_tests(name, grading_cifar_dir, tmp_path,
                                                         monkeypatch):
    nb = nbformat.read(run.notebook_path(name), as_version=4)
    cleared, _ = ClearSolutions().preprocess(copy.deepcopy(nb), {})
    os.symlink(os.path.join(run.REPO_ROOT, "cs231n"), tmp_path / "cs231n")
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(cleared, str(path))
    monkeypatch.setenv("CS231N_CIFAR10_DIR", grading_cifar_dir)
    result = run.execute_notebook(str(path), grading=True)
    failed = {line.split(":")[0] for line in result.failed_tests}
    missing = NOTEBOOK_LEVEL_TESTS[name] - failed
    assert not missing, f"{name}: these tests pass without the solutions: {sorted(missing)}"
