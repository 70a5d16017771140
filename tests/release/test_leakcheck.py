"""The leak check catches every kind of leak, and only leaks (tiny course: fast)."""
import json
import os
import shutil

import pytest

from coursekit.release.leakcheck import find_leaks, is_trivial, normalise
from tests.release.tiny_course import SECRETS


def leaks_of(release, course):
    return find_leaks(str(release), course["package"], course["notebooks"], course["tests"])


@pytest.fixture
def leaky(tiny_release, tmp_path):
    dest = tmp_path / "assignment1"
    shutil.copytree(tiny_release, dest)
    return dest


def append_to_module(release, line):
    with open(release / "cs231n" / "mathops.py", "a") as f:
        f.write(f"\n\ndef extra(x, scale):\n    {line}\n")


def append_to_notebook_cell(release, text, cell_type):
    path = release / "tiny.ipynb"
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == cell_type)
    cell["source"] = "".join(cell["source"]) + "\n" + text
    path.write_text(json.dumps(nb, indent=1))


def test_untouched_tiny_release_is_clean(tiny_release, tiny_course):
    assert leaks_of(tiny_release, tiny_course) == []


@pytest.mark.parametrize("kind, secret", [
    ("package-solution", SECRETS["package_solution"]),
    ("notebook-solution", SECRETS["notebook_solution"]),
    ("hidden-test", SECRETS["hidden_test"]),
])
@pytest.mark.parametrize("where", ["module", "notebook", "readme"])
def test_a_secret_line_is_caught_wherever_it_is_put(leaky, tiny_course, kind, secret, where):
    reformatted = secret.replace(" = ", "=").replace(", ", ",  ")  # whitespace does not hide it
    if where == "module":
        append_to_module(leaky, reformatted)
    elif where == "notebook":
        append_to_notebook_cell(leaky, reformatted, "code")
    else:
        with open(leaky / "README.md", "a") as f:
            f.write(f"\n    {reformatted}\n")
    kinds = {leak.kind for leak in leaks_of(leaky, tiny_course)}
    assert kind in kinds


def test_the_answer_key_is_caught_in_an_answer_cell(leaky, tiny_course):
    append_to_notebook_cell(leaky, SECRETS["answer_key"], "markdown")
    assert [leak.kind for leak in leaks_of(leaky, tiny_course)] == ["answer-key"]


def test_a_short_answer_key_is_caught_as_a_whole_line(tiny_course, tmp_path):
    # Keys such as "1, 3" are shorter than the trivial-line threshold: whole lines still count.
    course = dict(tiny_course, notebooks=str(tmp_path / "nbs"))
    shutil.copytree(tiny_course["notebooks"], course["notebooks"], symlinks=True)
    path = os.path.join(course["notebooks"], "tiny.ipynb")
    nb = json.load(open(path))
    nb["cells"][3]["source"] = "**Your answer:**\n### BEGIN SOLUTION\n1, 3\n### END SOLUTION\n"
    json.dump(nb, open(path, "w"))
    release = tmp_path / "release"
    release.mkdir()
    (release / "answers.md").write_text("**Your answer:**\nYOUR ANSWER HERE\n")
    assert leaks_of(release, course) == []
    (release / "answers.md").write_text("**Your answer:**\n 1,3\n")
    assert [leak.kind for leak in leaks_of(release, course)] == ["answer-key"]


def test_a_reference_value_file_is_caught(leaky, tiny_course):
    shutil.copyfile(os.path.join(tiny_course["tests"], "hidden", "references.json"),
                    leaky / "cs231n" / "saved" / "refs.json")
    kinds = {leak.kind for leak in leaks_of(leaky, tiny_course)}
    assert "reference-file" in kinds


def test_a_reference_number_pasted_into_code_is_caught(leaky, tiny_course):
    append_to_module(leaky, "expected = 12.000000000123456")
    assert [leak.kind for leak in leaks_of(leaky, tiny_course)] == ["reference-file"]


@pytest.mark.parametrize("name", ["cs231n/saved/model.npy", "cs231n/weights.npz"])
def test_a_data_file_is_caught(leaky, tiny_course, name):
    (leaky / name).write_bytes(b"\x93NUMPY fake")
    assert [leak.kind for leak in leaks_of(leaky, tiny_course)] == ["reference-file"]


@pytest.mark.parametrize("name", ["tests/test_mathops.py", "conftest.py", "test_secret.py"])
def test_tests_content_is_caught(leaky, tiny_course, name):
    path = leaky / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("def test_nothing():\n    assert True\n")
    assert "tests-content" in {leak.kind for leak in leaks_of(leaky, tiny_course)}


@pytest.mark.parametrize("line", ["return dx", "dx /= N", "return loss, grads", "]", "else:",
                                  "### BEGIN SOLUTION"])
def test_trivial_lines_do_not_count(line):
    assert is_trivial(normalise(line))


@pytest.mark.parametrize("line", ["out = np.maximum(0, x)", "dx = dout * (x > 0)",
                                  "loss += reg * np.sum(W * W)"])
def test_real_solution_lines_are_not_trivial(line):
    assert not is_trivial(normalise(line))


def test_a_trivial_solution_line_in_the_release_is_not_a_leak(leaky, tiny_course):
    append_to_module(leaky, "return x")
    assert leaks_of(leaky, tiny_course) == []
