"""Fixture ``named_server``: a real BIND ``named -g`` on 127.0.0.1 that takes TSIG-signed updates.

Zones (data only; nothing leaves loopback):

* ``example.test.``             forward zone
* ``2.0.192.in-addr.arpa.``     reverse zone of the documentation range 192.0.2.0/24

Both have ``update-policy { grant KEY zonesub ANY; };``: unsigned updates are REFUSED, updates
signed with the generated hmac-sha256 key are applied. Recursion is off.
"""
from __future__ import annotations

import re
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from plugins.components import require_executable

KEY_NAME = "rb-test-key"
FORWARD_ZONE = "example.test."
REVERSE_ZONE = "2.0.192.in-addr.arpa."


@dataclass(frozen=True)
class NamedServer:
    """Where the test DNS server listens and the TSIG key that may update its zones."""

    host: str
    port: int
    key_name: str
    secret: str
    algorithm: str
    zones: tuple[str, ...]
    workdir: Path


def _free_port(host: str) -> int:
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
    raise RuntimeError("no free port for named")


def _zone_text(zone: str) -> str:
    return (
        "$TTL 300\n"
        f"{zone} IN SOA ns.{FORWARD_ZONE} hostmaster.{FORWARD_ZONE} 1 3600 600 86400 300\n"
        f"{zone} IN NS ns.{FORWARD_ZONE}\n"
        + (f"ns.{FORWARD_ZONE} IN A 127.0.0.1\n" if zone == FORWARD_ZONE else "")
    )


def _wait_answering(host: str, port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    import dns.message
    import dns.query
    import dns.rcode

    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"named exited with {proc.returncode} before answering")
        try:
            resp = dns.query.tcp(
                dns.message.make_query(FORWARD_ZONE, "SOA"), host, port=port, timeout=1
            )
            if resp.rcode() == dns.rcode.NOERROR and resp.answer:
                return
            last = dns.rcode.to_text(resp.rcode())
        except Exception as exc:  # noqa: BLE001 - keep polling until the deadline
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"named did not answer on {host}:{port} within {timeout} s: {last}")


@pytest.fixture(scope="session")
def named_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NamedServer]:
    """A running named on 127.0.0.1:<free port> with a forward and a reverse zone."""
    named = require_executable("named", "bind9")
    keygen = require_executable("tsig-keygen", "bind9-utils")
    work = tmp_path_factory.mktemp("named")
    key_conf = subprocess.run(
        [keygen, "-a", "hmac-sha256", KEY_NAME], check=True, capture_output=True, text=True
    ).stdout
    m = re.search(r'secret\s+"([^"]+)"', key_conf)
    assert m, f"unexpected tsig-keygen output: {key_conf!r}"
    secret = m.group(1)

    host, port = "127.0.0.1", _free_port("127.0.0.1")
    zones = (FORWARD_ZONE, REVERSE_ZONE)
    zone_blocks = []
    for zone in zones:
        db = work / f"{zone.rstrip('.')}.db"
        db.write_text(_zone_text(zone))
        zone_blocks.append(
            f'zone "{zone.rstrip(".")}" {{\n'
            "    type primary;\n"
            f'    file "{db}";\n'
            f"    update-policy {{ grant {KEY_NAME} zonesub ANY; }};\n"
            "};\n"
        )
    conf = work / "named.conf"
    conf.write_text(
        key_conf
        + "options {\n"
        f'    directory "{work}";\n'
        f'    pid-file "{work}/named.pid";\n'
        f'    session-keyfile "{work}/session.key";\n'
        f'    managed-keys-directory "{work}";\n'
        f"    listen-on port {port} {{ {host}; }};\n"
        "    listen-on-v6 { none; };\n"
        "    recursion no;\n"
        "    allow-query { any; };\n"
        "    dnssec-validation no;\n"
        "    notify no;\n"
        "};\n"
        "controls { };\n"
        + "".join(zone_blocks)
    )
    log = (work / "named.log").open("wb")
    proc = subprocess.Popen(
        [named, "-g", "-n", "1", "-c", str(conf)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log,
    )
    try:
        _wait_answering(host, port, proc, timeout=15)
        yield NamedServer(
            host=host, port=port, key_name=KEY_NAME, secret=secret, algorithm="hmac-sha256",
            zones=zones, workdir=work,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
