"""Words of a Windows START.BAT / STOP.BAT: the settings and the commands of scripts.yaml as cmd
text. A setting is written ``set "NAME=value"`` and referenced as ``%NAME%``; an argv token that
holds a space (in its own text or in the value of a setting it names) is put in double quotes,
which is how the Microsoft C runtime (``split_argv`` in batch/simulator.py) makes one argument
of it. The model (rules.cmd_token_problem, cmd_word_problem) already refused everything cmd
expands or reads as syntax (``% ! ^ & | < > " ( )``, control characters, a trailing backslash),
so a quote is all a token ever needs.
"""
from __future__ import annotations

from collections.abc import Mapping

from runbook_engine.model.rules import SETTING_REF
from runbook_engine.model.schema import ScriptCommand, ScriptSetting


def word(token: str, values: Mapping[str, str]) -> str:
    """*token* as one cmd argument: ``{NAME}`` as ``%NAME%``, in double quotes if the word it
    becomes (with *values* of the settings) holds a space."""
    text = SETTING_REF.sub(lambda m: f"%{m.group(1)}%", token)
    resolved = SETTING_REF.sub(lambda m: values[m.group(1)], token)
    return f'"{text}"' if " " in resolved else text


def assignment(setting: ScriptSetting) -> str:
    """``set "NAME=value"``: the quotes end the value exactly (no trailing space slips in)."""
    return f'set "{setting.name}={setting.value}"'


def command_line(cmd: ScriptCommand, values: Mapping[str, str]) -> str:
    """The cmd line that runs *cmd* (its first word is a bare program name on PATH)."""
    return " ".join(word(t, values) for t in cmd.argv)
