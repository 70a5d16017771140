"""The 20 student functions the hidden checks grade, and the file of the package that holds each.

Every hidden test names one of them (`@pytest.mark.function(...)`); the saved models are named
`saved/<file>`. Everything else in a submitted package is given code.
"""

STUDENT_FUNCTIONS = {
    "KNearestNeighbor.compute_distances_two_loops": "classifiers/k_nearest_neighbor.py",
    "KNearestNeighbor.compute_distances_one_loop": "classifiers/k_nearest_neighbor.py",
    "KNearestNeighbor.compute_distances_no_loops": "classifiers/k_nearest_neighbor.py",
    "KNearestNeighbor.predict_labels": "classifiers/k_nearest_neighbor.py",
    "softmax_loss_naive": "classifiers/softmax.py",
    "softmax_loss_vectorized": "classifiers/softmax.py",
    "LinearClassifier.train": "classifiers/linear_classifier.py",
    "LinearClassifier.predict": "classifiers/linear_classifier.py",
    "affine_forward": "layers.py",
    "affine_backward": "layers.py",
    "relu_forward": "layers.py",
    "relu_backward": "layers.py",
    "softmax_loss": "layers.py",
    "TwoLayerNet.__init__": "classifiers/fc_net.py",
    "TwoLayerNet.loss": "classifiers/fc_net.py",
    "FullyConnectedNet.__init__": "classifiers/fc_net.py",
    "FullyConnectedNet.loss": "classifiers/fc_net.py",
    "sgd_momentum": "optim.py",
    "rmsprop": "optim.py",
    "adam": "optim.py",
}

SAVED_PREFIX = "saved/"


def module_of(function):
    """The dotted module of a student function ("cs231n.layers"); None for a saved model."""
    if function.startswith(SAVED_PREFIX):
        return None
    path = STUDENT_FUNCTIONS[function]
    return "cs231n." + path.removesuffix(".py").replace("/", ".")


def is_student_code(relpath, function_name):
    """Whether a traceback frame (file relative to cs231n/, function name) is student code."""
    names = {f.split(".")[-1] for f, p in STUDENT_FUNCTIONS.items() if p == relpath}
    return function_name in names
