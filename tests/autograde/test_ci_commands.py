"""`coursekit ci-student-id` and `coursekit ci-grade` (coursekit/autograde/ci.py), the steps of
.github/workflows/autograde.yml that handle the student's name and code.

The unit tests replace the grader by a stand-in that prints what a student's code could print
(a score line, workflow commands); `obeyed` reads a step's output the way GitHub's runner does,
so they check which workflow commands GitHub would act on. The end-to-end test runs the two
steps' own `run:` lines with bash, as the runner does, on the tiny course (tinycourse.py).
"""
import random
import re

import pytest

from coursekit.autograde.course import (
    STUDENT_ID_MAX,
    StudentIdError,
    student_id_from_name,
    student_id_problem,
)

# ---- the student id -----------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("alice", "alice"),
    ("a.b-c_d@e+f", "a.b-c_d@e+f"),
    ("dependabot[bot]", "dependabot_bot_"),
    ("José García", "Jos__Garc_a"),
    (".hidden", "hidden"),
    ("-rf", "rf"),
    ("a..b...c", "a_.b__.c"),
    ("../etc/passwd", "etc_passwd"),
    ("a\n::error::x", "a___error__x"),
    ("grades.csv", "grades.csv_"),
    ("Summary.PNG", "Summary.PNG_"),
    ("x" * 150, "x" * STUDENT_ID_MAX),
])
def test_student_id_from_name(name, expected):
    assert student_id_from_name(name) == expected
    assert student_id_problem(expected) == ""


@pytest.mark.parametrize("name", ["..", "李雷", "___", "\udcff", "...."])
def test_a_name_without_letters_or_digits_gets_a_stable_digest_id(name):
    student = student_id_from_name(name)
    assert re.fullmatch(r"student-[0-9a-f]{12}", student)
    assert student_id_from_name(name) == student
    assert student_id_from_name(name + "!") != student


def test_an_empty_name_is_refused():
    with pytest.raises(StudentIdError, match="empty name"):
        student_id_from_name("")


def test_every_id_made_from_any_name_passes_the_validator():
    alphabet = "aZ09-_.@+ /\\[]:\n\t%é李\U0001f600\x00\udcff" + "." * 6
    rng = random.Random(20261130)
    for _ in range(3000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 130)))
        student = student_id_from_name(name)
        assert student_id_problem(student) == "", (name, student)
