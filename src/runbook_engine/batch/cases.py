"""The case grid: every environment CLUSTERPRO can hand a script (``CLP_EVENT`` × ``CLP_DISK`` ×
``CLP_SERVER``), and how the outcomes of a grid are merged into the rows of a case table.

One home for the grid: the lint, the site's case tables and the Wine differential proof all take
their environments from :func:`case_variables` (or :data:`DEFAULT_GRID` where no family is at hand).
"""
from __future__ import annotations

from typing import Any

from runbook_engine.batch.simulator import UNSET

#: The variables CLUSTERPRO hands to a script, in the order the case tables show them.
CASE_KEYS: tuple[str, ...] = ("CLP_EVENT", "CLP_DISK", "CLP_SERVER")

#: The grid of the CLUSTERPRO X family's documented values (``UNSET``: the script run outside
#: CLUSTERPRO); the kb's family file documents the same values (a test keeps them equal).
DEFAULT_GRID: dict[str, tuple[str | None, ...]] = {
    "CLP_EVENT": ("START", "FAILOVER", "RECOVER", UNSET),
    "CLP_DISK": ("SUCCESS", "FAILURE"),
    "CLP_SERVER": ("HOME", "OTHER"),
}
ALL_EVENTS: tuple[str | None, ...] = DEFAULT_GRID["CLP_EVENT"]

#: The message a start or stop script gives for the event it acts on, by script kind and event:
#: (the id on the highest-priority server, CLP_SERVER HOME; the id on any other). One home for
#: the Windows scripts' oracle (batch/intent.py) and the Linux one (batch/shcases.py).
EVENT_MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    "start": {"START": ("start-home", "start-other"), "FAILOVER": ("failover-home", "failover-other")},
    "stop": {"START": ("stop-home", "stop-other"), "FAILOVER": ("stop-failover-home", "stop-failover-other")},
}


def case_variables(family: Any) -> dict[str, list[str | None]]:
    """The environments a script is checked for: each documented value of the family's script
    variables (``family.script_variables``), plus ``CLP_EVENT`` not set at all (the script run
    outside CLUSTERPRO: its "not running" branch), as a mapping for
    :func:`runbook_engine.batch.simulator.cases`."""
    variables: dict[str, list[str | None]] = {}
    for v in family.script_variables:
        values: list[str | None] = [item[0] if isinstance(item, tuple) else item.value for item in v.values]
        if v.name == "CLP_EVENT":
            values.append(UNSET)
        variables[v.name] = values
    return variables


def format_call(call: tuple[str, ...]) -> str:
    """One recorded call as a command line (arguments with spaces quoted)."""
    return " ".join([call[0], *(f'"{a}"' if (" " in a or not a) else a for a in call[1:])])


def merge_cases(variables: dict[str, list], results: list[tuple[dict, Any]]) -> list[tuple[tuple, Any]]:
    """Collapse environments with the same outcome: a variable whose every value gives the same
    trace (the other variables fixed) becomes ``"*"``. Order follows the first environment."""
    names = list(variables)
    rows = [(tuple(env.get(n) for n in names), trace) for env, trace in results]

    def key(trace):
        return (tuple(trace.calls), trace.aborted)

    changed = True
    while changed:
        changed = False
        for i, name in enumerate(names):
            domain = set(variables[name])
            groups: dict[tuple, list[int]] = {}
            for idx, (vals, trace) in enumerate(rows):
                if vals[i] == "*":
                    continue
                groups.setdefault((vals[:i] + vals[i + 1:], key(trace)), []).append(idx)
            merged: dict[int, tuple] = {}
            drop: set[int] = set()
            for (rest, _), idxs in groups.items():
                if {rows[j][0][i] for j in idxs} == domain and len(idxs) > 1:
                    first = idxs[0]
                    merged[first] = rows[first][0][:i] + ("*",) + rows[first][0][i + 1:]
                    drop.update(idxs[1:])
            if merged:
                rows = [(merged.get(j, vals), trace) for j, (vals, trace) in enumerate(rows) if j not in drop]
                changed = True
    return rows
