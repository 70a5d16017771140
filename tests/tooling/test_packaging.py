"""The wheel of the tooling holds every file of coursekit/ that git tracks (code, templates,
scripts): a file added without its package data would work in the editable install only.
(tests/release/test_wheel.py installs the wheel and runs it: slow.)"""
import shutil
import subprocess
import sys
import zipfile

from coursekit.course import current

REPO = current().root


def test_the_wheel_holds_every_tracked_file_of_the_package(tmp_path):
    tracked = subprocess.run(["git", "ls-files", "coursekit"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    assert "coursekit/cli.py" in tracked
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy2(REPO / "pyproject.toml", src)
    for rel in tracked:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, src / rel)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(tmp_path / "dist"), str(src)], capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("coursekit-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        in_wheel = {n for n in z.namelist() if n.startswith("coursekit/")}
    assert sorted(set(tracked) - in_wheel) == []
    assert not [n for n in in_wheel if n.endswith(".pyc")]
