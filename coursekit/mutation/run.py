"""The whole mutation run of `make mutation`: copies, cosmic-ray sessions, scores and report.

1. Copies. The master package goes to SCRATCH/pristine (with the public check.py beside it), and
   to one SCRATCH/worker-N per worker. The repository's cs231n/ is only ever read: a run stopped
   at any point leaves a mutant at worst in a scratch copy, and the next run starts from new ones.
2. Per suite (hidden, public): `cosmic-ray init` makes a session of every mutation of the six
   modules, our filter (coursekit.mutation.filter) skips the work items outside the solution
   regions, the killer must pass the unmutated copy (baseline), and `cosmic-ray exec` sends the
   work items to one loopback HTTP worker per core (coursekit.mutation.worker), each mutating
   its own copy and running the killer (coursekit.mutation.killer) there.
3. Results. Per suite and per function: killed, survived, equivalent (listed with a reason in
   grading/mutation/equivalent.toml; the score leaves them out), errors, and the score
   killed / (killed + survived); the surviving mutants; the time per mutant. Printed, and written
   to grading/mutation/report.md; `--write-readme` puts the score table between the README's
   `<!-- mutation:begin -->` and `<!-- mutation:end -->` lines.

Exit status 1 when the baseline fails or a killer could not judge a mutant (an error is never
counted as a kill), else 0: the score is reported, not enforced.
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.mutation.killer import REPO_ROOT, SUITES, command_line, run_suite
from coursekit.mutation.regions import (
    MODULES,
    NUM_STUDENT_FUNCTIONS,
    mutated_lines,
    region_of,
    solution_regions,
    student_functions,
)
from coursekit.readme import replace_between

SCRATCH = REPO_ROOT / ".mutation"
HERE = Path("grading") / "mutation"
REPORT = HERE / "report.md"
EQUIVALENT = HERE / "equivalent.toml"
CHECK_PY = Path("release") / "assignment1" / "check.py"
README = Path("README.md")
MARKERS = ("<!-- mutation:begin -->", "<!-- mutation:end -->")
TARGET = 0.95  # of the non-equivalent mutants killed by the hidden suite (the target)
TIMEOUT = 180.0  # seconds per mutant and suite (a correct run takes a few); a timeout kills
SUITE_NAMES = ("hidden", "public")
RUN_STATE = "run.json"
SURVIVORS = "survivors.toml"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "datasets", "saved")


@dataclass
class Mutant:
    """One mutant of a solution region, and what each suite made of it."""

    file: str
    line: int
    function: str
    operator: str
    occurrence: int
    original: str = ""
    mutated: str = ""
    verdicts: dict = field(default_factory=dict)  # suite -> killed / survived / error
    details: dict = field(default_factory=dict)  # suite -> the killer's line
    equivalent: str = ""  # the reason, when listed as equivalent

    @property
    def key(self):
        return self.file, self.operator, self.occurrence

    def status(self, suite):
        if self.equivalent and "killed" not in self.verdicts.values():
            return "equivalent"
        return self.verdicts.get(suite, "error")


# ---------------------------------------------------------------------------------------------
# Running cosmic-ray.


def _cosmic_ray():
    return [str(Path(sys.executable).with_name("cosmic-ray"))]


def prepare(scratch, workers):
    """Fresh copies: scratch/pristine and scratch/worker-1..N, each cs231n/ and check.py."""
    if scratch.exists():
        shutil.rmtree(scratch)
    pristine = scratch / "pristine"
    shutil.copytree(REPO_ROOT / "cs231n", pristine / "cs231n", ignore=IGNORE)
    shutil.copy2(REPO_ROOT / CHECK_PY, pristine / "check.py")
    copies = [scratch / f"worker-{i}" for i in range(1, workers + 1)]
    for copy in copies:
        shutil.copytree(pristine, copy)
    return pristine, copies


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker_env():
    # The killer imports this repository's coursekit whatever the virtualenv points at; it
    # takes PYTHONPATH out again for the suites it runs.
    return dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONDONTWRITEBYTECODE="1")


def start_workers(copies):
    """One loopback HTTP worker per copy; returns (processes, urls) once all accept."""
    procs, urls = [], []
    for copy in copies:
        port = _free_port()
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "coursekit.mutation.worker", str(port)], cwd=copy,
            env=_worker_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            start_new_session=True))
        urls.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    for proc, url in zip(procs, urls, strict=True):
        port = int(url.rsplit(":", 1)[1])
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    stop_workers(procs)
                    raise SystemExit(f"mutation: the worker on {url} did not start") from None
                time.sleep(0.2)
    return procs, urls


def stop_workers(procs):
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def write_config(path, suite, pristine, urls, timeout):
    test_command = shlex.join([sys.executable, "-m", "coursekit.mutation.killer", suite,
                               "--pristine", str(pristine)])
    quote = json.dumps  # a JSON string is a TOML basic string
    path.write_text("\n".join([
        "# Written by coursekit.mutation.run for one run; see that module.",
        "[cosmic-ray]",
        f"module-path = [{', '.join(quote(m) for m in MODULES)}]",
        f"timeout = {timeout}",
        "excluded-modules = []",
        f"test-command = {quote(test_command)}",
        "",
        "[cosmic-ray.distributor]",
        'name = "http"',
        "",
        "[cosmic-ray.distributor.http]",
        f"worker-urls = [{', '.join(quote(u) for u in urls)}]",
        "",
    ]), encoding="utf-8")


def _run(args, cwd, what):
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"mutation: {what} failed ({proc.returncode}):\n"
                         f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return proc


def _count(session, sql):
    try:
        with sqlite3.connect(f"file:{session}?mode=ro", uri=True, timeout=5) as db:
            return db.execute(sql).fetchone()[0]
    except sqlite3.Error:
        return None


def execute(config, session, cwd, label):
    """`cosmic-ray exec`, with a progress line every 30 s; returns its wall time."""
    total = _count(session, "select count(*) from work_items")
    skipped = _count(session, "select count(*) from work_results") or 0
    todo = total - skipped
    start = time.monotonic()
    proc = subprocess.Popen(_cosmic_ray() + ["--verbosity", "ERROR", "exec", str(config),
                                             str(session)],
                            cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    while True:
        try:
            proc.wait(timeout=30)
            break
        except subprocess.TimeoutExpired:
            done = (_count(session, "select count(*) from work_results") or skipped) - skipped
            minutes = (time.monotonic() - start) / 60
            left = minutes * (todo - done) / done if done else float("nan")
            print(f"  {label}: {done}/{todo} mutants, {minutes:.1f} min, about {left:.0f} min "
                  "left", flush=True)
    output = proc.stdout.read()
    if proc.returncode != 0:
        raise SystemExit(f"mutation: cosmic-ray exec failed ({proc.returncode}):\n"
                         f"{output[-3000:]}")
    return time.monotonic() - start


def run_session(suite, scratch, pristine, urls, functions, timeout):
    """Init, filter, baseline and exec one suite's session; returns its timings."""
    config, session = scratch / f"{suite}.toml", scratch / f"{suite}.sqlite"
    write_config(config, suite, pristine, urls, timeout)
    _run(_cosmic_ray() + ["init", str(config), str(session)], pristine, "cosmic-ray init")
    _run([sys.executable, "-m", "coursekit.mutation.filter", str(session), "--root",
          str(pristine)] + [a for f in functions for a in ("--function", f)], pristine,
         "the solution-region filter")
    start = time.monotonic()
    verdict, detail = run_suite(suite, pristine)
    baseline = time.monotonic() - start
    if verdict != "survived":
        raise SystemExit(f"mutation: the {suite} suite does not pass the unmutated master "
                         f"({verdict}: {detail}); nothing to measure")
    print(f"  {suite}: baseline passes in {baseline:.1f} s ({detail})", flush=True)
    wall = execute(config, session, scratch, suite)
    return dict(baseline=baseline, wall=wall)


# ---------------------------------------------------------------------------------------------
# Reading the sessions.


def _line_of(diff, sign):
    for line in (diff or "").splitlines():
        if line.startswith(sign) and not line.startswith(sign * 3):
            return line[1:].strip()
    return ""


def _verdict(result):
    """(verdict, detail) of one cosmic-ray result."""
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    output = (result.output or "").strip()
    line = next((x for x in output.splitlines() if x.startswith("mutation-killer:")), "")
    if result.worker_outcome != WorkerOutcome.NORMAL:
        return "error", f"{result.worker_outcome.value}: {output[-300:]}"
    if result.test_outcome == TestOutcome.INCOMPETENT:
        return "error", f"incompetent: {output[-300:]}"
    if output == "timeout":
        return "killed", "timeout"
    words = line.split()
    verdict = words[2] if len(words) > 2 else "error"
    if verdict not in ("killed", "survived"):
        return "error", line or output[-300:]
    if (verdict == "killed") != (result.test_outcome == TestOutcome.KILLED):
        return "error", f"exit status and verdict disagree: {line}"
    return verdict, line


def read_sessions(sessions, pristine, regions):
    """{key: Mutant} of every work item that was not skipped, with each suite's verdict."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome

    sources = {m: (pristine / m).read_text(encoding="utf-8").splitlines() for m in MODULES}
    mutants = {}
    for suite, session in sessions.items():
        with use_db(str(session), WorkDB.Mode.open) as db:
            for item, result in db.completed_work_items:
                if result.worker_outcome == WorkerOutcome.SKIPPED:
                    continue
                m = item.mutations[0]
                file = Path(m.module_path).as_posix()
                first, last = mutated_lines(m.start_pos, m.end_pos)
                key = (file, m.operator_name, m.occurrence)
                if key not in mutants:
                    mutants[key] = Mutant(file, first, region_of(regions, file, first, last)
                                          .function, m.operator_name, m.occurrence,
                                          sources[file][first - 1].strip())
                mutant = mutants[key]
                mutant.mutated = mutant.mutated or _line_of(result.diff, "+")
                mutant.verdicts[suite], mutant.details[suite] = _verdict(result)
    return mutants


def load_equivalents(path):
    if not path.exists():
        return []
    with open(path, "rb") as f:
        return tomllib.load(f).get("mutant", [])


def apply_equivalents(mutants, entries):
    """Mark the listed mutants equivalent; returns the warnings (stale or killed entries)."""
    warnings = []
    for entry in entries:
        fields = ("file", "function", "operator", "original", "mutated")
        matches = [m for m in mutants.values()
                   if all(getattr(m, f) == entry.get(f) for f in fields)]
        if not matches:
            warnings.append(f"equivalent.toml: no mutant matches {entry.get('file')} "
                            f"{entry.get('operator')} `{entry.get('mutated')}` (stale entry?)")
        for m in matches:
            m.equivalent = entry.get("reason", "").strip() or "(no reason given)"
            killers = [s for s, v in m.verdicts.items() if v == "killed"]
            if killers:
                warnings.append(f"equivalent.toml: {m.file}:{m.line} {m.operator} "
                                f"`{m.mutated}` is killed by the {', '.join(killers)} suite: "
                                "not equivalent")
    return warnings


# ---------------------------------------------------------------------------------------------
# Scores and report.


def tally(mutants, suite):
    c = Counter(m.status(suite) for m in mutants)
    killed, survived = c["killed"], c["survived"]
    score = killed / (killed + survived) if killed + survived else float("nan")
    return dict(mutants=len(mutants), killed=killed, survived=survived,
                equivalent=c["equivalent"], errors=c["error"], score=score)


def _pct(score):
    return "n/a" if score != score else f"{100 * score:.1f} %"


def _code(text):
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def score_table(mutants, suites, timings, workers):
    rows = ["| suite | mutants | killed | survived | equivalent | errors | score | time per "
            "mutant | wall time |", "|---|---|---|---|---|---|---|---|---|"]
    for suite in suites:
        t = tally(mutants, suite)
        wall = timings[suite]["wall"]
        per = wall * workers / max(t["mutants"], 1)
        target = f" (target >= {TARGET:.0%})" if suite == "hidden" else ""
        rows.append(f"| {suite} | {t['mutants']} | {t['killed']} | {t['survived']} | "
                    f"{t['equivalent']} | {t['errors']} | {_pct(t['score'])}{target} | "
                    f"{per:.1f} s | {wall / 60:.1f} min |")
    return rows


def machine_line(workers):
    import numpy

    return (f"cosmic-ray {_version('cosmic-ray')} on {platform.machine()}, {os.cpu_count()} "
            f"cores ({workers} workers), Python {platform.python_version()}, numpy "
            f"{numpy.__version__}")


def _version(dist):
    from importlib.metadata import version

    return version(dist)


def function_table(mutants, suites, functions):
    head = "| function | mutants | equivalent | " + " | ".join(
        f"{s} killed | {s} survived | {s} score" for s in suites) + " |"
    rows = [head, "|" + "---|" * (3 + 3 * len(suites))]
    by_function = defaultdict(list)
    for m in mutants:
        by_function[m.function].append(m)
    for function in functions:
        ms = by_function.get(function, [])
        cells = [function, str(len(ms)), str(sum(m.status(suites[0]) == "equivalent"
                                                for m in ms))]
        for s in suites:
            t = tally(ms, s)
            cells += [str(t["killed"]), str(t["survived"]), _pct(t["score"])]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def mutant_rows(mutants, with_reason=False):
    head = "| where | function | operator | original | mutated |" + (
        " reason |" if with_reason else "")
    rows = [head, "|---|---|---|---|---|" + ("---|" if with_reason else "")]
    for m in mutants:
        row = (f"| {m.file}:{m.line} | {m.function} | {m.operator.removeprefix('core/')} | "
               f"{_code(m.original)} | {_code(m.mutated)} |")
        rows.append(row + (f" {m.equivalent} |" if with_reason else ""))
    return rows


def ordered(mutants):
    """The mutants in file order (MODULES), then line, operator and occurrence."""
    return sorted(mutants.values(), key=lambda m: (MODULES.index(m.file), m.line, m.operator,
                                                   m.occurrence))


def build_report(mutants, state, functions, skipped, warnings):
    suites, timings, workers = state["suites"], state["timings"], state["workers"]
    in_order = ordered(mutants)
    lines = [
        "# Mutation testing of the solution regions",
        "",
        f"Written by `make mutation` (coursekit/mutation) on {state['date']}: "
        f"{state['machine']}.",
        "",
        f"Mutated: the lines between `### BEGIN SOLUTION` and `### END SOLUTION` of the "
        f"{len(functions)} student functions of the master package, with every operator of "
        f"cosmic-ray's core set: {len(in_order)} mutants ({skipped} work items outside the "
        "regions skipped by coursekit/mutation/filter.py). A mutant is killed when its suite "
        "fails (a timeout of "
        f"{timings.get('timeout', TIMEOUT):g} s counts as a kill); equivalent mutants are listed "
        f"in `{EQUIVALENT.as_posix()}` with a reason and left out of the score "
        "(killed / (killed + survived)).",
        "",
        "Killers (coursekit/mutation/killer.py):",
        "",
    ]
    lines += [f"- {s}: `{state['commands'][s]}`" for s in suites]
    lines += ["", "## Scores", ""] + score_table(in_order, suites, timings, workers)
    load = timings.get("load")
    lines += ["", "Time per mutant: one worker's time for one mutant (wall time x workers / "
              "mutants); the baseline (unmutated master): " + ", ".join(
                  f"{s} {timings[s]['baseline']:.1f} s" for s in suites) + "." + (
                  f" Load average (1 min) at the start and the end: {load[0]:.1f}, "
                  f"{load[-1]:.1f}." if load else ""),
              "", "## By function", ""] + function_table(in_order, suites, functions)
    for s in suites:
        survivors = [m for m in in_order if m.status(s) == "survived"]
        lines += ["", f"## Surviving mutants: {s} ({len(survivors)})", ""]
        lines += mutant_rows(survivors) if survivors else ["None."]
    equivalents = [m for m in in_order if m.status(suites[0]) == "equivalent"]
    lines += ["", f"## Equivalent mutants ({len(equivalents)})", ""]
    lines += mutant_rows(equivalents, with_reason=True) if equivalents else ["None listed."]
    errors = [(s, m) for s in suites for m in in_order if m.status(s) == "error"]
    if errors or warnings:
        lines += ["", "## Errors and warnings", ""]
        lines += [f"- {s}: {m.file}:{m.line} {m.operator}: {m.details.get(s, '')}"
                  for s, m in errors]
        lines += [f"- {w}" for w in warnings]
    return "\n".join(lines) + "\n"


def readme_block(mutants, state):
    lines = [f"Measured with `make mutation` on {state['date']} ({state['machine']}): cosmic-ray "
             "mutates the solution regions of the 20 student functions; the hidden checks and "
             "the public `check.py --modules` are the killers. Survivors and equivalent "
             f"mutants: [{REPORT.as_posix()}]({REPORT.as_posix()}).", ""]
    return lines + score_table(list(mutants.values()), state["suites"], state["timings"],
                               state["workers"])


def survivor_entries(mutants, suite="hidden"):
    """[[mutant]] entries of equivalent.toml for the survivors of a suite, reason to be written:
    a mutant proven equivalent is copied from here, so its strings match exactly."""
    out = []
    for m in mutants:
        if m.status(suite) == "survived":
            fields = dict(file=m.file, function=m.function, operator=m.operator,
                          original=m.original, mutated=m.mutated, reason="TODO")
            out += ["[[mutant]]"] + [f"{k} = {json.dumps(v)}" for k, v in fields.items()] + [""]
    return "\n".join(out)


def write_readme(path, block):
    """Put the lines of block between the README's MARKERS; False when it has none."""
    try:
        replace_between(path, *MARKERS, "\n".join(block))
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------------


def run(args, scratch):
    """Copies, workers and one session per suite; returns what the report needs (also saved
    as scratch/run.json for --report-only)."""
    suites = [s for s in SUITE_NAMES if s in (args.suite or SUITE_NAMES)]
    pristine, copies = prepare(scratch, args.workers)
    functions = student_functions(solution_regions(pristine))
    if len(functions) != NUM_STUDENT_FUNCTIONS:
        raise SystemExit(f"mutation: {len(functions)} functions hold a solution region, "
                         f"expected {NUM_STUDENT_FUNCTIONS}: {functions}")
    print(f"mutation: cosmic-ray on the solution regions of {len(functions)} functions, "
          f"{args.workers} workers, scratch {scratch}", flush=True)
    procs, urls = start_workers(copies)
    timings = {"timeout": args.timeout, "load": [os.getloadavg()[0]]}
    try:
        for suite in suites:
            timings[suite] = run_session(suite, scratch, pristine, urls, args.function,
                                         args.timeout)
    finally:
        stop_workers(procs)
    timings["load"].append(os.getloadavg()[0])
    commands = {s: shlex.join(command_line(SUITES[s], "FOLDER", "FUNCTION", "RESULTS.json"))
                .replace(sys.executable, "python") for s in suites}
    state = dict(suites=suites, functions=args.function, workers=args.workers, timings=timings,
                 commands=commands, date=datetime.date.today().isoformat(),
                 machine=machine_line(args.workers))
    (scratch / RUN_STATE).write_text(json.dumps(state, indent=1), encoding="utf-8")
    return state


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="append", choices=SUITE_NAMES,
                        help="run this suite only (repeatable; default: both)")
    parser.add_argument("--function", action="append", default=[],
                        help="mutate this student function only (repeatable; a partial run "
                             "prints its results and writes no report)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help=f"seconds per mutant and suite (default {TIMEOUT:g})")
    parser.add_argument("--scratch", type=Path, default=SCRATCH,
                        help="folder for the copies and sessions (replaced; default .mutation/)")
    parser.add_argument("--write-readme", action="store_true",
                        help="also put the score table into README.md between "
                             f"{MARKERS[0]} and {MARKERS[1]}")
    parser.add_argument("--report", type=Path, default=REPORT,
                        help=f"where a full run writes its report (default {REPORT.as_posix()})")
    parser.add_argument("--report-only", action="store_true",
                        help="run nothing: score the sessions of the last run again (after "
                             "editing equivalent.toml)")
    args = parser.parse_args(argv)
    scratch = args.scratch.resolve()
    pristine = scratch / "pristine"
    if args.report_only:
        try:
            state = json.loads((scratch / RUN_STATE).read_text(encoding="utf-8"))
        except OSError:
            raise SystemExit(f"mutation: no finished run in {scratch}") from None
    else:
        state = run(args, scratch)
    suites = state["suites"]
    sessions = {s: scratch / f"{s}.sqlite" for s in suites}
    regions = solution_regions(pristine)
    functions = [f for f in student_functions(regions)
                 if not state["functions"] or f in state["functions"]]
    full = not state["functions"] and len(suites) == len(SUITE_NAMES)

    mutants = read_sessions(sessions, pristine, regions)
    total = _count(next(iter(sessions.values())), "select count(*) from work_items")
    warnings = apply_equivalents(mutants, load_equivalents(REPO_ROOT / EQUIVALENT))
    report = build_report(mutants, state, functions, total - len(mutants), warnings)
    print()
    print(report)
    if "hidden" in suites:
        (scratch / SURVIVORS).write_text(survivor_entries(ordered(mutants)), encoding="utf-8")
        print(f"mutation: the hidden suite's survivors as equivalent.toml entries: "
              f"{scratch / SURVIVORS}")
    if full:
        (REPO_ROOT / args.report).write_text(report, encoding="utf-8")
        print(f"mutation: wrote {args.report}")
        block = readme_block(mutants, state)
        if args.write_readme:
            done = write_readme(REPO_ROOT / README, block)
            print("mutation: README.md updated" if done else
                  f"mutation: README.md has no {MARKERS[0]} ... {MARKERS[1]} block; not updated")
        else:
            print(f"\nmutation: for README.md, between {MARKERS[0]} and {MARKERS[1]} "
                  "(or run with --write-readme):\n")
            print("\n".join(block))
    else:
        print("mutation: partial run (--suite/--function): no report written")
    errors = sum(m.status(s) == "error" for m in mutants.values() for s in suites)
    if errors:
        print(f"mutation: {errors} results are errors (the killer could not judge): see above",
              file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
