"""Runbook notebooks generated from a guide's procedure (one per guide and language).

Generated notebooks carry no outputs and have deterministic cell ids and metadata, so
regenerating gives identical bytes (a test checks the committed ones are fresh). Running them is
publish/execute.py's job.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from runbook_engine.model.project import Project
from runbook_engine.model.rules import LANGS
from runbook_engine.model.schema import Guide
from runbook_engine.artifacts.deployment import Deployment
from runbook_engine.artifacts.files import write_atomic
from runbook_engine.artifacts.markdown import ADMONITIONS, quoted_admonition, table
from runbook_engine.artifacts.tables import TABLES, render_table
from runbook_engine.artifacts.templates import environment



def _tables(project: Project, guide: Guide, step, lang: str, deployment: Deployment | None = None) -> list[str]:
    """The tables the step shows on the site (the same functions; no links: a notebook has no pages;
    admonitions as quotes, which Jupyter renders)."""
    kb = project.knowledge
    return [render_table(kb, guide, name, lang, admonition=quoted_admonition, deployment=deployment).strip()
            for name in step.shows if name in TABLES]


def steps_table(kb, guide: Guide, lang: str) -> str:
    """The procedure's steps with their modes: the list the notebook's title cell opens with."""
    L = lambda i: kb.label(i)(lang)  # noqa: E731
    return table([L("step"), L("mode")], [[f"{s.label} {s.title(lang)}", L("mode-" + s.mode)] for s in guide.steps()],
                 source="steps")


_BLANK_RUNS = re.compile(r"\n{3,}")  # blank lines the templates leave between blocks: one is enough


def build_notebook(project: Project, guide: Guide, lang: str, deployment: Deployment | None = None) -> nbformat.NotebookNode:
    """The runbook notebook of *guide* in *lang*; with *deployment*, its tables carry that
    cluster's values (:func:`deployment_notebook` does the rest)."""
    kb = project.knowledge
    env = environment(project.snippets)
    features = {f.id: f.name(lang) for f in guide.meta.features}
    ctx = {"guide": guide, "lang": lang, "L": lambda i: kb.label(i)(lang),
           "feature_name": lambda f: features.get(f, f),
           "note": lambda n: quoted_admonition(ADMONITIONS[n.kind][0], kb.label("nb-note-" + n.kind)(lang), n.text(lang))}

    def md(name: str, cell_id: str, **extra) -> nbformat.NotebookNode:
        text = env.get_template(f"notebook/{name}.md.j2").render(**ctx, **extra)
        c = new_markdown_cell(_BLANK_RUNS.sub("\n\n", text).strip())
        c.id = cell_id
        return c

    def code(name: str, cell_id: str, tags: list[str] | None = None, **extra) -> nbformat.NotebookNode:
        text = env.get_template(f"notebook/{name}.py.j2").render(**ctx, **extra).strip()
        c = new_code_cell(text)
        c.id = cell_id
        if tags:
            c.metadata["tags"] = tags
        return c

    cells = [md("title", "title", steps_table=steps_table(kb, guide, lang)), code("parameters", "parameters", tags=["parameters"]), code("setup", "setup")]
    for phase in guide.procedure.phases:
        cells.append(md("phase", f"phase-{phase.id}", phase=phase))
        for step in phase.steps:
            cells.append(md("step", f"{step.id}-text", step=step, tables=_tables(project, guide, step, lang, deployment)))
            c = code("step", f"{step.id}-run", step=step)
            c.metadata["runbook"] = {"step": step.id, "mode": step.mode}
            cells.append(c)
    cells.append(md("closing", "closing"))
    cells.append(code("summary", "summary"))
    nb = new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "runbook": {"guide": guide.id, "lang": lang, "steps": [s.id for s in guide.steps()]},
    }
    nbformat.validate(nb)
    return nb


#: the parameters a notebook for one cluster sets, and how (a Python literal of the value)
_PARAMETER_LINE = re.compile(r"^(node|inventory) = .*$", re.M)


def deployment_notebook(nb: nbformat.NotebookNode, deployment: Deployment, guide: Guide, os_: str,
                        inventory_comment: str) -> nbformat.NotebookNode:
    """*nb* (built with *deployment*) made the notebook of that cluster: the parameters cell runs
    on the inventory's first node with the inventory (``node``, ``inventory``; *inventory_comment*
    says so on the line), and the Markdown cells name the cluster's nodes and values where the
    guide's texts name placeholders. Only names of environment variables can reach it (the
    inventory holds no secret)."""
    lang = nb.metadata["runbook"]["lang"]
    values = {"node": repr(deployment.nodes[0].name),
              "inventory": f"{deployment.inventory!r}  # {inventory_comment}"}
    nb = nbformat.from_dict(nb)  # a copy
    for cell in nb.cells:
        if cell.id == "parameters":
            cell.source = _PARAMETER_LINE.sub(lambda m: f"{m.group(1)} = {values[m.group(1)]}", cell.source)
        elif cell.cell_type == "markdown":
            cell.source = deployment.substitute(cell.source, guide, os_, lang)
    nb.metadata["runbook"]["cluster"] = deployment.cluster
    nbformat.validate(nb)
    return nb


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    return (nbformat.writes(nb, version=4) + ("" if nbformat.writes(nb).endswith("\n") else "\n")).encode("utf-8")


def notebook_path(project: Project, guide_id: str, lang: str) -> Path:
    return project.runbooks / f"{guide_id}.{lang}.ipynb"


def render_all(project: Project) -> dict[Path, bytes]:
    kb = project.knowledge
    return {notebook_path(project, g.id, lang): notebook_bytes(build_notebook(project, g, lang))
            for g in kb.guides.values() for lang in LANGS}


def changed_notebooks(project: Project) -> dict[Path, bytes]:
    """The notebooks whose rendered bytes differ from runbooks/ (or that are not there yet)."""
    return {p: d for p, d in render_all(project).items() if not p.exists() or p.read_bytes() != d}


def write_notebooks(project: Project) -> list[Path]:
    """Write every notebook whose bytes changed (atomically); return the paths written."""
    changed = changed_notebooks(project)
    for path, data in changed.items():
        write_atomic(path, data)
    return list(changed)
