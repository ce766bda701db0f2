"""Words of a Linux start.sh / stop.sh: the settings and the commands of scripts.yaml as bash
text. Every word is quoted by the rules of Python's ``shlex.quote``; a setting is referenced as
``"${NAME}"``. The model (rules.shell_token_problem) already refused shell syntax in the data, so
quoting here is the second line, not the only one.
"""
from __future__ import annotations

import shlex

from runbook_engine.model.rules import SETTING_REF
from runbook_engine.model.schema import ScriptCommand, ScriptSetting


def _parts(token: str):
    """(literal, None) and (None, setting name) pieces of *token*, in order."""
    pos = 0
    for m in SETTING_REF.finditer(token):
        if m.start() > pos:
            yield token[pos:m.start()], None
        yield None, m.group(1)
        pos = m.end()
    if pos < len(token):
        yield token[pos:], None


def word(token: str) -> str:
    """*token* as one bash word: literal text quoted, ``{NAME}`` as ``"${NAME}"``."""
    return "".join(shlex.quote(lit) if name is None else f'"${{{name}}}"' for lit, name in _parts(token))


def _inner_word(token: str) -> str:
    """*token* as a word of the command line that ``su -c`` hands to the user's shell, written
    inside the outer double quotes: literal text quoted for that shell, ``{NAME}`` as ``${NAME}``
    (the outer shell expands it; a setting's value is a plain word, see rules.SHELL_SAFE)."""
    return "".join(shlex.quote(lit) if name is None else f"${{{name}}}" for lit, name in _parts(token))


def assignment(setting: ScriptSetting) -> str:
    return f"{setting.name}={shlex.quote(setting.value)}"


def command_line(cmd: ScriptCommand) -> str:
    """The bash line that runs *cmd*: the argv, or ``su - USER -c "argv"`` for a command run as a user."""
    if cmd.user is None:
        return " ".join(word(t) for t in cmd.argv)
    inner = " ".join(_inner_word(t) for t in cmd.argv)
    return f'su - {word(cmd.user)} -c "{inner}"'


def message(text: str) -> str:
    """A clplogcmd message argument (single-quoted as shlex does it)."""
    return shlex.quote(text)

