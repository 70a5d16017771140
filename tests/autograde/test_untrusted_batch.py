"""The host treats a submission as untrusted data: hostile students graded in one parallel batch
with honest ones (slow: `make test-autograde`).

Each attack on the host side is one student: links to the master handed in, links
a kernel plants in the folder nbgrader started it in, a sparse file, a 25 MB notebook, outputs
and answers that carry scripts and 30 MB images. Every attacker gets what their honest work
earns, the honest students their full score, the course (master, config, gradebook file) is
unchanged, and nothing published under autograded/ or feedback/ is a link or holds a live
script. The kernels run without the jail (COURSEKIT_JAIL=none), so the host side is tested on
its own: inside the jail a kernel cannot even reach the folders it attacks.
"""
import hashlib
import json
import os
import stat
from pathlib import Path

import nbformat
import pytest
import tinycourse
from hostile_outputs import KERNEL_CODE, MARKDOWN_ANSWER, live_payloads
from tinycourse import HIDDEN_MARK, tiny_settings

from coursekit.autograde import batch

pytestmark = pytest.mark.slow

FULL = {"adder:test_add": 2, "adder:test_grading_mode": 1, "adder:iq1_answer": 0,
        "adder:iq3_answer": 1, "ops:test_mul": 3, "module:ops.mul.values": 2,
        "inline:adder.iq2": 1}
ADDER_ITEMS = ("adder:test_add", "adder:test_grading_mode", "adder:iq3_answer",
               "inline:adder.iq2")


def _set_cell(folder, grade_id, source):
    nb = nbformat.read(str(folder / "adder.ipynb"), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = source
    nbformat.write(nb, str(folder / "adder.ipynb"))


def links_to_master(folder, course):
    """Hands in links to the master notebook and package instead of their own work."""
    (folder / "adder.ipynb").unlink()
    (folder / "adder.ipynb").symlink_to(course.source_dir / "adder.ipynb")
    for path in sorted((folder / "tiny").iterdir()):
        path.unlink()
    (folder / "tiny").rmdir()
    (folder / "tiny").symlink_to(course.source_dir / "tiny")


def kernel_plants_links(folder, course):
    """While adder runs, its kernel switches the in-kernel guard off (it is no boundary) and
    turns the folder nbgrader started it in into links to the course: the package to the
    master (nbgrader's set-up of `ops` would copy through it), the notebook to the course
    config (nbgrader's writer would write through it), a file to the gradebook (nbgrader's
    chmod would follow it). Inside the jail that folder is out of reach; in a fallback without
    namespaces it is not, and the host side must hold on its own."""
    (folder / "tiny" / "ops.py").write_text("def mul(a, b):\n    return a * b  # student's\n")
    links = (("tiny", str(course.source_dir / "tiny")),
             ("adder.ipynb", str(course.root / "nbgrader_config.py")),
             ("planted.txt", str(course.sqlite_path)))
    _set_cell(folder, "add_solution", f"""import gc, json, os, shutil, types
for f in gc.get_objects():
    if isinstance(f, types.FunctionType) and "refuse" in f.__code__.co_freevars and \\
            f.__code__.co_filename.endswith("kernel_guard.py"):
        f.__closure__[f.__code__.co_freevars.index("refuse")].cell_contents = lambda what: None
environ = dict(v.split("=", 1) for v in open("/proc/self/environ").read().split("\\0")
               if "=" in v)
roots = json.loads(environ.get("COURSEKIT_GUARD") or "{{}}").get("deny_read", [])
places = [os.getcwd()] + [os.path.join(r, "autograded", "kernel_plants_links", "assignment1")
                          for r in roots]
for place in places:
    for name, target in {links!r}:
        path = os.path.join(place, name)
        try:
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) \\
                else os.remove(path)
        except OSError:
            pass
        try:
            os.symlink(target, path)
        except OSError as exc:
            print("refused:", exc)

def add(a, b):
    return a + b""")


def sparse_file(folder, course):
    with open(folder / "tiny" / "weights.bin", "wb") as f:
        f.truncate(4 * 2**30)


def huge_notebook(folder, course):
    nb = nbformat.read(str(folder / "adder.ipynb"), as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("x" * (25 * 2**20)))
    nbformat.write(nb, str(folder / "adder.ipynb"))


def hostile_outputs(folder, course):
    _set_cell(folder, "add_solution", KERNEL_CODE + "\ndef add(a, b):\n    return a + b")
    _set_cell(folder, "iq1_answer", MARKDOWN_ANSWER)


CASES = {f.__name__: f for f in (links_to_master, kernel_plants_links, sparse_file,
                                 huge_notebook, hostile_outputs)}


def course_state(course):
    """Hash of everything of the course a grading run must leave as it is: every file of the
    course folder but the outputs and submissions (content, mode, link target), and the
    gradebook file's mode and kind (its rows change with grading)."""
    digest = hashlib.sha256()
    for path in sorted(course.root.rglob("*")):
        rel = path.relative_to(course.root)
        if rel.parts[0] in ("autograded", "feedback", "submitted") or path == course.sqlite_path \
                or rel.name.startswith(".gradebook") or ".locks" in rel.parts[0]:
            continue
        st = os.lstat(path)
        digest.update(f"{rel}\0{st.st_mode}\0".encode())
        if stat.S_ISLNK(st.st_mode):
            digest.update(os.readlink(path).encode())
        elif stat.S_ISREG(st.st_mode):
            digest.update(path.read_bytes())
    gradebook = os.lstat(course.sqlite_path)
    digest.update(f"gradebook\0{gradebook.st_mode}".encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def batch_run(tiny_course):
    """The batch, graded with the jail's weakest fallback (limits only, as where namespaces
    are forbidden): what the host does must hold without the jail."""
    course = tiny_settings(tiny_course)
    submitted = tiny_course / "submitted"
    for honest in ("honest_first", "honest_last"):
        tinycourse.make_submission(tiny_course, submitted / honest / "assignment1")
    for name, attack in CASES.items():
        attack(tinycourse.make_submission(tiny_course, submitted / name / "assignment1"), course)
    before = course_state(course)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSEKIT_JAIL", "none")
        outcomes = batch.grade_all(course, batch.find_submissions(course), jobs=2,
                                   progress=False)
    results = {s: json.loads(course.result_path(s).read_text()) for s in outcomes}
    return course, outcomes, results, before


def scores(result):
    return {i["id"]: i["score"] for i in result["items"]}


def test_every_student_is_graded_without_a_grading_error(batch_run):
    _, outcomes, results, _ = batch_run
    assert {s: o[2] for s, o in outcomes.items() if o[2]} == {}
    assert all(r.get("status") != "error" for r in results.values())


def test_honest_students_keep_their_full_score(batch_run):
    results = batch_run[2]
    assert scores(results["honest_first"]) == FULL
    assert scores(results["honest_last"]) == FULL


def test_the_course_is_unchanged(batch_run):
    course, _, _, before = batch_run
    assert course_state(course) == before


def test_links_to_the_master_are_refused_and_earn_nothing(batch_run):
    course, _, results, _ = batch_run
    r = results["links_to_master"]
    assert r["score"] == 0
    assert r["notebooks"]["adder"]["status"] == "refused"
    assert "adder.ipynb is a symbolic link" in r["notebooks"]["adder"]["message"]
    assert any(n.startswith("tiny is a symbolic link") for n in r["notices"])
    shown = "".join(p.read_text() for p in
                    (course.feedback_dir / "links_to_master" / "assignment1").glob("*.html"))
    assert "BEGIN SOLUTION" not in shown and HIDDEN_MARK not in shown


def test_links_planted_by_a_kernel_change_nothing_and_cost_nothing(batch_run):
    course, _, results, _ = batch_run
    assert scores(results["kernel_plants_links"]) == FULL
    published = course.autograded_dir / "kernel_plants_links" / "assignment1"
    attack = next(c for c in nbformat.read(str(published / "adder.ipynb"), as_version=4).cells
                  if "gc.get_objects" in c.source)
    said = "".join(o.get("text", "") for o in attack.outputs)
    assert ".staging" not in said, "the links did not reach the build folder: nothing tested"
    assert (published / "tiny" / "ops.py").read_text().endswith("# student's\n")
    assert not (published / "planted.txt").exists()


def test_a_sparse_file_is_left_out_with_a_notice(batch_run):
    course, _, results, _ = batch_run
    r = results["sparse_file"]
    assert scores(r) == FULL
    assert "tiny/weights.bin is 4.0 GB, over the grader's limit of 50.0 MB per file: it was " \
           "not graded" in r["notices"]
    assert not (course.autograded_dir / "sparse_file" / "assignment1" / "tiny" /
                "weights.bin").exists()


def test_a_25_mb_notebook_is_refused_and_costs_that_notebook_only(batch_run):
    r = batch_run[2]["huge_notebook"]
    assert r["notebooks"]["adder"]["status"] == "refused"
    assert "over the grader's limit of 20.0 MB per notebook" in r["notebooks"]["adder"]["message"]
    assert {k: v for k, v in scores(r).items() if FULL[k] != v} == {k: 0 for k in ADDER_ITEMS}


def test_scripts_and_huge_outputs_are_cleaned_from_the_graded_notebook_and_the_feedback(
        batch_run):
    course, _, results, _ = batch_run
    assert scores(results["hostile_outputs"]) == FULL
    graded = course.autograded_dir / "hostile_outputs" / "assignment1" / "adder.ipynb"
    page = course.feedback_dir / "hostile_outputs" / "assignment1" / "adder.html"
    assert graded.stat().st_size < 1_000_000 and page.stat().st_size < 2_000_000
    nb = nbformat.read(str(graded), as_version=4)
    as_html = json.dumps([c.source for c in nb.cells if c.cell_type == "markdown"] + [
        o.get("data") for c in nb.cells if c.cell_type == "code" for o in c.outputs])
    assert "<script" not in as_html and "<img" not in as_html   # escaped: shown as text
    assert "image/png output of 30.0 MB removed" in as_html
    assert live_payloads(page.read_text()) == []


def test_nothing_published_is_a_link(batch_run):
    course = batch_run[0]
    for root in (course.autograded_dir, course.feedback_dir):
        assert [p for p in root.rglob("*") if p.is_symlink()] == []


def test_the_staged_submission_is_what_is_published_next_to_the_graded_notebooks(batch_run):
    course = batch_run[0]
    published = course.autograded_dir / "honest_first" / "assignment1"
    names = sorted(p.relative_to(published).as_posix() for p in published.rglob("*")
                   if p.is_file())
    assert names == ["adder.ipynb", "ops.ipynb", "tiny/__init__.py", "tiny/ops.py"]
    assert Path(published / "tiny" / "ops.py").read_text() == "def mul(a, b):\n    return a * b\n"
