"""Fixture ``linux_node``: a real systemd booted by ``systemd-nspawn`` in a network namespace of
its own, reached by the engine's ``nspawn`` transport (``nsenter`` into its PID 1).

The container runs on the host's /usr over a tmpfs root (``--volatile=yes``: nothing it writes
outlives it, no image to fetch), boots in about two seconds and is a real Linux node: systemd as
PID 1, real unit files, real file modes, nftables rules enforced in its network namespace. A
second namespace joined to it by a veth pair (10.77.0.1/24 in the node, 10.77.0.2/24 in the
probe) connects to it from outside: ``probe_tcp`` / ``probe_udp``.

Teardown: SIGTERM to systemd-nspawn (the container powers off), then SIGKILL of its process group
and of the container's PID 1 if anything is left, then the namespaces are deleted.

This stands in for the Linux sandbox (``runbook sandbox create --platform linux``): once that
exists, this module is the one place to swap.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from plugins.components import require, require_executable

NODE_ADDRESS, PROBE_ADDRESS = "10.77.0.1", "10.77.0.2"
BOOT_TIMEOUT = 60.0

_LISTENER = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
for spec in sys.argv[1:]:
    proto, port = spec.split("/")
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    if proto == "tcp":
        s.listen(16)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, proto)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        try:
            if key.data == "tcp":
                conn, _ = s.accept()
                conn.close()
            else:
                data, peer = s.recvfrom(512)
                s.sendto(b"pong", peer)
        except OSError:
            pass
"""

_PROBE = r"""
import socket, sys
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    if proto == "tcp":
        socket.create_connection((host, port), timeout=3).close()
        print("accepted")
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.connect((host, port))
        s.send(b"ping")
        print("accepted" if s.recv(16) == b"pong" else "garbled")
except ConnectionRefusedError:
    print("refused")
except (socket.timeout, TimeoutError):
    print("timeout")
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@dataclass
class LinuxNode:
    """A booted container: its name, machine folder (with ``leader``), namespaces and processes."""

    name: str
    machine: Path
    netns: str
    probe_netns: str
    proc: subprocess.Popen
    leader: int
    boot_seconds: float = 0.0
    listeners: list = field(default_factory=list)

    def transport(self):
        from runbook_engine.engine.transports.nspawn import NspawnTransport

        return NspawnTransport(self.name, machine=self.machine)

    def sh(self, *commands: str) -> list:
        """Run *commands* in the container (one batch); their results."""
        with self.transport() as t:
            return t.run(list(commands)).results

    def listen(self, *specs: str) -> None:
        """Listen in the node's network namespace on each ``tcp/PORT`` or ``udp/PORT`` (a UDP
        listener answers ``pong``) until teardown."""
        p = subprocess.Popen(["ip", "netns", "exec", self.netns, sys.executable, "-c", _LISTENER, *specs],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.listeners.append(p)
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"listener did not start: {p.stderr.read()[:500]}")

    def probe(self, proto: str, port: int) -> str:
        """``accepted``, ``refused`` (TCP reset, ICMP port unreachable) or ``timeout``, as seen from
        the probe namespace."""
        out = subprocess.run(["ip", "netns", "exec", self.probe_netns, sys.executable, "-c", _PROBE, proto,
                              NODE_ADDRESS, str(port)], capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or out.stderr.strip()[-300:]


def boot(machine: Path, name: str = "lx1") -> LinuxNode:
    """Boot a container with its machine folder *machine* (``leader`` is written there)."""
    require(os.geteuid() == 0, "systemd-nspawn and network namespaces need root")
    require_executable("systemd-nspawn", "systemd-container")
    require_executable("nsenter", "util-linux")
    require_executable("nft", "nftables")
    require_executable("ip", "iproute2")
    tag = secrets.token_hex(3)
    netns, probe = f"rbtest-{tag}", f"rbprobe-{tag}"
    machine.mkdir(parents=True, exist_ok=True)
    _ip("netns", "add", netns)
    _ip("netns", "add", probe)
    node: LinuxNode | None = None
    log = open(machine / "nspawn.log", "wb")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        ["systemd-nspawn", "-q", "-D", "/", "--volatile=yes", "--keep-unit", "--register=no",
         f"--network-namespace-path=/run/netns/{netns}", "-b", "--", "systemd.firstboot=off"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    try:
        leader = None
        while leader is None:
            if proc.poll() is not None or time.monotonic() - t0 > BOOT_TIMEOUT:
                raise RuntimeError(f"systemd-nspawn did not start a systemd: {(machine / 'nspawn.log').read_text()[-2000:]}")
            leader = next((c for c in _children(proc.pid) if _comm(c) == "systemd"), None)
            time.sleep(0.02)
        (machine / "leader").write_text(f"{leader}\n")
        node = LinuxNode(name, machine, netns, probe, proc, leader)
        # `degraded` (console and getty units) is a booted system too: wait for the end of the boot
        # (until systemd listens on its bus, systemctl answers nothing)
        while True:
            res = node.sh("systemctl is-system-running --wait")[0]
            if res.stdout.strip() in ("running", "degraded"):
                break
            if time.monotonic() - t0 > BOOT_TIMEOUT:
                raise RuntimeError(f"the container did not boot: {res.stdout!r} (rc {res.rc})")
            time.sleep(0.1)
        node.boot_seconds = time.monotonic() - t0
        veth, peer = f"rbv{tag}", f"rbp{tag}"
        _ip("link", "add", veth, "type", "veth", "peer", "name", peer)
        _ip("link", "set", veth, "netns", netns)
        _ip("link", "set", peer, "netns", probe)
        for ns, dev, addr in ((netns, veth, NODE_ADDRESS), (probe, peer, PROBE_ADDRESS)):
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        return node
    except BaseException:
        stop(node or LinuxNode(name, machine, netns, probe, proc, 0))
        raise


def stop(node: LinuxNode) -> None:
    """Power the container off (SIGTERM to nspawn), kill what is left, delete the namespaces."""
    for p in node.listeners:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
    if node.proc.poll() is None:
        node.proc.send_signal(signal.SIGTERM)
        try:
            node.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    for kill in (lambda: os.killpg(node.proc.pid, signal.SIGKILL),
                 lambda: node.leader and _comm(node.leader) == "systemd" and os.kill(node.leader, signal.SIGKILL)):
        try:
            kill()
        except ProcessLookupError:
            pass
    node.proc.wait()
    for ns in (node.netns, node.probe_netns):
        subprocess.run(["ip", "netns", "delete", ns], capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def linux_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LinuxNode]:
    """One booted container for the module's tests."""
    node = boot(tmp_path_factory.mktemp("nspawn") / "lx1")
    try:
        yield node
    finally:
        stop(node)
