"""Mermaid diagrams generated from a guide's topology (``meta.topology`` in kb/).

One figure of ``topology.figures`` becomes one flowchart: clients connect to the FIP address, the
FIP address points at the active node, the nodes are drawn in priority order and linked by the
failover order; nodes listed in the figure's ``down`` are drawn as down. The active node is the
highest-priority node that is not down.
"""
from __future__ import annotations

from runbook_engine.model.schema import Figure, Guide, KnowledgeBase


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


def topology_mermaid(kb: KnowledgeBase, guide: Guide, figure: Figure, lang: str) -> str:
    """The Mermaid source of *figure* in *lang* (without the fence)."""
    L = lambda label_id: kb.label(label_id)(lang)  # noqa: E731
    topo = guide.meta.topology
    nodes = sorted(topo.nodes, key=lambda n: n.priority)
    active = active_node(guide, figure)
    fip = next((r for r in guide.resources if r.kind == "fip"), None)
    fip_name = fip.name(lang) if fip is not None else "FIP"
    lines = ["flowchart TB"]
    lines.append(f"    clients({_quote(L('clients'))})")
    lines.append(f"    fip{{{{{_quote(fip_name)}}}}}")
    lines.append(f"    subgraph cluster[{_quote(guide.meta.product(lang) + ' — ' + topo.mode(lang))}]")
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
    for a, b in zip(nodes, nodes[1:]):
        lines.append(f"        {a.id} -. {_quote(L('failover'))} .-> {b.id}")
    lines.append("    end")
    lines.append("    clients --> fip")
    if active is not None:
        lines.append(f"    fip ==> {active.id}")
    lines.append("    classDef active stroke-width:3px")
    lines.append("    classDef down stroke-dasharray:5 5,opacity:0.5")
    if active is not None:
        lines.append(f"    class {active.id} active")
    if figure.down:
        lines.append(f"    class {','.join(figure.down)} down")
    return "\n".join(lines)
