"""The ``runbook`` command: check, schema, build, serve, pdf, report, plan, apply, verify, rollback, bundle, import, run, sandbox, export.

One module per group of commands, each with a ``register(subparsers)``; this module only
assembles them. Exit codes: 0 converged / success, 1 drift or a failed change, 2 bad input (one line on
stderr: cli/arguments.py), 3 waiting for an operator. Every line for a person is in the operator's
language (``--lang``, default: the locale's): labels of kb/site.yaml (engine/messages.py).
"""
from __future__ import annotations

import argparse
import os
import sys

from runbook_engine.cli import bundle, engine, export, kb, printed, run, sandbox, site
from runbook_engine.cli.arguments import BadArgument, Parser, argument_errors
from runbook_engine.cli.base import (EXIT_DRIFT, EXIT_INPUT, EXIT_OK, EXIT_WAITING, check_project, error, fail_input,
                                     messages_of)
from runbook_engine.model.errors import KbInvalid

#: the command modules, in the order `runbook --help` lists them
COMMANDS = (kb, site, printed, engine, bundle, run, sandbox, export)

__all__ = ["EXIT_DRIFT", "EXIT_INPUT", "EXIT_OK", "EXIT_WAITING", "check_project", "main", "parser"]


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="runbook", description=__doc__.splitlines()[0])
    p.add_argument("--root", help="project folder (default: the nearest folder with kb/ and snippets/)")
    sub = p.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    args = parser().parse_args(argv)
    errs = argument_errors(args)  # before anything is read or written
    if errs:
        return fail_input([error(e) for e in errs], messages_of(args))
    try:
        return args.func(args)
    except KbInvalid as exc:
        return fail_input(exc.errors)
    except BadArgument as exc:
        return fail_input([error(exc.said)], messages_of(args))


if __name__ == "__main__":
    sys.exit(main())
