"""coursekit.readme: the one writer of README.md's generated sections."""
import pytest

from coursekit.readme import replace_between

BEGIN, END = "<!-- x:begin -->", "<!-- x:end -->"


def test_replace_between_rewrites_only_the_marked_section(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\n{BEGIN}\nold\nlines\n{END}\n\n{END} later\n")
    replace_between(readme, BEGIN, END, "new")
    assert readme.read_text() == f"# T\n\n{BEGIN}\nnew\n{END}\n\n{END} later\n"


@pytest.mark.parametrize("text", ["# none\n", f"{BEGIN}\nopen only\n", f"{END}\n{BEGIN}\n"])
def test_replace_between_names_the_file_and_markers_when_they_are_missing(tmp_path, text):
    readme = tmp_path / "README.md"
    readme.write_text(text)
    with pytest.raises(ValueError, match=f"README.md lacks the markers {BEGIN} and {END}"):
        replace_between(readme, BEGIN, END, "new")
    assert readme.read_text() == text
