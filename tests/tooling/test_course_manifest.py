"""The course manifest (course.toml) as coursekit.course.Course reads it: its lists, its
folders, how a command finds its course, and the errors that say what is wrong."""
import tomllib

import pytest

from coursekit.course import COURSE_ENV, MANIFEST, Course, ManifestError, current

REPO = current().root
MINIMAL = '[assignment]\nname = "a2"\n[[notebooks]]\nname = "one"\n'


def write(folder, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).write_text(text)
    return folder


def test_the_repository_manifest_lists_the_assignment_in_question_order():
    with open(REPO / MANIFEST, "rb") as f:
        raw = tomllib.load(f)
    course = Course.load(REPO)
    assert course.assignment == raw["assignment"]["name"] == "assignment1"
    assert course.notebook_names == tuple(n["name"] for n in raw["notebooks"])
    assert [n.question for n in course.notebooks] == ["q1", "q2", "q3", "q4", "q5"]
    assert course.notebook_files[0] == "knn.ipynb"
    assert list(course.saved_models) == [m for n in raw["notebooks"]
                                         for m in n.get("saved_models", [])]
    assert course.source_dir == REPO / "source" / "assignment1"
    assert course.release_dir == REPO / "release" / "assignment1"
    assert course.hidden_dir == REPO / "grading" / "hidden"
    for rel in course.given_files + course.student_modules:
        assert (REPO / rel).is_file(), rel


def test_student_functions_are_read_off_the_solution_regions(tmp_path):
    write(tmp_path, '[assignment]\nname = "a2"\npackage = "pkg"\n'
          'student_modules = ["pkg/ops.py"]\n[[notebooks]]\nname = "one"\n')
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ops.py").write_text(
        "def given(x):\n    return x\n\n\n"
        "class Net:\n    def loss(self, x):\n        ### BEGIN SOLUTION\n        return x\n"
        "        ### END SOLUTION\n\n\n"
        "def step(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n")
    assert Course.load(tmp_path).student_functions == {"Net.loss": "ops.py", "step": "ops.py"}


@pytest.mark.parametrize("text, says", [
    ("", "[assignment] needs `name`, a non-empty string"),
    (MINIMAL + "[[notebooks]]\ntitle = 'x'\n", "each [[notebooks]] entry needs `name`"),
    ('[assignment]\nname = "a2"\n', "no [[notebooks]]"),
    (MINIMAL + '[[notebooks]]\nname = "one"\n', "a notebook is listed twice"),
    ('[assignment]\nname = "a2"\n[[notebooks]]\nname = "one"\nsaved_models = ["m.npy"]\n'
     '[[notebooks]]\nname = "two"\nsaved_models = ["m.npy"]\n', "listed under two notebooks"),
    ("[assignment\n", "is not valid TOML"),
    (MINIMAL + "[[notebooks.choice_questions]]\ngrade_id = 'q'\nkind = 'essay'\n",
     "a choice question of notebook 'one' needs `kind`, one of select, truefalse"),
])
def test_a_broken_manifest_names_what_is_wrong(tmp_path, text, says):
    write(tmp_path, text)
    with pytest.raises(ManifestError, match=says.replace("[", r"\[").replace("]", r"\]")):
        Course.load(tmp_path)


def test_a_missing_manifest_says_what_a_course_folder_holds(tmp_path):
    with pytest.raises(ManifestError, match="course.toml not found"):
        Course.load(tmp_path)


def test_a_command_finds_the_course_of_its_folder_or_a_parent(tmp_path, monkeypatch):
    course = write(tmp_path / "c2", MINIMAL)
    (course / "source" / "a2").mkdir(parents=True)
    monkeypatch.delenv(COURSE_ENV, raising=False)
    assert Course.find(course / "source" / "a2").root == course
    assert Course.find(course).assignment == "a2"
    # Outside any course: the checkout this package lives in.
    assert Course.find(tmp_path).root == REPO
    # The environment names the course, wherever the command runs.
    monkeypatch.setenv(COURSE_ENV, str(course))
    assert Course.find(REPO).root == course


def test_the_cli_course_option_selects_the_course(tmp_path, capsys, monkeypatch):
    from coursekit import cli

    monkeypatch.setenv(COURSE_ENV, str(REPO))  # put back after the test
    code = cli.main(["--course", str(tmp_path / "nowhere"), "leakcheck"])
    assert code == 2
    assert "nowhere/course.toml not found" in capsys.readouterr().err
