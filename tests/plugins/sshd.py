"""Fixture ``sshd_node``: a real OpenSSH sshd on 127.0.0.1 that behaves like a Windows node.

Every command the client sends is routed by ``ForceCommand`` into Wine's cmd.exe, the way
OpenSSH on Windows with cmd.exe as its shell runs ``cmd.exe /c <command>``:

* the wrapper writes ``@echo off`` + ``$SSH_ORIGINAL_COMMAND`` (CRLF) into a temporary .cmd file
  and runs it as ``wine cmd /c Z:\\...``. Handing the command to ``wine cmd /c`` as one argument
  mangles inner quotes, the file does not;
* stdin stays connected to the session, so a client can stream data (the SSH transport sends its
  batch there);
* the exit code of cmd.exe is the exit status of the session.

The Wine prefix is created once per session under a tmp dir, with ``LC_ALL=ja_JP.UTF-8`` so that
cmd.exe reads and writes CP932 (Japanese OEM code page) like a Japanese Windows node; ``LANG`` alone
left Wine's console code page at 0 and garbled CP932 output on a pipe. ``wineserver -p`` keeps
the prefix warm (≈0.1 s a command instead of seconds).
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from plugins.components import require, require_executable
from runbook_engine.sandbox.wine import force_command_script
from runbook_engine.engine.transports.wineprefix import wine_argv

SSHD = "/usr/sbin/sshd"

#: Environment under which the test node's Wine runs (also used by the ForceCommand wrapper).
WINE_ENV = {
    "WINEDEBUG": "-all",
    "LC_ALL": "ja_JP.UTF-8",
    "WINEDLLOVERRIDES": "mscoree,mshtml=",
}

@dataclass(frozen=True)
class SshdNode:
    """Where the test node listens and what a client needs to log in to it."""

    host: str
    port: int
    user: str
    key_path: Path
    known_hosts: Path
    prefix: Path
    workdir: Path

    def wine_env(self) -> dict[str, str]:
        """Environment for running ``wine`` directly in the node's prefix (for checks)."""
        return {**os.environ, **WINE_ENV, "WINEPREFIX": str(self.prefix)}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on *host*."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _wait_listening(host: str, port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd did not listen on {host}:{port} within {timeout} s")


def make_wine_prefix(prefix: Path) -> dict[str, str]:
    """Create a Wine prefix (≈5–10 s), start ``wineserver -p`` for it and warm it once.

    The first ``wine`` call starts services that inherit stdout; warming with stdin/stdout/stderr
    detached keeps later captured pipes from staying open forever.
    """
    env = {**os.environ, **WINE_ENV, "WINEPREFIX": str(prefix)}
    subprocess.run(
        ["wineboot", "-i"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, check=True, timeout=180,
    )
    subprocess.Popen(
        ["wineserver", "-p"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    subprocess.run(
        wine_argv("cmd", "/c", "echo", "warm"), env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=120,
    )
    return env


def start_sshd(work: Path, prefix: Path, wine_env: dict[str, str]):
    """Start sshd on 127.0.0.1 whose ForceCommand runs every command in Wine's cmd.exe in
    *prefix* with *wine_env*; returns (process, SshdNode). The caller stops the process."""
    keygen = require_executable("ssh-keygen", "openssh-client")
    spool = work / "spool"
    spool.mkdir(exist_ok=True)
    Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)

    host_key = work / "ssh_host_ed25519_key"
    client_key = work / "id_ed25519"
    for key, comment in ((host_key, "rb-test-host"), (client_key, "rb-test-client")):
        subprocess.run(
            [keygen, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
            check=True, stdin=subprocess.DEVNULL,
        )
    authorized = work / "authorized_keys"
    shutil.copyfile(client_key.with_suffix(".pub"), authorized)
    authorized.chmod(0o600)

    host, port = "127.0.0.1", free_port()
    host_pub = host_key.with_suffix(".pub").read_text().split()
    known_hosts = work / "known_hosts"
    known_hosts.write_text(f"[{host}]:{port} {host_pub[0]} {host_pub[1]}\n")

    wrapper = work / "force-command.sh"
    wrapper.write_text(force_command_script(wine_env, spool))
    wrapper.chmod(0o755)

    conf = work / "sshd_config"
    conf.write_text(
        "\n".join(
            [
                f"Port {port}",
                f"ListenAddress {host}",
                f"HostKey {host_key}",
                "PidFile none",
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                f"AuthorizedKeysFile {authorized}",
                "AllowTcpForwarding no",
                "X11Forwarding no",
                "PrintMotd no",
                "LogLevel INFO",
                f"ForceCommand {wrapper}",
                "",
            ]
        )
    )
    log = (work / "sshd.log").open("wb")
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(conf)], stdin=subprocess.DEVNULL, stdout=log, stderr=log
    )
    log.close()
    try:
        _wait_listening(host, port, proc, timeout=10)
    except BaseException:
        proc.kill()
        raise
    node = SshdNode(host=host, port=port, user=pwd.getpwuid(os.getuid()).pw_name, key_path=client_key,
                    known_hosts=known_hosts, prefix=prefix, workdir=work)
    return proc, node


def stop_process(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def sshd_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdNode]:
    """A running sshd on 127.0.0.1:<free port> whose commands run in Wine's cmd.exe."""
    require(os.access(SSHD, os.X_OK), f"{SSHD} not found (Debian package openssh-server)")
    require_executable("ssh-keygen", "openssh-client")
    require_executable("wine", "wine")
    require_executable("wineboot", "wine")
    require_executable("wineserver", "wine")

    work = tmp_path_factory.mktemp("sshd")
    prefix = work / "prefix"
    wine_env = make_wine_prefix(prefix)
    proc, node = start_sshd(work, prefix, {**WINE_ENV, "WINEPREFIX": str(prefix)})
    try:
        yield node
    finally:
        stop_process(proc)
        subprocess.run(
            ["wineserver", "-k"], env=wine_env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=False,
        )
