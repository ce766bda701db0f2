"""script-files: START.BAT and STOP.BAT in the script resource folder of every node, byte for byte
what the site shows (written atomically: base64 lines, decode to a temp file, rename)."""
from __future__ import annotations

import base64
import hashlib
from typing import Any

from runbook_engine.artifacts.scripts import render_scripts
from runbook_engine.engine.actions import register_action
from runbook_engine.engine.actions.base import Action, Change, Context, Desired
from runbook_engine.engine.facts.files import FileContent, delete_commands, write_commands
from runbook_engine.engine.status import RowStatus


def _digest(data: bytes | None) -> str | None:
    return None if data is None else "sha256:" + hashlib.sha256(data).hexdigest()[:16]


@register_action
class ScriptFiles(Action):
    name = "script-files"

    def folder(self, ctx: Context) -> str:
        return ctx.node.script_dir or ctx.guide.scripts.directory

    def wanted(self, ctx: Context) -> dict[str, bytes]:
        scripts = render_scripts(ctx.kb, ctx.guide, ctx.lang, ctx.snippets)
        return {name: s.data for name, s in scripts.items()}

    def desired(self, ctx: Context) -> list[Desired]:
        node, folder = ctx.target.name, self.folder(ctx)
        return [Desired(node, f"{folder}\\{name}", _digest(data),
                        {"content_b64": base64.b64encode(data).decode(), "i": i})
                for i, (name, data) in enumerate(self.wanted(ctx).items())]

    def facts(self, ctx: Context, desired: list[Desired]):
        return {d.target: FileContent(d.target, tag=f"{d.node}-{d.data['i']}") for d in desired}

    def plan(self, desired: list[Desired], facts: dict[str, Any]) -> list[Change]:
        rows = []
        for d in desired:
            path, i, current = d.target, d.data["i"], facts[d.target]
            data = base64.b64decode(d.data["content_b64"])
            row = Change(action=self.name, node=d.node, target=path, current=_digest(current), desired=d.value)
            if current != data:
                row.status = RowStatus.CHANGE
                row.commands = write_commands(path, data, tag=f"{d.node}-w{i}")
                row.undo = (delete_commands(path) if current is None
                            else write_commands(path, current, tag=f"{d.node}-u{i}"))
                row.before = {"content_b64": None if current is None else base64.b64encode(current).decode()}
            rows.append(row)
        return rows
