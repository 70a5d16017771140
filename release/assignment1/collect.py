"""Zip your submission: python collect.py [--output a1_submission.zip] [--allow-missing]

The zip holds the notebooks (run, with their outputs), every .py file of cs231n/ and the
models the notebooks saved in cs231n/saved/. Run it in the assignment folder (where this file
is). It refuses when something required is missing and says what to do; --allow-missing zips
what there is anyway (for a partial submission) after listing what is missing. It warns about
notebooks whose saved outputs hold errors or failing tests (and still writes the zip).
"""
import argparse
import json
import os
import sys
import textwrap
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
# The notebooks, and the model files they save for the autograder with the notebook that saves
# each: written by `make release` from the course manifest.
NOTEBOOKS = [
    "knn.ipynb",
    "softmax.ipynb",
    "two_layer_net.ipynb",
    "features.ipynb",
    "FullyConnectedNets.ipynb",
]  # from course.toml
MODELS = {
    "softmax.npy": "softmax.ipynb",
    "best_softmax.npy": "softmax.ipynb",
    "best_two_layer_net.npy": "two_layer_net.ipynb",
    "best_softmax_features.npy": "features.ipynb",
    "best_two_layer_net_features.npy": "features.ipynb",
}  # from course.toml
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


def _in(count):
    return f"In [{count}]" if count is not None else "In [ ]"


def _is_test_cell(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution")


def _has_code(cell):
    source = "".join(cell.get("source", ""))
    return any(line.strip() and not line.strip().startswith("#") for line in source.splitlines())


def _first_line(error):
    lines = str(error.get("evalue", "")).strip().splitlines()
    ename = error.get("ename", "Error")
    if lines:
        return f"{ename}: {lines[0]}"
    if ename == "NotImplementedError":
        return "NotImplementedError (a cell or function you have not written yet)"
    return ename


def notebook_errors(path):
    """What the saved outputs of a notebook say went wrong: one line per error output (its
    cell's In [n], the test's grade id for a test cell, the error's first line), and a line for
    the code cells below the first error that never ran. [] when nothing went wrong (or the file
    cannot be read: notebook_problem says so)."""
    try:
        with open(path, encoding="utf-8") as f:
            cells = json.load(f).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return []
    found, first, not_run = [], None, 0
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        if first is not None and cell.get("execution_count") is None and _has_code(cell):
            not_run += 1
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"),
                     None)
        if error is None:
            continue
        count = cell.get("execution_count")
        first = count if first is None else first
        if _is_test_cell(cell):
            grade_id = cell["metadata"]["nbgrader"].get("grade_id", "")
            found.append(f"failing test {grade_id}, {_in(count)}: {_first_line(error)}")
        else:
            found.append(f"error in {_in(count)}: {_first_line(error)}")
    if not_run:
        found.append(f"{not_run} code cell(s) below {_in(first)} never ran (Run All stops at the "
                     "first error), so what they compute and the models they save are missing")
    return found


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


def print_error_warning(errors):
    def say(text, prefix, indent):
        print(textwrap.fill(text, 100, initial_indent=prefix, subsequent_indent=indent,
                            break_long_words=False, break_on_hyphens=False), file=sys.stderr)

    print("collect.py: warning: the saved outputs of these notebooks hold errors:",
          file=sys.stderr)
    for name, found in errors.items():
        print(f"  {name}:", file=sys.stderr)
        for line in found:
            say(line, "    - ", "      ")
    say("The autograder runs your notebooks again and grades your saved models: a failing test "
        "here will most likely fail there too. Fix the cell, then run the notebook with "
        "Kernel > Restart & Run All and save it. To go on below a failing cell without "
        "running everything again, select the cell after it and use Run > Run Selected Cell "
        "and All Below, so that the cells below it run and the models are still saved. Then "
        "run python collect.py again.", "  ", "  ")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="a1_submission.zip", help="zip file to write")
    parser.add_argument("--allow-missing", action="store_true",
                        help="zip what there is even if something required is missing")
    parser.add_argument("--root", default=HERE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    files, problems = files_to_zip(args.root)
    errors = {name: notebook_errors(os.path.join(args.root, name)) for name in NOTEBOOKS
              if os.path.exists(os.path.join(args.root, name))}
    errors = {name: found for name, found in errors.items() if found}
    if errors:
        print_error_warning(errors)
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
    print(f"collect.py: wrote {output} ({len(files)} files). Hand in this file"
          + (" (or better, fix the errors listed above first and collect again)." if errors
             else "."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
