"""The dns-records step: A, MX and PTR records for the floating IP on every DNS server of the
inventory (the guide's active and standby DNS), by RFC 2136 update signed with TSIG.

The TSIG secret is read from the environment variable the inventory names, at the moment of the
update; it never enters the journal, the report or an exception message.
"""
from __future__ import annotations

import time

from runbook_engine.engine import dns as dnsops
from runbook_engine.engine.actions.base import Change
from runbook_engine.engine.journal import Journal

PREFIX = "dns:"


def desired_records(inventory) -> list[dnsops.Record]:
    fip = inventory.fip
    if fip is None:
        raise ValueError("the inventory has no 'fip' section: the DNS step needs the FIP address and host name")
    domain = fip.domain + "."
    host = f"{fip.hostname}.{domain}"
    nodes = {f"{n.hostname}.{domain}": n.ip for n in inventory.nodes if n.hostname and n.ip}
    return dnsops.fip_records(host, fip.address, mail_domain=domain, mx_preference=fip.mx_preference, nodes=nodes)


def _rows(server_name: str, current: dict, desired: list[dnsops.Record], changes: list[dnsops.Change]) -> list[Change]:
    pending = {c.key: c for c in changes}
    rows = []
    for key in dict.fromkeys(r.key for r in desired):
        want = sorted(r.value for r in desired if r.key == key)
        now = sorted(current.get(key, []))
        row = Change(action="dns-records", node=PREFIX + server_name, target=f"{key[0]} {key[1]}",
                     current=now or None, desired=want)
        if key in pending:
            row.status = "change"
            row.before = {"name": key[0], "rtype": key[1], "values": now}
        rows.append(row)
    return rows


def run_dns_step(runner, step, mode: str, journal: Journal | None):
    from runbook_engine.engine.runner import StepResult

    results = []
    inv = runner.inventory
    if not inv.dns:
        return [StepResult(step=step.id, action=step.action, node="dns", status="skipped",
                           message="no DNS server in the inventory")]
    try:
        desired = desired_records(inv)
    except ValueError as exc:
        return [StepResult(step=step.id, action=step.action, node="dns", status="error", message=str(exc))]
    for srv in inv.dns:
        t0 = time.perf_counter()
        res = StepResult(step=step.id, action=step.action, node=PREFIX + srv.name, status="converged")
        zones = [srv.forward_zone, srv.reverse_zone]
        try:
            current = dnsops.read_records(srv.server, srv.port, desired)
            changes = dnsops.plan_records(current, desired)
            res.round_trips = 1
            res.rows = _rows(srv.name, current, desired, changes)
            if changes and mode == "apply":
                seqs = [journal.write("intent", node=PREFIX + srv.name, step=step.id, action=step.action,
                                      target=r.target, current=r.current, desired=r.desired, before=r.before,
                                      undo=[])
                        for r in res.rows if r.status == "change"]
                dnsops.apply_plan(srv.server, srv.port, zones, changes, srv.key_name, srv.key_secret_env, srv.algorithm)
                after = dnsops.read_records(srv.server, srv.port, desired)
                res.round_trips += 2
                left = dnsops.plan_records(after, desired)
                for seq, r in zip(seqs, [r for r in res.rows if r.status == "change"]):
                    journal.write("done", ref=seq, node=PREFIX + srv.name, target=r.target,
                                  after=sorted(after.get(tuple(r.target.split(" ")), [])), ok=not left)
                for r in res.rows:
                    if r.status == "change":  # shown as "before -> after"
                        r.status = "changed"
                        r.desired = sorted(after.get(tuple(r.target.split(" ")), [])) or None
                res.status = "error" if left else "changed"
                if left:
                    res.message = f"{len(left)} record set(s) still differ after the update"
            elif changes:
                res.status = "pending"
        except (dnsops.DnsError, ValueError, OSError) as exc:
            res.status = "unreachable" if isinstance(exc, (dnsops.DnsQueryError, OSError)) else "error"
            res.message = str(exc)
        res.seconds = time.perf_counter() - t0
        results.append(runner._emit(res))
    return results


def rollback_dns(inventory, node_name: str, recs: list[dict], res):
    """Put every RRset touched by the run back to its before-values (or delete it)."""
    name = node_name[len(PREFIX):]
    srv = next((s for s in inventory.dns if s.name == name), None)
    if srv is None:
        res.status = "error"
        res.message = f"DNS server '{name}' is not in the inventory"
        return res
    changes = []
    for rec in recs:
        before = rec.get("before") or {}
        key = (before["name"], before["rtype"])
        if before.get("values"):
            records = tuple(dnsops.Record(key[0], key[1], v) for v in before["values"])
            changes.append(dnsops.Change("replace", key, records))
        else:
            changes.append(dnsops.Change("delete", key, ()))
        res.rows.append(Change(action="dns-records", node=node_name, target=rec["target"],
                               current=rec.get("desired"), desired=before.get("values") or None, status="changed"))
    try:
        dnsops.apply_plan(srv.server, srv.port, [srv.forward_zone, srv.reverse_zone], changes,
                          srv.key_name, srv.key_secret_env, srv.algorithm)
        res.round_trips = 1
    except dnsops.DnsError as exc:
        res.status = "error"
        res.message = str(exc)
    return res
