"""One deployment of a guide: the values of a real cluster (an inventory) that a manual for that
cluster prints where the guide's own pages print placeholders.

:class:`Deployment` is plain data, made from an inventory by
``runbook_engine.publish.deployment.load_deployment`` (which reads the inventory with the engine's
loader and asks the engine for its paths and script bytes); everything here is pure. The guide's
generators (tables, diagrams, the clpcfset sequence, the dnscmd lines) take it where they took
placeholder values.

The inventory's nodes stand for the guide's topology nodes in order: the first node of the
inventory for the topology node of priority 1, and so on (the inventory's order is the failover
order, as in the clpcfset sequence). A topology node without an inventory node has no value here,
and an inventory node beyond the topology stands for none.

Two kinds of placeholder reach a page from the guide's texts rather than from a generator, and
:meth:`Deployment.substitute` fills both in:

* the topology's node names: the inventory's node name, as a whole word;
* a placeholder in angle brackets that names a value of the inventory (:data:`TEXT_PLACEHOLDERS`:
  ``<グループ名>``, ``<FIP address>``): the value. A placeholder that names something the operator
  chooses at the time (``<サーバ名>`` of ``clpgrp -m``, ``<service>``) or a word of a command's
  syntax (``<type>@<resource>``) is not a value of the cluster and stays.

Secrets never reach this object: an inventory names the environment variables that hold them,
and only those names are kept (:attr:`DeployedTarget.secret_envs`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from runbook_engine.artifacts import clpcfset, dnscmd
from runbook_engine.model.schema import Guide, KnowledgeBase

#: Placeholders of the guide's texts that name a value of the inventory, per value key (see
#: :meth:`Deployment.text_values`), as they are written in each language.
TEXT_PLACEHOLDERS: dict[str, dict[str, tuple[str, ...]]] = {
    "group": {"ja": ("<グループ名>", "<フェイルオーバーグループ名>"), "en": ("<group>", "<failover group>")},
    "script-resource": {"ja": ("<スクリプトリソース名>", "<EXEC リソース名>"), "en": ("<script resource>", "<exec resource>")},
    "fip-address": {"ja": ("<FIP アドレス>",), "en": ("<FIP address>",)},
    "fip-fqdn": {"ja": ("<FIP のホスト名>",), "en": ("<FIP host name>",)},
}


@dataclass(frozen=True)
class DeployedTarget:
    """How the engine reaches a node or a DNS server: its transport and that transport's options
    as the inventory gives them (none of them secret), and the names of the environment variables
    that hold its secrets (never their values)."""

    transport: str
    options: tuple[tuple[str, str], ...] = ()
    secret_envs: tuple[tuple[str, str], ...] = ()  # (option, variable name)


@dataclass(frozen=True)
class DeployedNode:
    """A node of the inventory, with what the guide needs of it."""

    name: str
    priority: int  # 1 for the first node of the inventory
    role: str  # install | active | standby (inventory.role)
    lang: str
    data_drive: str  # the inventory's, else the guide's data partition, else C:
    data_drive_from_inventory: bool
    clusterpro_dir: str  # the inventory's, else the family's installation folder
    clusterpro_dir_from_inventory: bool
    reach: DeployedTarget
    hostname: str | None = None
    ip: str | None = None
    topology_id: str | None = None  # the guide's topology node it stands for
    topology_name: str | None = None
    installed_scripts: Mapping[str, str] = field(default_factory=dict)  # script name -> path a delivery puts it at


@dataclass(frozen=True)
class DeployedDns:
    """A DNS server the engine updates (RFC 2136)."""

    name: str
    reach: DeployedTarget


@dataclass(frozen=True)
class Deployment:
    """The values of one cluster for one guide (see the module's text)."""

    inventory: str  # the inventory file, as the manual names it
    cluster: str
    guide: str
    platform: str
    phase: str  # install | operation
    nodes: tuple[DeployedNode, ...]
    configuration_node: str
    group: str | None = None
    active: str | None = None
    fip_address: str | None = None
    fip_host: str | None = None
    domain: str | None = None
    mx_preference: int | None = None
    configuration_folder: str | None = None
    resources: Mapping[str, str] = field(default_factory=dict)  # guide resource id -> cluster name
    dns: tuple[DeployedDns, ...] = ()
    scripts: Mapping[str, bytes] = field(default_factory=dict)  # the bytes the engine writes, by script name
    scripts_lang: str = "ja"
    configuration_scripts: Mapping[str, str] = field(default_factory=dict)  # script name -> path in the configuration folder
    # step id -> the targets the engine runs it on (its scope on this inventory: node names, or
    # "dns:<name>" for a DNS server), for every step with an action or a scope
    step_targets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    # ---- values ----------------------------------------------------------------------------
    @property
    def fip_fqdn(self) -> str | None:
        return f"{self.fip_host}.{self.domain}" if self.fip_host and self.domain else None

    def node(self, name: str) -> DeployedNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def node_for(self, topology_id: str) -> DeployedNode | None:
        """The inventory node that stands for the topology node *topology_id* (None: none does)."""
        return next((n for n in self.nodes if n.topology_id == topology_id), None)

    def unmatched_topology(self, guide: Guide) -> list[str]:
        """The names of the guide's topology nodes no inventory node stands for."""
        return [t.name for t in sorted(guide.meta.topology.nodes, key=lambda t: t.priority)
                if self.node_for(t.id) is None]

    def resource_name(self, guide: Guide, kind: str) -> str | None:
        """The cluster's name of the guide's first resource of *kind* (script, exec)."""
        r = next((r for r in guide.resources if r.kind == kind), None)
        if r is None:
            return None
        return self.resources.get(r.id) or r.cluster_name

    def script_resource(self, guide: Guide, os_: str) -> str | None:
        return self.resource_name(guide, "exec" if os_ == "linux" else "script")

    def text_values(self, guide: Guide, os_: str) -> dict[str, str | None]:
        """The value of each key of :data:`TEXT_PLACEHOLDERS` (None: the inventory has none)."""
        return {"group": self.group, "script-resource": self.script_resource(guide, os_),
                "fip-address": self.fip_address, "fip-fqdn": self.fip_fqdn}

    # ---- the guide's texts -----------------------------------------------------------------
    def substitute(self, text: str, guide: Guide, os_: str, lang: str) -> str:
        """*text* with the topology's node names and the inventory's text placeholders replaced
        by this cluster's values (those the inventory has)."""
        names = {t.name: n.name for t in guide.meta.topology.nodes if (n := self.node_for(t.id)) is not None}
        if names:
            pattern = re.compile(r"(?<![A-Za-z0-9_-])(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
                                 + r")(?![A-Za-z0-9_-])")
            text = pattern.sub(lambda m: names[m.group(1)], text)
        for key, value in self.text_values(guide, os_).items():
            if value is None:
                continue
            for word in TEXT_PLACEHOLDERS[key][lang]:
                text = text.replace(word, value)
        return text

    # ---- the generators' values ------------------------------------------------------------
    def dns_values(self) -> dnscmd.DnsValues:
        """The values of the guide's DNS records (dnscmd lines, the records table)."""
        return dnscmd.DnsValues(
            fip_address=self.fip_address, fip_host=self.fip_host, domain=self.domain,
            mx_preference=self.mx_preference,
            nodes=tuple(dnscmd.Node(n.name, n.hostname, n.ip) for n in self.nodes))

    def cluster_values(self, kb: KnowledgeBase, guide: Guide, lang: str) -> clpcfset.ClusterValues:
        """The clpcfset sequence's values: this cluster's where the inventory has them, the
        placeholders where it has none (a server's address on a second network, for one)."""
        ph = clpcfset.placeholder_values(kb, guide, lang)
        nets = {n.id: n.name(lang) for n in guide.meta.topology.networks}
        servers = []
        for n in self.nodes:
            # an inventory gives a node one address (its first network's); the others stay
            # placeholders, named after the inventory's node
            addresses = {net: "<" + (kb.label("conf-address")(lang).format(node=n.name, network=nets[net]) if net
                                     else kb.label("conf-address-only")(lang).format(node=n.name)) + ">"
                         for net in clpcfset.networks(guide)}
            if n.ip:
                addresses[clpcfset.networks(guide)[0]] = n.ip
            servers.append(clpcfset.Server(n.topology_id or n.name, n.hostname or n.name, addresses))
        return clpcfset.ClusterValues(
            cluster=self.cluster, group=self.group or ph.group, fip=self.fip_address or ph.fip,
            servers=tuple(servers), resources=dict(self.resources))

    def configuration_words(self, guide: Guide, os_: str) -> dict[str, str | None]:
        """The values a delivery command and the script folder name (``{folder}``, ``{group}``,
        ``{resource}``); None where the inventory has none."""
        return {"folder": self.configuration_folder, "group": self.group, "resource": self.script_resource(guide, os_)}

    def data_drives(self) -> list[str]:
        """The data drives of the nodes, each once, in node order."""
        return list(dict.fromkeys(n.data_drive for n in self.nodes))
