"""The guide's tables as Markdown, one function per kind of table a step can show (``shows:`` in
procedure.yaml). The site's pages and the notebooks' cells call the same functions, so a table
reads the same in both; the site passes a *link* function, a notebook none (no pages to link to).
"""
from __future__ import annotations

import html
from typing import Callable, Iterable

from runbook_engine.artifacts import clpcfset as clpcfset_seq
from runbook_engine.artifacts import dnscmd
from runbook_engine.artifacts.deployment import Deployment
from runbook_engine.artifacts.markdown import admonition as material_admonition
from runbook_engine.artifacts.markdown import code, table
from runbook_engine.model.schema import Guide, KnowledgeBase, OriginItem, Port, Text

#: link(page, guide_id, anchor) -> href relative to the page being rendered
Link = Callable[[str, str, str], str]


class GuideTables:
    """The tables of one language. Registered by the name a step's ``shows:`` uses. With a
    *deployment* (a manual for one cluster), the tables print that cluster's values where they
    print placeholders otherwise."""

    def __init__(self, kb: KnowledgeBase, lang: str, link: Link | None = None,
                 admonition: Callable[[str, str, str], str] = material_admonition,
                 deployment: Deployment | None = None):
        self.kb = kb
        self.lang = lang
        self._link = link
        self.admonition = admonition  # (kind, title, body) -> Markdown: Material's, or a quote for a notebook
        self.deployment = deployment

    def T(self, text: Text | None) -> str:
        if text is None:
            return ""
        d = self.deployment
        if d is None:
            return text(self.lang)
        guide = self.kb.guides[d.guide]
        return d.substitute(text(self.lang), guide, self.kb.family_of(guide).os, self.lang)

    def L(self, label_id: str, **fmt: str) -> str:
        text = self.kb.label(label_id)(self.lang)
        return text.format(**fmt) if fmt else text

    def linked(self, text: str, page: str, guide_id: str, anchor: str = "") -> str:
        """*text* linked to a page of the guide, or plain text where there are no pages."""
        if self._link is None:
            return text
        return f"[{text}]({self._link(page, guide_id, anchor)})"

    def version_names(self, guide: Guide, ids: Iterable[str]) -> str:
        return self.kb.family_of(guide).version_names(ids)

    def sources_line(self, sources) -> str:
        """The public sources of what a text says beyond the seed, on one line (a URL as code)."""
        return (f"**{self.L('sources')}**: "
                + "; ".join(code(x) if x.startswith("http") else html.escape(x, quote=False) for x in sources) + "\n")

    def feature_name(self, guide: Guide, feature_id: str) -> str:
        for f in guide.meta.features:
            if f.id == feature_id:
                return self.T(f.name)
        raise KeyError(feature_id)

    # ---- the tables ------------------------------------------------------------------------
    def resource_type(self, guide: Guide, kind: str, monitor: bool = False) -> str:
        """A resource or monitor kind as the family names it (its type name in code)."""
        fam = self.kb.family_of(guide)
        for t in (fam.monitor_types if monitor else fam.resource_types):
            if t.kind == kind:
                return f"{self.T(t.name)} ({code(t.type)})"
        return code(kind)

    def cluster_names(self, guide: Guide) -> dict[str, str]:
        """The resources' names in the cluster configuration: the guide's fixed ones, and in a
        manual for one cluster the inventory's (``configuration.resources``)."""
        names = {r.id: r.cluster_name for r in guide.resources if r.cluster_name}
        if self.deployment is not None:
            names.update({rid: n for rid, n in self.deployment.resources.items() if any(r.id == rid for r in guide.resources)})
        return names

    def resource_names(self, guide: Guide) -> dict[str, str]:
        """Each resource's name as the tables show it: its name in the cluster configuration
        where the guide fixes one (or the inventory gives one), else its name in the build
        language."""
        fixed = self.cluster_names(guide)
        return {r.id: (fixed.get(r.id) or self.T(r.name)) for r in guide.resources}

    def _deployed_fields(self, r) -> list[str]:
        """What a manual for one cluster adds to a resource's detail: the FIP's address and host
        name, the data drive of a Windows disk (the nodes' ``data_drive``)."""
        d = self.deployment
        if d is None:
            return []
        if r.kind == "fip" and d.fip_address:
            return [f"{self.L('conf-fip')}: {code(d.fip_address)}"] + ([f"{self.L('param-fip-fqdn')}: {code(d.fip_fqdn)}"] if d.fip_fqdn else [])
        if r.kind in ("disk", "md") and self.kb.family_of(d.guide).os == "windows":
            return [f"{self.L('param-data-drive')}: " + ", ".join(code(x) for x in d.data_drives())]
        return []

    def resources(self, guide: Guide) -> str:
        """The failover group's resources in start order: name, type, the name in the cluster
        configuration, what it depends on, and the detail with the kind's own fields."""
        rows = []
        notes = []
        names = self.resource_names(guide)
        cluster_names = self.cluster_names(guide)
        fixed = set(cluster_names)
        services = {s.id: s for s in guide.services}
        for r in guide.resources:
            detail = self.T(r.detail)
            fields = self._deployed_fields(r)
            if r.key:
                fields.append(f"{self.L('registry-key')}: {code(r.key)}")
            for f in ("data_partition", "cluster_partition", "file_system", "mount_point"):
                if getattr(r, f) is not None:
                    fields.append(f"{self.L(f.replace('_', '-'))}: {code(getattr(r, f))}")
            if r.service:
                s = services[r.service]
                fields.append(f"{self.L('service-name')}: {code(s.service)} ({s.display_name})")
            if fields:
                detail += "<br>" + "<br>".join(fields)
            if r.optional:
                detail += f"<br>({self.L('optional')})"
            depends = ", ".join(code(names[d]) if d in fixed else names[d] for d in r.depends_on) or "—"
            rows.append([self.T(r.name), self.resource_type(guide, r.kind),
                         code(cluster_names[r.id]) if r.id in cluster_names else "—", depends, detail])
            if r.note:
                notes.append(self.admonition("warning", self.L("admonition-important"), self.T(r.note)))
        header = [self.L("resource"), self.L("resource-type"), self.L("cluster-name"), self.L("depends-on"), self.L("detail")]
        out = table(header, rows, source="resources") + "\n" + "\n".join(notes)
        sources = [x for r in guide.resources for x in r.sources]
        if sources:
            out += "\n" + self.sources_line(list(dict.fromkeys(sources)))
        if guide.monitors:
            out += "\n" + self.monitors(guide)
        return out

    def monitors(self, guide: Guide) -> str:
        """The monitor resources the guide adds: type, target, recovery target, the settings
        (name, value, clpcfset path), what they require; notes and sources after the table."""
        if not guide.monitors:
            return ""
        names = self.resource_names(guide)
        rows, notes, sources = [], [], []
        for m in guide.monitors:
            settings = "<br>".join(f"{self.T(p.name)}: {code(p.value)}" + (f" ({code(p.tag)})" if p.tag else "")
                                   for p in m.parameters) or "—"
            requires = self.T(m.requires) or "—"
            if m.optional:
                requires += f"<br>({self.L('optional')})"
            rows.append([f"{self.T(m.name)} ({code(m.id)})", self.resource_type(guide, m.kind, monitor=True),
                         names.get(m.target, "—"), self._recovery(m, names), settings, requires])
            if m.note:
                notes.append(self.admonition("note", f"{self.T(m.name)}", self.T(m.note)))
            sources += m.sources
        header = [self.L("monitors"), self.L("monitor-type"), self.L("monitor-target"), self.L("recovery-target"),
                  self.L("monitor-settings"), self.L("requires")]
        out = f"**{self.L('monitors')}**\n\n" + table(header, rows, source="monitors") + "\n" + "\n".join(notes)
        if sources:
            out += "\n" + self.sources_line(list(dict.fromkeys(sources)))
        return out

    def _recovery(self, monitor, names: dict[str, str]) -> str:
        """The recovery target, with the recovery action where the guide gives one."""
        target = names[monitor.recovery_target] if monitor.recovery_target else "—"
        if monitor.recovery_action is None:
            return target
        return f"{target}<br>({self.L('recovery-action-' + monitor.recovery_action)})"

    def services(self, guide: Guide) -> str:
        """The services set to manual start. A guide whose scripts start them (ARMLOAD) shows
        their watch ids and flags; one whose service resources start them shows which resource."""
        scripted = any(s.scripted for s in guide.manual_services())
        names = self.resource_names(guide)
        by_resource = {r.service: names[r.id] for r in guide.resources if r.service}
        header = [self.L("service-name"), self.L("display-name")]
        header += [self.L("watch-id"), self.L("flags")] if scripted else []
        header += [self.L("started-by")] if by_resource else []
        header += [self.L("feature"), self.L("set-in-step")]
        rows = []
        for s in guide.manual_services():
            where = self.step_ref(guide, guide.step(s.manual_in))
            row = [code(s.service), s.display_name]
            if scripted:
                row += [code(s.watch_id) if s.watch_id else "—", " ".join(s.flags) if s.scripted else "—"]
            if by_resource:
                row.append(code(by_resource[s.id]) if s.id in by_resource else "—")
            rows.append(row + [self.feature_name(guide, s.feature), where])
        out = table(header, rows, source="services")
        for s in guide.services:
            if s.note:
                out += "\n" + self.admonition("warning", self.L("admonition-important"), self.T(s.note))
        return out

    def ports(self, guide: Guide) -> str:
        """The guide's ports as two tables, as the original prints them: local ports (inbound)
        and remote ports (outbound). One source: the family's port records."""
        out = []
        for direction, side_label in (("in", "local-port"), ("out", "remote-port")):
            chosen = self.kb.ports_for(guide, direction)
            if not chosen:
                continue
            header = [self.L("protocol"), self.L("direction"), self.L(side_label), self.L("purpose"),
                      self.L("peer"), self.L("applies-to"), self.L("condition")]
            rows = [self._port_row(guide, p) for p in chosen]
            out.append(f"**{self.L(side_label)}: {self.L(direction)}**\n")
            out.append('<div class="rb-ports" data-direction="' + direction + '" markdown>\n\n'
                       + table(header, rows, source="ports", key=direction) + "\n</div>\n")
        if guide.meta.app_ports:
            header = [self.L("protocol"), self.L("direction"), self.L("local-port"), self.L("purpose"), self.L("peer")]
            rows = [[p.protocol.upper(), self.L("in"), str(p.port), self.T(p.purpose), self.T(p.peer)]
                    for p in guide.meta.app_ports]
            out.append(f"**{self.L('app-ports')}**\n")
            out.append('<div class="rb-app-ports" markdown>\n\n' + table(header, rows, source="app-ports") + "\n</div>\n")
            out.append(self.sources_line(list(dict.fromkeys(x for p in guide.meta.app_ports for x in p.sources))))
        return "\n".join(out)

    def _port_row(self, guide: Guide, p: Port) -> list[str]:
        """One record; its versions are those of the guide it applies to (a record that a later
        version of the family adds does not change an older guide's table)."""
        return [
            p.protocol.upper(),
            self.L(p.direction),
            str(p.port),
            self.T(p.purpose),
            self.T(p.peer),
            self.version_names(guide, self.kb.port_versions(guide, p)),
            self.T(p.condition) or "—",
        ]

    def dns_records(self, guide: Guide) -> str:
        d = guide.dns
        # one row per record set the engine sets (the same resolver), values as placeholders (or
        # the cluster's, in a manual for one cluster)
        values = (dnscmd.template_values([n.name for n in guide.meta.topology.nodes]) if self.deployment is None
                  else self.deployment.dns_values())
        rows = [[r.rtype, code(line.owner), code(line.data), self.T(r.target), self.T(r.required_for) or "—"]
                for r in d.records for line in dnscmd.record_lines([r], values)]
        out = self.T(d.intro) + "\n\n" + table(
            [self.L("record"), self.L("dns-owner"), self.L("dns-data"), self.L("detail"), self.L("required")], rows,
            source="dns-records")
        out += "\n" + self.T(d.note) + "\n\n" + self.admonition("info", self.L("admonition-related"), self.T(d.reference))
        out += "\n" + self.dnscmd_block(guide)
        if d.sources:
            out += "\n" + self.sources_line(d.sources)
        return out

    def origin(self, guide: Guide) -> str:
        """The original document's numbered items and the steps each became (origin.yaml), then
        the steps no item became, as added by this guide. "" for a guide without origin.yaml."""
        if guide.origin is None:
            return ""
        steps = {s.id: s for s in guide.steps()}
        phases = {p.id: p for p in guide.procedure.phases}
        rows: list[list[str]] = []
        mapped: set[str] = set()

        def walk(section_title: str, items: list[OriginItem], prefix: str) -> None:
            for item in items:
                number = f"{prefix} {item.label}".strip()
                content = self.T(item.title) + (f"<br>{self.T(item.note)}" if item.note else "")
                ours = []
                if item.phase:
                    ph = phases[item.phase]
                    ours.append(self.linked(f"({ph.label}) {self.T(ph.title)}", "procedure", guide.id, f"phase-{ph.id}"))
                for sid in item.steps:
                    mapped.add(sid)
                    ours.append(self.step_ref(guide, steps[sid]))
                rows.append([section_title, number, content, "<br>".join(ours) or "—"])
                walk(section_title, item.items, number)

        for section in guide.origin.sections:
            walk(self.T(section.title), section.items, "")
        for step in guide.steps():
            if step.id not in mapped:
                rows.append(["—", "—", self.L("origin-added"), self.step_ref(guide, step)])
        header = [self.L("origin-section"), self.L("origin-number"), self.L("origin-content"), self.L("origin-steps")]
        return '<div class="rb-origin" markdown>\n\n' + table(header, rows, source="origin") + "\n</div>\n"

    def step_ref(self, guide: Guide, step) -> str:
        """A step as the procedure page titles it, linked to it where there are pages."""
        return self.linked(f"{step.label}. {self.T(step.title)}", "procedure", guide.id, step.id)

    def dnscmd_block(self, guide: Guide, values: dnscmd.DnsValues | None = None) -> str:
        """The records as the ``dnscmd`` lines the operator runs on every node's Microsoft DNS
        (artifacts/dnscmd.py). Without *values* (the site, the notebooks): a template whose
        ``<...>`` placeholders the operator replaces, run once per node with ``<node>`` = that node."""
        nodes = [n.name for n in guide.meta.topology.nodes]
        if values is None and self.deployment is not None:
            values = self.deployment.dns_values()
            nodes = [n.name for n in self.deployment.nodes]
        if values is None:
            values = dnscmd.template_values(nodes)
            targets = [dnscmd.placeholder("node")]
        else:
            targets = dnscmd.servers(values)
        out = [f"**{self.L('dnscmd-heading', nodes=', '.join(nodes))}**", ""]
        for server in targets:
            lines = dnscmd.add_lines(guide.dns.records, values, server)
            out += ['<div class="rb-dnscmd" markdown>', "", "```bat", *lines, "```", "", "</div>", ""]
        if any(r.is_template for r in dnscmd.record_lines(guide.dns.records, values)) or self.deployment is None:
            out.append(self.L("dnscmd-placeholders"))
        else:
            out.append(self.L("dnscmd-deployment"))
        return "\n".join(out) + "\n"


    def configuration_placeholders(self, guide: Guide | None = None) -> dict[str, str]:
        """The words a delivery command shows for the inventory's values (a Linux family's
        scripts belong to an exec resource, a Windows family's to a script resource)."""
        out = {k: f"<{self.L(f'conf-{k}')}>" for k in ("folder", "group", "resource")}
        if guide is not None and self.kb.family_of(guide).os == "linux":
            out["resource"] = f"<{self.L('conf-exec-resource')}>"
        if guide is not None and self.deployment is not None:  # the cluster's own, where the inventory has them
            words = self.deployment.configuration_words(guide, self.kb.family_of(guide).os)
            out.update({k: v for k, v in words.items() if v})
        return out

    def script_location(self, guide: Guide) -> str:
        """Where the script resource's files live: the family's text and the folder layout."""
        conf = self.kb.family_of(guide).configuration
        ph = self.configuration_placeholders(guide)
        folder = conf.folder(ph["group"], ph["resource"])
        sep = "/" if self.kb.family_of(guide).os == "linux" else "\\"
        lines = [f"{ph['folder']}{sep}clp.conf"] + [f"{ph['folder']}{sep}{folder}{sep}{name}" for name in conf.script_files.values()]
        return (self.T(conf.text) + "\n\n```text\n" + "\n".join(lines) + "\n```\n")

    def delivery(self, guide: Guide) -> str:
        """How the configuration (with the scripts) reaches the cluster, per version: the family's
        delivery methods, the guide's own versions marked."""
        conf = self.kb.family_of(guide).configuration
        ph = self.configuration_placeholders(guide)
        mine = set(guide.meta.scope.applies_to)
        rows = []
        for d in conf.delivery:
            versions = self.version_names(guide, d.versions)
            if mine & set(d.versions):
                versions = f"**{versions}**"
            cmds = "<br>".join(code(c.format(**ph)) for c in d.commands) or "-"
            rows.append([versions, self.T(d.tool), self.T(d.text), cmds])
        sources = sorted({s for d in conf.delivery for s in d.sources} | set(conf.sources))
        return (self.script_location(guide) + "\n"
                + table([self.L("versions"), self.L("tool"), self.L("what-to-do"), self.L("operator-commands")], rows, source="delivery")
                + "\n" + self.L("delivery-guide-versions") + "\n\n"
                + self.sources_line(sources))

    def clpcfset_values(self, guide: Guide) -> clpcfset_seq.ClusterValues:
        """The values of the clpcfset sequence: placeholders, or the cluster's in a manual for one."""
        if self.deployment is not None:
            return self.deployment.cluster_values(self.kb, guide, self.lang)
        return clpcfset_seq.placeholder_values(self.kb, guide, self.lang)

    def clpcfset(self, guide: Guide, download: str | None = None) -> str:
        """The guide's failover group as the clpcfset command sequence (artifacts/clpcfset.py),
        with the cluster's values as placeholders: which versions use which tool, that it was not
        run here, the lines, the download (*download*: its href; None: its file name only) and
        the sources. "" for a guide with no clpcfset or clpcfadm version."""
        tools = clpcfset_seq.guide_tools(self.kb, guide)
        if not tools:
            return ""
        fam = self.kb.family_of(guide)
        values = self.clpcfset_values(guide)
        lines = clpcfset_seq.render_lines(self.kb, guide, values, self.lang)
        lang = "powershell" if fam.os == "windows" else "sh"
        out = [self.L("clpcfset-intro"), "",
               self.admonition("warning", self.L("clpcfset-not-run-title"), self.L("clpcfset-not-run"))]
        for d in fam.configuration.delivery:
            if d.id not in clpcfset_seq.TOOL_IDS:
                continue
            versions = self.version_names(guide, d.versions)
            mine = self.version_names(guide, tools.get(d.id, []))
            line = f"**{self.L('clpcfset-tool-versions', tool=self.T(d.tool))}**: {versions}"
            if mine:
                line += f" ({self.L('clpcfset-guide-versions')}: **{mine}**)"
            out += [line, ""]
            if d.note is not None and d.id in tools:
                out.append(self.admonition("info" if d.id == "clpcfset" else "warning", self.T(d.tool), self.T(d.note)))
        left = "<" in "\n".join(lines)  # a value the inventory does not give (or no inventory)
        out += [f'<div class="rb-clpcfset" data-guide="{guide.id}" markdown>', "", f"```{lang}", *lines, "```", "", "</div>", "",
                self.L("clpcfset-placeholders") if left else self.L("clpcfset-deployment"), ""]
        name = clpcfset_seq.file_name(self.kb, guide)
        target = f"[{name}]({download}){{ download=\"{name}\" }}" if download else code(name)
        out += [f"**{self.L('clpcfset-download')}**: {target}", ""]
        out.append(self.sources_line(clpcfset_seq.sources(self.kb, guide)))
        return "\n".join(out)


#: ``shows:`` name -> method of :class:`GuideTables` (the tables a notebook cell can carry too)
TABLES: dict[str, Callable[[GuideTables, Guide], str]] = {
    "resources": GuideTables.resources,
    "monitors": GuideTables.monitors,
    "services": GuideTables.services,
    "ports": GuideTables.ports,
    "dns-records": GuideTables.dns_records,
    "delivery": GuideTables.delivery,
    "clpcfset": GuideTables.clpcfset,
}


def render_table(kb: KnowledgeBase, guide: Guide, name: str, lang: str, link: Link | None = None,
                 admonition: Callable[[str, str, str], str] = material_admonition,
                 deployment: Deployment | None = None) -> str:
    return TABLES[name](GuideTables(kb, lang, link, admonition, deployment), guide)
