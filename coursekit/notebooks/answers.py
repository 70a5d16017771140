"""Answer lines of the inline questions that a grader can score without running any code.

The inline questions listed in course.toml (`choice_questions`) have a fixed answer: a set of
option numbers (select-all) or True/False. Their answer cell in the notebooks reads::

    **Your answer:**

    <!-- BEGIN SOLUTION -->
    1, 2, 3, 5
    <!-- END SOLUTION -->

    **Your explanation:**
    ...

In the release nbgrader replaces each solution region by "YOUR ANSWER HERE", so the key is only
in the master notebooks; students write their answer where the stub was. `parse_answer` reads
what stands between "Your answer:" and "Your explanation:" into a normalised value, whatever the
spelling ("1,3", "1 and 3", "Option 1, 3", "(1) (3)", "Sigmoid and ReLU", "true", "F").
"""
import json
import os
import re
from dataclasses import dataclass

from coursekit.course import current

SELECT = "select"        # select-all or choose-one: a frozenset of option numbers
TRUE_FALSE = "truefalse"  # a bool

STUB = "YOUR ANSWER HERE"
_ANSWER_LABEL = re.compile(r"your\s+answer\s*:?", re.IGNORECASE)
_EXPLANATION_LABEL = re.compile(r"your\s+explanation\s*:?", re.IGNORECASE)
_REGION_LINE = re.compile(r"^\s*(<!--)?\s*#*\s*(BEGIN|END) SOLUTION\s*#*\s*(-->)?\s*$",
                          re.MULTILINE)


@dataclass(frozen=True)
class Question:
    """An inline question with a fixed answer: its notebook, answer-cell grade_id and options."""

    notebook: str
    grade_id: str
    kind: str
    options: tuple = ()          # option names, option 1 first (SELECT only)
    none_option: int | None = None  # the number of a "None of the above" option, if any

    @property
    def num_options(self):
        return len(self.options)


# The questions of course.toml's notebooks (their `choice_questions`), in question order.
QUESTIONS = [
    Question(n.name, q["grade_id"], q["kind"], options=tuple(q.get("options", ())),
             none_option=q.get("none_option"))
    for n in current().notebooks for q in n.choice_questions
]
QUESTIONS_BY_ID = {q.grade_id: q for q in QUESTIONS}


@dataclass(frozen=True)
class Answer:
    """A parsed answer: value is None when there is no answer (empty, or the release stub)."""

    value: object = None
    problem: str | None = None  # why the text could not be read, if it could not

    @property
    def answered(self):
        return self.value is not None


def answer_text(cell_source):
    """The text a student wrote as the answer: between "Your answer:" and "Your explanation:".

    Solution-region marker lines and markdown decoration are dropped. Returns "" when the cell
    has no "Your answer:" label.
    """
    match = _ANSWER_LABEL.search(cell_source)
    if not match:
        return ""
    rest = cell_source[match.end():]
    end = _EXPLANATION_LABEL.search(rest)
    if end:
        rest = rest[:end.start()]
    rest = _REGION_LINE.sub("", rest)
    rest = re.sub(r"[*_`$]|\\textit|\\color\{[a-z]+\}|[{}]", " ", rest)
    return " ".join(rest.split())


def _parse_true_false(text):
    words = set(re.findall(r"[a-z]+", text.lower()))
    said_true = bool(words & {"true", "t", "yes"})
    said_false = bool(words & {"false", "f", "no"})
    if said_true == said_false:
        return Answer(problem="write exactly one of True or False" if said_true else None)
    return Answer(value=said_true)


def _parse_select(text, question):
    remaining = text.lower()
    chosen = set()
    # Option names, longest first, so that "Leaky ReLU" is not also read as "ReLU".
    named = sorted(enumerate(question.options, start=1), key=lambda item: -len(item[1]))
    for number, name in named:
        if len(name.split()) <= 2:  # names like "Sigmoid"; longer statements are cited by number
            pattern = r"\b" + r"\s+".join(map(re.escape, name.lower().split())) + r"\b"
            if re.search(pattern, remaining):
                chosen.add(number)
                remaining = re.sub(pattern, " ", remaining)
    if question.none_option and re.search(r"\bnone\b", remaining):
        chosen.add(question.none_option)
    numbers = {int(n) for n in re.findall(r"\d+", remaining)}
    chosen |= numbers
    if not chosen:
        return Answer()
    out_of_range = sorted(n for n in chosen if not 1 <= n <= question.num_options)
    if out_of_range:
        return Answer(problem=f"no option {out_of_range} (options are 1..{question.num_options})")
    return Answer(value=frozenset(chosen))


def parse_answer(text, question):
    """
    Read an answer line into a normalised value.

    Inputs:
    - text: what the student wrote as the answer (see answer_text), or a whole answer cell.
    - question: a Question (or the grade_id of one).

    Returns:
    - An Answer: value is a frozenset of option numbers (SELECT), a bool (TRUE_FALSE), or None
      when nothing was answered (empty or the untouched "YOUR ANSWER HERE"); problem says why
      an answer could not be read.
    """
    if isinstance(question, str):
        question = QUESTIONS_BY_ID[question]
    if _ANSWER_LABEL.search(text):
        text = answer_text(text)
    text = text.replace(STUB, " ").strip()
    if not text:
        return Answer()
    if question.kind == TRUE_FALSE:
        return _parse_true_false(text)
    return _parse_select(text, question)


def _cells_by_grade_id(notebook_path):
    with open(notebook_path, encoding="utf-8") as f:
        nb = json.load(f)
    cells = {}
    for cell in nb.get("cells", []):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id:
            source = cell.get("source", "")
            cells[grade_id] = "".join(source) if isinstance(source, list) else source
    return cells


def read_answers(notebook_path):
    """grade_id -> Answer of every fixed-answer question in one notebook (student's or master)."""
    cells = _cells_by_grade_id(notebook_path)
    return {gid: parse_answer(cells[gid], QUESTIONS_BY_ID[gid])
            for gid in QUESTIONS_BY_ID if gid in cells}


def answer_key(source_dir):
    """
    The answer key, read from the master notebooks in source_dir (source/assignment1).

    Returns grade_id -> value. Raises ValueError if a question is missing or its master answer
    cannot be read, because a key with holes would mark correct answers wrong.
    """
    key = {}
    for question in QUESTIONS:
        path = os.path.join(source_dir, question.notebook + ".ipynb")
        answer = read_answers(path).get(question.grade_id)
        if answer is None or not answer.answered:
            raise ValueError(f"answer_key: {path} has no readable answer for {question.grade_id} "
                             f"({answer.problem if answer else 'cell not found'}); fix the master.")
        key[question.grade_id] = answer.value
    return key


def score(answer, expected):
    """True when a parsed Answer equals the key's value."""
    return answer.answered and answer.value == expected
