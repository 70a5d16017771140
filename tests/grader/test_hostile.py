"""Hostile submissions: copies of the master where one function attacks the grader.

Each attack gains nothing (its function earns no point), and the run goes on: every other
function keeps its full points. Slow corpus: `make test-mutants`.
"""
import json
import re

import numpy as np
import pytest

from coursekit.grader.master import HIDDEN_DIR
from coursekit.grader.references import REFERENCES_FILE

from .conftest import copy_master, edit, grade

# Helpers appended to the attacked module. The disk and memory searches return what they find
# when it looks like the expected values, so a leak would show up as points.
SEARCH_HELPERS = '''

def _hostile_disk_search(check_key, shape):
    import json as _json
    import os as _os
    found = []
    for root, dirs, files in _os.walk("/"):
        if root.startswith(("/proc", "/sys", "/dev")):
            dirs[:] = []
            continue
        for name in files:
            path = _os.path.join(root, name)
            try:
                if _os.path.getsize(path) > 5_000_000:
                    continue
                with open(path, "rb") as f:
                    data = f.read()
            except Exception:
                continue
            if check_key.encode() in data:
                try:
                    refs = _json.loads(data)[check_key]
                except Exception:
                    continue
                for value in refs.values():
                    if tuple(value["shape"]) == tuple(shape):
                        found.append(np.array(value["data"]).reshape(shape))
    return found[0] if found else np.zeros(shape)


def _hostile_memory_search(check_key, shape):
    import gc as _gc
    import inspect as _inspect
    candidates = []
    for info in _inspect.stack():
        candidates += list(info.frame.f_locals.values())
    candidates += _gc.get_objects()
    for obj in candidates:
        if isinstance(obj, dict) and check_key in obj:
            return obj[check_key]
        if isinstance(obj, str) and check_key in obj:
            return obj
    for obj in candidates:
        if isinstance(obj, np.ndarray) and obj.shape == tuple(shape) and obj.any():
            return obj * 1.5  # an array of the right shape from somewhere: a guess
    return np.zeros(shape)
'''

# name: (attacked function, [(file, old, new), ...], extra text appended to the file or None)
HOSTILE = {
    "disk_search": ("affine_forward", [
        ("layers.py", "out = x.reshape(x.shape[0], -1) @ w + b",
         'out = _hostile_disk_search("layers.affine_forward_matches_the_reference", '
         '(x.shape[0], w.shape[1]))'),
    ], ("layers.py", SEARCH_HELPERS)),
    "stack_and_memory_search": ("affine_backward", [
        ("layers.py", "dx = (dout @ w.T).reshape(x.shape)",
         'dx = _hostile_memory_search("layers.affine_backward_matches_the_reference", x.shape)'),
        ("layers.py", "db = dout.sum(axis=0)",
         'db = _hostile_memory_search("layers.affine_backward_matches_the_reference", b.shape)'),
    ], ("layers.py", SEARCH_HELPERS)),
    "hang": ("relu_forward", [
        ("layers.py", "out = np.maximum(0, x)", "while True:\n        pass")], None),
    "os_exit": ("relu_backward", [
        ("layers.py", "dx = dout * (x > 0)", "import os\n    os._exit(0)")], None),
    "output_flood": ("softmax_loss", [
        ("layers.py", "shifted = x - x.max(axis=1, keepdims=True)",
         "while True:\n        print('flood ' * 100)")], None),
    "memory_bomb": ("sgd_momentum", [
        ("optim.py", 'v = config["momentum"] * v - config["learning_rate"] * dw',
         "blocks = []\n    while True:\n        blocks.append(np.ones(10**7))")], None),
    "nan_values": ("rmsprop", [
        ("optim.py", 'next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + '
                     'config["epsilon"])',
         "next_w = np.full_like(w, np.nan)\n    config['cache'] = np.full_like(w, np.nan)")],
        None),
    "nan_loss": ("softmax_loss_vectorized", [
        ("classifiers/softmax.py",
         "loss = np.mean(np.log(sum_exp) - scores[rows, y]) + reg * np.sum(W * W)",
         "loss = float('nan')"),
        ("classifiers/softmax.py", "dW = X.T @ dscores / num_train + 2 * reg * W",
         "dW = np.full_like(W, np.inf)")], None),
    "forged_reply_on_grader_channel": ("adam", [
        ("optim.py", 'config["t"] += 1',
         'import os, sys\n    os.write(int(sys.argv[2]), b"\\xff" * 64)\n    config["t"] += 1')],
        None),
    "sys_exit": ("TwoLayerNet.loss", [
        ("classifiers/fc_net.py",
         'hidden, hidden_cache = affine_relu_forward(X, self.params["W1"], self.params["b1"])',
         "import sys\n        sys.exit(0)")], None),
    "junk_object": ("FullyConnectedNet.loss", [
        ("classifiers/fc_net.py",
         'scores, caches[L] = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])',
         "scores, caches[L] = object(), None\n        return scores")], None),
    "fork_bomb": ("LinearClassifier.predict", [
        ("classifiers/linear_classifier.py", "y_pred = np.argmax(X @ self.W, axis=1)",
         "import os\n        while True:\n            os.fork()")], None),
}


def reference_numbers():
    """Non-trivial numbers of the reference file, as a student-facing message could print them."""
    raw = json.loads((HIDDEN_DIR / REFERENCES_FILE).read_text())
    numbers = set()
    for values in raw.values():
        for entry in values.values():
            for v in entry["data"]:
                if isinstance(v, float) and abs(v) > 1e-3 and v != round(v):
                    numbers.add(f"{v:.4g}")
    return numbers


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_submission_gains_nothing_and_the_run_goes_on(name, tmp_path):
    function, edits, helpers = HOSTILE[name]
    submission = copy_master(tmp_path)
    for relpath, old, new in edits:
        edit(submission, relpath, old, new)
    if helpers:
        path = submission / "cs231n" / helpers[0]
        path.write_text(path.read_text() + helpers[1])
    result = grade(submission)
    own = [c for c in result.checks if c.function == function]
    others = [c for c in result.checks if c.function != function]
    assert own and sum(c.points for c in own) == 0, [(c.id, c.status) for c in own]
    assert [(c.id, c.status, c.message) for c in others if c.status != "passed"] == []
    for c in own:
        assert c.message, c.id


@pytest.mark.slow
def test_messages_never_print_reference_values(tmp_path):
    submission = copy_master(tmp_path)
    edit(submission, "layers.py", "out = x.reshape(x.shape[0], -1) @ w + b",
         "out = x.reshape(x.shape[0], -1) @ w + 1.001 * b")
    edit(submission, "optim.py", 'config["t"] += 1', 'config["t"] += 2')
    result = grade(submission)
    printed = set()
    for c in result.checks:
        printed.update(re.findall(r"-?\d+\.\d+(?:e-?\d+)?", c.message))
    numbers = reference_numbers()
    assert {p for p in printed if f"{float(p):.4g}" in numbers} == set()
    assert any(c.status == "failed" for c in result.checks)


def test_corpus_covers_the_attacks_of_the_issue():
    assert {"disk_search", "stack_and_memory_search", "hang", "os_exit", "output_flood",
            "memory_bomb", "nan_values"} <= set(HOSTILE)


def test_reference_numbers_are_found_by_the_leak_scan():
    # The scan must be able to fail: the reference file does contain such numbers.
    assert len(reference_numbers()) > 100
    assert np.isfinite([float(n) for n in reference_numbers()]).all()


@pytest.mark.slow
def test_total_time_of_a_submission_is_bounded(tmp_path, monkeypatch):
    from coursekit.grader import plugin

    monkeypatch.setattr(plugin, "TOTAL_BUDGET", 4.0)
    submission = copy_master(tmp_path)
    for relpath, old in (("layers.py", "out = x.reshape(x.shape[0], -1) @ w + b"),
                         ("layers.py", "dx = (dout @ w.T).reshape(x.shape)"),
                         ("layers.py", "out = np.maximum(0, x)")):
        edit(submission, relpath, old, "while True:\n        pass")
    result = grade(submission)
    assert result.seconds < 30
    skipped = [c for c in result.checks if "time for grading" in c.message]
    assert skipped and all(c.points == 0 for c in skipped)


@pytest.mark.slow
def test_grader_functions_kept_from_a_net_check_answer_nothing_later(tmp_path):
    """A proxy of the grader's layers, kept from a net check, is refused in a layer check."""
    submission = copy_master(tmp_path)
    # The net's loss keeps the proxies it sees; affine_forward then tries them.
    edit(submission, "classifiers/fc_net.py",
         'hidden, hidden_cache = affine_relu_forward(X, self.params["W1"], self.params["b1"])',
         "import cs231n.layers as _layers\n"
         "        _layers._STOLEN = dict(vars(_layers))\n"
         '        hidden, hidden_cache = affine_relu_forward(X, self.params["W1"], '
         'self.params["b1"])')
    edit(submission, "layers.py", "out = x.reshape(x.shape[0], -1) @ w + b",
         "import gc\n"
         "    for obj in gc.get_objects():\n"
         "        if type(obj).__name__ == 'Worker':\n"
         "            obj.oracle_allowed = True  # the worker's own guard is no protection\n"
         "    stolen = globals().get('_STOLEN', {}).get('affine_forward')\n"
         "    if stolen is not None and stolen is not affine_forward:\n"
         "        out = stolen(x, w, b)[0]\n"
         "    else:\n"
         "        out = np.zeros((x.shape[0], w.shape[1]))")
    # The net checks first, in the same worker, then affine_forward's (tests run in this order).
    result = grade(submission, tests=[
        "test_nets.py::test_two_layer_loss_and_gradients_match_the_reference",
        "test_layers.py::test_affine_forward_matches_the_reference",
        "test_layers.py::test_affine_forward_handles_one_example_and_singleton_dimensions"])
    by_id = {r.id: r for r in result.checks}
    assert list(by_id)[0] == "nets.two_layer_loss_and_gradients_match_the_reference"
    assert by_id["nets.two_layer_loss_and_gradients_match_the_reference"].status == "passed"
    for check_id in ("layers.affine_forward_matches_the_reference",
                     "layers.affine_forward_handles_one_example_and_singleton_dimensions"):
        assert by_id[check_id].points == 0, by_id[check_id].message


def fallbacks():
    """The sandboxes used where bwrap cannot run: the user switch where this machine's
    interpreter allows it (jail.uid_works), and the limits alone."""
    from coursekit import jail

    return (["uid"] if jail.uid_works() else []) + ["none"]


@pytest.mark.slow
@pytest.mark.parametrize("isolation", fallbacks())
def test_master_grades_the_same_in_the_fallback_sandboxes(tmp_path, isolation):
    result = grade(copy_master(tmp_path), isolation=isolation)
    assert [(c.id, c.message) for c in result.checks if c.status != "passed"] == []
    assert any("no bubblewrap jail" in n for n in result.notes)


@pytest.mark.slow
def test_disk_search_finds_nothing_in_the_jail(tmp_path):
    """The jail holds no reference file anywhere: the search walks the whole of it."""
    function, edits, helpers = HOSTILE["disk_search"]
    submission = copy_master(tmp_path)
    for relpath, old, new in edits:
        edit(submission, relpath, old, new)
    path = submission / "cs231n" / helpers[0]
    path.write_text(path.read_text() + helpers[1])
    result = grade(submission, isolation="bwrap")
    assert sum(c.points for c in result.checks if c.function == function) == 0
