"""What each master notebook must hold, from the official assignment: the one place a new
notebook's expectations go (besides the notebook and its course.toml entry)."""

# The notebook-level TODOs of the official notebooks, each a solution cell in our masters.
SOLUTION_CELLS = {
    "knn": ["knn_cross_validation_solution", "knn_best_k_solution"],
    "softmax": ["softmax_search_solution"],
    "two_layer_net": ["two_layer_net_solver_solution", "two_layer_net_tuning_solution"],
    "features": ["features_softmax_solution", "features_net_solution"],
    "FullyConnectedNets": ["fc_overfit_three_layer_solution", "fc_overfit_five_layer_solution",
                           "fc_best_model_solution"],
}
# The inline questions of the official assignment: 3 + 4 + 2 + 1 + 2.
INLINE_QUESTIONS = {
    "knn": ["knn_inline_q1", "knn_inline_q2", "knn_inline_q3"],
    "softmax": ["softmax_inline_q1", "softmax_inline_q2", "softmax_inline_q3", "softmax_inline_q4"],
    "two_layer_net": ["two_layer_net_inline_q1", "two_layer_net_inline_q2"],
    "features": ["features_inline_q1"],
    "FullyConnectedNets": ["fc_inline_q1", "fc_inline_q2"],
}
# Model files the notebooks save for the autograder (the official assignment).
SAVED_FILES = {
    "softmax": ["softmax.npy", "best_softmax.npy"],
    "two_layer_net": ["best_two_layer_net.npy"],
    "features": ["best_softmax_features.npy", "best_two_layer_net_features.npy"],
}
# Test cells that check notebook-level TODOs: they must fail when the solutions are cleared.
NOTEBOOK_LEVEL_TESTS = {
    "knn": {"knn_cross_validation", "knn_best_k"},
    "softmax": {"softmax_search", "softmax_best_saved"},
    "two_layer_net": {"two_layer_net_solver", "two_layer_net_best_model", "two_layer_net_saved"},
    "features": {"features_softmax", "features_softmax_saved", "features_net",
                 "features_net_saved"},
    "FullyConnectedNets": {"fc_overfit_three_layer", "fc_overfit_five_layer", "fc_best_model"},
}
# The variable of the official notebooks' first cell that names the assignment folder on Google
# Drive (Colab); ours is None by default and also serves Jupyter and VS Code.
FOLDER_VARIABLE = "FOLDERNAME"
