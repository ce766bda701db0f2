"""The manual for one cluster: an inventory read into the values its pages print
(:class:`runbook_engine.artifacts.deployment.Deployment`), and the parameter sheet's rows.

:func:`load_deployment` reads the inventory with the engine's own loader and asks the engine for
what it would use: the nodes' roles (``Inventory.role``), the data drive and CLUSTERPRO folder a
step reads or writes (the inventory's, else the guide's or the family's default), the script
paths (``engine.actions.scripts.script_paths``) and the scripts' bytes as the ``script-files`` /
``exec-scripts`` action writes them on the configuration node (``engine.actions.scripts.wanted``).
No node is reached and no secret is read: an inventory names the environment variables that hold
its secrets, or a TSIG key file, and only the names and the file's path are kept (never read).

The parameter sheet (:func:`parameter_rows`) lists every value of the inventory the guide uses and
where it is used. "Where" is found, not declared: the hook keeps each page's Markdown as the
macros rendered it (``on_page_markdown``), the sheet is rendered after every other page of the
guide, and each value is looked for in each section (a heading with an anchor) of those pages
(:func:`find_uses`). Values that are not words of a page (a language, a transport) say what uses
them instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from runbook_engine.artifacts.deployment import DeployedDns, DeployedNode, DeployedTarget, Deployment
from runbook_engine.engine.actions import step_scope
from runbook_engine.engine.actions.base import Context
from runbook_engine.engine.actions.preflight import data_drive_of
from runbook_engine.engine.actions.scripts import SCRIPT_RESOURCE_KINDS, clusterpro_dir, script_paths, wanted
from runbook_engine.engine.inventory import Inventory, load_inventory
from runbook_engine.engine.targets import node_target
from runbook_engine.model.project import Project
from runbook_engine.model.schema import Guide, KnowledgeBase


class DeploymentError(ValueError):
    """The inventory cannot make a manual for the guide (one line saying why)."""


def _reach(target) -> DeployedTarget:
    """The transport and its options as the inventory gives them; an option that names an
    environment variable (``*_env``) is kept as that name only."""
    opts = target.options.model_dump() if target.options is not None else {}
    shown, secrets = [], []
    for key, value in opts.items():
        if value is None:
            continue
        if key.endswith("_env"):
            secrets.append((key, str(value)))
        else:
            shown.append((key, str(value)))
    return DeployedTarget(target.transport, tuple(shown), tuple(secrets))


def _script_resource_named(kb: KnowledgeBase, guide: Guide, inv: Inventory) -> bool:
    kind = SCRIPT_RESOURCE_KINDS[kb.family_of(guide).os]
    r = next((r for r in guide.resources if r.kind == kind), None)
    return r is not None and bool(inv.configuration.resources.get(r.id) or r.cluster_name) and bool(inv.cluster_state.group)


def deployment_of(project: Project, inv: Inventory, inventory_name: str, guide: Guide | None = None) -> Deployment:
    """The values of *inv* for *guide* (default: the inventory's guide)."""
    kb = project.knowledge
    guide = guide or kb.guides[inv.guide]
    os_ = kb.family_of(guide).os
    if os_ != inv.platform:
        raise DeploymentError(f"guide '{guide.id}' is a {os_} guide, but inventory {inventory_name} is {inv.platform}")
    topology = sorted(guide.meta.topology.nodes, key=lambda t: t.priority)
    named = _script_resource_named(kb, guide, inv)
    nodes = []
    for i, n in enumerate(inv.nodes):
        t = topology[i] if i < len(topology) else None
        installed = script_paths(kb, guide, inv, n, "installed") if named and guide.scripts is not None else {}
        nodes.append(DeployedNode(
            name=n.name, priority=i + 1, role=inv.role(n.name), lang=n.lang,
            data_drive=n.data_drive or data_drive_of(guide), data_drive_from_inventory=n.data_drive is not None,
            clusterpro_dir=clusterpro_dir(kb, guide, n), clusterpro_dir_from_inventory=n.clusterpro_dir is not None,
            reach=_reach(n), hostname=n.hostname, ip=n.ip,
            topology_id=t.id if t else None, topology_name=t.name if t else None, installed_scripts=installed))
    conf_node = inv.node(inv.configuration_node)
    scripts: dict[str, bytes] = {}
    conf_paths: dict[str, str] = {}
    if guide.scripts is not None:
        ctx = Context(kb, guide, inv, node_target(conf_node), project.snippets)
        scripts = wanted(ctx)  # the bytes the engine writes on the configuration node
        if named and inv.configuration.folder:
            conf_paths = script_paths(kb, guide, inv, conf_node, "configuration")
    fip = inv.fip
    targets = {s.id: tuple(t.name for t in step_scope(s).pick(inv, list(inv.nodes)))
               for s in _all_steps(guide) if s.action or s.scope}
    return Deployment(
        inventory=inventory_name, cluster=inv.cluster, guide=guide.id, platform=inv.platform,
        phase=inv.cluster_state.phase, group=inv.cluster_state.group, active=inv.cluster_state.active,
        fip_address=fip.address if fip else None, fip_host=fip.hostname if fip else None,
        domain=fip.domain if fip else None, mx_preference=fip.mx_preference if fip else None,
        configuration_node=conf_node.name, configuration_folder=inv.configuration.folder,
        resources=dict(inv.configuration.resources), nodes=tuple(nodes),
        dns=tuple(DeployedDns(d.name, _reach(d)) for d in inv.dns),
        scripts=scripts, scripts_lang=conf_node.lang, configuration_scripts=conf_paths, step_targets=targets)


def _all_steps(guide: Guide):
    """The steps of the procedure and of the upgrade procedure."""
    yield from guide.steps()
    if guide.upgrade is not None:
        yield from (s for p in guide.upgrade.phases for s in p.steps)


def load_deployment(project: Project, inventory: str | Path) -> Deployment:
    """The manual's values from the inventory file *inventory* (errors: KbInvalid at its line,
    or DeploymentError)."""
    path = Path(inventory)
    inv = load_inventory(path)
    if inv.guide not in project.knowledge.guides:
        raise DeploymentError(f"inventory {path}: unknown guide '{inv.guide}'")
    return deployment_of(project, inv, str(path))


# --------------------------------------------------------------------------------------------
# The parameter sheet
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One value of the inventory (or one the engine derives from it) on the parameter sheet.

    ``key`` is where it is in the inventory (``nodes[1].ip``); ``label`` the id of its name;
    ``search`` the text to find on the pages (None: not a word of a page, ``use`` says what reads
    it); ``default`` a label id when the value is not the inventory's but a default."""

    section: str
    key: str
    label: str
    value: str
    search: str | None = None
    use: str | None = None
    default: str | None = None
    node: str | None = None


def parameter_rows(d: Deployment, guide: Guide, kb: KnowledgeBase) -> list[Parameter]:
    """Every value of the inventory the guide's manual uses, by section (cluster, nodes, FIP,
    configuration, DNS servers, scripts)."""
    rows: list[Parameter] = [
        Parameter("cluster", "cluster", "param-cluster", d.cluster, d.cluster),
        Parameter("cluster", "guide", "param-guide", d.guide, use="param-use-guide"),
        Parameter("cluster", "platform", "param-platform", d.platform, use="param-use-platform"),
        Parameter("cluster", "cluster_state.phase", "param-phase", d.phase, use="param-use-phase"),
    ]
    if d.group:
        rows.append(Parameter("cluster", "cluster_state.group", "param-group", d.group, d.group))
    if d.active:
        rows.append(Parameter("cluster", "cluster_state.active", "param-active", d.active, use="param-use-active"))
    for i, n in enumerate(d.nodes):
        k = f"nodes[{i}]"
        rows.append(Parameter("nodes", f"{k}.name", "param-node-name", n.name, n.name, node=n.name))
        if n.hostname:
            rows.append(Parameter("nodes", f"{k}.hostname", "param-hostname", n.hostname, n.hostname, node=n.name))
        if n.ip:
            rows.append(Parameter("nodes", f"{k}.ip", "param-ip", n.ip, n.ip, node=n.name))
        rows.append(Parameter("nodes", f"{k}.lang", "param-lang", n.lang, use="param-use-lang", node=n.name))
        rows.append(Parameter("nodes", f"{k}.data_drive", "param-data-drive", n.data_drive, n.data_drive,
                              default=None if n.data_drive_from_inventory else "param-default-guide", node=n.name))
        rows.append(Parameter("nodes", f"{k}.clusterpro_dir", "param-clusterpro-dir", n.clusterpro_dir, n.clusterpro_dir,
                              default=None if n.clusterpro_dir_from_inventory else "param-default-family", node=n.name))
        rows += _reach_rows("nodes", k, n.reach, n.name)
    if d.fip_address:
        rows += [
            Parameter("fip", "fip.address", "param-fip-address", d.fip_address, d.fip_address),
            Parameter("fip", "fip.hostname", "param-fip-host", d.fip_host or "", use="param-use-fqdn"),
            Parameter("fip", "fip.domain", "param-domain", d.domain or "", use="param-use-fqdn"),
            Parameter("fip", "fip.hostname + fip.domain", "param-fip-fqdn", d.fip_fqdn or "", d.fip_fqdn),
            Parameter("fip", "fip.mx_preference", "param-mx-preference", str(d.mx_preference), use="param-use-mx"),
        ]
    rows.append(Parameter("configuration", "configuration.node", "param-configuration-node", d.configuration_node,
                          use="param-use-configuration-node"))
    if d.configuration_folder:
        rows.append(Parameter("configuration", "configuration.folder", "param-configuration-folder",
                              d.configuration_folder, d.configuration_folder))
    for rid, name in d.resources.items():
        rows.append(Parameter("configuration", f"configuration.resources.{rid}", "param-resource", name, name))
    for name, path in d.configuration_scripts.items():
        rows.append(Parameter("configuration", "configuration.folder", "param-script-path", path, path))
    for n in d.nodes:
        for name, path in n.installed_scripts.items():
            rows.append(Parameter("configuration", "nodes[].clusterpro_dir", "param-installed-path", path, path, node=n.name))
    for i, s in enumerate(d.dns):
        k = f"dns[{i}]"
        rows.append(Parameter("dns", f"{k}.name", "param-dns-name", s.name, s.name))
        rows += _reach_rows("dns", k, s.reach, s.name)
    return rows


def _reach_rows(section: str, key: str, reach: DeployedTarget, name: str) -> list[Parameter]:
    """How the engine reaches a target: its transport and options in one row (one option a
    line), and one row per environment variable that holds one of its secrets (the name only)."""
    rows = [Parameter(section, f"{key}.transport", "param-transport",
                      "\n".join([reach.transport] + [f"{opt}: {value}" for opt, value in reach.options]),
                      use="param-use-reach", node=name)]
    for opt, env in reach.secret_envs:
        rows.append(Parameter(section, f"{key}.{opt}", "param-secret-env", env, use="param-use-secret", node=name))
    return rows


@dataclass(frozen=True)
class Section:
    """A part of a rendered page: from a heading with an anchor to the next one."""

    page: str  # path under docs/
    anchor: str  # "" for the top of the page
    title: str
    text: str


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(?:\{\s*#([A-Za-z0-9_-]+)\s*\})?\s*$")


def sections(page: str, markdown: str) -> list[Section]:
    """The sections of a page's rendered Markdown: a new one at each heading that has an explicit
    anchor (``{ #id }``, as every step and phase heading has); other headings stay in the
    section they are in. Fenced code is not read for headings."""
    out: list[Section] = []
    title, anchor, lines = "", "", []
    fence = None
    for line in markdown.splitlines():
        stripped = line.lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
        elif fence is not None and stripped.startswith(fence):
            fence = None
        m = _HEADING.match(line) if fence is None else None
        if m and not title:
            title = m.group(2)
        if m and m.group(3):
            out.append(Section(page, anchor, title, "\n".join(lines)))
            title, anchor, lines = m.group(2), m.group(3), []
        lines.append(line)
    out.append(Section(page, anchor, title, "\n".join(lines)))
    return [s for s in out if s.text.strip()]


def _word(value: str) -> re.Pattern:
    """*value* as a whole word (not inside a longer name, address or path)."""
    return re.compile(r"(?<![A-Za-z0-9_.\\/-])" + re.escape(value) + r"(?![A-Za-z0-9_-]|\.[0-9])")


def find_uses(value: str, pages: Iterable[Section]) -> list[Section]:
    """The sections whose text holds *value* as a whole word."""
    pattern = _word(value)
    return [s for s in pages if pattern.search(s.text)]


@dataclass
class RenderedPages:
    """The guide's pages as the macros rendered them in this build (filled by the hook)."""

    pages: dict[str, str] = field(default_factory=dict)  # path under docs/ -> Markdown

    def sections(self, exclude: str = "") -> list[Section]:
        return [s for page, md in self.pages.items() if page != exclude for s in sections(page, md)]

    def titles(self) -> dict[str, str]:
        """Each page's title (its first heading)."""
        out = {}
        for page, md in self.pages.items():
            first = next((m for line in md.splitlines() if (m := _HEADING.match(line))), None)
            out[page] = first.group(2) if first else page
        return out
