"""Our grader gives full marks to every fairness style (correct code written differently).

Each style of implementations/ is spliced into the release package and graded by the hidden
module grader, without the saved models. A failing check here is an unfair check (test_contract.py
proves the style correct by the contract), unless test_contract.py fails too. Part of
`make test`: fairness is what the grade is worth, so every change of a check meets it.
"""

import pytest

from coursekit.grader import grade_submission
from tests.fairness import splice

STYLES = [d.name for d in splice.style_dirs()]


@pytest.mark.parametrize("style", STYLES)
def test_grader_gives_full_marks_to_correct_style(style, tmp_path):
    package = splice.build_package(splice.IMPLEMENTATIONS / style, tmp_path)
    result = grade_submission(package.parent, models=False)
    assert [(c.id, c.message) for c in result.checks if c.status != "passed"] == []
    assert result.points == result.max_points > 0
