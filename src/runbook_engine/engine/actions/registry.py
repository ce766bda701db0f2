"""registry-key: the key that the registry synchronization resource will carry exists on every
node before it is registered; its export is kept in the journal."""
from __future__ import annotations

import base64
from typing import Any

from runbook_engine.engine.actions import register_action
from runbook_engine.engine.actions.base import Action, Change, Context, Desired
from runbook_engine.engine.facts.registry import RegistryExport, RegistryKey
from runbook_engine.engine.status import RowStatus


@register_action
class RegistryKeyPresent(Action):
    name = "registry-key"
    platform = "windows"
    read_only = True
    scope = "all-nodes"
    compare_across_nodes = True

    def desired(self, ctx: Context) -> list[Desired]:
        keys = [r.key for r in ctx.guide.resources if r.kind == "registry" and r.key]
        return [Desired(ctx.target.name, k, "present", {"tag": f"{ctx.target.name}-r{i}"}) for i, k in enumerate(keys)]

    def facts(self, ctx: Context, desired: list[Desired]):
        return {d.target: RegistryKey(d.target, tag=d.data["tag"]) for d in desired}

    def plan(self, desired: list[Desired], facts: dict[str, Any]) -> list[Change]:
        rows = []
        for d in desired:
            f: RegistryExport = facts[d.target]
            row = Change(action=self.name, node=d.node, target=d.target,
                         current="present" if f.exists else "absent", desired=d.value)
            if not f.exists:
                row.status = RowStatus.ERROR
                row.message = ("the key is created by the product's installer: finish the installation "
                               "on this node before registering the registry synchronization")
            else:
                row.before = {"export_b64": base64.b64encode(f.export or b"").decode()}
            rows.append(row)
        return rows
