"""The operator's dnscmd lines for Microsoft DNS (artifacts/dnscmd.py): the site and the notebooks
print exactly what the module renders for the guide, no unsafe value reaches a line, and the lines
set exactly the records the engine's dns-records action plans for the same inventory."""
from __future__ import annotations

import json

import pytest
import yaml

from plugins.browser import REPO

LANGS = ["ja", "en"]


@pytest.fixture(scope="module")
def project():
    from runbook_engine.model.project import Project

    return Project.find(REPO)


@pytest.fixture(scope="module")
def guide(project):
    return project.knowledge.guides["surfnavi"]


def _template_lines(guide) -> list[str]:
    from runbook_engine.artifacts import dnscmd

    values = dnscmd.template_values([n.name for n in guide.meta.topology.nodes])
    return dnscmd.add_lines(guide.dns.records, values, dnscmd.placeholder("node"))


def _dns_step(guide):
    (step,) = [s for s in guide.steps() if "dns-records" in s.shows]
    assert step.mode == "manual"
    return step


@pytest.mark.parametrize("lang", LANGS)
def test_site_dnscmd_lines_are_what_the_dnscmd_module_renders(site_pages, guide, lang):
    page = site_pages[("en/" if lang == "en" else "") + "surfnavi/procedure/index.html"]
    blocks = [b for b in page.code_blocks if "dnscmd" in b]
    assert len(blocks) == 1
    assert blocks[0].strip().splitlines() == _template_lines(guide)


@pytest.mark.parametrize("lang", LANGS)
def test_notebook_dnscmd_lines_are_what_the_dnscmd_module_renders(guide, lang):
    nb = json.loads((REPO / "runbooks" / f"surfnavi.{lang}.ipynb").read_text(encoding="utf-8"))
    step = _dns_step(guide)
    (cell,) = [c for c in nb["cells"] if c.get("id") == f"{step.id}-text"]
    text = "".join(cell["source"])
    body = text.split("```bat\n", 1)[1].split("```", 1)[0]
    assert body.strip().splitlines() == _template_lines(guide)
    assert text.count("```bat") == 1


@pytest.mark.parametrize("field, bad", [
    ("fip_host", "web&calc"), ("fip_host", "a b"), ("domain", "example.test|x"),
    ("fip_address", "192.0.2.1>x"), ("node_host", "sv1&del"), ("node_ip", "192.0.2.300"),
])
def test_a_value_cmd_could_misread_is_refused(field, bad):
    from runbook_engine.artifacts.dnscmd import DnsValues, Node

    good = dict(fip_address="192.0.2.10", fip_host="mail", domain="example.test", mx_preference=10)
    node = dict(label="SV1", host="sv1", ip="192.0.2.11")
    if field.startswith("node_"):
        node[{"node_host": "host", "node_ip": "ip"}[field]] = bad
    else:
        good[field] = bad
    with pytest.raises(ValueError):
        DnsValues(**good, nodes=(Node(**node),))


def test_an_out_of_range_mx_preference_is_refused():
    from runbook_engine.artifacts.dnscmd import DnsValues

    for bad in (-1, 65536, "10 x", True):
        with pytest.raises(ValueError):
            DnsValues(mx_preference=bad)


def test_dnscmd_lines_add_exactly_the_records_the_engine_plans_for_the_sandbox_inventory(project, guide, tmp_path):
    from runbook_engine.artifacts import dnscmd
    from runbook_engine.engine.actions.dns import guide_records
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.sandbox.cluster import SANDBOX_FIP, node_names

    # the inventory `runbook sandbox create` writes (sandbox/cluster.py), without starting Wine
    names = node_names(guide)
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump({
        "cluster": "sandbox", "guide": guide.id,
        "fip": {"address": SANDBOX_FIP["address"], "hostname": guide.id, **SANDBOX_FIP},
        "nodes": [{"name": n, "transport": "wine", "lang": "ja", "hostname": n, "ip": f"192.0.2.{10 + i}",
                   "prefix": str(tmp_path / n)} for i, n in enumerate(names, start=1)],
        "dns": []}))
    inv = load_inventory(path)
    engine = [(r.name, r.rtype, r.value) for r in guide_records(guide, inv)]

    by_id = {n.id: n for n in guide.meta.topology.nodes}
    values = dnscmd.DnsValues(
        fip_address=inv.fip.address, fip_host=inv.fip.hostname, domain=inv.fip.domain,
        mx_preference=inv.fip.mx_preference,
        nodes=tuple(dnscmd.Node(by_id[n.name].name, n.hostname, n.ip) for n in inv.nodes))
    lines = dnscmd.record_lines(guide.dns.records, values)
    assert not any(l.is_template for l in lines)
    ours = [(l.owner.lower(), l.rtype, l.data.lower()) for l in lines]
    assert sorted(ours) == sorted(engine) and len(set(ours)) == len(ours)

    # one block per node, each node's own DNS service as the server, each record added once
    assert dnscmd.servers(values) == [n.hostname for n in inv.nodes]
    for server in dnscmd.servers(values):
        added = []
        for line in dnscmd.add_lines(guide.dns.records, values, server):
            prog, srv, verb, zone, node, rtype, data = line.split(" ", 6)
            assert (prog, srv, verb) == ("dnscmd", server, "/RecordAdd")
            added.append((dnscmd.RecordLine(zone, node, rtype, data).owner, rtype, data))
        assert sorted(added) == sorted(engine)
        deleted = dnscmd.delete_lines(guide.dns.records, values, server)
        assert [d.split(" ", 3)[2] for d in deleted] == ["/RecordDelete"] * len(engine)
        assert all(d.endswith(" /f") for d in deleted)
