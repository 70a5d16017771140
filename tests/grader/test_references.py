"""The stored reference values: reproducible from the master within the tolerances the checks
grade with (never bit for bit: BLAS kernels differ by CPU), and right by other computations."""
import importlib.util

import numpy as np
from scipy.spatial.distance import cdist
from scipy.special import logsumexp

from coursekit.grader.context import seed_for
from coursekit.grader.driver import generate_references
from coursekit.grader.master import HIDDEN_DIR
from coursekit.grader.references import (
    REFERENCES_FILE,
    Reference,
    load_references,
    parse_references,
    within_tolerance,
)

from .conftest import copy_master, edit


def test_regenerating_references_agrees_with_the_stored_file_within_tolerance():
    stored = load_references()
    assert within_tolerance(parse_references(generate_references()), stored) == [], \
        "run `make references` and commit the result"


def perturbed(refs, relative, seed=0):
    """The references with every float entry moved by `relative` of itself (a number, or one
    per dtype), random signs; labels, compared exactly, stay: no computation rounds them."""
    rng = np.random.RandomState(seed)
    out = {}
    for check_id, values in refs.items():
        out[check_id] = {}
        for key, ref in values.items():
            value = ref.value
            amount = relative.get(value.dtype.type, 0.0) if isinstance(relative, dict) \
                else relative
            if value.dtype.kind == "f" and ref.tol > 0:
                signs = np.where(rng.rand(*value.shape) < 0.5, -1.0, 1.0)
                value = (value * (1 + amount * signs)).astype(value.dtype)
            out[check_id][key] = Reference(value, ref.tol)
    return out


def float32_refs(refs):
    return {f"{cid}/{key}" for cid, values in refs.items() for key, ref in values.items()
            if ref.value.dtype == np.float32}


def test_the_tolerance_decides_not_the_last_bits():
    stored = load_references()
    assert float32_refs(stored), "the float32 network check records float32 references"
    # What another CPU's kernels do: float32 results off by 1e-6, float64 ones by 1e-13.
    moved = perturbed(stored, {np.float32: 1e-6, np.float64: 1e-13})
    assert within_tolerance(moved, stored) == []
    # A real difference is still seen.
    assert len(within_tolerance(perturbed(stored, 1e-3), stored)) > 50


def test_references_of_a_master_whose_float32_results_move_by_1e_6_still_agree(tmp_path):
    """Regenerated from a master copy whose float32 losses and gradients are off by 1e-6."""
    master = copy_master(tmp_path)
    edit(master, "classifiers/fc_net.py",
         "            grads[f\"W{i}\"] += self.reg * W\n",
         "            grads[f\"W{i}\"] += self.reg * W\n"
         "        if self.dtype in (np.float32, \"float32\"):\n"
         "            loss = loss * np.float32(1 + 1e-6)\n"
         "            grads = {k: v * np.float32(1 - 1e-6) for k, v in grads.items()}\n")
    moved = parse_references(generate_references(master_root=master))
    stored = load_references()
    float32_keys = float32_refs(stored)
    changed = {f"{cid}/{key}" for cid, values in moved.items() for key, ref in values.items()
               if not np.array_equal(ref.value, stored[cid][key].value)}
    assert float32_keys <= changed  # the perturbation reached every float32 reference
    assert within_tolerance(moved, stored) == []


def hidden_module(name):
    spec = importlib.util.spec_from_file_location(f"hidden_{name}_for_test",
                                                  HIDDEN_DIR / f"test_{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class InputsOnly:
    """The part of a hidden test's `student` that makes inputs: its seeded generator."""

    def __init__(self, check_id):
        self.rng = np.random.RandomState(seed_for(check_id))


def test_distance_references_equal_scipy_cdist():
    knn, refs = hidden_module("knn"), load_references()
    for name in ("two_loops", "one_loop", "no_loops"):
        check_id = f"knn.distances_match_the_reference[{name}]"
        X_train, _, X_test = knn.knn_data(InputsOnly(check_id))
        exact = cdist(X_test, X_train)
        assert exact.min() < 1  # some test points lie within 1 of a training point
        # Near points lose digits in the master's expansion, never more than 1e-7 absolute.
        np.testing.assert_allclose(refs[check_id]["dists"].value, exact, rtol=1e-10, atol=1e-7)


def test_softmax_loss_references_equal_logsumexp_cross_entropy():
    layers, refs = hidden_module("layers"), load_references()
    for check_id, offset in (("layers.softmax_loss_matches_the_reference", 0.0),
                             ("layers.softmax_loss_is_stable_for_large_scores", 1000.0)):
        x, y = layers.scores_case(InputsOnly(check_id), 3.0, offset=offset)
        assert offset == 0 or np.all(x.max(axis=1) > 750)  # np.exp would overflow
        log_probs = x - logsumexp(x, axis=1, keepdims=True)
        expected = -np.mean(log_probs[np.arange(len(y)), y])
        np.testing.assert_allclose(refs[check_id]["loss"].value, expected, rtol=1e-12)
        assert np.isfinite(refs[check_id]["dx"].value).all()


def test_large_score_inputs_of_the_vectorized_loss_overflow_without_the_shift():
    softmax = hidden_module("softmax")
    W, X, _ = softmax.large_score_data(
        InputsOnly("softmax.vectorized_loss_is_stable_for_large_scores"))
    scores = X @ W
    assert np.all(scores.min(axis=1) > 710)  # exp overflows float64 above ~709.8
    assert np.all(np.ptp(scores, axis=1) < 20)  # but probabilities after the shift do not vanish


def test_tie_references_pick_the_smaller_label():
    knn, refs = hidden_module("knn"), load_references()
    y_train, dists = knn.label_case(
        InputsOnly("knn.predict_labels_breaks_ties_toward_the_smaller_label"))
    expected = []
    for row in dists:
        votes = np.bincount(y_train[np.argsort(row)[:4]], minlength=10)
        expected.append(min(np.flatnonzero(votes == votes.max())))
    ref = refs["knn.predict_labels_breaks_ties_toward_the_smaller_label"]["labels"].value
    assert ref.tolist() == expected
    assert expected[:2] == [2, 1]  # the case is really a tie with a nearer larger label


def test_references_are_finite_never_empty_and_carry_their_tolerance():
    refs = load_references()
    assert len(refs) > 30
    assert (HIDDEN_DIR / REFERENCES_FILE).is_file()
    for check_id, values in refs.items():
        assert values, check_id
        for key, ref in values.items():
            assert np.isfinite(ref.value).all(), (check_id, key)
            assert 0 <= ref.tol <= 1e-4, (check_id, key)
