"""The generated sections of README.md: text between a pair of marker lines that one command
rewrites (`make bench`, `make notebooks-full`, `make mutation --write-readme`)."""
from pathlib import Path


def replace_between(path, begin, end, body):
    """Put `body` between the first `begin` marker of the file at `path` and the `end` marker
    after it, each marker on a line of its own; the rest of the file stays as it is.

    Raises ValueError, naming the file and the markers, when they are not there in that order.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    head, found, rest = text.partition(begin)
    _, closed, tail = rest.partition(end)
    if not found or not closed:
        raise ValueError(f"{path} lacks the markers {begin} and {end} (in that order); put "
                         "them back around the section to rewrite.")
    path.write_text(f"{head}{begin}\n{body}\n{end}{tail}", encoding="utf-8")
