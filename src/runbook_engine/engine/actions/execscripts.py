"""exec-scripts: the exec resource's start.sh and stop.sh in the cluster configuration folder on the
configuration node (the Linux twin of script-files): ``<configuration.folder>/scripts/<group>/
<exec resource>/`` (the family's ``configuration.script_folder``), byte for byte the site's
downloads (LF), mode 0700, compared by sha256.

Each file is written atomically (engine/facts/shfiles.py: base64, a temporary file in the same
folder, chmod, ``mv -f``). A file whose mode only differs gets a ``chmod``. The undo puts the old
bytes and mode back, or removes the file if there was none, and then removes every folder the
write made that is empty by then (so undoing both files leaves the folders as they were).
Delivering the configuration to the servers stays the operator's step (``shows: [delivery]``).
"""
from __future__ import annotations

import base64
from typing import Any

from runbook_engine.engine.actions import register_action
from runbook_engine.engine.actions.base import Action, Change, Context, Desired
from runbook_engine.engine.actions.scripts import digest, script_paths, wanted
from runbook_engine.engine.facts.shfiles import (ABSENT, FILE, FOLDER, Folders, ShFile, ancestors, chmod_commands,
                                                  delete_commands, mkdir_commands, rmdir_commands, write_commands)
from runbook_engine.engine.status import RowStatus

#: the scripts' permission bits: root runs them (the cluster), nobody else reads or runs them
SCRIPT_MODE = 0o700
FOLDERS = "folders"  # the facts key of the folders above the scripts


def _value(data: bytes | None, mode: int | None) -> dict | None:
    return None if data is None else {"sha256": digest(data), "mode": f"{mode:04o}"}


@register_action
class ExecScripts(Action):
    name = "exec-scripts"
    platform = "linux"
    scope = "configuration"

    def desired(self, ctx: Context) -> list[Desired]:
        ctx.require_shell("sh", self.name)
        paths = script_paths(ctx.kb, ctx.guide, ctx.inventory, ctx.node, "configuration")
        out = []
        for name, data in wanted(ctx).items():
            folder = paths[name].rsplit("/", 1)[0]
            out.append(Desired(ctx.target.name, paths[name], _value(data, SCRIPT_MODE),
                               {"content_b64": base64.b64encode(data).decode(), "mode": SCRIPT_MODE,
                                "folders": ancestors(folder)}))
        return out

    def facts(self, ctx: Context, desired: list[Desired]):
        folders = tuple(dict.fromkeys(f for d in desired for f in d.data["folders"]))
        return {FOLDERS: Folders(folders), **{d.target: ShFile(d.target) for d in desired}}

    def plan(self, desired: list[Desired], facts: dict[str, Any]) -> list[Change]:
        rows = []
        for d in desired:
            st = facts[d.target]
            data, mode = base64.b64decode(d.data["content_b64"]), d.data["mode"]
            row = Change(action=self.name, node=d.node, target=d.target, current=_value(st.data, st.mode),
                         desired=d.value)
            blocked = [f for f in d.data["folders"] if facts[FOLDERS][f] not in (FOLDER, ABSENT)]
            if blocked or st.kind not in (FILE, ABSENT):
                row.status = RowStatus.ERROR
                row.message = (f"{blocked[0]} is not a folder" if blocked else
                               f"{d.target} is not a regular file (a folder or a link): the engine writes no file over it")
            elif st.data != data:
                missing = [f for f in d.data["folders"] if facts[FOLDERS][f] == ABSENT]
                row.status = RowStatus.CHANGE
                row.commands = mkdir_commands(missing) + write_commands(d.target, data, mode)
                row.undo = (delete_commands(d.target) + rmdir_commands(missing) if st.kind == ABSENT
                            else write_commands(d.target, st.data, st.mode))
                row.before = {"content_b64": None if st.data is None else base64.b64encode(st.data).decode(),
                              "mode": None if st.mode is None else f"{st.mode:04o}"}
            elif st.mode != mode:
                row.status = RowStatus.CHANGE
                row.commands = chmod_commands(d.target, mode)
                row.undo = chmod_commands(d.target, st.mode)
                row.before = {"mode": f"{st.mode:04o}"}
            rows.append(row)
        return rows
