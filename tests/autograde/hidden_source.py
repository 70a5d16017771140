"""The lines of the master notebooks' hidden tests, to look for in what students receive.

Read here independently of the feedback code that cuts them out, so a test using them can
catch a hidden test that code misses."""
import json

from coursekit.course import current

REPO_ROOT = current().root

SOURCE = REPO_ROOT / "source" / "assignment1"


def hidden_test_lines(source=SOURCE, min_length=25):
    """Stripped lines inside `### BEGIN/END HIDDEN TESTS` of every master notebook, longer
    than `min_length` and not comments (long enough to identify a hidden test)."""
    lines = []
    for nb in sorted(source.glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            text = "".join(cell["source"])
            if "BEGIN HIDDEN TESTS" in text:
                body = text.split("BEGIN HIDDEN TESTS", 1)[1].split("END HIDDEN TESTS", 1)[0]
                lines += [ln.strip() for ln in body.splitlines()[1:]
                          if len(ln.strip()) > min_length and not ln.strip().startswith("#")]
    assert lines, f"the master notebooks in {source} have no hidden tests to look for"
    return lines
