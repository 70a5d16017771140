"""Every fairness style is correct by the contract (the official assignment's API),
independently of our grader.

Each style is spliced into the release package (splice.py) and checked in its own subprocess by
contract_checks.py (all the packages are named `cs231n`, so two cannot share a process). The
source-level rules of the contract (how many loops the kNN distance versions may use, no
np.linalg.norm nor scipy, no loops in the vectorized functions) are checked on the spliced
functions: the style's code together with the release's given lines around it (the kNN loops
are given code).
"""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit import jail
from coursekit.course import current
from tests.fairness import contract_checks, splice

STYLES = [d.name for d in splice.style_dirs()]
FULL_STYLES = [s for s in STYLES if not (splice.IMPLEMENTATIONS / s / "BASE").exists()]
CHECK_SCRIPT = Path(contract_checks.__file__)

# {file of the package: [student function, ...]}, from the course manifest.
STUDENT_FUNCTIONS = {}
for _name, _file in current().student_functions.items():
    STUDENT_FUNCTIONS.setdefault(_file, []).append(_name)
NO_LOOP_FUNCTIONS = {"KNearestNeighbor.compute_distances_no_loops", "softmax_loss_vectorized",
                     "affine_forward", "affine_backward", "relu_forward", "relu_backward",
                     "softmax_loss", "sgd_momentum", "rmsprop", "adam"}
LOOP_NODES = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def style_functions(style):
    """{(relative file, qualified name): ast node} of the functions a style folder defines."""
    return splice.style_functions(splice.IMPLEMENTATIONS / style)


def count_loops(node):
    return sum(isinstance(n, LOOP_NODES) for n in ast.walk(node))


# --- the corpus itself -------------------------------------------------------------------------

@pytest.mark.parametrize("style", FULL_STYLES)
def test_full_style_defines_all_20_student_functions(style):
    defined = set(style_functions(style))
    missing = [(f, n) for f, names in STUDENT_FUNCTIONS.items() for n in names
               if (f, n) not in defined]
    assert missing == []


def test_corpus_has_the_four_required_full_styles():
    assert {"loops", "vectorized", "einsum", "official"} <= set(FULL_STYLES)


@pytest.mark.parametrize("style", sorted(set(STYLES) - set(FULL_STYLES)))
def test_single_purpose_style_names_a_full_style_as_base(style):
    base = (splice.IMPLEMENTATIONS / style / "BASE").read_text().strip()
    assert base in FULL_STYLES


@pytest.mark.parametrize("style", STYLES)
def test_style_files_define_only_student_functions_and_state_their_idioms(style):
    allowed = {(f, n) for f, names in STUDENT_FUNCTIONS.items() for n in names}
    for (rel, name), _ in style_functions(style).items():
        assert (rel, name) in allowed or name.startswith("_"), f"{rel}: {name}"
    for path in (splice.IMPLEMENTATIONS / style).rglob("*.py"):
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc and "\n" not in doc, f"{path}: needs a one-line module docstring"


@pytest.mark.parametrize("style", STYLES)
def test_knn_distances_use_the_allowed_number_of_loops_and_no_norm_or_scipy(style, packages):
    funcs = splice.style_functions(packages[style])
    allowed = {"compute_distances_two_loops": 2, "compute_distances_one_loop": 1,
               "compute_distances_no_loops": 0}
    for name, loops in allowed.items():
        node = funcs["classifiers/k_nearest_neighbor.py", f"KNearestNeighbor.{name}"]
        assert count_loops(node) == loops, name
        source = ast.unparse(node)
        assert "norm" not in source and "scipy" not in source and "cdist" not in source, name
    knn_code = ast.unparse(ast.parse((packages[style] / "classifiers/k_nearest_neighbor.py")
                                     .read_text()))  # the code: the TODO comments name scipy
    assert "scipy" not in knn_code


@pytest.mark.parametrize("style", STYLES)
def test_vectorized_functions_have_no_loops(style, packages):
    looped = [name for (_, name), node in splice.style_functions(packages[style]).items()
              if name in NO_LOOP_FUNCTIONS and count_loops(node)]
    assert looped == []


# --- splice.py ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "source", "message"), [
    ("layers.py", "def affine_forwardd(x, w, b):\n    pass\n",
     "function affine_forwardd not found"),
    ("layers.py", "class Nope:\n    def f(self):\n        pass\n", "class Nope not found"),
    ("optim.py", "class KNearestNeighbor:\n    def train(self, X, y):\n        pass\n",
     "class KNearestNeighbor not found"),
    ("classifiers/softmax.py", "class X:\n    pass\n", "class X not found"),
    ("classifiers/fc_net.py", "class TwoLayerNet:\n    def fit(self):\n        pass\n",
     "method TwoLayerNet.fit not found"),
    ("solvers.py", "def f():\n    pass\n", "no module solvers.py"),
    ("layers.py", "def relu_forward(x, inplace=False):\n    out = x\n", "release's signature"),
    ("layers.py", "@staticmethod\ndef relu_forward(x):\n    out = x\n", "decorator"),
    ("classifiers/linear_classifier.py",
     "class LinearClassifier:\n    def save(self, fname):\n        pass\n", "no solution region"),
    ("classifiers/fc_net.py", "class TwoLayerNet:\n    def loss(self, X, y=None):\n        pass\n",
     "2 solution region"),
    ("classifiers/fc_net.py",
     "class TwoLayerNet:\n    def loss(self, X, y=None):\n        pass\n        ...\n",
     "2 solution region"),
    ("layers.py", "def relu_forward(x):\n    out = x\n    ...\n    out = x\n", "1 solution region"),
    ("classifiers/k_nearest_neighbor.py",
     "class KNearestNeighbor(object):\n    def compute_distances_no_loops(self, X):\n"
     "        pass\n", "bases"),
])
def test_splice_fails_loudly_on_what_the_release_cannot_take(tmp_path, path, source, message):
    target = tmp_path / "style" / path
    target.parent.mkdir(parents=True)
    target.write_text(source)
    with pytest.raises(splice.SpliceError, match=message):
        splice.build_package(tmp_path / "style", tmp_path / "out")


def test_splice_fills_regions_reindented_between_given_lines_and_adds_imports_and_helpers(
        tmp_path):
    style = tmp_path / "style" / "classifiers"
    style.mkdir(parents=True)
    (style / "linear_classifier.py").write_text(
        '"""doc"""\nimport math\n\nimport numpy as np\n\n\nclass LinearClassifier:\n'
        "  def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200,\n"
        "            verbose=False):\n"
        "    X_batch, y_batch = X[:batch_size], y[:batch_size]\n"
        "    ...\n"
        "    self.W = _step(self.W, learning_rate * grad)\n\n"
        "  def predict(self, X):\n    y_pred = _helper(np.dot(X, self.W), math.pi)\n\n\n"
        "def _helper(scores, unused):\n    return scores.argmax(axis=_AXIS)\n\n\n"
        "def _step(W, delta):\n    return W - delta\n\n\n_AXIS = 1\n")
    package = splice.build_package(style.parent, tmp_path / "out")
    text = (package / "classifiers/linear_classifier.py").read_text()
    # each body moves from column 4 to its stub's column, between the release's given lines
    assert ("\n            X_batch, y_batch = X[:batch_size], y[:batch_size]\n\n"
            "            # evaluate loss and gradient\n") in text
    assert "\n            self.W = _step(self.W, learning_rate * grad)\n\n" in text
    assert "\n        y_pred = _helper(np.dot(X, self.W), math.pi)\n        return y_pred\n" in text
    assert "is not implemented yet" not in text
    assert text.count("import numpy as np") == 1 and "import math\n" in text
    assert "def _helper(scores, unused):" in text and "\n_AXIS = 1\n" in text
    code = ("import numpy as np; from cs231n.classifiers.linear_classifier import "
            "LinearClassifier as C\n"
            "class D(C):\n    def loss(self, X, y, reg):\n        return 1.0, np.ones((2, 2))\n"
            "c = D(); c.W = np.eye(2); print(c.predict(np.array([[0.0, 1.0]])))\n"
            "print(c.train(np.eye(2), np.arange(2), learning_rate=0.5, num_iters=2), "
            "c.W.tolist())")
    out = subprocess.run([sys.executable, "-c", code], cwd=package.parent, check=True,
                         capture_output=True, text=True).stdout
    assert out.splitlines() == ["[1]", "[1.0, 1.0] [[0.0, -1.0], [-1.0, 0.0]]"]


def test_splice_lets_a_style_override_what_its_base_fills(tmp_path, monkeypatch):
    monkeypatch.setattr(splice, "IMPLEMENTATIONS", tmp_path)
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "layers.py").write_text(
        "def relu_forward(x):\n    out = 'base'\n\n\ndef relu_backward(dout, cache):\n"
        "    dx = 'base'\n")
    (tmp_path / "derived").mkdir()
    (tmp_path / "derived" / "BASE").write_text("base\n")
    (tmp_path / "derived" / "layers.py").write_text("def relu_forward(x):\n    out = 'derived'\n")
    package = splice.build_package(tmp_path / "derived", tmp_path / "out")
    text = (package / "layers.py").read_text()
    assert "out = 'derived'" in text and "out = 'base'" not in text and "dx = 'base'" in text


# --- each style against the contract -----------------------------------------------------------

@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    return splice.build_all(tmp_path_factory.mktemp("fairness_packages"))


@pytest.fixture(scope="module")
def reports(packages, tmp_path_factory):
    """{style: {check: "ok" or traceback}}; one subprocess per style, all run concurrently."""
    out_dir = tmp_path_factory.mktemp("fairness_reports")
    # single-threaded BLAS: the styles run side by side without oversubscribing the cores
    env = {**os.environ, **jail.blas_threads(1)}
    procs = {}
    for style, package in packages.items():
        out_json = out_dir / f"{style}.json"
        cmd = [sys.executable, str(CHECK_SCRIPT), str(package.parent), str(out_json)]
        procs[style] = (subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True, cwd=package.parent, env=env), out_json)
    results = {}
    for style, (proc, out_json) in procs.items():
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{style}: contract_checks crashed\n{stdout}\n{stderr}"
        results[style] = json.loads(out_json.read_text())
    return results


@pytest.mark.parametrize("style", FULL_STYLES)
def test_full_style_package_has_no_stub_left(style, packages):
    stubs = [str(p.relative_to(packages[style])) for p in packages[style].rglob("*.py")
             if "is not implemented yet" in p.read_text()]
    assert stubs == []


@pytest.mark.parametrize("check", list(contract_checks.CONTRACTS))
@pytest.mark.parametrize("style", STYLES)
def test_style_meets_contract(style, check, reports):
    assert reports[style][check] == "ok", reports[style][check]
