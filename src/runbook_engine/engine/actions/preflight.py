"""preflight: the node runs a supported OS, has TCP/IP and an NTFS data drive (checks only)."""
from __future__ import annotations

import re
from typing import Any

from runbook_engine.engine.actions import register_action
from runbook_engine.engine.actions.base import Action, Change, Context, Desired
from runbook_engine.engine.facts.system import FileSystem, ProductName, TcpIpInstalled
from runbook_engine.engine.status import RowStatus


def data_drive_of(guide) -> str:
    """The drive of the guide's data: its mirror or shared disk's data partition, else C:."""
    for r in guide.resources:
        if r.kind in ("md", "disk") and r.data_partition and not r.data_partition.startswith("/"):
            return r.data_partition.upper()
    return "C:"


@register_action
class Preflight(Action):
    name = "preflight"
    platform = "windows"
    read_only = True

    def desired(self, ctx: Context) -> list[Desired]:
        env = ctx.guide.meta.environment
        node, drive = ctx.target.name, ctx.node.data_drive or data_drive_of(ctx.guide)
        return [
            Desired(node, "os", " / ".join(env.operating_systems),
                    {"check": "os", "patterns": list(ctx.guide.meta.os_product_patterns),
                     "message": "unsupported operating system"}),
            Desired(node, "tcpip", "installed", {"check": "tcpip", "message": f"{env.protocol} is not installed"}),
            Desired(node, f"filesystem {drive}", env.file_system,
                    {"check": "fs", "drive": drive, "message": f"the data drive must be {env.file_system}"}),
        ]

    def facts(self, ctx: Context, desired: list[Desired]):
        make = {"os": lambda d: ProductName(), "tcpip": lambda d: TcpIpInstalled(),
                "fs": lambda d: FileSystem(d.data["drive"])}
        return {d.target: make[d.data["check"]](d) for d in desired}

    def plan(self, desired: list[Desired], facts: dict[str, Any]) -> list[Change]:
        rows = []
        for d in desired:
            fact, check = facts[d.target], d.data["check"]
            if check == "os":
                current, ok = fact, fact is not None and any(re.search(p, fact) for p in d.data["patterns"])
            elif check == "tcpip":
                current, ok = "installed" if fact else "missing", bool(fact)
            else:
                current, ok = fact, fact == d.value
            rows.append(Change(action=self.name, node=d.node, target=d.target, current=current, desired=d.value,
                               status=RowStatus.OK if ok else RowStatus.ERROR, message="" if ok else d.data["message"]))
        return rows
