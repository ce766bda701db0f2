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

In a manual for one cluster (a :class:`~runbook_engine.artifacts.deployment.Deployment`), the
nodes are the inventory's, in its order, each with its IP address; the FIP shows its address.
A figure's ``down`` nodes are the inventory nodes that stand for them (:func:`deployed_figure`
says when a figure cannot be drawn for the cluster), and :func:`cluster_mermaid` draws the
cluster as the inventory says it is now: each node's role from ``cluster_state``.
"""
from __future__ import annotations

from dataclasses import dataclass

from runbook_engine.artifacts.deployment import Deployment
from runbook_engine.model.schema import Figure, Guide, KnowledgeBase


@dataclass(frozen=True)
class _Node:
    """A box of the figure: its Mermaid id, name, priority and extra lines (an address)."""

    id: str
    name: str
    priority: int
    extra: tuple[str, ...] = ()

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


def _ident_node(name: str) -> str:
    """A Mermaid id for an inventory node (its name may hold '-' or '.')."""
    return "node_" + name.replace("-", "_").replace(".", "_")


def _boxes(guide: Guide, deployment: Deployment | None) -> list[_Node]:
    """The node boxes in priority order: the topology's, or the inventory's nodes."""
    if deployment is None:
        return [_Node(n.id, n.name, n.priority) for n in sorted(guide.meta.topology.nodes, key=lambda n: n.priority)]
    return [_Node(_ident_node(n.name), n.name, n.priority, (n.ip,) if n.ip else ()) for n in deployment.nodes]


def deployed_figure(guide: Guide, figure: Figure, deployment: Deployment) -> bool:
    """Whether *figure* can be drawn for the cluster: every node it shows down stands for an
    inventory node, and one node at least is up."""
    down = [deployment.node_for(t) for t in figure.down]
    return all(n is not None for n in down) and len(down) < len(deployment.nodes)


def _down_ids(figure: Figure, deployment: Deployment | None) -> list[str]:
    if deployment is None:
        return list(figure.down)
    return [_ident_node(n.name) for t in figure.down if (n := deployment.node_for(t)) is not None]


def _ident(kind: str, item_id: str) -> str:
    """A Mermaid node id for a network or resource that cannot meet a topology node's id."""
    return f"{kind}_{item_id.replace('-', '_').replace('.', '_')}"


def topology_mermaid(kb: KnowledgeBase, guide: Guide, figure: Figure, lang: str,
                     deployment: Deployment | None = None) -> str:
    """The Mermaid source of *figure* in *lang* (without the fence); with *deployment*, drawn
    with the cluster's nodes (see the module's text)."""
    L = lambda label_id: kb.label(label_id)(lang)  # noqa: E731
    nodes = _boxes(guide, deployment)
    down = _down_ids(figure, deployment)
    active = next((n for n in nodes if n.id not in down), None)
    states = {n.id: L("down") if n.id in down else L("active") if active is not None and n.id == active.id
              else L("standby") for n in nodes}
    return _flowchart(kb, guide, lang, nodes, states, active, down, deployment)


def cluster_mermaid(kb: KnowledgeBase, guide: Guide, lang: str, deployment: Deployment) -> str:
    """The cluster as its inventory says it is now: in the operation phase the failover group's
    active node (the FIP points at it) and its standbys; before it (install) no node runs the
    group yet."""
    L = lambda label_id: kb.label(label_id)(lang)  # noqa: E731
    nodes = _boxes(guide, deployment)
    roles = {_ident_node(n.name): n.role for n in deployment.nodes}
    names = {"active": L("active"), "standby": L("standby"), "install": L("role-install")}
    states = {n.id: names[roles[n.id]] for n in nodes}
    active = next((n for n in nodes if roles[n.id] == "active"), None)
    return _flowchart(kb, guide, lang, nodes, states, active, [], deployment)


def _flowchart(kb: KnowledgeBase, guide: Guide, lang: str, nodes: list[_Node], states: dict[str, str],
               active: _Node | None, down: list[str], deployment: Deployment | None) -> str:
    L = lambda label_id: kb.label(label_id)(lang)  # noqa: E731
    topo = guide.meta.topology
    fip = next((r for r in guide.resources if r.kind == "fip"), None)
    fip_name = fip.name(lang) if fip is not None else "FIP"
    fip_lines = [fip_name] + ([deployment.fip_address] if deployment is not None and deployment.fip_address else [])
    disks = [r for r in guide.resources if r.kind in DISK_KINDS]
    public = [n for n in topo.networks if n.kind == "public"]
    private = [n for n in topo.networks if n.kind == "interconnect"]
    lines = ["flowchart TB"]
    lines.append(f"    clients({_quote(L('clients'))})")
    lines.append(f"    fip{{{{{_quote(*fip_lines)}}}}}")
    for net in public:
        lines.append(f"    {_ident('net', net.id)}[[{_quote(net.name(lang), '(' + L(KIND_LABELS[net.kind]) + ')')}]]")
    order = " → ".join(n.name for n in nodes)
    title = _quote(f"{guide.meta.product(lang)} — {topo.mode(lang)} ({L('failover-order')}: {order})")
    lines.append(f"    subgraph cluster[{title}]")
    lines.append("        direction LR")
    for node in nodes:
        priority = f"{L('priority')} {node.priority}"
        lines.append(f"        {node.id}[{_quote(node.name, *node.extra, states[node.id], priority)}]")
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
            elif node.id not in down:
                lines.append(f"    {node.id} -.- {_ident('disk', disk.id)}")
    lines.append("    classDef active stroke-width:3px")
    lines.append("    classDef down stroke-dasharray:5 5,opacity:0.5")
    if active is not None:
        lines.append(f"    class {active.id} active")
    if down:
        lines.append(f"    class {','.join(down)} down")
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
