"""The committed release: up to date, leak-free, importable, and every student function a stub.

Everything here runs in seconds (no notebook is executed; see test_release_slow.py for that).
Student code always runs in a subprocess whose working directory is a release folder, so that
it imports the release's cs231n and never the master's.
"""
import ast
import json
import os
import shutil
import textwrap

import pytest

from coursekit.course import current
from coursekit.release.build import build_release
from coursekit.release.command import diff_trees
from coursekit.release.leakcheck import collect_secrets, find_leaks, is_trivial, split_regions
from coursekit.release.stub import python_files
from tests.release.conftest import run_student_python

COURSE = current()

# The student functions of the official assignment (its table: 20 with both methods of each
# network), each with a call that reaches its stub.
STUDENT_CALLS = {
    "KNearestNeighbor.compute_distances_two_loops": "knn().compute_distances_two_loops(X)",
    "KNearestNeighbor.compute_distances_one_loop": "knn().compute_distances_one_loop(X)",
    "KNearestNeighbor.compute_distances_no_loops": "knn().compute_distances_no_loops(X)",
    "KNearestNeighbor.predict_labels": "knn().predict_labels(np.ones((4, 6)), k=1)",
    "softmax_loss_naive": "softmax_loss_naive(W, X, y, 0.1)",
    "softmax_loss_vectorized": "softmax_loss_vectorized(W, X, y, 0.1)",
    "LinearClassifier.train": "Softmax().train(X, y, num_iters=2, batch_size=2)",
    "LinearClassifier.predict": "linear_with_W().predict(X)",
    "affine_forward": "affine_forward(X, W, np.zeros(3))",
    "affine_backward": "affine_backward(np.ones((4, 3)), (X, W, np.zeros(3)))",
    "relu_forward": "relu_forward(X)",
    "relu_backward": "relu_backward(X, X)",
    "softmax_loss": "softmax_loss(np.ones((4, 3)), y)",
    "TwoLayerNet.__init__": "TwoLayerNet(input_dim=5, hidden_dim=4, num_classes=3)",
    "TwoLayerNet.loss": "two_layer_with_params().loss(X, y)",
    "FullyConnectedNet.__init__": "FullyConnectedNet([4], input_dim=5, num_classes=3)",
    "FullyConnectedNet.loss": "fc_with_params().loss(X, y)",
    "sgd_momentum": "sgd_momentum(W, W)",
    "rmsprop": "rmsprop(W, W)",
    "adam": "adam(W, W)",
}

def test_the_manifest_names_the_student_functions_of_the_assignment():
    # Read off the master's solution regions of course.toml's student modules, in order.
    assert list(COURSE.student_functions) == list(STUDENT_CALLS)


CALL_SCRIPT = textwrap.dedent('''
    import json, sys, warnings
    import numpy as np
    from cs231n.classifiers import KNearestNeighbor, Softmax
    from cs231n.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
    from cs231n.classifiers.fc_net import TwoLayerNet, FullyConnectedNet
    from cs231n.layers import (affine_forward, affine_backward, relu_forward, relu_backward,
                               softmax_loss)
    from cs231n.optim import sgd_momentum, rmsprop, adam

    X, W, y = np.ones((4, 5)), np.ones((5, 3)), np.array([0, 1, 2, 0])

    def knn():
        model = KNearestNeighbor()
        model.train(np.zeros((6, 5)), np.arange(6))
        return model

    def linear_with_W():
        model = Softmax()
        model.W = W
        return model

    def with_params(cls, *args, **kwargs):
        model = cls.__new__(cls)  # skip the stubbed __init__
        model.params = {"W1": np.ones((5, 4)), "b1": np.zeros(4), "W2": np.ones((4, 3)),
                        "b2": np.zeros(3)}
        model.reg, model.num_layers, model.dtype = 0.0, 2, np.float64
        return model

    two_layer_with_params = lambda: with_params(TwoLayerNet)
    fc_with_params = lambda: with_params(FullyConnectedNet)

    results = {}
    for name, call in json.loads(sys.argv[1]).items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                eval(call)
                outcome = ["returned", [str(w.message) for w in caught]]
            except NotImplementedError as err:
                outcome = ["NotImplementedError", str(err)]
            except Exception as err:
                outcome = [type(err).__name__, str(err)]
        results[name] = outcome
    print(json.dumps(results))
''')

NO_BYTECODE = {"PYTHONDONTWRITEBYTECODE": "1"}


def docstrings(text):
    nodes = [n for n in ast.walk(ast.parse(text))
             if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef))]
    return [(getattr(n, "name", ""), ast.get_docstring(n)) for n in nodes]


def released_modules(release_dir):
    package = os.path.join(release_dir, "cs231n")
    modules = []
    for dirpath, _, filenames in os.walk(package):
        for name in sorted(filenames):
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, name), release_dir)[:-3]
                modules.append(rel.replace(os.sep, ".").removesuffix(".__init__"))
    return sorted(modules)


def test_committed_release_is_what_make_release_builds(release_dir, tmp_path):
    fresh = build_release(str(tmp_path / "assignment1"), log=lambda *_: None)
    assert diff_trees(fresh, release_dir) == [], "release/ is stale: run `make release`"


def test_committed_release_has_no_leak(release_dir):
    assert find_leaks(release_dir) == []


def test_release_holds_the_five_notebooks_and_the_student_files(release_dir):
    for name in list(COURSE.notebook_files) + [
            "README.md", "check.py", "collect.py", "requirements.txt",
            "cs231n/datasets/get_datasets.sh", "cs231n/saved/.gitkeep"]:
        assert os.path.isfile(os.path.join(release_dir, name)), name
    assert os.listdir(os.path.join(release_dir, "cs231n", "saved")) == [".gitkeep"]


def pinned_requirements(path):
    """{canonical name: version} of a requirements file; every line must be `name==version`."""
    import re

    pins = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, sep, version = line.partition("==")
            assert sep and version.strip(), f"{path}: {line!r} is not pinned (name==version)"
            pins[re.sub(r"[-_.]+", "-", name.split("[", 1)[0].strip()).lower()] = version.strip()
    return pins


def test_release_requirements_are_the_courses_pins_and_carry_future(release_dir):
    """A student's kernel runs what the grading kernel runs: the same versions, and `future`,
    whose `past.builtins` the official starter's modules import (`from past.builtins import
    xrange`); without it a finished official submission fails its first notebook cell."""
    course = pinned_requirements(os.path.join(str(COURSE.root), "requirements.txt"))
    release = pinned_requirements(os.path.join(release_dir, "requirements.txt"))
    assert "future" in course and "future" in release
    assert sorted(set(release) - set(course)) == [], "the grading environment lacks these"
    differ = {name: (version, course[name]) for name, version in release.items()
              if course.get(name) != version}
    assert differ == {}, f"(release, course) versions differ: {differ}"


def test_stubbed_modules_keep_every_docstring_and_todo_of_the_master(release_dir):
    for rel in python_files(str(COURSE.package_dir)):
        master = open(os.path.join(str(COURSE.package_dir), rel)).read()
        released = open(os.path.join(release_dir, "cs231n", rel)).read()
        assert docstrings(released) == docstrings(master), rel
        public, _ = split_regions(master, {"solution": ("BEGIN SOLUTION", "END SOLUTION")})
        todos = [line for line in public if line.lstrip().startswith("#")]
        released_lines = set(released.splitlines())
        assert [t for t in todos if t not in released_lines] == [], rel
        regions = master.count("### BEGIN SOLUTION")
        assert released.count("raise NotImplementedError(") - master.count(
            "raise NotImplementedError(") == regions, rel


@pytest.mark.parametrize("name", list(COURSE.notebook_files))
def test_every_release_test_cell_has_a_visible_check(release_dir, name):
    # A test cell made of hidden tests only is empty in the release: nbgrader scores an empty
    # cell as passed, so it would pass on untouched work (see test_release_slow.py).
    with open(os.path.join(release_dir, name)) as f:
        cells = json.load(f)["cells"]
    empty = []
    for cell in cells:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("grade") and not meta.get("solution"):
            code = [line for line in "".join(cell["source"]).splitlines()
                    if line.strip() and not line.strip().startswith("#")]
            if not code:
                empty.append(meta["grade_id"])
    assert empty == [], f"{name}: test cells with hidden tests only (add a visible check): {empty}"


def test_every_released_module_imports(release_dir):
    modules = released_modules(release_dir)
    assert "cs231n.classifiers.fc_net" in modules and "cs231n.solver" in modules
    script = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    result = run_student_python(release_dir, "-c", script, *modules, env=NO_BYTECODE)
    assert result.returncode == 0, result.stderr


def test_every_student_function_raises_not_implemented_naming_itself(release_dir):
    result = run_student_python(release_dir, "-c", CALL_SCRIPT, json.dumps(STUDENT_CALLS),
                                env=NO_BYTECODE)
    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout)
    for name, (kind, message) in outcomes.items():
        assert kind == "NotImplementedError", f"{name}: {kind} {message}"
        assert message.startswith(f"{name} in cs231n/"), f"{name}: {message}"
        assert "not implemented yet" in message


def test_given_code_of_the_release_works(release_copy, synthetic_cifar_dir):
    script = textwrap.dedent('''
        import numpy as np
        from cs231n.data_utils import load_CIFAR10
        from cs231n.gradient_check import eval_numerical_gradient
        from cs231n.features import extract_features, hog_feature, color_histogram_hsv
        from cs231n.solver import Solver
        from cs231n.classifiers import KNearestNeighbor, Softmax

        X_train, y_train, X_test, y_test = load_CIFAR10(CIFAR_FOLDER)
        assert X_train.shape == (500, 32, 32, 3) and y_test.shape == (100,)

        x = np.array([1.0, -2.0, 3.0])
        grad = eval_numerical_gradient(lambda v: float(np.sum(v ** 2)), x, verbose=False)
        assert np.allclose(grad, 2 * x, atol=1e-6)

        feats = extract_features(X_train[:4], [hog_feature, color_histogram_hsv])
        assert feats.shape == (4, 144 + 10)

        class Quadratic:  # a model whose loss is given, to drive the Solver
            def __init__(self):
                self.params = {"w": np.ones(3)}
            def loss(self, X, y=None):
                if y is None:
                    return np.tile(self.params["w"], (X.shape[0], 1))
                return float(np.sum(self.params["w"] ** 2)), {"w": 2 * self.params["w"]}

        data = {"X_train": np.zeros((20, 2)), "y_train": np.zeros(20, dtype=int),
                "X_val": np.zeros((5, 2)), "y_val": np.zeros(5, dtype=int)}
        solver = Solver(Quadratic(), data, num_epochs=2, batch_size=10, verbose=False,
                        optim_config={"learning_rate": 0.1})
        solver.train()
        assert len(solver.loss_history) == 4 and solver.loss_history[-1] < 3.0

        knn = KNearestNeighbor()
        knn.train(np.zeros((3, 2)), np.arange(3))
        try:
            knn.predict(np.zeros((1, 2)), num_loops=3)
        except ValueError:
            pass
        else:
            raise AssertionError("predict accepted num_loops=3")

        model = Softmax()
        model.W = np.arange(6.0).reshape(3, 2)
        model.save("roundtrip.npy")
        other = Softmax()
        other.load("roundtrip.npy")
        assert np.array_equal(other.W, model.W)
    ''').replace("CIFAR_FOLDER", repr(synthetic_cifar_dir))
    result = run_student_python(release_copy, "-c", script, env=NO_BYTECODE)
    assert result.returncode == 0, result.stderr


def run_check(folder, *args):
    result = run_student_python(folder, "check.py", *args, "--json", "check.json",
                                env=NO_BYTECODE)
    with open(os.path.join(folder, "check.json")) as f:
        return result, json.load(f)


def test_check_on_the_untouched_release_reports_every_function_not_done(release_copy):
    result, report = run_check(release_copy, "--modules")
    assert result.returncode == 1
    assert len(report["modules"]) == len(STUDENT_CALLS)
    assert {r["status"] for r in report["modules"]} == {"not done"}
    states = {s["question"]: s["state"] for s in report["summary"]}
    assert states == {"q1": "not done", "q2": "not done", "q3": "not done",
                      "q4": "not checked", "q5": "not done"}
    assert "not done" in result.stdout


def test_check_on_the_master_package_reports_every_function_passing(release_copy):
    shutil.rmtree(release_copy / "cs231n")
    shutil.copytree(str(COURSE.package_dir), release_copy / "cs231n",
                    ignore=shutil.ignore_patterns("__pycache__", "cifar-10-batches-py"))
    result, report = run_check(release_copy, "--modules")
    assert [r for r in report["modules"] if r["status"] != "pass"] == []
    assert result.returncode == 0, result.stdout


def real_secrets():
    """One secret line of each kind from the real master (the first that is not trivial)."""
    secrets = collect_secrets(str(COURSE.package_dir), str(COURSE.source_dir))
    picked = {}
    for kind, lines in secrets.lines.items():
        for norm in lines:
            if not is_trivial(norm) and norm not in secrets.public:
                picked[kind] = norm
                break
    return picked


@pytest.mark.parametrize("kind", ["package-solution", "notebook-solution", "hidden-test",
                                  "answer-key"])
def test_a_real_secret_injected_into_the_release_is_caught(release_copy, kind):
    secret = real_secrets().get(kind)
    assert secret, f"the master has no {kind} line to test with"
    with open(release_copy / "cs231n" / "layers.py", "a") as f:
        f.write(f"\n# {secret}\n")
    leaks = find_leaks(str(release_copy))
    assert kind in {leak.kind for leak in leaks}


def hidden_files():
    hidden = os.path.join(str(COURSE.grading_dir), "hidden")
    found = [os.path.join(str(COURSE.tests_dir), "conftest.py")]
    for dirpath, _, filenames in os.walk(hidden):
        found.extend(os.path.join(dirpath, name) for name in sorted(filenames)
                     if name.endswith((".json", ".py", ".toml")))
    return found


@pytest.mark.parametrize("path", hidden_files(),
                         ids=lambda p: os.path.relpath(p, str(COURSE.root)))
def test_a_copied_test_or_reference_file_is_caught(release_copy, path):
    shutil.copyfile(path, release_copy / "cs231n" / "saved" / os.path.basename(path))
    kinds = {leak.kind for leak in find_leaks(str(release_copy))}
    assert kinds & {"reference-file", "tests-content"}


@pytest.mark.parametrize("name", ["test_knn.py", "test_layers.py", "test_nets.py"])
def test_a_part_of_a_hidden_check_file_pasted_into_the_release_is_caught(release_copy, name):
    hidden = os.path.join(str(COURSE.grading_dir), "hidden", name)
    assert os.path.exists(hidden), f"grading/hidden/{name} (a hidden check file) is missing"
    lines = open(hidden).read().splitlines()
    half = "\n".join(lines[len(lines) // 2:])
    (release_copy / "cs231n" / "extra.py").write_text(half)
    kinds = {leak.kind for leak in find_leaks(str(release_copy))}
    assert "tests-content" in kinds


def test_leakcheck_command_fails_on_a_leak_and_names_it(release_dir, release_copy, capsys):
    from coursekit.cli import main

    assert main(["leakcheck", "--release", release_dir]) == 0
    secret = real_secrets()["package-solution"]
    with open(release_copy / "README.md", "a") as f:
        f.write(f"\n    {secret}\n")
    assert main(["leakcheck", "--release", str(release_copy)]) == 1
    assert "LEAK package-solution: README.md" in capsys.readouterr().err


def test_release_check_command_names_the_files_that_differ(release_copy, capsys):
    from coursekit.cli import main

    (release_copy / "README.md").write_text("edited by hand\n")
    os.remove(release_copy / "collect.py")
    assert main(["release", "--check", "--dest", str(release_copy)]) == 1
    err = capsys.readouterr().err
    assert "README.md" in err and "collect.py" in err and "make release" in err
