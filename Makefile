# CS231n Assignment 1 course repository. `make help` lists the targets.
# Every target that runs Python creates the virtualenv (.venv, pinned requirements) on first use.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# cosmic-ray (make mutation; tests/mutation needs it too), pinned in requirements-mutation.txt.
MUTATION_STAMP := $(VENV)/.mutation-installed
# dask.distributed (coursekit autograde --scheduler, make test-dask), pinned in requirements-dask.txt.
DASK_STAMP := $(VENV)/.dask-installed
# Where the real CIFAR-10 is built for the real-data suites (outside the repository, never committed).
SHARED ?= ../shared
CIFAR_CACHE ?= $(HOME)/.cache/cs231n-a1
CIFAR_DIR := $(CIFAR_CACHE)/cifar-10-batches-py
PYTEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help venv test test-realdata lint bench bench-deps release cifar10 leakcheck test-release \
	autograde autograde-one grades similarity gradescope test-autograde references grade-module \
	test-mutants validate notebooks-full notebooks-full-if-changed test-notebooks test-postgres \
	dask-deps test-dask

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11 ...'" >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

venv: $(STAMP) ## Create the virtualenv with the pinned requirements

test: $(STAMP) $(MUTATION_STAMP) ## Run the fast test suite (no real data needed; about a few minutes)
	$(PY) -m pytest -m "not realdata and not slow and not postgres and not dask" -n $(PYTEST_WORKERS) -q

# For the repository's own test suites (a developer's checkout next to ../shared); graders get
# CIFAR-10 with cs231n/datasets/get_datasets.sh (make autograde says how).
cifar10: $(CIFAR_DIR)/test_batch ## Developers: build the real CIFAR-10 from ../shared for the real-data test suites

$(CIFAR_DIR)/test_batch: | $(STAMP)
	@test -f $(SHARED)/data/cifar10/build_cifar10.py || { echo "error: make cifar10 builds CIFAR-10 from $(SHARED)/data/cifar10/build_cifar10.py, which is not there; download CIFAR-10 with 'bash cs231n/datasets/get_datasets.sh' instead and set CS231N_CIFAR10_DIR to its cifar-10-batches-py folder (SHARED=dir names another checkout)" >&2; exit 1; }
	mkdir -p $(CIFAR_CACHE)
	$(PY) $(SHARED)/data/cifar10/build_cifar10.py $(CIFAR_CACHE)

test-realdata: $(CIFAR_DIR)/test_batch ## Run the tests that need the real CIFAR-10
	CS231N_CIFAR10_DIR=$(CIFAR_DIR) $(PY) -m pytest -m realdata -q

lint: $(STAMP) ## Lint the code with ruff and the GitHub workflows with actionlint
	$(VENV)/bin/ruff check cs231n coursekit tests grading
	$(VENV)/bin/actionlint .github/workflows/*.yml

bench: $(STAMP) ## Print the speed benchmarks (ratios measured side by side); BENCH_ARGS=--write-readme updates the README
	$(PY) -m coursekit.bench $(BENCH_ARGS)

bench-deps: $(STAMP) ## Install the benchmark's optional yardstick (PyTorch, CPU build)
	$(PY) -m pip install --quiet -r requirements-bench.txt

release: $(STAMP) ## Build the student release into release/assignment1 (runs the leak check)
	$(VENV)/bin/coursekit release

leakcheck: $(STAMP) ## Check that release/ holds no solution, hidden test, answer key or grader file
	$(VENV)/bin/coursekit leakcheck

# --dist loadfile: a file's module fixtures (the wheel's virtualenv, the sixth notebook's course,
# check.py on the untouched release) are built once, on the worker that runs the whole file.
# Not loadgroup: pytest-xdist 3.8 names groups by rewriting item._nodeid, which pytest 9 no longer
# reads, so xdist_group marks are ignored and each worker built those fixtures again.
test-release: $(STAMP) ## Run the slow release suites (release notebooks, check.py, a sixth notebook, the wheel)
	$(PY) -m pytest tests/release -m slow -q -n $(PYTEST_WORKERS) --dist loadfile

# The master notebooks (source/assignment1): grading-mode validation and the full real-data run.
validate: $(STAMP) ## Run the master notebooks through nbgrader's validator in grading mode (synthetic data unless CS231N_CIFAR10_DIR; ~2 min)
	$(VENV)/bin/coursekit validate

# Uses CS231N_CIFAR10_DIR when set, else builds the cache (make cifar10) first.
notebooks-full: $(STAMP) $(if $(CS231N_CIFAR10_DIR),,$(CIFAR_DIR)/test_batch) ## Run the master notebooks on the full CIFAR-10; writes the README results table and cs231n/saved/ (~10-15 min)
	CS231N_CIFAR10_DIR=$${CS231N_CIFAR10_DIR:-$(CIFAR_DIR)} $(VENV)/bin/coursekit notebooks-full

# CI's: the same run, skipped while README.md's table was measured on these very inputs (its
# digest of the master notebooks, cs231n/, requirements.txt and the runner).
notebooks-full-if-changed: $(STAMP) $(if $(CS231N_CIFAR10_DIR),,$(CIFAR_DIR)/test_batch) ## notebooks-full unless README's table was measured on these inputs (what CI runs)
	CS231N_CIFAR10_DIR=$${CS231N_CIFAR10_DIR:-$(CIFAR_DIR)} $(VENV)/bin/coursekit notebooks-full --unless-measured

test-notebooks: $(STAMP) ## Run the slow notebook suites (every master in grading mode, cleared solutions fail)
	$(PY) -m pytest tests/notebooks -m slow -q -n $(PYTEST_WORKERS)

# Grading (coursekit autograde). `make autograde -j 2` grades two students at a time (or JOBS=2).
# The notebooks (grading mode) and the saved models read CIFAR-10 from $CS231N_CIFAR10_DIR, else
# from cs231n/datasets/cifar-10-batches-py (bash cs231n/datasets/get_datasets.sh downloads it
# there); coursekit itself checks it and says what to do when it is missing. GRADING_DATA=dir is
# an alias of CS231N_CIFAR10_DIR=dir.
# SUBMITTED (default submitted/) and OUTPUT_ROOT (where autograded/ and feedback/ go; default
# the repository) point a run at other folders.
JOBS ?= $(or $(patsubst -j%,%,$(filter -j%,$(MAKEFLAGS))),1)
GRADING_ENV = $(if $(GRADING_DATA),CS231N_CIFAR10_DIR="$(GRADING_DATA)")
GRADING_OUT = $(if $(OUTPUT_ROOT),--output-root "$(OUTPUT_ROOT)")
# One run per output root at a time: a second one waits for the first; NO_WAIT=1 refuses instead.
GRADING_WAIT = $(if $(NO_WAIT),--no-wait)
# Wall-clock limits: CELL_SECONDS per cell (default: nbgrader_config.py's c.Execute.timeout),
# NOTEBOOK_SECONDS per notebook, SUBMISSION_SECONDS for a whole submission. MODULES_AFTER=1 runs
# each student's module checks after their notebooks instead of beside them (less memory at once).
# SCHEDULER=tcp://HOST:PORT grades on a Dask cluster instead of the local pool (make dask-deps
# first; docs/grading.md, "Grading on a Dask cluster").
GRADING_SCHEDULER = $(if $(SCHEDULER),--scheduler "$(SCHEDULER)")
GRADING_LIMITS = $(if $(CELL_SECONDS),--cell-seconds $(CELL_SECONDS)) $(if $(NOTEBOOK_SECONDS),--notebook-seconds $(NOTEBOOK_SECONDS)) $(if $(SUBMISSION_SECONDS),--submission-seconds $(SUBMISSION_SECONDS)) $(if $(MODULES_AFTER),--modules-after-notebooks)

autograde: $(STAMP) $(if $(SCHEDULER),$(DASK_STAMP)) ## Grade every submission of submitted/ (make autograde -j 2; FORCE=1 regrades; SCHEDULER=tcp://HOST:PORT on a Dask cluster; CS231N_CIFAR10_DIR=dir SUBMITTED=dir OUTPUT_ROOT=dir)
	$(GRADING_ENV) $(VENV)/bin/coursekit autograde --all -j $(JOBS) $(if $(FORCE),--force) $(if $(SUBMITTED),--submitted "$(SUBMITTED)") $(GRADING_OUT) $(GRADING_WAIT) $(GRADING_LIMITS) $(GRADING_SCHEDULER)

autograde-one: $(STAMP) ## Grade one submission: make autograde-one SUBMISSION=path [STUDENT=id] [OUTPUT_ROOT=dir] [CS231N_CIFAR10_DIR=dir]
	@test -n "$(SUBMISSION)" || { echo "error: name the folder: make autograde-one SUBMISSION=submitted/<student>/assignment1" >&2; exit 1; }
	$(GRADING_ENV) $(VENV)/bin/coursekit autograde "$(SUBMISSION)" $(if $(STUDENT),--student="$(STUDENT)") --force $(GRADING_OUT) $(GRADING_WAIT) $(GRADING_LIMITS)

grades: $(STAMP) ## After manual grading in formgrader: refresh grades.csv, the summary and the feedback (OUTPUT_ROOT=dir)
	$(VENV)/bin/coursekit autograde --export --feedback $(GRADING_OUT) $(GRADING_WAIT)

# Instructors only: autograded/similarity/index.html (docs/similarity.md). THRESHOLD overrides
# course.toml's [similarity] threshold; known solutions go in similarity/reference/<name>/.
similarity: $(STAMP) ## Compare the submissions' code with each other and with similarity/reference/ (THRESHOLD=0.6 SUBMITTED=dir OUTPUT_ROOT=dir)
	$(VENV)/bin/coursekit similarity -j $(if $(filter-out 1,$(JOBS)),$(JOBS),2) $(if $(THRESHOLD),--threshold $(THRESHOLD)) $(if $(SUBMITTED),--submitted "$(SUBMITTED)") $(GRADING_OUT)

gradescope: $(STAMP) ## Build the Gradescope autograder zip (dist/gradescope-autograder.zip)
	$(VENV)/bin/coursekit gradescope build --out dist/gradescope-autograder.zip

test-autograde: $(STAMP) ## Run the slow grading suites (robustness corpus, batch, Gradescope run, feedback pages in Chromium)
	$(PY) -m pytest tests/autograde -m slow -q -n $(PYTEST_WORKERS) --dist loadfile

# Starts its own throw-away PostgreSQL server (initdb, pg_ctl: apt-get install postgresql).
test-postgres: $(STAMP) ## Grade a class in parallel into a PostgreSQL gradebook (needs the PostgreSQL server programs)
	$(PY) -m pytest tests/autograde -m postgres -q

# Grading on a Dask cluster (coursekit/autograde/cluster.py): dask.distributed, pinned in
# requirements-dask.txt, is installed into the virtualenv by dask-deps (the course works without it).
$(DASK_STAMP): requirements-dask.txt | $(STAMP)
	$(PY) -m pip install --quiet -r requirements-dask.txt
	touch $@

dask-deps: $(DASK_STAMP) ## Install dask.distributed (make autograde SCHEDULER=tcp://HOST:PORT; every worker machine needs it too)

# Starts its own scheduler and two workers (dask scheduler, dask worker) on this machine.
test-dask: $(DASK_STAMP) ## Grade a class on a local Dask cluster (a scheduler, two workers; a worker killed mid-batch) against a serial run (~5 min)
	$(PY) -m pytest tests/autograde -m dask -q

# Hidden module grading (coursekit.grader): reference values, one submission, slow corpora.
references: $(STAMP) ## Regenerate grading/hidden/references.json from the master package (seeded)
	$(VENV)/bin/coursekit references

grade-module: $(STAMP) ## Grade one submission's cs231n package: make grade-module SUBMISSION=path [OUT=dir]
	@test -n "$(SUBMISSION)" || { echo "error: name the folder holding cs231n/: make grade-module SUBMISSION=path" >&2; exit 1; }
	$(VENV)/bin/coursekit grade-module "$(SUBMISSION)" $(if $(OUT),--out $(OUT))

test-mutants: $(STAMP) ## Run the grader's slow corpora (mutants of the master, hostile submissions)
	$(PY) -m pytest tests/grader -m slow -q -n $(PYTEST_WORKERS)

# Mutation testing (coursekit.mutation): cosmic-ray, pinned in requirements-mutation.txt, is
# installed into the virtualenv on first use. Mutates copies under .mutation/, never cs231n/.
# MUTATION_ARGS: --function NAME (a quick partial run), --report-only (rescore the last run after
# editing grading/mutation/equivalent.toml), --write-readme (the README's mutation block).
.PHONY: mutation

$(MUTATION_STAMP): requirements-mutation.txt | $(STAMP)
	$(PY) -m pip install --quiet -r requirements-mutation.txt
	touch $@

mutation: $(MUTATION_STAMP) ## Mutation testing of the 20 solution regions (cosmic-ray): hidden and public scores, grading/mutation/report.md
	$(PY) -m coursekit.mutation $(MUTATION_ARGS)
