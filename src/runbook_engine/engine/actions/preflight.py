"""preflight: the node runs a supported OS, has TCP/IP and an NTFS data drive (checks only)."""
from __future__ import annotations

import re
from typing import Any

from runbook_engine.engine.facts.system import FileSystem, ProductName, TcpIpInstalled
from runbook_engine.engine.actions.base import Action, Change, Context


class Preflight(Action):
    name = "preflight"

    def facts(self, ctx: Context):
        return {"os": ProductName(), "tcpip": TcpIpInstalled(), "fs": FileSystem(ctx.node.data_drive)}

    def plan(self, ctx: Context, facts: dict[str, Any]) -> list[Change]:
        env = ctx.guide.meta.environment
        ok_os = facts["os"] is not None and any(re.search(p, facts["os"]) for p in ctx.guide.meta.os_product_patterns)

        def row(target, current, desired, ok, msg=""):
            return Change(action=self.name, node=ctx.node.name, target=target, current=current,
                          desired=desired, status="ok" if ok else "error", message="" if ok else msg)

        return [
            row("os", facts["os"], " / ".join(env.operating_systems), ok_os, "unsupported operating system"),
            row("tcpip", "installed" if facts["tcpip"] else "missing", "installed", facts["tcpip"],
                f"{env.protocol} is not installed"),
            row(f"filesystem {ctx.node.data_drive}", facts["fs"], env.file_system, facts["fs"] == env.file_system,
                f"the data drive must be {env.file_system}"),
        ]
