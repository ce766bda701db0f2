"""Every table's twin: for each table source (``artifacts.markdown.TABLE_SOURCES``), what its
tables must say for a guide in a language, made here from the engine's own data where the engine
has an action for it, else from the model, and never from the functions that print the tables
(``GuideTables``, ``Site``): a table compared with the function that printed it proves nothing.

``TWINS[source](project, guide, lang, deployment=None)`` returns ``{key: Expected}``: one expected
table per key the source's producer writes at once (a direction, a family, a script, a section of
the parameter sheet; ``""`` for a source with one table). With a *deployment* (a manual for one
cluster, ``runbook build --inventory``) the twin uses that cluster's inventory and values.

Where the engine has an action, the facts of the rows come from its ``desired()`` on an inventory:

* services: ``services-manual`` / ``units-manual`` (the services, in order), watch ids and flags
  from the ARMLOAD lines of the START.BAT that ``script-files`` writes;
* dns-records: ``dns-records`` (every record the DNS step sets; the plain site's placeholders are
  filled with the inventory's values before the comparison);
* resources: registry keys from ``registry-key``, mount points, devices and file systems from
  ``preflight-linux``, each service resource's service from ``services-manual``;
* ports, app-ports: the inbound rows are the ports ``firewall-ports`` opens (Linux guides);
* environment: the OS and file system the preflight checks expect;
* script-paths, parameters: ``script-files`` / ``installed-scripts`` paths, the engine's inventory;
* cases: the batch simulator's run of the START.BAT / STOP.BAT the engine writes (Windows), the
  cases the data declares (Linux: tests/test_linux_scripts.py runs them in bash);
* steps: the runner's steps (``automated_steps``), each mode from its action (read-only: check).

The inventory is the engine's sandbox for the guide (its topology's nodes, the page's language, the
sandbox's FIP, group, configuration folder and DNS zones), built here as `runbook sandbox create`
builds it, or the manual's own inventory.
"""
from __future__ import annotations

import base64
import html.parser
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import markdown

#: what a table shows for a value that does not apply
DASH = "—"


@dataclass
class Expected:
    """One table as its twin says it must be. ``read`` turns the table's shown rows into what is
    compared (default: the rows as shown); ``ordered`` False compares the rows as a multiset."""

    header: list[str]
    rows: list[list[str]]
    read: Callable | None = None  # (Table, ParsedPage) -> rows
    ordered: bool = True


# --------------------------------------------------------------------------------------------
# Reading: what a reader sees of a text
# --------------------------------------------------------------------------------------------


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def shown(text: str) -> str:
    """What a reader sees of one Markdown text (code spans, emphasis and links read as their text)."""
    p = _Text()
    p.feed(markdown.markdown(text))
    p.close()
    return "".join(p.parts).strip()


def norm_cell(cell: str) -> str:
    return "\n".join(" ".join(line.split()) for line in cell.strip().split("\n"))


def norm_rows(rows) -> list[list[str]]:
    return [[norm_cell(str(c)) for c in row] for row in rows]


class Words:
    """The texts of one language: labels, the guide's texts as shown (with a deployment, the
    cluster's values where the guide's texts name placeholders)."""

    def __init__(self, kb, guide, lang: str, deployment=None):
        self.kb, self.guide, self.lang, self.deployment = kb, guide, lang, deployment

    def L(self, label_id: str, **fmt: str) -> str:
        text = self.kb.label(label_id)(self.lang)
        return text.format(**fmt) if fmt else text

    def T(self, text) -> str:
        if text is None:
            return ""
        s = text(self.lang)
        if self.deployment is not None:
            s = self.deployment.substitute(s, self.guide, self.kb.family_of(self.guide).os, self.lang)
        return shown(s)


# --------------------------------------------------------------------------------------------
# The engine: a sandbox-like inventory and the actions' desired()
# --------------------------------------------------------------------------------------------

SANDBOX_DNS = [("dns-active", 15353), ("dns-standby", 15354)]


@lru_cache(maxsize=None)
def _sandbox_inventory_cached(guide_id: str, lang: str):
    from runbook_engine.engine.inventory import Inventory
    from runbook_engine.model.project import Project
    from runbook_engine.engine.transports.environ import SANDBOX_TSIG_ENV as TSIG_ENV
    from runbook_engine.sandbox.cluster import (FORWARD_ZONE, REVERSE_ZONE, SANDBOX_CONFIGURATION_LINUX,
                                                node_names, resource_names, windows_inventory)

    kb = Project.find(Path(__file__).resolve().parents[1]).knowledge
    guide = kb.guides[guide_id]
    names = node_names(guide)
    if kb.family_of(guide).os == "windows":
        raw = windows_inventory(guide, names, {n: f"/nonexistent/sandbox/{n}" for n in names})
    else:  # as the Linux sandbox writes it (sandbox/cluster.py), nodes that are not reached
        raw = {"cluster": "sandbox", "guide": guide.id, "platform": "linux",
               "nodes": [{"name": n, "transport": "nspawn", "machine": f"/nonexistent/{n}", "hostname": n,
                          "ip": f"192.0.2.{10 + i}"} for i, n in enumerate(names, start=1)],
               "cluster_state": {"phase": "install", "group": "failover1"},
               "configuration": {"node": names[0], "folder": SANDBOX_CONFIGURATION_LINUX,
                                 "resources": resource_names(guide)}}
        raw["fip"] = {"address": "192.0.2.10", "hostname": guide.id, "domain": "example.test"}
    for node in raw["nodes"]:
        node["lang"] = lang
    raw["dns"] = [{"name": name, "server": "127.0.0.1", "port": port, "key_name": "runbook-sandbox",
                   "key_secret_env": TSIG_ENV, "forward_zone": FORWARD_ZONE, "reverse_zone": REVERSE_ZONE}
                  for name, port in SANDBOX_DNS]
    return Inventory.model_validate(raw)


def inventory_of(project, guide, lang: str, deployment=None):
    """The inventory the engine runs on: the manual's, else the guide's sandbox in *lang*."""
    if deployment is not None:
        from runbook_engine.engine.inventory import load_inventory

        return load_inventory(Path(deployment.inventory))
    return _sandbox_inventory_cached(guide.id, lang)


def names_action(guide, name: str) -> bool:
    """The guide's procedure has a step the engine runs with action *name*."""
    return any(s.action == name for s in guide.steps())


def desired(project, guide, inv, name: str, target: str | None = None) -> list:
    """``desired()`` of action *name* for *guide* on the inventory's node *target* (default: its
    scope's first target: the configuration node, the first node or DNS server)."""
    from runbook_engine.engine.actions import action
    from runbook_engine.engine.actions.base import Context
    from runbook_engine.engine.targets import all_targets, scope

    act = action(name)
    targets = all_targets(inv)
    if target is None:
        picked = scope(act.scope).pick(inv, list(inv.nodes))
        target = picked[0].name
    return act.desired(Context(project.knowledge, guide, inv, targets[target], project.snippets))


# --------------------------------------------------------------------------------------------
# The twins
# --------------------------------------------------------------------------------------------


def _deployed_resources(guide, deployment) -> dict:
    if deployment is None:
        return {}
    return dict(deployment.resources)


def _type_name(w: Words, fam, kind: str, monitor: bool = False) -> str:
    for t in (fam.monitor_types if monitor else fam.resource_types):
        if t.kind == kind:
            return f"{w.T(t.name)} ({t.type})"
    return kind


def twin_resources(project, guide, lang, deployment=None):
    kb = project.knowledge
    fam = kb.family_of(guide)
    w = Words(kb, guide, lang, deployment)
    inv = inventory_of(project, guide, lang, deployment)
    cluster = {r.id: r.cluster_name for r in guide.resources if r.cluster_name}
    cluster.update({k: v for k, v in _deployed_resources(guide, deployment).items()})
    name_of = {r.id: cluster.get(r.id) or w.T(r.name) for r in guide.resources}
    # the engine's facts
    keys = iter(d.target for d in desired(project, guide, inv, "registry-key")) if names_action(guide, "registry-key") else None
    mounts = {}
    if names_action(guide, "preflight-linux"):
        for d in desired(project, guide, inv, "preflight-linux"):
            if d.data["check"] == "fs":
                mounts[d.data["path"]] = (d.value, d.data["device"])
    services = None
    if names_action(guide, "services-manual"):
        services = {d.target for d in desired(project, guide, inv, "services-manual")}
    by_id = {s.id: s for s in guide.services}
    rows = []
    for r in guide.resources:
        lines = [w.T(r.detail)]
        if deployment is not None and r.kind == "fip" and inv.fip is not None:
            lines.append(f"{w.L('conf-fip')}: {inv.fip.address}")
            lines.append(f"{w.L('param-fip-fqdn')}: {inv.fip.hostname}.{inv.fip.domain}")
        if deployment is not None and r.kind in ("disk", "md") and fam.os == "windows":
            from runbook_engine.engine.actions.preflight import data_drive_of

            drives = dict.fromkeys(n.data_drive or data_drive_of(guide) for n in inv.nodes)
            lines.append(f"{w.L('param-data-drive')}: " + ", ".join(drives))
        if r.key:
            key = next(keys) if keys is not None else r.key
            lines.append(f"{w.L('registry-key')}: {key}")
        fs, device = mounts.get(r.mount_point, (r.file_system, r.data_partition))
        for label, value in (("data-partition", device), ("cluster-partition", r.cluster_partition),
                             ("file-system", fs), ("mount-point", r.mount_point)):
            if value is not None:
                lines.append(f"{w.L(label)}: {value}")
        if r.service:
            s = by_id[r.service]
            assert services is None or s.service in services, f"{guide.id}: {s.service} is not a service the engine sets"
            lines.append(f"{w.L('service-name')}: {s.service} ({s.display_name})")
        if r.optional:
            lines.append(f"({w.L('optional')})")
        depends = ", ".join(name_of[d] for d in r.depends_on) or DASH
        rows.append([w.T(r.name), _type_name(w, fam, r.kind), cluster.get(r.id, DASH), depends, "\n".join(lines)])
    if keys is not None:
        assert next(keys, None) is None, f"{guide.id}: the engine checks a registry key no resource names"
    header = [w.L(x) for x in ("resource", "resource-type", "cluster-name", "depends-on", "detail")]
    return {"": Expected(header, rows)}


def twin_monitors(project, guide, lang, deployment=None):
    kb = project.knowledge
    fam = kb.family_of(guide)
    w = Words(kb, guide, lang, deployment)
    cluster = {r.id: r.cluster_name for r in guide.resources if r.cluster_name}
    cluster.update(_deployed_resources(guide, deployment))
    name_of = {r.id: cluster.get(r.id) or w.T(r.name) for r in guide.resources}
    rows = []
    for m in guide.monitors:
        settings = "\n".join(f"{w.T(p.name)}: {p.value}" + (f" ({p.tag})" if p.tag else "") for p in m.parameters) or DASH
        requires = w.T(m.requires) or DASH
        if m.optional:
            requires += f"\n({w.L('optional')})"
        recovery = name_of[m.recovery_target] if m.recovery_target else DASH
        if m.recovery_action:
            recovery += f"\n({w.L('recovery-action-' + m.recovery_action)})"
        rows.append([f"{w.T(m.name)} ({m.id})", _type_name(w, fam, m.kind, monitor=True),
                     name_of.get(m.target, DASH) if m.target else DASH, recovery, settings, requires])
    header = [w.L(x) for x in ("monitors", "monitor-type", "monitor-target", "recovery-target", "monitor-settings", "requires")]
    return {"": Expected(header, rows)} if rows else {}


ARMLOAD = re.compile(r'^ARMLOAD\s+(\S+)((?:\s+/[A-Z]+)*)\s+"([^"]+)"\s*$')


def start_bat_armloads(project, guide, inv) -> dict[str, tuple[str, str]]:
    """service -> (watch id, flags) of every ARMLOAD line of the START.BAT the engine writes into
    the configuration folder (script-files, on the configuration node, in that node's language)."""
    from runbook_engine.artifacts.scripts import script_encoding

    fam = project.knowledge.family_of(guide)
    start = fam.configuration.script_files["START.BAT"]
    conf_node = inv.node(inv.configuration_node)
    out: dict[str, tuple[str, str]] = {}
    for d in desired(project, guide, inv, "script-files", conf_node.name):
        if d.target.lower().endswith("\\" + start.lower()):
            text = base64.b64decode(d.data["content_b64"]).decode(script_encoding("windows", conf_node.lang))
            for line in text.replace("\r\n", "\n").split("\n"):
                m = ARMLOAD.match(line.strip())
                if m:
                    found = (m.group(1), " ".join(m.group(2).split()))
                    assert out.setdefault(m.group(3), found) == found, f"{m.group(3)}: two ARMLOADs differ"
    return out


def twin_services(project, guide, lang, deployment=None):
    kb = project.knowledge
    w = Words(kb, guide, lang, deployment)
    inv = inventory_of(project, guide, lang, deployment)
    manual = guide.manual_services()
    by_name = {s.service: s for s in guide.services}
    action_name = "services-manual" if kb.family_of(guide).os == "windows" else "units-manual"
    if names_action(guide, action_name):
        order = [d.target for d in desired(project, guide, inv, action_name)]
    else:  # no engine step sets them: the guide's list
        order = [s.service for s in manual]
    scripted = any(s.scripted for s in manual)
    armloads = start_bat_armloads(project, guide, inv) if scripted and names_action(guide, "script-files") else None
    cluster = {r.id: r.cluster_name for r in guide.resources if r.cluster_name}
    cluster.update(_deployed_resources(guide, deployment))
    name_of = {r.id: cluster.get(r.id) or w.T(r.name) for r in guide.resources}
    started_by = {r.service: name_of[r.id] for r in guide.resources if r.service}
    features = {f.id: w.T(f.name) for f in guide.meta.features}
    header = [w.L("service-name"), w.L("display-name")]
    header += [w.L("watch-id"), w.L("flags")] if scripted else []
    header += [w.L("started-by")] if started_by else []
    header += [w.L("feature"), w.L("set-in-step")]
    rows = []
    for name in order:
        s = by_name[name]
        row = [s.service, s.display_name]
        if scripted:
            if s.scripted and armloads is not None:
                watch, flags = armloads[s.service]
            else:
                watch, flags = (s.watch_id or DASH), (" ".join(s.flags) if s.scripted else DASH)
            row += [watch, flags]
        if started_by:
            row.append(started_by.get(s.id, DASH))
        step = guide.step(s.manual_in)
        rows.append(row + [features[s.feature], f"{step.label}. {w.T(step.title)}"])
    if armloads is not None:
        assert set(armloads) == {s.service for s in manual if s.scripted}, f"{guide.id}: START.BAT's ARMLOADs"
    return {"": Expected(header, rows)}


def _guide_ports(kb, guide, direction: str) -> list:
    """The family's port records the guide lists, of *direction*, that apply to one of the
    guide's versions (read here from the records, not through the model's selection)."""
    fam = kb.family_of(guide)
    by_id = {p.id: p for p in fam.ports}
    mine = set(guide.meta.scope.applies_to)
    return [by_id[i] for i in guide.meta.ports
            if by_id[i].direction == direction and mine & set(fam.port_versions(by_id[i]))]


def _engine_opens(project, guide, lang, deployment, found: set) -> None:
    """The inbound ports of the tables are the ports firewall-ports opens (a guide that runs it)."""
    if not names_action(guide, "firewall-ports"):
        return
    inv = inventory_of(project, guide, lang, deployment)
    (d,) = desired(project, guide, inv, "firewall-ports")
    opened = {("tcp", p) for p in d.value["tcp"]} | {("udp", p) for p in d.value["udp"]}
    assert found == opened, f"{guide.id}: the tables' inbound ports {sorted(found ^ opened)} differ from firewall-ports'"


def twin_ports(project, guide, lang, deployment=None):
    kb = project.knowledge
    fam = kb.family_of(guide)
    w = Words(kb, guide, lang, deployment)
    names = {v.id: v.name for v in fam.versions}
    out = {}
    for direction, side in (("in", "local-port"), ("out", "remote-port")):
        ports = _guide_ports(kb, guide, direction)
        if not ports:
            continue
        header = [w.L(x) for x in ("protocol", "direction", side, "purpose", "peer", "applies-to", "condition")]
        rows = [[p.protocol.upper(), w.L(p.direction), str(p.port), w.T(p.purpose), w.T(p.peer),
                 ", ".join(names[v] for v in fam.port_versions(p) if v in guide.meta.scope.applies_to),
                 w.T(p.condition) or DASH] for p in ports]
        out[direction] = Expected(header, rows)
    inbound = {(p.protocol, p.port) for p in _guide_ports(kb, guide, "in")} | {(p.protocol, p.port) for p in guide.meta.app_ports}
    _engine_opens(project, guide, lang, deployment, inbound)
    return out


def twin_app_ports(project, guide, lang, deployment=None):
    kb = project.knowledge
    w = Words(kb, guide, lang, deployment)
    if not guide.meta.app_ports:
        return {}
    header = [w.L(x) for x in ("protocol", "direction", "local-port", "purpose", "peer")]
    rows = [[p.protocol.upper(), w.L("in"), str(p.port), w.T(p.purpose), w.T(p.peer)] for p in guide.meta.app_ports]
    return {"": Expected(header, rows)}


def fill_dns(text: str, inv, guide) -> str:
    """A placeholder of the plain site's DNS table (<FIP>, <SV1-host>, <SV2-last-octet>.<reverse-zone>.)
    with the inventory's value (its nodes are named after the topology's node ids; a topology node
    the inventory does not have fills nothing)."""
    fip = inv.fip
    have = {x.name for x in inv.nodes}
    by_name = {n.name: inv.node(n.id) for n in guide.meta.topology.nodes if n.id in have}

    def reverse(ip: str) -> str:
        return ".".join(reversed(ip.split("."))) + ".in-addr.arpa."

    text = re.sub(r"<([A-Za-z0-9-]+)-last-octet>\.<reverse-zone>\.",
                  lambda m: reverse(fip.address if m.group(1) == "FIP" else by_name[m.group(1)].ip), text)
    text = text.replace("<FIP-host>", fip.hostname)
    text = re.sub(r"<([A-Za-z0-9]+)-host>", lambda m: by_name[m.group(1)].hostname, text)
    return text.replace("<domain>", fip.domain).replace("<FIP>", fip.address).replace("<preference>", str(fip.mx_preference))


def twin_dns_records(project, guide, lang, deployment=None):
    kb = project.knowledge
    w = Words(kb, guide, lang, deployment)
    inv = inventory_of(project, guide, lang, deployment)
    specs = {}
    for r in guide.dns.records:
        assert specs.setdefault(r.rtype, r) is r, f"{guide.id}: two record specs of type {r.rtype}"
    rows = [[d.data["rtype"], d.data["name"], value, w.T(specs[d.data["rtype"]].target),
             w.T(specs[d.data["rtype"]].required_for) or DASH]
            for d in desired(project, guide, inv, "dns-records") for value in d.value]

    def read(table, page):  # the values as the engine compares them: lower case, placeholders filled
        fill = (lambda s: s) if deployment is not None else (lambda s: fill_dns(s, inv, guide))
        return [[r[0], fill(r[1]).lower(), fill(r[2]).lower(), *r[3:]] for r in table.rows]

    header = [w.L(x) for x in ("record", "dns-owner", "dns-data", "detail", "required")]
    return {"": Expected(header, rows, read=read, ordered=False)}


def _configuration_words(kb, guide, lang: str, deployment) -> dict[str, str]:
    os_ = kb.family_of(guide).os
    w = Words(kb, guide, lang)
    words = {k: f"<{w.L('conf-' + k)}>" for k in ("folder", "group", "resource")}
    if os_ == "linux":
        words["resource"] = f"<{w.L('conf-exec-resource')}>"
    if deployment is not None:
        from runbook_engine.engine.inventory import load_inventory

        inv = load_inventory(Path(deployment.inventory))
        kind = "exec" if os_ == "linux" else "script"
        r = next((r for r in guide.resources if r.kind == kind), None)
        given = {"folder": inv.configuration.folder, "group": inv.cluster_state.group,
                 "resource": (inv.configuration.resources.get(r.id) or r.cluster_name) if r else None}
        words.update({k: v for k, v in given.items() if v})
    return words


def twin_delivery(project, guide, lang, deployment=None):
    kb = project.knowledge
    fam = kb.family_of(guide)
    w = Words(kb, guide, lang, deployment)
    words = _configuration_words(kb, guide, lang, deployment)
    names = {v.id: v.name for v in fam.versions}
    rows = [[", ".join(names[v] for v in d.versions), w.T(d.tool), w.T(d.text),
             "\n".join(c.format(**words) for c in d.commands) or "-"] for d in fam.configuration.delivery]
    header = [w.L(x) for x in ("versions", "tool", "what-to-do", "operator-commands")]
    return {"": Expected(header, rows)}


def twin_origin(project, guide, lang, deployment=None):
    if guide.origin is None:
        return {}
    w = Words(project.knowledge, guide, lang, deployment)
    steps = {s.id: s for s in guide.steps()}
    phases = {p.id: p for p in guide.procedure.phases}
    rows, mapped = [], set()

    def walk(section, items, prefix):
        for item in items:
            number = f"{prefix} {item.label}".strip()
            ours = [f"({phases[item.phase].label}) {w.T(phases[item.phase].title)}"] if item.phase else []
            ours += [f"{steps[s].label}. {w.T(steps[s].title)}" for s in item.steps]
            mapped.update(item.steps)
            content = w.T(item.title) + ("\n" + w.T(item.note) if item.note else "")
            rows.append([w.T(section.title), number, content, "\n".join(ours) or DASH])
            walk(section, item.items, number)

    for section in guide.origin.sections:
        walk(section, section.items, "")
    rows += [[DASH, DASH, w.L("origin-added"), f"{s.label}. {w.T(s.title)}"] for s in guide.steps() if s.id not in mapped]
    header = [w.L(x) for x in ("origin-section", "origin-number", "origin-content", "origin-steps")]
    return {"": Expected(header, rows)}


def _ranges(fam, ids, dash: str) -> str:
    """*ids* as runs of consecutive versions of the family (its order)."""
    order = [v.id for v in sorted(fam.versions, key=lambda v: v.order)]
    names = {v.id: v.name for v in fam.versions}
    runs: list[list[str]] = []
    for v in order:
        if v in ids:
            if runs and order.index(runs[-1][-1]) == order.index(v) - 1:
                runs[-1].append(v)
            else:
                runs.append([v])
    return ", ".join(names[r[0]] if len(r) == 1 else f"{names[r[0]]}{dash}{names[r[-1]]}" for r in runs)


def twin_compatibility(project, guide, lang, deployment=None):
    kb = project.knowledge
    w = Words(kb, None, lang)
    header = [w.L(x) for x in ("guide", "edition", "cluster-versions", "operating-systems", "conditions")]
    out = {}
    for fid, fam in kb.families.items():
        rows = []
        for g in (g for g in kb.guides.values() if g.meta.family == fid):
            versions = _ranges(fam, set(g.meta.scope.applies_to), w.L("range-separator"))
            for ed in g.meta.scope.editions:
                notes = "\n".join(shown(t(lang)) for t in (*ed.conditions, *ed.reasons)) or DASH
                rows.append([shown(g.meta.product(lang)), f"{shown(ed.name(lang))} {shown(ed.versions(lang))}",
                             versions if ed.supported else w.L("not-supported"),
                             "\n".join(g.meta.environment.operating_systems), notes])
        if rows:
            out[fid] = Expected(header, rows, ordered=False)
    return out


def twin_family_versions(project, guide, lang, deployment=None):
    kb = project.knowledge
    w = Words(kb, None, lang)
    header = [w.L(x) for x in ("version", "internal-version", "sources")]
    return {fid: Expected(header, [[v.name, v.internal or DASH, v.source or w.L("seed-source")]
                                   for v in sorted(fam.versions, key=lambda v: v.order)])
            for fid, fam in kb.families.items() if any(g.meta.family == fid for g in kb.guides.values())}


def twin_editions(project, guide, lang, deployment=None):
    w = Words(project.knowledge, guide, lang, deployment)
    rows = [[w.T(ed.name), w.T(ed.versions), w.L("supported") if ed.supported else w.L("not-supported"),
             "\n".join(w.T(t) for t in (*ed.conditions, *ed.reasons))] for ed in guide.meta.scope.editions]
    return {"": Expected([w.L(x) for x in ("edition", "version", "support", "conditions")], rows)}


def twin_features(project, guide, lang, deployment=None):
    w = Words(project.knowledge, guide, lang, deployment)
    rows = [[w.T(f.name), w.T(f.description)] for f in guide.meta.features]
    return {"": Expected([w.L("feature"), w.L("detail")], rows)} if rows else {}


#: what each network kind and disk kind is called in the figures' legend (label ids)
KIND_WORDS = {"public": "network-public", "interconnect": "network-interconnect", "disk": "shared-disk", "md": "mirror-disk"}
DISK_WORDS = {"disk": "legend-disk", "md": "legend-mirror-disk"}


def twin_figure_legend(project, guide, lang, deployment=None):
    w = Words(project.knowledge, guide, lang, deployment)
    if not guide.meta.topology.figures:
        return {}
    rows = [[w.T(r.name), w.T(r.detail)] for r in guide.resources if r.kind == "fip"]
    rows += [[f"{w.T(n.name)} ({w.L(KIND_WORDS[n.kind])})", w.T(n.description)] for n in guide.meta.topology.networks]
    rows += [[f"{w.T(r.name)} ({w.L(KIND_WORDS[r.kind])})", w.L(DISK_WORDS[r.kind])] for r in guide.resources if r.kind in DISK_WORDS]
    return {"": Expected([w.L("figure-element"), w.L("detail")], rows)} if rows else {}


def twin_environment(project, guide, lang, deployment=None):
    env = guide.meta.environment
    if env is None:
        return {}
    w = Words(project.knowledge, guide, lang, deployment)
    oses, fs = list(env.operating_systems), env.file_system
    inv = inventory_of(project, guide, lang, deployment)
    for name in ("preflight", "preflight-linux"):
        if names_action(guide, name):
            checks = desired(project, guide, inv, name)
            oses = next(d.value for d in checks if d.data["check"] == "os").split(" / ")
            systems = {d.value for d in checks if d.data["check"] == "fs"}
            assert len(systems) == 1, f"{guide.id}: the preflight checks expect file systems {sorted(systems)}"
            (fs,) = systems
    rows = [[w.L("os"), "\n".join(oses)], [w.L("protocol"), env.protocol], [w.L("file-system"), fs]]
    return {"": Expected([w.L("detail"), w.L("value")], rows)}


def twin_script_variables(project, guide, lang, deployment=None):
    w = Words(project.knowledge, guide, lang, deployment)
    rows = [[v.name, w.T(v.description), "\n".join(f"{x.value}: {w.T(x.meaning)}" for x in v.values)]
            for v in project.knowledge.family_of(guide).script_variables]
    return {"": Expected([w.L(x) for x in ("variable-name", "detail", "variable-value")], rows)}


def twin_arm_commands(project, guide, lang, deployment=None):
    w = Words(project.knowledge, guide, lang, deployment)
    rows = [[c.name, c.synopsis, w.T(c.description)] for c in project.knowledge.family_of(guide).arm_commands]
    return {"": Expected([w.L(x) for x in ("arm-commands", "synopsis", "detail")], rows)} if rows else {}


def twin_arm_options(project, guide, lang, deployment=None):
    w = Words(project.knowledge, guide, lang, deployment)
    header = [w.L(x) for x in ("flags", "option-meaning", "recommended")]
    return {c.name: Expected(header, [[o.flag, w.T(o.meaning), w.L("recommended" if o.recommended else "not-recommended")]
                                      for o in c.options])
            for c in project.knowledge.family_of(guide).arm_commands if c.options}


def twin_script_settings(project, guide, lang, deployment=None):
    if guide.scripts is None or not guide.scripts.settings:
        return {}
    w = Words(project.knowledge, guide, lang, deployment)
    rows = [[s.name, s.value, w.T(s.text)] for s in guide.scripts.settings]
    return {"": Expected([w.L(x) for x in ("setting-name", "value", "detail")], rows)}


def twin_script_commands(project, guide, lang, deployment=None):
    if guide.scripts is None or not guide.scripts.commands:
        return {}
    kb = project.knowledge
    w = Words(kb, guide, lang, deployment)
    sc = guide.scripts
    windows = kb.family_of(guide).os == "windows"
    files = {name.lower().split(".")[0]: name for name in kb.family_of(guide).configuration.script_files}
    rows = []
    for c in sc.commands:
        words = [sc.resolve(t) for t in c.argv]
        argv = " ".join(f'"{x}"' if windows and " " in x else x for x in words)
        failure = w.L("failure-ignored") if not c.failure else w.L("failure-broadcast" if windows else "failure-exit")
        rows.append([files[c.script], ", ".join(c.events), w.T(c.text), argv, sc.resolve(c.user) if c.user else DASH, failure])
    header = [w.L(x) for x in ("scripts", "script-events", "detail", "commands", "run-as", "on-failure")]
    return {"": Expected(header, rows)}


def _case_outcomes(project, guide, lang: str, name: str, deployment=None):
    """(variables, {env tuple: (commands, how it ended)}) of one script: the simulator's run of the
    bytes the engine writes (Windows), the cases the data declares (Linux)."""
    from runbook_engine.artifacts.scripts import script_encoding
    from runbook_engine.batch.cases import case_variables, format_call
    from runbook_engine.batch.shcases import declared_cases
    from runbook_engine.batch.simulator import simulate_all

    kb = project.knowledge
    fam = kb.family_of(guide)
    variables = case_variables(fam)
    kind = "start" if name.lower().startswith("start") else "stop"
    if fam.os == "linux":
        results = [(env, ([format_call(c) for c in o.calls], str(o.exit_code)))
                   for env, o in declared_cases(fam, guide, kind, lang)]
    else:
        inv = inventory_of(project, guide, lang, deployment)
        conf_node = inv.node(inv.configuration_node)
        file = fam.configuration.script_files[name]
        (d,) = [d for d in desired(project, guide, inv, "script-files", conf_node.name) if d.target.lower().endswith("\\" + file)]
        text = base64.b64decode(d.data["content_b64"]).decode(script_encoding("windows", conf_node.lang))
        results = [(env, ([format_call(c) for c in t.calls], t.aborted or DASH)) for env, t in simulate_all(text, variables)]
    return variables, {tuple(env.get(v) for v in variables): out for env, out in results}


def twin_cases(project, guide, lang, deployment=None):
    """One row per environment (every combination of the CLP_* values): its values, the commands
    in order and how the script ended. The table merges rows ("any" value) and lists runs of
    commands once above it: read, its rows are expanded back into one per environment."""
    if guide.scripts is None:
        return {}
    from runbook_engine.artifacts.scripts import script_names

    kb = project.knowledge
    w = Words(kb, guide, lang, deployment)
    linux = kb.family_of(guide).os == "linux"
    unset = f"({w.L('unset-value')})"
    out = {}
    for name in script_names(kb, guide):
        # the cases do not depend on the cluster: the page's language, the sandbox's configuration
        variables, outcomes = _case_outcomes(project, guide, lang, name)
        rows = [[unset if v is None else v for v in env] + ["\n".join(calls), last] for env, (calls, last) in outcomes.items()]

        def read(table, page, name=name, variables=variables):
            from plugins.browser import case_table

            any_cell = f"({w.L('any-value')})"
            expanded = []
            for row in case_table(page, name, w.lang).rows:
                envs = [[]]
                for var, cell in zip(variables, row.values):
                    values = [unset if v is None else v for v in variables[var]] if cell == any_cell else [cell]
                    envs = [e + [v] for e in envs for v in values]
                expanded += [e + ["\n".join(row.calls), row.last] for e in envs]
            return expanded

        header = [*variables, w.L("commands"), w.L("exit-code" if linux else "aborted")]
        out[name] = Expected(header, rows, read=read, ordered=False)
    return out


def twin_script_paths(project, guide, lang, deployment=None):
    """Where the engine writes the scripts (the configuration node) and where a delivery puts them
    (every node): the targets of script-files and installed-scripts (Windows), exec-scripts and
    the installed paths (Linux)."""
    if deployment is None or guide.scripts is None:
        return {}
    from runbook_engine.engine.actions.scripts import script_paths

    kb = project.knowledge
    w = Words(kb, guide, lang, deployment)
    inv = inventory_of(project, guide, lang, deployment)
    conf = inv.configuration_node
    windows = kb.family_of(guide).os == "windows"
    rows = [[conf, w.L("deploy-in-configuration"), d.target]
            for d in desired(project, guide, inv, "script-files" if windows else "exec-scripts", conf)]
    for n in inv.nodes:
        paths = ([d.target for d in desired(project, guide, inv, "installed-scripts", n.name)] if windows
                 else list(script_paths(kb, guide, inv, n, "installed").values()))
        rows += [[n.name, w.L("deploy-installed"), p] for p in paths]
    return {"": Expected([w.L(x) for x in ("deploy-node", "deploy-where", "deploy-path")], rows)}


def _section_of(key: str) -> str:
    if key.startswith("nodes[]"):
        return "configuration"
    head = re.split(r"[.\[]", key, maxsplit=1)[0]
    return {"guide": "cluster", "platform": "cluster", "cluster_state": "cluster", "cluster": "cluster"}.get(head, head)


def twin_parameters(project, guide, lang, deployment=None):
    """The sheet's facts, by section: each inventory key with its value as the engine reads the
    inventory (load_inventory), and the script paths the engine writes and checks. Its item names
    and its "used in" column (each link followed: tests/test_deployment_manual.py) are not facts
    of the inventory."""
    if deployment is None:
        return {}
    from runbook_engine.engine.actions.preflight import data_drive_of
    from runbook_engine.engine.actions.scripts import clusterpro_dir

    kb = project.knowledge
    w = Words(kb, guide, lang, deployment)
    inv = inventory_of(project, guide, lang, deployment)
    facts: list[tuple[str, str]] = [("cluster", inv.cluster), ("guide", inv.guide), ("platform", inv.platform),
                                    ("cluster_state.phase", inv.cluster_state.phase)]
    if inv.cluster_state.group:
        facts.append(("cluster_state.group", inv.cluster_state.group))
    if inv.cluster_state.active:
        facts.append(("cluster_state.active", inv.cluster_state.active))

    def reach(key: str, target) -> None:
        opts = {k: v for k, v in (target.options.model_dump() if target.options is not None else {}).items() if v is not None}
        facts.append((f"{key}.transport", "\n".join([target.transport] + [f"{k}: {v}" for k, v in opts.items() if not k.endswith("_env")])))
        facts.extend((f"{key}.{k}", str(v)) for k, v in opts.items() if k.endswith("_env"))

    for i, n in enumerate(inv.nodes):
        k = f"nodes[{i}]"
        facts.append((f"{k}.name", n.name))
        facts += [(f"{k}.{a}", getattr(n, a)) for a in ("hostname", "ip") if getattr(n, a)]
        facts.append((f"{k}.lang", n.lang))
        facts.append((f"{k}.data_drive", n.data_drive or f"{data_drive_of(guide)}\n({w.L('param-default-guide')})"))
        facts.append((f"{k}.clusterpro_dir", n.clusterpro_dir or f"{clusterpro_dir(kb, guide, n)}\n({w.L('param-default-family')})"))
        reach(k, n)
    if inv.fip is not None:
        f = inv.fip
        facts += [("fip.address", f.address), ("fip.hostname", f.hostname), ("fip.domain", f.domain),
                  ("fip.hostname + fip.domain", f"{f.hostname}.{f.domain}"), ("fip.mx_preference", str(f.mx_preference))]
    facts.append(("configuration.node", inv.configuration_node))
    if inv.configuration.folder:
        facts.append(("configuration.folder", inv.configuration.folder))
    facts += [(f"configuration.resources.{rid}", name) for rid, name in inv.configuration.resources.items()]
    for row in twin_script_paths(project, guide, lang, deployment).get("", Expected([], [])).rows:
        facts.append(("configuration.folder" if row[1] == w.L("deploy-in-configuration") else "nodes[].clusterpro_dir", row[2]))
    for i, s in enumerate(inv.dns):
        facts.append((f"dns[{i}].name", s.name))
        reach(f"dns[{i}]", s)

    def read(table, page):
        return [[r[1], r[2]] for r in table.rows]

    header = [w.L(x) for x in ("param-item", "param-key", "param-value", "param-used-in")]
    out: dict[str, Expected] = {}
    for key, value in facts:
        out.setdefault(_section_of(key), Expected(header, [], read=read, ordered=False)).rows.append([key, value])
    return out


def twin_steps(project, guide, lang, deployment=None):
    """The procedure's steps in order, each with the mode the runner runs it in: a step the runner
    runs (automated_steps) is a check when its action only reads, else automated; the others are
    the operator's."""
    from runbook_engine.engine.actions import action
    from runbook_engine.engine.runner import automated_steps

    w = Words(project.knowledge, guide, lang, deployment)
    engine = {s.id for s in automated_steps(guide)}
    rows = []
    for s in guide.steps():
        if s.id not in engine:
            mode = "manual"
        elif s.action:
            mode = "check" if action(s.action).read_only else "automated"
        else:  # an engine mode without an action (runbook check refuses it): as the guide says
            mode = s.mode
        rows.append([f"{s.label} {w.T(s.title)}", w.L("mode-" + mode)])
    return {"": Expected([w.L("step"), w.L("mode")], rows)}


#: source -> its twin; tests/test_table_twins.py requires set(TWINS) == set(TABLE_SOURCES) == the
#: sources that appear on some page or in some notebook.
TWINS: dict[str, Callable] = {
    "resources": twin_resources,
    "monitors": twin_monitors,
    "services": twin_services,
    "ports": twin_ports,
    "app-ports": twin_app_ports,
    "dns-records": twin_dns_records,
    "delivery": twin_delivery,
    "origin": twin_origin,
    "compatibility": twin_compatibility,
    "family-versions": twin_family_versions,
    "editions": twin_editions,
    "features": twin_features,
    "figure-legend": twin_figure_legend,
    "environment": twin_environment,
    "script-variables": twin_script_variables,
    "arm-commands": twin_arm_commands,
    "arm-options": twin_arm_options,
    "script-settings": twin_script_settings,
    "script-commands": twin_script_commands,
    "cases": twin_cases,
    "script-paths": twin_script_paths,
    "parameters": twin_parameters,
    "steps": twin_steps,
}


def compare(table, page, expected: Expected) -> tuple[list, list] | None:
    """None when *table* (shown on *page*) says what *expected* says; else (shown, expected),
    normalised for the message."""
    shown_rows = expected.read(table, page) if expected.read else table.rows
    got, want = norm_rows(shown_rows), norm_rows(expected.rows)
    if not expected.ordered:
        got, want = sorted(got), sorted(want)
    header_ok = norm_rows([table.header]) == norm_rows([expected.header])
    if header_ok and got == want:
        return None
    return ([table.header] + got, [expected.header] + want)
