"""dns-records: the guide's DNS records (kb/guides/<id>/dns.yaml) on every DNS server of the
inventory, set by RFC 2136 update signed with TSIG through the rfc2136 transport.

Each record set of the guide names its owner and value in a small vocabulary that the inventory
resolves: ``fip-host`` (the FIP's host name), ``mail-domain``, ``fip-reverse`` and
``node-reverse`` (reverse names of the FIP and of each node), ``fip-address``, ``node-host``.
"""
from __future__ import annotations

from typing import Any

from runbook_engine.artifacts import dnscmd
from runbook_engine.engine import dns as dnsops
from runbook_engine.engine.actions import register_action
from runbook_engine.engine.actions.base import Action, Change, Context, Desired
from runbook_engine.engine.facts.dns import RRset
from runbook_engine.engine.status import RowStatus

# the order of a plan's rows: the FIP's own names, the mail domain, then each node
OWNER_ORDER = ("fip-host", "fip-reverse", "mail-domain", "node-reverse")


def guide_records(guide, inventory) -> list[dnsops.Record]:
    """The guide's records resolved against the inventory (validated, lower case), by the same
    resolver as the site's table and the dnscmd lines (artifacts.dnscmd.record_lines)."""
    fip = inventory.fip
    if fip is None:
        raise ValueError("the inventory has no 'fip' section: the DNS step needs the FIP address and host name")
    values = dnscmd.DnsValues(
        fip_address=fip.address, fip_host=fip.hostname, domain=fip.domain, mx_preference=fip.mx_preference,
        nodes=tuple(dnscmd.Node(n.name, n.hostname, n.ip) for n in inventory.nodes if n.hostname and n.ip))
    lines = dnscmd.record_lines(guide.dns.records, values)
    ordered = sorted(lines, key=lambda line: OWNER_ORDER.index(line.kind))  # stable: guide order within a kind
    return [dnsops.Record(line.owner, line.rtype, line.data) for line in ordered]


@register_action
class DnsRecords(Action):
    name = "dns-records"
    scope = "dns-servers"

    def desired(self, ctx: Context) -> list[Desired]:
        records = guide_records(ctx.guide, ctx.inventory)
        zones = ctx.target.options.zones
        out = []
        for key in dict.fromkeys(r.key for r in records):
            recs = [r for r in records if r.key == key]
            out.append(Desired(ctx.target.name, f"{key[0]} {key[1]}", sorted({r.value for r in recs}),
                               {"name": key[0], "rtype": key[1], "zone": dnsops.zone_for(key[0], zones),
                                "ttl": min(r.ttl for r in recs)}))
        return out

    def facts(self, ctx: Context, desired: list[Desired]):
        return {d.target: RRset(d.data["name"], d.data["rtype"]) for d in desired}

    def plan(self, desired: list[Desired], facts: dict[str, Any]) -> list[Change]:
        rows = []
        for d in desired:
            now = sorted(facts[d.target])
            row = Change(action=self.name, node=d.node, target=d.target, current=now or None, desired=d.value)
            if {v.lower() for v in now} != set(d.value):
                where = {k: d.data[k] for k in ("zone", "name", "rtype")}
                row.status = RowStatus.CHANGE
                row.commands = [{"op": "replace" if now else "add", **where, "values": d.value, "ttl": d.data["ttl"]}]
                row.undo = [{"op": "replace", **where, "values": now, "ttl": d.data["ttl"]} if now
                            else {"op": "delete", **where, "values": []}]
                row.before = {"name": d.data["name"], "rtype": d.data["rtype"], "values": now}
            rows.append(row)
        return rows
