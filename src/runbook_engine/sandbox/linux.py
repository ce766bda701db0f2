"""The sandbox's Linux nodes: real systemd in ``systemd-nspawn`` containers, each in a network
namespace of its own on a bridge, shaped like a freshly installed node of a Linux guide.

A node is the host's own ``/usr`` under a tmpfs root (``--volatile=yes``: no image to download,
nothing the container writes reaches the host) with:

* its own ``/etc``: a copy of the host's, without the host's enabled units (the node boots only
  what a guide node runs), with its own machine id (so systemd does not apply presets as on a
  first boot), host name and an ``os-release`` naming the newest release the guide supports (the
  Wine nodes do the same with ProductName): a node passes the guide's own preflight;
* the guide's units (its services.yaml) as stand-ins, enabled and running as a fresh installation
  of the product leaves them; a stand-in listens on the guide's application ports;
* ``clusterpro-sandbox.service``, a stand-in for CLUSTERPRO's daemons listening on the family's
  incoming TCP ports for the guide's version (what the firewall step opens);
* the guide's mirror or shared disk partitions under the guide's device names (``/dev/sdb1``,
  ``/dev/sdc1``): small images on loop devices, the data partition formatted with the guide's file
  system and mounted at its mount point on the node the failover group runs on (the first, or the
  active one), the cluster partition raw;
* stand-ins for CLUSTERPRO's commands in ``/usr/local/sbin`` (``clplogcmd`` writes to the journal;
  ``clpgrp -n <group>`` answers the active server in the operation phase) and for the programs the
  guide's scripts call that this machine lacks (``/usr/pgsql-15/bin/pg_ctl``: logs, exits 0), in a
  read-only overlay over the host's ``/usr``.

Networking: one namespace holds a bridge; each node's namespace has a veth on it with the node's
address (192.0.2.0/24, TEST-NET-1, never routed), and a probe namespace on the same bridge lets tests
connect to a node from outside it. Names carry a tag derived from the sandbox folder, so two
projects' sandboxes never collide. :func:`destroy_nodes` stops the containers, unmounts and
removes the namespaces: nothing is left behind.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from runbook_engine.model.schema import Guide, KnowledgeBase
from runbook_engine.artifacts.files import write_atomic
from runbook_engine.engine.actions.preflightlinux import script_programs
from runbook_engine.engine.transports.nspawn import LEADER_FILE, NspawnTransport, leader_pid
from runbook_engine.engine.messages import Said
from runbook_engine.sandbox.wine import SandboxError

SUBNET = "192.0.2"
PROBE_HOST = 250  # the probe namespace's address: SUBNET.250
NODE_HOST0 = 11  # the first node's address: SUBNET.11
DATA_IMAGE_MB = 16
BOOT_TIMEOUT = 60.0
REQUIRED = ("systemd-nspawn", "nsenter", "ip", "nft", "mkfs.ext4", "losetup", "ssh-keygen")
STANDIN = "rb-standin"  # the listener program (a stand-in for a product's daemon), in /usr/local/sbin
CLUSTER_UNIT = "clusterpro-sandbox.service"


def missing_programs() -> list[str]:
    """What the Linux sandbox needs on this machine and does not find."""
    return [p for p in REQUIRED if shutil.which(p) is None]


def tag_of(root: Path) -> str:
    """A short tag for the namespaces and interfaces of the sandbox in *root*."""
    return hashlib.sha1(str(Path(root).resolve()).encode()).hexdigest()[:6]


@dataclass(frozen=True)
class Net:
    tag: str

    @property
    def bridge_ns(self) -> str:
        return f"rb{self.tag}-br"

    @property
    def probe_ns(self) -> str:
        return f"rb{self.tag}-probe"

    def node_ns(self, i: int) -> str:
        return f"rb{self.tag}-n{i}"

    def veth(self, i: int) -> tuple[str, str]:
        return f"rb{self.tag}{i}a", f"rb{self.tag}{i}b"  # (node side, bridge side), <= 15 characters

    def address(self, i: int) -> str:
        return f"{SUBNET}.{NODE_HOST0 + i}"

    @property
    def probe_address(self) -> str:
        return f"{SUBNET}.{PROBE_HOST}"


def _run(*argv: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess:
    res = subprocess.run(list(argv), capture_output=True, input=input)
    if check and res.returncode != 0:
        raise SandboxError(f"{' '.join(argv)} failed (rc {res.returncode}): "
                           f"{res.stderr.decode(errors='replace').strip()[:300]}")
    return res


def _namespaces() -> set[str]:
    out = _run("ip", "netns", "list", check=False).stdout.decode()
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def _netns_exec(ns: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return _run("ip", "netns", "exec", ns, *argv, check=check)


def create_network(net: Net, count: int) -> None:
    """The bridge namespace, the probe namespace and *count* node namespaces, wired."""
    _run("ip", "netns", "add", net.bridge_ns)
    _netns_exec(net.bridge_ns, "ip", "link", "add", "br0", "type", "bridge")
    _netns_exec(net.bridge_ns, "ip", "link", "set", "br0", "up")
    _netns_exec(net.bridge_ns, "ip", "link", "set", "lo", "up")
    ends = [(net.probe_ns, net.probe_address, f"rb{net.tag}pa", f"rb{net.tag}pb")]
    ends += [(net.node_ns(i), net.address(i), *net.veth(i)) for i in range(count)]
    for ns, address, inner, outer in ends:
        _run("ip", "netns", "add", ns)
        _run("ip", "link", "add", inner, "type", "veth", "peer", "name", outer)
        _run("ip", "link", "set", inner, "netns", ns)
        _run("ip", "link", "set", outer, "netns", net.bridge_ns)
        _netns_exec(net.bridge_ns, "ip", "link", "set", outer, "master", "br0")
        _netns_exec(net.bridge_ns, "ip", "link", "set", outer, "up")
        _netns_exec(ns, "ip", "link", "set", "lo", "up")
        _netns_exec(ns, "ip", "link", "set", inner, "name", "eth0")
        _netns_exec(ns, "ip", "addr", "add", f"{address}/24", "dev", "eth0")
        _netns_exec(ns, "ip", "link", "set", "eth0", "up")


def delete_network(net: Net) -> None:
    for ns in sorted(n for n in _namespaces() if n.startswith(f"rb{net.tag}-")):
        _run("ip", "netns", "del", ns, check=False)


# ---------------------------------------------------------------------------------------------
# What a node holds
# ---------------------------------------------------------------------------------------------

STANDIN_PROGRAM = """#!/usr/bin/python3
# runbook sandbox: a stand-in for a product's daemon. Listens on the TCP ports given as arguments
# (every address), accepts and closes each connection.
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in sys.argv[1:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    s.listen(16)
    sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        conn, _ = key.fileobj.accept()
        conn.close()
"""

CLPLOGCMD = """#!/bin/sh
# runbook sandbox: a stand-in for CLUSTERPRO's clplogcmd (-m MESSAGE [-l LEVEL]): to the journal.
msg="" level=INFO
while [ $# -gt 0 ]; do
  case "$1" in
    -m) msg="$2"; shift 2 ;;
    -l) level="$2"; shift 2 ;;
    *) shift ;;
  esac
done
exec logger -t clplogcmd -- "[$level] $msg"
"""


def clpgrp_program(groups: dict[str, str]) -> str:
    """A stand-in for ``clpgrp -n GROUP``: prints the server the group is active on."""
    cases = "\n".join(f'    {g}) echo {server}; exit 0 ;;' for g, server in groups.items())
    return ("#!/bin/sh\n# runbook sandbox: a stand-in for CLUSTERPRO's clpgrp (-n GROUP only).\n"
            '[ "$1" = "-n" ] || { echo "clpgrp (sandbox): only -n GROUP" >&2; exit 1; }\n'
            f'case "$2" in\n{cases}\n    *) echo "group $2 not found" >&2; exit 1 ;;\nesac\n')


def program_standin(path: str) -> str:
    """A stand-in for a program of the guide's application: logs its arguments, exits 0."""
    return (f"#!/bin/sh\n# runbook sandbox: a stand-in for {path} (the application is not installed in the sandbox)\n"
            'logger -t runbook-standin -- "$0 $*"\nexit 0\n')


def unit_text(description: str, exec_start: str) -> str:
    return ("[Unit]\n"
            f"Description={description}\n"
            "After=network.target\n\n"
            "[Service]\n"
            f"ExecStart={exec_start}\n"
            "Restart=no\n\n"
            "[Install]\n"
            "WantedBy=multi-user.target\n")


def os_release(product: str) -> str:
    """An os-release naming *product* (``Red Hat Enterprise Linux 8.6``)."""
    m = re.match(r"^(.*?)\s+(\d+(?:\.\d+)*)$", product)
    name, version = (m.group(1), m.group(2)) if m else (product, "")
    return (f"# written by runbook sandbox: the node stands in for {product}\n"
            f'NAME="{name}"\nVERSION_ID="{version}"\nPRETTY_NAME="{product}"\nID="sandbox"\n')


def node_product(guide: Guide) -> str:
    """The newest operating system the guide names that its own OS patterns accept."""
    for product in reversed(guide.meta.environment.operating_systems):
        if any(re.search(p, product) for p in guide.meta.os_product_patterns):
            return product
    raise SandboxError(f"guide '{guide.id}': none of its operating systems matches its os_product_patterns")


def cluster_ports(kb: KnowledgeBase, guide: Guide) -> list[int]:
    """The family's incoming TCP ports for the guide's versions: what CLUSTERPRO listens on."""
    return sorted({p.port for p in kb.ports_for(guide)
                   if p.protocol == "tcp" and p.direction == "in" and kb.port_versions(guide, p)})


def app_ports(guide: Guide) -> list[int]:
    return sorted({p.port for p in guide.meta.app_ports if p.protocol == "tcp"})


def disks(guide: Guide) -> list[tuple[str, str | None, str | None]]:
    """(device, file system or None for a raw partition, mount point) of the guide's mirror and
    shared disks: their data partitions and cluster partitions."""
    out = []
    for r in guide.resources:
        if r.kind in ("md", "disk"):
            if r.data_partition and r.data_partition.startswith("/dev/"):
                out.append((r.data_partition, r.file_system or "ext4", r.mount_point))
            if r.cluster_partition and r.cluster_partition.startswith("/dev/"):
                out.append((r.cluster_partition, None, None))
    return out


def prepare_node(kb: KnowledgeBase, guide: Guide, home: Path, name: str, groups: dict[str, str] | None,
                 running: bool, ssh_key: Path | None = None) -> None:
    """The node's /etc, stand-in programs and units under *home* (a fresh folder). *running*:
    the guide's units start at boot (a fresh installation; False for a standby node in operation)."""
    etc = home / "etc"
    subprocess.run(["cp", "-a", "/etc", str(etc)], check=True)
    system = etc / "systemd" / "system"
    for wants in list(system.glob("*.wants")) + list(system.glob("*.requires")):
        shutil.rmtree(wants)
    for f in system.iterdir():
        if f.is_file() or f.is_symlink():
            f.unlink()  # the host's own unit files and aliases (sshd.service, bind9.service, …)
    (etc / "machine-id").write_text(uuid.uuid4().hex + "\n")
    (etc / "hostname").write_text(name + "\n")
    (etc / "os-release").unlink(missing_ok=True)
    (etc / "os-release").write_text(os_release(node_product(guide)))
    # a host identity of its own: never the host machine's SSH host keys
    for key in (etc / "ssh").glob("ssh_host_*"):
        key.unlink()
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(etc / "ssh" / "ssh_host_ed25519_key"))
    # programs over the host's /usr (an overlay, read-only): CLUSTERPRO's commands and the programs
    # the guide's scripts call where this machine has none (the application is not installed)
    usr = home / "usr"
    programs = {f"/usr/local/sbin/{STANDIN}": STANDIN_PROGRAM, "/usr/local/sbin/clplogcmd": CLPLOGCMD}
    if groups:
        programs["/usr/local/sbin/clpgrp"] = clpgrp_program(groups)
    for prog in script_programs(guide):
        if prog.startswith("/usr/") and not Path(prog).exists():
            programs[prog] = program_standin(prog)
    for prog, text in programs.items():
        path = usr / prog[len("/usr/"):]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o755)
    wants = system / "multi-user.target.wants"
    wants.mkdir()
    units = {CLUSTER_UNIT: unit_text("runbook sandbox: a stand-in for CLUSTERPRO's daemons",
                                     f"/usr/local/sbin/{STANDIN} " + " ".join(map(str, cluster_ports(kb, guide))))}
    for s in guide.services:
        units[s.service] = unit_text(f"runbook sandbox: a stand-in for {s.display_name}",
                                     f"/usr/local/sbin/{STANDIN} " + " ".join(map(str, app_ports(guide))))
    for unit, text in units.items():
        (system / unit).write_text(text)
        (wants / unit).symlink_to(f"/etc/systemd/system/{unit}")
    if ssh_key is not None:
        # OpenSSH's own unit; root logs in with the sandbox's key only
        (etc / "ssh" / "runbook_authorized_keys").write_text(ssh_key.with_suffix(".pub").read_text())
        (etc / "ssh" / "sshd_config.d" / "runbook-sandbox.conf").write_text(
            "# written by runbook sandbox\nAuthorizedKeysFile /etc/ssh/runbook_authorized_keys\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n")
        (wants / "ssh.service").symlink_to("/lib/systemd/system/ssh.service")
    if not running:
        stop = home / "stopped-units"
        stop.write_text("\n".join(s.service for s in guide.services) + "\n")


def attach_disks(home: Path, guide: Guide) -> list[tuple[str, str]]:
    """A loop device per partition of the guide's disks (a small image file; the data partition
    formatted with the guide's file system, the cluster partition left raw, as the guide says);
    returns (loop device, the guide's device name) to bind into the container."""
    binds = []
    for i, (device, fs, _mount) in enumerate(disks(guide)):
        image = home / f"disk{i}.img"
        with open(image, "wb") as fh:
            fh.truncate(DATA_IMAGE_MB * 1024 * 1024)
        if fs:
            _run(f"mkfs.{fs}", "-q", "-F", str(image))
        loop = _run("losetup", "--find", "--show", str(image)).stdout.decode().strip()
        (home / f"disk{i}.loop").write_text(loop + "\n")
        binds.append((loop, device))
    return binds


def mount_commands(guide: Guide, here: bool) -> list[str]:
    """The mount points made on every node (as the operator does before the cluster is built), and
    where the failover group runs (*here*), what its disk resource does: mount the data partitions."""
    from runbook_engine.engine.transports.posix import q

    return [f"mkdir -p {q(m, 'posix-path')}" + (f" && mount {q(d, 'device')} {q(m, 'posix-path')}" if here else "")
            for d, fs, m in disks(guide) if fs and m]


# ---------------------------------------------------------------------------------------------
# Boot and stop
# ---------------------------------------------------------------------------------------------

def boot(home: Path, name: str, ns: str, binds: list[tuple[str, str]]) -> subprocess.Popen:
    argv = ["systemd-nspawn", "-q", "-D", "/", "--volatile=yes", "--keep-unit", "--register=no",
            f"--network-namespace-path=/run/netns/{ns}", f"--machine={name}",
            f"--bind={home / 'etc'}:/etc", f"--overlay-ro=/usr:{home / 'usr'}:/usr",
            # root in the container manages its own network namespace's firewall, as root on a real
            # node does (nspawn drops CAP_NET_ADMIN by default: nft over SSH would be refused)
            "--capability=CAP_NET_ADMIN"]
    argv += [f"--bind={src}:{dest}" for src, dest in binds]  # a device node: nspawn allows its use
    argv += ["-b", "--", "systemd.firstboot=off"]
    log = open(home / "console.log", "wb")
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        log.close()
    write_atomic(home / "nspawn.pid", str(proc.pid).encode())
    return proc


def _container_leader(nspawn_pid: int) -> int | None:
    try:
        children = Path(f"/proc/{nspawn_pid}/task/{nspawn_pid}/children").read_text().split()
    except OSError:
        return None
    for c in children:
        try:
            if Path(f"/proc/{c}/comm").read_text().strip() == "systemd":
                return int(c)
        except OSError:
            continue
    return None


def wait_ready(home: Path, name: str, proc: subprocess.Popen, deadline: float, started: float,
               mounts: list[str] | None = None) -> float:
    """Wait until the container's systemd has finished booting; returns the seconds since
    *started* (``time.perf_counter()`` when nspawn was started)."""
    t0 = started
    while True:
        if proc.poll() is not None:
            log = (home / "console.log").read_text(errors="replace")[-600:]
            raise SandboxError(f"node {name}: systemd-nspawn exited with {proc.returncode}: {log}")
        pid = _container_leader(proc.pid)
        if pid is not None:
            break
        if time.monotonic() > deadline:
            raise SandboxError(f"node {name}: no systemd in the container after {BOOT_TIMEOUT:.0f} s")
        time.sleep(0.05)
    write_atomic(home / LEADER_FILE, str(pid).encode())
    t = NspawnTransport(name, machine=home, timeout=max(1.0, deadline - time.monotonic()))
    stopped = (home / "stopped-units").read_text().split() if (home / "stopped-units").exists() else []
    # `--wait` returns once the boot has finished (running, or degraded when a unit failed); just
    # after PID 1 appears, systemctl cannot reach it yet and prints nothing: ask again
    while True:
        state = t.run(["systemctl is-system-running --wait"]).results[0].stdout.strip()
        if state or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if state != "running":
        failed = t.run(["systemctl --failed --no-legend --plain"]).results[0].stdout.strip()
        raise SandboxError(f"node {name}: systemd says '{state}' after boot: {failed[:300]}")
    cmds = [f"systemctl stop -- {u}" for u in stopped] + list(mounts or [])
    res = t.run(cmds).results if cmds else []
    bad = [r for r in res if r.rc != 0]
    if bad:
        raise SandboxError(f"node {name}: {bad[0].command} failed (rc {bad[0].rc}): {bad[0].stdout[:200]}")
    return time.perf_counter() - t0


def stop_nodes(homes: list[Path]) -> None:
    """Stop the containers (systemd shuts down on SIGTERM to nspawn: all at once, then wait;
    SIGKILL after 10 s), unmount their data images."""
    pids = []
    for home in homes:
        try:
            pid = int((home / "nspawn.pid").read_text())
        except (OSError, ValueError):
            continue
        if _is_nspawn(pid):
            try:
                os.kill(pid, signal.SIGTERM)
                pids.append(pid)
            except ProcessLookupError:
                pass
    end = time.monotonic() + 10
    while any(Path(f"/proc/{p}").exists() for p in pids) and time.monotonic() < end:
        for p in pids:
            _reap(p)
        time.sleep(0.05)
    for p in pids:
        if Path(f"/proc/{p}").exists():
            try:
                os.killpg(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
            time.sleep(0.2)
            _reap(p)
    for home in homes:
        for marker in sorted(home.glob("disk*.loop")):
            loop = marker.read_text().strip()
            if loop.startswith("/dev/loop"):
                _run("losetup", "-d", loop, check=False)
            marker.unlink()


def _is_nspawn(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "systemd-nspawn"
    except OSError:
        return False


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


# ---------------------------------------------------------------------------------------------
# The nodes of a sandbox
# ---------------------------------------------------------------------------------------------

def nodes_root(root: Path) -> Path:
    return Path(root) / "linux"


def create_nodes(root: Path, kb: KnowledgeBase, guide: Guide, names: list[str], *,
                 active: str | None = None, group: str = "failover1", ssh: bool = False,
                 progress=lambda said: None) -> dict[str, dict]:
    """Boot a container per name (after removing any earlier Linux sandbox in *root*); returns per
    node its inventory entries (machine folder, address) and its boot time. *active*: the
    operation phase, the group active there (the guide's units stopped on the other nodes).
    *ssh*: every node also runs OpenSSH's sshd on port 22 of its address, root logging in with
    the key ``linux/id_ed25519``, its host key listed in ``linux/known_hosts`` (reachable from the
    probe namespace: ``ip netns exec <probe> ...``)."""
    missing = missing_programs()
    if missing:
        raise SandboxError(f"the Linux sandbox needs {', '.join(missing)} (Debian: systemd-container, "
                           "nftables, iproute2, e2fsprogs)")
    if os.geteuid() != 0:
        raise SandboxError("the Linux sandbox boots containers and creates network namespaces: run as root")
    destroy_nodes(root)
    net = Net(tag_of(root))
    base = nodes_root(root)
    base.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict] = {}
    procs = {}
    try:
        create_network(net, len(names))
        groups = {group: active} if active else None
        key = None
        if ssh:
            key = base / "id_ed25519"
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "runbook-sandbox", "-f", str(key))
        known = []
        for i, name in enumerate(names):
            home = base / name
            home.mkdir()
            prepare_node(kb, guide, home, name, groups, running=active is None or name == active, ssh_key=key)
            pub = (home / "etc" / "ssh" / "ssh_host_ed25519_key.pub").read_text().split()
            known.append(f"{net.address(i)} {pub[0]} {pub[1]}\n")
            binds = attach_disks(home, guide)
            procs[name] = (home, boot(home, name, net.node_ns(i), binds), time.perf_counter())
            out[name] = {"machine": str(home), "ip": net.address(i), "namespace": net.node_ns(i)}
        deadline = time.monotonic() + BOOT_TIMEOUT
        for name, (home, proc, started) in procs.items():
            # the group's disks are mounted where it runs: the active node, or the first one
            here = name == (active or names[0])
            out[name]["boot_seconds"] = round(wait_ready(home, name, proc, deadline, started,
                                                         mount_commands(guide, here)), 2)
            progress(Said.of("sandbox-node-running", node=name, seconds=out[name]["boot_seconds"]))
    except BaseException:
        destroy_nodes(root)
        raise
    write_atomic(base / "known_hosts", "".join(known).encode())
    write_atomic(base / "network", f"{net.tag}\n{len(names)}\n".encode())
    return out


def destroy_nodes(root: Path) -> None:
    """Stop every container of the Linux sandbox in *root*, unmount, delete its namespaces and
    folders."""
    base = nodes_root(root)
    if base.is_dir():
        stop_nodes(sorted(p for p in base.iterdir() if p.is_dir()))
        shutil.rmtree(base, ignore_errors=True)
    delete_network(Net(tag_of(root)))


def probe_namespace(root: Path) -> str:
    """The network namespace on the nodes' bridge that is no node: where to reach them from."""
    return Net(tag_of(root)).probe_ns


def probe(root: Path, address: str, port: int, timeout: float = 2.0) -> str:
    """Connect from the probe namespace to *address*:*port*: ``open`` (accepted), ``refused``
    (reset or ICMP unreachable) or ``filtered`` (no answer within *timeout*)."""
    net = Net(tag_of(root))
    code = ("import socket,sys\n"
            "s=socket.socket(); s.settimeout(float(sys.argv[3]))\n"
            "try:\n s.connect((sys.argv[1], int(sys.argv[2]))); print('open')\n"
            "except ConnectionRefusedError: print('refused')\n"
            "except OSError as e: print('filtered' if isinstance(e, TimeoutError) else 'refused')\n")
    res = _netns_exec(net.probe_ns, "python3", "-c", code, address, str(port), str(timeout), check=False)
    return res.stdout.decode().strip() or f"error: {res.stderr.decode(errors='replace').strip()[:200]}"


def leftovers(root: Path) -> list[str]:
    """What a destroyed sandbox would have left: namespaces, mounts, processes (for tests)."""
    net = Net(tag_of(root))
    found = [f"netns {n}" for n in _namespaces() if n.startswith(f"rb{net.tag}-")]
    base = str(nodes_root(root))
    with open("/proc/mounts") as fh:
        found += [f"mount {line.split()[1]}" for line in fh if line.split()[1].startswith(base)]
    loops = _run("losetup", "-n", "-O", "NAME,BACK-FILE", "-l", check=False).stdout.decode()
    found += [f"loop {line.split()[0]}" for line in loops.splitlines() if base in line]
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "systemd-nspawn" in cmd and base in cmd:
                found.append(f"process {p.name}: {cmd[:120]}")
    return found


__all__ = ["create_nodes", "destroy_nodes", "leader_pid", "leftovers", "probe"]
