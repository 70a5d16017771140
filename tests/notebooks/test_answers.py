"""The fixed answer lines of the inline questions: parsing, the master's key, the release stub."""
import copy

import nbformat
import pytest
from nbgrader.preprocessors import ClearSolutions

from coursekit.notebooks import answers
from coursekit.notebooks.run import SOURCE_DIR, notebook_path

# The correct choices, worked out from the questions themselves (the official assignment's):
# L1 nearest neighbour is unchanged by shifts, one global scale and pixel moves shared by all
# images; 1-NN has zero training error and kNN time grows with the training set; a new example
# with all SVM margins met adds zero hinge loss but positive softmax loss; sigmoid and ReLU have
# zero-gradient regions; more data and more regularization narrow the train/test gap.
EXPECTED_KEY = {
    "knn_inline_q2": frozenset({1, 2, 3, 5}),
    "knn_inline_q3": frozenset({2, 4}),
    "softmax_inline_q4": True,
    "two_layer_net_inline_q1": frozenset({1, 2}),
    "two_layer_net_inline_q2": frozenset({1, 3}),
}


def test_master_answer_lines_parse_to_the_expected_key():
    assert answers.answer_key(SOURCE_DIR) == EXPECTED_KEY


def test_every_fixed_answer_question_has_an_answer_cell_in_its_master():
    for question in answers.QUESTIONS:
        found = answers.read_answers(notebook_path(question.notebook))
        assert question.grade_id in found, f"{question.notebook}.ipynb lacks {question.grade_id}"


@pytest.mark.parametrize("text, expected", [
    ("1,3", {1, 3}),
    ("1, 3", {1, 3}),
    ("1 and 3", {1, 3}),
    ("Option 1, 3", {1, 3}),
    ("Options 1 & 3.", {1, 3}),
    ("(1) (3)", {1, 3}),
    ("3, 1", {1, 3}),
    ("1;3", {1, 3}),
    ("**1, 3**", {1, 3}),
    ("`1`, `3`", {1, 3}),
    ("None of the above", {4}),
    ("4", {4}),
])
def test_select_all_spellings_parse_to_option_numbers(text, expected):
    answer = answers.parse_answer(text, "two_layer_net_inline_q2")
    assert answer.value == frozenset(expected)


@pytest.mark.parametrize("text, expected", [
    ("Sigmoid and ReLU", {1, 2}),
    ("sigmoid, relu", {1, 2}),
    ("Leaky ReLU", {3}),
    ("1, 2", {1, 2}),
    ("ReLU", {2}),
])
def test_activation_choice_reads_option_names(text, expected):
    assert answers.parse_answer(text, "two_layer_net_inline_q1").value == frozenset(expected)


@pytest.mark.parametrize("text, expected", [
    ("True", True), ("true", True), ("TRUE.", True), ("T", True),
    ("False", False), ("false", False), ("F", False),
])
def test_true_false_spellings(text, expected):
    assert answers.parse_answer(text, "softmax_inline_q4").value is expected


@pytest.mark.parametrize("text", ["", "   ", "YOUR ANSWER HERE", "*YOUR ANSWER HERE*"])
def test_empty_or_stub_is_no_answer(text):
    for question in answers.QUESTIONS:
        assert not answers.parse_answer(text, question).answered


def test_true_and_false_together_is_a_problem_not_an_answer():
    answer = answers.parse_answer("True or False", "softmax_inline_q4")
    assert not answer.answered and answer.problem


def test_option_out_of_range_is_a_problem_not_an_answer():
    answer = answers.parse_answer("2, 7", "knn_inline_q3")
    assert not answer.answered and "7" in answer.problem


def test_answer_text_stops_at_the_explanation():
    cell = "**Your answer:** 2, 4\n\n**Your explanation:** because 1 and 3 are false"
    assert answers.parse_answer(cell, "knn_inline_q3").value == frozenset({2, 4})


def test_answer_on_the_lines_below_the_label_is_read():
    cell = "**Your answer:**\n\n1, 2, 3 and 5\n\n**Your explanation:**\n\nshifts cancel"
    assert answers.parse_answer(cell, "knn_inline_q2").value == frozenset({1, 2, 3, 5})


def test_scoring_compares_with_the_key():
    key = EXPECTED_KEY["knn_inline_q3"]
    assert answers.score(answers.parse_answer("4, 2", "knn_inline_q3"), key)
    assert not answers.score(answers.parse_answer("2", "knn_inline_q3"), key)
    assert not answers.score(answers.parse_answer("", "knn_inline_q3"), key)


@pytest.mark.parametrize("name", sorted({q.notebook for q in answers.QUESTIONS}))
def test_release_stub_of_every_answer_cell_parses_as_no_answer(name, tmp_path):
    # nbgrader's own ClearSolutions, as the release build runs it, on the master notebook.
    nb = nbformat.read(notebook_path(name), as_version=4)
    released, _ = ClearSolutions().preprocess(copy.deepcopy(nb), {})
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(released, str(path))
    found = answers.read_answers(str(path))
    assert found, f"no answer cells found in the cleared {name}.ipynb"
    for grade_id, answer in found.items():
        assert not answer.answered, f"{grade_id}: the cleared cell still parses as {answer.value}"
        source = next(c.source for c in released.cells
                      if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        assert "Your answer:" in source and "YOUR ANSWER HERE" in source


def test_a_filled_in_release_cell_parses_like_the_key(tmp_path):
    nb = nbformat.read(notebook_path("knn"), as_version=4)
    released, _ = ClearSolutions().preprocess(copy.deepcopy(nb), {})
    for cell in released.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "knn_inline_q3":
            # A student replaces the first stub (the answer line) and leaves the explanation.
            cell.source = cell.source.replace("YOUR ANSWER HERE", "Option 2 and 4", 1)
    path = tmp_path / "knn.ipynb"
    nbformat.write(released, str(path))
    found = answers.read_answers(str(path))
    assert found["knn_inline_q3"].value == EXPECTED_KEY["knn_inline_q3"]
    assert not found["knn_inline_q2"].answered
