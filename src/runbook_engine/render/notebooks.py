"""Runbook notebooks: generated from a guide's procedure (one per guide and language), and run on a
node with nbclient.

Generated notebooks carry no outputs and have deterministic cell ids and metadata, so
regenerating gives identical bytes (a test checks the committed ones are fresh). Running one
injects the run's parameters after the cell tagged ``parameters`` (papermill's convention; the
notebooks also run unchanged under papermill and ``jupyter nbconvert --execute``).
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from ..model.project import Project
from ..model.schema import Guide
from .files import write_atomic
from .templates import environment

LANGS = ("ja", "en")
CELL_TIMEOUT = 600  # seconds for one cell (a 4-step apply on a cold Wine node stays well below)
STARTUP_TIMEOUT = 60


_LINK = re.compile(r"\[([^\]]+)\]\([^)\s]+\)")
NOTEBOOK_TABLES = ("resources", "services", "ports", "dns-records")  # the same tables as the site


def _tables(project: Project, guide: Guide, step, lang: str) -> list[str]:
    from .macros import Site

    site = Site(project, lang)
    # links in the tables point at site pages, which a notebook does not have: keep their text
    return [_LINK.sub(r"\1", site.shows(guide.id, name).strip()) for name in step.shows if name in NOTEBOOK_TABLES]


def build_notebook(project: Project, guide: Guide, lang: str) -> nbformat.NotebookNode:
    kb = project.knowledge
    env = environment(project.snippets)
    features = {f.id: f.name(lang) for f in guide.meta.features}
    ctx = {"guide": guide, "lang": lang, "L": lambda i: kb.label(i)(lang),
           "feature_name": lambda f: features.get(f, f)}

    def md(name: str, cell_id: str, **extra) -> nbformat.NotebookNode:
        text = env.get_template(f"notebook/{name}.md.j2").render(**ctx, **extra).strip() + "\n"
        c = new_markdown_cell(text.rstrip("\n"))
        c.id = cell_id
        return c

    def code(name: str, cell_id: str, tags: list[str] | None = None, **extra) -> nbformat.NotebookNode:
        text = env.get_template(f"notebook/{name}.py.j2").render(**ctx, **extra).strip()
        c = new_code_cell(text)
        c.id = cell_id
        if tags:
            c.metadata["tags"] = tags
        return c

    cells = [md("title", "title"), code("parameters", "parameters", tags=["parameters"]), code("setup", "setup")]
    for phase in guide.procedure.phases:
        cells.append(md("phase", f"phase-{phase.id}", phase=phase))
        for step in phase.steps:
            cells.append(md("step", f"{step.id}-text", step=step, tables=_tables(project, guide, step, lang)))
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


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    return (nbformat.writes(nb, version=4) + ("" if nbformat.writes(nb).endswith("\n") else "\n")).encode("utf-8")


def notebook_path(project: Project, guide_id: str, lang: str) -> Path:
    return project.runbooks / f"{guide_id}.{lang}.ipynb"


def render_all(project: Project) -> dict[Path, bytes]:
    kb = project.knowledge
    return {notebook_path(project, g.id, lang): notebook_bytes(build_notebook(project, g, lang))
            for g in kb.guides.values() for lang in LANGS}


def write_notebooks(project: Project) -> list[Path]:
    """Write every notebook whose bytes changed (atomically); return the paths written."""
    written = []
    for path, data in render_all(project).items():
        if not path.exists() or path.read_bytes() != data:
            write_atomic(path, data)
            written.append(path)
    return written


# ------------------------------------------------------------------------------------------------
@dataclass
class RunRequest:
    guide: str
    node: str
    lang: str = "ja"
    mode: str = "plan"
    inventory: str | None = None
    confirm: list[str] = field(default_factory=list)
    answers: str | None = None
    operator: str = ""


def parameter_source(params: dict) -> str:
    lines = ["# Parameters injected by runbook run"]
    for k, v in params.items():
        lines.append(f"{k} = {v!r}")
    return "\n".join(lines)


def inject_parameters(nb: nbformat.NotebookNode, params: dict) -> nbformat.NotebookNode:
    idx = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    cell = new_code_cell(parameter_source(params))
    cell.id = "injected-parameters"
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(idx + 1, cell)
    return nb


def run_notebook(project: Project, req: RunRequest) -> dict:
    """Execute the guide's notebook for *req* with nbclient; write the executed copy and summary
    under .runbook/runs/<run_id>/ and return the summary (with exit_code 0 / 1 / 3)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from ..engine.journal import new_run_id

    src = notebook_path(project, req.guide, req.lang)
    if not src.exists():
        raise FileNotFoundError(f"{src} not found: run `runbook build` first")
    run_id = new_run_id()
    run_dir = project.state / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(src, as_version=4)
    params = {"guide": req.guide, "node": req.node, "mode": req.mode, "lang": req.lang,
              "inventory": req.inventory, "confirm": req.confirm, "answers": req.answers,
              "operator": req.operator, "run_dir": str(run_dir)}
    inject_parameters(nb, params)
    # the kernel inherits this process's environment: say where the project and its state are,
    # and that nobody is at the keyboard (manual steps then wait instead of prompting)
    kernel_env = {"RUNBOOK_NONINTERACTIVE": "1", "RUNBOOK_ROOT": str(project.root), "RUNBOOK_STATE": str(project.state)}
    saved = {k: os.environ.get(k) for k in kernel_env}
    os.environ.update(kernel_env)
    t0 = time.perf_counter()
    from jupyter_client.manager import KernelManager

    # IPC sockets in the run folder: kernel traffic never touches a TCP port
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(run_dir / "kernel"))
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, startup_timeout=STARTUP_TIMEOUT,
                            kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(project.root)}})
    error = None
    try:
        client.execute()
    except CellExecutionError as exc:
        error = str(exc).strip().splitlines()[-1] if str(exc).strip() else "cell failed"
    finally:
        # nbclient shuts down only kernels it started itself; this one is ours
        try:
            if km.has_kernel:
                km.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001 - a kernel that is already gone is fine
            pass
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - t0
    out_path = run_dir / f"{req.guide}.{req.lang}.{req.node}.ipynb"
    write_atomic(out_path, nbformat.writes(nb).encode("utf-8"))
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {
        "run_id": run_id, "status": "failed", "steps": []}
    if error:
        summary["status"] = "failed"
        summary["error"] = error
    summary["notebook_seconds"] = round(seconds, 3)
    summary["run_id"] = run_id
    summary["exit_code"] = {"ok": 0, "pending": 0, "waiting": 3}.get(summary["status"], 1)
    summary["notebook"] = str(out_path)
    summary["summary_path"] = str(summary_path)
    write_atomic(summary_path, (json.dumps(summary, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    return summary
