"""The embedded sandbox cluster: Wine nodes shaped like freshly installed nodes of a guide
(its services registered with AUTOMATIC start, its registry keys present, a cluster configuration
folder on the first node), a BIND server standing in for the active and standby DNS, and the
inventory that ties them together. It is the default target when no inventory is given.

:func:`deliver_configuration` stands in for the operator's delivery of the cluster configuration
(Builder, Cluster WebUI or ``clpcfctrl --push`` on a real cluster): it copies the configuration
folder's ``scripts`` tree to every node's CLUSTERPRO folder, as a delivery does.

``phase="operation"`` shapes a cluster in operation instead: CLUSTERPRO "installed" on every node
(``clpgrp.exe`` reporting the failover group :data:`SANDBOX_GROUP` active on *active*), the
guide's monitored services running on the active node (start type as a fresh installation left
it: auto) and stopped on the standby nodes, and ``cluster_state`` in the inventory. The default
(``install``) is the fresh installation: no clpgrp, every service auto and running.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import yaml

from runbook_engine.model.project import Project
from runbook_engine.model.schema import Guide, KnowledgeBase
from runbook_engine.artifacts.files import write_atomic
from runbook_engine.sandbox.linux import create_nodes, destroy_nodes, leader_pid, nodes_root, probe_namespace
from runbook_engine.sandbox.named import NamedError, start_named
from runbook_engine.engine.actions.preflight import data_drive_of
from runbook_engine.engine.actions.scripts import clusterpro_dir
from runbook_engine.engine.cmdline import arg
from runbook_engine.engine.messages import Said
from runbook_engine.engine.transports.wine import WineTransport
from runbook_engine.engine.transports.wineprefix import windows_to_unix
from runbook_engine.sandbox.wine import PRODUCT_NAMES, SERVER_IMAGES, NodeImage, SandboxError, create_sandbox, destroy_sandbox, install_clusterpro

TSIG_KEY_FILE = "tsig.secret"  # the sandbox's TSIG key file, in <sandbox>/dns/ (mode 0600)
SANDBOX_FIP = {"address": "192.0.2.10", "domain": "example.test", "mx_preference": 10}  # host name: the guide id
FORWARD_ZONE = "example.test."
REVERSE_ZONE = "2.0.192.in-addr.arpa."
SANDBOX_GROUP = "failover1"
SANDBOX_CONFIGURATION = "C:\\clusterpro-config"
SANDBOX_CONFIGURATION_LINUX = "/root/clusterpro-config"  # the same on a Linux node  # the sandbox's configuration folder (clp.conf's) on the first node
SANDBOX_RESOURCE_NAMES = {"script": "script1"}  # the cluster's names for the guide's resources, by kind
PHASES = ("install", "operation")


def server_image(guide: Guide) -> tuple[str, str]:
    """The newest Windows Server release the guide supports (its os_product_patterns), so that a
    sandbox node passes the guide's own preflight check."""
    fits = [img for img in SERVER_IMAGES if any(re.search(p, img[1]) for p in guide.meta.os_product_patterns)]
    if not fits:
        raise SandboxError(f"guide '{guide.id}' supports no Windows release the sandbox can show "
                           f"(its OS patterns: {', '.join(guide.meta.os_product_patterns)})")
    return fits[-1]


def image_for(guide: Guide) -> NodeImage:
    """A node as the guide's installation leaves it before the engine runs: every service the
    guide knows registered with automatic start, the registry keys present, the configuration
    folder, and the newest Windows release the guide supports."""
    version, product = server_image(guide)
    return NodeImage(
        services=[(s.service, s.display_name) for s in guide.services],
        registry_keys=[(r.key, {"SandboxNote": "created by runbook sandbox create"})
                       for r in guide.resources if r.kind == "registry" and r.key],
        windows_version=version,
        product_name=None if PRODUCT_NAMES.get(version) == product else product,  # (the same image digest as before)
        dirs=[SANDBOX_CONFIGURATION],
        drives=[d for d in [data_drive_of(guide)] if d != "C:"],
    )


def sandbox_root(project: Project) -> Path:
    return project.state / "sandbox"


def node_names(guide: Guide, nodes: int | None = None) -> list[str]:
    """The sandbox's node names: the first *nodes* of the guide's topology (default: all of them)."""
    ids = [n.id for n in guide.meta.topology.nodes]
    if nodes is None:
        return ids
    if not 1 <= nodes <= len(ids):
        raise ValueError(f"guide '{guide.id}' has {len(ids)} nodes in its topology: a sandbox has 1 to {len(ids)}")
    return ids[:nodes]


def create_cluster(project: Project, kb: KnowledgeBase, *, nodes: int | None = None, guide_id: str | None = None,
                   dns: bool = True, fresh: bool = False, phase: str = "install",
                   active: str | None = None, progress=lambda said: None, transport: str | None = None) -> Path:
    """Create (or refresh) the sandbox and write its inventory; returns the inventory path.

    The nodes are the guide's topology nodes (the first *nodes* of them); the FIP's host name is
    the guide id. Default guide: kb/site.yaml's default_guide. *phase* ``operation``: see the module's text
    (*active* defaults to the first node). *progress* hears each node as it is ready and the DNS
    servers, as :class:`Said` lines the command line words."""
    guide_id = guide_id or kb.default_guide()
    guide = kb.guides[guide_id]
    root = sandbox_root(project)
    names = node_names(guide, nodes)
    if phase not in PHASES:
        raise ValueError(f"unknown phase '{phase}' (known: {', '.join(PHASES)})")
    if phase == "operation":
        active = active or names[0]
        if active not in names:
            raise ValueError(f"--active {active}: not a sandbox node (nodes: {', '.join(names)})")
    elif active:
        raise ValueError("--active is for the operation phase (--phase operation)")
    if kb.family_of(guide).os == "linux":
        return _create_linux(root, kb, guide, names, phase=phase, active=active, progress=progress,
                             ssh=transport == "ssh")
    if transport not in (None, "wine"):
        raise ValueError(f"the Windows sandbox's nodes are Wine prefixes: no --transport {transport}")
    destroy_nodes(root)  # a Linux sandbox before this one
    started = time.perf_counter()
    prefixes = create_sandbox(root, image_for(guide), names, fresh=fresh)
    for n in names:
        install_clusterpro(root, prefixes[n], {SANDBOX_GROUP: active} if phase == "operation" else None)
        progress(Said.of("sandbox-node-wine", node=n, seconds=round(time.perf_counter() - started, 2)))
    if phase == "operation":
        _stop_on_standby(guide, {n: prefixes[n] for n in names if n != active})
    inventory = windows_inventory(guide, names, {n: str(p) for n, p in prefixes.items()}, phase=phase, active=active)
    if dns and guide.dns is not None:  # (a guide without DNS records needs no DNS servers)
        try:
            inventory["dns"] = _start_dns(root)
            progress(Said.of("sandbox-dns", n=len(inventory["dns"])))
        except NamedError as exc:
            progress(Said.of("sandbox-no-dns", error=str(exc)))
    text = "# written by `runbook sandbox create`: the embedded Wine sandbox cluster\n" + yaml.safe_dump(
        inventory, sort_keys=False, allow_unicode=True)
    return write_atomic(root / "inventory.yaml", text.encode("utf-8"))


def windows_inventory(guide: Guide, names: list[str], prefixes: dict[str, str], *, phase: str = "install",
                      active: str | None = None) -> dict:
    """The Wine sandbox's inventory (without DNS servers) for *guide*: *names* are its nodes, each a
    Wine prefix of *prefixes*; see :func:`create_cluster`."""
    inventory: dict = {
        "cluster": "sandbox",
        "guide": guide.id,
        "fip": {"address": SANDBOX_FIP["address"], "hostname": guide.id, **SANDBOX_FIP},
        "nodes": [{"name": n, "transport": "wine", "lang": "ja", "hostname": n,
                   "ip": f"192.0.2.{10 + i}", "prefix": prefixes[n]}
                  for i, n in enumerate(names, start=1)],
        "dns": [],
    }
    inventory["cluster_state"] = ({"phase": "operation", "group": SANDBOX_GROUP, "active": active}
                                  if phase == "operation" else {"phase": "install", "group": SANDBOX_GROUP})
    inventory["configuration"] = {
        "node": names[0], "folder": SANDBOX_CONFIGURATION,
        "resources": {r.id: SANDBOX_RESOURCE_NAMES[r.kind] for r in guide.resources if r.kind in SANDBOX_RESOURCE_NAMES}}
    return inventory


def resource_names(guide: Guide) -> dict[str, str]:
    """The cluster's names for the guide's resources the engine writes to: the guide's own
    ``cluster_name``, else the sandbox's name for the kind."""
    return {r.id: r.cluster_name or SANDBOX_RESOURCE_NAMES[r.kind] for r in guide.resources
            if r.kind in ("script", "exec") and (r.cluster_name or r.kind in SANDBOX_RESOURCE_NAMES)}


def _create_linux(root: Path, kb: KnowledgeBase, guide: Guide, names: list[str], *, phase: str,
                  active: str | None, progress, ssh: bool = False) -> Path:
    """The Linux sandbox: a systemd-nspawn container per node (sandbox/linux.py) and its inventory.
    The engine enters the containers' namespaces (transport nspawn), or with *ssh* logs in to
    each node's sshd (transport ssh-posix; from the sandbox's probe namespace, the only place
    the nodes' network is reachable from)."""
    destroy_sandbox(root)  # a Wine sandbox before this one
    nodes = create_nodes(root, kb, guide, names, active=active if phase == "operation" else None,
                         group=SANDBOX_GROUP, ssh=ssh, progress=progress)
    base = nodes_root(root)

    def reach(n: str) -> dict:
        if not ssh:
            return {"transport": "nspawn", "machine": nodes[n]["machine"]}
        return {"transport": "ssh-posix", "host": nodes[n]["ip"], "user": "root",
                "key": str(base / "id_ed25519"), "known_hosts": str(base / "known_hosts")}

    inventory: dict = {
        "cluster": "sandbox",
        "guide": guide.id,
        "platform": "linux",
        "nodes": [{"name": n, **reach(n), "lang": "ja", "hostname": n, "ip": nodes[n]["ip"]} for n in names],
        "dns": [],
    }
    inventory["cluster_state"] = ({"phase": "operation", "group": SANDBOX_GROUP, "active": active}
                                  if phase == "operation" else {"phase": "install", "group": SANDBOX_GROUP})
    inventory["configuration"] = {"node": names[0], "folder": SANDBOX_CONFIGURATION_LINUX,
                                  "resources": resource_names(guide)}
    where = (f"# reach the nodes from the sandbox's probe namespace: ip netns exec {probe_namespace(root)} runbook ...\n"
             if ssh else "")
    text = ("# written by `runbook sandbox create`: the embedded Linux sandbox cluster (systemd-nspawn)\n" + where
            + yaml.safe_dump(inventory, sort_keys=False, allow_unicode=True))
    return write_atomic(root / "inventory.yaml", text.encode("utf-8"))


def deliver_configuration(kb: KnowledgeBase, inventory) -> list[Path]:
    """What delivering the cluster configuration does to the scripts, on the sandbox's nodes:
    the configuration folder's ``scripts`` tree (on the configuration node) copied to every
    node's CLUSTERPRO folder, replacing what was there. Returns the files written (host paths)."""
    guide = kb.guides[inventory.guide]
    conf = kb.family_of(guide).configuration
    src_node = inventory.node(inventory.configuration_node)
    if not inventory.configuration.folder:
        raise SandboxError("the inventory names no configuration folder (configuration.folder)")
    top = conf.script_folder.split("\\")[0].split("/")[0]  # "scripts"
    src = _host_path(src_node, inventory.configuration.folder) / top
    if not src.is_dir():
        raise SandboxError(f"no {top} folder in the configuration folder on {src_node.name}: apply the scripts first")
    written = []
    for node in inventory.nodes:
        dest = _host_path(node, clusterpro_dir(kb, guide, node)) / top
        staging = dest.with_name(dest.name + ".rb-delivery")
        shutil.rmtree(staging, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, staging)
        shutil.rmtree(dest, ignore_errors=True)
        staging.rename(dest)
        written += sorted(p for p in dest.rglob("*") if p.is_file())
    return written


def _host_path(node, path: str) -> Path:
    """Where *path* of a sandbox node is on this machine: in its Wine prefix, or in its running
    container's root (``/proc/<PID 1>/root``)."""
    if node.transport == "wine":
        return windows_to_unix(node.options.prefix, path)
    if node.transport == "nspawn":
        pid = leader_pid(node.options.machine)
        if pid is None:
            raise SandboxError(f"node {node.name} is not running")
        return Path(f"/proc/{pid}/root") / path.lstrip("/")
    raise SandboxError(f"node {node.name} is not a sandbox node (transport {node.transport})")


def _stop_on_standby(guide: Guide, standby: dict[str, Path]) -> None:
    """The monitored services stopped on the standby nodes, as a cluster in operation has them
    (their start type stays as the installation left it: the engine's to change)."""
    cmds = [f"sc stop {arg(s.service, 'service')}" for s in guide.manual_services()]
    for name, prefix in standby.items():
        t = WineTransport(name, prefix=prefix)
        try:
            bad = [r for r in t.run(cmds).results if r.rc not in (0, 1062)]  # 1062: not started
        finally:
            t.close()
        if bad:
            raise SandboxError(f"stopping the services on standby node {name} failed: "
                               + "; ".join(f"{r.command} -> rc {r.rc}" for r in bad[:3]))


def _start_dns(root: Path) -> list[dict]:
    """Two named instances (active and standby DNS) sharing one TSIG key. The secret goes to a
    key file of mode 0600 in the sandbox folder, which the inventory names (``key_secret_file``,
    absolute like the nodes' prefixes): a plan or apply on the sandbox needs no variable exported."""
    servers = []
    secret_file = root / "dns" / TSIG_KEY_FILE
    secret = secret_file.read_text().strip() if secret_file.exists() else None
    for name in ("dns-active", "dns-standby"):
        work = root / "dns" / name
        port_file = work / "port"
        port = int(port_file.read_text()) if port_file.exists() else None
        srv = start_named(work, (FORWARD_ZONE, REVERSE_ZONE), "runbook-sandbox", port=port, secret=secret)
        write_atomic(port_file, str(srv.port).encode())
        if secret is None:
            secret = srv.secret
            old = os.umask(0o077)
            try:
                write_atomic(secret_file, secret.encode())
            finally:
                os.umask(old)
        os.chmod(secret_file, 0o600)  # the sandbox's own file: the engine takes a key file only its owner reads
        servers.append({"name": name, "server": srv.host, "port": srv.port, "key_name": srv.key_name,
                        "key_secret_file": str(secret_file), "forward_zone": FORWARD_ZONE,
                        "reverse_zone": REVERSE_ZONE})
    return servers


def destroy_cluster(project: Project) -> None:
    from runbook_engine.sandbox.named import stop_named

    root = sandbox_root(project)
    for name in ("dns-active", "dns-standby"):
        stop_named(root / "dns" / name)
    destroy_nodes(root)
    destroy_sandbox(root)


def tsig_secret(project: Project) -> str | None:
    f = sandbox_root(project) / "dns" / TSIG_KEY_FILE
    return f.read_text().strip() if f.exists() else None
