"""Saving and loading trained parameters in cs231n/saved/, where the autograder looks for them.

Every model of the assignment stores a dictionary of numpy arrays (np.save of the dict):
{"W": W} for the linear classifiers, the `params` dict for the networks.
"""

import os

import numpy as np

SAVED_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "saved"))


def saved_path(fname):
    """Full path of cs231n/saved/<fname>."""
    return os.path.join(SAVED_DIR, fname)


def save_params(params, fname):
    """Write the dict `params` to cs231n/saved/<fname>."""
    fpath = saved_path(fname)
    np.save(fpath, params)
    print(f"Saved in {fpath}.")


def load_params(fname, who="load"):
    """Read the dict saved by save_params(params, fname); `who` names the caller in errors."""
    fpath = saved_path(fname)
    if not os.path.exists(fpath):
        raise FileNotFoundError(
            f"{who}: no saved model {fpath}. Train the model in its notebook and call "
            f"save({fname!r}) first (models are saved in cs231n/saved/)."
        )
    params = np.load(fpath, allow_pickle=True).item()
    print(f"Loaded from {fpath}.")
    return params


class SavedParams:
    """save(fname) and load(fname) for a network whose parameters are the dict self.params."""

    def save(self, fname):
        """Save self.params in cs231n/saved/<fname> (np.save of the dictionary)."""
        save_params(self.params, fname)

    def load(self, fname):
        """Replace self.params by those saved in cs231n/saved/<fname>; returns True.

        Raises FileNotFoundError when that file does not exist.
        """
        self.params = load_params(fname, f"{type(self).__name__}.load")
        return True
