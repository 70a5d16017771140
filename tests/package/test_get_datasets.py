"""cs231n/datasets/get_datasets.sh, run against fake downloaders (tests never download).

The script is copied into a temporary folder (it works in its own folder) and run with a PATH
that holds only the tools it needs plus a fake curl and/or wget that copy a local archive.
"""
import hashlib
import os
import shutil
import stat
import subprocess
import tarfile

import numpy as np
import pytest

from coursekit.synthetic import write_synthetic_cifar10
from cs231n.data_utils import load_CIFAR10

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "cs231n", "datasets", "get_datasets.sh")
OFFICIAL_URL = "http://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TOOLS = ["bash", "env", "dirname", "tar", "gzip", "mv", "rm", "cp", "mktemp", "cat"]

FAKE_DOWNLOADER = """#!/usr/bin/env bash
# Fake {name}: logs its arguments, then copies $FAKE_ARCHIVE to the output file it was given.
echo "{name} $*" >> "$FAKE_LOG"
[ -n "${{FAKE_FAIL:-}}" ] && exit 22
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --output) out="$2"; shift 2 ;;
        --output-document=*) out="${{1#--output-document=}}"; shift ;;
        *) shift ;;
    esac
done
cp "$FAKE_ARCHIVE" "$out"
"""


@pytest.fixture(scope="module")
def fake_archive(tmp_path_factory):
    """A cifar-10-python.tar.gz of synthetic batches and its md5."""
    root = tmp_path_factory.mktemp("archive")
    folder = write_synthetic_cifar10(root / "src", num_train=20, num_test=10, seed=7)
    path = root / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    return str(path), hashlib.md5(path.read_bytes()).hexdigest(), folder


def make_bin(tmp_path, downloaders):
    """A PATH folder with the real tools the script needs and the fake downloaders."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    checker = shutil.which("md5sum") or shutil.which("md5")
    assert checker, "this test needs md5sum (or md5 on macOS) installed"
    for tool in TOOLS + [os.path.basename(checker)]:
        real = shutil.which(tool)
        assert real, f"this test needs {tool} installed"
        os.symlink(real, bin_dir / tool)
    for name in downloaders:
        fake = bin_dir / name
        fake.write_text(FAKE_DOWNLOADER.format(name=name))
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def run_script(tmp_path, fake_archive, downloaders=("curl",), md5=None, fake_fail=False):
    """Copy get_datasets.sh into tmp_path/datasets and run it from another folder."""
    datasets = tmp_path / "datasets"
    datasets.mkdir(exist_ok=True)
    script = datasets / "get_datasets.sh"
    shutil.copy(SCRIPT, script)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    log = tmp_path / "downloads.log"
    log.touch()
    env = {
        "PATH": str(make_bin(tmp_path, downloaders)),
        "FAKE_ARCHIVE": fake_archive[0],
        "FAKE_LOG": str(log),
        "HOME": str(tmp_path),
    }
    if md5 is not None:
        env["CS231N_CIFAR10_MD5"] = md5
    if fake_fail:
        env["FAKE_FAIL"] = "1"
    result = subprocess.run([shutil.which("bash"), str(script)], cwd=elsewhere, env=env,
                            capture_output=True, text=True, timeout=60)
    return result, datasets, log.read_text().splitlines()


def leftovers(datasets):
    return sorted(name for name in os.listdir(datasets) if name != "get_datasets.sh")


def test_script_is_executable_and_valid_bash():
    assert os.access(SCRIPT, os.X_OK)
    subprocess.run([shutil.which("bash"), "-n", SCRIPT], check=True)


def test_script_expects_the_official_archive_and_md5():
    with open(SCRIPT) as f:
        source = f.read()
    assert OFFICIAL_URL in source
    assert "c58f30108f718f92721af3b95e74349a" in source


@pytest.mark.parametrize("downloader", ["curl", "wget"])
def test_downloads_checks_unpacks_and_removes_the_archive(tmp_path, fake_archive, downloader):
    result, datasets, log = run_script(tmp_path, fake_archive, downloaders=[downloader],
                                       md5=fake_archive[1])
    assert result.returncode == 0, result.stderr
    assert len(log) == 1 and log[0].startswith(downloader) and OFFICIAL_URL in log[0]
    assert leftovers(datasets) == ["cifar-10-batches-py"]  # no archive, no temporary files
    unpacked = load_CIFAR10(str(datasets / "cifar-10-batches-py"))
    for got, expected in zip(unpacked, load_CIFAR10(fake_archive[2]), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_prefers_curl_when_both_exist(tmp_path, fake_archive):
    result, _, log = run_script(tmp_path, fake_archive, downloaders=["curl", "wget"],
                                md5=fake_archive[1])
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in log] == ["curl"]


def test_refuses_an_archive_whose_md5_is_not_the_official_one(tmp_path, fake_archive):
    result, datasets, log = run_script(tmp_path, fake_archive)  # official md5 expected
    assert result.returncode != 0
    assert "md5" in result.stderr and fake_archive[1] in result.stderr
    assert "c58f30108f718f92721af3b95e74349a" in result.stderr
    assert len(log) == 1
    assert leftovers(datasets) == []  # the bad archive is deleted, nothing unpacked


def test_does_nothing_when_the_dataset_is_already_there(tmp_path, fake_archive):
    existing = tmp_path / "datasets" / "cifar-10-batches-py"
    existing.mkdir(parents=True)
    (existing / "marker").write_text("keep me")
    result, datasets, log = run_script(tmp_path, fake_archive, md5=fake_archive[1])
    assert result.returncode == 0
    assert "already" in result.stdout and str(existing) in result.stdout
    assert log == []  # nothing downloaded
    assert os.listdir(existing) == ["marker"]


def test_uses_an_archive_already_downloaded_by_hand(tmp_path, fake_archive):
    (tmp_path / "datasets").mkdir()
    shutil.copy(fake_archive[0], tmp_path / "datasets" / "cifar-10-python.tar.gz")
    result, datasets, log = run_script(tmp_path, fake_archive, md5=fake_archive[1])
    assert result.returncode == 0, result.stderr
    assert log == []
    assert leftovers(datasets) == ["cifar-10-batches-py"]


def test_failed_download_leaves_nothing_behind(tmp_path, fake_archive):
    result, datasets, _ = run_script(tmp_path, fake_archive, md5=fake_archive[1],
                                     fake_fail=True)
    assert result.returncode != 0
    assert "could not download" in result.stderr and OFFICIAL_URL in result.stderr
    assert leftovers(datasets) == []


def test_without_curl_or_wget_says_what_to_install(tmp_path, fake_archive):
    result, datasets, _ = run_script(tmp_path, fake_archive, downloaders=[])
    assert result.returncode != 0
    assert "curl" in result.stderr and "wget" in result.stderr
    assert leftovers(datasets) == []
