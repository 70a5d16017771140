"""`coursekit grade-module PATH`: grade the cs231n package of one submission folder;
`coursekit references`: regenerate the hidden checks' reference values from the master."""
import argparse
import os
import sys


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "grade-module", help="Grade the cs231n package of one submission (hidden checks)",
        description="Run the hidden tests of grading/hidden/ (pytest, through pytest.main) on "
        "the cs231n/ package in PATH, in the sandbox, and grade its saved models when "
        "CIFAR-10 is available. Prints the summary by function; --out writes grade.json, "
        "summary.txt and Gradescope's results.json. The same tests run with plain pytest: "
        "pytest grading/hidden --submission PATH",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", help="a folder holding cs231n/ (or the cs231n folder itself)")
    parser.add_argument("--out", help="folder for grade.json, summary.txt and results.json")
    parser.add_argument("--json", action="store_true", help="print the JSON, not the summary")
    parser.add_argument("--cifar-dir", default=os.environ.get("CS231N_CIFAR10_DIR"),
                        help="CIFAR-10 folder for the saved models "
                        "(default: $CS231N_CIFAR10_DIR, else cs231n/datasets/cifar-10-batches-py)")
    parser.add_argument("--no-models", action="store_true", help="skip the saved models")
    parser.add_argument("--function", action="append", default=[], metavar="NAME",
                        help="only the checks of this student function (repeatable)")
    parser.add_argument("--timeout-scale", type=float, default=1.0,
                        help="multiply every check's time limit (slow machines)")
    parser.set_defaults(func=run)

    references = subparsers.add_parser(
        "references", help="Regenerate grading/hidden/references.json from the master package",
        description="Run the master package on the hidden checks' seeded inputs and write the "
        "values the checks compare against into grading/hidden/references.json (commit it).")
    references.set_defaults(func=run_references)


def run_references(args):
    from coursekit.grader.driver import write_references

    print(f"references: wrote {write_references()}")
    return 0


def run(args):
    # Imported here: pytest and numpy are this verb's, not every `coursekit` call's.
    from coursekit.grader.check_report import summary, to_json, write_reports
    from coursekit.grader.driver import grade_submission

    result = grade_submission(args.path, cifar_dir=args.cifar_dir, models=not args.no_models,
                              timeout_scale=args.timeout_scale, functions=args.function)
    if args.out:
        write_reports(result, args.out)
    sys.stdout.write(to_json(result) if args.json else summary(result))
    return 0
