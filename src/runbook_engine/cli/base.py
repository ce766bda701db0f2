"""What every command shares: the project, exit codes and how bad input is reported."""
from __future__ import annotations

import sys
from pathlib import Path

from runbook_engine.model.errors import KbError, KbInvalid
from runbook_engine.model.project import Project

EXIT_OK, EXIT_DRIFT, EXIT_INPUT, EXIT_WAITING = 0, 1, 2, 3


def project_of(args) -> Project:
    return Project.find(getattr(args, "root", None))


def fail_input(errors: list) -> int:
    """Print each error on one line of stderr; exit code 2."""
    for e in errors:
        print(str(e), file=sys.stderr)
    return EXIT_INPUT


#: command-line arguments checked before a command runs: attribute -> (value rule, option name)
ARGUMENTS: dict[str, tuple[str, str]] = {
    "guide": ("id", "GUIDE"),
    "node": ("node-name", "--node"),
    "step": ("id", "--step"),
    "confirm": ("id", "--confirm"),
    "run_id": ("run-id", "RUN_ID"),
    "to_before": ("run-id", "--to-before"),
    "active": ("node-name", "--active"),
}


def argument_errors(args) -> list[str]:
    """One line per command-line value that breaks its rule (model.rules): a guide, node, step or
    run id that could carry a path (``..``, ``/``) or a metacharacter into a file name or a
    command never reaches one. Files given as arguments must be regular files."""
    from runbook_engine.model.rules import PATTERNS, fits

    errs = []
    for attr, (kind, name) in ARGUMENTS.items():
        value = getattr(args, attr, None)
        for v in value if isinstance(value, list) else [value]:
            if v is not None and not fits(kind, v):
                errs.append(f"error: {name} {v!r}: not a valid {kind.replace('-', ' ')} "
                            f"(it must match {PATTERNS[kind].pattern})")
    for attr, name in (("answers", "--answers"),):
        value = getattr(args, attr, None)
        if value is not None and not Path(value).is_file():
            errs.append(f"error: {name} {value}: no such file")
    return errs


def check_project(project: Project) -> list[KbError]:
    """Everything `runbook check` validates: the knowledge base, the engine actions its steps name,
    then each guide's scripts (lint)."""
    from runbook_engine.engine.actions import unknown_actions
    from runbook_engine.publish.checks import lint_guides

    try:
        kb = project.knowledge
    except KbInvalid as exc:
        return exc.errors
    return unknown_actions(project.kb, kb) + lint_guides(project, kb)
