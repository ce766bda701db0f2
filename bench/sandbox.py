"""A sandbox cluster in a temporary state folder, reusing the cached Wine template."""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from .common import REPO, TEMPLATE_CACHE, log, temp_dir


@contextmanager
def sandbox_state():
    """Set RUNBOOK_STATE to a temp dir whose sandbox/templates links to the cached templates;
    on exit stop every node's wineserver and remove everything."""
    from runbook_engine.sandbox.cluster import destroy_cluster
    from runbook_engine.model.project import Project

    old = os.environ.get("RUNBOOK_STATE")
    with temp_dir("rb-bench-state-") as state:
        os.environ["RUNBOOK_STATE"] = str(state)
        TEMPLATE_CACHE.mkdir(parents=True, exist_ok=True)
        (state / "sandbox").mkdir(parents=True)
        (state / "sandbox" / "templates").symlink_to(TEMPLATE_CACHE, target_is_directory=True)
        try:
            yield state
        finally:
            try:
                destroy_cluster(Project(REPO))
            except Exception as exc:  # noqa: BLE001 - clean-up goes on
                log(f"sandbox clean-up: {exc}")
            (state / "sandbox" / "templates").unlink(missing_ok=True)
            if old is None:
                os.environ.pop("RUNBOOK_STATE", None)
            else:
                os.environ["RUNBOOK_STATE"] = old


def fresh_cluster(project, nodes: int) -> Path:
    from runbook_engine.sandbox.cluster import create_cluster

    return create_cluster(project, project.knowledge, nodes=nodes, dns=False, fresh=True)


def node_prefix(state: Path, name: str) -> Path:
    return state / "sandbox" / "nodes" / name


def node_steps(project) -> list[str]:
    from runbook_engine.engine.actions import step_scope
    from runbook_engine.engine.runner import automated_steps

    guide = project.knowledge.guides[project.knowledge.default_guide()]
    # installed-scripts checks what the operator's delivery of the cluster configuration put on
    # each node (runbook sandbox deliver stands in for it): the bench times the engine, not that
    return [s.id for s in automated_steps(guide) if step_scope(s).on_nodes
            and s.action != "installed-scripts"]
