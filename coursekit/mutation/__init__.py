"""`make mutation`: mutation testing of the master package's solution regions with cosmic-ray.

cosmic-ray (pinned in requirements-mutation.txt) mutates the code between `### BEGIN SOLUTION`
and `### END SOLUTION` of the 20 student functions, in scratch copies of the master package
(never the repository's own `cs231n/`), and runs two killers on every mutant: the hidden checks
and the students' public `check.py --modules`. The mutation score says how many wrong solutions
each suite catches; the survivors of the hidden suite are the bugs a student could hand in
for full marks.

- `regions`: where the solution regions are, and which student function a line is in;
- `filter`: the cosmic-ray filter that skips every work item outside the regions;
- `killer`: the test command cosmic-ray runs (the suites' commands are defined there, once);
- `worker`: cosmic-ray's HTTP worker bound to the loopback address (two run side by side);
- `run`: the whole run (`python -m coursekit.mutation`): copies, sessions, scores, report.
"""
