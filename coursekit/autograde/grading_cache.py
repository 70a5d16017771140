"""The grading data cache: what the grader prepares once per dataset, before any kernel starts.

Grading uses a small part of CIFAR-10 over and over (every notebook of every student, every
student's saved models), so the grader prepares it once per dataset, as .npy files, in
.cache/grading-data/ of the course (cache_root()):

- notebooks/cifar10-<fingerprint>/: the grading subset (the first training and test images the
  notebooks use in grading mode) and the features of its images, computed with the course's
  own cs231n/features.py. The notebooks' kernels get this folder read-only in their jail and
  its path in $CS231N_GRADING_CACHE; the given cs231n/data_utils.py and notebook_utils.py read
  it there (load_CIFAR10, grading_features).
- models/cifar10-<fingerprint>/: the inputs the saved models are scored on (coursekit/grader/
  models.py, `model_inputs`), memory-mapped by every grading process.

The fingerprint (cs231n/data_utils.py `dataset_fingerprint`) names the dataset: a changed
dataset gets new folders, never stale images. A Dask worker grades with a copy of the course
unpacked per course version: its cache is the machine's (`machine_cache_root`), shared by its
workers and kept between runs, one per version of the code that computes it. Every file is
checked against the digest written with it; a damaged folder is prepared again. The format
(`write_array_folder`, `read_array_folder`) is the given data_utils.py's, the one place both
sides read.
"""
import os
import time
from pathlib import Path

from coursekit.grader.master import REPO_ROOT, master_module

# Another folder for the whole cache (a shared disk, a test's own): this variable.
CACHE_ENV = "COURSEKIT_GRADING_CACHE"


def cache_root():
    """$COURSEKIT_GRADING_CACHE, else .cache/grading-data/ of the course."""
    return Path(os.environ.get(CACHE_ENV) or REPO_ROOT / ".cache" / "grading-data")


def machine_cache_root():
    """The grading cache of every copy of this course's grading code on this machine (a Dask
    worker's bundles, cluster.py): <user cache>/coursekit/grading-data/<code>, where <code> is
    a digest of the files that compute the arrays (`producers`). Preparing it costs minutes of
    CPU (the features of 49,000 training images); in the bundle's own folder every new worker,
    and every change of the course, would pay them again."""
    import hashlib

    digest = hashlib.sha256()
    for path in producers():
        digest.update(Path(path).name.encode() + b"\0" + Path(path).read_bytes())
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "coursekit" / "grading-data" / digest.hexdigest()[:16]


def producers():
    """The files whose code computes what the cache holds: the course's data_utils.py and
    features.py, the saved models' inputs (coursekit/grader/models.py) and this module."""
    from coursekit.grader import models

    return [data_utils().__file__, master_module("features").__file__, models.__file__, __file__]


def data_utils():
    """The course's own cs231n/data_utils.py (never a submission's)."""
    return master_module("data_utils")


def notebook_cache_dir(cache_root_dir=None):
    """The folder of the notebooks' prepared subsets (the kernels' $CS231N_GRADING_CACHE)."""
    return Path(cache_root_dir or cache_root()) / "notebooks"


def model_cache_dir(data_dir, cache_root_dir=None):
    """The folder of the saved models' prepared inputs of the dataset in data_dir."""
    fingerprint = data_utils().dataset_fingerprint(str(data_dir))
    return Path(cache_root_dir or cache_root()) / "models" / f"cifar10-{fingerprint}"


def subset_features(images):
    """The features of `images` (n, 32, 32, 3) that features.ipynb computes, with the course's
    cs231n/features.py."""
    from coursekit.grader.models import feature_functions

    return master_module("features").extract_features(images, feature_functions())


def prepare_notebook_data(data_dir, cache_root_dir=None, log=print):
    """Make sure the notebooks' grading subset of the dataset in data_dir, with its features, is
    prepared; returns its cache folder (notebook_cache_dir), or None when it cannot be written
    (the notebooks then load the whole dataset, as without a cache)."""
    du = data_utils()
    cache = notebook_cache_dir(cache_root_dir)
    names = du.SUBSET_ARRAYS + du.GRADING_FEATURES
    try:
        du.read_grading_subset(str(data_dir), str(cache), names)
        return cache
    except FileNotFoundError:
        log(f"coursekit autograde: preparing the notebooks' grading subset of CIFAR-10 in "
            f"{cache} (once per dataset)")
    except (du.DamagedSubset, OSError) as exc:
        log(f"coursekit autograde: the prepared grading subset is damaged ({exc}); "
            "preparing it again")
    start = time.monotonic()
    try:
        arrays = du.grading_subset(str(data_dir))
        arrays["features_train"] = subset_features(arrays["X_train"])
        arrays["features_test"] = subset_features(arrays["X_test"])
        du.write_grading_subset(str(data_dir), str(cache), arrays)
        cache.chmod(0o755)  # mounted in the kernels' jails, whose user is not the grader
        du.read_grading_subset(str(data_dir), str(cache), names)
    except (du.DamagedSubset, OSError) as exc:
        log(f"coursekit autograde: the grading subset could not be prepared in {cache} ({exc}); "
            "the notebooks load the whole dataset instead (slower, same grades)")
        return None
    log(f"coursekit autograde: grading subset ready ({time.monotonic() - start:.1f} s)")
    return cache


def read_model_inputs(data_dir, names, cache_root_dir=None):
    """({name: read-only memory-mapped array}, info) of the saved models' inputs of the dataset
    in data_dir; FileNotFoundError when they are not prepared, DamagedSubset when damaged."""
    du = data_utils()
    folder = model_cache_dir(data_dir, cache_root_dir)
    fingerprint = du.dataset_fingerprint(str(data_dir))
    manifest = du.read_manifest(str(folder), fingerprint)
    return du.read_array_folder(str(folder), names, fingerprint, mmap=True), manifest["info"]


def check_model_inputs(data_dir, cache_root_dir=None):
    """Raise FileNotFoundError or DamagedSubset unless every prepared model input is whole
    (every file's digest checked: done once per run, by the process that prepares them)."""
    du = data_utils()
    folder = model_cache_dir(data_dir, cache_root_dir)
    fingerprint = du.dataset_fingerprint(str(data_dir))
    names = list(du.read_manifest(str(folder), fingerprint)["arrays"])
    du.read_array_folder(str(folder), names, fingerprint)


def write_model_inputs(data_dir, arrays, info, cache_root_dir=None):
    du = data_utils()
    du.write_array_folder(str(model_cache_dir(data_dir, cache_root_dir)), arrays,
                          du.dataset_fingerprint(str(data_dir)), info)
