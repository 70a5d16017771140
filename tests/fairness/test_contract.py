"""Every fairness style is correct by the contract (the official assignment's API),
independently of our grader.

Each style is spliced into the release package (splice.py) and checked in its own subprocess by
contract_checks.py (all the packages are named `cs231n`, so two cannot share a process). The
source-level rules of the contract (how many loops the kNN distance versions may use, no
np.linalg.norm nor scipy, no loops in the vectorized functions) are checked on the style files.
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
    found = {}
    for path in sorted((splice.IMPLEMENTATIONS / style).rglob("*.py")):
        rel = path.relative_to(splice.IMPLEMENTATIONS / style).as_posix()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef):
                found[rel, node.name] = node
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        found[rel, f"{node.name}.{item.name}"] = item
    return found


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
def test_knn_distances_use_the_allowed_number_of_loops_and_no_norm_or_scipy(style):
    funcs = style_functions(style)
    allowed = {"compute_distances_two_loops": 2, "compute_distances_one_loop": 1,
               "compute_distances_no_loops": 0}
    for name, loops in allowed.items():
        node = funcs.get(("classifiers/k_nearest_neighbor.py", f"KNearestNeighbor.{name}"))
        if node is None:
            continue
        assert count_loops(node) == loops, name
        source = ast.unparse(node)
        assert "norm" not in source and "scipy" not in source and "cdist" not in source, name
    knn_file = splice.IMPLEMENTATIONS / style / "classifiers/k_nearest_neighbor.py"
    if knn_file.exists():
        assert "scipy" not in knn_file.read_text()


@pytest.mark.parametrize("style", STYLES)
def test_vectorized_functions_have_no_loops(style):
    for (_, name), node in style_functions(style).items():
        if name in NO_LOOP_FUNCTIONS:
            assert count_loops(node) == 0, name


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
])
def test_splice_fails_loudly_on_a_name_the_release_lacks(tmp_path, path, source, message):
    target = tmp_path / "style" / path
    target.parent.mkdir(parents=True)
    target.write_text(source)
    with pytest.raises(splice.SpliceError, match=message):
        splice.build_package(tmp_path / "style", tmp_path / "out")


def test_splice_replaces_methods_reindented_and_adds_imports_and_helpers(tmp_path):
    style = tmp_path / "style" / "classifiers"
    style.mkdir(parents=True)
    (style / "linear_classifier.py").write_text(
        '"""doc"""\nimport math\n\nimport numpy as np\n\n\nclass LinearClassifier:\n'
        "  def predict(self, X):\n    return _helper(np.dot(X, self.W), math.pi)\n\n\n"
        "def _helper(scores, unused):\n    return scores.argmax(axis=_AXIS)\n\n\n_AXIS = 1\n")
    package = splice.build_package(style.parent, tmp_path / "out")
    text = (package / "classifiers/linear_classifier.py").read_text()
    # the method moves from column 2 to the class's column 4, its body along with it
    assert "\n    def predict(self, X):\n      return _helper(np.dot(X, self.W), math.pi)\n" in text
    assert text.count("import numpy as np") == 1 and "import math\n" in text
    assert "def _helper(scores, unused):" in text and "\n_AXIS = 1\n" in text
    assert "NotImplementedError" in text  # train: not in this style, the release stub stays
    code = ("import numpy as np; from cs231n.classifiers.linear_classifier import "
            "LinearClassifier as C; c = C(); c.W = np.eye(2); "
            "print(c.predict(np.array([[0.0, 1.0]])))")
    out = subprocess.run([sys.executable, "-c", code], cwd=package.parent, check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == "[1]"


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


@pytest.mark.parametrize("check", list(contract_checks.CHECKS))
@pytest.mark.parametrize("style", STYLES)
def test_style_meets_contract(style, check, reports):
    assert reports[style][check] == "ok", reports[style][check]
