#!/usr/bin/env bash
# setup.sh of the Gradescope autograder zip (coursekit/autograde/gradescope.py puts it there).
# Gradescope runs it once, as root, when it builds the image from the zip unpacked into
# $ROOT/source. It leaves everything run_autograder needs:
#   1. a Python 3.11: one already on the machine, else (Ubuntu, as Gradescope's base image)
#      the deadsnakes PPA's, since Ubuntu 22.04 has none recent enough;
#   2. CIFAR-10 in course/cs231n/datasets/cifar-10-batches-py (not downloaded when a complete
#      copy is already there, linked from $CS231N_CIFAR10_DIR when that is set);
#   3. the virtualenv $ROOT/venv: the pinned requirements and the course tooling;
#   4. the gradebook: the graded cells of the master notebooks, hidden tests included;
#   5. the permissions: the autograder's secrets readable by root only (below).
# The cheap checks come first, so a wrong setting fails before minutes of installing. Run it
# again after a failure: it redoes only what is missing (step 5 is redone every time).
#
# Permissions (step 5). Gradescope's containers forbid user namespaces, so bubblewrap cannot
# jail the student's code there: coursekit/jail.py falls back to running it as an unprivileged
# user id of its own ("uid"), which sees the whole file system with the rights of "others".
# run_autograder runs as root and reads everything, so this step makes root-only (go-rwx)
# everything of the unpacked zip that is not named below as open (deny by default):
#   secret, root only: the master notebooks (course/source/), the master package's modules
#     (course/cs231n/: the solutions; a .pyc made later gets its source's mode), the hidden
#     checks and reference values (course/grading/), course/nbgrader_config.py, the gradebook
#     (course/gradebook.db; its journal gets its mode), course/tests/ and anything else the
#     zip may hold (pyproject.toml, requirements.txt, coursekit.egg-info/: nothing student code
#     needs), and the zip's own files (setup.sh, run_autograder, gradescope.json, and
#     $ROOT/run_autograder, Gradescope's copy, when it is already there);
#   crossable, not listable (0711): source/, course/, course/cs231n/, course/cs231n/datasets/
#     (the way to CIFAR-10), source/work/ and source/work/autograded/ (the output root of
#     `coursekit gradescope run`: each run stages the submission in autograded/.staging/, 0711,
#     the staged copy readable, and removes it after);
#   root only, made here: source/work/autograded/student/ (0700), where grading publishes the
#     graded notebooks (hidden tests put back) and the result: a process of the student's that
#     outlived its notebook (no PID namespace in the fallback) cannot read them; and
#     course/.cache/grading-data/models/ (0700), the saved models' inputs (only the grader
#     reads them);
#   crossable, not listable (0711): course/.cache/ and course/.cache/grading-data/, the way
#     to the notebooks' grading subset;
#   open to all (read, no write): course/.cache/grading-data/notebooks/, the notebooks'
#     grading subset (the first CIFAR-10 images and their features, made with the given
#     features.py: nothing secret), which the kernels read instead of the whole CIFAR-10;
#   open to all (read, no write): the CIFAR-10 folder (when it links elsewhere, the link is
#     left alone and its target checked), the course tooling (course/coursekit/: nothing
#     secret, and the virtualenv's editable install points there) and the virtualenv $VENV
#     (the interpreter and its packages; $ROOT gets o+x on the way to it).
# It then checks, as an unprivileged user, that the secrets are unreadable (else it fails),
# and whether the virtualenv's Python starts and imports numpy: if it does, the data must be
# readable (else it fails); if not (an interpreter in a folder closed to others), it warns:
# jail.py then falls back to running student code as root with limits only, and each
# result's notes say so. Gradescope's run_autograder itself is root: it reads everything.
#
# Environment (all optional):
#   AUTOGRADER_ROOT      the autograder folder (default /autograder, as on Gradescope)
#   AUTOGRADER_PYTHON    the Python 3.11 to build the virtualenv from (default: python3.11,
#                        else python3, on PATH, when it is 3.11.5 or newer)
#   CS231N_CIFAR10_DIR   an unpacked cifar-10-batches-py folder to use instead of downloading
#   AUTOGRADER_OS_RELEASE  the os-release file telling Ubuntu (default /etc/os-release; the
#                        tests point it elsewhere to emulate Gradescope's image)
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source"
COURSE="$SRC/course"
VENV="$ROOT/venv"
DATA="$COURSE/cs231n/datasets/cifar-10-batches-py"
CIFAR_FILES="data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch"
CIFAR_FILES="$CIFAR_FILES batches.meta"

say() { echo "setup.sh: $*"; }
fail() {  # fail WHAT-FAILED WHAT-TO-DO (each may be wrapped over lines: printed as one)
    echo "setup.sh: error: $(printf '%s' "$1" | tr -s '\n ' '  ')" >&2
    echo "setup.sh: to fix: $(printf '%s' "$2" | tr -s '\n ' '  ')" >&2
    exit 1
}
trap 'fail "line $LINENO ($BASH_COMMAND) failed unexpectedly" \
    "read the messages above, fix the cause and run setup.sh again"' ERR

if [ ! -f "$COURSE/requirements.txt" ] || [ ! -f "$SRC/gradescope.json" ]; then
    fail "$SRC does not hold the unpacked autograder (course/requirements.txt or
    gradescope.json is missing)" "unzip the zip of 'make gradescope' into $SRC, or set
    AUTOGRADER_ROOT to the folder whose source/ holds it"
fi

# --- 1. Python 3.11 --------------------------------------------------------------------------
# 3.11.5 or newer: some pinned requirements (soupsieve 4) need it.
python_ok() {  # python_ok PROGRAM: is it a Python 3.11.5+ (and not 3.12) that runs?
    [ "$("$1" -c 'import sys; print((3, 11, 5) <= sys.version_info[:3] < (3, 12))' \
        2>/dev/null)" = True ]
}
PY=""
if [ -n "${AUTOGRADER_PYTHON:-}" ]; then
    python_ok "$AUTOGRADER_PYTHON" || fail \
        "AUTOGRADER_PYTHON=$AUTOGRADER_PYTHON is not a Python 3.11 (3.11.5 or newer) that runs" \
        "point AUTOGRADER_PYTHON at such a python3.11, or unset it to use the one on PATH"
    PY="$AUTOGRADER_PYTHON"
else
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
            PY="$(command -v "$candidate")"
            break
        fi
    done
fi
if [ -z "$PY" ]; then
    OS_ID="$( (. "${AUTOGRADER_OS_RELEASE:-/etc/os-release}" && echo "${ID:-}") 2>/dev/null \
        || true)"
    if [ "$OS_ID" != ubuntu ] || ! command -v apt-get >/dev/null 2>&1; then
        fail "no Python 3.11 (3.11.5 or newer) on PATH (tried python3.11 and python3)" \
            "install one (python.org, pyenv or your package manager) and run setup.sh again
    with it on PATH, or with AUTOGRADER_PYTHON=/path/to/python3.11"
    fi
    say "no Python 3.11.5+ here: installing python3.11 from the deadsnakes PPA"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || fail "apt-get update failed (its message is above)" \
        "check that this machine reaches the Ubuntu archive, then run setup.sh again"
    apt-get install -y -q software-properties-common || fail \
        "apt-get could not install software-properties-common (for add-apt-repository)" \
        "read apt-get's message above, fix it and run setup.sh again"
    add-apt-repository -y ppa:deadsnakes/ppa || fail \
        "add-apt-repository could not add ppa:deadsnakes/ppa" \
        "check that this machine reaches ppa.launchpadcontent.net, then run setup.sh again"
    apt-get update -q || fail "apt-get update failed after adding the deadsnakes PPA" \
        "read apt-get's message above, fix it and run setup.sh again"
    apt-get install -y -q python3.11 python3.11-venv || fail \
        "apt-get could not install python3.11 and python3.11-venv from the deadsnakes PPA" \
        "read apt-get's message above, fix it and run setup.sh again"
    PY="$(command -v python3.11 || true)"
    if [ -z "$PY" ] || ! python_ok "$PY"; then
        fail "the python3.11 that apt-get installed is missing or older than 3.11.5" \
            "install a Python 3.11.5+ by hand, then run setup.sh again with
    AUTOGRADER_PYTHON=/path/to/it"
    fi
fi
say "1/5 Python: $PY ($("$PY" -c 'import platform; print(platform.python_version())'))"

# --- 2. CIFAR-10 -----------------------------------------------------------------------------
complete() {
    local f
    for f in $CIFAR_FILES; do [ -s "$1/$f" ] || return 1; done
}
if [ -n "${CS231N_CIFAR10_DIR:-}" ]; then
    complete "$CS231N_CIFAR10_DIR" || fail "CS231N_CIFAR10_DIR=$CS231N_CIFAR10_DIR is not a
    complete cifar-10-batches-py folder (it needs $CIFAR_FILES)" "point CS231N_CIFAR10_DIR at
    the unpacked cifar-10-batches-py folder, or unset it to download CIFAR-10"
    if [ -d "$DATA" ] && [ ! -L "$DATA" ]; then
        fail "$DATA is already there, so CS231N_CIFAR10_DIR cannot be linked in its place" \
            "delete $DATA to use CS231N_CIFAR10_DIR, or unset CS231N_CIFAR10_DIR to keep it"
    fi
    # run_autograder looks in $DATA: Gradescope does not keep this script's environment.
    ln -sfn "$(cd "$CS231N_CIFAR10_DIR" && pwd)" "$DATA" || fail \
        "could not link $DATA to $CS231N_CIFAR10_DIR" \
        "check that $(dirname "$DATA") is writable, then run setup.sh again"
    say "2/5 CIFAR-10: $DATA links to $CS231N_CIFAR10_DIR (nothing downloaded)"
elif complete "$DATA"; then
    say "2/5 CIFAR-10: already complete in $DATA (nothing downloaded)"
else
    if [ -L "$DATA" ] && [ ! -e "$DATA" ]; then
        rm -f "$DATA"  # a link made by an earlier run, whose target is gone
    fi
    # get_datasets.sh leaves any existing folder alone, so it would never fix a partial copy.
    [ ! -e "$DATA" ] || fail "$DATA is there but incomplete (it needs $CIFAR_FILES)" \
        "delete $DATA and run setup.sh again to download CIFAR-10, or put a complete copy there"
    say "2/5 CIFAR-10: downloading into $DATA (about 170 MB)"
    bash "$COURSE/cs231n/datasets/get_datasets.sh" || fail \
        "cs231n/datasets/get_datasets.sh could not get CIFAR-10 (its message is above)" \
        "check that this machine reaches www.cs.toronto.edu, or put an unpacked
    cifar-10-batches-py in $DATA (or set CS231N_CIFAR10_DIR to one), then run setup.sh again"
    complete "$DATA" || fail "get_datasets.sh finished but $DATA is incomplete" \
        "delete $DATA and run setup.sh again"
fi

# --- 3. The virtualenv -----------------------------------------------------------------------
say "3/5 virtualenv: $VENV (the pinned requirements, then the course tooling)"
if ! python_ok "$VENV/bin/python"; then
    "$PY" -m venv --clear "$VENV" || fail "$PY -m venv could not create $VENV" \
        "install the venv module of that Python (Debian/Ubuntu: apt-get install
    python3.11-venv), then run setup.sh again"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    -r "$COURSE/requirements.txt" || fail "pip could not install the pinned requirements
    of $COURSE/requirements.txt (its message is above)" "check that this machine reaches
    PyPI (pypi.org), then run setup.sh again"
# Editable: coursekit finds the hidden checks and the master package next to itself in course/.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$COURSE" \
    || fail "pip could not install the course tooling from $COURSE (its message is above)" \
    "check that this machine reaches PyPI (pip fetches setuptools to build the tooling),
    then run setup.sh again"

# --- 4. The gradebook ------------------------------------------------------------------------
say "4/5 gradebook: recording the graded cells of the master notebooks, then the grading data"
(cd "$SRC" && CS231N_CIFAR10_DIR="$DATA" \
    "$VENV/bin/python" -m coursekit.autograde.gradescope prepare --root "$SRC") \
    || fail "coursekit gradescope prepare could not build the gradebook (its message is above)" \
    "rebuild the zip with 'make gradescope' in a checkout whose 'make test' passes, and
    upload it again"

# --- 5. Permissions: the secrets readable by root only (see the header) ----------------------
say "5/5 permissions: the autograder's secrets readable by root only"
WORK="$SRC/work"  # the output root of `coursekit gradescope run` (gradescope.course_of)
mkdir -p "$WORK/autograded/student" "$COURSE/.cache"
# Deny by default: all of the unpacked zip (chmod -R changes no symbolic link's target).
chmod -R go-rwx "$SRC"
[ ! -e "$ROOT/run_autograder" ] || chmod go-rwx "$ROOT/run_autograder"
# The way to what student code needs: crossable, not listable. The grader stages each
# submission in $WORK/autograded/.staging/<student>-*/ (made at each run); what it publishes
# in autograded/student/ (the graded notebooks, hidden tests put back) stays root's: a process
# of the student's that outlived its notebook cannot read it there.
chmod 0711 "$SRC" "$COURSE" "$COURSE/cs231n" "$(dirname "$DATA")" "$WORK" "$WORK/autograded"
# The notebooks' grading subset (step 4): the kernels read it; the models' inputs stay root's.
SUBSETS="$COURSE/.cache/grading-data/notebooks"
chmod 0711 "$COURSE/.cache"
if [ -d "$SUBSETS" ]; then
    chmod 0711 "$(dirname "$SUBSETS")"
    chmod -R a+rX,go-w "$SUBSETS"
fi
chmod go+x "$ROOT"
# Open to all, written by root only.
[ -L "$DATA" ] || chmod -R a+rX,go-w "$DATA"
chmod -R a+rX,go-w "$COURSE/coursekit" "$VENV"

warn() { echo "setup.sh: warning: $(printf '%s' "$1" | tr -s '\n ' '  ')" >&2; }
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null 2>&1; then
    warn "not checked as an unprivileged user (that needs root and setpriv): run_autograder
    runs as root on Gradescope"
else
    # A user id no file belongs to, as jail.py gives each submission (2,000,000 and up).
    PROBE_UID=$((2000000 + (RANDOM * 32768 + RANDOM) % 1000000000))
    # as_other COMMAND...: run it as that user, from /, in a bare environment. env, not
    # setpriv, starts COMMAND: setpriv still holds root's capabilities when it starts a
    # program (so it would find an interpreter in a folder closed to others, as jail.py's
    # fallback, which switches user before starting it, would not).
    as_other() {
        (cd / && setpriv --reuid="$PROBE_UID" --regid="$PROBE_UID" --clear-groups \
            env -i PATH=/usr/bin:/bin HOME=/ LANG=C.UTF-8 "$@")
    }
    for secret in "$COURSE/grading/hidden/references.json" "$COURSE/nbgrader_config.py" \
        "$COURSE/cs231n/layers.py" "$SRC/gradescope.json"; do
        if [ -e "$secret" ] && as_other cat "$secret" >/dev/null 2>&1; then
            fail "an unprivileged user can still read $secret after the chmods (the file
    system of $SRC ignores permissions?)" "unpack the zip on a file system that keeps Unix
    permissions, then run setup.sh again"
        fi
    done
    if as_other "$VENV/bin/python" -I -c "import numpy" >/dev/null 2>&1; then
        say "checked: an unprivileged user can start $VENV/bin/python but not read the secrets"
        as_other cat "$DATA/batches.meta" >/dev/null 2>&1 || fail "an unprivileged user cannot
    read $DATA/batches.meta: the notebooks would fail for every student" "make
    $(readlink -f "$DATA") and every folder on the way to it readable by all users (chmod
    a+rX), then run setup.sh again"
    else
        warn "an unprivileged user cannot start $VENV/bin/python (its interpreter
    $(readlink -f "$VENV/bin/python"), or a folder on the way to it or to $VENV, is not open
    to other users): where bubblewrap cannot run, student code will run as root with resource
    limits only and could read every file; install Python 3.11 where all users can read it
    (the deadsnakes one is), then run setup.sh again"
    fi
fi
say "done: run_autograder can grade submissions"
