"""What every command shares: the project, exit codes and how bad input is reported."""
from __future__ import annotations

import sys

from runbook_engine.model.errors import KbError, KbInvalid, one_line
from runbook_engine.model.project import Project

EXIT_OK, EXIT_DRIFT, EXIT_INPUT, EXIT_WAITING = 0, 1, 2, 3


def project_of(args) -> Project:
    return Project.find(getattr(args, "root", None))


def fail_input(errors: list) -> int:
    """Print each error on one line of stderr (plain characters: no line break, no colour code);
    exit code 2."""
    for e in errors:
        print(one_line(str(e)), file=sys.stderr)
    return EXIT_INPUT


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
