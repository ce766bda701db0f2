"""What a Linux start.sh / stop.sh must do in each case, declared from the guide's data (not found
by running the script): for every environment of the case grid (``batch.cases.case_variables``:
each documented CLP_EVENT × CLP_DISK × CLP_SERVER, plus CLP_EVENT unset), the programs it runs in
order with their argv, and its exit code, every command succeeding.

The site prints these as the script's case table; a test runs the rendered script in real bash
with stub programs on the PATH and compares what they record with these (tests/test_linux_scripts.py).
The rule, once:

* CLP_EVENT START or FAILOVER, CLP_DISK SUCCESS: ``clplogcmd`` logs the event's message for
  CLP_SERVER HOME (any other value: the OTHER message) at INFO, then each command of the script
  for that event runs, in order; exit 0.
* CLP_EVENT START or FAILOVER, CLP_DISK anything else: the disk-error message at ERR; exit 1.
* CLP_EVENT anything else or not set: the not-running message at ERR; exit 1.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass

from runbook_engine.batch.cases import EVENT_MESSAGES, case_variables
from runbook_engine.batch.simulator import cases
from runbook_engine.model.schema import Family, Guide, ScriptCommand, ScriptConfig


@dataclass(frozen=True)
class Outcome:
    """What the script does in one case: the argv of each program it runs, and its exit code."""

    calls: tuple[tuple[str, ...], ...]
    exit_code: int

    @property
    def aborted(self) -> str:  # the key batch.cases.merge_cases groups by, with calls
        return str(self.exit_code)


def command_argv(config: ScriptConfig, cmd: ScriptCommand) -> tuple[str, ...]:
    """The argv the program of *cmd* receives: its words with the settings' values, or for a
    command run as a user ``su - USER -c "<the words as one command line>"``."""
    argv = tuple(config.resolve(t) for t in cmd.argv)
    if cmd.user is None:
        return argv
    return ("su", "-", config.resolve(cmd.user), "-c", " ".join(shlex.quote(a) for a in argv))


def log_call(text: str, level: str) -> tuple[str, ...]:
    return ("clplogcmd", "-m", text, "-l", level)


def outcome(guide: Guide, kind: str, env: dict[str, str | None], lang: str) -> Outcome:
    sc = guide.scripts
    event, disk, server = env.get("CLP_EVENT"), env.get("CLP_DISK"), env.get("CLP_SERVER")
    if event not in EVENT_MESSAGES[kind]:
        return Outcome((log_call(guide.message("not-running")(lang), "ERR"),), 1)
    if disk != "SUCCESS":
        return Outcome((log_call(guide.message("disk-error")(lang), "ERR"),), 1)
    home, other = EVENT_MESSAGES[kind][event]
    calls = [log_call(guide.message(home if server == "HOME" else other)(lang), "INFO")]
    calls += [command_argv(sc, c) for c in sc.commands_of(kind, event)]
    return Outcome(tuple(calls), 0)


def declared_cases(family: Family, guide: Guide, kind: str, lang: str) -> list[tuple[dict, Outcome]]:
    """(environment, outcome) for every case of the family's grid, in grid order (an unset
    variable is absent from its environment)."""
    return [(env, outcome(guide, kind, env, lang)) for env in cases(case_variables(family))]
