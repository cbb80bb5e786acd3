"""`python -m triage ...` runs the CLI."""

import sys

from triage.cli.commands import main

sys.exit(main())
