"""Step `notebooks`: the student notebooks, made by nbgrader's GenerateAssignment.

nbgrader clears the solution cells and regions, removes the hidden tests and mark schemes, locks
the test and instruction cells and records their checksums. It runs in a throw-away course
folder: the master notebooks (and any other file of source/assignment1 except the `cs231n`
symlink, whose stubbed copy comes from the `package` step) are staged there. It runs without a
gradebook (the `--no-db` settings of `nbgrader generate_assignment`): the release needs none, and
no database file can reach the repository. The repository's nbgrader_config.py is loaded first,
so its settings apply.

A solution region of a notebook cell becomes NOTEBOOK_CODE_STUB (unless nbgrader_config.py sets
ClearSolutions.code_stub itself): nbgrader's default raises a bare `NotImplementedError()`, which
a student sees as an error without a word of what to do.
"""
import os
import shutil
import tempfile

from coursekit.autograde.grading_run import load_nbgrader_config

# Entries of the master notebook folder that never go to the release.
SKIP = {"cs231n", "__pycache__", ".ipynb_checkpoints"}
# What a solution region of a notebook cell becomes in the release (nbgrader indents it to the
# region). The message is what the student sees when the cell runs untouched, in Jupyter and in
# check.py's report.
STUB_MESSAGE = ("fill in this cell: replace this line and the '# YOUR CODE HERE' line above "
                "with your code, then run the cell again")
NOTEBOOK_CODE_STUB = f'# YOUR CODE HERE\nraise NotImplementedError("{STUB_MESSAGE}")'


class NotebookError(RuntimeError):
    """nbgrader could not generate the student notebooks."""


def _stage(source_dir, stage_dir, notebooks):
    os.makedirs(stage_dir)
    for name in sorted(os.listdir(source_dir)):
        if name in SKIP or name.startswith("."):
            continue
        if name.endswith(".ipynb") and notebooks is not None and name not in notebooks:
            continue
        src = os.path.join(source_dir, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(stage_dir, name), symlinks=False)
        else:
            shutil.copyfile(src, os.path.join(stage_dir, name))


def _nbgrader_config(root, config_file, assignment):
    config = load_nbgrader_config(config_file or None)
    # nbgrader 0.9 no longer knows this option (it only warns); the release has no database.
    config.CourseDirectory.pop("db_assignments", None)
    config.CourseDirectory.root = root
    config.CourseDirectory.assignment_id = assignment
    config.CourseDirectory.notebook_id = "*"
    config.CourseDirectory.student_id = "."
    config.GenerateAssignment.force = True
    # `nbgrader generate_assignment --no-db`: no gradebook, nothing recorded anywhere.
    config.GenerateAssignment.no_database = True
    config.SaveCells.enabled = False
    if "code_stub" not in config.ClearSolutions:
        config.ClearSolutions.code_stub = {"python": NOTEBOOK_CODE_STUB}
    return config


def write_notebook(nb, path):
    """Write a notebook in one canonical form (nbformat's, sorted keys, final newline)."""
    import nbformat  # here, not at the top: `coursekit VERB` loads this module's verb

    text = nbformat.writes(nb) + "\n"
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def generate_notebooks(source_dir, dest_dir, notebooks=None, config_file=None,
                       assignment="assignment1"):
    """Generate the student version of the master notebooks of `source_dir` into `dest_dir`.

    `notebooks`: names of the notebooks to generate (all `*.ipynb` of the folder when None); a
    missing one is an error, and so is a notebook of the folder that is not listed (it would
    silently stay out of the release). Returns the list of files written (relative to dest_dir).
    """
    import nbformat
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    if notebooks is not None:
        missing = [n for n in notebooks if not os.path.exists(os.path.join(source_dir, n))]
        if missing:
            raise NotebookError(
                f"master notebook(s) {', '.join(missing)} not found in {source_dir}; "
                "write them, or remove their [[notebooks]] entries from course.toml."
            )
        unlisted = sorted(n for n in os.listdir(source_dir)
                          if n.endswith(".ipynb") and n not in notebooks)
        if unlisted:
            raise NotebookError(
                f"{', '.join(unlisted)} in {source_dir} not listed in course.toml: add a "
                "[[notebooks]] entry for each (or move the file out of the folder)."
            )
    with tempfile.TemporaryDirectory(prefix="coursekit-release-") as root:
        _stage(source_dir, os.path.join(root, "source", assignment), notebooks)
        config = _nbgrader_config(root, config_file, assignment)
        coursedir = CourseDirectory(config=config)
        converter = GenerateAssignment(coursedir=coursedir, config=config)
        converter.log.setLevel("WARNING")
        try:
            converter.start()
        except Exception as err:
            raise NotebookError(f"nbgrader generate_assignment failed: {err}") from err
        out_dir = os.path.join(root, "release", assignment)
        if not os.path.isdir(out_dir):
            raise NotebookError(
                "nbgrader generate_assignment wrote nothing; run `nbgrader generate_assignment "
                f"{assignment}` in the repository to see its log."
            )
        written = []
        for dirpath, dirnames, filenames in os.walk(out_dir):
            dirnames.sort()
            for name in sorted(filenames):
                src = os.path.join(dirpath, name)
                rel = os.path.relpath(src, out_dir)
                target = os.path.join(dest_dir, rel)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if name.endswith(".ipynb"):
                    write_notebook(nbformat.read(src, as_version=4), target)
                else:
                    shutil.copyfile(src, target)
                written.append(rel.replace(os.sep, "/"))
    return written
