"""Small synthetic datasets in the exact CIFAR-10 "python version" format.

Tests of the loaders, the classifiers and the grader need CIFAR-shaped data but must not download
anything and must run in seconds. `write_synthetic_cifar10` writes the same files as the official
archive (``data_batch_1..5``, ``test_batch``, ``batches.meta``: pickled dicts, uint8 rows of 3072
with the R plane, then G, then B) so that any loader written for the official files reads them.

The classes are learnable on purpose: every class has its own blocky colour template, and every
image is its class template plus a brightness shift and pixel noise. kNN, softmax and small nets
all score far above chance on it within seconds.

Command line::

    python -m coursekit.synthetic DEST [--num-train N] [--num-test N] [--seed S] [--key-style bytes]
"""
import argparse
import os
import pickle
import sys

import numpy as np

LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer",
               "dog", "frog", "horse", "ship", "truck"]
NUM_CLASSES = len(LABEL_NAMES)
NUM_TRAIN_BATCHES = 5
FOLDER_NAME = "cifar-10-batches-py"
KEY_STYLES = ("str", "bytes")

# Pixel noise and per-image brightness spread (grey levels): large enough that the task is not a
# lookup, small enough that the class templates (spread over about 0..255) stay separable.
NOISE_STD = 40.0
BRIGHTNESS_STD = 15.0


def _class_templates(rng):
    """One (32, 32, 3) float template per class: a 4x4 grid of random colours, upsampled."""
    coarse = rng.uniform(20.0, 235.0, size=(NUM_CLASSES, 4, 4, 3))
    return coarse.repeat(8, axis=1).repeat(8, axis=2)


def _make_split(rng, templates, num, label_noise=0.0):
    """Balanced labels (shuffled) and uint8 rows of 3072 in the official plane order; a share
    label_noise of the images then get a label drawn at random."""
    labels = rng.permutation(np.arange(num) % NUM_CLASSES)
    images = templates[labels]
    if label_noise:
        relabel = rng.random(num) < label_noise
        labels = np.where(relabel, rng.integers(0, NUM_CLASSES, size=num), labels)
    images = images + rng.normal(0.0, BRIGHTNESS_STD, size=(num, 1, 1, 1))
    images = images + rng.normal(0.0, NOISE_STD, size=images.shape)
    images = np.clip(np.rint(images), 0, 255).astype(np.uint8)
    rows = images.transpose(0, 3, 1, 2).reshape(num, 3 * 32 * 32)  # R plane, G plane, B plane
    return rows, labels.tolist()


def _encode(value, key_style):
    """Strings become bytes in the "bytes" style (Python-2 pickles read with encoding='bytes')."""
    if key_style == "bytes":
        if isinstance(value, str):
            return value.encode("latin1")
        if isinstance(value, list):
            return [_encode(v, key_style) for v in value]
    return value


def _dump(path, entries, key_style):
    batch = {_encode(key, key_style): _encode(value, key_style) for key, value in entries.items()}
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)


def write_synthetic_cifar10(dest_dir, num_train=500, num_test=100, seed=0, key_style="str",
                            label_noise=0.0):
    """
    Write a synthetic CIFAR-10 in the official python format.

    Inputs:
    - dest_dir: folder in which `cifar-10-batches-py/` is created (created if missing).
    - num_train: number of training images, split over data_batch_1..5 (at least 5).
    - num_test: number of test images in test_batch (at least 1).
    - seed: seed of the generator; the same seed gives the same files.
    - key_style: "str" writes str keys ('data', 'labels'); "bytes" writes bytes keys
      (b'data', b'labels') and bytes strings, like the Python-2 originals read with
      encoding='bytes'.
    - label_noise: share of the images (0 to 1) whose label is drawn at random instead of being
      their class's. No classifier gets those right, except one fitted to those very images:
      accuracy stays near 1 - 0.9 * label_noise, as hard images keep it low on CIFAR-10.

    Returns:
    - The path (str) of dest_dir/cifar-10-batches-py.
    """
    if key_style not in KEY_STYLES:
        raise ValueError(f"write_synthetic_cifar10: key_style must be one of {KEY_STYLES}, "
                         f"got {key_style!r}")
    if num_train < NUM_TRAIN_BATCHES or num_test < 1:
        raise ValueError(f"write_synthetic_cifar10: need num_train >= {NUM_TRAIN_BATCHES} and "
                         f"num_test >= 1, got num_train={num_train}, num_test={num_test}")
    rng = np.random.default_rng(seed)
    templates = _class_templates(rng)
    out = os.path.join(os.fspath(dest_dir), FOLDER_NAME)
    os.makedirs(out, exist_ok=True)

    X, y = _make_split(rng, templates, num_train, label_noise)
    bounds = np.linspace(0, num_train, NUM_TRAIN_BATCHES + 1).astype(int)
    for b in range(NUM_TRAIN_BATCHES):
        lo, hi = bounds[b], bounds[b + 1]
        _dump(os.path.join(out, f"data_batch_{b + 1}"), {
            "batch_label": f"training batch {b + 1} of {NUM_TRAIN_BATCHES}",
            "labels": y[lo:hi],
            "data": X[lo:hi],
            "filenames": [f"synthetic_train_{i:05d}.png" for i in range(lo, hi)],
        }, key_style)

    X, y = _make_split(rng, templates, num_test, label_noise)
    _dump(os.path.join(out, "test_batch"), {
        "batch_label": "testing batch 1 of 1",
        "labels": y,
        "data": X,
        "filenames": [f"synthetic_test_{i:05d}.png" for i in range(num_test)],
    }, key_style)

    _dump(os.path.join(out, "batches.meta"), {
        "label_names": list(LABEL_NAMES),
        "num_cases_per_batch": int(bounds[1] - bounds[0]),
        "num_vis": 3 * 32 * 32,
    }, key_style)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m coursekit.synthetic",
        description="Write a small synthetic CIFAR-10 (official python format, learnable classes) "
                    "into DEST/cifar-10-batches-py and print that folder.")
    parser.add_argument("dest", metavar="DEST", help="folder to write cifar-10-batches-py into")
    parser.add_argument("--num-train", type=int, default=500, help="training images (default 500)")
    parser.add_argument("--num-test", type=int, default=100, help="test images (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--key-style", choices=KEY_STYLES, default="str",
                        help="pickle dict keys as str (default) or bytes (Python-2 style)")
    args = parser.parse_args(argv)
    try:
        path = write_synthetic_cifar10(args.dest, args.num_train, args.num_test, args.seed,
                                       args.key_style)
    except ValueError as err:
        parser.error(str(err))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
