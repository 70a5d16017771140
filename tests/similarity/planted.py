"""A synthetic class with planted copies and independent solutions, for the similarity tests.

Independent solutions: the fairness corpus's styles (tests/fairness/implementations: loops,
vectorized, einsum, official, written separately from the assignment's contract) and the master
package, one per student; and cross-validation cells written separately below. Planted copies,
each of a different style so that every planted pair is its own evidence:

    ana  loops                       ben  ana's files, verbatim
    cara vectorized                  dan  cara's, every local variable renamed
    eve  einsum                      fay  eve's, the functions of each module in reverse order
    gus  official                    hal  gus's, spacing changed and comments added
    ivy  master, softmax_loss_vectorized copied from the reference folder `pubrepo`
    jon  release package, a knn cross-validation cell    kim  jon's cell, renamed and reformatted
    stub1, stub2  the release, untouched
"""
import json
import shutil
from pathlib import Path

from coursekit.similarity import synthetic
from coursekit.similarity.units import functions_of
from tests.fairness.splice import IMPLEMENTATIONS, build_package

STYLES = {"ana": "loops", "cara": "vectorized", "eve": "einsum", "gus": "official"}
# (copier, copied, how)
PLANTED = [("ana", "ben", "verbatim"), ("cara", "dan", "renamed"), ("eve", "fay", "reordered"),
           ("gus", "hal", "reformatted")]
CV_CELL = "knn_cross_validation_solution"
REFERENCE_FUNCTION = "softmax_loss_vectorized"

# A known public solution of softmax_loss_vectorized, in the reference folder's own layout
# (a loose file); written here for the test, in a style none of the students uses.
REFERENCE_SOFTMAX = '''
import numpy as np


def softmax_loss_vectorized(W, X, y, reg):
    n_samples = X.shape[0]
    logits = X.dot(W)
    logits = logits - np.max(logits, axis=1)[:, np.newaxis]
    expd = np.exp(logits)
    totals = np.sum(expd, axis=1)
    probs = expd / totals[:, np.newaxis]
    picked = probs[np.arange(n_samples), y]
    loss = -np.sum(np.log(picked)) / n_samples
    loss = loss + reg * np.sum(W * W)
    onehot = np.zeros_like(probs)
    onehot[np.arange(n_samples), y] = 1.0
    dW = X.T.dot(probs - onehot) / n_samples
    dW = dW + 2 * reg * W
    return loss, dW
'''

# Cross-validation cells written separately (the same task, three people).
CV_JON = '''num_folds = 5
k_choices = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]
order = np.arange(X_train.shape[0])
X_train_folds = [X_train[order % num_folds == f] for f in range(num_folds)]
y_train_folds = [y_train[order % num_folds == f] for f in range(num_folds)]
k_to_accuracies = {}
for k in k_choices:
    scores = []
    for f in range(num_folds):
        keep = [j for j in range(num_folds) if j != f]
        model = KNearestNeighbor()
        model.train(np.vstack([X_train_folds[j] for j in keep]),
                    np.hstack([y_train_folds[j] for j in keep]))
        guess = model.predict(X_train_folds[f], k=k)
        scores.append(float((guess == y_train_folds[f]).sum()) / len(guess))
    k_to_accuracies[k] = scores
'''
CV_ANA = '''num_folds = 5
k_choices = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]
X_train_folds = np.array_split(X_train, num_folds)
y_train_folds = np.array_split(y_train, num_folds)
k_to_accuracies = {k: [] for k in k_choices}
for i in range(num_folds):
    Xtr = np.concatenate([x for j, x in enumerate(X_train_folds) if j != i])
    ytr = np.concatenate([t for j, t in enumerate(y_train_folds) if j != i])
    knn = KNearestNeighbor()
    knn.train(Xtr, ytr)
    dists = knn.compute_distances_no_loops(X_train_folds[i])
    for k in k_choices:
        pred = knn.predict_labels(dists, k=k)
        k_to_accuracies[k].append(np.mean(pred == y_train_folds[i]))
'''
CV_CARA = '''num_folds = 5
k_choices = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]
X_train_folds = np.split(X_train[: len(X_train) // num_folds * num_folds], num_folds)
y_train_folds = np.split(y_train[: len(y_train) // num_folds * num_folds], num_folds)
k_to_accuracies = dict()
for k in k_choices:
    k_to_accuracies[k] = list()
    for held in range(num_folds):
        rest_X = np.concatenate(X_train_folds[:held] + X_train_folds[held + 1:], axis=0)
        rest_y = np.concatenate(y_train_folds[:held] + y_train_folds[held + 1:], axis=0)
        clf = KNearestNeighbor()
        clf.train(rest_X, rest_y)
        hits = np.sum(clf.predict(X_train_folds[held], k=k) == y_train_folds[held])
        k_to_accuracies[k].append(hits / X_train_folds[held].shape[0])
'''


def _modules(package, files):
    return {f: (package / f).read_text(encoding="utf-8") for f in files}


def _with_function(module_text, name, new_body):
    """module_text with top-level function `name` replaced by `new_body`."""
    old = functions_of(module_text)[name]
    return module_text.replace(old, new_body.strip("\n"), 1)


def build_class(course, root):
    """submitted/<student>/<assignment> and similarity/reference/pubrepo under `root`.
    Returns (submitted dir, reference dir)."""
    root = Path(root)
    submitted, reference = root / "submitted", root / "reference"
    files = sorted(set(course.student_functions.values()))
    notebook = json.loads((course.release_dir / "knn.ipynb").read_text(encoding="utf-8"))
    modules = {}
    for student, style in STYLES.items():
        package = build_package(IMPLEMENTATIONS / style, root / "styles" / style)
        modules[student] = _modules(package, files)
    copies = {"verbatim": lambda t: t, "renamed": synthetic.rename_variables,
              "reordered": synthetic.reorder_functions, "reformatted": synthetic.reformat}
    for original, copier, how in PLANTED:
        modules[copier] = {f: copies[how](t) for f, t in modules[original].items()}
    ivy = _modules(course.package_dir, files)
    ivy["classifiers/softmax.py"] = _with_function(
        ivy["classifiers/softmax.py"], REFERENCE_FUNCTION,
        synthetic.rename_variables(REFERENCE_SOFTMAX, "_v"))
    modules["ivy"] = ivy
    notebooks = {
        "ana": synthetic.set_cell(notebook, CV_CELL, CV_ANA),
        "cara": synthetic.set_cell(notebook, CV_CELL, CV_CARA),
        "jon": synthetic.set_cell(notebook, CV_CELL, CV_JON),
        "kim": synthetic.set_cell(notebook, CV_CELL,
                                  synthetic.reformat(synthetic.rename_variables(CV_JON, "_k"))),
    }
    for student in [*modules, "jon", "kim", "stub1", "stub2"]:
        nbs = {"knn.ipynb": notebooks[student]} if student in notebooks else None
        synthetic.write_submission(submitted / student / course.assignment, course,
                                   modules.get(student), nbs)
    (reference / "pubrepo").mkdir(parents=True)
    (reference / "pubrepo" / "softmax.py").write_text(REFERENCE_SOFTMAX, encoding="utf-8")
    shutil.rmtree(root / "styles")
    return submitted, reference
