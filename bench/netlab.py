"""Two network namespaces made by the bench (client, server) joined by a veth pair with
192.0.2.1/30 (client) and 192.0.2.2/30 (server) — documentation addresses, only inside these
namespaces: no packet leaves them. In the server namespace every packet on the veth (both
directions) goes through NFQUEUE to nfq_delay.py, which holds it D ms: the round-trip time grows
by 2·D. An sshd runs in the server namespace with ForceCommand into Wine's cmd.exe (the
minimal launch logic of tests/plugins/sshd.py), on the prefix of a sandbox node."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from runbook_engine.sandbox.wine import force_command_script

from .common import PYTHON, log

CLIENT_IP, SERVER_IP = "192.0.2.1", "192.0.2.2"
SSH_PORT = 22

def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check, timeout=60)


def available() -> str | None:
    """None if namespaces + NFQUEUE can be used here, else why not."""
    if os.geteuid() != 0:
        return "not root"
    for exe in ("ip", "iptables-legacy", "/usr/sbin/sshd", "ssh-keygen"):
        if not shutil.which(exe):
            return f"{exe} not found"
    r = subprocess.run([str(PYTHON), "-c", "import netfilterqueue"], capture_output=True)
    if r.returncode != 0:
        return "Python package NetfilterQueue not installed in the venv"
    return None


class NetLab:
    def __init__(self, work: Path, prefix: Path, wine_env: dict[str, str]):
        tag = f"{os.getpid() % 100000}"
        self.ns_cli, self.ns_srv = f"rbbench-c-{tag}", f"rbbench-s-{tag}"
        self.if_cli, self.if_srv = f"rbbc{tag}", f"rbbs{tag}"
        self.qnum = 4000 + os.getpid() % 1000
        self.work = work
        self.prefix = prefix
        self.wine_env = wine_env
        self.ctl = work / "delay_ms"
        self.procs: list[subprocess.Popen] = []
        self.created: list[str] = []

    # -- lifetime ----------------------------------------------------------------------------
    def __enter__(self) -> "NetLab":
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs.clear()
        for ns in reversed(self.created):
            _run("ip", "netns", "pids", ns, check=False)
            _run("ip", "netns", "delete", ns, check=False)
        self.created.clear()

    # -- set-up ------------------------------------------------------------------------------
    def _setup(self) -> None:
        w = self.work
        for ns in (self.ns_cli, self.ns_srv):
            _run("ip", "netns", "add", ns)
            self.created.append(ns)
            _run("ip", "-n", ns, "link", "set", "lo", "up")
        _run("ip", "link", "add", self.if_cli, "netns", self.ns_cli, "type", "veth",
             "peer", "name", self.if_srv, "netns", self.ns_srv)
        _run("ip", "-n", self.ns_cli, "addr", "add", f"{CLIENT_IP}/30", "dev", self.if_cli)
        _run("ip", "-n", self.ns_srv, "addr", "add", f"{SERVER_IP}/30", "dev", self.if_srv)
        _run("ip", "-n", self.ns_cli, "link", "set", self.if_cli, "up")
        _run("ip", "-n", self.ns_srv, "link", "set", self.if_srv, "up")
        ex = ("ip", "netns", "exec", self.ns_srv)
        _run(*ex, "iptables-legacy", "-A", "OUTPUT", "-o", self.if_srv, "-j", "NFQUEUE",
             "--queue-num", str(self.qnum), "--queue-bypass")
        _run(*ex, "iptables-legacy", "-A", "INPUT", "-i", self.if_srv, "-j", "NFQUEUE",
             "--queue-num", str(self.qnum), "--queue-bypass")
        self.set_delay(0)
        nfq = subprocess.Popen([*ex, str(PYTHON), str(Path(__file__).with_name("nfq_delay.py")),
                                str(self.qnum), str(self.ctl)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=(w / "nfq.log").open("wb"), text=True)
        self.procs.append(nfq)
        if nfq.stdout.readline().strip() != "ready":
            raise RuntimeError(f"nfq_delay did not start: {(w / 'nfq.log').read_text()[-500:]}")
        self._start_sshd()

    def _start_sshd(self) -> None:
        w = self.work
        spool = w / "spool"
        spool.mkdir(exist_ok=True)
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
        self.host_key, self.client_key = w / "host_ed25519", w / "id_ed25519"
        for key, c in ((self.host_key, "rb-bench-host"), (self.client_key, "rb-bench-client")):
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", c, "-f", str(key))
        auth = w / "authorized_keys"
        shutil.copyfile(self.client_key.with_suffix(".pub"), auth)
        auth.chmod(0o600)
        pub = self.host_key.with_suffix(".pub").read_text().split()
        self.known_hosts = w / "known_hosts"
        self.known_hosts.write_text(f"{SERVER_IP} {pub[0]} {pub[1]}\n")
        wrapper = w / "force-command.sh"
        wrapper.write_text(force_command_script(self.wine_env, spool))
        wrapper.chmod(0o755)
        conf = w / "sshd_config"
        conf.write_text("\n".join([
            f"Port {SSH_PORT}", f"ListenAddress {SERVER_IP}", f"HostKey {self.host_key}", "PidFile none",
            "UsePAM no", "StrictModes no", "PermitRootLogin prohibit-password", "PubkeyAuthentication yes",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", f"AuthorizedKeysFile {auth}",
            "AllowTcpForwarding no", "X11Forwarding no", "PrintMotd no", "LogLevel ERROR",
            "MaxStartups 50", "MaxSessions 50", f"ForceCommand {wrapper}", ""]))
        sshd = subprocess.Popen(["ip", "netns", "exec", self.ns_srv, "/usr/sbin/sshd", "-D", "-e", "-f", str(conf)],
                                stdin=subprocess.DEVNULL, stdout=(w / "sshd.log").open("wb"),
                                stderr=subprocess.STDOUT)
        self.procs.append(sshd)
        deadline = time.monotonic() + 10
        while True:
            r = _run("ip", "netns", "exec", self.ns_cli, str(PYTHON), "-c",
                     f"import socket; socket.create_connection(('{SERVER_IP}', {SSH_PORT}), 1).close()", check=False)
            if r.returncode == 0:
                break
            if sshd.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not listen: {(w / 'sshd.log').read_text()[-500:]}")
            time.sleep(0.1)
        log(f"netlab: sshd on {SERVER_IP}:{SSH_PORT} in {self.ns_srv}, client namespace {self.ns_cli}")

    # -- use ---------------------------------------------------------------------------------
    def set_delay(self, ms: float) -> None:
        tmp = self.ctl.with_suffix(".tmp")
        tmp.write_text(str(ms))
        os.replace(tmp, self.ctl)
        time.sleep(0.3)  # the delay process re-reads it within its 0.2 s select timeout

    def client(self, *args: str) -> str:
        """Run ``python -m bench.ssh_client ARGS`` in the client namespace; its stdout."""
        r = subprocess.run(["ip", "netns", "exec", self.ns_cli, str(PYTHON), "-m", "bench.ssh_client",
                            "--host", SERVER_IP, "--port", str(SSH_PORT), "--key", str(self.client_key),
                            "--known-hosts", str(self.known_hosts), *args],
                           capture_output=True, text=True, timeout=900, cwd=Path(__file__).resolve().parents[1])
        if r.returncode != 0:
            raise RuntimeError(f"ssh_client failed: {r.stderr[-2000:]}")
        return r.stdout

    def ping_rtt(self) -> float:
        """Median TCP connect time client → server (s): one network round trip."""
        code = ("import socket,time,statistics as s;xs=[]\n"
                f"for _ in range(5):\n t=time.perf_counter();socket.create_connection(('{SERVER_IP}',{SSH_PORT}),5).close();xs.append(time.perf_counter()-t)\n"
                "print(s.median(xs))")
        r = _run("ip", "netns", "exec", self.ns_cli, str(PYTHON), "-c", code)
        return float(r.stdout.strip())
