"""The command line's own values: the parser that reports misuse in one line, the checks every
argument passes before anything is read or written (model.rules), and the checks of names against
what the project knows (guides, nodes, steps, runs, bundles), each failing as one line naming what
is known and the closest name (``unknown guide 'my-guid' (known: …); did you mean 'my-guide'?``).

A misuse is exit code 2 with exactly one line on stderr and no traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from runbook_engine.model.errors import did_you_mean, one_line, unknown
from runbook_engine.model.rules import LANGS, PATTERNS, fits


class BadArgument(Exception):
    """A command-line value that names nothing the project knows: its one line (without the
    ``error:`` prefix). ``runbook`` prints it and exits 2."""


class Parser(argparse.ArgumentParser):
    """argparse, with every misuse said in one line: an unknown command or value lists the known
    ones and the closest, an unknown option names the command's closest option, no usage block.
    ``-h`` still prints the full help."""

    def error(self, message: str):  # argparse's hook for every misuse it finds
        print(f"error: {self.prog}: {one_line(message)}", file=sys.stderr)
        sys.exit(2)

    def _check_value(self, action, value):  # argparse's hook for choices (3.8 .. 3.14)
        if action.choices is not None and value not in action.choices:
            if isinstance(action, argparse._SubParsersAction):
                raise argparse.ArgumentError(None, unknown("command", value, action.choices))
            raise argparse.ArgumentError(action, unknown("value", value, action.choices))

    def parse_known_args(self, args=None, namespace=None):
        ns, extras = super().parse_known_args(args, namespace)
        if not hasattr(ns, "command_parser"):  # the innermost (sub)command's parser sets it first
            ns.command_parser = self
        return ns, extras

    def parse_args(self, args=None, namespace=None):
        ns, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = ns.command_parser
            options = [o for a in parser._actions for o in a.option_strings]
            first = extras[0].split("=", 1)[0]
            hint = did_you_mean(first, options) if first.startswith("-") else ""
            parser.error(f"unrecognized argument{'s' if len(extras) > 1 else ''}: {' '.join(extras)}{hint}")
        del ns.command_parser
        return ns


def default_lang(environ=None) -> str:
    """The operator's language from the locale (LC_ALL, then LC_MESSAGES, then LANG): ``ja`` for a
    Japanese locale, ``en`` for any other language; ``ja`` when none is set or it is C/POSIX."""
    environ = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(var, "")
        if value:
            code = value.split(".")[0].split("_")[0].lower()
            if code in ("c", "posix"):
                return "ja"
            return code if code in LANGS else "en"
    return "ja"


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

#: files given as arguments: attribute -> option name
FILES: dict[str, str] = {"answers": "--answers", "inventory": "--inventory", "result": "RESULT"}


def file_problem(value: str, name: str) -> str | None:
    """The one line when *value* is not a regular file (with the closest file name of its folder)."""
    p = Path(value)
    if p.is_file():
        return None
    if p.is_dir():
        return f"{name} {value}: a folder, not a file"
    folder = p.parent if p.parent.is_dir() else None
    near = did_you_mean(p.name, sorted(q.name for q in folder.iterdir() if q.is_file())) if folder else ""
    return f"{name} {value}: no such file{near}"


def argument_errors(args) -> list[str]:
    """One line per command-line value that breaks its rule (model.rules): a guide, node, step or
    run id that could carry a path (``..``, ``/``) or a metacharacter into a file name or a
    command never reaches one. Files given as arguments must be regular files."""
    errs = []
    for attr, (kind, name) in ARGUMENTS.items():
        value = getattr(args, attr, None)
        for v in value if isinstance(value, list) else [value]:
            if v is not None and not fits(kind, v):
                errs.append(f"error: {name} {v!r}: not a valid {kind.replace('-', ' ')} "
                            f"(it must match {PATTERNS[kind].pattern})")
    for attr, name in FILES.items():
        value = getattr(args, attr, None)
        if value is not None and (problem := file_problem(value, name)):
            errs.append(f"error: {problem}")
    return errs


# --- names the project knows ------------------------------------------------------------------------

def known_guide(kb, guide_id: str):
    """The guide *guide_id* of the knowledge base."""
    if guide_id not in kb.guides:
        raise BadArgument(unknown("guide", guide_id, kb.guides))
    return kb.guides[guide_id]


def inventory_path(project, path: str | None) -> Path:
    """The inventory file to read: *path* (checked by argument_errors), or the sandbox's."""
    if path is not None:
        return Path(path)
    default = project.sandbox_inventory
    if not default.is_file():
        raise BadArgument(f"no inventory given and no sandbox yet ({default} does not exist): "
                          "run `runbook sandbox create` or pass --inventory FILE")
    return default


def known_nodes(inventory, names, source) -> list[str]:
    """*names*, each a node of *inventory* (read from *source*)."""
    nodes = [n.name for n in inventory.nodes]
    for name in names or []:
        if name not in nodes:
            raise BadArgument("--node: " + unknown("node", name, nodes, where=f"in {source}"))
    return list(names or [])


def article(word: str) -> str:
    """*word* after its indefinite article: ``a manual``, ``an automated``."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def engine_steps(guide, ids) -> list[str]:
    """*ids*, each a step of *guide* the engine runs (modes automated and check)."""
    from runbook_engine.engine.runner import ENGINE_MODES

    runnable = [s.id for s in guide.steps() if s.mode in ENGINE_MODES]
    modes = {s.id: s.mode for s in guide.steps()}
    for sid in ids or []:
        if sid in modes and sid not in runnable:
            raise BadArgument(f"--step: step '{sid}' of guide '{guide.id}' is {article(modes[sid])} step: the engine runs "
                              f"its automated and check steps (known: {', '.join(runnable) or 'none'})")
        if sid not in runnable:
            raise BadArgument("--step: " + unknown("step", sid, runnable, where=f"in guide '{guide.id}'"))
    return list(ids or [])


def manual_steps(guide, ids, option: str = "--confirm") -> list[str]:
    """*ids*, each a step of *guide* an operator confirms (mode manual)."""
    steps = {s.id: s.mode for s in guide.steps()}
    manual = [sid for sid, mode in steps.items() if mode == "manual"]
    for sid in ids or []:
        if sid in steps and sid not in manual:
            raise BadArgument(f"{option}: step '{sid}' of guide '{guide.id}' is {article(steps[sid])} step: only a "
                              "manual step is confirmed (the engine runs the others)")
        if sid not in manual:
            raise BadArgument(f"{option}: " + unknown("manual step", sid, manual, where=f"in guide '{guide.id}'"))
    return list(ids or [])


def known_run(state: Path, run_id: str, option: str = "RUN_ID", cluster: str | None = None) -> str:
    """*run_id*, an engine run journaled in *state* (of *cluster* when given); the latest runs
    are named when it is not."""
    from runbook_engine.engine.runs import list_runs

    runs = list_runs(state)
    other = next((r for r in runs if r.run_id == run_id and cluster is not None and r.cluster != cluster), None)
    ids = [r.run_id for r in reversed(runs) if cluster is None or r.cluster == cluster]  # newest first
    folder = Path(state) / "runs"
    if other is not None:
        raise BadArgument(f"{option}: run '{run_id}' was on cluster '{other.cluster}', "
                          f"the inventory is cluster '{cluster}'")
    if run_id not in ids and (folder / run_id).is_dir() and not (folder / run_id / "journal.jsonl").exists():
        raise BadArgument(f"{option}: run '{run_id}' journaled no change (a plan, or a notebook run "
                          "without --apply): nothing to roll back")
    if run_id not in ids:
        where = f"of cluster '{cluster}' in {folder}" if cluster else f"in {folder}"
        raise BadArgument(f"{option}: " + unknown("run", run_id, ids, where=where, limit=5)
                          + ("" if len(ids) <= 5 else "; `runbook runs` lists them all"))
    return run_id


def known_plan_bundle(state: Path, bundle_id: str) -> str:
    """*bundle_id*, a plan bundle written from *state*."""
    from runbook_engine.engine.bundle.store import Store

    plans = [r for r in Store(state).records() if r.kind == "plan"]
    ids = [r.id for r in sorted(plans, key=lambda r: r.created, reverse=True)]
    if bundle_id not in ids:
        raise BadArgument("--plan: " + unknown("plan bundle", bundle_id, ids, where=f"in {Path(state) / 'bundles'}",
                                               limit=5))
    return bundle_id
