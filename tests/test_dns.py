"""DNS step against a real BIND (see plugins/named.py): TSIG-signed RFC 2136 updates."""
from __future__ import annotations

import base64
import logging
import time
from pathlib import Path

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.update
import pytest

from plugins.named import FORWARD_ZONE, REVERSE_ZONE, NamedServer
from runbook_engine.engine.tsig import TsigSecret
from runbook_engine.engine.dns import (
    Change,
    DnsUpdateError,
    Record,
    apply_changes,
    apply_plan,
    fip_records,
    plan_records,
    read_records,
    reverse_name,
    zone_for,
)

SECRET_ENV = "RB_TEST_TSIG_SECRET"
SECRET = TsigSecret(env=SECRET_ENV)


@pytest.fixture
def signed(named_server: NamedServer, monkeypatch: pytest.MonkeyPatch) -> NamedServer:
    monkeypatch.setenv(SECRET_ENV, named_server.secret)
    return named_server


# -- validation (no server) ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["fip.example.test", "-bad.example.test.", "bad-.example.test.", "under_score.example.test.",
     "a..example.test.", ".", "", "x" * 64 + ".example.test.", "sp ace.example.test.",
     "ünicode.example.test."],
)
def test_bad_names_rejected(name: str) -> None:
    with pytest.raises(ValueError):
        Record(name, "A", "192.0.2.10", 300)


@pytest.mark.parametrize(
    "ip", ["192.0.2", "192.0.2.256", "192.0.2.010", "192.0.2.1.5", " 192.0.2.1", "::1", "1e3.0.0.1",
           "192.0.2.-1", "０.0.0.1"],
)
def test_bad_ipv4_rejected(ip: str) -> None:
    with pytest.raises(ValueError, match="IPv4|A record"):
        Record("fip.example.test.", "A", ip, 300)
    with pytest.raises(ValueError):
        reverse_name(ip)


def test_other_bad_input_rejected() -> None:
    with pytest.raises(ValueError, match="record type"):
        Record("fip.example.test.", "CNAME", "x.example.test.", 300)
    with pytest.raises(ValueError, match="MX"):
        Record("example.test.", "MX", "mail.example.test.", 300)
    with pytest.raises(ValueError, match="MX"):
        Record("example.test.", "MX", "70000 mail.example.test.", 300)
    with pytest.raises(ValueError, match="PTR"):
        Record("10.2.0.192.in-addr.arpa.", "PTR", "host.example.test", 300)
    with pytest.raises(ValueError, match="TTL"):
        Record("fip.example.test.", "A", "192.0.2.10", -1)


def test_records_are_normalised() -> None:
    r = Record("FIP.Example.Test.", "a", "192.0.2.10", 60)
    assert (r.name, r.rtype, r.key) == ("fip.example.test.", "A", ("fip.example.test.", "A"))
    assert Record("example.test.", "MX", "010 Mail.Example.Test.").value == "10 mail.example.test."
    assert reverse_name("192.0.2.10") == "10.2.0.192.in-addr.arpa."


def test_zone_for_picks_longest() -> None:
    zones = ["test.", "example.test.", "sub.example.test.", REVERSE_ZONE]
    assert zone_for("a.sub.example.test.", zones) == "sub.example.test."
    assert zone_for("fip.example.test.", zones) == "example.test."
    assert zone_for("example.test.", zones) == "example.test."
    assert zone_for("10.2.0.192.in-addr.arpa.", zones) == REVERSE_ZONE
    assert zone_for("xexample.test.", ["example.test.", "test."]) == "test."
    with pytest.raises(ValueError, match="no zone"):
        zone_for("fip.example.jp.", zones)


def test_plan_add_replace_and_nothing() -> None:
    a = Record("fip.example.test.", "A", "192.0.2.10", 300)
    mx = Record("example.test.", "MX", "10 fip.example.test.", 300)
    ptr = Record("10.2.0.192.in-addr.arpa.", "PTR", "fip.example.test.", 300)
    current = {a.key: ["192.0.2.10"], mx.key: ["20 old.example.test."], ptr.key: []}
    plan = plan_records(current, [a, mx, ptr])
    assert [(c.action, c.key) for c in plan] == [("replace", mx.key), ("add", ptr.key)]
    assert "20 old.example.test." in str(plan[0])
    assert plan_records({a.key: ["192.0.2.10"]}, [a, a]) == []


# -- against the server ----------------------------------------------------------------------


@pytest.mark.named
def test_unsigned_update_is_refused(named_server: NamedServer) -> None:
    upd = dns.update.UpdateMessage(FORWARD_ZONE)
    upd.add("unsigned.example.test.", 300, "A", "192.0.2.99")
    resp = dns.query.tcp(upd, named_server.host, port=named_server.port, timeout=5)
    assert resp.rcode() == dns.rcode.REFUSED
    got = read_records(named_server.host, named_server.port, [("unsigned.example.test.", "A")])
    assert got == {("unsigned.example.test.", "A"): []}


@pytest.mark.named
def test_signed_update_adds_records_and_is_idempotent(
    signed: NamedServer, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = signed.host, signed.port
    desired = fip_records(
        "fip.example.test.", "192.0.2.100", mail_domain="example.test.", mx_preference=10,
        nodes={"node1.example.test.": "192.0.2.11", "node2.example.test.": "192.0.2.12"}, ttl=300,
    )
    before = read_records(host, port, desired)
    assert all(v == [] for v in before.values())
    plan = plan_records(before, desired)
    assert {c.action for c in plan} == {"add"} and len(plan) == 5

    caplog.set_level(logging.DEBUG)
    t0 = time.perf_counter()
    zones = apply_plan(host, port, signed.zones, plan, signed.key_name, SECRET)
    elapsed = time.perf_counter() - t0
    assert zones == [FORWARD_ZONE, REVERSE_ZONE]
    assert signed.secret not in caplog.text
    print(f"\nDNS: 2 signed UPDATEs (5 RRsets) in {elapsed * 1000:.1f} ms")

    after = read_records(host, port, desired)
    assert after[("fip.example.test.", "A")] == ["192.0.2.100"]
    assert after[("example.test.", "MX")] == ["10 fip.example.test."]
    assert after[("100.2.0.192.in-addr.arpa.", "PTR")] == ["fip.example.test."]
    assert after[("11.2.0.192.in-addr.arpa.", "PTR")] == ["node1.example.test."]
    assert after[("12.2.0.192.in-addr.arpa.", "PTR")] == ["node2.example.test."]
    assert plan_records(after, desired) == []

    # a changed FIP replaces the A and its PTR is added; the old PTR is left alone
    moved = fip_records("fip.example.test.", "192.0.2.101", ttl=300)
    plan2 = plan_records(read_records(host, port, moved), moved)
    assert [(c.action, c.key[1]) for c in plan2] == [("replace", "A"), ("add", "PTR")]
    apply_plan(host, port, signed.zones, plan2, signed.key_name, SECRET)
    assert read_records(host, port, moved)[("fip.example.test.", "A")] == ["192.0.2.101"]
    assert plan_records(read_records(host, port, moved), moved) == []


@pytest.mark.named
def test_add_with_stale_plan_fails_on_prerequisite(signed: NamedServer) -> None:
    rec = Record("race.example.test.", "A", "192.0.2.50", 300)
    plan = plan_records({}, [rec])
    apply_changes(signed.host, signed.port, FORWARD_ZONE, plan, signed.key_name, SECRET)
    other = [Change("add", rec.key, (Record("race.example.test.", "A", "192.0.2.51", 300),))]
    with pytest.raises(DnsUpdateError, match="YXRRSET"):
        apply_changes(signed.host, signed.port, FORWARD_ZONE, other, signed.key_name, SECRET)


@pytest.mark.named
def test_wrong_secret_fails_clearly_without_the_secret(
    named_server: NamedServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = base64.b64encode(b"definitely-not-the-right-key-000").decode()
    monkeypatch.setenv(SECRET_ENV, wrong)
    caplog.set_level(logging.DEBUG)
    plan = plan_records({}, [Record("wrong.example.test.", "A", "192.0.2.77", 300)])
    with pytest.raises(DnsUpdateError) as ei:
        apply_changes(
            named_server.host, named_server.port, FORWARD_ZONE, plan, named_server.key_name,
            SECRET,
        )
    msg = str(ei.value)
    print(f"\nwrong secret -> {msg}")
    assert FORWARD_ZONE in msg and f"{named_server.host}:{named_server.port}" in msg
    assert wrong not in msg and named_server.secret not in msg
    assert wrong not in caplog.text
    assert "BADSIG" in msg and SECRET_ENV in msg
    assert ei.value.__cause__ is None and wrong not in repr(ei.value.__context__)
    got = read_records(named_server.host, named_server.port, plan[0].records)
    assert got[("wrong.example.test.", "A")] == []


@pytest.mark.named
def test_unknown_key_name_fails_clearly(signed: NamedServer) -> None:
    plan = plan_records({}, [Record("badkey.example.test.", "A", "192.0.2.79", 300)])
    with pytest.raises(DnsUpdateError, match="BADKEY"):
        apply_changes(signed.host, signed.port, FORWARD_ZONE, plan, "no-such-key", SECRET)


@pytest.mark.named
def test_secret_env_missing_or_malformed(
    named_server: NamedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_records({}, [Record("x.example.test.", "A", "192.0.2.78", 300)])
    args = (named_server.host, named_server.port, FORWARD_ZONE, plan, named_server.key_name)
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(DnsUpdateError, match=SECRET_ENV):
        apply_changes(*args, SECRET)
    monkeypatch.setenv(SECRET_ENV, "not base64 !!")
    with pytest.raises(DnsUpdateError, match="base64") as ei:
        apply_changes(*args, SECRET)
    assert "not base64 !!" not in str(ei.value)


@pytest.mark.named
def test_change_outside_zone_rejected(signed: NamedServer) -> None:
    plan = plan_records({}, [Record("fip.example.test.", "A", "192.0.2.10", 300)])
    with pytest.raises(ValueError, match="zone"):
        apply_changes(signed.host, signed.port, REVERSE_ZONE, plan, signed.key_name, SECRET)


# -- the dns-records action through the rfc2136 connector, on a real named -------------------

REPO = Path(__file__).resolve().parents[1]


def _project(tmp_path, drop_mx: bool = False):
    """The repository's project, or a copy of its kb/ whose guide has no MX record."""
    import shutil

    from runbook_engine.model.project import Project

    if not drop_mx:
        return Project(REPO, state_dir=tmp_path / "state")
    root = tmp_path / "proj"
    shutil.copytree(REPO / "kb", root / "kb")
    (root / "snippets").symlink_to(REPO / "snippets", target_is_directory=True)
    dns_yaml = root / "kb" / "guides" / "surfnavi" / "dns.yaml"
    text = dns_yaml.read_text(encoding="utf-8")
    start, end = text.index("  - id: fip-mx\n"), text.index("  - id: fip-ptr\n")
    dns_yaml.write_text(text[:start] + text[end:], encoding="utf-8")
    return Project(root, state_dir=tmp_path / "state")


def _inventory(tmp_path, srv: NamedServer, fip: str, host: str, node_ips: list[str], extra_dns: list[dict] = (),
               secret: dict | None = None):
    """The inventory (tmp_path/inventory.yaml, loaded) of the guide's DNS records on *srv*; *secret*:
    how it names the TSIG secret (default: key_secret_env)."""
    import yaml

    from runbook_engine.engine.inventory import load_inventory

    guide = "surfnavi"
    server = {"name": "primary", "server": srv.host, "port": srv.port, "key_name": srv.key_name,
              **(secret or {"key_secret_env": SECRET_ENV}), "forward_zone": FORWARD_ZONE, "reverse_zone": REVERSE_ZONE}
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump({
        "cluster": "dns-test", "guide": guide,
        "fip": {"address": fip, "hostname": host, "domain": "example.test"},
        "nodes": [{"name": f"n{i}", "transport": "wine", "prefix": f"n{i}", "hostname": f"{host}-n{i}", "ip": ip}
                  for i, ip in enumerate(node_ips, start=1)],
        "dns": [server, *extra_dns]}))
    return load_inventory(path)


def _dns_run(project, inv, mode: str, tmp_path):
    from runbook_engine.engine.runner import Runner

    return Runner(project, inv, steps=["dns-records"], state=tmp_path / "state").run(mode)


@pytest.mark.named
def test_a_dns_read_of_n_record_sets_counts_n_round_trips_and_one_update_per_zone(signed, tmp_path):
    project = _project(tmp_path)
    inv = _inventory(tmp_path, signed, "192.0.2.150", "rt-host", ["192.0.2.151", "192.0.2.152"])
    plan = _dns_run(project, inv, "plan", tmp_path)
    (res,) = plan.results
    rrsets = len(res.rows)
    assert rrsets == 5  # A, PTR of the FIP, MX, a PTR per node
    assert res.status == "pending" and res.round_trips == rrsets
    applied = _dns_run(project, inv, "apply", tmp_path)
    (res,) = applied.results
    assert res.status == "changed", res.message
    # read N, one UPDATE for the forward and one for the reverse zone, read N again
    assert res.round_trips == 2 * rrsets + 2
    again = _dns_run(project, inv, "plan", tmp_path)
    assert again.results[0].status == "converged" and again.results[0].round_trips == rrsets


@pytest.mark.named
def test_a_guide_without_an_mx_record_plans_no_mx(signed, tmp_path):
    project = _project(tmp_path, drop_mx=True)
    inv = _inventory(tmp_path, signed, "192.0.2.160", "nomx-host", ["192.0.2.161"])
    (res,) = _dns_run(project, inv, "plan", tmp_path).results
    rtypes = sorted(r.target.split(" ")[1] for r in res.rows)
    assert rtypes == ["A", "PTR", "PTR"], [r.target for r in res.rows]
    with_mx = _dns_run(_project(tmp_path), inv, "plan", tmp_path).results[0]
    assert "MX" in {r.target.split(" ")[1] for r in with_mx.rows}


@pytest.mark.named
def test_a_dns_server_that_fails_fails_alone_and_the_summary_names_it(signed, tmp_path):
    from runbook_engine.sandbox.named import free_port

    dead = {"name": "dead", "server": "127.0.0.1", "port": free_port(), "key_name": signed.key_name,
            "key_secret_env": SECRET_ENV, "forward_zone": FORWARD_ZONE, "reverse_zone": REVERSE_ZONE}
    # a server whose zones hold none of the guide's names: a bad value for this target only
    wrong = {**dead, "name": "wrong-zone", "port": signed.port, "forward_zone": "other.test.",
             "reverse_zone": "9.0.192.in-addr.arpa."}
    inv = _inventory(tmp_path, signed, "192.0.2.170", "fail-host", ["192.0.2.171"], [dead, wrong])
    report = _dns_run(_project(tmp_path), inv, "plan", tmp_path)
    by = {r.node: r for r in report.results}
    assert by["dns:primary"].status == "pending", by["dns:primary"].message
    assert by["dns:dead"].status == "unreachable" and f"127.0.0.1:{dead['port']}" in by["dns:dead"].message
    assert by["dns:wrong-zone"].status == "error" and "no zone" in by["dns:wrong-zone"].message
    assert report.failed_nodes == ["dns:dead", "dns:wrong-zone"]
    assert report.exit_code == 1


@pytest.mark.named
def test_rollback_puts_the_dns_records_back_through_the_connector(signed, tmp_path):
    from runbook_engine.engine.runner import rollback

    project = _project(tmp_path)
    inv = _inventory(tmp_path, signed, "192.0.2.180", "rb-host", ["192.0.2.181"])
    host = "rb-host.example.test."
    # one record set exists before the run with another value: rollback must restore it
    update = dns.update.UpdateMessage(FORWARD_ZONE, keyring={dns.name.from_text(signed.key_name + "."): base64.b64decode(signed.secret)},
                                      keyalgorithm="hmac-sha256")
    update.replace(host, 300, "A", "192.0.2.99")
    assert dns.query.tcp(update, signed.host, port=signed.port, timeout=5).rcode() == dns.rcode.NOERROR
    before = read_records(signed.host, signed.port, [(host, "A"), ("180.2.0.192.in-addr.arpa.", "PTR")])
    applied = _dns_run(project, inv, "apply", tmp_path)
    assert applied.exit_code == 0, [(r.node, r.message) for r in applied.results]
    assert read_records(signed.host, signed.port, [(host, "A")])[(host, "A")] == ["192.0.2.180"]
    back = rollback(project, inv, applied.run_id, state=tmp_path / "state")
    (res,) = back.results
    assert res.status == "changed" and res.node == "dns:primary", res.message
    assert res.round_trips == 2  # one UPDATE per zone
    assert read_records(signed.host, signed.port, list(before)) == before
    assert before[(host, "A")] == ["192.0.2.99"] and before[("180.2.0.192.in-addr.arpa.", "PTR")] == []
    journal = (tmp_path / "state" / "runs" / applied.run_id / "journal.jsonl").read_text()
    assert signed.secret not in journal


# -- the TSIG secret in a key file: `runbook plan / apply` on the real named, no variable set ---------


def _key_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    key = tmp_path / "keys" / "tsig.key"
    key.parent.mkdir(exist_ok=True)
    key.write_text(text, encoding="ascii")
    key.chmod(mode)
    return key


def _runbook(capsys, *argv: str) -> tuple[int, str, str]:
    """The `runbook` command in process; exit code, stdout, stderr."""
    from runbook_engine import cli

    capsys.readouterr()
    code = cli.main(["--root", str(REPO), *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def no_secret_variable(monkeypatch, tmp_path):
    """No TSIG secret in the environment, and a state folder of the test's own."""
    for name in (SECRET_ENV, "RUNBOOK_TSIG_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RUNBOOK_STATE", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.mark.named
@pytest.mark.parametrize("form", ["base64", "bind-statement"])
def test_plan_and_apply_take_the_tsig_secret_from_a_key_file_and_write_it_nowhere(named_server, no_secret_variable,
                                                                                  tmp_path, capsys, form):
    """A 0600 key file named relative to the inventory (the base64 secret with a newline, or the
    key as tsig-keygen prints it): plan, apply, plan again converge on the real named with no
    variable set, and neither the secret nor its bytes are in any file of the state folder (the
    run's journal and results) or in the output."""
    srv, state = named_server, no_secret_variable
    text = (srv.secret + "\n" if form == "base64" else
            f'key "{srv.key_name}" {{\n\talgorithm {srv.algorithm};\n\tsecret "{srv.secret}";\n}};\n')
    _key_file(tmp_path, text)
    octet = {"base64": 190, "bind-statement": 195}[form]
    host = f"kf-{form}"
    _inventory(tmp_path, srv, f"192.0.2.{octet}", host, [f"192.0.2.{octet + 1}"],
               secret={"key_secret_file": "keys/tsig.key"})
    argv = ("--inventory", str(tmp_path / "inventory.yaml"), "--step", "dns-records")
    said = []
    code, out, err = _runbook(capsys, "plan", *argv)
    said.append(out + err)
    assert code == 1 and "dns:primary" in out, out + err  # changes pending
    code, out, err = _runbook(capsys, "apply", "--yes", *argv)
    said.append(out + err)
    assert code == 0, out + err
    name = f"{host}.example.test."
    got = read_records(srv.host, srv.port, [(name, "A"), (f"{octet}.2.0.192.in-addr.arpa.", "PTR")])
    assert got == {(name, "A"): [f"192.0.2.{octet}"], (f"{octet}.2.0.192.in-addr.arpa.", "PTR"): [name]}
    code, out, err = _runbook(capsys, "plan", *argv)
    said.append(out + err)
    assert code == 0, out + err  # converged
    secret, raw = srv.secret.encode(), base64.b64decode(srv.secret)
    files = [f for f in state.rglob("*") if f.is_file()]
    assert any(f.name == "journal.jsonl" for f in files), files
    for f in files:
        data = f.read_bytes()
        assert secret not in data and raw not in data, f"the TSIG secret is in {f}"
    assert all(srv.secret not in text for text in said)


@pytest.mark.named
def test_a_key_file_others_can_read_stops_the_run_in_one_line_before_named_is_touched(named_server, no_secret_variable,
                                                                                      tmp_path, capsys):
    """Mode 0644: exit 2, one line naming the file and its mode, no traceback, no run written,
    and the records on named as they were."""
    srv, state = named_server, no_secret_variable
    key = _key_file(tmp_path, srv.secret + "\n", 0o644)
    _inventory(tmp_path, srv, "192.0.2.200", "kf-open", ["192.0.2.201"], secret={"key_secret_file": str(key)})
    keys = [("kf-open.example.test.", "A"), ("200.2.0.192.in-addr.arpa.", "PTR"), ("201.2.0.192.in-addr.arpa.", "PTR")]
    before = read_records(srv.host, srv.port, keys)
    inv = tmp_path / "inventory.yaml"
    line = next(i for i, text in enumerate(inv.read_text().splitlines(), start=1) if "key_secret_file:" in text)
    for argv in (("apply", "--yes"), ("plan",)):
        code, out, err = _runbook(capsys, *argv, "--inventory", str(inv))
        lines = err.splitlines()
        assert code == 2 and out == "" and len(lines) == 1, (code, out, err)
        assert "Traceback" not in err and srv.secret not in err
        assert lines[0] == (f"{inv}:{line}: dns.0.key_secret_file: TSIG key file {key} is readable "
                            "by group or others (mode 0644); chmod 600 it"), lines[0]
    assert read_records(srv.host, srv.port, keys) == before
    assert not state.exists() or not any(state.rglob("journal.jsonl"))
