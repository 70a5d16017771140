"""The grading subset and the grader's cache on the real CIFAR-10: the same images as the full
load, and features equal to the course's features.py."""
import numpy as np
import pytest

import cs231n.data_utils as data_utils
from coursekit.autograde import grading_cache
from cs231n import features

pytestmark = pytest.mark.realdata


def test_the_grading_subset_is_the_first_images_of_the_real_dataset(cifar10_dir, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setenv("CS231N_GRADING_MODE", "1")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv(data_utils.GRADING_CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    Xtr, ytr, Xte, yte = data_utils.load_all_CIFAR10(cifar10_dir)
    data_utils.load_CIFAR10(cifar10_dir)  # the first run prepares it
    got = data_utils.load_CIFAR10(cifar10_dir)
    assert len(list((tmp_path / "xdg").rglob("X_train.npy"))) == 1  # read from there
    expected = (Xtr[:1200], ytr[:1200], Xte[:200], yte[:200])
    for array, want in zip(got, expected, strict=True):
        assert array.dtype == want.dtype and np.array_equal(array, want)


def test_the_graders_features_are_the_course_features_of_the_real_subset(cifar10_dir, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv(grading_cache.CACHE_ENV, str(tmp_path / "cache"))
    cache = grading_cache.prepare_notebook_data(cifar10_dir, log=lambda m: None)
    arrays = data_utils.read_grading_subset(cifar10_dir, str(cache),
                                            data_utils.SUBSET_ARRAYS + data_utils.GRADING_FEATURES)
    fns = [features.hog_feature, lambda im: features.color_histogram_hsv(im, nbin=25)]
    for split in ("train", "test"):
        rows = arrays[f"X_{split}"][::97]  # a sample of the images: every 97th
        assert np.array_equal(arrays[f"features_{split}"][::97],
                              features.extract_features(rows, fns))
