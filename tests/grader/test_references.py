"""The stored reference values: reproducible from the master, and right by other computations."""
import numpy as np
from scipy.spatial.distance import cdist
from scipy.special import logsumexp

from coursekit.grader.context import seed_for
from coursekit.grader.driver import generate_references
from coursekit.grader.master import HIDDEN_DIR
from coursekit.grader.references import REFERENCES_FILE, load_references


def test_regenerating_references_reproduces_the_stored_file_byte_for_byte():
    stored = (HIDDEN_DIR / REFERENCES_FILE).read_text()
    assert generate_references() == stored, "run `make references` and commit the result"


class InputsOnly:
    """The part of a check's context that makes inputs: its seeded random generator."""

    def __init__(self, check_id):
        self.rng = np.random.RandomState(seed_for(check_id))


def load_checks_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("hidden_checks_for_test",
                                                  HIDDEN_DIR / "checks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_distance_references_equal_scipy_cdist():
    checks, refs = load_checks_module(), load_references()
    for name in ("two_loops", "one_loop", "no_loops"):
        check_id = f"knn.{name}.values"
        X_train, _, X_test = checks.knn_data(InputsOnly(check_id))
        np.testing.assert_allclose(refs[check_id]["dists"], cdist(X_test, X_train), rtol=1e-10)


def test_softmax_loss_references_equal_logsumexp_cross_entropy():
    checks, refs = load_checks_module(), load_references()
    for check_id, scale in (("layers.softmax_loss.values", 3.0),
                            ("layers.softmax_loss.large_scores", 900.0)):
        x, y = checks.scores_case(InputsOnly(check_id), scale)
        log_probs = x - logsumexp(x, axis=1, keepdims=True)
        expected = -np.mean(log_probs[np.arange(len(y)), y])
        np.testing.assert_allclose(refs[check_id]["loss"], expected, rtol=1e-12)
        assert np.isfinite(refs[check_id]["dx"]).all()


def test_tie_references_pick_the_smaller_label():
    checks, refs = load_checks_module(), load_references()
    y_train, dists = checks.label_case(InputsOnly("knn.predict_labels.ties"))
    expected = []
    for row in dists:
        votes = np.bincount(y_train[np.argsort(row)[:4]], minlength=10)
        expected.append(min(np.flatnonzero(votes == votes.max())))
    assert refs["knn.predict_labels.ties"]["labels"].tolist() == expected
    assert expected[:2] == [2, 1]  # the case is really a tie with a nearer larger label


def test_references_are_finite_and_never_empty():
    refs = load_references()
    assert len(refs) > 30
    for check_id, values in refs.items():
        assert values, check_id
        for key, value in values.items():
            assert np.isfinite(value).all(), (check_id, key)
