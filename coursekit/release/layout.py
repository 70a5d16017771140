"""Where the release pipeline reads and writes, and what the assignment is made of.

One place for the names every step (and the leak check, and the tests) agrees on.
"""
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ASSIGNMENT = "assignment1"

# Master side.
MASTER_PACKAGE = os.path.join(REPO_ROOT, "cs231n")
MASTER_NOTEBOOKS = os.path.join(REPO_ROOT, "source", ASSIGNMENT)
TESTS_DIR = os.path.join(REPO_ROOT, "tests")
GRADING_DIR = os.path.join(REPO_ROOT, "grading")  # hidden checks (grading/hidden/), never released
# What the leak check fingerprints: every file of these folders, and the hidden/ folder of each.
GRADER_DIRS = (TESTS_DIR, GRADING_DIR)
NBGRADER_CONFIG = os.path.join(REPO_ROOT, "nbgrader_config.py")

# Student side: the folder students get.
RELEASE_ROOT = os.path.join(REPO_ROOT, "release")
RELEASE_DIR = os.path.join(RELEASE_ROOT, ASSIGNMENT)

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")

# The five notebooks, in question order (Q1..Q5).
NOTEBOOKS = [
    "knn.ipynb",
    "softmax.ipynb",
    "two_layer_net.ipynb",
    "features.ipynb",
    "FullyConnectedNets.ipynb",
]

# nbgrader's region delimiters (also nbgrader's defaults).
BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
BEGIN_MARK_SCHEME, END_MARK_SCHEME = "BEGIN MARK SCHEME", "END MARK SCHEME"
