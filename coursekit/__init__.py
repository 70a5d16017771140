"""Course tooling for the CS231n Assignment 1 repository (release, checks, grading)."""
