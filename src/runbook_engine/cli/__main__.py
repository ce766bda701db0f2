"""`python -m runbook_engine.cli` is the `runbook` command."""
import sys

from runbook_engine.cli import main

sys.exit(main())
