"""registry-key: the key that the registry synchronization resource will carry exists on every
node before it is registered; its export is kept in the journal."""
from __future__ import annotations

import base64
from typing import Any

from runbook_engine.engine.facts.registry import RegistryExport, RegistryKey
from runbook_engine.engine.actions.base import Action, Change, Context


class RegistryKeyPresent(Action):
    name = "registry-key"

    def keys(self, ctx: Context) -> list[str]:
        return [r.key for r in ctx.guide.resources if r.kind == "registry" and r.key]

    def facts(self, ctx: Context):
        return {k: RegistryKey(k, tag=f"{ctx.node.name}-r{i}") for i, k in enumerate(self.keys(ctx))}

    def plan(self, ctx: Context, facts: dict[str, Any]) -> list[Change]:
        rows = []
        for key in self.keys(ctx):
            f: RegistryExport = facts[key]
            row = Change(action=self.name, node=ctx.node.name, target=key,
                         current="present" if f.exists else "absent", desired="present")
            if not f.exists:
                row.status = "error"
                row.message = ("the key is created by the product's installer: finish the installation "
                               "on this node before registering the registry synchronization")
            else:
                row.before = {"export_b64": base64.b64encode(f.export or b"").decode()}
            rows.append(row)
        return rows
