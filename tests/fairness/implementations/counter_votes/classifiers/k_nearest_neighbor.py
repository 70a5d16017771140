"""Base official; predict_labels: collections.Counter votes, explicit min() label on ties."""

from collections import Counter

import numpy as np


class KNearestNeighbor:
    def predict_labels(self, dists, k=1):
        closest_y = [self.y_train[j] for j in np.argsort(dists[i])[:k]]
        ...
        votes = Counter(closest_y)
        top = max(votes.values())
        y_pred[i] = min(label for label, count in votes.items() if count == top)
