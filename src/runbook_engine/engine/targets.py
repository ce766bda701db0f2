"""Targets and scopes: a step's scope chooses, from the inventory, the targets it runs on.

A target is a name (as reports and journals show it), a registered transport and that transport's
options; a node target also carries its inventory node (language, CLUSTERPRO folder, data drive).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from runbook_engine.engine.inventory import DnsServer, Inventory, NodeSpec

DNS_PREFIX = "dns:"


@dataclass(frozen=True)
class Target:
    name: str
    transport: str
    options: Any
    node: NodeSpec | None = None

    @property
    def lock_name(self) -> str:
        return self.name.replace(":", "-")


def node_target(node: NodeSpec) -> Target:
    return Target(node.name, node.transport, node.options, node)


def dns_target(server: DnsServer) -> Target:
    return Target(DNS_PREFIX + server.name, server.transport, server.options)


@dataclass(frozen=True)
class Scope:
    """How a step picks its targets; ``none`` is the reason when there is none."""

    name: str
    pick: Callable[[Inventory, list[NodeSpec]], list[Target]]
    none: str
    none_name: str

    @property
    def on_nodes(self) -> bool:
        """The targets are inventory nodes (not DNS servers)."""
        return self.name != "dns-servers"


SCOPES: dict[str, Scope] = {s.name: s for s in (
    Scope("every-node", lambda inv, nodes: [node_target(n) for n in nodes], "no node selected", "-"),
    # the same targets; the values are expected to agree between nodes (verify compares them)
    Scope("all-nodes", lambda inv, nodes: [node_target(n) for n in nodes], "no node selected", "-"),
    Scope("first-node", lambda inv, nodes: [node_target(n) for n in nodes if n.name == inv.nodes[0].name],
          "the inventory's first node is not selected", "-"),
    Scope("cluster", lambda inv, nodes: [node_target(n) for n in nodes[:1]], "no node selected", "-"),
    # the node that holds the cluster configuration folder (inventory configuration.node)
    Scope("configuration", lambda inv, nodes: [node_target(n) for n in nodes if n.name == inv.configuration_node],
          "the configuration node is not selected", "-"),
    Scope("dns-servers", lambda inv, nodes: [dns_target(s) for s in inv.dns], "no DNS server in the inventory", "dns"),
)}


def scope(name: str) -> Scope:
    if name not in SCOPES:
        raise ValueError(f"unknown scope '{name}' (known: {', '.join(SCOPES)})")
    return SCOPES[name]


def all_targets(inventory: Inventory) -> dict[str, Target]:
    """Every target of the inventory by name (rollback finds a journal's targets here)."""
    out = {n.name: node_target(n) for n in inventory.nodes}
    out.update({t.name: t for t in (dns_target(s) for s in inventory.dns)})
    return out
