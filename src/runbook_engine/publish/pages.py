"""The page builders of the manual site: one :class:`Site` per build language, whose public
methods are the macros the page templates in docs/ call (registered by publish/macros.py).

Pages hold structure and macro calls only; every visible text comes from kb/ through the methods
below, in the language of the build. Tables, admonitions and diagrams are returned as Markdown.

A :class:`Site` with a :class:`~runbook_engine.artifacts.deployment.Deployment` renders the manual
for one cluster (``runbook build --inventory``): the same pages with the cluster's values where
the guide's pages print placeholders (publish/deployment.py reads them from the inventory), the
engine's own script bytes, the notebook's parameters set to the inventory, and the parameter sheet.
"""
from __future__ import annotations

import html
import posixpath
import re
from dataclasses import dataclass
from typing import Any, Callable

from runbook_engine.artifacts.clpcfset import applies as clpcfset_applies, file_name as clpcfset_file_name
from runbook_engine.artifacts.deployment import Deployment
from runbook_engine.artifacts.diagrams import cluster_mermaid, deployed_figure, legend_rows, topology_mermaid
from runbook_engine.artifacts.markdown import ADMONITIONS, admonition, code, indent, table
from runbook_engine.artifacts.notebooks import build_notebook, deployment_notebook
from runbook_engine.artifacts.scripts import Script, render_scripts, script_names, script_encoding
from runbook_engine.artifacts.tables import TABLES, GuideTables
from runbook_engine.batch.cases import case_variables, format_call, merge_cases
from runbook_engine.batch import intent
from runbook_engine.batch.shcases import declared_cases
from runbook_engine.engine.inventory import load_inventory
from runbook_engine.model.loader import INVENTORIES_DIR as INVENTORY_DIR
from runbook_engine.model.project import Project
from runbook_engine.model.schema import Admonition, Guide, KnowledgeBase, Step, Text
from runbook_engine.publish.caseruns import Ref, shared_runs
from runbook_engine.publish.deployment import Parameter, RenderedPages, find_uses, parameter_rows
from runbook_engine.publish.labels import label

@dataclass(frozen=True)
class GuidePage:
    """One page every guide may have: ``docs/_guide/<template>.md`` instantiated as
    ``<guide id>/<template>.md`` (publish/files.py), listed in the nav and on the guide's index
    when ``shown(guide)`` says the guide has data for it. ``id`` is its key in :data:`PAGES` and
    the label id of its title (the index page is titled by the guide itself)."""

    id: str
    template: str
    shown: Callable[[Guide], bool] = lambda guide: True
    deployment_only: bool = False  # a page of the manual for one cluster only


#: The pages of a guide, in nav order: the one list the nav, the guide index and the links follow.
GUIDE_PAGES: tuple[GuidePage, ...] = (
    GuidePage("guide", "index"),
    GuidePage("overview", "overview"),
    GuidePage("environment", "environment", lambda g: g.meta.environment is not None),
    GuidePage("procedure", "procedure"),
    GuidePage("upgrade", "upgrade", lambda g: g.upgrade is not None),
    GuidePage("scripts", "scripts", lambda g: g.scripts is not None),
    GuidePage("cautions", "cautions", lambda g: g.cautions is not None and bool(g.cautions.items)),
    GuidePage("ports", "ports", lambda g: bool(g.meta.ports)),
    GuidePage("errata", "errata", lambda g: g.errata is not None),
    GuidePage("runbook", "runbook"),
    GuidePage("parameters", "parameters", deployment_only=True),
)

#: Page id → path under docs/ (``{guide}`` is the guide id).
PAGES = {
    "home": "index.md",
    "compatibility": "compatibility.md",
    "inventories": "inventories.md",
    **{p.id: f"{{guide}}/{p.template}.md" for p in GUIDE_PAGES},
}


def guide_pages_of(guide: Guide, deployment: bool = False) -> list[GuidePage]:
    """The pages *guide* has data for, in nav order (with *deployment*: the pages of the manual
    for one cluster, the parameter sheet included)."""
    return [p for p in GUIDE_PAGES if p.shown(guide) and (deployment or not p.deployment_only)]


def guide_of_page(src_uri: str, kb: KnowledgeBase) -> str | None:
    """The id of the guide a page (path under docs/) belongs to, None for the site's own pages."""
    folder, sep, _ = src_uri.partition("/")
    return folder if sep and folder in kb.guides else None


# --------------------------------------------------------------------------------------------
# The renderer: one per build language
# --------------------------------------------------------------------------------------------


class Site:
    def __init__(self, project: Project, lang: str, page_path=lambda: "index.md",
                 deployment: Deployment | None = None, rendered: RenderedPages | None = None):
        self.project = project
        self.kb: KnowledgeBase = project.knowledge
        self.lang = lang
        self._page_path = page_path
        self.deployment = deployment
        self.rendered = rendered or RenderedPages()

    # ---- language and links --------------------------------------------------------------
    def T(self, text: Text | None) -> str:
        if text is None:
            return ""
        d = self.deployment
        if d is None:
            return text(self.lang)
        return d.substitute(text(self.lang), self.guide(d.guide), self.family_os(d.guide), self.lang)

    def L(self, label_id: str, **fmt: str) -> str:
        text = label(self.kb, label_id)(self.lang)
        return text.format(**fmt) if fmt else text

    def guide(self, guide_id: str) -> Guide:
        return self.kb.guides[guide_id]

    def link(self, target: str) -> str:
        """*target* (a path under docs/, optionally with #anchor) relative to the current page."""
        path, _, anchor = target.partition("#")
        here = posixpath.dirname(self._page_path())
        rel = posixpath.relpath(path, here or ".") if path else ""
        return rel + (f"#{anchor}" if anchor else "")

    def page_link(self, page: str, guide_id: str = "", anchor: str = "") -> str:
        path = PAGES[page].format(guide=guide_id)
        return self.link(path + (f"#{anchor}" if anchor else ""))

    def note(self, adm: Admonition) -> str:
        kind, label = ADMONITIONS[adm.kind]
        return admonition(kind, self.L(label), self.T(adm.text))

    # ---- home and compatibility ----------------------------------------------------------
    def site_name(self) -> str:
        d = self.deployment
        if d is not None:
            return self.L("deploy-site-name", product=self.T(self.guide(d.guide).meta.product), cluster=d.cluster)
        return self.T(self.kb.site.site_name)

    def site_intro(self) -> str:
        platforms = sorted({self.T(f.platform) for f in self.kb.families.values()})
        if len(platforms) > 2:
            platforms = [self.L("list-separator").join(platforms[:-1]), platforms[-1]]
        return self.L("site-intro", platforms=self.L("list-and").join(platforms))

    def guides_of(self, family_id: str) -> list[str]:
        """The guides of kb/guides on *family_id*: in the family's order, then the ones it does not list."""
        fam = self.kb.families[family_id]
        mine = [gid for gid, g in self.kb.guides.items() if g.meta.family == family_id]
        listed = [ref.id for ref in fam.guides if ref.id in mine]
        return listed + [gid for gid in mine if gid not in listed]

    def guide_list(self) -> str:
        """The guides by platform (one section per family): every guide of kb/guides linked, then
        the family's guides that are not in kb/ yet (unlinked)."""
        out = []
        for fid, fam in self.kb.families.items():
            items = [self._guide_item(gid) for gid in self.guides_of(fid)]
            items += [f"- {self.T(ref.title)} ({self.L('not-in-kb')})" for ref in fam.guides if ref.id not in self.kb.guides]
            if items:
                out.append(f"### {self.T(fam.name)} {{ #{fid} }}\n\n" + "\n".join(items) + "\n")
        return "\n".join(out)

    def _guide_item(self, guide_id: str) -> str:
        g = self.guide(guide_id)
        return f"- [{self.T(g.meta.title)}]({self.page_link('guide', guide_id)}): {self.T(g.meta.summary)}"

    def compatibility_rows(self, family_id: str) -> list[list[str]]:
        """One row per edition of each guide on *family_id*: guide (linked), edition and its
        versions, the family's versions it is supported on (ranges), the operating systems, and
        the conditions or reasons."""
        fam = self.kb.families[family_id]
        rows = []
        for gid in self.guides_of(family_id):
            g = self.guide(gid)
            title = f"[{self.T(g.meta.product)}]({self.page_link('guide', gid)})"
            oses = "<br>".join(g.meta.environment.operating_systems)
            for ed in g.meta.scope.editions:
                versions = (fam.version_ranges(g.meta.scope.applies_to, self.L("range-separator"))
                            if ed.supported else self.L("not-supported"))
                notes = "<br>".join(self.T(t) for t in (*ed.conditions, *ed.reasons)) or "—"
                rows.append([title, f"{self.T(ed.name)} {self.T(ed.versions)}", versions, oses, notes])
        return rows

    def compatibility_matrix(self) -> str:
        """Guide × product edition × CLUSTERPRO version × OS, one table per platform (family),
        then the family's versions with their internal numbers and where each is named."""
        header = [self.L("guide"), self.L("edition"), self.L("cluster-versions"), self.L("operating-systems"), self.L("conditions")]
        out = []
        for fid, fam in self.kb.families.items():
            rows = self.compatibility_rows(fid)
            if rows:
                out.append(f"## {self.T(fam.name)} {{ #{fid} }}\n\n" + table(header, rows, source="compatibility", key=fid))
                versions = [[v.name, v.internal or "—", html.escape(v.source, quote=False) if v.source else self.L("seed-source")]
                            for v in sorted(fam.versions, key=lambda v: v.order)]
                out.append(f"**{self.L('family-versions', family=self.T(fam.name))}**\n\n"
                           + table([self.L("version"), self.L("internal-version"), self.L("sources")], versions, source="family-versions", key=fid))
        return "\n".join(out)

    def related_guides(self) -> str:
        out = [
            f"- {self.T(ref.title)} ({self.L('not-in-kb')})"
            for fam in self.kb.families.values() for ref in fam.guides
            if ref.id not in self.kb.guides
        ]
        return "\n".join(out) + "\n" if out else ""

    # ---- example inventories (kb/inventories/) ------------------------------------------------
    def inventory_intro(self) -> str:
        ex = self.kb.inventories
        return self.T(ex.intro) + "\n" if ex is not None else ""

    def inventory_examples(self) -> str:
        """Each example inventory of kb/inventories/: title, text, what the operator does, the file
        as it is (without its editor's schema line) and the commands that use it, filled in with
        the inventory's guide, first node and file name. The file is read by the engine's own
        inventory loader here too: an example it refuses fails the build at its line."""
        ex = self.kb.inventories
        if ex is None:
            return ""
        out = []
        for e in ex.examples:
            inv = load_inventory(self.project.kb / INVENTORY_DIR / e.file)
            text = self.kb.inventory_files[e.file]
            lines = text.splitlines()
            if lines and lines[0].startswith("# yaml-language-server:"):
                lines = lines[1:]
            body = [f"## {self.T(e.title)} {{ #{e.id} }}", "", self.T(e.text), ""]
            if e.steps:
                body += [f"**{self.L('inventory-steps')}**", ""] + [f"{i}. {self.T(s)}" for i, s in enumerate(e.steps, 1)] + [""]
            body += [f"**{self.L('inventory-file', file=e.file)}**", "",
                     f'<div class="rb-inventory" data-example="{e.id}" data-file="{e.file}" markdown>', "",
                     "```yaml", *lines, "```", "", "</div>", ""]
            if e.commands:
                values = {"guide": inv.guide, "node": inv.nodes[0].name, "inventory": e.file}
                body += [f"**{self.L('inventory-commands')}**", "", "```bash",
                         *(c.format(**values) for c in e.commands), "```", ""]
            if e.sources:
                body.append(self.tables().sources_line(e.sources))
            out.append("\n".join(body))
        return "\n".join(out)

    # ---- guide index (scope) -------------------------------------------------------------
    def editions_table(self, guide_id: str) -> str:
        g = self.guide(guide_id)
        header = [self.L("edition"), self.L("version"), self.L("support"), self.L("conditions")]
        rows = []
        for ed in g.meta.scope.editions:
            rows.append([
                self.T(ed.name),
                self.T(ed.versions),
                self.L("supported") if ed.supported else self.L("not-supported"),
                "<br>".join(self.T(t) for t in (*ed.conditions, *ed.reasons)),
            ])
        return table(header, rows, source="editions")

    def applies_to(self, guide_id: str) -> str:
        g = self.guide(guide_id)
        return f"**{self.L('applies-to')}**: {self.T(self.kb.family_of(g).name)} {self.kb.family_of(g).version_names(g.meta.scope.applies_to)}\n"

    def security_reason(self, guide_id: str) -> str:
        """Why the guide advises against a placement ("" when the guide gives no such reason)."""
        reason = self.guide(guide_id).meta.scope.security_reason
        return admonition("warning", self.L("security-reason"), self.T(reason)) if reason is not None else ""

    def disclaimer(self, guide_id: str) -> str:
        scope = self.guide(guide_id).meta.scope
        out = admonition("note", self.L("disclaimer"), self.T(scope.disclaimer))
        return out + ("\n" + self.tables().sources_line(scope.sources) if scope.sources else "")

    def guide_pages(self, guide_id: str) -> str:
        """Links to the guide's other pages (those it has data for), in nav order."""
        pages = [p.id for p in guide_pages_of(self.guide(guide_id)) if p.id != "guide"]
        return "\n".join(f"- [{self.L(p)}]({self.page_link(p, guide_id)})" for p in pages) + "\n"

    def source(self, guide_id: str) -> str:
        m = self.guide(guide_id).meta
        date = f" ({m.published})" if m.published else ""
        return f"{self.L('published')}: {self.T(m.edition_label)}{date}\n"

    # ---- overview ------------------------------------------------------------------------
    def features_overview(self, guide_id: str) -> str:
        return "\n\n".join(self.T(t) for t in self.guide(guide_id).meta.features_overview) + "\n"

    def features(self, guide_id: str) -> str:
        g = self.guide(guide_id)
        if not g.meta.features:
            return ""
        return table([self.L("feature"), self.L("detail")], [[self.T(f.name), self.T(f.description)] for f in g.meta.features],
                     source="features")

    def operation_mode(self, guide_id: str) -> str:
        t = self.guide(guide_id).meta.topology
        return f"**{self.T(t.mode)}** ({self.T(t.node_count)})\n\n{self.T(t.mode_description)}\n"

    def topology_figures(self, guide_id: str) -> str:
        g = self.guide(guide_id)
        d = self.deployment
        out = []
        figures = list(g.meta.topology.figures)
        if d is not None:
            # this cluster as the inventory has it now, then the guide's figures it can show
            out.append(f"**{self.L('figure')} 1. {self.L('deploy-figure-cluster', cluster=d.cluster)}**\n")
            out.append("```mermaid\n" + cluster_mermaid(self.kb, g, self.lang, d) + "\n```\n")
            out.append(self.L(f"deploy-figure-{d.phase}") + "\n")
            left = [f for f in figures if not deployed_figure(g, f, d)]
            figures = [f for f in figures if deployed_figure(g, f, d)]
            if left:
                out.append(admonition("note", self.L("admonition-note"), self.L(
                    "deploy-figures-left", figures=self.L("list-separator").join(self.T(f.caption) for f in left))))
        for i, fig in enumerate(figures, start=2 if d is not None else 1):
            out.append(f"**{self.L('figure')} {i}. {self.T(fig.caption)}**\n")
            out.append("```mermaid\n" + topology_mermaid(self.kb, g, fig, self.lang, d) + "\n```\n")
            out.append(self.T(fig.description) + "\n")
        legend = legend_rows(self.kb, g, self.lang)
        if g.meta.topology.figures and legend:
            out.append(f"**{self.L('figure-legend')}**\n\n" + '<div class="rb-legend" markdown>\n\n'
                       + table([self.L("figure-element"), self.L("detail")], legend, source="figure-legend") + "\n</div>\n")
        return "\n".join(out)

    def client_access(self, guide_id: str) -> str:
        t = self.guide(guide_id).meta.topology
        return f"{self.T(t.client_access)}\n\n{self.T(t.virtual_ip_note)}\n"

    def priority_order(self, guide_id: str) -> str:
        topology = self.guide(guide_id).meta.topology
        if self.deployment is not None:
            out = "\n".join(f"{n.priority}. {n.name}" + (f" ({n.ip})" if n.ip else "") for n in self.deployment.nodes) + "\n"
            unmatched = self.deployment.unmatched_topology(self.guide(guide_id))
            if unmatched:
                out += "\n" + self.L("deploy-unmatched-nodes", nodes=self.L("list-separator").join(unmatched)) + "\n"
            return out + ("\n" + self.tables().sources_line(topology.sources) if topology.sources else "")
        nodes = sorted(topology.nodes, key=lambda n: n.priority)
        out = "\n".join(f"{n.priority}. {n.name}" for n in nodes) + "\n"
        return out + ("\n" + self.tables().sources_line(topology.sources) if topology.sources else "")

    # ---- environment ---------------------------------------------------------------------
    def operating_environment(self, guide_id: str) -> str:
        e = self.guide(guide_id).meta.environment
        rows = [
            [self.L("os"), "<br>".join(e.operating_systems)],
            [self.L("protocol"), e.protocol],
            [self.L("file-system"), e.file_system],
        ]
        out = self.T(e.text) + "\n\n" + table([self.L("detail"), self.L("value")], rows, source="environment")
        return out + ("\n" + self.tables().sources_line(e.sources) if e.sources else "")

    def functional_scope(self, guide_id: str) -> str:
        return self.T(self.guide(guide_id).meta.functional_scope) + "\n"

    # ---- procedure -----------------------------------------------------------------------
    def procedure_intro(self, guide_id: str) -> str:
        p = self.guide(guide_id).procedure
        out = self.T(p.intro) + "\n"
        if p.references:
            body = "\n".join(f"- {self.T(r)}" for r in p.references)
            out += "\n" + admonition("info", self.L("admonition-related"), body)
        return out

    def phase_heading(self, phase) -> str:
        return f"({phase.label}) {self.T(phase.title)} {{ #phase-{phase.id} }}"

    def step_heading(self, step: Step) -> str:
        return f"{step.label}. {self.T(step.title)} {{ #{step.id} }}"

    def feature_name(self, guide_id: str, feature_id: str) -> str:
        for f in self.guide(guide_id).meta.features:
            if f.id == feature_id:
                return self.T(f.name)
        raise KeyError(feature_id)

    def step_body(self, guide_id: str, step: Step) -> str:
        mode = self.L(f"mode-{step.mode}")
        facts = [f"**{self.L('mode')}**: {mode}"]
        if step.action:
            facts.append(f"**{self.L('automated-by')}**: `{step.action}`")
        if step.planned_action:
            facts.append(self.L("planned-action", action=step.planned_action))
        if step.when:
            facts.append(f"**{self.L('only-when')}**: {self.L('when-feature', feature=self.feature_name(guide_id, step.when))}")
        if self.deployment is not None and step.id in self.deployment.step_targets:
            targets = self.deployment.step_targets[step.id]
            facts.append(f"**{self.L('deploy-step-targets')}**: "
                         + (", ".join(code(t) for t in targets) if targets else self.L("deploy-no-targets")))
        out = ['<div class="rb-step-mode" markdown>', "<br>\n".join(facts), "</div>", "", self.T(step.text), ""]
        if step.substeps:
            out += [f"- {self.T(s.text)}" for s in step.substeps] + [""]
        for shown in step.shows:
            out.append(self.shows(guide_id, shown))
        for n in step.notes:
            out.append(self.note(n))
        if step.sources:
            # public sources of what the step says beyond the seed (the notebook prints them too)
            out.append(self.tables().sources_line(step.sources))
        return "\n".join(out) + "\n"

    def shows(self, guide_id: str, what: str) -> str:
        """What a step's ``shows:`` names: a table of the registry (artifacts.tables.TABLES, the
        same the notebooks use), the clpcfset sequence with its download link, or, for the
        scripts, a link to their page."""
        if what == "scripts":
            return self.scripts_link(guide_id)
        if what == "clpcfset":
            return self.clpcfset(guide_id)
        return TABLES[what](self.tables(), self.guide(guide_id))

    def clpcfset(self, guide_id: str) -> str:
        """The clpcfset command sequence of the guide with its download link (artifacts/clpcfset.py)."""
        g = self.guide(guide_id)
        href = self.link(f"downloads/{guide_id}/{self.lang}/{clpcfset_file_name(self.kb, g)}")
        return self.tables().clpcfset(g, download=href)

    def clpcfset_section(self, guide_id: str) -> str:
        """The sequence as a section of the procedure page, for a guide on a clpcfset or clpcfadm
        version whose procedure has no step that shows it ("" otherwise)."""
        g = self.guide(guide_id)
        if not clpcfset_applies(self.kb, g) or any("clpcfset" in s.shows for s in g.steps()):
            return ""
        return f"## {self.L('clpcfset')} {{ #clpcfset }}\n\n" + self.clpcfset(guide_id)

    def origin(self, guide_id: str) -> str:
        """Where the guide comes from (the document named in guide.yaml, the chapter, what its
        revision history says), then how its numbered items map to our steps ("" without
        origin.yaml)."""
        g = self.guide(guide_id)
        if g.origin is None:
            return ""
        o = g.origin
        date = f" ({g.meta.published})" if g.meta.published else ""
        out = (f"**{self.L('published')}**: {self.T(g.meta.edition_label)}{date}<br>\n"
               f"**{self.L('origin-chapter')}**: {self.T(o.chapter)}\n\n")
        if o.history is not None:
            out += f"{self.T(o.history)}\n\n"
        return out + f"{self.T(o.intro)}\n\n" + self.tables().origin(g)

    def tables(self) -> GuideTables:
        return GuideTables(self.kb, self.lang, self.page_link, deployment=self.deployment)

    def ports_tables(self, guide_id: str) -> str:
        return self.tables().ports(self.guide(guide_id))

    def port_note(self, guide_id: str) -> str:
        return self.T(self.kb.family_of(guide_id).port_note) + "\n"

    def family_os(self, guide_id: str) -> str:
        """The operating system of the guide's family ("windows" | "linux"): which script sections apply."""
        return self.kb.family_of(guide_id).os

    def script_names(self, guide_id: str) -> tuple[str, ...]:
        """The start and stop scripts' file names of the guide's family (start first)."""
        return script_names(self.kb, self.guide(guide_id))

    def download_links(self, guide_id: str) -> str:
        items = []
        for name in self.script_names(guide_id):
            label = self.L("start-script") if name.upper().startswith("START") else self.L("stop-script")
            href = self.link(f"downloads/{guide_id}/{self.lang}/{name}")
            items.append(f"- [{label} ({name})]({href}){{ download=\"{name}\" }}")
        return "\n".join(items) + "\n"

    def scripts_link(self, guide_id: str) -> str:
        return (
            f"**{self.L('download')}** ([{self.L('scripts')}]({self.page_link('scripts', guide_id)})):\n\n"
            + self.download_links(guide_id)
        )

    def notebook_link(self, guide_id: str) -> str:
        """Download link of the guide's runbook notebook (copied into the site when it exists in
        runbooks/; until then its name only, so that the build has no broken link). A manual for
        one cluster always has its own notebook (its parameters set to the inventory)."""
        name = f"{guide_id}.{self.lang}.ipynb"
        if self.deployment is not None or (self.project.runbooks / name).is_file():
            target = f"[{name}]({self.link('runbooks/' + name)}){{ download=\"{name}\" }}"
        else:
            target = code(name)
        return f"{self.L('notebook-intro')}: {target}\n"

    def notebook_cells(self, guide_id: str) -> str:
        """The runbook notebook of this language, rendered as a page: Markdown cells as they are
        (headings one level down), code cells as Python blocks. Generated by the same function
        that writes runbooks/, so the page and the notebook cannot differ."""
        nb = self.notebook(guide_id)
        out = []
        for c in nb.cells:
            if c.cell_type == "markdown":
                lines = ["#" + l if l.startswith("#") else l for l in c.source.splitlines()]
                out.append("\n".join(lines))
            else:
                out.append("```python\n" + c.source + "\n```")
        return "\n\n".join(out) + "\n"

    def notebook(self, guide_id: str):
        """The guide's notebook in this language (for one cluster: its parameters set to the inventory)."""
        g = self.guide(guide_id)
        if self.deployment is None:
            return build_notebook(self.project, g, self.lang)
        return deployment_notebook(build_notebook(self.project, g, self.lang, self.deployment), self.deployment,
                                   g, self.family_os(guide_id), self.L("deploy-nb-inventory"))

    def run_commands(self, guide_id: str) -> str:
        """How to run the guide's notebook on its first node: plan, apply, confirm a manual step
        (for one cluster: on the inventory's first node, with the inventory)."""
        g = self.guide(guide_id)
        run = f"runbook run {guide_id} --node {g.meta.topology.nodes[0].id} --lang {self.lang}"
        if self.deployment is not None:
            run = (f"runbook run {guide_id} --node {self.deployment.nodes[0].name} --lang {self.lang} "
                   f"--inventory {self.deployment.inventory}")
        cmds = [run, f"{run} --apply --answers answers.yaml"]
        first_manual = next((s.id for s in g.steps() if s.mode == "manual"), None)
        if first_manual is not None:
            cmds.append(f"{run} --apply --confirm {first_manual}")
        return "```bash\n" + "\n".join(cmds) + "\n```\n"

    # ---- the manual for one cluster: its home and the parameter sheet ----------------------
    def deployment_intro(self) -> str:
        """The home of a manual for one cluster: what it is made from, for which cluster."""
        d = self.deployment
        if d is None:
            return ""
        g = self.guide(d.guide)
        nodes = self.L("list-separator").join(n.name for n in d.nodes)
        return (self.L("deploy-intro", guide=self.T(g.meta.title), cluster=d.cluster, nodes=nodes) + "\n\n"
                + admonition("warning", self.L("admonition-important"), self.L("deploy-secrets")))

    def deployment_contents(self) -> str:
        """Links to the pages of the manual for one cluster, in nav order."""
        d = self.deployment
        if d is None:
            return ""
        g = self.guide(d.guide)
        items = []
        for p in guide_pages_of(g, deployment=True):
            title = self.T(g.meta.title) if p.id == "guide" else self.L(p.id)
            items.append(f"- [{title}]({self.page_link(p.id, d.guide)})")
        return "\n".join(items) + "\n"

    def parameters_intro(self, guide_id: str) -> str:
        d = self.deployment
        if d is None:
            return ""
        return self.L("parameters-intro", inventory=code(d.inventory), cluster=d.cluster) + "\n"

    def parameter_sheet(self, guide_id: str) -> str:
        """Every value of the inventory the manual uses, by section: what it is, its key in the
        inventory, its value and where the manual uses it (found in the pages rendered before
        this one: publish/deployment.py's find_uses)."""
        d = self.deployment
        if d is None:
            return ""
        here = self._page_path()
        found = self.rendered.sections(exclude=here)
        titles = self.rendered.titles()
        out = []
        rows_by: dict[str, list[Parameter]] = {}
        for p in parameter_rows(d, self.guide(guide_id), self.kb):
            rows_by.setdefault(p.section, []).append(p)
        for section, params in rows_by.items():
            rows = []
            for p in params:
                name = self.L(p.label) + (f" ({p.node})" if p.node and p.label != "param-node-name" else "")
                value = "<br>".join(code(v) for v in p.value.split("\n")) if p.value else "—"
                if p.default:
                    value += f"<br>({self.L(p.default)})"
                rows.append([name, code(p.key), value, self._uses(p, found, titles)])
            out.append(f"## {self.L('param-section-' + section)} {{ #{section} }}\n\n"
                       f'<div class="rb-parameters" data-section="{section}" markdown>\n\n'
                       + table([self.L("param-item"), self.L("param-key"), self.L("param-value"), self.L("param-used-in")], rows,
                               source="parameters", key=section)
                       + "\n</div>\n")
        return "\n".join(out)

    def _uses(self, p: Parameter, found, titles: dict[str, str]) -> str:
        """Where the manual uses *p*: per page, linked, the sections that hold its value."""
        if p.search is None:
            return self.L(p.use) if p.use else "—"
        by_page: dict[str, list] = {}
        for s in find_uses(p.search, found):
            by_page.setdefault(s.page, []).append(s)
        if not by_page:
            return self.L("param-unused")
        parts = []
        for page, secs in by_page.items():
            head = f"[{titles.get(page, page)}]({self.link(page)})"
            anchors = [f"[{_short(s.title)}]({self.link(page + '#' + s.anchor)})" for s in secs if s.anchor]
            parts.append(head + (f" ({', '.join(anchors)})" if anchors else ""))
        return "<br>".join(parts)

    # ---- scripts page --------------------------------------------------------------------
    def scripts(self, guide_id: str) -> dict[str, Script]:
        """The guide's scripts in this language; for one cluster, the bytes the engine writes
        there (in the configuration node's language)."""
        d = self.deployment
        if d is None:
            return render_scripts(self.kb, self.guide(guide_id), self.lang, self.project.snippets)
        os_ = self.family_os(guide_id)
        out = {}
        for name, data in d.scripts.items():
            encoding = script_encoding(os_, d.scripts_lang)
            kind = "start" if name.lower().startswith("start") else "stop"
            out[name] = Script(guide_id, name, kind, d.scripts_lang, data.decode(encoding), encoding)
        return out

    def script_tabs(self, guide_id: str) -> str:
        out = []
        fence = "bash" if self.family_os(guide_id) == "linux" else "bat"
        for name, script in self.scripts(guide_id).items():
            label = self.L("start-script") if script.kind == "start" else self.L("stop-script")
            body = f"```{fence}\n" + script.text.replace("\r\n", "\n").rstrip("\n") + "\n```"
            out.append(f'=== "{name}"\n\n    **{label}**\n\n{indent(body)}\n')
        return "\n".join(out)

    def script_directory(self, guide_id: str) -> str:
        out = f"**{self.L('script-directory')}**\n\n" + self.tables().script_location(self.guide(guide_id))
        d = self.deployment
        if d is None:
            return out
        rows = []
        if d.configuration_scripts:
            rows += [[code(d.configuration_node), self.L("deploy-in-configuration"), code(path)]
                     for path in d.configuration_scripts.values()]
        rows += [[code(n.name), self.L("deploy-installed"), code(path)]
                 for n in d.nodes for path in n.installed_scripts.values()]
        lang = self.L(f"lang-{d.scripts_lang}")
        out += "\n" + self.L("deploy-scripts-bytes", lang=lang) + "\n"
        if rows:
            out += "\n" + table([self.L("deploy-node"), self.L("deploy-where"), self.L("deploy-path")], rows, source="script-paths")
        else:
            out += "\n" + admonition("warning", self.L("admonition-important"), self.L("deploy-no-paths"))
        return out

    def variables_table(self, guide_id: str) -> str:
        rows = []
        for v in self.kb.family_of(guide_id).script_variables:
            values = "<br>".join(f"{code(val)}: {self.T(meaning)}" for val, meaning in map(value_pair, v.values))
            rows.append([code(v.name), self.T(v.description), values])
        return table([self.L("variable-name"), self.L("detail"), self.L("variable-value")], rows, source="script-variables")

    def arm_commands(self, guide_id: str) -> str:
        commands = self.kb.family_of(guide_id).arm_commands
        if not commands:
            return ""
        out = [table(
            [self.L("arm-commands"), self.L("synopsis"), self.L("detail")],
            [[code(c.name), code(c.synopsis), self.T(c.description)] for c in commands],
            source="arm-commands",
        )]
        for c in commands:
            if not c.options:
                continue
            rows = [[code(o.flag), self.T(o.meaning), self.L("recommended") if o.recommended else self.L("not-recommended")] for o in c.options]
            out.append(f"\n**{c.name}**\n\n" + table([self.L("flags"), self.L("option-meaning"), self.L("recommended")], rows,
                                                             source="arm-options", key=c.name))
            for o in c.options:
                if o.note:
                    out.append("\n" + admonition("warning", f"{o.flag}: {self.L('not-recommended') if not o.recommended else self.L('admonition-note')}", self.T(o.note)))
        return "\n".join(out)

    def flag_notes(self, guide_id: str) -> str:
        return self.T(self.guide(guide_id).scripts.flag_notes) + "\n"

    def script_settings(self, guide_id: str) -> str:
        """The settings at the top of a guide's scripts: variable, value, what it is."""
        sc = self.guide(guide_id).scripts
        rows = [[code(s.name), code(s.value), self.T(s.text)] for s in sc.settings]
        return table([self.L("setting-name"), self.L("value"), self.L("detail")], rows, source="script-settings")

    def script_commands(self, guide_id: str) -> str:
        """The commands of a guide's scripts, in order: script, events, what it does, the
        command line as the program gets it, the user (Linux), what a failure does; then the
        sources."""
        sc = self.guide(guide_id).scripts
        windows = self.family_os(guide_id) == "windows"
        rows = []
        for c in sc.commands:
            words = [sc.resolve(t) for t in c.argv]
            # as cmd passes it on (a word with a space in quotes) or as the program's argv (Linux)
            argv = " ".join(f'"{w}"' if windows and " " in w else w for w in words)
            failure = self.L("failure-ignored") if not c.failure else self.L("failure-broadcast" if windows else "failure-exit")
            script = f"{c.script.upper()}.BAT" if windows else f"{c.script}.sh"
            rows.append([script, ", ".join(code(e) for e in c.events), self.T(c.text), code(argv),
                         code(sc.resolve(c.user)) if c.user else "—", failure])
        header = [self.L("scripts"), self.L("script-events"), self.L("detail"), self.L("commands"),
                  self.L("run-as"), self.L("on-failure")]
        sources = [x for c in sc.commands for x in c.sources] + [x for s in sc.settings for x in s.sources] + list(sc.sources)
        out = table(header, rows, source="script-commands")
        if sources:
            out += "\n" + self.tables().sources_line(list(dict.fromkeys(sources)))
        return out

    def watch_id_rules(self, guide_id: str) -> str:
        return self.T(self.kb.family_of(guide_id).watch_id_rules) + "\n"

    def script_notes(self, guide_id: str) -> str:
        return "\n".join(f"- {self.T(n)}" for n in self.guide(guide_id).scripts.notes) + "\n"

    def script_guidance(self, guide_id: str) -> str:
        """What the original samples show only as comments (scripts.yaml's guidance): per item a
        heading, our explanation, and each sample's exact lines with the script and branch they
        go in. "" for a guide without guidance."""
        out = []
        for item in self.guide(guide_id).scripts.guidance:
            out.append(f"### {self.T(item.title)} {{ #{item.id} }}\n\n{self.T(item.text)}\n")
            for sample in item.samples:
                out.append(f"**{sample.script}** ({self.L('guidance-where')}: {self.T(sample.where)})\n\n"
                           f'<div class="rb-guidance" data-guidance="{item.id}" data-script="{sample.script}" markdown>\n\n'
                           "```bat\n" + "\n".join(sample.code) + "\n```\n\n</div>\n")
            if item.note is not None:
                out.append(admonition("note", self.L("admonition-note"), self.T(item.note)))
        return "\n".join(out)

    def case_table(self, guide_id: str, name: str) -> str:
        """What the script must do for every combination of CLP_EVENT / CLP_DISK / CLP_SERVER,
        as the guide's data declares it (batch/intent.py for START.BAT / STOP.BAT,
        batch/shcases.py for start.sh / stop.sh), never read from the script: the tests run the
        script (the simulator and Wine's cmd.exe, or bash) and compare. Rows whose outcome does
        not depend on a variable show that variable as "any"."""
        if self.family_os(guide_id) == "linux":
            return self._declared_case_table(guide_id, name)
        g = self.guide(guide_id)
        family = self.kb.family_of(g)
        kind = self.scripts(guide_id)[name].kind
        # the same cases the Wine differential proof runs (sandbox/scriptproof.py)
        variables = case_variables(family)
        declared = merge_cases(variables, intent.declared_cases(family, g, kind, self.lang))
        rows = [(values, outcome.calls, outcome.aborted or "—") for values, outcome in declared]
        return self._case_table(name, variables, rows, self.L("aborted"), self.L("case-table-intro", script=name))

    def _declared_case_table(self, guide_id: str, name: str) -> str:
        """A Linux script's cases as the data declares them (batch/shcases.py): the programs it
        must run in order and its exit code; tests/test_linux_scripts.py runs the script in bash
        and checks it does exactly this."""
        g = self.guide(guide_id)
        family = self.kb.family_of(g)
        kind = "start" if name.startswith("start") else "stop"
        variables = case_variables(family)
        declared = merge_cases(variables, declared_cases(family, g, kind, self.lang))
        rows = [(values, outcome.calls, str(outcome.exit_code)) for values, outcome in declared]
        return self._case_table(name, variables, rows, self.L("exit-code"),
                                self.L("case-table-declared-intro", script=name))

    def _case_table(self, name: str, variables, rows, last_header: str, intro: str) -> str:
        """A case table: one row per merged case (the variables' values, the commands, then how
        the script ended). Runs of commands that several cases run in the same order
        (publish/caseruns.py) are listed once above the table, each in a block of its own with an
        anchor; a row names such a run, linked, where its case runs it, and lists its other
        commands itself."""
        factored = shared_runs([tuple(format_call(c) for c in calls) for _, calls, _ in rows])
        out = [intro, "", f'<div class="rb-cases" data-script="{name}" markdown>', ""]
        if factored.runs:
            out += [self.L("case-shared-intro"), ""]
        for n, run in enumerate(factored.runs, start=1):
            cases = sum(1 for row in factored.rows if Ref(n) in row)
            size = self.L("case-shared-size", count=str(len(run)), cases=str(cases))
            out += [f'<div class="rb-case-shared" id="{_shared_anchor(name, n)}" data-script="{name}" '
                    f'data-shared="{n}" markdown>', "",
                    f"**{self.L('case-shared', n=str(n))}** ({size})", "",
                    "```text", *run, "```", "", "</div>", ""]
        out_rows = [self._case_row(name, values, items, factored.runs, last)
                    for (values, _, last), items in zip(rows, factored.rows)]
        out += [table([*variables, self.L("commands"), last_header], out_rows, source="cases", key=name), "</div>", ""]
        return "\n".join(out)

    def _case_row(self, name: str, values, items, runs, last: str) -> list[str]:
        """One row of a case table: each variable's value (any, unset or the value), the
        commands in order (a shared run by its name, linked to it), then *last* (how the script
        ended)."""
        shown = [f"({self.L('any-value')})" if v == "*" else f"({self.L('unset-value')})" if v is None else code(v)
                 for v in values]
        commands = []
        for item in items:
            if isinstance(item, Ref):
                count = self.L("case-shared-count", count=str(len(runs[item.n - 1])))
                commands.append(f"[{self.L('case-shared', n=str(item.n))}](#{_shared_anchor(name, item.n)}) ({count})")
            else:
                commands.append(code(item))
        return [*shown, "<br>".join(commands) or "—", last]

    # ---- errata page ---------------------------------------------------------------------
    def errata_intro(self, guide_id: str) -> str:
        """The guide's errata intro and a link to the scripts page ("" without errata)."""
        e = self.guide(guide_id).errata
        if e is None:
            return ""
        return (f"{self.T(e.intro)}\n\n"
                f"[{self.L('errata-scripts-link')}]({self.page_link('scripts', guide_id)})\n")

    def errata(self, guide_id: str) -> str:
        """One section per erratum of the guide (errata.yaml): defect, effect, what our scripts
        do, and how each claim is proved (per proof: the claim, where it was proved, what the test
        does and its name; a claim proved in no real component says so). Headings and field names
        are labels; the anchor is the id."""
        e = self.guide(guide_id).errata
        if e is None:
            return ""
        out = []
        for n, item in enumerate(e.items, start=1):
            scripts = f"[{item.script}]({self.page_link('scripts', guide_id)})"
            fields = [
                (self.L("errata-script"), scripts),
                (self.L("defect"), self.T(item.defect)),
                (self.L("effect"), self.T(item.effect)),
                (self.L("our-fix"), self.T(item.fix)),
            ]
            body = "\n\n".join(f"**{label}**: {' '.join(text.split())}" for label, text in fields)
            body += f"\n\n**{self.L('how-proved')}**:\n\n" + self.proofs(item) + "\n"
            if item.sources:
                body += "\n" + self.tables().sources_line(item.sources)
            out.append(
                f"## {self.L('erratum-heading', n=str(n), script=item.script)} {{ #{item.id} }}\n\n"
                f'<div class="rb-erratum" data-erratum="{item.id}" markdown>\n\n{body}\n</div>\n'
            )
        return "\n".join(out)

    def proofs(self, item) -> str:
        """The proofs of an erratum as a list, effect first: "claim: where — what (test)". A claim
        that no test ran in a real component (Wine's cmd.exe) is listed as not proved there."""
        claims = {"effect": self.L("effect"), "fix": self.L("our-fix")}
        lines = []
        for claim, claim_label in claims.items():
            for p in (p for p in item.proofs if p.claim == claim):
                lines.append(f'- <span class="rb-proof" data-claim="{claim}" data-proved-in="{p.proved_in}">'
                             f"**{claim_label}**: {self.L('proved-in-' + p.proved_in)}</span> — "
                             f"{' '.join(self.T(p.text).split())} ({code(p.test)})")
            if "wine-cmd" not in item.proved_in(claim):
                lines.append(f'- <span class="rb-proof" data-claim="{claim}" data-proved-in="none">'
                             f"**{claim_label}**: {self.L('proved-in-none')}</span>")
        return "\n".join(lines) + "\n"

    def errata_link(self, guide_id: str) -> str:
        """A line pointing from the scripts page to the errata page ("" without errata)."""
        if self.guide(guide_id).errata is None:
            return ""
        return f"{self.L('errata-see')}: [{self.L('errata')}]({self.page_link('errata', guide_id)})\n"


def _short(title: str) -> str:
    """A section's heading as a short link text: its label ("3-1", "(3)") when it has one."""
    m = re.match(r"^(\(?[0-9A-Za-z]+(?:-[0-9A-Za-z]+)*\)?)[.)]?\s", title)
    return m.group(1) if m else title


def _shared_anchor(script: str, n: int) -> str:
    """The anchor of a case table's shared run *n* (the same in both languages)."""
    return re.sub(r"[^a-z0-9]+", "-", script.lower()).strip("-") + f"-shared-{n}"


def value_pair(item: Any) -> tuple[str, Text]:
    """(value, meaning) of one documented value of a script variable."""
    if isinstance(item, tuple):
        return item[0], item[1]
    return item.value, item.meaning
