"""SshTransport against a real sshd whose commands run in Wine's cmd.exe (see plugins/sshd.py)."""
from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from plugins.sshd import SshdNode, free_port
from runbook_engine.engine.transports.base import TransportError, wrap_batch
from runbook_engine.engine.transports.ssh import (
    SshTransport,
    delivery_command,
    delivery_script,
    split_exit_marker,
)

pytestmark = pytest.mark.sshd


def _transport(node: SshdNode, **kw: object) -> SshTransport:
    opts: dict[str, object] = dict(
        username=node.user, port=node.port, known_hosts=node.known_hosts,
        client_key=node.key_path, connect_timeout=10, command_timeout=60,
    )
    opts.update(kw)
    return SshTransport("node1", node.host, **opts)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def transport(sshd_node: SshdNode):
    with _transport(sshd_node) as t:
        yield t


# -- pure functions --------------------------------------------------------------------------


def test_delivery_command_is_one_line_not_starting_with_a_quote() -> None:
    cmd = delivery_command("rb-0123abcd.cmd")
    assert cmd == 'more > "%TEMP%\\rb-0123abcd.cmd" && "%TEMP%\\rb-0123abcd.cmd"'
    assert delivery_command("rb-1.cmd", "findstr").startswith('findstr "^" > ')
    for bad in ("a b.cmd", "x&y.cmd", "x.bat", '"x.cmd'):
        with pytest.raises(ValueError):
            delivery_command(bad)


def test_delivery_script_wraps_batch_as_self_deleting_subroutine() -> None:
    text = delivery_script(wrap_batch(["ver"]), "rb_main_1")
    lines = text.split("\r\n")
    assert lines[:4] == [
        "@echo off",
        "call :rb_main_1",
        '(echo ::rb:exit:%ERRORLEVEL%) & del "%~f0" & exit /b %ERRORLEVEL%',
        ":rb_main_1",
    ]
    assert "\n" not in text.replace("\r\n", "")
    assert text.endswith("exit /b 0\r\n")


def test_split_exit_marker() -> None:
    out, rc = split_exit_marker("a\r\n::rb:exit:5\r\n")
    assert (out, rc) == ("a\r\n", 5)
    assert split_exit_marker("a\n") == ("a\n", None)


def test_repr_and_attributes_hold_no_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RB_TEST_SSH_PASSWORD", "s3cr3t-Pa55")
    kh = tmp_path / "known_hosts"
    kh.write_text("")
    t = SshTransport("n", "127.0.0.1", username="u", known_hosts=kh, password_env="RB_TEST_SSH_PASSWORD")
    assert "s3cr3t" not in repr(t)
    assert "s3cr3t" not in repr(vars(t))
    t.close()
    t.close()


def test_tab_is_refused_with_more_reader(transport: SshTransport) -> None:
    # the stdin delivery (used for non-ASCII batches) copies the batch with MORE, which expands tabs
    with pytest.raises(ValueError, match="tab"):
        transport.run(["echo 日本\tb"])


# -- against the node ------------------------------------------------------------------------


def test_several_commands_one_round_trip(transport: SshTransport) -> None:
    before = transport.round_trips
    res = transport.run(
        [
            "echo first",
            "cmd /c exit /b 7",
            'reg query "HKLM\\Software\\RunbookEngine\\NoSuchKey"',
            'reg add "HKCU\\Software\\RunbookTest" /v Name /d "a b" /f',
            'reg query "HKCU\\Software\\RunbookTest" /v Name',
            "echo last",
        ]
    )
    assert transport.round_trips == before + 1
    rcs = [r.rc for r in res.results]
    assert rcs == [0, 7, 1, 0, 0, 0]
    assert res.results[0].stdout == "first"
    assert "a b" in res.results[4].stdout
    assert res.results[5].stdout == "last"


def test_batch_exit_code_and_file_removed(transport: SshTransport, sshd_node: SshdNode) -> None:
    out, _err, rc = transport._execute("@echo off\r\necho x\r\nexit /b 5\r\n")
    assert rc == 5
    assert out.strip() == "x"
    assert not list(sshd_node.prefix.glob("drive_c/users/*/Temp/rb-*.cmd"))


def test_japanese_cp932_output_survives(transport: SshTransport) -> None:
    res = transport.run(["echo 最高プライオリティ（ソ表示）", "echo 日本語 ABC"])
    assert [r.stdout for r in res.results] == ["最高プライオリティ（ソ表示）", "日本語 ABC"]
    assert [r.rc for r in res.results] == [0, 0]


def test_character_outside_code_page_is_refused(transport: SshTransport) -> None:
    with pytest.raises(ValueError, match="code page"):
        transport.run(["echo \U0001f600"])


def test_unknown_host_key_is_refused(sshd_node: SshdNode, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with _transport(sshd_node, known_hosts=empty) as t:
        with pytest.raises(TransportError, match="host key") as ei:
            t.run(["echo never"])
    assert f"{sshd_node.host}:{sshd_node.port}" in str(ei.value)
    assert "\n" not in str(ei.value)


def test_wrong_host_key_is_refused(sshd_node: SshdNode, tmp_path: Path) -> None:
    other = tmp_path / "known_hosts"
    pub = sshd_node.key_path.with_suffix(".pub").read_text().split()  # a key, but not the host's
    other.write_text(f"[{sshd_node.host}]:{sshd_node.port} {pub[0]} {pub[1]}\n")
    with _transport(sshd_node, known_hosts=other) as t:
        with pytest.raises(TransportError, match="host key"):
            t.connect()


def test_connection_refused_names_host_and_port(sshd_node: SshdNode) -> None:
    port = free_port()
    with _transport(sshd_node, port=port) as t:
        with pytest.raises(TransportError) as ei:
            t.run(["echo never"])
    msg = str(ei.value)
    assert f"127.0.0.1:{port}" in msg
    assert "refused" in msg.lower()
    assert "\n" not in msg


def test_missing_password_env_is_clear(sshd_node: SshdNode, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RB_TEST_NO_SUCH_VAR", raising=False)
    with _transport(sshd_node, password_env="RB_TEST_NO_SUCH_VAR") as t:
        with pytest.raises(TransportError, match="RB_TEST_NO_SUCH_VAR"):
            t.connect()


def test_measure_connect_and_batch_round_trip(sshd_node: SshdNode) -> None:
    """Connection reuse: later batches run on the connection the first one opened.

    Prints the medians (run with ``-s``): connecting, an echo-only batch and a batch that starts
    two extra Windows processes on an open connection, and connect + batch with a new transport.
    """
    echo_only = ["echo a", "echo b", "echo c"]
    spawning = ["echo a", "cmd /c exit /b 3", "cmd /c exit /b 0"]
    connects: list[float] = []
    for _ in range(3):
        with _transport(sshd_node) as t:
            connects.append(t.connect())
    with _transport(sshd_node) as t:
        t.connect()
        conn = t._conn
        t.run(echo_only)
        echo_trips, spawn_trips = [], []
        for _ in range(5):
            t0 = time.perf_counter()
            t.run(echo_only)
            echo_trips.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            res = t.run(spawning)
            spawn_trips.append(time.perf_counter() - t0)
            assert [r.rc for r in res.results] == [0, 3, 0]
        assert t.round_trips == 11
        assert t._conn is conn, "the connection was not reused"
    fresh = []
    for _ in range(3):
        t0 = time.perf_counter()
        with _transport(sshd_node) as t:
            t.run(echo_only)
        fresh.append(time.perf_counter() - t0)
    ms = lambda xs: f"{statistics.median(xs) * 1000:.0f} ms"  # noqa: E731
    print(
        f"\nssh connect+auth {ms(connects)}; on an open connection: echo batch {ms(echo_trips)}, "
        f"batch with 2 cmd /c {ms(spawn_trips)}; new transport connect+echo batch+close {ms(fresh)}"
    )
