"""What every command shares: the project, exit codes, the operator's language and how bad input
is reported."""
from __future__ import annotations

import sys

from runbook_engine.cli.arguments import default_lang
from runbook_engine.engine.messages import Messages, Said
from runbook_engine.model.errors import KbError, KbInvalid, one_line
from runbook_engine.model.project import Project

EXIT_OK, EXIT_DRIFT, EXIT_INPUT, EXIT_WAITING = 0, 1, 2, 3


def project_of(args) -> Project:
    return Project.find(getattr(args, "root", None))


def messages_for(project: Project, lang: str | None) -> Messages:
    """The command's texts in *lang* (``--lang``; default: the locale's)."""
    return Messages(project.knowledge, lang or default_lang())


def messages_of(args) -> Messages | None:
    """The texts of the command *args* asked for, or None when kb/ does not load (its errors are
    then what is reported)."""
    try:
        return messages_for(project_of(args), getattr(args, "lang", None))
    except (KbInvalid, OSError, ValueError):
        return None


def error(text: Said | str) -> Said:
    """The line of an error: ``error: …`` in the operator's language."""
    return Said.of("error-line", text=text)


def worded(say: Messages | None, item) -> str:
    """*item* for a person's terminal: a Said in *say*'s language (a command in an error keeps
    its backticks, as a shell user reads it), anything else (a located KbError, a system's
    message) as it is."""
    if not isinstance(item, Said):
        return str(item)
    if say is None:  # kb/ does not load: the label's id and its fields, still one line
        return item.id + " " + ", ".join(f"{k}={worded(None, v)}" for k, v in item.fields.items())
    return say.text(item)


def fail_input(errors: list, say: Messages | None = None) -> int:
    """Print each error on one line of stderr (plain characters: no line break, no colour code);
    exit code 2. A :class:`Said` is worded in *say*'s language."""
    for e in errors:
        print(one_line(worded(say, e)), file=sys.stderr)
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
