"""systemd unit facts: whether a unit is loaded, enabled and running, read with
``systemctl show -p LoadState -p UnitFileState -p ActiveState -- <unit>`` (one per unit; the
properties come back as ``KEY=value`` lines in systemd's order, not the order asked).

* ``LoadState``: ``loaded``, ``not-found`` (no such unit), ``masked``, ``bad-setting``, ``error``.
* ``UnitFileState``: ``enabled``, ``enabled-runtime``, ``disabled``, ``masked``, ``masked-runtime``,
  ``static``, ``indirect``, ``linked``, ``alias``, ``generated``, ``transient`` (empty when not found).
* ``ActiveState``: ``active``, ``inactive``, ``failed``, ``activating``, ``deactivating``,
  ``reloading``.

``systemctl show`` exits 0 for a unit that does not exist (LoadState=not-found): absence is an
answer, not an error.
"""
from __future__ import annotations

from dataclasses import dataclass

from runbook_engine.engine.facts.base import Fact
from runbook_engine.engine.transports.base import CommandResult
from runbook_engine.engine.transports.posix import q

PROPERTIES = ("LoadState", "UnitFileState", "ActiveState")


@dataclass(frozen=True)
class UnitState:
    name: str
    load: str | None = None  # LoadState
    enablement: str | None = None  # UnitFileState ("" when not found)
    active: str | None = None  # ActiveState
    error: str | None = None  # systemctl could not be asked

    @property
    def exists(self) -> bool:
        return self.error is None and self.load not in (None, "not-found")


def parse_show(stdout: str) -> dict[str, str]:
    """``KEY=value`` lines of ``systemctl show`` -> {KEY: value} (a value may hold ``=``)."""
    out: dict[str, str] = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True)
class UnitStates(Fact):
    """LoadState, UnitFileState and ActiveState of each unit of *names*."""

    names: tuple[str, ...]

    def commands(self) -> list[str]:
        props = " ".join(f"-p {p}" for p in PROPERTIES)
        return [f"systemctl show {props} -- {q(n, 'unit')}" for n in self.names]

    def process(self, results: list[CommandResult]) -> dict[str, UnitState]:
        out: dict[str, UnitState] = {}
        for name, res in zip(self.names, results):
            props = parse_show(res.stdout)
            if res.rc != 0 or "LoadState" not in props:
                out[name] = UnitState(name, error=f"systemctl show exited {res.rc}: {res.stdout.strip()[:200]}")
            else:
                out[name] = UnitState(name, load=props["LoadState"], enablement=props.get("UnitFileState") or None,
                                      active=props.get("ActiveState"))
        return out
