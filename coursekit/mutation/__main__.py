"""`python -m coursekit.mutation`: the run of `make mutation` (see coursekit.mutation.run)."""
import sys

from coursekit.mutation.run import main

sys.exit(main())
