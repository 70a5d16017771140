"""The package step: solution regions of master modules become stubs that raise."""
import ast

import pytest

from coursekit.release.stub import StubError, stub_module

MODULE = '''import numpy as np


class Model:
    """A model."""

    def fit(self, X):
        """Fit the model.

        Inputs:
        - X: Array of shape (N, D).
        """
        result = None
        # TODO: Compute the column means of X and store them in `result`. No loops.
        ### BEGIN SOLUTION
        result = X.mean(axis=0)
        ### END SOLUTION
        return result


def helper(x):
    """Given code."""
    return 2 * x
'''


def load(text):
    namespace = {}
    exec(compile(text, "stubbed.py", "exec"), namespace)
    return namespace


def test_region_becomes_a_raise_that_names_the_method_and_its_file():
    text, functions = stub_module(MODULE, "classifiers/model.py")
    assert functions == ["Model.fit"]
    model = load(text)["Model"]()
    with pytest.raises(NotImplementedError) as info:
        model.fit(None)
    message = str(info.value)
    assert message.startswith("Model.fit in cs231n/classifiers/model.py is not implemented yet")
    assert "compute the column means of X" in message


def test_stub_sits_at_the_region_indentation_and_keeps_everything_else():
    text, _ = stub_module(MODULE, "model.py")
    assert "X.mean(axis=0)" not in text
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    raise_line = next(line for line in text.splitlines() if "raise NotImplementedError" in line)
    assert raise_line.startswith(" " * 8 + "raise")
    kept = [line for line in MODULE.splitlines()
            if "SOLUTION" not in line and "X.mean" not in line]
    assert [line for line in text.splitlines() if "raise NotImplementedError" not in line] == kept


def test_docstrings_and_given_code_survive():
    text, _ = stub_module(MODULE, "model.py")
    tree, master = ast.parse(text), ast.parse(MODULE)
    docs = [ast.get_docstring(n) for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    assert docs == [ast.get_docstring(n) for n in ast.walk(master)
                    if isinstance(n, ast.FunctionDef)]
    assert load(text)["helper"](3) == 6


def test_module_without_regions_is_copied_verbatim():
    given = "def f():\n    return 1\n"
    assert stub_module(given, "given.py") == (given, [])


@pytest.mark.parametrize("text, complaint", [
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "outside any function"),
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "no end solution"),
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    x = 1\n"
     "    ### END SOLUTION\n", "nested"),
])
def test_malformed_regions_are_refused_with_the_file_name(text, complaint):
    with pytest.raises(StubError) as info:
        stub_module(text, "broken.py")
    assert "cs231n/broken.py" in str(info.value)
    assert complaint in str(info.value).lower()


def test_a_long_todo_sentence_reaches_the_message_whole():
    # check.py and the notebooks show this message to the student: a hint cut mid-sentence
    # ("... and the jth ...") tells them less than the TODO they are looking at.
    first = "Compute the distance between the ith test point and the jth training point"
    second = "without any loop over the training points, and store it in dists[i, j]"
    text = MODULE.replace(
        "# TODO: Compute the column means of X and store them in `result`. No loops.",
        f"# TODO: {first}\n        # {second}. Then more.")
    with pytest.raises(NotImplementedError) as info:
        load(stub_module(text, "model.py")[0])["Model"]().fit(None)
    message = str(info.value)
    assert f"{first[:1].lower()}{first[1:]} {second} (see the TODO above)" in message
    assert "..." not in message and "Then more" not in message
