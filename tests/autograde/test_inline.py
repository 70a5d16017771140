"""inline: the choice questions scored from the answer lines, with the notebooks' parser."""
import json
import re
import shutil

import pytest

from coursekit.autograde.inline import grade_inline_answers
from coursekit.course import current

REPO_ROOT = current().root

SOURCE = REPO_ROOT / "source" / "assignment1"


def notebooks_in(folder):
    return {p.stem: p for p in folder.glob("*.ipynb")}


def scored(folder):
    """{<notebook>:<answer cell>: Item} of the inline scorer on the notebooks of `folder`."""
    return {i.id.removeprefix("inline:"): i
            for i in grade_inline_answers(notebooks_in(folder), source_dir=SOURCE)}


def set_answer(path, grade_id, text):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            source = "".join(cell["source"])
            cell["source"] = re.sub(r"(?s)(Your answer:\**).*?(\**Your explanation)",
                                    lambda m: f"{m.group(1)}\n\n{text}\n\n{m.group(2)}",
                                    source)
    path.write_text(json.dumps(nb))


@pytest.fixture
def student(tmp_path):
    if not (SOURCE / "knn.ipynb").exists():
        pytest.fail("source/assignment1/knn.ipynb is missing")
    for nb in SOURCE.glob("*.ipynb"):
        shutil.copyfile(nb, tmp_path / nb.name)
    return tmp_path


def test_master_answers_score_every_choice_question(student):
    items = grade_inline_answers(notebooks_in(student), source_dir=SOURCE)
    assert len(items) == 5 and all(i.score == i.max_score == 1 for i in items)


def test_a_wrong_answer_scores_zero_without_showing_the_key(student):
    set_answer(student / "softmax.ipynb", "softmax_inline_q4", "True False")  # unreadable
    set_answer(student / "knn.ipynb", "knn_inline_q2", "4")
    items = scored(student)
    assert items["knn:knn_inline_q2"].score == 0
    assert items["knn:knn_inline_q2"].message == "your answer: 4 (not correct)"
    assert items["softmax:softmax_inline_q4"].score == 0
    assert "could not read" in items["softmax:softmax_inline_q4"].message
    assert items["knn:knn_inline_q3"].score == 1


def test_missing_notebook_scores_its_questions_zero(student):
    (student / "two_layer_net.ipynb").unlink()
    items = scored(student)
    assert items["two_layer_net:two_layer_net_inline_q1"].score == 0
    assert "no answer cell" in items["two_layer_net:two_layer_net_inline_q1"].message


def test_scorer_items_are_inline_items_keyed_by_answer_cell(student):
    item = scored(student)["knn:knn_inline_q2"]
    assert (item.id, item.column, item.kind) == ("inline:knn:knn_inline_q2",
                                                 "inline:knn:knn_inline_q2", "inline")
    assert (item.score, item.max_score, item.needs_manual, item.pending) == (1.0, 1.0, False,
                                                                             False)
