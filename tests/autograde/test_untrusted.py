"""untrusted: a student's folder is copied as data, no link followed, every size bounded."""
import os
import stat

import pytest

from coursekit import untrusted
from coursekit.untrusted import Copier, Limits, Refused

SMALL = Limits(max_entries=20, max_file_bytes=64 * 1024, max_notebook_bytes=32 * 1024,
               max_total_bytes=160 * 1024, max_depth=3)


@pytest.fixture
def secret(tmp_path):
    """A file of the course the student must never get: the master's answers."""
    path = tmp_path / "course" / "master.py"
    path.parent.mkdir()
    path.write_text("ANSWER = 42\n")
    return path


def tree(root, files):
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def copied(dest):
    return {p.relative_to(dest).as_posix(): p.read_text() for p in sorted(dest.rglob("*"))
            if p.is_file()}


def test_regular_files_and_folders_are_copied(tmp_path):
    src = tree(tmp_path / "src", {"a.py": "a", "pkg/b.py": "b", "pkg/sub/c.py": "c"})
    notices = Copier(src, SMALL).copy_tree(".", tmp_path / "out")
    assert notices == []
    assert copied(tmp_path / "out") == {"a.py": "a", "pkg/b.py": "b", "pkg/sub/c.py": "c"}


def test_links_to_files_and_folders_are_refused_by_name(tmp_path, secret):
    src = tree(tmp_path / "src", {"pkg/own.py": "mine"})
    (src / "leak.py").symlink_to(secret)
    (src / "pkg" / "master").symlink_to(secret.parent)
    notices = Copier(src, SMALL).copy_tree(".", tmp_path / "out")
    assert copied(tmp_path / "out") == {"pkg/own.py": "mine"}
    assert len(notices) == 2
    assert notices[0].startswith("leak.py is a symbolic link") and "not graded" in notices[0]
    assert notices[1].startswith("pkg/master is a symbolic link")


def test_a_fifo_is_refused_without_blocking(tmp_path):
    src = tree(tmp_path / "src", {"a.py": "a"})
    os.mkfifo(src / "pipe")
    notices = Copier(src, SMALL).copy_tree(".", tmp_path / "out")
    assert notices == ["pipe is a named pipe, not a regular file: it was not graded"]
    assert copied(tmp_path / "out") == {"a.py": "a"}


def test_a_sparse_file_counts_its_apparent_size(tmp_path):
    src = tree(tmp_path / "src", {"a.py": "a"})
    with open(src / "sparse.bin", "wb") as f:
        f.truncate(4 * 2**30)     # 4 GB that occupy nothing on disk
    assert os.stat(src / "sparse.bin").st_blocks * 512 < 2**20
    notices = Copier(src, SMALL).copy_tree(".", tmp_path / "out")
    assert notices == ["sparse.bin is 4.0 GB, over the grader's limit of 0.1 MB per file: it "
                       "was not graded"]
    assert not (tmp_path / "out" / "sparse.bin").exists()


def test_many_sparse_files_under_the_file_limit_stop_at_the_total(tmp_path):
    """The measured attack: files of 49 MB that occupy nothing inflated to 3.9 GB once copied."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(10):
        with open(src / f"s{i}.bin", "wb") as f:
            f.truncate(60 * 1024)
    notices = Copier(src, SMALL).copy_tree(".", tmp_path / "out")
    assert sorted(copied(tmp_path / "out")) == ["s0.bin", "s1.bin"]
    assert len(notices) == 8 and all("limit of 0.2 MB for a whole submission" in n
                                     for n in notices)


def test_a_file_counts_the_blocks_it_really_occupies():
    class Stat:
        st_size, st_blocks = 10, 2048     # 10 bytes long, 1 MB allocated (fallocate)
    assert untrusted.occupied(Stat) == 2**20


def test_total_size_leaves_out_the_files_past_it(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in "abcd":
        (src / f"{name}.bin").write_bytes(b"x" * 50 * 1024)
    notices = Copier(src, SMALL).copy_tree(".", tmp_path / "out")
    assert sorted(copied(tmp_path / "out")) == ["a.bin", "b.bin", "c.bin"]
    assert len(notices) == 1 and notices[0].startswith("d.bin was not graded: the files before")


def test_too_many_entries_stop_the_copy_with_one_notice(tmp_path):
    src = tree(tmp_path / "src", {f"f{i:03}.py": "x" for i in range(50)})
    notices = Copier(src, SMALL).copy_tree(".", tmp_path / "out")
    assert len(copied(tmp_path / "out")) == SMALL.max_entries
    assert len(notices) == 1 and "more than 20 files and folders" in notices[0]
    assert "from f020.py on" in notices[0]


def test_deep_folders_are_left_out(tmp_path):
    src = tree(tmp_path / "src", {"a/b/c/ok.py": "ok", "a/b/c/d/deep.py": "deep"})
    notices = Copier(src, SMALL).copy_tree(".", tmp_path / "out")
    assert copied(tmp_path / "out") == {"a/b/c/ok.py": "ok"}
    assert notices == ["a/b/c/d is nested more than 3 folders deep: it was not graded"]


def test_skipped_names_are_left_out_silently(tmp_path):
    src = tree(tmp_path / "src", {".git/config": "x", "nb.ipynb": "{}", "a.py": "a"})
    notices = Copier(src, SMALL).copy_tree(".", tmp_path / "out", skip_dirs={".git"},
                                           skip_suffixes=(".ipynb",))
    assert notices == [] and copied(tmp_path / "out") == {"a.py": "a"}


def test_read_refuses_a_link_anywhere_on_the_path(tmp_path, secret):
    src = tmp_path / "src"
    src.mkdir()
    (src / "pkg").symlink_to(secret.parent)
    (src / "knn.ipynb").symlink_to(secret)
    copier = Copier(src, SMALL)
    with pytest.raises(Refused, match="pkg is a symbolic link"):
        copier.read("pkg/master.py")
    with pytest.raises(Refused, match="knn.ipynb is a symbolic link"):
        copier.read("knn.ipynb", SMALL.max_notebook_bytes, what="notebook")


def test_read_refuses_over_the_limit_and_says_so(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "knn.ipynb").write_bytes(b"x" * 40 * 1024)
    with pytest.raises(Refused) as refused:
        Copier(src, SMALL).read("knn.ipynb", SMALL.max_notebook_bytes, what="notebook")
    assert refused.value.too_large
    assert str(refused.value) == ("knn.ipynb is 0.0 MB, over the grader's limit of 0.0 MB per "
                                  "notebook: it was not graded")


def test_a_link_swapped_in_after_the_listing_is_refused(tmp_path, secret, monkeypatch):
    """The race: lstat saw a file, then the student's process replaced it with a link."""
    src = tree(tmp_path / "src", {"a.py": "a"})
    real_stat, calls = os.stat, []

    def swap_then_stat(name, *args, **kw):
        result = real_stat(name, *args, **kw)
        calls.append(name)
        if calls.count("a.py") == 2:   # the check just before the open
            os.unlink(src / "a.py")
            os.symlink(secret, src / "a.py")
        return result

    monkeypatch.setattr(untrusted.os, "stat", swap_then_stat)
    notices = Copier(src, SMALL).copy_tree(".", tmp_path / "out")
    assert notices == ["a.py changed into a link while the grader read it: it was not graded"]
    assert not (tmp_path / "out" / "a.py").exists()


def test_write_file_replaces_a_link_instead_of_writing_through_it(tmp_path, secret):
    (tmp_path / "graded.ipynb").symlink_to(secret)
    untrusted.write_file(tmp_path / "graded.ipynb", b"graded")
    assert secret.read_text() == "ANSWER = 42\n"
    assert not (tmp_path / "graded.ipynb").is_symlink()
    assert (tmp_path / "graded.ipynb").read_bytes() == b"graded"


def test_reset_folder_empties_whatever_was_left_without_following_links(tmp_path, secret):
    work = tree(tmp_path / "work", {"junk.bin": "x" * 100})
    (work / "cs231n").symlink_to(secret.parent)
    (work / "locked").mkdir()
    (work / "locked").chmod(0)
    untrusted.reset_folder(work)
    assert list(work.iterdir()) == [] and secret.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    link = tmp_path / "link"
    link.symlink_to(secret.parent)
    untrusted.reset_folder(link)   # the folder itself replaced by a link
    assert link.is_dir() and not link.is_symlink() and secret.exists()


@pytest.mark.parametrize("change", ["edit", "add", "remove", "link", "chmod-only"])
def test_verify_sees_every_change_of_a_snapshot(tmp_path, secret, change):
    folder = tree(tmp_path / "copy", {"pkg/a.py": "a", "b.py": "b"})
    before = untrusted.snapshot(folder)
    if change == "edit":
        (folder / "pkg" / "a.py").write_text("A")
    elif change == "add":
        (folder / "pkg" / "__pycache__").mkdir()
    elif change == "remove":
        (folder / "b.py").unlink()
    elif change == "link":
        (folder / "b.py").unlink()
        (folder / "b.py").symlink_to(secret)
    else:
        (folder / "b.py").chmod(stat.S_IRUSR)
    if change == "chmod-only":
        untrusted.verify(folder, before)   # the content is what counts
        return
    with pytest.raises(untrusted.Tampered, match="changed after the grader copied it"):
        untrusted.verify(folder, before)
