"""`python -m triage ...` runs the CLI."""

import sys

from triage.cli import main

sys.exit(main())
