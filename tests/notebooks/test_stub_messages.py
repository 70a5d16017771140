"""A test cell run after an untouched stub says the function is not implemented yet, not a
complaint about a value left over from an earlier cell (fast: the cells run in this process)."""
import nbformat
import numpy as np
import pytest

import cs231n.layers
import cs231n.optim
from coursekit.notebooks.run import notebook_path
from cs231n import gradient_check

# (notebook, test cell, module, function): each test reads what one function computed.
STUBBED = [
    ("two_layer_net", "two_layer_net_affine_forward", cs231n.layers, "affine_forward"),
    ("two_layer_net", "two_layer_net_affine_backward", cs231n.layers, "affine_backward"),
    ("two_layer_net", "two_layer_net_relu_forward", cs231n.layers, "relu_forward"),
    ("two_layer_net", "two_layer_net_relu_backward", cs231n.layers, "relu_backward"),
    ("two_layer_net", "two_layer_net_softmax_loss", cs231n.layers, "softmax_loss"),
    ("FullyConnectedNets", "fc_sgd_momentum", cs231n.optim, "sgd_momentum"),
    ("FullyConnectedNets", "fc_rmsprop", cs231n.optim, "rmsprop"),
    ("FullyConnectedNets", "fc_adam", cs231n.optim, "adam"),
]


def given_and_test(name, grade_id, function):
    """The source of the test cell `grade_id` and of the code cell before it that calls it."""
    cells = nbformat.read(notebook_path(name), as_version=4).cells
    t = next(i for i, c in enumerate(cells)
             if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    given = next(c for c in reversed(cells[:t])
                 if c.cell_type == "code" and f"{function}(" in c.source)
    return given.source, cells[t].source


def kernel_namespace():
    """What the cells before these read: numpy, the gradient checks, and values of earlier
    cells that a stale run would leave behind (the shapes and numbers a student would see)."""
    ns = {"np": np, "rel_error": gradient_check.rel_error,
          "eval_numerical_gradient": gradient_check.eval_numerical_gradient,
          "eval_numerical_gradient_array": gradient_check.eval_numerical_gradient_array}
    ns.update({f: getattr(cs231n.layers, f) for f in
               ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
                "softmax_loss")})
    ns.update(out=np.ones((2, 3)), dx=np.ones((10, 2, 3)), dw=np.ones((6, 5)), db=np.ones(5),
              loss=0.5, next_w=np.ones((4, 5)), config={"t": 5})
    return ns


@pytest.mark.parametrize("name, grade_id, module, function", STUBBED)
def test_an_untouched_stub_reads_not_implemented_yet(monkeypatch, name, grade_id, module,
                                                     function):
    def stub(*args, **kwargs):
        raise NotImplementedError(f"{function} is not implemented yet")

    monkeypatch.setattr(module, function, stub)
    given, test = given_and_test(name, grade_id, function)
    ns = kernel_namespace()
    ns[function] = stub
    with pytest.raises(NotImplementedError):
        exec(given, ns)
    with pytest.raises(AssertionError) as err:
        exec(test, ns)
    message = str(err.value)
    assert message.startswith(f"{function} has not run") and "NotImplementedError" in message
    assert f"cs231n/{module.__name__.split('.')[-1]}.py" in message


@pytest.mark.parametrize("name, grade_id, module, function", STUBBED)
def test_the_master_passes_the_added_check(name, grade_id, module, function):
    given, test = given_and_test(name, grade_id, function)
    ns = kernel_namespace()
    exec(given, ns)
    first = test.split("\n", 1)[0]
    exec(first, ns)  # the "has not run" assert, alone: the master's function ran


def grade_cell_source(name, grade_id):
    cells = nbformat.read(notebook_path(name), as_version=4).cells
    return next(c.source for c in cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.mark.parametrize("name, grade_id, values, shown", [
    # numpy 2 prints np.float64(1.5) inside a list or tuple: messages show plain numbers.
    ("softmax", "softmax_search",
     {"results": {(1e-7, 2.5e4): (np.float64(1.5), np.float64(0.25))}, "best_softmax": object()},
     "[1.5, 0.25]"),
    ("knn", "knn_cross_validation",
     {"num_folds": 1, "X_train_folds": [np.zeros((3, 2))], "y_train_folds": [np.zeros(3)],
      "num_training": 3, "k_choices": [1, 3], "k_to_accuracies": {np.int64(1): [0.5]}},
     "got keys 1"),
])
def test_messages_print_numpy_values_plainly(name, grade_id, values, shown):
    ns = {"np": np, **values}
    with pytest.raises(AssertionError) as err:
        exec(grade_cell_source(name, grade_id), ns)
    assert shown in str(err.value) and "np." not in str(err.value)
