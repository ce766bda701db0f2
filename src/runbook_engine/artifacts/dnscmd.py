"""The guide's DNS records as ``dnscmd`` command lines, for the Microsoft DNS service that SURFNAVI
configures on every cluster server.

Microsoft DNS (Windows Server 2003) accepts RFC 2136 updates only unsigned or signed with GSS-TSIG
(Active Directory-integrated zones), not with the shared-key TSIG the engine's ``dns-records``
action sends, so for those servers the operator runs these lines on every node. The syntax is the
documented one (same on Windows Server 2003)::

    dnscmd <server> /RecordAdd <zone> <node> <type> <data>
    dnscmd <server> /RecordDelete <zone> <node> <type> <data> /f

``<node>`` is relative to the zone (``@`` is the zone itself); MX data is ``<preference> <host>.``;
a PTR record goes in the reverse zone of the address's first three octets (``z.y.x.in-addr.arpa``)
with the last octet as its node.

Values are checked against :data:`runbook_engine.model.rules.PATTERNS` (IPv4 addresses, host
names, domain names), so nothing that cmd.exe would read as an operator reaches a line. A value
that is not known (the site has no inventory) is printed as a placeholder in angle brackets, as
vendor manuals write them (``<FIP>``, ``<domain>``); such lines are a template, never a command.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from runbook_engine.model.rules import fits
from runbook_engine.model.schema import DnsRecordSpec

#: A value still to be filled in by the operator is written like this (vendor manual style).
PLACEHOLDER_OPEN, PLACEHOLDER_CLOSE = "<", ">"


def placeholder(name: str) -> str:
    return f"{PLACEHOLDER_OPEN}{name}{PLACEHOLDER_CLOSE}"


@dataclass(frozen=True)
class Node:
    """A cluster server: its label (the topology's name, for placeholders), host name and IP."""

    label: str
    host: str | None = None
    ip: str | None = None


@dataclass(frozen=True)
class DnsValues:
    """The concrete values the records need; ``None`` where unknown (printed as a placeholder)."""

    fip_address: str | None = None
    fip_host: str | None = None  # the FIP's host name, without the domain
    domain: str | None = None
    mx_preference: int | None = None
    nodes: Sequence[Node] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        checks = [("ipv4", self.fip_address, "FIP address"), ("host-name", self.fip_host, "FIP host name"),
                  ("domain-name", self.domain, "domain")]
        for n in self.nodes:
            checks += [("host-name", n.host, f"host name of node {n.label}"),
                       ("ipv4", n.ip, f"IP address of node {n.label}")]
        for kind, value, what in checks:
            if value is not None and not fits(kind, value):
                raise ValueError(f"{what} {value!r} is not a valid {kind}")
        p = self.mx_preference
        if p is not None and (isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= 65535):
            raise ValueError(f"MX preference {p!r} is not an integer from 0 to 65535")


@dataclass(frozen=True)
class RecordLine:
    """One record as dnscmd addresses it."""

    zone: str
    node: str  # relative to the zone; "@" is the zone itself
    rtype: str
    data: str
    kind: str = ""  # the owner in the guide's vocabulary (fip-host, mail-domain, fip-reverse, node-reverse)

    @property
    def owner(self) -> str:
        """The record's fully qualified owner name (trailing dot)."""
        return f"{self.zone}." if self.node == "@" else f"{self.node}.{self.zone}."

    def add(self, server: str) -> str:
        return f"dnscmd {server} /RecordAdd {self.zone} {self.node} {self.rtype} {self.data}"

    def delete(self, server: str) -> str:
        return f"dnscmd {server} /RecordDelete {self.zone} {self.node} {self.rtype} {self.data} /f"

    @property
    def is_template(self) -> bool:
        return PLACEHOLDER_OPEN in self.add("x")


def _reverse(ip: str | None, what: str) -> tuple[str, str]:
    """(reverse zone of the /24, node = last octet) of *ip*, or placeholders."""
    if ip is None:
        return placeholder("reverse-zone"), placeholder(f"{what}-last-octet")
    a, b, c, d = ip.split(".")
    return f"{c}.{b}.{a}.in-addr.arpa", d


def record_lines(records: Sequence[DnsRecordSpec], values: DnsValues) -> list[RecordLine]:
    """The guide's records (dns.yaml) resolved with *values*, in the guide's order: the one
    resolver of the owner/value vocabulary, used by the site's table, the dnscmd lines and the
    engine's ``dns-records`` action alike."""
    v = values
    domain = v.domain or placeholder("domain")
    fip_host = v.fip_host or placeholder("FIP-host")
    fip_fqdn = f"{fip_host}.{domain}."
    value_of = {"fip-address": v.fip_address or placeholder("FIP"), "fip-host": fip_fqdn}
    out: list[RecordLine] = []
    for spec in records:
        for rr in spec.rrsets:
            if rr.owner == "node-reverse":
                for n in v.nodes:
                    zone, node = _reverse(n.ip, n.label)
                    host = n.host or placeholder(f"{n.label}-host")
                    out.append(RecordLine(zone, node, spec.rtype, f"{host}.{domain}.", rr.owner))
                continue
            if rr.owner == "fip-host":
                zone, node = domain, fip_host
            elif rr.owner == "mail-domain":
                zone, node = domain, "@"
            else:  # fip-reverse
                zone, node = _reverse(v.fip_address, "FIP")
            data = value_of[rr.value]
            if spec.rtype == "MX":
                pref = placeholder("preference") if v.mx_preference is None else str(v.mx_preference)
                data = f"{pref} {data}"
            out.append(RecordLine(zone, node, spec.rtype, data, rr.owner))
    return out


def servers(values: DnsValues) -> list[str]:
    """The DNS servers to run the lines against: every node's own DNS service (by host name)."""
    return [n.host or placeholder(f"{n.label}-host") for n in values.nodes]


def add_lines(records: Sequence[DnsRecordSpec], values: DnsValues, server: str) -> list[str]:
    return [r.add(server) for r in record_lines(records, values)]


def delete_lines(records: Sequence[DnsRecordSpec], values: DnsValues, server: str) -> list[str]:
    return [r.delete(server) for r in record_lines(records, values)]


def template_values(node_labels: Sequence[str]) -> DnsValues:
    """Values for the site and the notebooks (no inventory): every value a placeholder, one node
    per topology node."""
    return DnsValues(nodes=tuple(Node(label) for label in node_labels))
