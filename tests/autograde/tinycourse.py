"""A tiny nbgrader course for the autograde tests: two notebooks, one module, seconds to grade.

source/assignment1/adder.ipynb: a solution cell `add`, a test cell with a visible and a
hidden test (the hidden one holds SECRET markers the feedback must never show), a free-text
answer graded by hand and an inline choice question.
source/assignment1/ops.ipynb: imports `tiny/ops.py` (the student's module) and tests `mul`.
"""
import json
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HIDDEN_MARK = "SECRET_HIDDEN_7731"
HIDDEN_VALUE = "4242.125"
NOTEBOOKS = ("adder", "ops")


def tiny_settings(root, **changes):
    """Grading settings of a tiny course built at `root` (fake module and inline graders)."""
    from coursekit.autograde.grading_run import GradingRun

    return GradingRun(root=root, notebooks=NOTEBOOKS, module_grader=fake_module_grader,
                  inline_grader=fake_inline_grader, kernel_memory_mb=1024,
                  **changes)


def _meta(grade_id, *, grade=False, solution=False, locked=False, points=0):
    meta = {"grade_id": grade_id, "grade": grade, "solution": solution, "locked": locked,
            "schema_version": 3, "task": False}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def _cell(kind, source, **meta):
    make = new_code_cell if kind == "code" else new_markdown_cell
    return make(textwrap.dedent(source).strip("\n"), metadata=_meta(**meta))


def adder_notebook():
    return new_notebook(cells=[
        _cell("markdown", "# Adder\nWrite `add`.", grade_id="intro", locked=True),
        _cell("code", """
            import os
            GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
            """, grade_id="setup", locked=True),
        _cell("code", """
            def add(a, b):
                ### BEGIN SOLUTION
                return a + b
                ### END SOLUTION
            """, grade_id="add_solution", solution=True),
        # Tests judge values the kernel computed (coursekit/autograde/judge.py): a given cell
        # calls the student's code, the test reads what it stored.
        _cell("code", """
            sum_small = add(1, 2)
            sum_large = add(4000.125, 242)
            """, grade_id="add_values", locked=True),
        _cell("code", f"""
            # visible test
            assert sum_small == 3, "add(1, 2) should be 3"
            print("visible add test passed")
            ### BEGIN HIDDEN TESTS
            # {HIDDEN_MARK}
            import numpy as np
            assert np.allclose(sum_large, {HIDDEN_VALUE}), "hidden add test"
            ### END HIDDEN TESTS
            """, grade_id="test_add", grade=True, locked=True, points=2),
        _cell("code", """
            assert GRADING, "this cell runs in grading mode only"
            """, grade_id="test_grading_mode", grade=True, locked=True, points=1),
        _cell("markdown", "**Inline Question 1** Why is addition commutative?",
              grade_id="iq1_prompt", locked=True),
        _cell("markdown", "YOUR ANSWER HERE", grade_id="iq1_answer", grade=True, solution=True,
              points=1),
        _cell("markdown", "**Inline Question 2** Which are even? 1. 2  2. 3  3. 4\n\n"
                          "Your answer: 1, 3", grade_id="iq2", locked=False),
        _cell("markdown", "**Inline Question 3** Which is prime? 1. 4  2. 5",
              grade_id="iq3_prompt", locked=True),
        _cell("markdown", "Your answer: 2", grade_id="iq3_answer", grade=True, solution=True,
              points=1),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})


def ops_notebook():
    return new_notebook(cells=[
        _cell("code", """
            from tiny.ops import mul
            """, grade_id="ops_import", locked=True),
        _cell("code", """
            product_small, product_large = mul(2, 3), mul(7, 6)
            """, grade_id="mul_values", locked=True),
        _cell("code", f"""
            assert product_small == 6
            ### BEGIN HIDDEN TESTS
            # {HIDDEN_MARK}
            assert product_large == 42
            ### END HIDDEN TESTS
            """, grade_id="test_mul", grade=True, locked=True, points=3),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})


OPS_MASTER = "def mul(a, b):\n    return a * b\n"
OPS_STARTER = "def mul(a, b):\n    raise NotImplementedError('write mul')\n"

CONFIG = r"""import os
c = get_config()  # noqa: F821
HERE = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "tiny"
c.Execute.timeout = {timeout}
c.Execute.kernel_name = "python3"
c.IgnorePattern.pattern = r"\w*Warning:|warnings\.warn"
c.IgnorePattern.enabled = True
c.OverwriteCells.add_missing_cells = True
c.GenerateFeedback.preprocessors = [
    "coursekit.autograde.feedback.HideHiddenTests",
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
"""


def build_course(root, timeout=10):
    """Write the tiny course under `root`, fill its gradebook and its release. Returns root."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from coursekit.autograde.gradebook import ensure_alembic_on_path

    ensure_alembic_on_path()
    root = Path(root)
    src = root / "source" / "assignment1"
    (src / "tiny").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(CONFIG.format(timeout=timeout))
    nbformat.write(adder_notebook(), str(src / "adder.ipynb"))
    nbformat.write(ops_notebook(), str(src / "ops.ipynb"))
    (src / "tiny" / "__init__.py").write_text("")
    (src / "tiny" / "ops.py").write_text(OPS_MASTER)
    cfg = Config()
    cfg.CourseDirectory.root = str(root)
    cfg.CourseDirectory.course_id = "tiny"
    coursedir = CourseDirectory(config=cfg)
    coursedir.assignment_id = "assignment1"
    app = GenerateAssignment(coursedir=coursedir, config=cfg)
    app.force = True
    app.start()
    # The release's module is the starter, as a student receives it.
    (root / "release" / "assignment1" / "tiny" / "ops.py").write_text(OPS_STARTER)
    return root


def make_submission(course_root, dest, *, add_body="return a + b", mul_body="return a * b",
                    iq1="Because a + b = b + a.", iq2="1, 3", iq3="2"):
    """A student's submission: the release with the given bodies and answers filled in."""
    import shutil

    release = Path(course_root) / "release" / "assignment1"
    dest = Path(dest)
    shutil.copytree(release, dest)
    nb = nbformat.read(str(dest / "adder.ipynb"), as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "add_solution":
            cell.source = "def add(a, b):\n    " + add_body.replace("\n", "\n    ")
        elif gid == "iq1_answer":
            cell.source = iq1
        elif gid == "iq2":
            cell.source = cell.source.replace("Your answer: 1, 3", f"Your answer: {iq2}")
        elif gid == "iq3_answer":
            cell.source = f"Your answer: {iq3}"
    nbformat.write(nb, str(dest / "adder.ipynb"))
    (dest / "tiny" / "ops.py").write_text(f"def mul(a, b):\n    {mul_body}\n")
    return dest


def fake_module_grader(submission_dir, cifar_dir=None):
    """Stands in for coursekit.grader: checks tiny/ops.py's mul in a child process (as the
    real grader does in its sandbox, so os._exit or sys.exit at import cannot hurt us)."""
    import subprocess
    import sys

    code = ("import sys; sys.path.insert(0, sys.argv[1]); from tiny.ops import mul; "
            "print('RESULT', mul(5, 5))")
    try:
        # -B: like the real grader (which works on a copy), leave the submission untouched;
        # the pipeline checks that the staged copy never changes.
        proc = subprocess.run([sys.executable, "-B", "-c", code, str(submission_dir)],
                              capture_output=True, text=True, timeout=20)
        ok = proc.returncode == 0 and "RESULT 25" in proc.stdout
        lines = proc.stderr.strip().splitlines()
        message = "" if ok else (lines[-1] if lines else f"exit code {proc.returncode}")
    except subprocess.TimeoutExpired:
        ok, message = False, "timed out"
    from coursekit.grader.results import CheckResult, GradeResult

    return GradeResult(str(submission_dir), [CheckResult(
        "ops.mul.values", "mul", 2.0 if ok else 0.0, 2.0, "passed" if ok else "failed", message,
        0.0)])


def fake_inline_grader(notebooks, source_dir):
    """Stands in for the notebooks helper's parser: scores the `Your answer:` lines of adder's
    Q2 (a plain cell) and Q3 (an nbgrader answer cell, matched by its grade_id)."""
    path = notebooks.get("adder")
    answers = {}
    cells = json.loads(Path(path).read_text())["cells"] if path else []
    for cell in cells:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        for line in text.splitlines():
            if line.startswith("Your answer:"):
                answers[gid] = {a.strip() for a in line.split(":", 1)[1].split(",")}
    from coursekit.autograde.result import INLINE, Item

    items = []
    for qid, gid, key in (("adder.iq2", "iq2", {"1", "3"}), ("adder:iq3_answer", "iq3_answer",
                                                             {"2"})):
        ok = answers.get(gid) == key
        items.append(Item(f"inline:{qid}", INLINE, 1 if ok else 0, 1,
                          message="" if ok else f"your answer: {sorted(answers.get(gid, []))}"))
    return items


def set_manual_score(db_url, student, score):
    """Score a student's free-text answer of adder (iq1_answer) by hand, as formgrader does
    when a grader enters a score; None takes the score back (the answer waits for a grader)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        grade = gb.find_grade("iq1_answer", "adder", "assignment1", student)
        grade.manual_score = score
        grade.needs_manual_grade = score is None
        gb.db.commit()
