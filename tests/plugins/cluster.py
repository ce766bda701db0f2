"""Fixture ``sandbox``: the embedded sandbox cluster (4 Wine nodes shaped by the SURFNAVI guide and
two BIND servers with TSIG), in a state folder of its own, for engine, notebook and proof tests.

The Wine template is cached across runs under .runbook/sandbox-test-cache/cluster-templates
(keyed by the image digest); nodes are cloned fresh per fixture instance.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from plugins.components import require_executable

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_CACHE = REPO / ".runbook" / "sandbox-test-cache" / "cluster-templates"


@dataclass
class Sandbox:
    project: object
    state: Path
    inventory: Path
    secret: str

    def inv(self):
        from runbook_engine.engine.inventory import load_inventory

        return load_inventory(self.inventory)

    def transport(self, node: str):
        from runbook_engine.engine.transports import open_transport

        return open_transport(self.inv().node(node))

    def deliver(self) -> list[Path]:
        """The operator's delivery of the cluster configuration, as the sandbox stands in for it."""
        from runbook_engine.sandbox.cluster import deliver_configuration

        return deliver_configuration(self.project.knowledge, self.inv())

    def script_path(self, node: str, name: str, where: str = "configuration", guide: str = "surfnavi") -> Path:
        """The host path of a generated script (START.BAT, STOP.BAT) on *node*: in the
        configuration folder, or where a delivery installs it (*where* ``"installed"``)."""
        from runbook_engine.engine.actions.scripts import script_paths
        from runbook_engine.engine.transports.wineprefix import windows_to_unix

        inv = self.inv()
        kb = self.project.knowledge
        win = script_paths(kb, kb.guides[guide], inv, inv.node(node), where)[name]
        return windows_to_unix(inv.node(node).options.prefix, win)


def make_sandbox(state: Path, nodes: int | None = 4, dns: bool = True, phase: str = "install",
                 active: str | None = None, guide: str | None = None) -> Sandbox:
    require_executable("wine", "wine")
    require_executable("x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64")
    if dns:
        require_executable("named", "bind9")
    from runbook_engine.sandbox.cluster import create_cluster, tsig_secret
    from runbook_engine.model.project import Project

    project = Project(REPO, state_dir=state)
    TEMPLATE_CACHE.mkdir(parents=True, exist_ok=True)
    (state / "sandbox").mkdir(parents=True, exist_ok=True)
    link = state / "sandbox" / "templates"
    if not link.exists():
        link.symlink_to(TEMPLATE_CACHE, target_is_directory=True)
    inv = create_cluster(project, project.knowledge, nodes=nodes, dns=dns, fresh=True, phase=phase, active=active,
                         guide_id=guide)
    # the inventory names the sandbox's own key file (key_secret_file): no variable to export
    secret = tsig_secret(project) or ""
    return Sandbox(project=project, state=state, inventory=inv, secret=secret)


def destroy(sb: Sandbox) -> None:
    from runbook_engine.sandbox.cluster import destroy_cluster

    destroy_cluster(sb.project)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    sb = make_sandbox(state)
    try:
        yield sb
    finally:
        destroy(sb)
        shutil.rmtree(state / "sandbox" / "nodes", ignore_errors=True)
