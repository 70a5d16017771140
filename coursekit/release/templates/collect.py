"""Zip your submission: python collect.py [--output a1_submission.zip] [--allow-missing]

The zip holds the five notebooks (run, with their outputs), every .py file of cs231n/ and the
models the notebooks saved in cs231n/saved/. Run it in the assignment folder (where this file
is). It refuses when something required is missing and says what to do; --allow-missing zips
what there is anyway (for a partial submission) after listing what is missing.
"""
import argparse
import json
import os
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
# The assignment's notebooks, in question order. Listed here because this file runs alone,
# with nothing but Python's standard library.
NOTEBOOKS = [
    "knn.ipynb",
    "softmax.ipynb",
    "two_layer_net.ipynb",
    "features.ipynb",
    "FullyConnectedNets.ipynb",
]
# Model files the notebooks save for the autograder, and the notebook that saves each.
MODELS = {
    "softmax.npy": "softmax.ipynb",
    "best_softmax.npy": "softmax.ipynb",
    "best_two_layer_net.npy": "two_layer_net.ipynb",
    "best_softmax_features.npy": "features.ipynb",
    "best_two_layer_net_features.npy": "features.ipynb",
}
SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", "datasets"}
# Fixed timestamp in the zip, so that the same files always give the same zip.
ZIP_DATE = (2025, 1, 1, 0, 0, 0)


def notebook_problem(path):
    """Why a notebook cannot be submitted as it is, or None."""
    try:
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
    except (OSError, ValueError) as err:
        return f"it cannot be read as a notebook ({err}); restore it from a backup"
    cells = nb.get("cells", [])
    if not any(cell.get("outputs") for cell in cells if cell.get("cell_type") == "code"):
        return "it has no outputs: run it (Kernel > Restart & Run All), save it, then collect"
    return None


def files_to_zip(root):
    """(present files, problems): the relative paths to zip and what is missing or wrong."""
    present, problems = [], []
    for name in NOTEBOOKS:
        path = os.path.join(root, name)
        if not os.path.exists(path):
            problems.append(f"{name} is missing: it must be in {root} under exactly this name")
            continue
        problem = notebook_problem(path)
        if problem:
            problems.append(f"{name}: {problem}")
        present.append(name)
    package = os.path.join(root, "cs231n")
    if not os.path.isdir(package):
        problems.append(f"the cs231n/ folder is missing from {root}")
    else:
        for dirpath, dirnames, filenames in os.walk(package):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in sorted(filenames):
                if name.endswith(".py"):
                    present.append(os.path.relpath(os.path.join(dirpath, name), root))
    for name, notebook in MODELS.items():
        rel = os.path.join("cs231n", "saved", name)
        if os.path.exists(os.path.join(root, rel)):
            present.append(rel)
        else:
            problems.append(f"{rel} is missing: run {notebook} to the end, it saves this model")
    saved = os.path.join(root, "cs231n", "saved")
    if os.path.isdir(saved):
        for name in sorted(os.listdir(saved)):
            rel = os.path.join("cs231n", "saved", name)
            if name not in MODELS and not name.startswith(".") and rel not in present:
                present.append(rel)
    return sorted(set(present)), problems


def write_zip(root, files, output):
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for rel in files:
            info = zipfile.ZipInfo(rel.replace(os.sep, "/"), date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with open(os.path.join(root, rel), "rb") as f:
                zf.writestr(info, f.read())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="a1_submission.zip", help="zip file to write")
    parser.add_argument("--allow-missing", action="store_true",
                        help="zip what there is even if something required is missing")
    parser.add_argument("--root", default=HERE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    files, problems = files_to_zip(args.root)
    if problems:
        print("collect.py: your submission is not complete:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        if not args.allow_missing:
            print("Nothing was written. Fix the above and run python collect.py again (or add "
                  "--allow-missing to hand in a partial submission).", file=sys.stderr)
            return 1
    output = os.path.join(args.root, args.output) if not os.path.isabs(args.output) \
        else args.output
    write_zip(args.root, files, output)
    print(f"collect.py: wrote {output} ({len(files)} files). Hand in this file.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
