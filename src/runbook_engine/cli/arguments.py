"""The command line's own values: the parser that reports misuse in one line, the checks every
argument passes before anything is read or written (model.rules), and the checks of names against
what the project knows (guides, nodes, steps, runs, bundles), each failing as one line naming what
is known and the closest name (``unknown guide 'my-guid' (known: …); did you mean 'my-guide'?``),
in the operator's language (labels of kb/site.yaml, worded when printed: :class:`Said`).

A misuse is exit code 2 with exactly one line on stderr and no traceback. What argparse itself
finds (an unknown option or command, a missing argument) is said before the command knows its
language, in argparse's English, as ``--help`` is.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from runbook_engine.engine.messages import Said
from runbook_engine.model.errors import closest, did_you_mean, one_line, unknown
from runbook_engine.model.rules import LANGS, PATTERNS, fits

LANG_HELP = ("language of the output (default: from the locale, LC_ALL, LC_MESSAGES or LANG: ja for a "
             "Japanese or a C locale, en for any other)")


class BadArgument(Exception):
    """A command-line value that names nothing the project knows: its one line (without the
    ``error:`` prefix), a :class:`Said` worded in the operator's language or a text as it is
    (another layer's). ``runbook`` prints it and exits 2."""

    def __init__(self, said: Said | str):
        super().__init__(said)
        self.said = said


def lang_option(p, default: str | None = None, help_: str = LANG_HELP) -> None:
    """``--lang ja|en``: the language of everything the command says (None: the locale's)."""
    p.add_argument("--lang", choices=list(LANGS), default=default, help=help_)


def about(what: str, text: Said | str) -> Said:
    """*text* about an option or argument: ``--node: …``."""
    return Said.of("error-about", what=what, text=text)


def unknown_name(what: str, value: str, known, *, where: Said | str = "", limit: int = 0) -> Said:
    """model.errors.unknown in the operator's language: ``unknown guide 'x' (known: …); did you
    mean 'y'?``; *what* is a noun's label (``noun-guide``), *where* a place (``error-in``)."""
    names = [str(k) for k in known]
    shown = names[:limit] if 0 < limit < len(names) else names
    listing: Said | str = ", ".join(shown) or Said.of("error-known-none")
    if len(shown) < len(names):
        listing = Said.of("error-known-more", names=listing, n=len(names) - len(shown))
    return Said.of("error-unknown", what=Said.of(what), name=value, where=where, known=listing,
                   hint=mean(closest(value, names)))


def mean(name: str | None) -> Said | str:
    """``; did you mean 'NAME'?`` in the operator's language (nothing without a name)."""
    return Said.of("error-did-you-mean", name=name) if name is not None else ""


def in_place(place: Said | str) -> Said:
    return Said.of("error-in", place=place)


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


def file_problem(value: str, name: str) -> Said | None:
    """The one line when *value* is not a regular file (with the closest file name of its folder)."""
    p = Path(value)
    if p.is_file():
        return None
    if p.is_dir():
        return Said.of("error-folder-not-file", option=name, path=value)
    folder = p.parent if p.parent.is_dir() else None
    near = closest(p.name, sorted(q.name for q in folder.iterdir() if q.is_file())) if folder else None
    return Said.of("error-no-such-file", option=name, path=value, hint=mean(near))


def argument_errors(args) -> list[Said]:
    """One line per command-line value that breaks its rule (model.rules): a guide, node, step or
    run id that could carry a path (``..``, ``/``) or a metacharacter into a file name or a
    command never reaches one. Files given as arguments must be regular files."""
    errs = []
    for attr, (kind, name) in ARGUMENTS.items():
        value = getattr(args, attr, None)
        for v in value if isinstance(value, list) else [value]:
            if v is not None and not fits(kind, v):
                errs.append(Said.of("error-not-valid", option=name, value=repr(v), kind=Said.of(f"noun-{kind}"),
                                    pattern=PATTERNS[kind].pattern))
    for attr, name in FILES.items():
        value = getattr(args, attr, None)
        if value is not None and (problem := file_problem(value, name)):
            errs.append(problem)
    return errs


# --- names the project knows ------------------------------------------------------------------------

def known_guide(kb, guide_id: str):
    """The guide *guide_id* of the knowledge base."""
    if guide_id not in kb.guides:
        raise BadArgument(unknown_name("noun-guide", guide_id, kb.guides))
    return kb.guides[guide_id]


def inventory_path(project, path: str | None) -> Path:
    """The inventory file to read: *path* (checked by argument_errors), or the sandbox's."""
    if path is not None:
        return Path(path)
    default = project.sandbox_inventory
    if not default.is_file():
        raise BadArgument(Said.of("error-no-inventory", path=default))
    return default


def known_nodes(inventory, names, source) -> list[str]:
    """*names*, each a node of *inventory* (read from *source*)."""
    nodes = [n.name for n in inventory.nodes]
    for name in names or []:
        if name not in nodes:
            raise BadArgument(about("--node", unknown_name("noun-node", name, nodes, where=in_place(source))))
    return list(names or [])


def engine_steps(guide, ids) -> list[str]:
    """*ids*, each a step of *guide* the engine runs (modes automated and check)."""
    from runbook_engine.engine.runner import ENGINE_MODES

    runnable = [s.id for s in guide.steps() if s.mode in ENGINE_MODES]
    modes = {s.id: s.mode for s in guide.steps()}
    for sid in ids or []:
        if sid in modes and sid not in runnable:
            raise BadArgument(about("--step", Said.of("error-not-engine-step", step=sid, guide=guide.id,
                                                      mode=Said.of(f"mode-a-{modes[sid]}"),
                                                      known=", ".join(runnable) or Said.of("error-known-none"))))
        if sid not in runnable:
            raise BadArgument(about("--step", unknown_name("noun-step", sid, runnable,
                                                           where=Said.of("error-in-guide", guide=guide.id))))
    return list(ids or [])


def manual_steps(guide, ids, option: str = "--confirm") -> list[str]:
    """*ids*, each a step of *guide* an operator confirms (mode manual)."""
    steps = {s.id: s.mode for s in guide.steps()}
    manual = [sid for sid, mode in steps.items() if mode == "manual"]
    for sid in ids or []:
        if sid in steps and sid not in manual:
            raise BadArgument(about(option, Said.of("error-not-manual-step", step=sid, guide=guide.id,
                                                    mode=Said.of(f"mode-a-{steps[sid]}"))))
        if sid not in manual:
            raise BadArgument(about(option, unknown_name("noun-manual-step", sid, manual,
                                                         where=Said.of("error-in-guide", guide=guide.id))))
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
        raise BadArgument(about(option, Said.of("error-run-other-cluster", run_id=run_id, other=other.cluster,
                                                cluster=cluster)))
    if run_id not in ids and (folder / run_id).is_dir() and not (folder / run_id / "journal.jsonl").exists():
        raise BadArgument(about(option, Said.of("error-run-no-change", run_id=run_id)))
    if run_id not in ids:
        where = Said.of("error-in-cluster", cluster=cluster, place=folder) if cluster else in_place(folder)
        raise BadArgument(about(option, unknown_run(run_id, ids, where)))
    return run_id


def unknown_run(run_id: str, ids: list[str], where: Said) -> Said:
    """An unknown run: the latest five named (and where to see them all)."""
    said = unknown_name("noun-run", run_id, ids, where=where, limit=5)
    return said if len(ids) <= 5 else Said.of("error-runs-all", text=said)


def known_plan_bundle(state: Path, bundle_id: str) -> str:
    """*bundle_id*, a plan bundle written from *state*."""
    from runbook_engine.engine.bundle.store import Store

    plans = [r for r in Store(state).records() if r.kind == "plan"]
    ids = [r.id for r in sorted(plans, key=lambda r: r.created, reverse=True)]
    if bundle_id not in ids:
        raise BadArgument(about("--plan", unknown_name("noun-plan-bundle", bundle_id, ids,
                                                       where=in_place(Path(state) / "bundles"), limit=5)))
    return bundle_id
