"""Course tooling for the CS231n Assignment 1 repository (release, checks, grading)."""
from coursekit.startup import defer_iri_syntax

defer_iri_syntax()
