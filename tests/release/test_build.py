"""The release build end to end on the tiny course: what lands in the release, and what not."""
import dataclasses
import json
import os
import shutil

import pytest

from coursekit.release.build import STEPS, LeakError, build_release, run_step
from coursekit.release.command import diff_trees
from tests.release.tiny_course import tiny_course_config


def all_files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, files in os.walk(root) for f in files)


def test_release_holds_the_student_folder_and_nothing_else(tiny_release):
    assert all_files(tiny_release) == sorted([
        ".gitignore", "README.md", "check.py", "collect.py", "requirements.txt", "tiny.ipynb",
        "cs231n/__init__.py", "cs231n/mathops.py", "cs231n/datasets/get_datasets.sh",
        "cs231n/saved/.gitkeep",
    ])


def test_master_symlink_and_saved_models_are_not_released(tiny_release):
    assert not os.path.islink(os.path.join(tiny_release, "cs231n"))
    assert os.listdir(os.path.join(tiny_release, "cs231n", "saved")) == [".gitkeep"]


def test_no_gradebook_database_is_written(tiny_course, tiny_release):
    for root in (tiny_course["root"], os.path.dirname(tiny_release)):
        assert not [f for f in all_files(root) if f.endswith(".db")]


def test_notebook_is_nbgraders_student_version(tiny_release):
    nb = json.load(open(os.path.join(tiny_release, "tiny.ipynb")))
    sources = ["".join(c["source"]) for c in nb["cells"]]
    assert "best_scale_found" not in sources[1] and "# YOUR CODE HERE" in sources[1]
    assert "HIDDEN" not in sources[2] and "scaled_sum(numbers" not in sources[2]
    assert "YOUR ANSWER HERE" in sources[3]
    test_meta = nb["cells"][2]["metadata"]
    assert test_meta["nbgrader"]["locked"] and test_meta["editable"] is False
    assert all("checksum" in c["metadata"]["nbgrader"] for c in nb["cells"][1:])


def test_untouched_solution_cell_raises_a_message_saying_what_to_do(tiny_release):
    # nbgrader's default stub raises a bare NotImplementedError(): an error without a word.
    nb = json.load(open(os.path.join(tiny_release, "tiny.ipynb")))
    source = "".join(nb["cells"][1]["source"])
    stub = source[source.index("# YOUR CODE HERE"):]
    with pytest.raises(NotImplementedError) as info:
        exec(compile(stub, "cell", "exec"), {})
    message = str(info.value)
    assert message.startswith("fill in this cell") and "run the cell again" in message


def test_get_datasets_script_is_executable(tiny_release):
    assert os.access(os.path.join(tiny_release, "cs231n", "datasets", "get_datasets.sh"),
                     os.X_OK)


def test_two_builds_are_byte_identical(tiny_course, tiny_release, tmp_path):
    again = build_release(str(tmp_path / "assignment1"), tiny_course_config(tiny_course),
                          log=lambda *_: None)
    assert diff_trees(tiny_release, again) == []


def test_a_leaking_master_is_refused_and_the_old_release_kept(tiny_course, tiny_release,
                                                               tmp_path):
    dest = tmp_path / "assignment1"
    shutil.copytree(tiny_release, dest)
    course = tiny_course_config(tiny_course)
    # An instructor's note left in the master notebook folder: nbgrader copies such files
    # verbatim, so the leak check has to stop it.
    notebooks = tmp_path / "source" / course.assignment
    shutil.copytree(course.source_dir, notebooks, symlinks=True)
    (notebooks / "solutions.txt").write_text("total = float(weighted_values.sum())\n")
    course = dataclasses.replace(course, source_root=tmp_path / "source")
    with pytest.raises(LeakError) as info:
        build_release(str(dest), course, log=lambda *_: None)
    assert "package-solution" in str(info.value)
    assert diff_trees(tiny_release, str(dest)) == []


@pytest.mark.parametrize("step", [s for s in STEPS if s != "leakcheck"])
def test_each_step_runs_alone(tiny_course, tiny_release, tmp_path, step):
    dest = tmp_path / "assignment1"
    dest.mkdir()
    run_step(step, tiny_course_config(tiny_course), str(dest), log=lambda *_: None)
    written = all_files(dest)
    assert written and set(written) <= set(all_files(tiny_release))
