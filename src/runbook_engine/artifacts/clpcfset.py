"""A guide's failover group as a ``clpcfset`` command sequence (CLUSTERPRO X 4.3 and later), made
from the same data as the site: the guide's topology, resources and monitors, the family's resource
and monitor types (their ``type`` and parameter paths) and the cluster's own values.

:func:`sequence` is pure: (kb, guide, values, lang) in, a list of command lines out, each line a
tuple of argv tokens. :func:`render_line` quotes one line for the family's shell (PowerShell on
Windows, POSIX sh on Linux) and :func:`render_script` makes the downloadable file: a ``.ps1`` with
CRLF for Windows (the vendor's own X 4.3 sample is ``Create-Cluster_X43.ps1``, and PowerShell's
single quotes pass every other character literally, where cmd.exe expands ``%`` inside quotes), a
``.sh`` with LF for Linux. Nothing here runs clpcfset: this machine has no CLUSTERPRO.

The subcommands are the bundled X 4.3 tool's (EXPRESSCLUSTER/clpcfset samples and docs):
``create <cluster> <encode>``, ``add srv <server> <priority>`` (master 0), ``add device <server>
lan|mdc <id> <ip>``, ``add hb lankhb <device id> <priority>``, ``add grp failover <group>``, ``add rsc
<group> <type> <rsc>``, ``add rscparam <type> <rsc> <path> <value>``, ``add mon <type> <mon>``,
``add monparam <type> <mon> <path> <value>``. ``add rscdep`` is not in the bundled tool's docs; the
X 4.3.0-1 guide EXPRESSCLUSTER/VMware iSCSI-cluster.md uses it with the bundled clpcfset, and the
v2 tool's source (CreateClusterOnLinux src/v2/clpcfset.c, ``add_rsc_dep``: it writes
``/root/resource/<type>@<rsc>/depend@<depend>``) fixes its order: ``add rscdep <type of the
depending resource> <depending resource> <resource it depends on>``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from runbook_engine.model.schema import CONFIGURATION_TOOLS as TOOL_IDS, Family, Guide, KnowledgeBase

#: the monitor paths for the resource a monitor watches and the one it recovers (common to every
#: monitor type: CreateClusterOnLinux doc/jp/MonitorParameters_*_jp.md; ``target fip1``,
#: ``relation/type rsc``, ``relation/name fip1`` in create_lin_disk_pingnp.pl)
MONITOR_TARGET = "target"
MONITOR_RELATION = ("relation/type", "rsc", "relation/name")

#: the sources of the subcommands and of the paths above (printed with the sequence)
SOURCES = (
    "EXPRESSCLUSTER/clpcfset sample/windows/sd/azure/Create-Cluster_X43.ps1 (X 4.3: create, add srv, add device lan, add hb lankhb, add grp failover, add rsc, add rscparam, add mon, add monparam)",
    "EXPRESSCLUSTER/clpcfset doc/linux/md.md (add mon, add monparam relation/type, relation/name)",
    "EXPRESSCLUSTER/VMware iSCSI-cluster.md (X 4.3.0-1 for Linux, the bundled clpcfset: add device <server> mdc 0 <ip>, add rscdep <type> <depending resource> <resource it depends on>, monparam target)",
    "EXPRESSCLUSTER/CreateClusterOnLinux src/v2/clpcfset.c (add_rsc_dep: /root/resource/<type>@<rsc>/depend@<depend>)",
    "EXPRESSCLUSTER/CreateClusterOnLinux template_scripts/clpcreate_v2/create_lin_disk_pingnp.pl (monparam target, relation/type rsc, relation/name)",
)

Line = tuple[str, ...]


class UnsafeValue(ValueError):
    """A value would break the quoting of the command line (or is not a value clpcfset takes)."""


@dataclass(frozen=True)
class Server:
    """One cluster server: its name and its address on each of the guide's networks (by network
    id; a topology without networks: one address under the key ``""``)."""

    node: str  # the topology node id
    name: str
    addresses: dict[str, str]


@dataclass(frozen=True)
class ClusterValues:
    """The values that belong to a real cluster: from an inventory, or placeholders."""

    cluster: str
    group: str
    fip: str
    servers: tuple[Server, ...]  # in the topology's priority order
    resources: dict[str, str] = field(default_factory=dict)  # guide resource id -> cluster name


# --------------------------------------------------------------------------------------------
# Which guides
# --------------------------------------------------------------------------------------------


def guide_tools(kb: KnowledgeBase, guide: Guide) -> dict[str, list[str]]:
    """Tool -> the guide's versions that need it (only tools with at least one)."""
    mine = set(guide.meta.scope.applies_to)
    return {t: [v for v in vs if v in mine] for t, vs in kb.family_of(guide).tool_versions().items() if mine & set(vs)}


def applies(kb: KnowledgeBase, guide: Guide) -> bool:
    """True if the guide covers a version whose configuration tool is clpcfset or clpcfadm."""
    return bool(guide_tools(kb, guide))


def networks(guide: Guide) -> list[str]:
    """The network ids a server has an address on (``[""]`` for a topology without networks)."""
    return [n.id for n in guide.meta.topology.networks] or [""]


def mirror_networks(guide: Guide) -> list[str]:
    """The networks of the mirror connects: the interconnects (all networks if none is marked)."""
    nets = guide.meta.topology.networks
    return [n.id for n in nets if n.kind == "interconnect"] or networks(guide)


def placeholder_values(kb: KnowledgeBase, guide: Guide, lang: str) -> ClusterValues:
    """The values as ``<...>`` placeholders in *lang* (the site, the notebooks, the download)."""
    L = lambda i, **f: "<" + kb.label(i)(lang).format(**f) + ">"  # noqa: E731
    nodes = sorted(guide.meta.topology.nodes, key=lambda n: n.priority)
    nets = {n.id: n.name(lang) for n in guide.meta.topology.networks}
    servers = tuple(
        Server(n.id, L("conf-server", node=n.name),
               {net: (L("conf-address", node=n.name, network=nets[net]) if net else L("conf-address-only", node=n.name))
                for net in networks(guide)})
        for n in nodes)
    return ClusterValues(cluster=L("conf-cluster"), group=L("conf-group"), fip=L("conf-fip"), servers=servers)


# --------------------------------------------------------------------------------------------
# The sequence
# --------------------------------------------------------------------------------------------


def resource_name(values: ClusterValues, resource) -> str:
    """The cluster's name of a resource: the inventory's, the guide's fixed one, or its id."""
    return values.resources.get(resource.id) or resource.cluster_name or resource.id


def sequence(kb: KnowledgeBase, guide: Guide, values: ClusterValues, lang: str, tool: str = "clpcfset") -> list[Line]:
    """The clpcfset command lines that create the guide's cluster and failover group: servers,
    their LAN devices and kernel-mode LAN heartbeats (one per network), mirror connects (when the
    group has a mirror disk), the group, each resource with the parameters the guide's data gives
    (the family's paths), its dependencies, and each monitor with its target, recovery target and
    tagged parameters, and its recovery action where the family says which parameters set it.
    Nothing the data does not give is added."""
    fam = kb.family_of(guide)
    rtypes = {t.kind: t for t in fam.resource_types}
    mtypes = {t.kind: t for t in fam.monitor_types}
    services = {s.id: s for s in guide.services}
    by_id = {r.id: r for r in guide.resources}
    nets = networks(guide)
    has_md = any(r.kind == "md" for r in guide.resources)
    mirror = mirror_networks(guide) if has_md else []
    if fam.configuration.encode.get(lang) is None:
        raise UnsafeValue(f"{fam.id}: configuration.encode has no value for '{lang}' (clpcfset create <cluster> <encode>)")

    out: list[Line] = [(tool, "create", values.cluster, fam.configuration.encode[lang], fam.os)]
    for i, s in enumerate(values.servers):
        out.append((tool, "add", "srv", s.name, str(i)))
    for s in values.servers:
        for d, net in enumerate(nets):
            out.append((tool, "add", "device", s.name, "lan", str(d), s.addresses[net]))
        for d, net in enumerate(mirror):
            out.append((tool, "add", "device", s.name, "mdc", str(d), s.addresses[net]))
    for d, _ in enumerate(nets):
        out.append((tool, "add", "hb", "lankhb", str(d), str(d)))
    out.append((tool, "add", "grp", "failover", values.group))

    for r in guide.resources:
        rtype = rtypes[r.kind]
        name = resource_name(values, r)
        out.append((tool, "add", "rsc", values.group, rtype.type, name))
        for fld, path in rtype.parameters.items():
            value = resource_value(r, fld, values, services)
            if value is not None:
                out.append((tool, "add", "rscparam", rtype.type, name, path, value))
        for path, value in rtype.fixed.items():
            out.append((tool, "add", "rscparam", rtype.type, name, path, value))
        if rtype.netdev is not None:
            for d, _ in enumerate(mirror):
                for leaf, value in (("priority", str(d)), ("device", str(d)), ("mdcname", f"mdc{d + 1}")):
                    out.append((tool, "add", "rscparam", rtype.type, name, f"{rtype.netdev}@{d}/{leaf}", value))
        for dep in r.depends_on:
            out.append((tool, "add", "rscdep", rtype.type, name, resource_name(values, by_id[dep])))

    for m in guide.monitors:
        mtype = mtypes[m.kind].type
        out.append((tool, "add", "mon", mtype, m.id))
        if m.target is not None:
            out.append((tool, "add", "monparam", mtype, m.id, MONITOR_TARGET, resource_name(values, by_id[m.target])))
        if m.recovery_target is not None:
            out.append((tool, "add", "monparam", mtype, m.id, MONITOR_RELATION[0], MONITOR_RELATION[1]))
            out.append((tool, "add", "monparam", mtype, m.id, MONITOR_RELATION[2], resource_name(values, by_id[m.recovery_target])))
        if m.recovery_action is not None:
            for path, value in fam.recovery_actions.get(m.recovery_action, {}).items():
                out.append((tool, "add", "monparam", mtype, m.id, path, value))
        for p in m.parameters:
            if p.tag is not None:
                out.append((tool, "add", "monparam", mtype, m.id, p.tag, p.value))
    return out


def resource_value(resource, fld: str, values: ClusterValues, services) -> str | None:
    """The value of one typed field of a resource as clpcfset takes it (None: the guide has none)."""
    if fld == "address":
        return values.fip
    if fld == "service":
        return services[resource.service].display_name if resource.service else None
    return getattr(resource, fld)


def sources(kb: KnowledgeBase, guide: Guide) -> list[str]:
    """Where the sequence's subcommands, types and paths come from."""
    fam = kb.family_of(guide)
    kinds = {r.kind for r in guide.resources}
    mkinds = {m.kind for m in guide.monitors}
    out = list(SOURCES) + list(fam.configuration.encode_sources)
    out += [s for t in fam.resource_types if t.kind in kinds for s in t.sources]
    out += [s for t in fam.monitor_types if t.kind in mkinds for s in t.sources]
    if any(m.recovery_action in fam.recovery_actions for m in guide.monitors):
        out += fam.recovery_action_sources
    out += [s for d in fam.configuration.delivery if d.id in TOOL_IDS for s in d.sources]
    return list(dict.fromkeys(out))


# --------------------------------------------------------------------------------------------
# Quoting and the file
# --------------------------------------------------------------------------------------------

#: a token left bare: no character either shell reads (not starting with - @ $; no comma, which
#: PowerShell reads as an array)
_BARE = re.compile(r"^[A-Za-z0-9_/][A-Za-z0-9_.:/@+=-]*$")
#: PowerShell reads these as single quotes too (U+2018 to U+201B)
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"


def token_problem(token: str, shell: str) -> str | None:
    """Why *token* cannot be passed as one literal argument by *shell* (``powershell`` or ``sh``)."""
    if token == "":
        return "it is empty"
    ctl = sorted({c for c in token if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029"})
    if ctl:
        return "it has control characters: " + " ".join(repr(c) for c in ctl)
    quotes = _PS_QUOTES if shell == "powershell" else "'"
    bad = sorted({c for c in token if c in quotes})
    if bad:
        return "it has a quote that would end the quoted argument: " + " ".join(repr(c) for c in bad)
    if shell == "powershell":
        # PowerShell 5.1 passes an argument with a space to the program inside "...", where the
        # C runtime reads \" as a quote and an embedded " is not escaped
        if '"' in token:
            return "it has a double quote, which PowerShell 5.1 passes to the program unescaped"
        if token.endswith("\\") and not _BARE.fullmatch(token):
            return "a trailing backslash escapes the quote PowerShell puts around it"
    return None


def quote(token: str, shell: str) -> str:
    """*token* as one literal argument of *shell*: bare when plain, else in single quotes."""
    problem = token_problem(token, shell)
    if problem:
        raise UnsafeValue(f"refusing {token!r} for {shell}: {problem}")
    return token if _BARE.fullmatch(token) else f"'{token}'"


def shell_of(family: Family) -> str:
    return "powershell" if family.os == "windows" else "sh"


def render_line(line: Line, shell: str) -> str:
    return " ".join(quote(t, shell) for t in line)


def render_lines(kb: KnowledgeBase, guide: Guide, values: ClusterValues, lang: str) -> list[str]:
    """The sequence as the command lines the page shows and the file holds (quoted)."""
    shell = shell_of(kb.family_of(guide))
    out = []
    for line in sequence(kb, guide, values, lang):
        try:
            out.append(render_line(line, shell))
        except UnsafeValue as exc:
            raise UnsafeValue(f"guide '{guide.id}': {' '.join(line[1:3])} {' '.join(line[3:5])}: {exc}") from None
    return out


def file_name(kb: KnowledgeBase, guide: Guide) -> str:
    ext = "ps1" if kb.family_of(guide).os == "windows" else "sh"
    return f"clpcfset-{guide.id}.{ext}"


@dataclass(frozen=True)
class Rendered:
    name: str
    text: str  # with the file's line endings
    data: bytes


def render_script(kb: KnowledgeBase, guide: Guide, values: ClusterValues, lang: str) -> Rendered:
    """The downloadable file: a comment header (labels of *lang*), then the command lines.
    Windows: PowerShell, UTF-8 with a BOM (Windows PowerShell 5.1 reads a file without one in the
    ANSI code page) and CRLF. Linux: sh, UTF-8, LF, ``set -eu`` (stop at the first failure)."""
    windows = kb.family_of(guide).os == "windows"
    lines = render_lines(kb, guide, values, lang)
    header = [f"# {kb.label(i)(lang)}" for i in ("clpcfset-file-what", "clpcfset-file-where", "clpcfset-file-not-run")]
    if windows:
        body = header + ["$ErrorActionPreference = 'Stop'", ""] + lines
        text = "\r\n".join(body) + "\r\n"
        return Rendered(file_name(kb, guide), text, b"\xef\xbb\xbf" + text.encode("utf-8"))
    body = ["#!/bin/sh"] + header + ["set -eu", ""] + lines
    text = "\n".join(body) + "\n"
    return Rendered(file_name(kb, guide), text, text.encode("utf-8"))
