"""`python -m runbook_engine` is the `runbook` command (as `python -m runbook_engine.cli`)."""
import sys

from runbook_engine.cli import main

sys.exit(main())
