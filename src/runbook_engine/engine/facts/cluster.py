"""Cluster facts: the server a failover group is active on, as CLUSTERPRO itself says.

``clpgrp -n <group>`` prints the active server of a group (public: EXPRESSCLUSTER/gp-ecx,
"EXPRESSCLUSTER_with_Hyper-V_Replica" Certificate/scripts/failover/replica_script/normal.ps1
l.7: ``$active_srv = clpgrp -n $group``; ``clpstat`` shows the same as ``current : <server>``
under the group, EXPRESSCLUSTER/WSL2 doc/CreatePostgreSQLCluster.md). It exits non-zero on
failure (no official exit-code table is public).

A node without CLUSTERPRO (the install phase) has no ``clpgrp``: cmd.exe would answer 9009, and
``gather`` repeats a whole read batch once on 9009 (Wine's sporadic flake), which would cost an
extra round trip on every such node. So the fact first looks the program up on PATH
(``%~$PATH:`` of a ``for`` variable) and runs it only when found; absence is a plain answer (None)
in the same round trip. Under Wine 8 the lookup must be its own command (``set`` in the ``for``,
``if defined`` after it): an ``if`` inside the ``for`` body prints nothing in Wine's cmd.exe.
A Linux node (POSIX sh) asks ``command -v clpgrp`` instead (:class:`ActiveNodeSh`); the runner
picks the fact by the node's transport shell.
"""
from __future__ import annotations

from dataclasses import dataclass

from runbook_engine.engine.cmdline import arg
from runbook_engine.engine.facts.base import Fact
from runbook_engine.engine.transports.base import CommandResult
from runbook_engine.engine.transports.posix import q

ABSENT = "RB-NO-CLPGRP"
_VAR = "RB_CLPGRP"


@dataclass(frozen=True)
class ActiveNode(Fact):
    """The server *group* is active on; None where the node has no ``clpgrp``."""

    group: str

    def commands(self) -> list[str]:
        q = arg(self.group, "token")
        return [f'set "{_VAR}=" & for %%i in (clpgrp.exe) do set "{_VAR}=%%~$PATH:i"',
                f"if defined {_VAR} (clpgrp -n {q} 2>&1) else (echo {ABSENT})"]

    def process(self, results: list[CommandResult]) -> str | None:
        res = results[-1]
        out = res.stdout.strip()
        if res.rc == 0 and out == ABSENT:
            return None
        if res.rc != 0:
            raise RuntimeError(f"clpgrp -n {self.group} exited {res.rc}: {out[:200]}")
        lines = [line.strip() for line in out.splitlines() if line.strip()]
        if len(lines) != 1:
            raise RuntimeError(f"clpgrp -n {self.group}: expected one server name, got {out[:200]!r}")
        return lines[0]


@dataclass(frozen=True)
class ActiveNodeSh(ActiveNode):
    """The same on a node whose shell is POSIX sh: ``command -v clpgrp`` first, so a node without
    CLUSTERPRO answers the absence marker in the same round trip."""

    def commands(self) -> list[str]:
        g = q(self.group, "cluster-name")
        return [f"if command -v clpgrp >/dev/null 2>&1; then clpgrp -n {g} 2>&1; else echo {ABSENT}; fi"]
