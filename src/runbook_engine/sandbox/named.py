"""A local BIND (``named``) on 127.0.0.1 that takes TSIG-signed updates: the sandbox's DNS server
(active and standby) and the tests' real DNS peer.

Zones hold data only; nothing leaves loopback. Each zone has
``update-policy { grant KEY zonesub ANY; };``: unsigned updates are REFUSED.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from runbook_engine.engine.transports.environ import node_environ


class NamedError(RuntimeError):
    pass


@dataclass(frozen=True)
class NamedServer:
    host: str
    port: int
    key_name: str
    secret: str
    algorithm: str
    zones: tuple[str, ...]
    workdir: Path
    pid: int

    def stop(self) -> None:
        stop_named(self.workdir)


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both TCP and UDP a moment ago."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind((host, port))
        except OSError:
            continue
        return port
    raise NamedError("no free port for named")


def _zone_text(zone: str, ns_zone: str) -> str:
    return (
        "$TTL 300\n"
        f"{zone} IN SOA ns.{ns_zone} hostmaster.{ns_zone} 1 3600 600 86400 300\n"
        f"{zone} IN NS ns.{ns_zone}\n"
        + (f"ns.{ns_zone} IN A 127.0.0.1\n" if zone == ns_zone else "")
    )


def wait_answering(host: str, port: int, zone: str, proc: subprocess.Popen | None, timeout: float) -> None:
    import dns.message
    import dns.query
    import dns.rcode

    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise NamedError(f"named exited with {proc.returncode} before answering")
        try:
            resp = dns.query.tcp(dns.message.make_query(zone, "SOA"), host, port=port, timeout=1)
            if resp.rcode() == dns.rcode.NOERROR and resp.answer:
                return
            last = dns.rcode.to_text(resp.rcode())
        except Exception as exc:  # noqa: BLE001 - keep polling until the deadline
            last = exc
        time.sleep(0.05)
    raise NamedError(f"named did not answer on {host}:{port} within {timeout} s: {last}")


def start_named(workdir: Path, zones: tuple[str, ...], key_name: str, *, host: str = "127.0.0.1",
                port: int | None = None, timeout: float = 15.0, secret: str | None = None) -> NamedServer:
    """Start ``named -g`` in *workdir* (fresh zone files), wait until it answers, return where it is.

    The first zone is the forward zone that holds the name server's own record.
    """
    named = shutil.which("named") or "/usr/sbin/named"
    keygen = shutil.which("tsig-keygen") or "/usr/sbin/tsig-keygen"
    if not Path(named).exists() or not Path(keygen).exists():
        raise NamedError("named / tsig-keygen not found (Debian packages bind9 and bind9-utils)")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    stop_named(workdir)
    if secret is None:
        key_conf = subprocess.run([keygen, "-a", "hmac-sha256", key_name], check=True,
                                  capture_output=True, text=True).stdout
        m = re.search(r'secret\s+"([^"]+)"', key_conf)
        if not m:
            raise NamedError("unexpected tsig-keygen output")
        secret = m.group(1)
    elif not re.fullmatch(r"[A-Za-z0-9+/=]{16,}", secret):
        raise NamedError("a TSIG secret must be base64")
    key_conf = f'key "{key_name}" {{\n    algorithm hmac-sha256;\n    secret "{secret}";\n}};\n'

    port = port or free_port(host)
    blocks = []
    for zone in zones:
        db = workdir / f"{zone.rstrip('.')}.db"
        db.write_text(_zone_text(zone, zones[0]))
        for j in workdir.glob(f"{zone.rstrip('.')}.db.jnl"):
            j.unlink()
        blocks.append(f'zone "{zone.rstrip(".")}" {{\n    type primary;\n    file "{db}";\n'
                      f"    update-policy {{ grant {key_name} zonesub ANY; }};\n}};\n")
    conf = workdir / "named.conf"
    old = os.umask(0o077)
    try:
        conf.write_text(
            key_conf + "options {\n"
            f'    directory "{workdir}";\n    pid-file "{workdir}/named.pid";\n'
            f'    session-keyfile "{workdir}/session.key";\n    managed-keys-directory "{workdir}";\n'
            f"    listen-on port {port} {{ {host}; }};\n    listen-on-v6 {{ none; }};\n"
            "    recursion no;\n    allow-query { any; };\n    dnssec-validation no;\n    notify no;\n"
            "};\ncontrols { };\n" + "".join(blocks))
    finally:
        os.umask(old)
    log = (workdir / "named.log").open("wb")
    # the key is in its configuration file; its environment holds no secret of ours
    proc = subprocess.Popen([named, "-g", "-n", "1", "-c", str(conf)], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log, start_new_session=True, env=node_environ())
    log.close()
    (workdir / "named.run").write_text(f"{proc.pid}\n")
    try:
        wait_answering(host, port, zones[0], proc, timeout)
    except NamedError:
        stop_named(workdir)
        raise
    return NamedServer(host=host, port=port, key_name=key_name, secret=secret, algorithm="hmac-sha256",
                       zones=tuple(zones), workdir=workdir, pid=proc.pid)


def stop_named(workdir: Path) -> None:
    run = Path(workdir) / "named.run"
    if not run.exists():
        return
    try:
        pid = int(run.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, ValueError):
        pass
    except PermissionError:
        pass
    finally:
        run.unlink(missing_ok=True)


def running(workdir: Path) -> bool:
    run = Path(workdir) / "named.run"
    try:
        os.kill(int(run.read_text().strip()), 0)
        return True
    except (OSError, ValueError):
        return False
