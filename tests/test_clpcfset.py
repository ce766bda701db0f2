"""The clpcfset command sequence is the guide's data and nothing else: every resource once, with
its family type and the parameters its data gives, every dependency, every monitor with its target
and tagged parameters, in the guide's order; values that would break the quoting are refused; the
site and the download show exactly the generated lines in both languages.

Tried on the fixture guides under tests/data/clpcfset/ (X 4.3 for Windows; X 4.3 to X 5.1 for
Linux) and on every guide of kb/ whose versions include a clpcfset or clpcfadm version.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from plugins.browser import parse_page
from plugins.project import project_files

REPO = Path(__file__).resolve().parents[1]
FIXTURES = sorted(p for p in (REPO / "tests" / "data" / "clpcfset").glob("*") if p.is_dir())
LANGS = ["ja", "en"]


def _kb_guides() -> list[str]:
    """The guides of kb/ on a clpcfset or clpcfadm version (picked up as they land)."""
    from runbook_engine.artifacts.clpcfset import applies
    from runbook_engine.model.loader import load

    kb = load(REPO / "kb")
    return [gid for gid, g in kb.guides.items() if applies(kb, g)]


GUIDES = [p.name for p in FIXTURES] + _kb_guides()


def _copy_project(dest: Path) -> Path:
    for rel in project_files(REPO):
        if rel.startswith(("tests/", "bench/", "runbooks/")):
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, dest / rel)
    (dest / "runbooks").mkdir(exist_ok=True)
    for fixture in FIXTURES:
        shutil.copytree(fixture, dest / "kb" / "guides" / fixture.name)
    return dest


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from runbook_engine.model.project import Project

    return Project(_copy_project(tmp_path_factory.mktemp("clpcfset") / "main"))


@pytest.fixture(scope="module")
def kb(project):
    return project.knowledge


@pytest.fixture(scope="module")
def site(project, tmp_path_factory):
    from runbook_engine.model.project import Project
    from runbook_engine.publish.files import MERMAID_ENV, SiteBuildError, mermaid_js
    from runbook_engine.publish.site import build_site

    try:  # the project's own copy, or the one RUNBOOK_MERMAID_JS names (a mutation harness's copy)
        mermaid = mermaid_js(Project(REPO))
    except SiteBuildError as e:
        pytest.fail(f"{e} (scripts/setup installs it)")
    os.environ.setdefault(MERMAID_ENV, str(mermaid))
    return build_site(project, tmp_path_factory.mktemp("clpcfset-site") / "out").out


def _values(guide):
    """Values of a real cluster, distinct from every id of the guide (so each one is traceable)."""
    from runbook_engine.artifacts.clpcfset import ClusterValues, Server, networks

    nodes = sorted(guide.meta.topology.nodes, key=lambda n: n.priority)
    servers = tuple(Server(n.id, f"srv-{i}", {net: f"192.0.{j + 2}.{i + 10}" for j, net in enumerate(networks(guide))})
                    for i, n in enumerate(nodes))
    return ClusterValues(cluster="clu-x", group="grp-x", fip="198.51.100.7", servers=servers,
                         resources={guide.resources[0].id: "renamed-first"})


def _by(lines, *sub):
    n = len(sub)
    return [line[1 + n:] for line in lines if line[1:1 + n] == sub]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("gid", GUIDES)
def test_clpcfset_sequence_is_every_resource_and_monitor_of_the_guide_and_nothing_else(kb, gid, lang):
    from runbook_engine.artifacts.clpcfset import mirror_networks, networks, sequence

    guide = kb.guides[gid]
    fam = kb.family_of(guide)
    values = _values(guide)
    lines = sequence(kb, guide, values, lang)
    assert {line[0] for line in lines} == {"clpcfset"}
    rtypes = {t.kind: t for t in fam.resource_types}
    mtypes = {t.kind: t.type for t in fam.monitor_types}
    services = {s.id: s for s in guide.services}
    name = {r.id: values.resources.get(r.id) or r.cluster_name or r.id for r in guide.resources}
    rtype = {r.id: rtypes[r.kind].type for r in guide.resources}
    nets = networks(guide)
    mirror = mirror_networks(guide) if any(r.kind == "md" for r in guide.resources) else []

    # the cluster, its servers (master first), their devices, one heartbeat per LAN, the group
    assert _by(lines, "create") == [(values.cluster, fam.configuration.encode[lang], fam.os)]
    assert _by(lines, "add", "srv") == [(s.name, str(i)) for i, s in enumerate(values.servers)]
    assert [s.node for s in values.servers] == [n.id for n in sorted(guide.meta.topology.nodes, key=lambda n: n.priority)]
    assert _by(lines, "add", "device") == [
        *[x for s in values.servers for x in
          [(s.name, "lan", str(d), s.addresses[n]) for d, n in enumerate(nets)]
          + [(s.name, "mdc", str(d), s.addresses[n]) for d, n in enumerate(mirror)]]]
    assert _by(lines, "add", "hb") == [("lankhb", str(d), str(d)) for d in range(len(nets))]
    assert _by(lines, "add", "grp") == [("failover", values.group)]

    # every resource exactly once, in the guide's order, with its family type
    assert _by(lines, "add", "rsc") == [(values.group, rtype[r.id], name[r.id]) for r in guide.resources]
    # each typed field the family maps, with the guide's value (FIP: the cluster's address;
    # a service: its display name); a mirror disk's mirror connects; nothing else
    expected = []
    for r in guide.resources:
        t = rtypes[r.kind]
        for field, path in t.parameters.items():
            value = {"address": values.fip,
                     "service": services[r.service].display_name if r.service else None}.get(field, getattr(r, field, None))
            if value is not None:
                expected.append((t.type, name[r.id], path, value))
        expected += [(t.type, name[r.id], path, value) for path, value in t.fixed.items()]
        if t.netdev:
            for d in range(len(mirror)):
                expected += [(t.type, name[r.id], f"{t.netdev}@{d}/priority", str(d)),
                             (t.type, name[r.id], f"{t.netdev}@{d}/device", str(d)),
                             (t.type, name[r.id], f"{t.netdev}@{d}/mdcname", f"mdc{d + 1}")]
    assert _by(lines, "add", "rscparam") == expected
    assert _by(lines, "add", "rscdep") == [(rtype[r.id], name[r.id], name[d]) for r in guide.resources for d in r.depends_on]

    # every monitor once, with its target, the resource it recovers and its tagged parameters
    assert _by(lines, "add", "mon") == [(mtypes[m.kind], m.id) for m in guide.monitors]
    expected = []
    for m in guide.monitors:
        t = mtypes[m.kind]
        if m.target:
            expected.append((t, m.id, "target", name[m.target]))
        if m.recovery_target:
            expected += [(t, m.id, "relation/type", "rsc"), (t, m.id, "relation/name", name[m.recovery_target])]
        expected += [(t, m.id, path, value) for path, value in fam.recovery_actions.get(m.recovery_action, {}).items()]
        expected += [(t, m.id, p.tag, p.value) for p in m.parameters if p.tag]
    assert _by(lines, "add", "monparam") == expected

    # and no other line
    kinds = [("create",), ("add", "srv"), ("add", "device"), ("add", "hb"), ("add", "grp"), ("add", "rsc"),
             ("add", "rscparam"), ("add", "rscdep"), ("add", "mon"), ("add", "monparam")]
    assert sum(len(_by(lines, *k)) for k in kinds) == len(lines)


def test_clpcfset_fixture_guides_cover_the_cases_the_promise_names(kb):
    """The fixtures have what the test above must see: service resources with a dependency and a
    SQL Server monitor on Windows X 4.3; fip, md, exec and a PostgreSQL monitor on Linux."""
    win, lin = kb.guides["sqlfailover"], kb.guides["pgmirror"]
    assert kb.family_of(win).os == "windows" and "x4.3" in win.meta.scope.applies_to
    assert [r.kind for r in win.resources] == ["fip", "md", "service", "service"]
    assert any(r.depends_on for r in win.resources if r.kind == "service")
    assert [m.kind for m in win.monitors] == ["sqlserverw"]
    assert kb.family_of(lin).os == "linux"
    assert [r.kind for r in lin.resources] == ["fip", "md", "exec"]
    assert [m.kind for m in lin.monitors] == ["psqlw"]


@pytest.mark.parametrize("lang", LANGS)
def test_clpcfset_sh_lines_give_clpcfset_exactly_the_generated_argv(kb, lang, tmp_path):
    """The rendered Linux lines, run by a real POSIX sh with clpcfset replaced by a function that
    prints its arguments, hand it exactly the tokens of the sequence (spaces, quotes, $ and ; kept)."""
    from runbook_engine.artifacts.clpcfset import ClusterValues, render_lines, sequence

    guide = kb.guides["pgmirror"]
    values = _values(guide)
    values = ClusterValues(cluster="clu-x", group="grp $(touch pwned); `x` *", fip="<FIP address>",
                           servers=values.servers, resources={"postgres": "exec-pg"})
    lines = sequence(kb, guide, values, lang)
    script = ("clpcfset() { for a in \"$@\"; do printf '%s\\037' \"$a\"; done; printf '\\036'; }\n"
              + "\n".join(render_lines(kb, guide, values, lang)) + "\n")
    out = subprocess.run(["sh", "-c", script], cwd=tmp_path, capture_output=True, check=True).stdout.decode("utf-8")
    got = [tuple(rec.split("\x1f")[:-1]) for rec in out.split("\x1e")[:-1]]
    assert got == [line[1:] for line in lines]
    assert list(tmp_path.iterdir()) == []


HOSTILE = [
    ("sh", "it's", "quote"),
    ("sh", "a\nb", "control"),
    ("powershell", "it's", "quote"),
    ("powershell", "it\u2019s", "quote"),
    ("powershell", 'say "hi"', "double quote"),
    ("powershell", "C:\\my dir\\", "trailing backslash"),
    ("powershell", "a\rb", "control"),
]


@pytest.mark.parametrize("shell,value,why", HOSTILE)
def test_clpcfset_refuses_a_value_that_would_break_the_quoting(kb, shell, value, why):
    from runbook_engine.artifacts.clpcfset import UnsafeValue, render_lines

    gid = "sqlfailover" if shell == "powershell" else "pgmirror"
    guide = kb.guides[gid]
    # a value from the guide's data (a monitor parameter) and one from the cluster (the group)
    mon = guide.monitors[0]
    params = [p.model_copy(update={"value": value}) if p.tag else p for p in mon.parameters]
    hostile_guide = guide.model_copy(update={"monitors": [mon.model_copy(update={"parameters": params})]})
    with pytest.raises(UnsafeValue) as exc:
        render_lines(kb, hostile_guide, _values(guide), "en")
    assert repr(value) in str(exc.value) and why in str(exc.value) and gid in str(exc.value)
    values = _values(guide)
    with pytest.raises(UnsafeValue, match=why):
        render_lines(kb, guide, type(values)(values.cluster, value, values.fip, values.servers), "en")


@pytest.mark.parametrize("value", ["$(reboot)", "a; reboot", "%PATH%", "a & b", "`x`", "<FIP address>", "*"])
def test_clpcfset_passes_shell_metacharacters_literally_in_single_quotes(value):
    from runbook_engine.artifacts.clpcfset import quote

    assert quote(value, "sh") == f"'{value}'"
    assert quote(value, "powershell") == f"'{value}'"


def test_clpcfset_a_step_may_show_it_only_on_a_clpcfset_or_clpcfadm_version(project, tmp_path):
    from runbook_engine.model.errors import KbInvalid
    from runbook_engine.model.loader import load

    kb_dir = tmp_path / "kb"
    shutil.copytree(project.root / "kb", kb_dir)
    guide = project.knowledge.guides["sqlfailover"]
    meta = kb_dir / "guides" / guide.id / "guide.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("applies_to: [x4.3]", "applies_to: [x4.2]"), encoding="utf-8")
    with pytest.raises(KbInvalid) as exc:
        load(kb_dir)
    assert "procedure.yaml" in str(exc.value) and "shows clpcfset" in str(exc.value)


def _page(site: Path, gid: str, lang: str):
    root = site / ("en" if lang == "en" else "")
    return root, parse_page(site, root / gid / "procedure" / "index.html")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("gid", GUIDES)
def test_clpcfset_site_shows_exactly_the_generated_lines_and_the_download_is_the_rendering(kb, site, gid, lang):
    from runbook_engine.artifacts.clpcfset import guide_tools, placeholder_values, render_lines, render_script

    guide = kb.guides[gid]
    values = placeholder_values(kb, guide, lang)
    root, page = _page(site, gid, lang)
    blocks = [b for b in page.blocks if "rb-clpcfset" in b.cls.split()]
    assert len(blocks) == 1, gid
    assert blocks[0].text == "\n".join(render_lines(kb, guide, values, lang))
    html = (root / gid / "procedure" / "index.html").read_text(encoding="utf-8")
    assert kb.label("clpcfset-not-run-title")(lang) in html
    tools = guide_tools(kb, guide)
    fam = kb.family_of(guide)
    for d in fam.configuration.delivery:
        if d.id in tools and d.note is not None:
            assert d.note(lang).split()[0] in html, (gid, d.id)
    # the download: linked from the page, the same bytes as the rendering
    script = render_script(kb, guide, values, lang)
    hrefs = [url for tag, attr, url in page.links if tag == "a" and url.endswith("/" + script.name)]
    assert hrefs, f"{gid} {lang}: no link to {script.name}"
    target = (root / gid / "procedure" / hrefs[0]).resolve()
    assert target == (root / "downloads" / gid / lang / script.name).resolve()
    data = target.read_bytes()
    assert data == script.data
    if fam.os == "windows":
        assert script.name.endswith(".ps1") and data.startswith(b"\xef\xbb\xbf")
        assert b"\n" not in data.replace(b"\r\n", b"")
    else:
        assert script.name.endswith(".sh") and b"\r" not in data
    for line in render_lines(kb, guide, values, lang):
        assert line in script.text.splitlines()


def test_clpcfset_procedure_page_has_it_once_whether_a_step_shows_it_or_not(kb, site):
    """sqlfailover shows it in a step; pgmirror has no such step and gets a section of its own."""
    for gid, in_step in (("sqlfailover", True), ("pgmirror", False)):
        _, page = _page(site, gid, "en")
        ids = [h.id for h in page.headings]
        assert ("clpcfset" in ids) is not in_step, gid
        blocks = [b for b in page.blocks if "rb-clpcfset" in b.cls.split()]
        assert len(blocks) == 1 and blocks[0].heading == ("failover-group" if in_step else "clpcfset")


@pytest.mark.parametrize("lang", LANGS)
def test_clpcfset_notebook_cell_of_the_step_shows_the_same_lines(project, kb, lang):
    from runbook_engine.artifacts.clpcfset import placeholder_values, render_lines
    from runbook_engine.artifacts.notebooks import build_notebook

    guide = kb.guides["sqlfailover"]
    nb = build_notebook(project, guide, lang)
    cell = next(c for c in nb.cells if c.get("id") == "failover-group-text")
    lines = render_lines(kb, guide, placeholder_values(kb, guide, lang), lang)
    assert "\n".join(lines) in cell.source
