"""The tables and code blocks of the built site say exactly what the knowledge base says: they
are compared with the model here, not with the macros that printed them."""
from __future__ import annotations

import pytest

from plugins.browser import REPO
from twins import twin_origin

LANGS = ["ja", "en"]


@pytest.fixture(scope="module")
def project():
    from runbook_engine.model.project import Project

    return Project.find(REPO)


def _page(site_pages, lang: str, rel: str):
    return site_pages[("en/" if lang == "en" else "") + rel]


def _expected_port_rows(kb, guide, lang, direction):
    names = {v.id: v.name for v in kb.family_of(guide).versions}
    return [
        [
            p.protocol.upper(),
            kb.label(p.direction)(lang),
            str(p.port),
            p.purpose(lang),
            p.peer(lang) if p.peer else "",
            ", ".join(names[v] for v in kb.family_of(guide).port_versions(p) if v in guide.meta.scope.applies_to),
            p.condition(lang) if p.condition else "—",
        ]
        for p in kb.ports_for(guide)
        if p.direction == direction
    ]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("rel", ["surfnavi/ports/index.html", "surfnavi/procedure/index.html", "surfnavi/cautions/index.html"])
def test_site_ports_tables_equal_the_guides_port_records(site_pages, project, lang, rel):
    kb = project.knowledge
    guide = kb.guides["surfnavi"]
    page = _page(site_pages, lang, rel)
    for direction, side in (("in", "local-port"), ("out", "remote-port")):
        tables = page.tables_with(**{"data-direction": direction})
        assert len(tables) == 1, (rel, direction)
        assert tables[0].header[2] == kb.label(side)(lang)
        assert tables[0].rows == _expected_port_rows(kb, guide, lang, direction)
    shown = sum(len(t.rows) for t in page.tables_with(**{"class": "rb-ports"}))
    assert shown == len(kb.ports_for(guide))


def _guide_ids():
    from runbook_engine.model.project import Project

    return list(Project.find(REPO).knowledge.guides)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("gid", _guide_ids())
def test_every_guides_ports_page_prints_its_records_with_its_own_versions_only(site_pages, project, lang, gid):
    """A port record's versions are printed within the guide's versions: a record that a later
    version of the family adds, or a later version of a record, changes no older guide's table."""
    kb = project.knowledge
    guide = kb.guides[gid]
    page = _page(site_pages, lang, f"{gid}/ports/index.html")
    names = {v.id: v.name for v in kb.family_of(guide).versions}
    foreign = {names[v] for v in names if v not in guide.meta.scope.applies_to}
    for direction in ("in", "out"):
        expected = _expected_port_rows(kb, guide, lang, direction)
        tables = page.tables_with(**{"data-direction": direction})
        assert [t.rows for t in tables] == ([expected] if expected else [])
        for row in expected:
            assert row[5] and not set(row[5].split(", ")) & foreign, (gid, row)


@pytest.mark.parametrize("lang", LANGS)
def test_site_services_table_equals_the_guides_manual_services(site_pages, project, lang):
    kb = project.knowledge
    guide = kb.guides["surfnavi"]
    page = _page(site_pages, lang, "surfnavi/procedure/index.html")
    header = kb.label("service-name")(lang)
    tables = [t for t in page.tables if t.header and t.header[0] == header]
    assert len(tables) == 1
    features = {f.id: f.name(lang) for f in guide.meta.features}
    expected = []
    for s in guide.manual_services():
        step = guide.step(s.manual_in)
        expected.append([s.service, s.display_name, s.watch_id, " ".join(s.flags), features[s.feature], f"{step.label}. {step.title(lang)}"])
    assert tables[0].rows == expected


@pytest.mark.parametrize("lang", LANGS)
def test_site_compatibility_matrix_equals_the_model(site_pages, project, lang):
    """One table per family (platform); a row per edition of each guide on it: the guide, the
    edition, the family's versions it applies to (as ranges of consecutive versions), the OS."""
    kb = project.knowledge
    page = _page(site_pages, lang, "compatibility/index.html")
    tables = [t for t in page.tables if t.header and t.header[0] == kb.label("guide")(lang)]
    on = [fid for fid in kb.families if any(g.meta.family == fid for g in kb.guides.values())]
    assert len(tables) == len(on)
    dash = kb.label("range-separator")(lang)
    for fid, table in zip(on, tables):
        fam = kb.families[fid]
        order = fam.version_ids()
        expected = []
        for g in (g for g in kb.guides.values() if g.meta.family == fid):
            mine = [v for v in order if v in g.meta.scope.applies_to]
            runs, last = [], None
            for v in mine:  # consecutive in the family's order -> one run
                if last is not None and order.index(v) == order.index(last) + 1:
                    runs[-1].append(v)
                else:
                    runs.append([v])
                last = v
            names = {v.id: v.name for v in fam.versions}
            versions = ", ".join(names[r[0]] if len(r) == 1 else f"{names[r[0]]}{dash}{names[r[-1]]}" for r in runs)
            for ed in g.meta.scope.editions:
                notes = "\n".join(t(lang) for t in (*ed.conditions, *ed.reasons)) or "—"
                expected.append([g.meta.product(lang), f"{ed.name(lang)} {ed.versions(lang)}",
                                 versions if ed.supported else kb.label("not-supported")(lang),
                                 "\n".join(g.meta.environment.operating_systems), notes])
        assert sorted(table.rows) == sorted(expected), fid


@pytest.mark.parametrize("lang", LANGS)
def test_site_lists_related_guides_as_not_yet_in_this_site(built_site, project, lang):
    import html

    kb = project.knowledge
    for rel in ("compatibility/index.html", "index.html"):
        text = html.unescape((built_site.out / ("en/" if lang == "en" else "") / rel).read_text(encoding="utf-8"))
        for ref in (r for f in kb.families.values() for r in f.guides):
            if ref.id not in kb.guides:
                assert f"{ref.title(lang)} ({kb.label('not-in-kb')(lang)})" in text, (rel, ref.id)


@pytest.mark.parametrize("lang", LANGS)
def test_site_script_code_blocks_equal_the_rendered_scripts(site_pages, project, lang):
    from runbook_engine.artifacts.scripts import render_scripts

    kb = project.knowledge
    page = _page(site_pages, lang, "surfnavi/scripts/index.html")
    scripts = render_scripts(kb, kb.guides["surfnavi"], lang, project.snippets)
    blocks = [b.rstrip("\n") for b in page.code_blocks]
    for name, script in scripts.items():
        shown = script.text.replace("\r\n", "\n").rstrip("\n")
        assert blocks.count(shown) == 1, name


@pytest.mark.parametrize("lang", LANGS)
def test_site_procedure_maps_every_item_of_the_original_and_marks_the_added_steps(built_site, site_pages, project, lang):
    """The procedure page's origin table lists each numbered item of the original document with
    the steps it became (origin.yaml), then every step no item became as added by this guide; its
    links go to those steps' headings."""
    kb = project.knowledge
    for gid, guide in kb.guides.items():
        page = _page(site_pages, lang, f"{gid}/procedure/index.html")
        tables = page.tables_with(**{"class": "rb-origin"})
        if guide.origin is None:
            assert tables == []
            continue
        assert len(tables) == 1
        table = tables[0]
        twin = twin_origin(project, guide, lang)[""]  # the model's rows, no deployment's wording
        assert table.header == twin.header
        assert table.rows == twin.rows
        assert any(row[:3] == ["—", "—", kb.label("origin-added")(lang)] for row in twin.rows), \
            "the guide adds steps of its own (the checks)"
        shown = {line for row in table.rows for line in row[3].split("\n")}
        assert all(f"{s.label}. {s.title(lang)}" in shown for s in guide.steps())  # every step is somewhere
        anchors = {h.id for h in page.headings}
        links = {url.split("#", 1)[1] for _tag, attr, url in page.links if attr == "href" and "#" in url}
        assert {s.id for s in guide.steps()} <= links & anchors
        # the document is the one guide.yaml names (not repeated in origin.yaml)
        import html
        import re
        text = html.unescape((built_site.out / page.path).read_text(encoding="utf-8"))
        section = re.sub(r"<[^>]+>", " ", text[text.index('id="origin"'):])
        for fact in (guide.meta.edition_label(lang), guide.meta.published, guide.origin.chapter(lang)):
            assert fact in section


@pytest.mark.parametrize("lang", LANGS)
def test_site_scripts_page_keeps_the_originals_commented_guidance_with_its_exact_lines(built_site, site_pages, project, lang):
    """Every guidance item of scripts.yaml (what the original samples show only in comments) is
    on the scripts page under its own heading, explained in the page's language, each sample's
    lines in a code block of their own, exactly as the data gives them."""
    import html
    import re

    kb = project.knowledge
    for gid, guide in ((g, x) for g, x in kb.guides.items() if x.scripts is not None):
        page = _page(site_pages, lang, f"{gid}/scripts/index.html")
        text = " ".join(re.sub(r"<[^>]+>", " ", html.unescape((built_site.out / page.path).read_text(encoding="utf-8"))).split())
        headings = {h.id: h.text for h in page.headings}
        blocks = [b.text for b in page.blocks if "rb-guidance" in b.cls]
        assert len(blocks) == sum(len(g.samples) for g in guide.scripts.guidance)
        for item in guide.scripts.guidance:
            assert headings[item.id] == item.title(lang)
            assert " ".join(item.text(lang).split()) in text
            for sample in item.samples:
                assert "\n".join(sample.code) in [c.rstrip("\n") for c in page.code_blocks]
                assert sample.where(lang) in text
            if item.note is not None:
                assert " ".join(item.note(lang).split()) in text


def _mermaid_edges(source: str) -> set[tuple[str, str, str]]:
    """(from, link, to) of every plain link line of a Mermaid flowchart (labels dropped)."""
    import re

    edges = set()
    for line in source.splitlines():
        m = re.match(r"^\s*(\w+) (-->|---|===|-\.-|==>) (\w+)\s*$", line)
        if m:
            edges.add(m.groups())
    return edges


@pytest.mark.parametrize("lang", LANGS)
def test_site_topology_figures_show_the_public_lan_the_interconnect_and_the_shared_disk(site_pages, project, lang):
    """Each figure of the overview page is the diagram the model gives, and shows, from the data:
    every node on every network of the topology, each network and the switch partition named
    with what kind of thing it is, the active node holding the disk (solid) and the standby nodes
    that are up able to take it over (dotted); the legend says what each element is."""
    from runbook_engine.artifacts.diagrams import KIND_LABELS, active_node, legend_rows, topology_mermaid

    kb = project.knowledge
    for gid, guide in kb.guides.items():
        topo = guide.meta.topology
        if not topo.figures:
            continue
        page = _page(site_pages, lang, f"{gid}/overview/index.html")
        blocks = [b.rstrip("\n") for b in page.code_blocks if b.startswith("flowchart")]
        assert blocks == [topology_mermaid(kb, guide, fig, lang) for fig in topo.figures]
        disks = [r for r in guide.resources if r.kind in ("disk", "md")]
        # every network the topology has (a guide may have no interconnect: one LAN carries all)
        assert "public" in {n.kind for n in topo.networks} and disks
        for fig, source in zip(topo.figures, blocks):
            edges = _mermaid_edges(source)
            for net in topo.networks:
                assert f"{net.name(lang)}<br/>({kb.label(KIND_LABELS[net.kind])(lang)})" in source
                ident = "net_" + net.id.replace("-", "_").replace(".", "_")
                on = {b if a == ident else a for a, _, b in edges if ident in (a, b)} & {n.id for n in topo.nodes}
                assert on == {n.id for n in topo.nodes}, (fig.id, net.id)
            active = active_node(guide, fig)
            for disk in disks:
                assert f"{disk.name(lang)}<br/>({kb.label(KIND_LABELS[disk.kind])(lang)})" in source
                links = {(a, link) for a, link, b in edges if b.startswith("disk_")}
                standby = {n.id for n in topo.nodes if n.id not in fig.down and n.id != active.id}
                assert links == {(active.id, "===")} | {(n, "-.-") for n in standby}, fig.id
        legend = page.tables_with(**{"class": "rb-legend"})
        assert len(legend) == 1
        assert [tuple(r) for r in legend[0].rows] == legend_rows(kb, guide, lang)
        names = " ".join(r[0] for r in legend[0].rows)
        assert all(n.name(lang) in names for n in topo.networks) and all(d.name(lang) in names for d in disks)


@pytest.mark.parametrize("lang", LANGS)
def test_site_delivery_table_is_the_familys_delivery_per_version(site_pages, project, lang):
    """The step that delivers the cluster configuration shows, per version, the family's tool and
    the exact commands (the inventory's values as placeholders); nothing else, nothing less."""
    kb = project.knowledge
    fam = kb.family_of("surfnavi")
    conf = fam.configuration
    page = _page(site_pages, lang, "surfnavi/procedure/index.html")
    header = kb.label("operator-commands")(lang)
    tables = [t for t in page.tables if header in t.header]
    assert len(tables) == 1, "one delivery table on the procedure page"
    rows = tables[0].rows
    names = {v.id: v.name for v in fam.versions}
    ph = {k: f"<{kb.label(f'conf-{k}')(lang)}>" for k in ("folder", "group", "resource")}
    assert len(rows) == len(conf.delivery)
    for row, d in zip(rows, conf.delivery):
        assert row[0] == ", ".join(names[v] for v in d.versions)
        assert row[1] == d.tool(lang)
        shown = [c for c in row[3].split("\n") if c.strip()] if row[3] != "-" else []
        assert " ".join(shown).split() == " ".join(c.format(**ph) for c in d.commands).split(), d.id


def _case_outcomes(project, guide, lang: str, name: str) -> tuple[dict, dict]:
    """(variables, env tuple → (commands, how it ended)) of a guide's script, from the model: the
    simulated run of the rendered script (Windows) or the cases its data declares (Linux)."""
    from runbook_engine.artifacts.scripts import render_scripts
    from runbook_engine.batch.cases import case_variables, format_call
    from runbook_engine.batch.shcases import declared_cases
    from runbook_engine.batch.simulator import simulate_all

    kb = project.knowledge
    family = kb.family_of(guide)
    variables = case_variables(family)
    script = render_scripts(kb, guide, lang, project.snippets)[name]
    if family.os == "linux":
        results = [(env, ([format_call(c) for c in o.calls], str(o.exit_code)))
                   for env, o in declared_cases(family, guide, script.kind, lang)]
    else:
        results = [(env, ([format_call(c) for c in t.calls], t.aborted or "—"))
                   for env, t in simulate_all(script.text, variables)]
    return variables, {tuple(env.get(v) for v in variables): out for env, out in results}


def _scripts_of_every_guide():
    from runbook_engine.artifacts.scripts import script_names
    from runbook_engine.model.project import Project

    kb = Project.find(REPO).knowledge
    return [(gid, name) for gid, g in kb.guides.items() if g.scripts is not None for name in script_names(kb, g)]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("gid, name", _scripts_of_every_guide())
def test_site_case_tables_of_every_guide_show_the_models_cases_and_only_what_differs(site_pages, project, lang, gid, name):
    """Each case table, its shared runs expanded, covers every environment once with the commands
    and the ending the model gives (simulated script or declared cases); and it shows what
    differs between cases: every run of two or more commands that two cases share is listed once
    above the table (its block) and named in the rows, so no two places in the rows repeat two
    commands in a row."""
    from plugins.browser import case_table

    kb = project.knowledge
    page = _page(site_pages, lang, f"{gid}/scripts/index.html")
    variables, outcomes = _case_outcomes(project, kb.guides[gid], lang, name)
    cases = case_table(page, name, lang)
    any_cell, unset_cell = f"({kb.label('any-value')(lang)})", f"({kb.label('unset-value')(lang)})"
    covered = []
    for row in cases.rows:
        envs = [()]
        for var, cell in zip(variables, row.values):
            values = variables[var] if cell == any_cell else [None] if cell == unset_cell else [cell]
            envs = [e + (v,) for e in envs for v in values]
        for env in envs:
            assert outcomes[env] == (row.calls, row.last), (name, env)
        covered += envs
    assert sorted(covered, key=repr) == sorted(outcomes, key=repr)
    # the shape: shared runs of two commands or more, each named in two places or more
    for n, run in cases.runs.items():
        uses = sum(row.shown.count(shown) for shown, m in cases.names.items() if m == n for row in cases.rows)
        assert len(run) >= 2 and uses >= 2, (n, run, uses)
    # and no two commands in a row repeated in two places of the rows
    pairs: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for r, row in enumerate(cases.rows):
        for i in range(len(row.shown) - 1):
            pair = (row.shown[i], row.shown[i + 1])
            if not set(pair) & set(cases.names):
                pairs.setdefault(pair, []).append((r, i))
    repeated = {pair: where for pair, where in pairs.items()
                if any(a[0] != b[0] or abs(a[1] - b[1]) >= 2 for a in where for b in where)}
    assert repeated == {}
    if gid == "surfnavi":  # the 16 ARMLOADs / ARMKILLs the issue saw in every row: in one block
        assert max(map(len, cases.runs.values())) >= 14, name


def _notebook_tables(project, gid: str, lang: str) -> dict[str, list[tuple[list[str], list[list[str]]]]]:
    """Each step's tables in the committed notebook (its text cell, rendered from Markdown as a
    notebook viewer renders it), by step id."""
    import json

    import markdown

    from plugins.browser import parse_html
    from runbook_engine.artifacts.notebooks import notebook_path

    nb = json.loads(notebook_path(project, gid, lang).read_text(encoding="utf-8"))
    out = {}
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and cell["id"].endswith("-text"):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            html = markdown.markdown(source, extensions=["tables", "md_in_html", "attr_list", "admonition"])
            out[cell["id"][:-len("-text")]] = [(t.header, t.rows) for t in parse_html(html).tables]
    return out


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("gid", _guide_ids())
def test_notebook_tables_equal_the_tables_the_procedure_page_shows_for_the_same_step(site_pages, project, lang, gid):
    """Each step of the committed notebook carries exactly the tables the site's procedure page
    shows under that step (header and every cell, links read as their text): a notebook's table is
    compared with the site's, not with the function that printed both."""
    guide = project.knowledge.guides[gid]
    page = _page(site_pages, lang, f"{gid}/procedure/index.html")
    notebook = _notebook_tables(project, gid, lang)
    shown = 0
    for step in guide.steps():
        site = [(t.header, t.rows) for t in page.tables if t.heading == step.id]
        assert notebook[step.id] == site, step.id
        shown += len(site)
    assert shown >= sum(1 for s in guide.steps() for name in s.shows if name != "scripts"), gid
