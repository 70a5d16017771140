"""Step 1, collect: copy a submission into nbgrader's layout under canonical names.

Students hand in what their LMS, browser or zip tool makes of the folder: `knn (1).ipynb`,
`softmax-Copy1.ipynb`, a wrapping `assignment1/` folder, checkpoints, the whole dataset.
`collect_submission` finds the assignment folder, matches every notebook back to its
expected name, drops what must not be graded (invalid JSON, symlinks, huge files) and
records each decision in a manifest, so the report can say what happened.
"""
import hashlib
import os
import re
import shutil
from pathlib import Path

import nbformat

# Never copied: tool clutter, the dataset, version control.
SKIP_DIRS = {".git", "__pycache__", ".ipynb_checkpoints", "__MACOSX", ".venv", "venv",
             "cifar-10-batches-py", ".cache", "node_modules"}
SKIP_FILES = {".DS_Store", "cifar-10-python.tar.gz"}
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_SEARCH_DEPTH = 3
# "knn (1)", "knn-Copy1", "knn copy 2", "knn_copy", "knn(2)", "knn - Copy", "knn.checkpoint"
_COPY_SUFFIX = re.compile(
    r"(\s*[-_ ]\s*copy\s*\d*|\s*\(\d+\)|[-_ ]checkpoint|[-_ ]v?\d+|[-_ ]final)+$", re.IGNORECASE
)


def canonical_stem(stem):
    """Lower-case notebook stem with copy/version suffixes removed: 'KNN (1)' -> 'knn'."""
    previous = None
    stem = stem.strip()
    while previous != stem:
        previous = stem
        stem = _COPY_SUFFIX.sub("", stem).strip()
    return stem.lower().replace(" ", "_")


def find_assignment_dir(folder, expected):
    """The folder (the submission itself or one below it) holding most expected notebooks."""
    folder = Path(folder)
    wanted = {name.lower() for name in expected}
    best, best_hits = folder, -1
    for dirpath, dirnames, filenames in os.walk(folder):
        depth = len(Path(dirpath).relative_to(folder).parts)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        if depth >= MAX_SEARCH_DEPTH:
            dirnames[:] = []
        hits = len({canonical_stem(Path(f).stem) for f in filenames if f.endswith(".ipynb")}
                   & wanted)
        if hits > best_hits:
            best, best_hits = Path(dirpath), hits
    return best


def match_notebooks(assignment_dir, expected):
    """Map each expected notebook name to the submitted file that stands for it.

    An exact name wins; otherwise the newest file whose canonical stem matches. Returns
    (chosen: {name: Path}, notes: {name: str}, unmatched: [Path]).
    """
    by_canonical = {name.lower(): name for name in expected}
    candidates = {name: [] for name in expected}
    unmatched = []
    for path in sorted(Path(assignment_dir).glob("*.ipynb")):
        name = by_canonical.get(canonical_stem(path.stem))
        (candidates[name] if name else unmatched).append(path)
    chosen, notes = {}, {}
    for name, paths in candidates.items():
        if not paths:
            continue
        exact = [p for p in paths if p.stem == name]
        pick = exact[0] if exact else max(paths, key=lambda p: (p.stat().st_mtime, p.name))
        chosen[name] = pick
        others = [p.name for p in paths if p != pick]
        if pick.stem != name:
            notes[name] = f"graded '{pick.name}' as '{name}.ipynb'"
        if others:
            notes[name] = (notes.get(name, f"graded '{pick.name}'")
                           + f"; ignored other copies: {', '.join(others)}")
    return chosen, notes, unmatched


def read_notebook(path):
    """Parse and validate a notebook; returns (notebook, None) or (None, error message)."""
    try:
        with open(path, encoding="utf-8") as f:
            nb = nbformat.read(f, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # any parse/validation failure means "invalid notebook"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return None, f"{type(exc).__name__}: {first_line[:200]}"
    return nb, None


def collect_submission(src, dest, expected):
    """Copy the submission `src` into `dest` (nbgrader's submitted/<student>/<assignment>).

    Returns the manifest: per notebook its status ("ok", "renamed", "missing", "invalid")
    and message, the skipped files, and a fingerprint of everything copied.
    """
    src, dest = Path(src), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    manifest = {"source": str(src), "notebooks": {}, "skipped": [], "extra_notebooks": []}
    if not src.is_dir():
        for name in expected:
            manifest["notebooks"][name] = {"status": "missing", "message": f"{src} is not a folder"}
        manifest["fingerprint"] = fingerprint(dest)
        return manifest
    assignment_dir = find_assignment_dir(src, expected)
    manifest["assignment_dir"] = str(assignment_dir.relative_to(src))
    chosen, notes, unmatched = match_notebooks(assignment_dir, expected)
    manifest["extra_notebooks"] = [p.name for p in unmatched]
    for name in expected:
        path = chosen.get(name)
        if path is None:
            manifest["notebooks"][name] = {
                "status": "missing", "message": f"no {name}.ipynb in the submission"}
            continue
        nb, error = read_notebook(path)
        if nb is None:
            manifest["notebooks"][name] = {
                "status": "invalid", "file": path.name,
                "message": f"{path.name} is not a valid notebook ({error}); it scores 0"}
            continue
        nbformat.write(nb, str(dest / f"{name}.ipynb"))
        status = "renamed" if path.stem != name else "ok"
        manifest["notebooks"][name] = {"status": status, "file": path.name,
                                       "message": notes.get(name, "")}
    _copy_other_files(assignment_dir, dest, manifest["skipped"])
    manifest["fingerprint"] = fingerprint(dest)
    return manifest


def _copy_other_files(src, dest, skipped):
    for dirpath, dirnames, filenames in os.walk(src):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for d in list(dirnames):
            if (here / d).is_symlink():
                skipped.append(f"{(here / d).relative_to(src)} (symbolic link)")
                dirnames.remove(d)
        for fname in sorted(filenames):
            path = here / fname
            rel = path.relative_to(src)
            if fname.endswith(".ipynb") or fname in SKIP_FILES:
                continue
            if path.is_symlink():
                skipped.append(f"{rel} (symbolic link)")
                continue
            if not path.is_file():
                continue
            if path.stat().st_size > MAX_FILE_BYTES:
                skipped.append(f"{rel} (larger than {MAX_FILE_BYTES // 2**20} MB)")
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def install_given_files(course_root, dest, given_files):
    """Put the course's copy of each given file into the collected submission `dest`.

    Only into a submission that has the package folder (a missing package stays missing, and
    is reported by the module checks). Returns the notices for the student: which files were
    supplied or replaced, so that an edit in a given file never goes unexplained.
    """
    notices = []
    for rel in given_files:
        source = Path(course_root) / rel
        target = Path(dest) / rel
        if not source.is_file():
            raise FileNotFoundError(
                f"given file {rel} is not in the course at {course_root}: restore it, or "
                "remove it from Course.given_files")
        if not target.parent.is_dir():
            continue
        new = source.read_bytes()
        if target.is_file() and not target.is_symlink():
            if target.read_bytes() == new:
                continue
            notices.append(f"{rel}: your copy differs from the course's; graded with the "
                           "course's copy (it holds given code only: keep your changes in the "
                           "files with TODOs)")
        else:
            notices.append(f"{rel} was missing: graded with the course's copy")
        if target.is_symlink() or target.exists():
            target.unlink()
        target.write_bytes(new)
    return notices


def fingerprint(folder):
    """sha256 over the relative paths and bytes of every file under `folder`."""
    digest = hashlib.sha256()
    folder = Path(folder)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(b"\0")
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
