"""cosmic-ray filter: skip every work item whose mutation lies outside a solution region.

cosmic-ray's `init` makes a work item for every mutation of every module it is given; its
documented way to narrow that down is a filter, a program that marks work items "skipped" in the
session database before `exec` (like its own `cr-filter-pragma` and `cr-filter-operators`, built
on `cosmic_ray.tools.filters.filter_app.FilterApp`). This one keeps a work item only when every
line it mutates lies strictly between the `### BEGIN SOLUTION` and `### END SOLUTION` lines of one
of the student functions (coursekit.mutation.regions); everything else (given code, docstrings,
the delimiter lines themselves, other modules) is skipped.

    python -m coursekit.mutation.filter SESSION.sqlite --root FOLDER [--function NAME ...]

FOLDER holds the copy of cs231n/ the session was made from (its module paths are relative to it).
`--function` keeps the regions of the functions named only (a quick run after a new check).
"""
import logging
import sys

from coursekit.mutation.regions import (
    mutated_lines,
    region_of,
    relative_file,
    solution_regions,
)

log = logging.getLogger(__name__)
SKIP_OUTPUT = "Filtered: outside the solution regions"


def only_functions(regions, functions):
    """The regions of the named functions only (all of them when none is named)."""
    if not functions:
        return regions
    unknown = set(functions) - {r.function for rs in regions.values() for r in rs}
    if unknown:
        raise SystemExit(f"no solution region in: {', '.join(sorted(unknown))}")
    return {f: [r for r in rs if r.function in functions] for f, rs in regions.items()}


def outside_regions(work_items, regions, root="."):
    """Job ids of the work items that mutate anything outside the solution regions."""
    skipped = []
    for item in work_items:
        for mutation in item.mutations:
            file = relative_file(mutation.module_path, root)
            first, last = mutated_lines(mutation.start_pos, mutation.end_pos)
            if region_of(regions, file, first, last) is None:
                log.info("skipping %s %s %s:%s", item.job_id, mutation.operator_name, file, first)
                skipped.append(item.job_id)
                break
    return skipped


def _filter_app():
    from cosmic_ray.tools.filters.filter_app import FilterApp
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    class SolutionRegionFilter(FilterApp):
        def description(self):
            return __doc__.splitlines()[0]

        def add_args(self, parser):
            parser.add_argument("--root", default=".",
                                help="folder holding the copy of cs231n/ (default: here)")
            parser.add_argument("--function", action="append", default=[],
                                help="keep only this student function's regions (repeatable)")

        def filter(self, work_db, args):
            regions = only_functions(solution_regions(args.root), args.function)
            skipped = outside_regions(list(work_db.pending_work_items), regions, args.root)
            if skipped:
                work_db.set_multiple_results(skipped, WorkResult(
                    output=SKIP_OUTPUT, worker_outcome=WorkerOutcome.SKIPPED))

    return SolutionRegionFilter()


def main(argv=None):
    return int(_filter_app().main(argv))


if __name__ == "__main__":
    sys.exit(main())
