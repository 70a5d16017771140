"""Read and copy a student's folder as untrusted data: no link followed, every size bounded.

A submission is made by someone who may be hostile, and so is whatever student code writes
while it is graded. The grading host (collect, nbgrader's set-up, publishing autograded/)
touches such a folder only through this module:

- no link is ever followed below the folder's top: every path is opened one component at a
  time with O_NOFOLLOW, relative to the descriptor of its parent, and checked against what
  `lstat` saw. A link (`knn.ipynb -> /course/source/assignment1/knn.ipynb`, `cs231n ->
  /course/cs231n`) is refused with a notice naming it, also one that appears while the folder
  is being read;
- only regular files and folders are taken; a named pipe (it would block the grader), a
  socket or a device is refused with a notice;
- a file's size is the larger of its apparent length and the bytes it really occupies
  (`max(st_size, st_blocks * 512)`), so a sparse file of 4 GB holding nothing does not pass as
  small; a file is read at most up to its limit (one that grows while it is read is refused);
- the number of entries looked at, how deep they are and their total size are bounded, so a
  million files, deep nesting or a whole dataset cannot stall or fill the grading machine.

The limits are one `Limits` value, `Course.submission_limits` (default `LIMITS` below). A file
over a limit is left out with a notice in words a student can act on; the rest is graded.

`snapshot`/`verify` record a copy the host made and prove later that it is unchanged, and
`write_file`/`reset_folder` write into or empty a folder that student code may have worked in
without ever writing through a link it left there.
"""
import errno
import hashlib
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MB = 2**20


@dataclass(frozen=True)
class Limits:
    """What one submission may hold. Sizes are bytes, counted as `occupied` does."""

    # Files and folders looked at, the tool folders collect skips (.git, caches, the dataset)
    # not counted: a finished assignment has about 40, a copied virtualenv tens of thousands.
    max_entries: int = 2000
    # One file. The largest file of a finished assignment is a saved model of about 7 MB.
    max_file_bytes: int = 50 * MB
    # One notebook. Run to the end with its figures, a notebook of this assignment is 1-5 MB;
    # a bigger one is refused (it scores 0, with a notice) instead of being parsed and run.
    max_notebook_bytes: int = 20 * MB
    # Everything taken from one submission together (notebooks included).
    max_total_bytes: int = 200 * MB
    # Folders below the assignment folder (cs231n/classifiers is 2 deep).
    max_depth: int = 8


LIMITS = Limits()


class Refused(Exception):
    """A file or folder the grader does not take; str(exc) is the notice for the student.
    `too_large` tells a size limit from the other reasons (a link, a fifo)."""

    def __init__(self, message, too_large=False):
        super().__init__(message)
        self.too_large = too_large


class Tampered(RuntimeError):
    """A copy the host made changed after it was made (student code reached it)."""


def occupied(st):
    """Bytes a file counts for: its apparent length or the blocks it really uses, the larger."""
    return max(st.st_size, st.st_blocks * 512)


def size_text(n):
    return f"{n / MB:.1f} MB" if n < 1024 * MB else f"{n / 1024 / MB:.1f} GB"


_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a named pipe"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))


def _not_regular(rel, st):
    kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
    if stat.S_ISLNK(st.st_mode):
        return Refused(f"{rel} is a symbolic link: the grader does not follow links, so it was "
                       "not graded (hand in the file or folder itself, not a link to it)")
    return Refused(f"{rel} is {kind}, not a regular file: it was not graded")


_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def _open_entry(parent_fd, name, rel, want_dir):
    """Open `name` in `parent_fd` as the folder or regular file lstat says it is, no link."""
    st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    if not (stat.S_ISDIR(st.st_mode) if want_dir else stat.S_ISREG(st.st_mode)):
        if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
            raise Refused(f"{rel} is not a {'folder' if want_dir else 'file'}")
        raise _not_regular(rel, st)
    try:
        fd = os.open(name, _OPEN | (os.O_DIRECTORY if want_dir else 0), dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # replaced by a link since the lstat
            raise Refused(f"{rel} changed into a link while the grader read it: it was not "
                          "graded") from None
        raise
    opened = os.fstat(fd)
    if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
        os.close(fd)
        raise Refused(f"{rel} was replaced while the grader read it: it was not graded")
    return fd, opened


def _open_path(root, rel, want_dir):
    """Open `root/rel`: `root` as the caller names it, every component below without links."""
    parts = PurePosixPath(rel).parts
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    st = os.fstat(fd)
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            shown = PurePosixPath(*parts[:i + 1])
            new, st = _open_entry(fd, part, shown, want_dir or not last)
            os.close(fd)
            fd = new
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _read_open(fd, st, rel, limit, what, cut=False):
    """Read the regular file open on `fd` (closed here), refused over `limit` bytes (or, with
    `cut`, its first `limit` bytes)."""
    with os.fdopen(fd, "rb") as f:
        if cut:
            return f.read(limit)
        if occupied(st) > limit:
            raise Refused(f"{rel} is {size_text(occupied(st))}, over the grader's limit of "
                          f"{size_text(limit)} per {what}: it was not graded", too_large=True)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise Refused(f"{rel} grew over the grader's limit of {size_text(limit)} per {what} "
                      "while it was read: it was not graded", too_large=True)
    return data


def read_file(root, rel, max_bytes, what="file", cut=False):
    """The bytes of the regular file `root/rel`, refused (Refused) over `max_bytes`, or with
    `cut` its first `max_bytes` bytes."""
    fd, st = _open_path(root, rel, want_dir=False)
    return _read_open(fd, st, rel, max_bytes, what, cut)


def write_file(path, data, mode=0o644):
    """Create `path` anew with `data`. Whatever was there (a link student code left) is
    removed, never written through: O_CREAT | O_EXCL refuses to open a link."""
    path = Path(path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def reset_folder(path):
    """Make `path` an empty folder of ours, whatever student code left there (links, folders it
    made unreadable): the old entry is renamed away first (a rename never follows a link),
    then removed."""
    path = Path(path)
    if os.path.lexists(path):
        trash = path.with_name(f".{path.name}.old-{os.getpid()}-{os.urandom(4).hex()}")
        os.rename(path, trash)
        if trash.is_symlink() or not trash.is_dir():
            trash.unlink()
        else:
            shutil.rmtree(trash, ignore_errors=True)  # rmtree never follows links (fd-based)
    path.mkdir(parents=True)
    return path


class Copier:
    """Takes files out of one untrusted folder within one `Limits`, shared by every call, so
    that the notebooks and the other files of a submission count toward the same total."""

    def __init__(self, root, limits=LIMITS):
        self.root = Path(root)
        self.limits = limits
        self.total = 0
        self.entries = 0

    def read(self, rel, max_bytes=None, what="file"):
        """The bytes of `rel` (relative to the root), counted toward the total."""
        fd, st = _open_path(self.root, rel, want_dir=False)
        return self._take(fd, st, rel, max_bytes or self.limits.max_file_bytes, what)

    def _take(self, fd, st, rel, limit, what):
        room = self.limits.max_total_bytes - self.total
        if limit >= occupied(st) > room:
            os.close(fd)
            raise Refused(self._total_notice(rel), too_large=True)
        data = _read_open(fd, st, rel, limit, what)
        if len(data) > room:
            raise Refused(self._total_notice(rel), too_large=True)
        self.total += len(data)
        return data

    def _total_notice(self, rel):
        return (f"{rel} was not graded: the files before it already reach the grader's limit "
                f"of {size_text(self.limits.max_total_bytes)} for a whole submission (remove "
                "datasets, checkpoints and other large files that are not part of it)")

    def copy_tree(self, rel, dest, skip_dirs=(), skip_files=(), skip_suffixes=()):
        """Copy the folder `rel` (relative to the root) into the new folder `dest`: regular
        files and folders only, within the limits. Returns the notices, one per entry left out.
        Entries named in skip_dirs/skip_files or ending in skip_suffixes are left out silently
        (tool clutter, files handled elsewhere)."""
        notices = []
        fd, _ = _open_path(self.root, rel, want_dir=True)
        try:
            self._copy_dir(fd, PurePosixPath(rel), Path(dest), 0, notices,
                           (set(skip_dirs), set(skip_files), tuple(skip_suffixes)))
        except _Stop as stop:
            notices.append(str(stop))
        finally:
            os.close(fd)
        return notices

    def _copy_dir(self, dir_fd, rel, dest, depth, notices, skips):
        skip_dirs, skip_files, skip_suffixes = skips
        dest.mkdir(parents=True, exist_ok=True)
        with os.scandir(dir_fd) as it:
            names = sorted(entry.name for entry in it)
        for name in names:
            path = rel / name
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            if name in (skip_dirs if is_dir else skip_files) or (
                    not is_dir and name.endswith(skip_suffixes)):
                continue
            self.entries += 1
            if self.entries > self.limits.max_entries:
                raise _Stop(f"the submission has more than {self.limits.max_entries} files and "
                            f"folders (.git, caches and the dataset not counted): the grader "
                            f"left out everything from {path} on, in alphabetical order; "
                            "remove what is not part of the assignment")
            try:
                if is_dir:
                    if depth + 1 > self.limits.max_depth:
                        raise Refused(f"{path} is nested more than {self.limits.max_depth} "
                                      "folders deep: it was not graded")
                    sub, _ = _open_entry(dir_fd, name, path, want_dir=True)
                    try:
                        self._copy_dir(sub, path, dest / name, depth + 1, notices, skips)
                    finally:
                        os.close(sub)
                    continue
                if not stat.S_ISREG(st.st_mode):
                    raise _not_regular(path, st)
                fd, opened = _open_entry(dir_fd, name, path, want_dir=False)
                write_file(dest / name, self._take(fd, opened, path,
                                                   self.limits.max_file_bytes, "file"))
            except Refused as exc:
                notices.append(str(exc))
            except FileNotFoundError:
                continue  # gone since the listing: nothing to copy


class _Stop(Exception):
    """Too many entries: the copy ends here."""


def snapshot(folder, expected=None):
    """{relative path: what it is} of everything under `folder`, links and other non-regular
    entries included (so that `verify` sees them): "dir", "link", "other", or the size and
    sha256 of a regular file. With `expected` (an earlier snapshot), it stops one entry past
    its length and hashes only files of the expected size: a changed folder may hold millions
    of entries or gigabytes."""
    seen = {}
    folder = Path(folder)
    for dirpath, dirnames, filenames in os.walk(folder):  # os.walk does not enter links
        for name in sorted(dirnames + filenames):
            if expected is not None and len(seen) > len(expected):
                return seen
            path = Path(dirpath, name)
            rel = path.relative_to(folder).as_posix()
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode):
                seen[rel] = "dir"
            elif not stat.S_ISREG(st.st_mode):
                seen[rel] = "link" if stat.S_ISLNK(st.st_mode) else "other"
            elif expected is not None and not str(expected.get(rel)).startswith(
                    f"{st.st_size}:"):
                seen[rel] = f"{st.st_size}:"
            else:
                seen[rel] = f"{st.st_size}:{_sha256(folder, rel)}"
    return seen


def _sha256(folder, rel):
    try:
        fd, _ = _open_path(folder, rel, want_dir=False)
    except Refused:
        return "changed"
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(folder, expected):
    """Raise Tampered unless `folder` holds exactly what `snapshot` recorded in `expected`."""
    actual = snapshot(folder, expected)
    if actual == expected:
        return
    changed = sorted(k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k))
    raise Tampered(f"{folder} changed after the grader copied it ({', '.join(changed[:5])}): "
                   "student code reached a folder it must not write; this submission was not "
                   "graded (check the grading sandbox)")
