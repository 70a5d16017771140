"""Step 1, collect: copy a submission into nbgrader's layout under canonical names.

Students hand in what their LMS, browser or zip tool makes of the folder: `knn (1).ipynb`,
`softmax-Copy1.ipynb`, a wrapping `assignment1/` folder, checkpoints, the whole dataset.
`collect_submission` finds the assignment folder, matches every notebook back to its
expected name, drops what must not be graded (invalid JSON, links, fifos, files over the
limits of `untrusted.Limits`) and records each decision in a manifest, so the report can say
what happened. Every byte is read through `untrusted`: no link is followed, sizes count the
disk space a file really takes, and the copy is made before any student code runs.
"""
import hashlib
import json
import os
import re
import stat
from pathlib import Path

import nbformat

from coursekit import untrusted

# Never copied: tool clutter, the dataset, version control.
SKIP_DIRS = {".git", "__pycache__", ".ipynb_checkpoints", "__MACOSX", ".venv", "venv",
             "cifar-10-batches-py", ".cache", "node_modules"}
SKIP_FILES = {".DS_Store", "cifar-10-python.tar.gz"}
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
        hits = len({canonical_stem(Path(f).stem) for f in filenames if f.endswith(".ipynb")
                    and not os.path.islink(os.path.join(dirpath, f))} & wanted)
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
        pick = exact[0] if exact else max(paths, key=lambda p: (p.lstat().st_mtime, p.name))
        chosen[name] = pick
        others = [p.name for p in paths if p != pick]
        if pick.stem != name:
            notes[name] = f"graded '{pick.name}' as '{name}.ipynb'"
        if others:
            notes[name] = (notes.get(name, f"graded '{pick.name}'")
                           + f"; ignored other copies: {', '.join(others)}")
    return chosen, notes, unmatched


def parse_notebook(data):
    """Parse and validate a notebook's bytes; returns (notebook, None) or (None, error)."""
    try:
        text = data.decode("utf-8")
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
        _fixed_ids_for_new_cells(json.loads(text), nb)
    except Exception as exc:  # any parse/validation failure means "invalid notebook"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return None, f"{type(exc).__name__}: {first_line[:200]}"
    return nb, None


def _fixed_ids_for_new_cells(raw, nb):
    """A format 4.5 notebook whose cells lack ids (written by a tool, or edited by hand) gets
    random ids from nbformat when it is read, so the collected copy, and its fingerprint, would
    differ on every run and a rerun could never skip the student. Such cells get ids from their
    position instead. (Before 4.5 cells have no ids at all, and none are added.)"""
    cells = raw.get("cells") if isinstance(raw, dict) else None
    if nb.get("nbformat_minor", 0) < 5 or not isinstance(cells, list) or \
            len(cells) != len(nb.cells):
        return  # no ids in this format, or nothing to match the cells with (format 3)
    taken = {c.get("id") for c in cells if isinstance(c, dict) and "id" in c}
    for index, (saved, cell) in enumerate(zip(cells, nb.cells, strict=True)):
        if isinstance(saved, dict) and "id" not in saved:
            new, n = f"collected-{index}", 0
            while new in taken:
                n += 1
                new = f"collected-{index}-{n}"
            cell.id = new
            taken.add(new)


def collect_submission(src, dest, expected, limits=untrusted.LIMITS):
    """Copy the submission `src` into `dest` (nbgrader's submitted/<student>/<assignment>).

    Returns the manifest: per notebook its status ("ok", "renamed", "missing", "invalid",
    "refused": a link, or over the notebook size limit) and message, the notices about files
    left out ("skipped"), and a fingerprint of everything copied.
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
    # Rooted at the assignment folder (os.walk found it without entering links): notices name
    # files as the student sees them, `cs231n/x.py`.
    copier = untrusted.Copier(assignment_dir, limits)
    for name in expected:
        path = chosen.get(name)
        if path is None:
            manifest["notebooks"][name] = {
                "status": "missing", "message": f"no {name}.ipynb in the submission"}
            continue
        try:
            data = copier.read(path.name, limits.max_notebook_bytes, what="notebook")
        except untrusted.Refused as exc:
            hint = (" (make it smaller: clear the outputs you do not need, such as large "
                    "images, and save it again)") if exc.too_large else ""
            manifest["notebooks"][name] = {"status": "refused", "file": path.name,
                                           "message": f"{exc}; it scores 0{hint}"}
            continue
        nb, error = parse_notebook(data)
        if nb is None:
            manifest["notebooks"][name] = {
                "status": "invalid", "file": path.name,
                "message": f"{path.name} is not a valid notebook ({error}); it scores 0"}
            continue
        untrusted.write_file(dest / f"{name}.ipynb", nbformat.writes(nb).encode("utf-8"))
        status = "renamed" if path.stem != name else "ok"
        manifest["notebooks"][name] = {"status": status, "file": path.name,
                                       "message": notes.get(name, "")}
    manifest["skipped"] = copier.copy_tree(".", dest, skip_dirs=SKIP_DIRS, skip_files=SKIP_FILES,
                                           skip_suffixes=(".ipynb",))
    manifest["fingerprint"] = fingerprint(dest)
    return manifest


def install_given_files(course_root, dest, given_files):
    """Put the course's copy of each given file into the collected submission `dest`.

    Only into a submission that has the package folder (a missing package stays missing, and
    is reported by the module checks). Returns the notices for the student: which files were
    supplied or replaced, so that an edit in a given file never goes unexplained. The
    student's copy is read and replaced without following links.
    """
    notices = []
    for rel in given_files:
        source = Path(course_root) / rel
        target = Path(dest) / rel
        if not source.is_file():
            raise FileNotFoundError(
                f"given file {rel} is not in the course at {course_root}: restore it, or "
                "remove it from GradingRun.given_files")
        if not _is_real_dir(Path(dest), Path(rel).parent):
            continue
        new = source.read_bytes()
        try:  # bounded: any copy much longer than the course's differs anyway
            theirs = untrusted.read_file(dest, rel, len(new) + untrusted.MB)
        except (untrusted.Refused, FileNotFoundError):
            theirs = None
        if theirs == new:
            continue
        if theirs is not None:
            notices.append(f"{rel}: your copy differs from the course's; graded with the "
                           "course's copy (it holds given code only: keep your changes in the "
                           "files with TODOs)")
        else:
            notices.append(f"{rel} was missing: graded with the course's copy")
        untrusted.write_file(target, new)
    return notices


def _is_real_dir(root, rel):
    """Whether every component of `root/rel` below `root` is a folder, not a link."""
    path = root
    for part in rel.parts:
        path = path / part
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                return False
        except FileNotFoundError:
            return False
    return True


def fingerprint(folder):
    """sha256 over the relative paths and bytes of every regular file under `folder`."""
    digest = hashlib.sha256()
    folder = Path(folder)
    files = []
    for dirpath, _, filenames in os.walk(folder):  # links to folders are not entered
        files += [Path(dirpath, f) for f in filenames
                  if stat.S_ISREG(os.lstat(os.path.join(dirpath, f)).st_mode)]
    for path in sorted(files):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(b"\0")
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
