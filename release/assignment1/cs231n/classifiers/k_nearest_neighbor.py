import numpy as np


class KNearestNeighbor:
    """A kNN classifier with L2 distance."""

    def __init__(self):
        pass

    def train(self, X, y):
        """
        Train the classifier. For k-nearest neighbors this is just memorizing the training data.

        Inputs:
        - X: A numpy array of shape (num_train, D) containing the training data consisting of
          num_train samples each of dimension D.
        - y: A numpy array of shape (num_train,) containing the training labels, where y[i] is
          the label for X[i].
        """
        self.X_train = X
        self.y_train = y

    def predict(self, X, k=1, num_loops=0):
        """
        Predict labels for test data using this classifier.

        Inputs:
        - X: A numpy array of shape (num_test, D) containing test data consisting of num_test
          samples each of dimension D.
        - k: The number of nearest neighbors that vote for the predicted labels.
        - num_loops: Determines which implementation to use to compute distances between
          training points and testing points (0, 1 or 2).

        Returns:
        - y: A numpy array of shape (num_test,) containing predicted labels for the test data,
          where y[i] is the predicted label for the test point X[i].
        """
        if num_loops == 0:
            dists = self.compute_distances_no_loops(X)
        elif num_loops == 1:
            dists = self.compute_distances_one_loop(X)
        elif num_loops == 2:
            dists = self.compute_distances_two_loops(X)
        else:
            raise ValueError(
                f"KNearestNeighbor.predict: invalid value {num_loops!r} for num_loops; "
                "use 0, 1 or 2"
            )

        return self.predict_labels(dists, k=k)

    def compute_distances_two_loops(self, X):
        """
        Compute the distance between each test point in X and each training point in
        self.X_train using a nested loop over both the training data and the test data.

        Inputs:
        - X: A numpy array of shape (num_test, D) containing test data.

        Returns:
        - dists: A numpy array of shape (num_test, num_train) where dists[i, j] is the
          Euclidean distance between the ith test point and the jth training point.
        """
        num_test = X.shape[0]
        num_train = self.X_train.shape[0]
        dists = np.zeros((num_test, num_train))
        for i in range(num_test):
            for j in range(num_train):
                # TODO: compute the L2 distance between the ith test point and the jth training
                # point, and store it in dists[i, j]. Do not use a loop over the dimension, nor
                # np.linalg.norm().
                raise NotImplementedError("KNearestNeighbor.compute_distances_two_loops in cs231n/classifiers/k_nearest_neighbor.py is not implemented yet: compute the L2 distance between the ith test point and the jth training point, and store it in dists[i, j] (see the TODO above)")
        return dists

    def compute_distances_one_loop(self, X):
        """
        Compute the distance between each test point in X and each training point in
        self.X_train using a single loop over the test data.

        Input / Output: Same as compute_distances_two_loops
        """
        num_test = X.shape[0]
        num_train = self.X_train.shape[0]
        dists = np.zeros((num_test, num_train))
        for i in range(num_test):
            # TODO: compute the L2 distance between the ith test point and all training points
            # at once (broadcasting), and store the result in dists[i, :]. Do not use
            # np.linalg.norm().
            raise NotImplementedError("KNearestNeighbor.compute_distances_one_loop in cs231n/classifiers/k_nearest_neighbor.py is not implemented yet: compute the L2 distance between the ith test point and all training points at once (broadcasting), and store the result in dists[i, :] (see the TODO above)")
        return dists

    def compute_distances_no_loops(self, X):
        """
        Compute the distance between each test point in X and each training point in
        self.X_train using no explicit loops.

        Input / Output: Same as compute_distances_two_loops
        """
        num_test = X.shape[0]
        num_train = self.X_train.shape[0]
        dists = np.zeros((num_test, num_train))
        # TODO: compute the L2 distance between all test points and all training points without
        # any explicit loop, and store the result in dists. Do not use scipy, nor
        # np.linalg.norm(). Hint: expand ||x - t||^2 = ||x||^2 + ||t||^2 - 2 x.t and write it
        # with one matrix multiplication and two broadcast sums. Rounding can make tiny squared
        # distances negative: clamp them at 0 (np.maximum) before the square root.
        raise NotImplementedError("KNearestNeighbor.compute_distances_no_loops in cs231n/classifiers/k_nearest_neighbor.py is not implemented yet: compute the L2 distance between all test points and all training points without any explicit loop, and store the result in dists (see the TODO above)")
        return dists

    def predict_labels(self, dists, k=1):
        """
        Given a matrix of distances between test points and training points, predict a label
        for each test point.

        Inputs:
        - dists: A numpy array of shape (num_test, num_train) where dists[i, j] gives the
          distance between the ith test point and the jth training point.
        - k: The number of nearest neighbors that vote for the predicted label.

        Returns:
        - y: A numpy array of shape (num_test,) containing predicted labels for the test data,
          where y[i] is the predicted label for the test point X[i].
        """
        num_test = dists.shape[0]
        y_pred = np.zeros(num_test)
        for i in range(num_test):
            # A list of length k storing the labels of the k nearest neighbors to the ith test
            # point.
            closest_y = []
            # TODO: use the ith row of dists to find the k nearest training points, and
            # self.y_train to find their labels; store these labels in closest_y.
            # Hint: np.argsort.
            raise NotImplementedError("KNearestNeighbor.predict_labels in cs231n/classifiers/k_nearest_neighbor.py is not implemented yet: use the ith row of dists to find the k nearest training points, and self.y_train to find their labels (see the TODO above)")
            # TODO: find the most common label in closest_y and store it in y_pred[i]. Break
            # ties by choosing the smaller label.
            raise NotImplementedError("KNearestNeighbor.predict_labels in cs231n/classifiers/k_nearest_neighbor.py is not implemented yet: find the most common label in closest_y and store it in y_pred[i] (see the TODO above)")

        return y_pred
