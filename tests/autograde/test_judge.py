"""Test cells judged outside the student's kernel (coursekit/autograde/judge.py)."""
import json
import sys
import types

import nbformat
import numpy as np
import pytest
import tinycourse
from attack_corpus import KERNEL_TRICKS
from nbformat.v4 import new_code_cell, new_notebook
from tinycourse import tiny_settings

from coursekit.autograde import batch, judge
from coursekit.course import current

REPO_ROOT = current().root

SOURCE = REPO_ROOT / "source" / "assignment1"


# --- what a test reads -----------------------------------------------------------------------

def test_plan_fetches_the_free_names_with_the_attributes_read_of_them():
    found = judge.plan(
        "assert solver is not None and len(solver.loss_history) > 0\n"
        "assert best_net.params['W1'].shape[0] == input_dim\n"
        "assert dists.shape == (n, m) and np.all(dists >= 0)\n"
        "for k in k_choices:\n"
        "    assert len(acc[k]) == 5 and max(v for v in acc.values()) <= 1\n"
        "ok = rel_error(out, expected) < 1e-7\n")
    assert found.requests == {
        "acc": [], "best_net": ["params"], "dists": ["shape"], "expected": [],
        "input_dim": [], "k_choices": [], "m": [], "n": [], "out": [],
        "solver": ["loss_history"]}
    assert found.calls == []


def test_plan_names_every_call_that_would_run_student_code():
    found = judge.plan("assert clf.predict(X)[0] == 1\nassert softmax_loss(W)[0] > 0\n"
                       "x = notebook_utils.sparse_grad_errors(f, W)\nassert X.sum() > 0\n")
    assert found.calls == [(1, "clf.predict"), (2, "softmax_loss"),
                           (3, "notebook_utils.sparse_grad_errors")]


def test_segments_split_a_cell_at_its_hidden_regions():
    source = "a = 1\n### BEGIN HIDDEN TESTS\nb = 2\n### END HIDDEN TESTS\nc = 3"
    assert judge.segments(source) == [{"hidden": False, "first": 1, "last": 1},
                                      {"hidden": True, "first": 2, "last": 4},
                                      {"hidden": False, "first": 5, "last": 5}]


def test_hidden_region_opened_on_a_line_that_also_names_its_end_stays_open():
    # As nbgrader reads it: the begin marker wins, so the feedback hides what the judge hides.
    source = ("a\n# BEGIN HIDDEN TESTS / END HIDDEN TESTS\nb\n### END HIDDEN TESTS\nc\n"
              "# END HIDDEN TESTS")
    assert judge.hidden_lines(source) == {2, 3, 4}


# --- the kernel's side: plain data out -------------------------------------------------------

def fetched(requests, namespace, monkeypatch, known=None):
    """What fetch_code hands over from `namespace` (published display data captured)."""
    import IPython.display

    sent = []
    monkeypatch.setattr(IPython.display, "publish_display_data", lambda data: sent.append(data))
    exec(judge.fetch_code(requests, known), namespace)  # noqa: S102
    assert "_coursekit_fetch" not in namespace
    values, problem = judge.read_values([{"output_type": "display_data", "data": sent[0]}])
    assert problem is None
    return values


class Solver:
    def __init__(self):
        self.loss_history = [2.3, 1.9]

    @property
    def broken(self):
        raise RuntimeError("no")


@pytest.fixture(scope="module")
def judge_process():
    process = judge.JudgeProcess(seconds=20)
    yield process
    process.close()


def verdict(judge_process, source, values, problem=None):
    return judge_process.judge(source, values, problem)


def test_values_cross_as_plain_data_and_a_passing_test_prints_its_lines(monkeypatch,
                                                                        judge_process):
    ns = {"dists": np.arange(6.0).reshape(2, 3), "labels": np.array([1, 2], dtype=np.int8),
          "results": {(1e-7, 2.5e4): (0.3, 0.31)}, "k": np.float32(2.5), "big": 2**70,
          "bad": float("nan"), "names": {"a", "b"}, "solver": Solver(), "none": None}
    requests = judge.plan("print(dists.sum(), labels.dtype, results, k, big, names, none)\n"
                          "assert np.isnan(bad) and solver.loss_history[-1] < 2\n").requests
    values = fetched(requests, ns, monkeypatch)
    outputs = verdict(judge_process, "print(dists.sum(), labels.dtype, results[(1e-7, 2.5e4)], "
                      "float(k), big, sorted(names), none)\nassert np.isnan(bad) and "
                      "solver.loss_history[-1] < 2 and solver is not None", values)
    assert outputs == [{"output_type": "stream", "name": "stdout",
                        "text": f"15.0 int8 (0.3, 0.31) 2.5 {2**70} ['a', 'b'] None\n"}]


def test_an_object_hands_over_only_the_attributes_read_and_their_errors(monkeypatch,
                                                                       judge_process):
    values = fetched({"solver": ["broken", "loss_history"]}, {"solver": Solver()}, monkeypatch)
    outputs = verdict(judge_process, "solver.broken", values)
    assert outputs[0]["ename"] == "AttributeError"
    assert "RuntimeError: no" in outputs[0]["evalue"]
    outputs = verdict(judge_process, "solver.predict", values)
    assert "Solver" in outputs[0]["evalue"] and "predict" in outputs[0]["evalue"]


def test_a_test_calls_the_courses_check_saved_model_on_the_handed_over_description(
        monkeypatch, judge_process):
    good = {"file": "m.npy", "path": "cs231n/saved/m.npy", "saved_here": True,
            "exists": True, "shapes": {"W": (3073, 10)}, "found": "a dict", "grading": True}
    test = "notebook_utils.check_saved_model(described, {'W': (3073, None)})"
    requests = judge.plan(test).requests

    def handed_over(description):
        return fetched(requests, {"described": description}, monkeypatch)

    assert verdict(judge_process, test, handed_over(good)) == []
    outputs = verdict(judge_process, test, handed_over({**good, "exists": False}))
    assert outputs[0]["ename"] == "AssertionError"
    assert "cs231n/saved/m.npy is missing" in outputs[0]["evalue"]
    # A file name instead of the description: nothing is read from the grader's disk.
    outputs = verdict(judge_process, "notebook_utils.check_saved_model('m.npy', {})", "{}")
    assert "must judge the description of m.npy" in outputs[0]["evalue"]


def test_a_course_without_notebook_utils_gives_tests_no_such_name(tmp_path):
    process = judge.JudgeProcess(seconds=20, notebook_utils=tmp_path / "none.py")
    try:
        outputs = process.judge("notebook_utils.check_saved_model({}, {})", "{}")
    finally:
        process.close()
    assert outputs[0]["ename"] == "NameError"


def test_a_visible_failure_keeps_its_message_and_line(judge_process):
    values = json.dumps({"loss": 3.0})
    outputs = verdict(judge_process, "print('start')\nassert loss < 2.5, f'loss {loss} too high'",
                      values)
    assert outputs[0]["text"] == "start\n"
    assert outputs[1]["ename"] == "AssertionError" and outputs[1]["evalue"] == "loss 3.0 too high"
    assert outputs[1]["traceback"][0] == "Cell In[ ], line 2"


def test_a_hidden_failure_says_only_that_a_hidden_test_failed(judge_process):
    source = ("assert loss > 0\n### BEGIN HIDDEN TESTS\nprint('secret 2.30258')\n"
              "assert abs(loss - 2.30258) < 1e-3, 'expected 2.30258'\n### END HIDDEN TESTS\n"
              "print('done')")
    failed = verdict(judge_process, source, json.dumps({"loss": 3.0}))
    assert "2.30258" not in json.dumps(failed)
    assert failed == [{"output_type": "error", "ename": "AssertionError",
                       "evalue": "a hidden test failed",
                       "traceback": ["AssertionError: a hidden test failed"]}]
    passed = verdict(judge_process, source, json.dumps({"loss": 2.30258}))
    assert passed == [{"output_type": "stream", "name": "stdout", "text": "done\n"}]


def test_a_missing_variable_is_a_name_error(judge_process):
    outputs = verdict(judge_process, "assert dists.shape == (2, 3)",
                      json.dumps({"dists": {"missing": True}}))
    assert outputs[0]["ename"] == "NameError" and "dists" in outputs[0]["evalue"]
    # The feedback says why: a cell that defines it did not run or failed.
    assert "your notebook did not compute dists: the cell that defines it did not run" in \
        outputs[0]["evalue"]


@pytest.mark.parametrize("node", [
    {"nd": ["|O", [1], "AAAAAAAAAAA="]},                       # objects: a pickle in disguise
    {"nd": ["<f8", [2, 2], "AAAAAAAAAAA="]},                   # 8 bytes for 4 floats
    {"nd": ["<f8", [1], "not base64!"]},
    {"nd": [[("a", "<f8")], [1], "AAAAAAAAAAA="]},              # structured dtype
    {"pickle": "gASVAAAAAAAAAAB9lC4="},
    {"dict": [[[1, 2], 3]]},                                    # a list as a key
], ids=["object-dtype", "short-buffer", "bad-base64", "structured", "unknown-tag", "bad-key"])
def test_values_that_are_not_plain_data_fail_the_test_with_a_reason(judge_process, node):
    outputs = verdict(judge_process, "assert x is not None", json.dumps({"x": node}))
    assert outputs[0]["ename"] == "GradingError"
    assert "could not be read" in outputs[0]["evalue"]


def test_deep_nesting_and_huge_claims_cost_the_test_not_the_judge(judge_process):
    deep = "[" * 100000 + "]" * 100000
    outputs = verdict(judge_process, "assert x", '{"x": ' + deep + "}")
    assert outputs[0]["ename"] == "GradingError"
    outputs = verdict(judge_process, "assert x",
                      json.dumps({"x": {"nd": ["<f8", [10**12], ""]}}))
    assert outputs[0]["ename"] == "GradingError"
    # The judge still works afterwards.
    assert verdict(judge_process, "assert x == 1", json.dumps({"x": 1})) == []


def test_a_test_the_judge_cannot_finish_fails_and_the_judge_starts_again():
    process = judge.JudgeProcess(seconds=1)
    try:
        outputs = process.judge("while x: pass", json.dumps({"x": True}))
        assert outputs[0]["ename"] == "GradingError" and "1 s" in outputs[0]["evalue"]
        assert process.judge("assert x", json.dumps({"x": True})) == []
    finally:
        process.close()


def test_a_problem_of_the_kernel_fails_the_test_with_it(judge_process):
    outputs = verdict(judge_process, "assert x", None, "your kernel did not hand over x")
    assert outputs[0]["evalue"] == "your kernel did not hand over x"


def test_values_are_read_only_from_the_graders_own_output_kind():
    assert judge.read_values([{"output_type": "stream", "text": '{"x": 1}'}])[0] is None
    assert judge.read_values([{"output_type": "display_data",
                               "data": {judge.MIME: "x" * 11}}], limit=10)[0] is None
    assert judge.read_values([{"output_type": "error", "ename": "NameError",
                               "evalue": "np"}])[1].endswith("(NameError: np)")


# --- large arrays the grader has itself cross by name ------------------------------------------

@pytest.fixture(scope="module")
def subset(tmp_path_factory):
    """A grading subset as the grader prepares it ({name: .npy path}) and its training images."""
    folder = tmp_path_factory.mktemp("subset")
    images = np.random.default_rng(3).normal(size=(120, 32, 32, 3))
    images[7, 0, 0, 0] = 0.0
    np.save(folder / "X_train.npy", images)
    np.save(folder / "y_train.npy", np.arange(120) % 10)
    return {"X_train": str(folder / "X_train.npy"), "y_train": str(folder / "y_train.npy"),
            "missing": str(folder / "missing.npy")}, images


def nodes(values, name):
    node = json.loads(values)[name]
    return [n["nd"][2] for n in node] if isinstance(node, list) else node["nd"][2]


def test_a_run_of_the_graders_own_data_crosses_by_name_and_arrives_bit_for_bit(
        subset, monkeypatch, judge_process):
    known, images = subset
    X = np.reshape(images[list(range(100))], (100, -1))    # a copy of the first rows, flattened
    folds = np.array_split(X, 2)                            # views into that copy (1.2 MB)
    flipped = X.copy()
    flipped[7, 0] = -0.0                                    # equal to 0.0, not the same bytes
    ns = {"X_train": X, "X_train_folds": folds, "flipped": flipped,
          "as_sent": np.asfortranarray(X), "row": X[:1].copy()}
    values = fetched({name: [] for name in ns}, ns, monkeypatch, known)
    assert nodes(values, "X_train") == {"known": ["X_train", 0]}
    assert nodes(values, "X_train_folds") == [{"known": ["X_train", i * 50 * 3072]}
                                              for i in range(2)]
    # Not a run of the grader's bytes, not C-ordered, under the size: sent as they are.
    assert all(isinstance(nodes(values, name), str) for name in ("flipped", "as_sent", "row"))
    test = ("assert X_train.shape == (100, 3072) and X_train.dtype == np.float64\n"
            "assert X_train.tobytes() == as_sent.tobytes()\n"
            "assert np.concatenate(X_train_folds).tobytes() == X_train.tobytes()\n"
            "assert np.signbit(flipped[7, 0]) and not np.signbit(X_train[7, 0])\n"
            "X_train[0, 0] = 99.0\n"      # the test's copy: the next test sees the grader's again
            "print(row.shape)\n")
    assert verdict_known(judge_process, test, values, known) == [
        {"output_type": "stream", "name": "stdout", "text": "(1, 3072)\n"}]
    again = verdict_known(judge_process, "assert X_train[0, 0] != 99.0", values, known)
    assert again == []


def verdict_known(judge_process, source, values, known):
    return judge_process.judge(source, values, None, known)


def test_an_array_the_kernel_cannot_match_is_sent_whole(subset, monkeypatch):
    known, images = subset
    X = np.reshape(images[20:120], (100, -1)).copy()        # rows from the middle: no prefix
    values = fetched({"X": []}, {"X": X}, monkeypatch, {"missing": known["missing"]})
    assert isinstance(nodes(values, "X"), str)
    values = fetched({"X": []}, {"X": X}, monkeypatch, known)
    assert isinstance(nodes(values, "X"), str)


@pytest.mark.parametrize("ref", [
    {"known": ["X_test", 0]},                 # a name the grader did not give
    {"known": ["X_train", 120 * 3072]},       # past its end
    {"known": ["X_train", -1]},
    {"known": ["X_train"]},
    {"known": ["X_train", 0], "more": 1},
], ids=["unknown-name", "past-the-end", "negative", "malformed", "extra-keys"])
def test_a_reference_the_grader_cannot_honour_fails_the_test_with_a_reason(subset, ref,
                                                                          judge_process):
    known, _ = subset
    values = json.dumps({"x": {"nd": ["<f8", [2, 3072], ref]}})
    outputs = verdict_known(judge_process, "assert x is not None", values, known)
    assert outputs[0]["ename"] == "GradingError"
    assert "could not be read" in outputs[0]["evalue"]


def test_references_cannot_make_the_judge_copy_more_than_its_budget(subset, judge_process):
    known, _ = subset
    whole = {"nd": ["<f8", [120, 3072], {"known": ["X_train", 0]}]}   # 2.9 MB each
    values = json.dumps({"x": [whole] * 200})
    outputs = verdict_known(judge_process, "assert x is not None", values, known)
    assert outputs[0]["ename"] == "GradingError" and "MB of the grader" in outputs[0]["evalue"]
    assert verdict_known(judge_process, "assert len(x) == 2",
                         json.dumps({"x": [whole] * 2}), known) == []


def test_a_reference_of_another_dtype_or_without_the_graders_data_fails_the_test(
        subset, judge_process):
    known, _ = subset
    as_ints = json.dumps({"x": {"nd": ["<i8", [10], {"known": ["X_train", 0]}]}})
    assert verdict_known(judge_process, "assert x is not None", as_ints,
                         known)[0]["ename"] == "GradingError"
    # The grader named nothing for this test: a reference is not honoured.
    fine = json.dumps({"x": {"nd": ["<f8", [10], {"known": ["X_train", 0]}]}})
    assert verdict_known(judge_process, "assert x is not None", fine, known) == []
    assert verdict_known(judge_process, "assert x is not None", fine,
                         None)[0]["ename"] == "GradingError"


# --- helpers with the same verdicts on both sides -------------------------------------------

def saved_descriptions():
    base = {"file": "m.npy", "path": "cs231n/saved/m.npy", "saved_here": True, "exists": True,
            "shapes": {"W": (3073, 10)}, "found": "a dict", "grading": True,
            "same_as_saved": None}
    return [base, {**base, "saved_here": False}, {**base, "exists": False},
            {**base, "shapes": {"W": (3072, 10)}},
            {**base, "shapes": {"W": (3073, 10), "b": (10,)}},
            {**base, "shapes": None}, {**base, "grading": False, "same_as_saved": False},
            {**base, "grading": False, "same_as_saved": True},
            # What a tampering kernel may hand over: not a description, keys left out.
            {"file": "m.npy"}, {}, ["m.npy"]]


def judge_process_module():
    sys.path.insert(0, str(REPO_ROOT / "coursekit" / "autograde"))
    try:
        import judge_process
    finally:
        sys.path.pop(0)
    return judge_process


@pytest.mark.parametrize("index", range(len(saved_descriptions())))
def test_the_judges_check_saved_model_agrees_with_the_notebooks(index):
    from cs231n import notebook_utils

    # The judge runs the course's own function, compiled alone from the given file's text.
    judges = judge_process_module().given_function(
        REPO_ROOT / "cs231n" / "notebook_utils.py", "check_saved_model")
    description = saved_descriptions()[index]

    def outcome(check):
        try:
            check(description.copy(), {"W": (3073, None)})
            return None
        except AssertionError as exc:
            return str(exc)

    ours = outcome(judges)
    assert ours == outcome(notebook_utils.check_saved_model)
    assert (ours is None) == (index in (0, 7))


def test_describe_saved_model_is_plain_data(tmp_path, monkeypatch):
    from cs231n import model_io, notebook_utils

    monkeypatch.setattr(model_io, "SAVED_DIR", str(tmp_path), raising=False)
    monkeypatch.setattr(notebook_utils, "saved_path", lambda f: str(tmp_path / f))
    model = types.SimpleNamespace(W=np.ones((3, 2)), save=lambda f: np.save(
        tmp_path / f, {"W": np.ones((3, 2))}))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    notebook_utils.save_for_autograder(model, "m.npy")
    d = notebook_utils.describe_saved_model("m.npy")
    assert d["saved_here"] and d["exists"] and d["shapes"] == {"W": (3, 2)}
    assert d["same_as_saved"] is True and json.loads(json.dumps(d))


# --- the rules for notebook authors ----------------------------------------------------------

def write(tmp_path, *cells):
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=list(cells)), str(path))
    return path


def test_cell(source, grade_id="t"):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                 "grade_id": grade_id, "points": 1, "schema_version": 3}
    return cell


test_cell.__test__ = False


def test_lint_flags_what_the_judge_cannot_evaluate(tmp_path):
    path = write(tmp_path, new_code_cell("x = 1"),
                 test_cell("assert model.predict(X)[0] == 1", "calls"),
                 test_cell("if x:\n### BEGIN HIDDEN TESTS\n    assert x\n### END HIDDEN TESTS",
                           "split"),
                 test_cell("helper = x + 1", "assigns"), new_code_cell("print(helper)"))
    problems = dict(judge.lint_notebook(path))
    assert "model.predict" in problems["calls"]
    assert "hidden regions must hold whole statements" in problems["split"]
    assert "helper" in problems["assigns"]


def test_the_master_notebooks_follow_the_rules():
    notebooks = sorted(SOURCE.glob("*.ipynb"))
    assert len(notebooks) == 5
    assert [(nb.name, problem) for nb in notebooks for problem in judge.lint_notebook(nb)] == []


# --- end to end, with the tiny course --------------------------------------------------------

TRICKS = KERNEL_TRICKS    # attack_corpus.py: the acceptance batch's own tricks


@pytest.fixture(scope="module")
def tricked(tiny_course):
    course = tiny_settings(tiny_course)
    submitted = tiny_course / "submitted-tricks"
    dest = tinycourse.make_submission(tiny_course, submitted / "eve" / "assignment1",
                                      add_body="return 0", mul_body="return 0")
    for name in ("adder", "ops"):
        nb = nbformat.read(str(dest / f"{name}.ipynb"), as_version=4)
        nb.cells.insert(0, new_code_cell(TRICKS))
        nbformat.write(nb, str(dest / f"{name}.ipynb"))
    batch.grade_all(course, [("eve", dest)], jobs=1, progress=False)
    return json.loads(course.result_path("eve").read_text())


def test_tricks_on_the_students_own_kernel_earn_no_test_point(tricked):
    scores = {i["id"]: i["score"] for i in tricked["items"]}
    assert scores["adder:test_add"] == 0 and scores["ops:test_mul"] == 0
