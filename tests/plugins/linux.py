"""Linux sandbox nodes for tests: real systemd in systemd-nspawn containers (sandbox/linux.py),
each in a network namespace of its own, created and destroyed by the fixture itself."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from plugins.cluster import REPO, Sandbox
from plugins.components import require, require_executable

PACKAGES = {"systemd-nspawn": "systemd-container", "nsenter": "util-linux", "nft": "nftables",
            "ip": "iproute2", "mkfs.ext4": "e2fsprogs"}


def make_linux_sandbox(state: Path, guide: str = "postgresql", nodes: int | None = 2, phase: str = "install",
                       active: str | None = None) -> Sandbox:
    for prog, pkg in PACKAGES.items():
        require_executable(prog, pkg)
    require(os.geteuid() == 0, "the Linux sandbox boots containers and creates network namespaces: needs root")
    from runbook_engine.model.project import Project
    from runbook_engine.sandbox.cluster import create_cluster

    project = Project(REPO, state_dir=state)
    inv = create_cluster(project, project.knowledge, nodes=nodes, guide_id=guide, phase=phase, active=active)
    return Sandbox(project=project, state=state, inventory=inv, secret="")


@pytest.fixture(scope="module")
def linux_sandbox(tmp_path_factory):
    from runbook_engine.sandbox.cluster import destroy_cluster

    sb = make_linux_sandbox(tmp_path_factory.mktemp("linux-state"))
    try:
        yield sb
    finally:
        destroy_cluster(sb.project)
