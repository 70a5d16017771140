"""Regenerate tests/hidden/references.json from the master package (`make references`).

Runs every hidden check on the master `cs231n/` in the sandbox, in record mode: the values the
master returns become the references. Seeded and written deterministically, so running it again
gives the same bytes (tests/grader/test_references.py checks that).
"""
import sys

from coursekit.grader.driver import write_references

if __name__ == "__main__":
    path = write_references()
    print(f"wrote {path}")
    sys.exit(0)
