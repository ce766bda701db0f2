"""Render a guide's start and stop scripts from its data and the templates in snippets/scripts/,
by its family's operating system.

Windows: START.BAT / STOP.BAT. Japanese scripts are CP932 (cmd.exe on Japanese Windows reads
batch files in the OEM code page), English ones ASCII; both have CRLF line endings.

Linux: start.sh / stop.sh for the exec resource (snippets/scripts/linux/), bash with LF line
endings, every word quoted by artifacts/shell.py. Japanese scripts are UTF-8 (rules.SHELL_SCRIPT_ENCODINGS
says why), English ones ASCII.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runbook_engine.artifacts import cmdwords, shell
from runbook_engine.model.rules import SCRIPT_ENCODINGS, SHELL_SCRIPT_ENCODINGS
from runbook_engine.model.schema import Guide, KnowledgeBase
from runbook_engine.artifacts.templates import environment

SCRIPT_NAMES = ("START.BAT", "STOP.BAT")
SHELL_SCRIPT_NAMES = ("start.sh", "stop.sh")
ENCODINGS = SCRIPT_ENCODINGS  # the one home is model/rules.py


def script_encoding(os_: str, lang: str) -> str:
    """The encoding of a script in *lang* for a family on *os_* ("windows" | "linux")."""
    return (SHELL_SCRIPT_ENCODINGS if os_ == "linux" else SCRIPT_ENCODINGS)[lang]


def script_names(kb: KnowledgeBase, guide: Guide) -> tuple[str, ...]:
    """The start and stop scripts' file names for *guide*'s family (start first)."""
    return SHELL_SCRIPT_NAMES if kb.family_of(guide).os == "linux" else SCRIPT_NAMES


@dataclass(frozen=True)
class Script:
    guide: str
    name: str
    kind: str  # "start" | "stop"
    lang: str
    text: str  # with CRLF line endings
    encoding: str

    @property
    def data(self) -> bytes:
        return self.text.encode(self.encoding)


def _lines(text: str, newline: str) -> str:
    """*text* with trailing spaces cut, runs of blank lines (left by template control blocks)
    collapsed, no blank line at the end, every line ended by *newline*."""
    out: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.rstrip()
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return newline.join(out) + newline


def _crlf(text: str) -> str:
    return _lines(text, "\r\n")


def render_script(kb: KnowledgeBase, guide: Guide, name: str, lang: str, snippets: Path) -> Script:
    kind = "start" if name.upper().startswith("START") else "stop"
    services = guide.scripted_services()
    context = {
        "guide": guide.meta,
        "lang": lang,
        "L": lambda label_id: kb.label(label_id)(lang),
        "M": lambda msg_id: guide.message(msg_id)(lang),
        "common": [s for s in services if s.phase == "common"],
        "late": [s for s in services if s.phase == "after-priority"],
        "never_stop": [s for s in guide.services if s.forbid_kill],
        **_cmd_context(guide, kind, lang),
    }
    text = environment(snippets).get_template(f"scripts/{name}.j2").render(**context)
    return Script(guide=guide.id, name=name, kind=kind, lang=lang, text=_crlf(text), encoding=ENCODINGS[lang])


def _cmd_context(guide: Guide, kind: str, lang: str) -> dict:
    """The settings and commands of a Windows script: ``set`` lines, and per event the commands
    (comment text, cmd line, the label of their failure block). Every distinct failure message
    of the script gets one block ``:FAILED_n`` (n in order of first use) that broadcasts it and
    ends the script: ``IF ERRORLEVEL 1`` / ``IF NOT ERRORLEVEL 0`` after the command jump there
    (a positive or a negative exit code), a plain GOTO the simulator proves like every other."""
    sc = guide.scripts
    values = {s.name: s.value for s in sc.settings}
    labels: dict[str, str] = {}
    commands: dict[str, list[dict]] = {}
    for event in ("START", "FAILOVER"):
        commands[event] = []
        for c in sc.commands_of(kind, event):
            label = None
            if c.failure is not None:
                label = labels.setdefault(c.failure, f"FAILED_{len(labels) + 1}")
            commands[event].append({"text": c.text(lang), "line": cmdwords.command_line(c, values), "failed": label})
    return {
        "settings": [cmdwords.assignment(s) for s in sc.settings],
        "commands": commands,
        "failures": [(label, msg_id) for msg_id, label in labels.items()],
    }


def _lf(text: str) -> str:
    return _lines(text, "\n")


def render_shell_script(kb: KnowledgeBase, guide: Guide, name: str, lang: str, snippets: Path) -> Script:
    sc = guide.scripts
    kind = "start" if name.startswith("start") else "stop"
    commands = {
        event: [{"text": c.text(lang), "line": shell.command_line(c), "failure": c.failure}
                for c in sc.commands_of(kind, event)]
        for event in ("START", "FAILOVER")
    }
    context = {
        "guide": guide.meta,
        "lang": lang,
        "L": lambda label_id: kb.label(label_id)(lang),
        "Q": lambda msg_id: shell.message(guide.message(msg_id)(lang)),
        "settings": [shell.assignment(s) for s in sc.settings],
        "commands": commands,
    }
    text = environment(snippets).get_template(f"scripts/linux/{name}.j2").render(**context)
    return Script(guide=guide.id, name=name, kind=kind, lang=lang, text=_lf(text), encoding=SHELL_SCRIPT_ENCODINGS[lang])


def render_scripts(kb: KnowledgeBase, guide: Guide, lang: str, snippets: Path) -> dict[str, Script]:
    """The guide's scripts by name ({} for a guide without scripts: the cluster's own resources
    start its application), in its family's shell."""
    if guide.scripts is None:
        return {}
    if kb.family_of(guide).os == "linux":
        return {n: render_shell_script(kb, guide, n, lang, snippets) for n in SHELL_SCRIPT_NAMES}
    return {n: render_script(kb, guide, n, lang, snippets) for n in SCRIPT_NAMES}
