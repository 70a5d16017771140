"""Verbs for the master notebooks: `validate`, `notebooks-full` and `answers`."""
import os
import sys
import time

from coursekit.notebooks import answers, run

README_NOTE = (
    "Written by `make notebooks-full`: the master notebooks executed in normal mode on the "
    "full CIFAR-10 (the JPEG-decoded copy of `make cifar10`), on 2 CPU cores. "
    "Targets are the official assignment's. This copy scores within about 0.01 of the "
    "official data; kNN has nothing to tune but k, and here no k of k_choices "
    "reaches 0.28 on the 500 test images (0.22-0.278; the official data gives 0.282 "
    "with k = 10), so its row can only be met on the official archive.")


def _names(args):
    unknown = sorted(set(args.notebooks) - set(run.NOTEBOOKS))
    if unknown:
        sys.exit(f"coursekit: unknown notebooks {unknown}; choose from {run.NOTEBOOKS}")
    return args.notebooks or run.NOTEBOOKS


def cmd_validate(args):
    runs = run.validate_notebooks(_names(args), source_dir=args.source, data_dir=args.data)
    failed = [r.notebook for r in runs if not r.ok]
    if failed:
        print(f"validate: FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"validate: all {len(runs)} notebooks pass their test cells in grading mode")
    return 0


def cmd_full(args):
    every = set(_names(args)) == set(run.NOTEBOOKS)
    digest = run.inputs_digest(args.source)
    if args.unless_measured and every:
        recorded = run.recorded_digest()
        if recorded == digest:
            print(f"notebooks-full: README.md's results table was measured on these very inputs "
                  f"(digest {digest}: the master notebooks, cs231n/, requirements.txt, the "
                  "runner) with every test cell passing; not run again (`make notebooks-full` "
                  "runs them).")
            return 0
        print(f"notebooks-full: the inputs changed since README.md's results table (digest "
              f"{digest}, the table's {recorded or 'none'}): running the notebooks.")
    try:
        runs = run.run_full(_names(args), source_dir=args.source, data_dir=args.data,
                            save_to=args.save_to)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 2
    table = run.results_table(runs)
    print(table)
    ok = all(r.ok for r in runs)
    if args.readme and every:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        # A run with a failed test cell records no digest: nothing may skip the next run.
        measured = run.MEASURED_LINE.format(when=when, machine=run.machine_description(),
                                            digest=digest) if ok else \
            f"Measured on {when} on {run.machine_description()}; test cells FAILED."
        run.write_readme_table(table, note=README_NOTE + "\n\n" + measured)
        print(f"notebooks-full: results table written into {run.README}")
    return 0 if ok else 1


def cmd_answers(args):
    if args.key:
        for grade_id, value in answers.answer_key(args.source).items():
            print(f"{grade_id}: {_show(value)}")
        return 0
    for path in args.paths:
        for grade_id, answer in answers.read_answers(path).items():
            shown = _show(answer.value) if answer.answered else f"no answer {answer.problem or ''}"
            print(f"{os.path.basename(path)} {grade_id}: {shown}")
    return 0


def _show(value):
    return ", ".join(map(str, sorted(value))) if isinstance(value, frozenset) else str(value)


def add_parser(subparsers):
    p = subparsers.add_parser(
        "validate", help="run the master notebooks through nbgrader's validator in grading mode",
        description="Execute every master notebook with nbgrader's Validator (grading mode: "
                    "small data, short searches) and exit 1 if any test cell fails. Uses a "
                    "synthetic CIFAR-10 unless --data or CS231N_CIFAR10_DIR is given.")
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                   help="e.g. knn softmax (default: all)")
    p.add_argument("--data", help="cifar-10-batches-py folder (default: $CS231N_CIFAR10_DIR or "
                                  "a synthetic one)")
    p.add_argument("--source", default=run.SOURCE_DIR, help="folder of the master notebooks")
    p.set_defaults(func=cmd_validate)

    p = subparsers.add_parser(
        "notebooks-full", help="run the master notebooks on the full CIFAR-10; README table",
        description="Execute the master notebooks in normal mode on the full CIFAR-10 "
                    "(--data or CS231N_CIFAR10_DIR), print the accuracies beside the targets and "
                    "the CPU time of each notebook, and write that table into README.md. The "
                    "notebooks save their models in cs231n/saved/.")
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="e.g. knn (default: all)")
    p.add_argument("--data", help="cifar-10-batches-py folder (default: $CS231N_CIFAR10_DIR)")
    p.add_argument("--source", default=run.SOURCE_DIR, help="folder of the master notebooks")
    p.add_argument("--save-to", default=os.path.join(run.REPO_ROOT, ".cache", "notebooks-full"),
                   help="folder for the executed notebooks (default: .cache/notebooks-full)")
    p.add_argument("--no-readme", dest="readme", action="store_false",
                   help="do not rewrite the README table")
    p.add_argument("--unless-measured", action="store_true",
                   help="do nothing when README.md's table was measured on these very inputs "
                        "(its digest of the master notebooks, cs231n/, requirements.txt and the "
                        "runner) with every test cell passing: what CI runs")
    p.set_defaults(func=cmd_full)

    p = subparsers.add_parser(
        "answers", help="read the fixed answer lines of inline questions",
        description="Print the normalised answers of the select-all and true/false inline "
                    "questions found in notebooks (a student's or the master), or with --key "
                    "the answer key read from the master notebooks.")
    p.add_argument("paths", nargs="*", metavar="NOTEBOOK.ipynb")
    p.add_argument("--key", action="store_true", help="print the answer key of the masters")
    p.add_argument("--source", default=run.SOURCE_DIR, help="folder of the master notebooks")
    p.set_defaults(func=cmd_answers)
