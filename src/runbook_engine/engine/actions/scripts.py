"""script-files: START.BAT and STOP.BAT in the script resource folder of every node, byte for byte
what the site shows (written atomically: base64 lines, decode to a temp file, rename)."""
from __future__ import annotations

import base64
import hashlib
from typing import Any

from runbook_engine.artifacts.scripts import render_scripts
from runbook_engine.engine.facts.files import FileContent, delete_commands, write_commands
from runbook_engine.engine.actions.base import Action, Change, Context


def _digest(data: bytes | None) -> str | None:
    return None if data is None else "sha256:" + hashlib.sha256(data).hexdigest()[:16]


class ScriptFiles(Action):
    name = "script-files"

    def folder(self, ctx: Context) -> str:
        return ctx.node.script_dir or ctx.guide.scripts.directory

    def wanted(self, ctx: Context) -> dict[str, bytes]:
        scripts = render_scripts(ctx.kb, ctx.guide, ctx.lang, ctx.snippets)
        return {name: s.data for name, s in scripts.items()}

    def facts(self, ctx: Context):
        folder = self.folder(ctx)
        return {name: FileContent(f"{folder}\\{name}", tag=f"{ctx.node.name}-{i}")
                for i, name in enumerate(self.wanted(ctx))}

    def plan(self, ctx: Context, facts: dict[str, Any]) -> list[Change]:
        rows = []
        folder = self.folder(ctx)
        for i, (name, data) in enumerate(self.wanted(ctx).items()):
            path = f"{folder}\\{name}"
            current = facts[name]
            row = Change(action=self.name, node=ctx.node.name, target=path,
                         current=_digest(current), desired=_digest(data))
            if current != data:
                row.status = "change"
                row.commands = write_commands(path, data, tag=f"{ctx.node.name}-w{i}")
                row.undo = (delete_commands(path) if current is None
                            else write_commands(path, current, tag=f"{ctx.node.name}-u{i}"))
                row.before = {"content_b64": None if current is None else base64.b64encode(current).decode()}
            rows.append(row)
        return rows
