"""The script resource's files, the way CLUSTERPRO takes them.

START.BAT and STOP.BAT are part of the cluster configuration: beside clp.conf in the configuration
folder, as ``scripts\\<group>\\<resource>\\start.bat`` and ``stop.bat`` (the family's
``configuration``); delivering the configuration (the operator's step: Builder, Cluster WebUI or
``clpcfctrl --push``) copies them to the same place under every server's CLUSTERPRO folder.

* ``script-files`` writes them into the configuration folder on the configuration node, byte for
  byte what the site shows (atomically: base64 lines, decode to a temp file, rename).
* ``installed-scripts`` (read-only) reads the delivered copies on every node and reports any that
  is missing or differs from what the guide generates, and any that differs between nodes.
"""
from __future__ import annotations

import base64
import hashlib
from typing import Any

from runbook_engine.model.schema import Guide, KnowledgeBase
from runbook_engine.artifacts.scripts import render_scripts
from runbook_engine.engine.actions import register_action
from runbook_engine.engine.actions.base import Action, Change, Context, Desired
from runbook_engine.engine.facts.files import FileContent, delete_commands, write_commands
from runbook_engine.engine.inventory import Inventory, NodeSpec
from runbook_engine.engine.status import RowStatus


def digest(data: bytes | None) -> str | None:
    return None if data is None else "sha256:" + hashlib.sha256(data).hexdigest()[:16]


#: the resource kind that runs the guide's scripts, by the family's operating system
SCRIPT_RESOURCE_KINDS = {"windows": "script", "linux": "exec"}


def script_resource_folder(kb: KnowledgeBase, guide: Guide, inv: Inventory | None) -> str:
    """``scripts\\<group>\\<resource>`` (Windows) or ``scripts/<group>/<resource>`` (Linux) for the
    guide's script or exec resource, from the inventory's names; a ValueError (an error on the
    step) says which inventory key is missing."""
    kind = SCRIPT_RESOURCE_KINDS[kb.family_of(guide).os]
    resource = next((r for r in guide.resources if r.kind == kind), None)
    if resource is None:
        raise ValueError(f"guide '{guide.id}' has no {kind} resource")
    if inv is None or not inv.cluster_state.group:
        raise ValueError("the inventory names no failover group: set cluster_state.group")
    name = inv.configuration.resources.get(resource.id)
    if not name:
        raise ValueError(f"the inventory names no {kind} resource: set configuration.resources.{resource.id} "
                         f"to the {kind} resource's name in the cluster configuration")
    return kb.family_of(guide).configuration.folder(inv.cluster_state.group, name)


def clusterpro_dir(kb: KnowledgeBase, guide: Guide, node: NodeSpec) -> str:
    """CLUSTERPRO's installation folder on *node*: the inventory's, or the guide's family's default."""
    return node.clusterpro_dir or kb.family_of(guide).configuration.install_dir


def script_paths(kb: KnowledgeBase, guide: Guide, inv: Inventory | None, node: NodeSpec, where: str) -> dict[str, str]:
    """Each generated script's path on *node* (a Windows path, or a POSIX one for a Linux
    family): in the configuration folder (``where="configuration"``) or where a delivery installs
    it (``"installed"``)."""
    family = kb.family_of(guide)
    conf = family.configuration
    if where == "configuration":
        root = inv.configuration.folder if inv else None
        if not root:
            raise ValueError("the inventory names no configuration folder: set configuration.folder "
                             "(the folder with the cluster's clp.conf on the configuration node)")
    else:
        root = clusterpro_dir(kb, guide, node)
    sep = "/" if family.os == "linux" else "\\"
    folder = f"{root.rstrip(sep)}{sep}{script_resource_folder(kb, guide, inv)}"
    return {name: f"{folder}{sep}{file}" for name, file in conf.script_files.items()}


def wanted(ctx: Context) -> dict[str, bytes]:
    """The bytes the engine writes (and checks), by the guide's script name (START.BAT, STOP.BAT):
    the same rendering as the site's downloads."""
    return {name: s.data for name, s in render_scripts(ctx.kb, ctx.guide, ctx.lang, ctx.snippets).items()}


def _desired(ctx: Context, where: str, tag: str) -> list[Desired]:
    paths = script_paths(ctx.kb, ctx.guide, ctx.inventory, ctx.node, where)
    return [Desired(ctx.target.name, paths[name], digest(data),
                    {"content_b64": base64.b64encode(data).decode(), "tag": f"{ctx.target.name}-{tag}{i}"})
            for i, (name, data) in enumerate(wanted(ctx).items())]


def _file_facts(self, ctx: Context, desired: list[Desired]):
    """Both actions read the content of each script file, wherever it is."""
    return {d.target: FileContent(d.target, tag=d.data["tag"]) for d in desired}


@register_action
class ScriptFiles(Action):
    name = "script-files"
    platform = "windows"
    scope = "configuration"

    def wanted(self, ctx: Context) -> dict[str, bytes]:
        return wanted(ctx)

    def desired(self, ctx: Context) -> list[Desired]:
        return _desired(ctx, "configuration", "c")

    facts = _file_facts

    def plan(self, desired: list[Desired], facts: dict[str, Any]) -> list[Change]:
        rows = []
        for d in desired:
            path, tag, current = d.target, d.data["tag"], facts[d.target]
            data = base64.b64decode(d.data["content_b64"])
            row = Change(action=self.name, node=d.node, target=path, current=digest(current), desired=d.value)
            if current != data:
                row.status = RowStatus.CHANGE
                row.commands = write_commands(path, data, tag=f"{tag}w")
                row.undo = (delete_commands(path) if current is None
                            else write_commands(path, current, tag=f"{tag}u"))
                row.before = {"content_b64": None if current is None else base64.b64encode(current).decode()}
            rows.append(row)
        return rows


@register_action
class InstalledScripts(Action):
    name = "installed-scripts"
    platform = "windows"
    scope = "all-nodes"
    read_only = True
    compare_across_nodes = True

    def desired(self, ctx: Context) -> list[Desired]:
        return _desired(ctx, "installed", "i")

    facts = _file_facts

    def plan(self, desired: list[Desired], facts: dict[str, Any]) -> list[Change]:
        rows = []
        for d in desired:
            current = facts[d.target]
            row = Change(action=self.name, node=d.node, target=d.target, current=digest(current), desired=d.value)
            if current is None:
                row.status = RowStatus.ERROR
                row.message = "missing: the cluster configuration has not been delivered to this server"
            elif digest(current) != d.value:
                row.status = RowStatus.ERROR
                row.message = "differs from the guide's script: deliver the configuration again"
            rows.append(row)
        return rows
