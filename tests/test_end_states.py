"""End states, not statuses: the engine applies the SURFNAVI guide to real components (Wine nodes
with our sc.exe, two BIND servers with TSIG as the active and the standby DNS), then every node and
every DNS server is read back without the engine — `sc qc`, `sc query` and `reg query` lines
parsed here, the script files' bytes read from the host, dnspython queries and zone transfers —
and compared with what the guide's data asks for, in each phase and for each role of a node; after
the rollback, with the exact state read before the first apply.

What the guide asks for is taken from kb/ through the model and from the inventory file alone,
never from an action's ``desired()``:

* step E (services-manual, the services table): the services of ``manual_services()`` start
  manually (`sc`'s DEMAND_START, registry ``Start`` 3) and stopped, in the install phase on every
  node; in operation the cluster runs the scripted ones on the active node (START.BAT's ARMLOAD),
  so they run there and stay stopped on the standby nodes; a service the guide does not set to
  manual (ICPFSrv, never to be stopped) is left as it was;
* step 3-1 (script-files): START.BAT and STOP.BAT, byte for byte what the site offers, in the
  configuration folder's ``scripts\\<group>\\<resource>`` on the configuration node only; after
  the operator's delivery (3-2, the sandbox stands in) the same bytes on every node;
* step 3-4 (registry-key, a check): the key of the registry synchronization resource is present on
  every node and the engine never writes it;
* step 4-2 (dns-records): the records of dns.yaml, resolved with the inventory's FIP, domain and
  node addresses, on every DNS server of the inventory, the same on each (TTL included), and
  nothing else in their zones changed.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.reversename
import dns.zone
import pytest
import yaml

from plugins.components import run_on

pytestmark = [pytest.mark.wine, pytest.mark.named]

GUIDE = "surfnavi"
#: one sandbox per phase; in operation the group is active on sv2, so the configuration node sv1
#: is a standby
PHASES = {"install": {"nodes": 2}, "operation": {"nodes": 2, "phase": "operation", "active": "sv2"}}
#: the guide's 「手動」/ manual start as Windows shows it: `sc qc` and the service's registry value
MANUAL = {"start": "DEMAND_START", "registry": 3}
SERVICES_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Services"
SETTLE_SECONDS = 20.0  # how long a *_PENDING state may take to settle (sc stop returns at once)


# --- readers: straight from the nodes and the DNS servers, no engine facts ---------------------------

_START = re.compile(r"^\s*START_TYPE\s*:\s*\d+\s+(\S+)", re.M)
_STATE = re.compile(r"^\s*STATE\s*:\s*\d+\s+(\S+)", re.M)
_REG_KEY = re.compile(r"^HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\(.+?)\s*$")
_REG_START = re.compile(r"^\s+Start\s+REG_DWORD\s+0x([0-9a-fA-F]+)\s*$")


def _registry_starts(stdout: str) -> dict[str, int]:
    """`reg query HKLM\\...\\Services /s /v Start` -> {service (lower case): Start}."""
    out, key = {}, None
    for line in stdout.splitlines():
        m = _REG_KEY.match(line)
        if m:
            key = m.group(1).lower()
            continue
        m = _REG_START.match(line)
        if m and key is not None:
            out[key] = int(m.group(1), 16)
    return out


def read_services(sb, node: str, names: list[str]) -> dict[str, dict]:
    """Each service's startup type (`sc qc`), state (`sc query`) and registry ``Start`` value; read
    again while a state is still *_PENDING (`sc stop` does not wait)."""
    cmds = ([f'sc qc "{n}"' for n in names] + [f'sc query "{n}"' for n in names]
            + [f'reg query "{SERVICES_KEY}" /s /v Start'])
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        res = run_on(sb, node, *cmds)
        qc, query, reg = res[:len(names)], res[len(names):-1], res[-1]
        assert reg.rc == 0, reg.stdout
        starts = _registry_starts(reg.stdout)
        out = {}
        for name, c, q in zip(names, qc, query):
            start, state = _START.search(c.stdout), _STATE.search(q.stdout)
            out[name] = {"start": start.group(1) if c.rc == 0 and start else f"sc qc rc {c.rc}",
                         "state": state.group(1) if q.rc == 0 and state else f"sc query rc {q.rc}",
                         "registry": starts.get(name.lower())}
        if not any(s["state"].endswith("_PENDING") for s in out.values()) or time.monotonic() > deadline:
            return out
        time.sleep(0.5)


def read_registry(sb, node: str, keys: list[str]) -> dict[str, str | None]:
    """`reg query KEY /s` of each key: its whole text, or None where the key is absent."""
    res = run_on(sb, node, *[f'reg query "{k}" /s' for k in keys])
    return {k: r.stdout if r.rc == 0 else None for k, r in zip(keys, res)}


def host_path(prefix: str, windows_path: str) -> Path:
    """Where a Windows path of a Wine node is on this machine: through the prefix's drive link,
    matching each component case-insensitively as Windows does."""
    drive, rest = windows_path.split(":", 1)
    path = (Path(prefix) / "dosdevices" / f"{drive.lower()}:").resolve()
    for part in [p for p in rest.split("\\") if p]:
        match = next((c for c in path.iterdir() if c.name.lower() == part.lower()), None) if path.is_dir() else None
        path = match or path / part
    return path


def read_files(prefix: str, paths: list[str]) -> dict[str, bytes | None]:
    out = {}
    for p in paths:
        f = host_path(prefix, p)
        out[p] = f.read_bytes() if f.is_file() else None
    return out


def read_rrset(server: str, port: int, owner: str, rtype: str) -> dict:
    """One direct non-recursive query: the answer's rcode, the RRset's TTL and values."""
    q = dns.message.make_query(owner, rtype)
    q.flags &= ~dns.flags.RD
    resp = dns.query.tcp(q, server, port=port, timeout=5)
    name, rdtype = dns.name.from_text(owner), dns.rdatatype.from_text(rtype)
    rrset = next((r for r in resp.answer if r.name == name and r.rdtype == rdtype), None)
    return {"rcode": dns.rcode.to_text(resp.rcode()), "ttl": rrset.ttl if rrset else None,
            "values": sorted(rd.to_text() for rd in rrset) if rrset else []}


def read_zone(server: str, port: int, zone: str) -> list[tuple]:
    """Every record of *zone* by zone transfer, but the SOA (its serial counts the updates)."""
    z = dns.zone.from_xfr(dns.query.xfr(server, zone, port=port, relativize=False, timeout=5), relativize=False)
    return sorted((name.to_text(), rds.ttl, dns.rdatatype.to_text(rds.rdtype), rd.to_text())
                  for name, rds in z.iterate_rdatasets() if rds.rdtype != dns.rdatatype.SOA for rd in rds)


# --- what the guide asks for: kb data through the model, and the inventory file ----------------------

def registry_keys(guide) -> list[str]:
    return [r.key for r in guide.resources if r.kind == "registry" and r.key]


def script_locations(kb, guide, inv: dict, node: dict) -> dict[str, dict[str, str]]:
    """START.BAT / STOP.BAT -> their Windows paths in the configuration folder and where a delivery
    installs them, from the family's ``configuration`` and the inventory's names."""
    conf = kb.family_of(guide).configuration
    resource = next(r for r in guide.resources if r.kind == "script")
    rel = conf.folder(inv["cluster_state"]["group"], inv["configuration"]["resources"][resource.id])
    roots = {"configuration": inv["configuration"]["folder"], "installed": node.get("clusterpro_dir") or conf.install_dir}
    return {where: {name: f"{root.rstrip(chr(92))}\\{rel}\\{file}" for name, file in conf.script_files.items()}
            for where, root in roots.items()}


def role(inv: dict, node: str) -> str:
    cs = inv["cluster_state"]
    if cs["phase"] == "install":
        return "install"
    return "active" if node == cs["active"] else "standby"


def expected_services(guide, inv: dict, node: str, before: dict[str, dict]) -> dict[str, dict]:
    """Step E's services: manual start; stopped, except on the active node in operation where the
    group's start script runs the scripted ones. The others: as they were."""
    scripted = {s.service for s in guide.scripted_services()}
    out = {}
    for s in guide.services:
        if s.manual_in is None:
            out[s.service] = before[s.service]
            continue
        running = role(inv, node) == "active" and s.service in scripted
        out[s.service] = {"start": MANUAL["start"], "state": "RUNNING" if running else "STOPPED",
                          "registry": MANUAL["registry"]}
    return out


def reverse(ip: str) -> str:
    return dns.reversename.from_address(ip).to_text()


def expected_records(guide, inv: dict) -> dict[tuple[str, str], list[str]]:
    """dns.yaml's record sets, their owner/value words resolved with the inventory's values."""
    fip, domain = inv["fip"], inv["fip"]["domain"]

    def host(name: str) -> str:
        return f"{name}.{domain}."

    owners = {"fip-host": host(fip["hostname"]), "mail-domain": f"{domain}.", "fip-reverse": reverse(fip["address"])}
    values = {"fip-address": fip["address"], "fip-host": host(fip["hostname"])}
    out: dict[tuple[str, str], set[str]] = {}
    for rec in guide.dns.records:
        for rr in rec.rrsets:
            if rr.owner == "node-reverse":
                assert rr.value == "node-host", rr
                pairs = [(reverse(n["ip"]), host(n["hostname"])) for n in inv["nodes"]]
            else:
                pairs = [(owners[rr.owner], values[rr.value])]
            for owner, value in pairs:
                if rec.rtype == "MX":
                    value = f"{fip['mx_preference']} {value}"
                out.setdefault((owner, rec.rtype), set()).add(value)
    return {k: sorted(v) for k, v in out.items()}


# --- the state of the whole cluster -----------------------------------------------------------------

def snapshot(sb, inv: dict) -> dict:
    kb = sb.project.knowledge
    guide = kb.guides[GUIDE]
    names = [s.service for s in guide.services]
    nodes = {}
    for node in inv["nodes"]:
        where = script_locations(kb, guide, inv, node)
        nodes[node["name"]] = {
            "services": read_services(sb, node["name"], names),
            "registry": read_registry(sb, node["name"], registry_keys(guide)),
            "configuration": read_files(node["prefix"], list(where["configuration"].values())),
            "installed": read_files(node["prefix"], list(where["installed"].values())),
        }
    want = expected_records(guide, inv)
    servers = {}
    for s in inv["dns"]:
        servers[s["name"]] = {
            "records": {f"{o} {t}": read_rrset(s["server"], s["port"], o, t) for o, t in want},
            "zones": {z: read_zone(s["server"], s["port"], z) for z in (s["forward_zone"], s["reverse_zone"])},
        }
    return {"nodes": nodes, "dns": servers}


@dataclass
class Flow:
    sb: object
    inv: dict
    before: dict
    applied: dict
    restored: dict

    @property
    def guide(self):
        return self.sb.project.knowledge.guides[GUIDE]

    @property
    def node_names(self) -> list[str]:
        return [n["name"] for n in self.inv["nodes"]]


def runner(sb, **kw):
    from runbook_engine.engine.runner import Runner

    return Runner(sb.project, sb.inv(), state=sb.state, **kw)


def _failures(report) -> list:
    return [(r.node, r.step, r.status, r.message) for r in report.results if r.status not in ("converged", "changed")]


@pytest.fixture(scope="module", params=list(PHASES))
def flow(request, tmp_path_factory):
    """A sandbox in the phase, read; the guide applied as the procedure goes (3-1, the delivery,
    then every step), read; both runs rolled back, newest first, read."""
    from plugins.cluster import destroy, make_sandbox
    from runbook_engine.engine.runner import rollback

    sb = make_sandbox(tmp_path_factory.mktemp(f"end-{request.param}"), **PHASES[request.param])
    try:
        inv = yaml.safe_load(sb.inventory.read_text(encoding="utf-8"))
        assert [s["name"] for s in inv["dns"]] == ["dns-active", "dns-standby"], inv["dns"]
        before = snapshot(sb, inv)
        runs = [runner(sb, steps=["script-files"]).run("apply")]
        sb.deliver()  # 3-2: the operator's delivery of the configuration
        runs.append(runner(sb).run("apply"))
        for r in runs:
            assert r.exit_code == 0, _failures(r)
        applied = snapshot(sb, inv)
        for r in reversed(runs):
            back = rollback(sb.project, sb.inv(), r.run_id, state=sb.state)
            assert back.exit_code == 0, [(b.node, b.message) for b in back.results]
        restored = snapshot(sb, inv)
        yield Flow(sb, inv, before, applied, restored)
    finally:
        destroy(sb)


# --- after apply: the guide's end state -------------------------------------------------------------

def test_every_service_has_the_startup_type_and_state_the_guide_asks_for_in_the_nodes_phase_and_role(flow):
    guide = flow.guide
    assert {s.feature for s in guide.manual_services()} <= guide.features_in_use()  # no "not used" exception here
    roles = {n: role(flow.inv, n) for n in flow.node_names}
    assert set(roles.values()) == ({"install"} if flow.inv["cluster_state"]["phase"] == "install"
                                   else {"active", "standby"})
    for node in flow.node_names:
        before = flow.before["nodes"][node]["services"]
        want = expected_services(guide, flow.inv, node, before)
        assert before != want, f"{node}: the sandbox already looks applied; the test would prove nothing"
        got = flow.applied["nodes"][node]["services"]
        assert got == want, (node, roles[node], {k: (got[k], want[k]) for k in want if got[k] != want[k]})


def test_the_scripts_are_the_guides_bytes_in_the_configuration_folder_and_every_delivered_copy(flow):
    from runbook_engine.artifacts.scripts import render_scripts

    kb = flow.sb.project.knowledge
    config_node = flow.inv["configuration"]["node"]
    for node in flow.inv["nodes"]:
        want = render_scripts(kb, flow.guide, node["lang"], flow.sb.project.snippets)
        where = script_locations(kb, flow.guide, flow.inv, node)
        got = flow.applied["nodes"][node["name"]]
        # the engine writes the configuration folder on the configuration node only
        assert got["configuration"] == {path: (want[name].data if node["name"] == config_node else None)
                                        for name, path in where["configuration"].items()}, node["name"]
        assert got["installed"] == {path: want[name].data for name, path in where["installed"].items()}, node["name"]
        assert all(b"\r\n" in data for data in got["installed"].values())


def test_the_registry_key_of_the_synchronization_resource_is_on_every_node_and_untouched(flow):
    keys = registry_keys(flow.guide)
    assert keys
    for node in flow.node_names:
        got, before = flow.applied["nodes"][node]["registry"], flow.before["nodes"][node]["registry"]
        assert all(got[k] is not None for k in keys), (node, got)
        assert got == before, node  # step 3-4 is a check: the engine reads and exports, never writes


def test_every_dns_server_holds_the_guides_records_alike_and_nothing_else_changed(flow):
    want = expected_records(flow.guide, flow.inv)
    assert {rtype for _, rtype in want} == {r.rtype for r in flow.guide.dns.records} == {"A", "MX", "PTR"}
    ttls = {}
    for server, got in flow.applied["dns"].items():
        records = got["records"]
        assert {k: (v["rcode"], v["values"]) for k, v in records.items()} == \
            {f"{o} {t}": ("NOERROR", values) for (o, t), values in want.items()}, server
        ttls[server] = {k: v["ttl"] for k, v in records.items()}
        # the zones gained exactly the guide's records and lost nothing
        before = {r for z in flow.before["dns"][server]["zones"].values() for r in z}
        after = {r for z in got["zones"].values() for r in z}
        assert before <= after, (server, sorted(before - after))
        assert sorted((o, t, v) for o, _ttl, t, v in after - before) == \
            sorted((o, t, v) for (o, t), values in want.items() for v in values), server
    # the same records on every DNS server, TTL included
    first = next(iter(ttls.values()))
    assert all(t == first for t in ttls.values()), ttls


# --- after rollback: the exact before-state -----------------------------------------------------------

def test_rollback_restores_the_exact_before_state_read_from_every_node_and_dns_server(flow):
    before, after = flow.before, flow.restored
    assert flow.applied != before  # the apply changed something to roll back
    for node in flow.node_names:
        b, a = before["nodes"][node], after["nodes"][node]
        for part in ("services", "registry", "configuration"):
            assert a[part] == b[part], (node, part, {k: (a[part][k], b[part][k]) for k in b[part] if a[part][k] != b[part][k]})
        # the delivered copies are the operator's delivery (3-2), not the engine's: left as delivered
        assert a["installed"] == flow.applied["nodes"][node]["installed"], node
    for server in before["dns"]:
        assert after["dns"][server] == before["dns"][server], server


# --- a check step never writes -------------------------------------------------------------------------

def test_a_node_without_the_registry_key_is_reported_and_the_engine_does_not_create_it(flow):
    sb, (key,) = flow.sb, registry_keys(flow.guide)
    first, second = flow.node_names
    assert run_on(sb, second, f'reg delete "{key}" /f')[0].rc == 0
    untouched = read_registry(sb, first, [key])
    report = runner(sb, steps=["registry-key"]).run("apply")
    assert read_registry(sb, second, [key]) == {key: None}  # still absent: the installer's to create
    assert read_registry(sb, first, [key]) == untouched
    by = {r.node: r for r in report.results}
    assert by[second].status == "error" and by[first].status == "converged", _failures(report)
    assert report.exit_code == 1
