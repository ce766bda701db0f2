"""Mermaid diagrams generated from a guide's topology (``meta.topology`` in kb/).

One figure of ``topology.figures`` becomes one flowchart: clients reach the public networks, the
FIP address points at the active node, the nodes are drawn side by side in priority order (the
cluster's title gives the failover order: arrows between the nodes would stack them in Mermaid's
layout); nodes listed in the figure's ``down`` are drawn as down. Every node is on every
network of the topology: the public LAN above the nodes, the interconnect (the cluster's private
network) below them. The guide's disk resource (the switch partition on the shared disk) is drawn
below too, held by the active node (a solid line) and reachable by the standby nodes that are up
(dotted: they take it over on a failover). The active node is the highest-priority node that is
not down. Each network and the disk carry their kind in the figure, so the figure says which is
which; :func:`legend_rows` gives the same elements with their descriptions.
"""
from __future__ import annotations

from runbook_engine.model.schema import Figure, Guide, KnowledgeBase

#: label id of the words that say, inside a figure, what kind of element a box is
KIND_LABELS = {"public": "network-public", "interconnect": "network-interconnect", "disk": "shared-disk",
               "md": "mirror-disk"}
#: the disk resources a figure draws, and the legend text of each kind
DISK_KINDS = {"disk": "legend-disk", "md": "legend-mirror-disk"}


def _quote(*lines: str) -> str:
    """A Mermaid node label of one or more lines (double quotes and angle brackets are not
    allowed inside a line; lines are joined with <br/>)."""
    clean = [line.replace('"', "'").replace("<", "‹").replace(">", "›") for line in lines]
    return '"' + "<br/>".join(clean) + '"'


def active_node(guide: Guide, figure: Figure):
    nodes = sorted(guide.meta.topology.nodes, key=lambda n: n.priority)
    for node in nodes:
        if node.id not in figure.down:
            return node
    return None


def _ident(kind: str, item_id: str) -> str:
    """A Mermaid node id for a network or resource that cannot meet a topology node's id."""
    return f"{kind}_{item_id.replace('-', '_').replace('.', '_')}"


def topology_mermaid(kb: KnowledgeBase, guide: Guide, figure: Figure, lang: str) -> str:
    """The Mermaid source of *figure* in *lang* (without the fence)."""
    L = lambda label_id: kb.label(label_id)(lang)  # noqa: E731
    topo = guide.meta.topology
    nodes = sorted(topo.nodes, key=lambda n: n.priority)
    active = active_node(guide, figure)
    fip = next((r for r in guide.resources if r.kind == "fip"), None)
    fip_name = fip.name(lang) if fip is not None else "FIP"
    disks = [r for r in guide.resources if r.kind in DISK_KINDS]
    public = [n for n in topo.networks if n.kind == "public"]
    private = [n for n in topo.networks if n.kind == "interconnect"]
    lines = ["flowchart TB"]
    lines.append(f"    clients({_quote(L('clients'))})")
    lines.append(f"    fip{{{{{_quote(fip_name)}}}}}")
    for net in public:
        lines.append(f"    {_ident('net', net.id)}[[{_quote(net.name(lang), '(' + L(KIND_LABELS[net.kind]) + ')')}]]")
    order = " → ".join(n.name for n in nodes)
    title = _quote(f"{guide.meta.product(lang)} — {topo.mode(lang)} ({L('failover-order')}: {order})")
    lines.append(f"    subgraph cluster[{title}]")
    lines.append("        direction LR")
    for node in nodes:
        if node.id in figure.down:
            state = L("down")
        elif active is not None and node.id == active.id:
            state = L("active")
        else:
            state = L("standby")
        priority = f"{L('priority')} {node.priority}"
        lines.append(f"        {node.id}[{_quote(node.name, state, priority)}]")
    lines.append("    end")
    for net in private:
        lines.append(f"    {_ident('net', net.id)}[[{_quote(net.name(lang), '(' + L(KIND_LABELS[net.kind]) + ')')}]]")
    for disk in disks:
        lines.append(f"    {_ident('disk', disk.id)}[({_quote(disk.name(lang), '(' + L(KIND_LABELS[disk.kind]) + ')')})]")
    if public:
        for net in public:
            lines.append(f"    clients --> {_ident('net', net.id)}")
            for node in nodes:
                lines.append(f"    {_ident('net', net.id)} --- {node.id}")
        lines.append(f"    {_ident('net', public[0].id)} -.- fip")
    else:
        lines.append("    clients --> fip")
    if active is not None:
        lines.append(f"    fip ==> {active.id}")
    for net in private:
        for node in nodes:
            lines.append(f"    {node.id} --- {_ident('net', net.id)}")
    for disk in disks:
        for node in nodes:
            if active is not None and node.id == active.id:
                lines.append(f"    {node.id} === {_ident('disk', disk.id)}")
            elif node.id not in figure.down:
                lines.append(f"    {node.id} -.- {_ident('disk', disk.id)}")
    lines.append("    classDef active stroke-width:3px")
    lines.append("    classDef down stroke-dasharray:5 5,opacity:0.5")
    if active is not None:
        lines.append(f"    class {active.id} active")
    if figure.down:
        lines.append(f"    class {','.join(figure.down)} down")
    return "\n".join(lines)


def legend_rows(kb: KnowledgeBase, guide: Guide, lang: str) -> list[tuple[str, str]]:
    """(name as the figures show it, what it is) for the FIP address, each network and each disk
    resource of the guide's figures: the legend under them."""
    L = lambda label_id: kb.label(label_id)(lang)  # noqa: E731
    T = lambda text: text(lang)  # noqa: E731
    rows: list[tuple[str, str]] = []
    for r in guide.resources:
        if r.kind == "fip":
            rows.append((T(r.name), T(r.detail)))
    for net in guide.meta.topology.networks:
        rows.append((f"{T(net.name)} ({L(KIND_LABELS[net.kind])})", T(net.description)))
    for r in guide.resources:
        if r.kind in DISK_KINDS:
            rows.append((f"{T(r.name)} ({L(KIND_LABELS[r.kind])})", L(DISK_KINDS[r.kind])))
    return rows
