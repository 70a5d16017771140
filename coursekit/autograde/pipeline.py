"""One student, end to end, in this order:

    collect -> nbgrade (each notebook) -> inline -> notebook scores (gradebook) ->
    module checks -> reviews -> feedback -> publish -> result JSON

With a SQLite gradebook the steps read and write a gradebook of the student's own, and the
student's rows go to the course's gradebook once, before publishing (student_gradebook.py).

Everything is built in a staging folder next to autograded/ and moved into place at the end
(rename), the per-student JSON (result.Result) last: it is the mark that a student is done.
An interrupted run leaves at worst a stale staging folder, never a half-written result.

The host never reads what student code could have written. In the staging folder,
`submitted/` is the copy collect makes before any student code runs (its snapshot is checked
before every later use), `autograded/` is nbgrader's build folder, the one the kernels are
started in (emptied before each notebook, never published as is), and `graded/` gets the
graded notebooks from nbgrader's writer. What is published as autograded/<student>/ is rebuilt
from `submitted/` and `graded/` (`publish_graded`).
"""
import hashlib
import os
import shutil
import tempfile
import time
import warnings
from contextlib import ExitStack, contextmanager
from pathlib import Path

import nbformat

from coursekit import untrusted
from coursekit.autograde import (
    collect,
    feedback,
    gradebook,
    inline,
    interrupts,
    kernels_ahead,
    locks,
    module_checks,
    nbgrade,
    reviews,
    scratch,
    student_gradebook,
)
from coursekit.autograde.grading_run import check_student_id, load_nbgrader_config
from coursekit.autograde.result import Item, Result


def atomic_write_text(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def swap_in(staged, final):
    """Replace folder `final` by `staged` with renames (same file system)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        os.replace(final, old)
    os.replace(staged, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --- the gradebook must know the assignment's cells -----------------------------------

def source_digest(course):
    digest = hashlib.sha256()
    for path in sorted(course.source_dir.glob("*.ipynb")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def prepare(course, force=False):
    """Record the master notebooks' graded cells (hidden tests included) in the gradebook.

    nbgrader autograde puts the test cells back from the gradebook, so it must hold the
    current master version; the release is built without a gradebook, so this step does
    what `nbgrader generate_assignment` does with a database, into a throw-away folder.
    Skipped when the master notebooks have not changed since the last time.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    gradebook.ensure_alembic_on_path()
    notebooks = sorted(course.source_dir.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(
            f"coursekit autograde: no master notebooks in {course.source_dir}; the gradebook "
            "needs them (write them, or point GradingRun.root at the course directory)")
    marker = course.autograded_dir / ".gradebook-source"
    # The URL hashed: a database password must not end up in a file of autograded/.
    digest = source_digest(course) + " " + hashlib.sha256(course.db_url.encode()).hexdigest()
    if not force and marker.exists() and marker.read_text() == digest and \
            set(gradebook.gradebook_notebooks(course)) >= {p.stem for p in notebooks}:
        return False
    # One run at a time rebuilds it, and never under a grading reading it (locks.py).
    with locks.gradebook_lock(course, shared=False), \
            tempfile.TemporaryDirectory(prefix=scratch.pid_prefix("gradebook")) as root:
        src = Path(root) / "source" / course.assignment
        src.mkdir(parents=True)
        for path in notebooks:
            shutil.copyfile(path, src / path.name)
        cfg = load_nbgrader_config(course.config_file)
        cfg.CourseDirectory.pop("db_assignments", None)
        cfg.CourseDirectory.root = root
        cfg.CourseDirectory.db_url = course.db_url
        cfg.GenerateAssignment.no_database = False
        cfg.SaveCells.enabled = True
        coursedir = CourseDirectory(config=cfg)
        coursedir.assignment_id = course.assignment
        app = GenerateAssignment(coursedir=coursedir, config=cfg)
        app.force = True
        app.log.setLevel("WARNING")
        app.start()
    atomic_write_text(marker, digest)
    return True


# --- one student ------------------------------------------------------------------------

def grade_submission(course, student, submission_dir, scratch_dir=None, manifest=None):
    """Grade one submission; writes autograded/<student>/, feedback/<student>/ and the
    JSON, and returns the Result. `scratch_dir` is this process's scratch folder
    (`nbgrade.prepare_scratch`); one is made, and removed after, when None. `manifest`: the
    submission was collected already, elsewhere (a Dask worker grading what the client
    collected: cluster.py); `submission_dir` is that copy and `manifest` its collect manifest.

    The student id is checked first (course.check_student_id), and the grading holds the
    student's lock (locks.student_lock): the same student is never graded twice at once, by
    two workers of a batch or by two runs; and the gradebook's, shared (locks.gradebook_lock):
    no run rebuilds the assignment under it."""
    check_student_id(student)
    if scratch_dir is None:
        with scratch_folder(course) as scratch_dir:
            return grade_submission(course, student, submission_dir, scratch_dir, manifest)
    with locks.student_lock(course, student), locks.gradebook_lock(course, shared=True), \
            interrupts.grading():
        return _grade_submission(course, student, submission_dir, scratch_dir, manifest)


@contextmanager
def scratch_folder(course):
    """This process's grading scratch folder for the block (`nbgrade.prepare_scratch`), with
    Python's temporary folders inside it; removed at the end, however the block ends."""
    base = nbgrade.prepare_scratch(course)
    try:
        with scratch.redirect_tempfile(base / "py"):
            yield base
    finally:
        scratch.remove_folder(base)


def _grade_submission(course, student, submission_dir, scratch_dir, manifest=None):
    warnings.filterwarnings("ignore", module="sqlalchemy")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    nbgrade.begin_submission(course)
    timing = {}
    course.staging_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f"{student}-", dir=course.staging_dir))
    stack = ExitStack()
    try:
        # The student's own gradebook, their rows written to the course's once, before the
        # results are published: a grading that fails or is stopped writes nothing there.
        with _timed(timing, "gradebook"):
            grading = stack.enter_context(
                student_gradebook.private(course, student, scratch_dir))
        result = _grade_in_stage(grading.course, student, Path(submission_dir), stage, timing,
                                 manifest)
        with _timed(timing, "gradebook"):
            grading.write_back()
        with _timed(timing, "publish"):
            swap_in(stage / "autograded" / student / course.assignment,
                    course.autograded_dir / student / course.assignment)
            swap_in(stage / "feedback", course.feedback_dir / student / course.assignment)
        result.timing = timing
        atomic_write_text(course.result_path(student), result.dumps())
        return result
    finally:
        stack.close()
        shutil.rmtree(stage, ignore_errors=True)


@contextmanager
def _timed(timing, name):
    """Add the seconds the block takes (however it ends) to timing[name]."""
    start = time.monotonic()
    try:
        yield
    finally:
        timing[name] = round(timing.get(name, 0) + time.monotonic() - start, 2)


def _grade_in_stage(course, student, submission_dir, stage, timing, manifest=None):
    with ExitStack() as stack:
        return _grade_with(stack, course, student, submission_dir, stage, timing, manifest)


def _grade_with(stack, course, student, submission_dir, stage, timing, manifest=None):
    submitted = stage / "submitted" / student / course.assignment
    workdir = stage / "autograded" / student / course.assignment
    graded = stage / nbgrade.GRADED_DIR
    notices = []
    with _timed(timing, "collect"):
        if manifest is None:
            manifest = collect.collect_submission(submission_dir, submitted, course.notebooks,
                                                  course.submission_limits)
        else:
            untrusted.Copier(submission_dir, course.submission_limits).copy_tree(".", submitted)
        notices += collect.install_given_files(course.root, submitted, course.given_files)
        pristine = untrusted.snapshot(submitted)
    notebooks = {}
    test_errors = {}
    # The guard log of each notebook to grade; its kernel may start while the one before runs.
    logs = {name: stage / f"guard-{name}.log" for name in course.notebooks
            if manifest["notebooks"][name]["status"] in ("ok", "renamed")}
    # The module checks start now, in a process of their own, and run while the notebooks do
    # (bubblewrap jail only; module_checks.beside says why not a thread, and why not elsewhere).
    modules = stack.enter_context(module_checks.beside(
        course, submitted, cifar_dir=course.kernel_env.get("CS231N_CIFAR10_DIR")))
    with _timed(timing, "nbgrader"), kernels_ahead.student_kernels(course, stage, logs,
                                                                     student):
        for name in course.notebooks:
            info = dict(manifest["notebooks"][name])
            if name in logs:
                log = logs[name]
                # nbgrader copies the staged submission into a build folder of its own: not
                # one the previous notebook's kernel may have filled with links.
                untrusted.verify(submitted, pristine)
                untrusted.reset_folder(workdir)
                run = nbgrade.autograde_notebook(course, stage, student, name, log)
                info["seconds"] = run["seconds"]
                if run["success"]:
                    info["status"] = "graded"  # a renamed notebook keeps its note in message
                    test_errors[name], raised = cell_errors(graded / f"{name}.ipynb",
                                                            cell_timeout(course))
                    if raised:
                        more = f"; and {len(raised) - 3} more" if len(raised) > 3 else ""
                        info["message"] = _join(info.get("message"), "errors in your cells: "
                                                + "; ".join(raised[:3]) + more)
                    problems = guard_findings(log, graded / f"{name}.ipynb")
                    if problems["tampered"]:
                        gradebook.zero_tests(course, student, name)
                        info["message"] = _join(info.get("message"), problems["tampered"]
                                                + "; the tests of this notebook score 0")
                    if problems["blocked"]:
                        notices.append(f"{name}.ipynb: the grader refused "
                                       + "; ".join(problems["blocked"][:5]))
                else:
                    info["status"] = "failed"
                    info["message"] = _join(info.get("message"),
                                            f"not graded: {run['error']}; it scores 0")
                    gradebook.zero_notebook(course, student, name)
            else:
                gradebook.zero_notebook(course, student, name)
            notebooks[name] = info
    graded.mkdir(parents=True, exist_ok=True)
    items = []
    with _timed(timing, "inline"):
        untrusted.verify(submitted, pristine)
        paths = {n: submitted / f"{n}.ipynb" for n in course.notebooks
                 if (submitted / f"{n}.ipynb").exists()}
        inline_items, inline_notes = inline.run_inline(course, paths)
        inline_messages = {i.id.removeprefix("inline:").split(":")[-1]: i.message
                           for i in inline_items}
        # Choice questions that are answer cells are scored in the gradebook itself; the
        # others become items of their own, listed last.
        other_inline, inline_cells = gradebook.record_inline_scores(course, student, inline_items)
    with _timed(timing, "notebook_scores"):
        grades = gradebook.notebook_grades(course, student, inline_cells)
        for name in course.notebooks:
            for g in grades.get(name, []):
                items.append(notebook_item(name, g, inline_messages.get(g["name"]) or
                                           _cell_message(g, notebooks[name],
                                                         test_errors.get(name, {}).get(g["name"]))))
    with _timed(timing, "modules"):  # the wait for them, when they ran beside the notebooks
        untrusted.verify(submitted, pristine)
        module_items, module_notices, grader_notes = modules.result()
        if modules.seconds is not None:
            timing["modules_beside"] = modules.seconds
        items += module_items + other_inline
        notices += module_notices
    notices += manifest["skipped"]
    if manifest["extra_notebooks"]:
        notices.append("notebooks not part of the assignment (ignored): "
                       + ", ".join(manifest["extra_notebooks"]))
    result = Result(student, course.assignment, items=items, notebooks=notebooks,
                    notices=notices, grader_notes=inline_notes + grader_notes,
                    fingerprint=manifest["fingerprint"])
    result.set_comments(gradebook.cell_comments(course, student))
    try:  # a regrade keeps the instructor's decisions on held models
        decisions = reviews.load(course)
    except reviews.ReviewsError:
        decisions = {}  # held as pending; the export that follows names the broken line
    reviews.apply(result, decisions)
    with _timed(timing, "feedback"):
        feedback.write_feedback(course, student, graded, stage / "feedback", result)
        publish_graded(submitted, pristine, graded, workdir, stage / "publish",
                       course.submission_limits)
    return result


def publish_graded(submitted, pristine, graded, dest, scratch, limits=untrusted.LIMITS):
    """Make `dest` (nbgrader's autograded/<student>/<assignment> in the staging folder) hold the
    staged submission's files, checked unchanged since collect, and the graded notebooks:
    nothing the kernels left in the folder they ran in (links, fifos, gigabytes of output)."""
    untrusted.verify(submitted, pristine)
    untrusted.reset_folder(scratch)
    untrusted.Copier(submitted, limits).copy_tree(".", scratch, skip_suffixes=(".ipynb",))
    for notebook in sorted(graded.glob("*.ipynb")):  # written by nbgrader on the host
        untrusted.write_file(scratch / notebook.name, notebook.read_bytes())
    untrusted.reset_folder(dest)
    os.replace(scratch, dest)


def notebook_item(notebook, grade, message):
    """The Item of one graded cell of a notebook (a gradebook grade, gradebook.notebook_grades).
    """
    item = Item(f"{notebook}:{grade['name']}", grade["kind"], grade["score"],
                grade["max_score"], message=message,
                pending=bool(grade["needs_manual_grade"]) and grade["manual_score"] is None)
    item.set_by_hand(grade["manual_score"] is not None)
    return item


def _join(*parts):
    return "; ".join(p for p in parts if p)


def _cell_message(grade, notebook_info, error=None):
    if notebook_info["status"] != "graded":
        return f"{notebook_info['status']} notebook"
    if grade["score"] >= grade["max_score"]:
        return manual_message(grade)
    return manual_message(grade) or ("test failed" + (f" ({error})" if error else ""))


# Errors whose name alone does not say what happened.
_ERROR_HINTS = {
    "CellTimeoutError": "stopped at the grader's time limit of {timeout} s per cell",
    "KeyboardInterrupt": "stopped at the grader's time limit of {timeout} s per cell",
    "MemoryError": "over the grader's memory limit",
}


def cell_timeout(course):
    """A cell's time limit: the run's (--cell-seconds), else nbgrader_config.py's."""
    return course.cell_seconds or load_nbgrader_config(course.config_file).Execute.get(
        "timeout", 30)


def cell_errors(graded_notebook, timeout):
    """What raised in a graded notebook, as messages a student can act on.

    Returns ({grade id of a test cell: error name}, [one line per other cell that raised]).
    A test cell's error is named only (its message could quote a hidden test); the other
    cells run the student's code, so their first error line is shown with the cell's name.
    """
    path = Path(graded_notebook)
    if not path.exists():
        return {}, []
    nb = nbformat.read(str(path), as_version=4)
    tests, others = {}, []
    for index, cell in enumerate(nb.cells, 1):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if cell.cell_type != "code" or not errors:
            continue
        meta = cell.metadata.get("nbgrader", {})
        names = list(dict.fromkeys(str(o.get("ename") or "Error") for o in errors))
        hint = next((_ERROR_HINTS[n].format(timeout=timeout) for n in names
                     if n in _ERROR_HINTS), "")
        if meta.get("grade") and not meta.get("solution"):
            tests[meta.get("grade_id")] = names[-1] + (f", {hint}" if hint else "")
            continue
        first = str(errors[-1].get("evalue") or "").strip().splitlines()
        detail = f"{names[-1]}: {first[0][:200]}" if first else names[-1]
        label = meta.get("grade_id") or f"cell {index}"
        others.append(f"{label}: {detail}" + (f" ({hint})" if hint else ""))
    return tests, others


def manual_message(grade):
    """The message of a free-text answer cell ("" for the other kinds)."""
    if grade["kind"] != "manual":
        return ""
    if grade["manual_score"] is not None:
        return "graded by hand"
    return "to be graded by hand" if grade["needs_manual_grade"] else "not answered"


def guard_findings(log_path, graded_notebook):
    """What the in-kernel guard saw: refused operations, tampering, a disabled guard."""
    # The kernel writes this log: read it as untrusted (no link followed, at most 4 MB).
    log_path = Path(log_path)
    try:
        data = untrusted.read_file(log_path.parent, log_path.name, 4 * untrusted.MB,
                                   what="guard log", cut=True)
    except (FileNotFoundError, untrusted.Refused):
        data = b""
    lines = data.decode("utf-8", "replace").splitlines()
    blocked = sorted({ln[len("blocked "):] for ln in lines if ln.startswith("blocked ")})
    repaired = [ln[len("repaired "):] for ln in lines if ln.startswith("repaired ")]
    checked = sum(1 for ln in lines if ln.startswith("ok cell "))
    executed = 0
    if Path(graded_notebook).exists():
        nb = nbformat.read(str(graded_notebook), as_version=4)
        executed = sum(1 for c in nb.cells
                       if c.cell_type == "code" and c.get("execution_count") is not None)
    tampered = ""
    if repaired:
        tampered = "the notebook replaced functions the tests rely on (" + \
            "; ".join(repaired[:3]) + ")"
    elif checked < executed:
        tampered = (f"the grader's checks ran after {checked} of {executed} cells "
                    "(were they switched off?)")
    return {"blocked": blocked, "tampered": tampered}
