"""Solver (cs231n/solver.py): training to 100% on a tiny set, argument checks, bookkeeping, and
the exact order in which it draws random numbers (so seeded runs equal the official Solver's)."""

import pickle
import re

import numpy as np
import pytest

from cs231n.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from cs231n.solver import Solver


def _random_data(seed, num_train=50, num_val=20, num_classes=10):
    """Gaussian 'images' (N, 3, 8, 8) with random labels: only memorization can fit them."""
    rng = np.random.default_rng(seed)
    return {
        "X_train": rng.standard_normal((num_train, 3, 8, 8)),
        "y_train": rng.integers(num_classes, size=num_train),
        "X_val": rng.standard_normal((num_val, 3, 8, 8)),
        "y_val": rng.integers(num_classes, size=num_val),
    }


def _tiny_net():
    return TwoLayerNet(input_dim=3 * 8 * 8, hidden_dim=20, weight_scale=1e-1)


@pytest.mark.parametrize(
    "make_model, update_rule, learning_rate",
    [
        (lambda: TwoLayerNet(input_dim=192, hidden_dim=50, weight_scale=1e-1), "sgd", 2e-1),
        (lambda: FullyConnectedNet([50, 50], input_dim=192, weight_scale=1e-1), "sgd_momentum",
         1e-1),
        (lambda: FullyConnectedNet([50, 50], input_dim=192, weight_scale=1e-1), "rmsprop", 2e-3),
        (lambda: FullyConnectedNet([50, 50], input_dim=192, weight_scale=1e-1), "adam", 1e-2),
    ],
    ids=["TwoLayerNet-sgd", "3layer-sgd_momentum", "3layer-rmsprop", "3layer-adam"],
)
def test_solver_overfits_50_examples_to_full_train_accuracy(make_model, update_rule,
                                                            learning_rate):
    data = _random_data(seed=0)
    np.random.seed(0)
    solver = Solver(make_model(), data, update_rule=update_rule,
                    optim_config={"learning_rate": learning_rate}, batch_size=25, num_epochs=20,
                    verbose=False)

    solver.train()

    # 1000 training samples requested > 50 available: the accuracy is over the whole set.
    assert max(solver.train_acc_history) == 1.0
    assert solver.loss_history[-1] < 0.1 * solver.loss_history[0]


def test_unknown_arguments_are_rejected_by_name():
    with pytest.raises(ValueError) as excinfo:
        Solver(_tiny_net(), _random_data(0), learning_rate=1e-3, num_epoch=3)

    assert "learning_rate" in str(excinfo.value)
    assert "num_epoch" in str(excinfo.value)


def test_unknown_update_rule_is_rejected_by_name():
    with pytest.raises(ValueError, match="adagrad"):
        Solver(_tiny_net(), _random_data(0), update_rule="adagrad")


def test_default_options_are_the_official_ones():
    solver = Solver(_tiny_net(), _random_data(0))

    assert solver.update_rule.__name__ == "sgd"
    assert (solver.optim_config, solver.lr_decay, solver.batch_size, solver.num_epochs) == (
        {}, 1.0, 100, 10)
    assert (solver.num_train_samples, solver.num_val_samples, solver.checkpoint_name) == (
        1000, None, None)
    assert (solver.print_every, solver.verbose) == (10, True)


def _train_seeded(seed, update_rule="adam"):
    data = _random_data(seed=1)
    np.random.seed(seed)
    model = _tiny_net()
    solver = Solver(model, data, update_rule=update_rule, optim_config={"learning_rate": 1e-2},
                    batch_size=10, num_epochs=3, num_train_samples=30, num_val_samples=15,
                    verbose=False)
    solver.train()
    return solver


def test_identical_seeds_give_identical_runs():
    first, second, other = _train_seeded(5), _train_seeded(5), _train_seeded(6)

    assert first.loss_history == second.loss_history
    assert first.train_acc_history == second.train_acc_history
    assert first.val_acc_history == second.val_acc_history
    for name, value in first.model.params.items():
        assert np.array_equal(value, second.model.params[name])
    assert first.loss_history != other.loss_history


def test_iterations_epochs_and_accuracy_checks_are_counted_as_officially():
    solver = _train_seeded(0)  # 50 examples, batches of 10, 3 epochs

    assert len(solver.loss_history) == 3 * (50 // 10)
    # First iteration, then the end of each epoch (the last iteration is one of them).
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 1 + 3
    assert solver.epoch == 3


def test_an_epoch_is_at_least_one_iteration():
    np.random.seed(0)
    solver = Solver(_tiny_net(), _random_data(0, num_train=30), batch_size=100, num_epochs=4,
                    verbose=False)

    solver.train()

    assert len(solver.loss_history) == 4


def test_learning_rate_decays_once_per_epoch_in_every_parameters_config():
    np.random.seed(0)
    solver = Solver(_tiny_net(), _random_data(0), update_rule="sgd_momentum",
                    optim_config={"learning_rate": 0.01}, lr_decay=0.5, batch_size=25,
                    num_epochs=3, verbose=False)

    solver.train()

    for config in solver.optim_configs.values():
        assert config["learning_rate"] == pytest.approx(0.01 * 0.5**3, rel=1e-12)


def test_each_parameter_gets_its_own_copy_of_optim_config():
    optim_config = {"learning_rate": 1e-2}
    solver = _train_seeded(0, update_rule="adam")

    configs = solver.optim_configs
    assert configs.keys() == solver.model.params.keys()
    assert len({id(c) for c in configs.values()}) == len(configs)
    for name, config in configs.items():
        assert config["m"].shape == solver.model.params[name].shape
    assert solver.optim_config == optim_config, "the caller's optim_config must stay untouched"


class _CountingModel:
    """A stand-in model that counts its steps in params['w'] and logs every loss call.

    The inputs are example ids (X[i, 0] == i), so the log shows which examples the Solver used.
    The update rule "sgd" with learning rate 1 and gradient -1 adds 1 to w at every step.
    Predictions are right for every validation example only while w == 3.
    """

    def __init__(self):
        self.params = {"w": np.zeros(1)}
        self.log = []

    def loss(self, X, y=None):
        ids = X[:, 0].astype(int)
        if y is None:
            self.log.append(("predict", ids.tolist()))
            right = ids % 2 if self.params["w"][0] == 3 else np.zeros_like(ids)
            return np.eye(2)[right]
        self.log.append(("train", ids.tolist()))
        return float(ids.sum()), {"w": -np.ones(1)}


def _id_data(num_train, num_val):
    return {
        "X_train": np.arange(num_train, dtype=float)[:, None],
        "y_train": np.arange(num_train) % 2,
        "X_val": np.arange(num_val, dtype=float)[:, None],
        "y_val": np.arange(num_val) % 2,
    }


def test_best_parameters_end_in_the_model():
    model = _CountingModel()
    solver = Solver(model, _id_data(10, 4), optim_config={"learning_rate": 1.0}, batch_size=10,
                    num_epochs=6, verbose=False)

    solver.train()

    # After step t the model has w = t + 1; only w == 3 predicts the validation set right.
    assert solver.val_acc_history == [0.5, 0.5, 1.0, 0.5, 0.5, 0.5]
    assert solver.best_val_acc == 1.0
    # sgd updates w in place: the best parameters must have been copied, not referenced.
    assert model.params["w"][0] == 3


def test_random_draws_follow_the_official_order():
    num_train, num_val, batch_size, num_epochs = 230, 30, 50, 2
    num_train_samples, num_val_samples = 120, 25
    model = _CountingModel()
    np.random.seed(42)
    solver = Solver(model, _id_data(num_train, num_val), optim_config={"learning_rate": 0.0},
                    batch_size=batch_size, num_epochs=num_epochs,
                    num_train_samples=num_train_samples, num_val_samples=num_val_samples,
                    verbose=False)

    solver.train()

    # The official Solver, replayed: a minibatch (with replacement) per step; at the first
    # step, at each epoch end and at the last step, a subsample of the training set and one
    # of the validation set, each predicted in batches of 100.
    np.random.seed(42)
    iterations_per_epoch = num_train // batch_size
    num_iterations = num_epochs * iterations_per_epoch
    expected = []
    for t in range(num_iterations):
        expected.append(("train", np.random.choice(num_train, batch_size).tolist()))
        epoch_end = (t + 1) % iterations_per_epoch == 0
        if t == 0 or t == num_iterations - 1 or epoch_end:
            for n, samples in ((num_train, num_train_samples), (num_val, num_val_samples)):
                ids = np.random.choice(n, samples).tolist()
                expected += [("predict", ids[i:i + 100]) for i in range(0, samples, 100)]
    assert model.log == expected
    after_replay = np.random.randn()
    np.random.seed(42)
    Solver(_CountingModel(), _id_data(num_train, num_val), optim_config={"learning_rate": 0.0},
           batch_size=batch_size, num_epochs=num_epochs, num_train_samples=num_train_samples,
           num_val_samples=num_val_samples, verbose=False).train()
    assert np.random.randn() == after_replay, "the Solver drew other random numbers too"


def test_check_accuracy_uses_every_example_in_batches():
    model = _CountingModel()
    model.params["w"][0] = 3  # right on odd and even ids alike
    data = _id_data(250, 4)
    data["y_train"][:50] = 1 - data["y_train"][:50]  # the first 50 labels are now wrong
    solver = Solver(model, data, verbose=False)

    acc = solver.check_accuracy(data["X_train"], data["y_train"], batch_size=100)

    assert acc == 200 / 250
    assert [len(ids) for _, ids in model.log] == [100, 100, 50]
    assert sum((ids for _, ids in model.log), []) == list(range(250))


def test_verbose_training_prints_the_official_progress_lines(capsys):
    np.random.seed(0)
    solver = Solver(_tiny_net(), _random_data(0), batch_size=25, num_epochs=2, print_every=2)

    solver.train()

    lines = capsys.readouterr().out.splitlines()
    iteration = re.compile(r"^\(Iteration (\d+) / 4\) loss: \d+\.\d{6}$")
    epoch = re.compile(r"^\(Epoch (\d) / 2\) train acc: \d\.\d{6}; val_acc: \d\.\d{6}$")
    assert [int(m[1]) for m in map(iteration.match, lines) if m] == [1, 3]
    assert [int(m[1]) for m in map(epoch.match, lines) if m] == [0, 1, 2]
    assert all(iteration.match(line) or epoch.match(line) for line in lines)


def test_checkpoints_are_pickled_at_every_accuracy_check(tmp_path):
    np.random.seed(0)
    name = str(tmp_path / "net")
    solver = Solver(_tiny_net(), _random_data(0), batch_size=25, num_epochs=2,
                    checkpoint_name=name, verbose=False)

    solver.train()

    for epoch in range(3):
        with open(f"{name}_epoch_{epoch}.pkl", "rb") as f:
            checkpoint = pickle.load(f)
        assert checkpoint["epoch"] == epoch
        assert isinstance(checkpoint["model"], TwoLayerNet)
        assert checkpoint["batch_size"] == 25
        assert len(checkpoint["val_acc_history"]) == epoch + 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "net_epoch_0.pkl", "net_epoch_1.pkl", "net_epoch_2.pkl"]


@pytest.mark.parametrize("num_samples", [None, 250, 1000])
def test_check_accuracy_draws_nothing_unless_it_must_subsample(num_samples):
    model = _CountingModel()
    data = _id_data(250, 4)
    solver = Solver(model, data, verbose=False)
    np.random.seed(9)
    expected_next = np.random.randn()

    np.random.seed(9)
    solver.check_accuracy(data["X_train"], data["y_train"], num_samples=num_samples)

    assert np.random.randn() == expected_next
    assert sum((ids for _, ids in model.log), []) == list(range(250))
