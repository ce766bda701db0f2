"""Run a guide's runbook notebook on a node with nbclient, leaving the executed notebook and a JSON
summary under ``.runbook/runs/<run_id>/`` as the audit record.

The run's parameters are injected after the cell tagged ``parameters`` (papermill's convention; the
notebooks also run unchanged under papermill and ``jupyter nbconvert --execute``).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import nbformat
from jupyter_client.manager import KernelManager
from nbformat.v4 import new_code_cell

from runbook_engine.artifacts.files import write_atomic
from runbook_engine.artifacts.notebooks import notebook_path
from runbook_engine.engine.journal import new_run_id
from runbook_engine.engine.session import RECORD_MIME
from runbook_engine.model.errors import one_line
from runbook_engine.model.project import Project

CELL_TIMEOUT = 600  # seconds for one cell (a 4-step apply on a cold Wine node stays well below)
STARTUP_TIMEOUT = 60
KERNEL_NO_COLOR = "--InteractiveShell.colors=NoColor"  # IPython's tracebacks in plain text


@dataclass
class RunRequest:
    guide: str
    node: str
    lang: str = "ja"
    mode: str = "plan"
    inventory: str | None = None
    confirm: list[str] = field(default_factory=list)
    answers: str | None = None
    operator: str = ""  # empty: the session takes $RUNBOOK_OPERATOR, else the OS user


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


def step_records(cell) -> list[dict]:
    """The step records a cell's outputs carry (engine/session.py puts one in each step's output)."""
    return [o["data"][RECORD_MIME] for o in cell.get("outputs", [])
            if o.get("output_type") in ("display_data", "execute_result") and RECORD_MIME in o.get("data", {})]


def run_notebook(project: Project, req: RunRequest, on_step: Callable[[dict], None] | None = None,
                 on_start: Callable[[str, int], None] | None = None) -> dict:
    """Execute the guide's notebook for *req* with nbclient; write the executed copy and summary
    under .runbook/runs/<run_id>/ and return the summary (with exit_code 0 / 1 / 3).

    *on_start(run_id, steps)* is called before the kernel starts, *on_step(record)* with each
    step's record as soon as its cell has run (progress for a person at a terminal)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

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
    if on_start is not None:
        on_start(run_id, sum(1 for c in nb.cells if "runbook" in c.metadata))
    # the kernel inherits this process's environment: say where the project and its state are,
    # and that nobody is at the keyboard (manual steps then wait instead of prompting)
    kernel_env = {"RUNBOOK_NONINTERACTIVE": "1", "RUNBOOK_ROOT": str(project.root), "RUNBOOK_STATE": str(project.state)}
    saved = {k: os.environ.get(k) for k in kernel_env}
    os.environ.update(kernel_env)
    t0 = time.perf_counter()
    # IPC sockets in the run folder: kernel traffic never touches a TCP port
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(run_dir / "kernel"))
    # tracebacks without colour codes: the executed notebook and the summary are files to read
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, startup_timeout=STARTUP_TIMEOUT,
                            kernel_name="python3", allow_errors=False, extra_arguments=[KERNEL_NO_COLOR],
                            resources={"metadata": {"path": str(project.root)}})
    if on_step is not None:
        client.on_cell_executed = lambda cell, **_: [on_step(r) for r in step_records(cell)]
    error = None
    try:
        client.execute()
    except CellExecutionError as exc:
        error = one_line(f"{exc.ename}: {exc.evalue}" if exc.ename else str(exc).strip().splitlines()[-1]) or "cell failed"
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
