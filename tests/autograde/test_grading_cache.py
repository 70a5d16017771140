"""The grading data cache (coursekit/autograde/grading_cache.py): prepared once per dataset by the
grader, read-only for the kernels, equal to what the course's own code computes, and prepared
again when damaged."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from tinycourse import tiny_settings

import cs231n.data_utils as data_utils
from coursekit import jail
from coursekit.autograde import grading_cache, module_checks, nbgrade
from coursekit.autograde.grading_run import GradingRun
from coursekit.course import current
from coursekit.grader import models
from coursekit.synthetic import write_synthetic_cifar10
from cs231n import features, notebook_utils

REPO_ROOT = current().root


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Small synthetic CIFAR-10 (the grading subset is all of it)."""
    return write_synthetic_cifar10(tmp_path_factory.mktemp("c10"), num_train=250, num_test=50,
                                   seed=11)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """Synthetic CIFAR-10 a little larger than the grading subset."""
    return write_synthetic_cifar10(tmp_path_factory.mktemp("c10big"), num_train=1250,
                                   num_test=210, seed=12)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A grading cache of this test's own (inherited by whatever it starts)."""
    monkeypatch.setenv(grading_cache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(models, "_SHARED", {})
    return tmp_path / "cache"


def notebook_feature_fns():
    """feature_fns as the locked cell features_extract of features.ipynb defines them, with the
    course's cs231n/features.py."""
    nb = json.loads((REPO_ROOT / "source" / "assignment1" / "features.ipynb").read_text())
    cell = next(c for c in nb["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade_id") == "features_extract")
    source = "".join(cell["source"])
    assert "grading_features('features')" in source
    lines = [ln for ln in source.splitlines() if ln.startswith(("num_color_bins", "feature_fns"))]
    namespace = {"hog_feature": features.hog_feature,
                 "color_histogram_hsv": features.color_histogram_hsv}
    exec("\n".join(lines), namespace)
    return namespace["feature_fns"]


def test_the_features_notebook_gets_the_course_features_of_its_own_images(big, cache,
                                                                         monkeypatch):
    data = big
    assert grading_cache.prepare_notebook_data(data, log=lambda m: None) == \
        grading_cache.notebook_cache_dir()
    monkeypatch.setenv("CS231N_GRADING_MODE", "1")
    monkeypatch.setenv(data_utils.CIFAR10_DIR_ENV, str(data))
    monkeypatch.setenv(data_utils.GRADING_CACHE_ENV, str(grading_cache.notebook_cache_dir()))
    got = notebook_utils.grading_features("features")
    # What the notebook's cell computes in normal mode, on the images its data cell cuts.
    sizes = notebook_utils.run_settings("features")
    X, _, X_test, _ = data_utils.load_all_CIFAR10(data)
    n, v = sizes.num_training, sizes.num_validation
    fns = notebook_feature_fns()
    expected = (features.extract_features(X[:n], fns),
                features.extract_features(X[n:n + v], fns),
                features.extract_features(X_test[:sizes.num_test], fns))
    assert got is not None and len(got) == 3
    for array, want in zip(got, expected, strict=True):
        assert array.shape == want.shape and array.dtype == want.dtype
        assert np.array_equal(array, want)


def test_without_a_grader_cache_the_notebook_computes_its_features(data, monkeypatch):
    monkeypatch.setenv("CS231N_GRADING_MODE", "1")
    monkeypatch.delenv(data_utils.GRADING_CACHE_ENV, raising=False)
    assert notebook_utils.grading_features("features") is None
    monkeypatch.setenv(data_utils.GRADING_CACHE_ENV, "/nonexistent/cache")
    monkeypatch.setenv("CS231N_GRADING_MODE", "0")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert notebook_utils.grading_features("features") is None  # normal mode


def test_the_kernel_gets_the_subset_read_only(data, cache, tmp_path, monkeypatch):
    monkeypatch.setattr(nbgrade.KernelSettings, "guard", {})
    course = GradingRun(kernel_env={"CS231N_CIFAR10_DIR": str(data)})
    nbgrade.prepare_scratch(course, folder=tmp_path / "scratch")
    subsets = str(grading_cache.notebook_cache_dir())
    assert nbgrade.kernel_env({})[data_utils.GRADING_CACHE_ENV] == subsets
    assert subsets in nbgrade.guard_settings(course, tmp_path / "stage",
                                             tmp_path / "guard.log")["allow_read"]
    staged = tmp_path / "staged"
    staged.mkdir()
    box = nbgrade.GuardedKernelManager().kernel_jail(str(staged))
    assert subsets in box.readonly and subsets not in box.writable
    if box.kind != "bwrap":
        pytest.skip(f"no bubblewrap jail on this machine ({jail.why_not_bwrap()})")
    folder = data_utils.subset_dir(str(data), subsets)
    probe = ("import os, sys\n"
             "open(os.path.join(sys.argv[1], 'manifest.json')).read()\n"
             "for path in (os.path.join(sys.argv[1], 'X_train.npy'), sys.argv[1] + '/new'):\n"
             "    try:\n"
             "        open(path, 'r+b' if path.endswith('.npy') else 'wb').write(b'x')\n"
             "        print('written', path)\n"
             "    except OSError as exc:\n"
             "        print('refused', exc.errno)\n")
    proc = subprocess.run(box.command([sys.executable, "-I", "-c", probe, folder], cwd="/tmp"),
                          capture_output=True, text=True, timeout=120, preexec_fn=box.preexec,
                          env=box.environment())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["refused", "30", "refused", "30"]  # EROFS, both
    assert data_utils.read_grading_subset(str(data), subsets)["X_train"].shape[0] == 250


def test_the_judge_and_the_kernel_are_given_the_prepared_subset_to_name_arrays_by(
        data, cache, tmp_path, monkeypatch):
    monkeypatch.setattr(nbgrade.KernelSettings, "guard", {})
    nbgrade.prepare_scratch(GradingRun(kernel_env={"CS231N_CIFAR10_DIR": str(data)}),
                            folder=tmp_path / "scratch")
    known = nbgrade.known_arrays()
    folder = data_utils.subset_dir(str(data), str(grading_cache.notebook_cache_dir()))
    assert set(known) == {*data_utils.SUBSET_ARRAYS, *data_utils.GRADING_FEATURES}
    assert all(path == os.path.join(folder, f"{name}.npy") for name, path in known.items())
    subset = data_utils.read_grading_subset(str(data), str(grading_cache.notebook_cache_dir()))
    assert np.array_equal(np.load(known["X_train"]), subset["X_train"])


def test_an_unwritable_cache_grades_without_it(data, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv(grading_cache.CACHE_ENV, str(blocker))
    monkeypatch.setattr(nbgrade.KernelSettings, "guard", {})
    nbgrade.prepare_scratch(GradingRun(kernel_env={"CS231N_CIFAR10_DIR": str(data)}),
                            folder=tmp_path / "scratch")
    assert data_utils.GRADING_CACHE_ENV not in nbgrade.kernel_env({})
    assert nbgrade.known_arrays() == {}     # every value crosses as its bytes


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_notebook_subset_is_prepared_again(data, cache, damage):
    logged = []
    grading_cache.prepare_notebook_data(data, log=logged.append)
    path = os.path.join(data_utils.subset_dir(str(data), str(grading_cache.notebook_cache_dir())),
                        "features_test.npy")
    _damage(path, damage)
    grading_cache.prepare_notebook_data(data, log=logged.append)
    assert any("damaged" in m and "preparing it again" in m for m in logged), logged
    arrays = data_utils.read_grading_subset(str(data), str(grading_cache.notebook_cache_dir()),
                                            ("features_test",))
    assert arrays["features_test"].shape[0] == 50


def _damage(path, damage):
    with open(path, "r+b") as f:
        if damage == "truncate":
            f.truncate(os.path.getsize(path) - 100)
        else:
            f.seek(-8, os.SEEK_END)
            f.write(b"\x7f" * 8)


def test_model_inputs_match_the_notebooks_preprocessing(data, cache):
    X, y, X_test, y_test = data_utils.load_all_CIFAR10(data)
    images = models.CifarImages(data)
    num_train, num_val = models.split_sizes(len(X))
    mean = X[:num_train].mean(axis=0)
    val = X[num_train:num_train + num_val]
    assert np.array_equal(images.labels("val"), y[num_train:num_train + num_val])
    assert np.array_equal(images.labels("test"), y_test[:models.NUM_TEST])
    # softmax.ipynb: channels-last rows minus the mean; get_CIFAR10_data: channels first.
    assert np.allclose(images.inputs("raw", "linear", "val"), (val - mean).reshape(len(val), -1))
    first = (val[0] - mean).transpose(2, 0, 1).ravel()
    assert np.allclose(images.inputs("raw", "two_layer", "val")[0], first)
    fns = notebook_feature_fns()
    train_feats = features.extract_features(X[:num_train], fns)
    want = (features.extract_features(X_test[:5], fns) - train_feats.mean(0)) / train_feats.std(0)
    assert np.allclose(images.inputs("features", "linear", "test")[:5], want)
    assert images.full is False


def test_model_inputs_are_prepared_once_and_memory_mapped_by_every_check(data, cache,
                                                                        monkeypatch):
    computed, read = [], []
    real_inputs, real_read = models.model_inputs, grading_cache.read_model_inputs
    monkeypatch.setattr(models, "model_inputs", lambda root: computed.append(1) or
                        real_inputs(root))
    monkeypatch.setattr(grading_cache, "read_model_inputs",
                        lambda *a: read.append(1) or real_read(*a))
    for _ in range(3):  # three students' checks in one worker process
        images = models.CifarImages(data)
        assert isinstance(images.inputs("features", "linear", "val"), np.memmap)
        assert not images.inputs("raw", "linear", "test").flags.writeable
    assert computed == [1]
    assert len(read) == 2  # missing, then the prepared files, once


@pytest.mark.parametrize("damage", ["flip"])
def test_damaged_model_inputs_are_prepared_again_before_a_batch(data, cache, tmp_path, damage):
    tiny = tmp_path / "tiny"
    (tiny / "source" / "assignment1").mkdir(parents=True)
    course = tiny_settings(tiny, kernel_env={"CS231N_CIFAR10_DIR": str(data)})
    assert module_checks.prepare_shared_data(course, lambda m: None) is True
    expected = np.array(models.CifarImages(data).inputs("raw", "two_layer", "test"))
    models._SHARED.clear()
    _damage(grading_cache.model_cache_dir(data) / "raw-two_layer-test.npy", damage)
    logged = []
    assert module_checks.prepare_shared_data(course, logged.append) is True
    assert any("damaged" in m for m in logged), logged
    models._SHARED.clear()
    assert np.array_equal(models.CifarImages(data).inputs("raw", "two_layer", "test"), expected)


def test_a_truncated_model_input_is_never_mapped(data, cache):
    models.CifarImages(data).labels("val")
    models._SHARED.clear()
    _damage(grading_cache.model_cache_dir(data) / "features-val.npy", "truncate")
    images = models.CifarImages(data)
    assert images.inputs("features", "linear", "val").shape[0] == models.split_sizes(250)[1]
    grading_cache.check_model_inputs(data)  # prepared again, whole


@pytest.fixture
def open_folder():
    """A folder every user may cross (pytest's own temporary folders are 0700)."""
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="ck-test-cache-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.mark.parametrize("mode, expected", [(0o700, False), (0o755, True)])
def test_without_bwrap_the_kernel_is_given_the_subset_only_where_its_user_can_read_it(
        data, open_folder, tmp_path, monkeypatch, mode, expected):
    """The uid fallback (Gradescope's containers): the kernel's user sees the host's folders as
    they are; a cache under a private folder (course/.cache/ is 0700 there) is not handed out."""
    private = open_folder / "course-cache"
    private.mkdir()
    private.chmod(mode)
    monkeypatch.setenv(grading_cache.CACHE_ENV, str(private / "grading-data"))
    monkeypatch.setattr(jail, "mode", lambda: "uid")
    monkeypatch.setattr(nbgrade.KernelSettings, "guard", {})
    nbgrade.prepare_scratch(GradingRun(kernel_env={"CS231N_CIFAR10_DIR": str(data)}),
                            folder=tmp_path / "scratch")
    assert (data_utils.GRADING_CACHE_ENV in nbgrade.kernel_env({})) is expected
