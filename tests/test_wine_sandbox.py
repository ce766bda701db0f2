"""The sandbox cluster on real Wine: our native tools, the transports, CLUSTERPRO-style scripts.

No mocks: every test runs cmd.exe, sc.exe, certutil.exe, reg.exe and the ARM stubs in a Wine
prefix cloned from the cached template (see tests/plugins/wine.py).
"""
from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path

import pytest

from runbook_engine.sandbox.wine import (
    clone_prefix,
    create_sandbox,
    destroy_sandbox,
    node_env,
)
from runbook_engine.engine.transports.wine import WineTransport
from runbook_engine.engine.transports.wineprefix import (NO_ASLR, ensure_wineserver, foreign_wineservers, stop_wineserver,
                                                         warm_log, wine_argv, windows_to_unix, wineserver_processes)
from runbook_engine.sandbox.scriptrun import run_script

pytestmark = pytest.mark.wine

SCRIPT_DIR = r"C:\CLUSTERPRO\scripts\failover\surfnavi"


def _transport(prefix: Path) -> WineTransport:
    return WineTransport("node1", prefix=prefix)


def _write_bat(prefix: Path, windows_path: str, lines: list[str]) -> None:
    """A CP932, CRLF .BAT as a Japanese CLUSTERPRO node holds it."""
    path = windows_to_unix(prefix, windows_path)
    data = ("\r\n".join(lines) + "\r\n").encode("cp932")
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    path.write_bytes(data)


def _wait_state(t: WineTransport, service: str, state: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        out = t.run([f"sc query {service}"]).results[0].stdout
        states = [ln.split()[-1] for ln in out.splitlines() if ln.strip().startswith("STATE ")]
        if states == [state] or time.monotonic() > deadline:
            return out
        time.sleep(0.2)


def test_node_env_selects_natives_and_cp932(wine_node: Path) -> None:
    env = node_env(wine_node)
    assert env["WINEPREFIX"] == str(wine_node.resolve())
    assert "sc.exe" in env["WINEDLLOVERRIDES"] and env["WINEDLLOVERRIDES"].endswith("=n")
    assert env["WINEPATH"] == r"C:\CLUSTERPRO\bin"
    assert env["LANG"] == "ja_JP.UTF-8" and "LOCPATH" in env
    # Without the compiled locale Wine would silently use 1252/437.
    # (chcp prints "現在のコード ページ: 0": without a console Wine reports code page 0.)
    r = _transport(wine_node).run(["echo 日本語テスト（ソ表示）"]).results
    assert r[0].stdout == "日本語テスト（ソ表示）"


def test_sc_is_ours_and_config_changes_start_type(wine_node: Path) -> None:
    t = _transport(wine_node)
    r = t.run([
        "sc rbsandbox",
        "sc qc ExpressMailSvc",
        "sc config ExpressMailSvc start= demand",
        "sc qc ExpressMailSvc",
        "sc config ExpressMailSvc start= disabled",
        "sc qc ExpressMailSvc",
    ]).results
    assert t.round_trips == 1
    assert r[0].stdout == "runbook-engine sandbox sc.exe"  # not Wine's builtin sc.exe
    assert r[1].rc == 0
    assert "        START_TYPE         : 2   AUTO_START" in r[1].stdout.splitlines()
    assert r[1].stdout.startswith("[SC] QueryServiceConfig SUCCESS")
    assert "BINARY_PATH_NAME   : C:\\CLUSTERPRO\\sandbox\\rbsvc.exe ExpressMailSvc" in r[1].stdout
    assert "DISPLAY_NAME       : ExpressMail サービス" in r[1].stdout
    assert (r[2].rc, r[2].stdout) == (0, "[SC] ChangeServiceConfig SUCCESS")
    assert "        START_TYPE         : 3   DEMAND_START" in r[3].stdout.splitlines()
    assert "        START_TYPE         : 4   DISABLED" in r[5].stdout.splitlines()


def test_missing_service_gives_1060(wine_node: Path) -> None:
    r = _transport(wine_node).run(["sc query NoSuchSvc", "sc qc NoSuchSvc", "sc stop NoSuchSvc"])
    query, qc, stop = r.results
    assert query.rc == qc.rc == stop.rc == 1060
    # Real Windows words "sc query" failures like this, "qc"/"stop" without the prefix.
    assert query.stdout.startswith("[SC] EnumQueryServicesStatus:OpenService FAILED 1060:")
    assert qc.stdout.startswith("[SC] OpenService FAILED 1060:")
    assert "does not exist as an installed service." in qc.stdout


def test_services_start_automatically_and_can_be_stopped_and_started(wine_node: Path) -> None:
    t = _transport(wine_node)
    for service in ("ExpressMailSvc", "SurfNaviSvc"):
        out = _wait_state(t, service, "RUNNING")
        assert "        STATE              : 4  RUNNING " in out.splitlines()
    stop = t.run(["sc stop SurfNaviSvc"]).results[0]
    assert stop.rc == 0 and ("STOP_PENDING" in stop.stdout or "STOPPED" in stop.stdout)
    assert "STATE              : 1  STOPPED" in _wait_state(t, "SurfNaviSvc", "STOPPED")
    r = t.run(["sc stop SurfNaviSvc", "sc start SurfNaviSvc"]).results
    assert r[0].rc == 1062 and r[0].stdout.startswith("[SC] ControlService FAILED 1062:")
    assert r[1].rc == 0 and "PID" in r[1].stdout
    _wait_state(t, "SurfNaviSvc", "RUNNING")
    again = t.run(["sc start SurfNaviSvc"]).results[0]
    assert again.rc == 1056 and again.stdout.startswith("[SC] StartService FAILED 1056:")


def test_sc_create_and_delete(wine_node: Path) -> None:
    r = _transport(wine_node).run([
        'sc create RbNew binPath= "C:\\CLUSTERPRO\\sandbox\\rbsvc.exe RbNew" start= auto '
        'DisplayName= "新しい サービス"',
        "sc qc RbNew",
        "sc delete RbNew",
        "sc query RbNew",
    ]).results
    assert (r[0].rc, r[0].stdout) == (0, "[SC] CreateService SUCCESS")
    assert "DISPLAY_NAME       : 新しい サービス" in r[1].stdout
    assert (r[2].rc, r[2].stdout) == (0, "[SC] DeleteService SUCCESS")
    assert r[3].rc == 1060


def _write_commands(windows_path: str, data: bytes) -> list[str]:
    """How the engine writes a file on a node: base64 lines, certutil -decode, move."""
    b64 = base64.b64encode(data).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    commands = [f'if exist "{windows_path}.b64" del "{windows_path}.b64"']
    commands += [f'>>"{windows_path}.b64" echo {line}' for line in lines]
    commands += [
        f'certutil -f -decode "{windows_path}.b64" "{windows_path}.tmp"',
        f'move /y "{windows_path}.tmp" "{windows_path}"',
    ]
    return commands


def _decode_certutil_text(text: str) -> bytes:
    body = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("-----")]
    return base64.b64decode("".join(body))


def test_certutil_round_trip_of_arbitrary_bytes(wine_node: Path) -> None:
    data = (b"[ExpressMail]\r\nDir=C:\\ExpressMail\\\r\n"
            + "名前=設定（ソ表示）\r\n".encode("cp932")
            + b"\x00\x01\x02\xff\xfe\r\nlf-only\nend" + bytes(range(256)))
    target = "C:\\ExpressMail\\設定.ini"
    t = _transport(wine_node)
    write = t.run(_write_commands(target, data))
    assert all(r.rc == 0 for r in write.results), write.results
    assert "CertUtil: -decode command completed successfully." in write.results[-2].stdout
    assert windows_to_unix(wine_node, target).read_bytes() == data

    read = t.run([f'certutil -f -encode "{target}" "{target}.b64"', f'type "{target}.b64"'])
    assert t.round_trips == 2
    encode, typed = read.results
    assert encode.rc == 0 and "CertUtil: -encode command completed successfully." in encode.stdout
    assert _decode_certutil_text(typed.stdout) == data
    raw = windows_to_unix(wine_node, target + ".b64").read_bytes()
    lines = raw.split(b"\r\n")
    assert lines[0] == b"-----BEGIN CERTIFICATE-----" and lines[-2] == b"-----END CERTIFICATE-----"
    assert lines[-1] == b"" and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(ln) == 64 for ln in lines[1:-3]) and 0 < len(lines[-3]) <= 64


def test_certutil_errors(wine_node: Path) -> None:
    r = _transport(wine_node).run([
        'certutil -f -decode "C:\\nope.b64" "C:\\nope"',
        '>"C:\\bad.b64" echo not*base64',
        'certutil -f -decode "C:\\bad.b64" "C:\\bad"',
        'certutil -decode "C:\\bad.b64" "C:\\bad.b64"',
    ]).results
    assert r[0].rc != 0 and "FAILED" in r[0].stdout
    assert r[2].rc != 0 and "Bad Data" in r[2].stdout
    assert r[3].rc != 0 and "FAILED" in r[3].stdout  # no -f: existing output is an error


def test_transport_splits_outputs_and_rcs_in_one_round_trip(wine_node: Path) -> None:
    t = _transport(wine_node)
    batch = t.run([
        "echo first",
        "cmd /c exit 3",
        "echo 二番目",
        "reg query HKLM\\SOFTWARE\\NoSuchKey",
        "ver",
    ])
    r = batch.results
    assert t.round_trips == 1
    assert [x.stdout for x in r[:1]] == ["first"] and r[0].rc == 0
    assert r[1].rc == 3 and r[1].stdout == ""
    assert r[2].stdout == "二番目"
    assert r[3].rc == 1
    assert r[4].stdout.startswith("Microsoft Windows")
    assert batch.seconds < 30


def test_arm_stub_trace_with_cp932_arguments(wine_node: Path, tmp_path: Path) -> None:
    script = SCRIPT_DIR + "\\START.BAT"
    _write_bat(wine_node, script, [
        "@echo off",
        'ARMLOAD watch1 /S /W 30 "C:\\Program Files\\SurfNavi\\snavi.exe"',
        'ARMBCAST /MSG "最高プライオリティ（ソ表示）で起動" /A',
        'IF "%CLP_EVENT%" == "START" ARMKILL watch1',
        'ARMLOAD %CLP_SERVER% "%CLP_DISK%"',
        "EXIT /B 0",
    ])
    trace = tmp_path / "arm.trace"
    t = _transport(wine_node)
    rows, stderr, rc = run_script(t, 
        script, {"CLP_EVENT": "START", "CLP_SERVER": "HOME", "CLP_DISK": "SUCCESS"}, trace
    )
    assert rc == 0, stderr
    assert rows == [
        ["ARMLOAD", "watch1", "/S", "/W", "30", "C:\\Program Files\\SurfNavi\\snavi.exe"],
        ["ARMBCAST", "/MSG", "最高プライオリティ（ソ表示）で起動", "/A"],
        ["ARMKILL", "watch1"],
        ["ARMLOAD", "HOME", "SUCCESS"],
    ]
    assert "最高プライオリティ（ソ表示）で起動".encode("cp932") in trace.read_bytes()
    rows2, _, _ = run_script(t, script, {"CLP_EVENT": "FAILOVER"}, trace)
    assert [row[0] for row in rows2] == ["ARMLOAD", "ARMBCAST", "ARMLOAD"]  # only the new rows


def test_plain_start_bat_name_is_not_cmds_start(wine_node: Path, tmp_path: Path) -> None:
    script = SCRIPT_DIR + "\\START.BAT"
    _write_bat(wine_node, script, ["@echo off", "ARMLOAD ok", "exit /b 5"])
    rows, _stderr, rc = run_script(_transport(wine_node), script, {}, tmp_path / "t")
    assert rows == [["ARMLOAD", "ok"]] and rc == 5


def test_goto_missing_label(wine_node: Path, tmp_path: Path) -> None:
    script = SCRIPT_DIR + "\\STOP.BAT"
    _write_bat(wine_node, script, [
        "@echo off", "ARMLOAD before", "GOTO NO_SUCH_LABEL", "ARMLOAD after", ":EXIT", "EXIT /B 0",
    ])
    rows, stderr, rc = run_script(_transport(wine_node), script, {}, tmp_path / "t")
    assert rows == [["ARMLOAD", "before"]]
    # Wine 8 prints exactly this (its Japanese message; "Target to GOTO not found" under an
    # English locale) and exits 0. Windows says "The system cannot find the batch label
    # specified - NO_SUCH_LABEL" instead.
    assert stderr.strip() == "GOTO の対象が見つかりません"
    assert rc == 0


def test_registry_product_name_and_image_keys(wine_node: Path) -> None:
    r = _transport(wine_node).run([
        'reg query "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion" /v ProductName',
        'reg query "HKLM\\SOFTWARE\\NEC\\ExpressMail" /v InstallDir',
        'reg query "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion" /v CurrentVersion',
    ]).results
    assert r[0].rc == 0 and "REG_SZ    Microsoft Windows Server 2003" in r[0].stdout
    assert r[1].rc == 0 and "InstallDir    REG_SZ    C:\\ExpressMail\\" in r[1].stdout
    assert "5.2" in r[2].stdout


def test_fsutil_volumeinfo_reports_what_wine_returns(wine_node: Path) -> None:
    r = _transport(wine_node).run(["fsutil fsinfo volumeinfo C:"]).results[0]
    assert r.rc == 0
    names = [ln.split(":", 1)[1].strip() for ln in r.stdout.splitlines()
             if ln.startswith("File System Name :")]
    assert names and names[0]  # Wine 8 reports NTFS for C:


def test_wineserver_is_persistent_and_restart_rereads(wine_node: Path) -> None:
    t = _transport(wine_node)
    t.run(["echo warm"])
    assert any(persistent for _pid, persistent in wineserver_processes(wine_node))
    t.run(["sc config SurfNaviSvc start= disabled"])
    assert stop_wineserver(wine_node)
    assert not wineserver_processes(wine_node)
    after = t.run(["sc qc SurfNaviSvc", "sc query SurfNaviSvc", "sc query ExpressMailSvc"])
    assert "4   DISABLED" in after.results[0].stdout
    assert ": 1  STOPPED" in after.results[1].stdout  # disabled: not started at "boot"
    assert ": 4  RUNNING" in _wait_state(t, "ExpressMailSvc", "RUNNING")


def _ended(pid: int) -> bool:
    """The process is gone (or a zombie nobody has reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_wineserver_of_a_deleted_node_that_had_the_same_inode_is_ended_not_adopted(wine_template: Path,
                                                                                    tmp_path: Path) -> None:
    """Wine finds a prefix's server by the prefix's device and inode. A node deleted while a
    server of its was still alive, and a new node given the freed inode (ext4 hands it out again
    at once), share one server directory: the old server would answer the new node with the old
    node's services, whose programs lie under a directory that is gone. Renaming keeps the inode,
    so the new name stands for the new node here. The engine ends that server and starts the
    node's own; the node's services then stop and start."""
    old = clone_prefix(wine_template, tmp_path / "old", mode="hardlink")
    new = tmp_path / "new"
    try:
        ensure_wineserver(old)
        [(stale, persistent)] = wineserver_processes(old)
        assert persistent
        old.rename(new)  # the old node's directory is gone; the new node has its inode
        assert foreign_wineservers(new) == [stale] and wineserver_processes(new) == []
        t = _transport(new)
        r = t.run(["sc stop ExpressMailSvc"])
        assert r.results[0].rc == 0, r.results[0].stdout
        assert _ended(stale)
        [(own, _p)] = wineserver_processes(new)
        assert own != stale and foreign_wineservers(new) == []
        assert "started for" in warm_log(new).read_text() and str(tmp_path / "old") in warm_log(new).read_text()
        assert ": 1  STOPPED" in _wait_state(t, "ExpressMailSvc", "STOPPED")
        assert t.run(["sc start ExpressMailSvc"]).results[0].rc == 0
        assert ": 4  RUNNING" in _wait_state(t, "ExpressMailSvc", "RUNNING")
    finally:
        for p in (new, old):
            if p.exists():
                stop_wineserver(p)


def _wine_processes(prefix: Path) -> dict[int, str]:
    """The node's Wine processes but its wineserver: pid -> command line."""
    found = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            env = (d / "environ").read_bytes().split(b"\0")
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if f"WINEPREFIX={prefix}".encode() in env and cmd and "wineserver" not in cmd.split()[0]:
            found[int(d.name)] = cmd
    return found


def test_every_wine_process_of_a_node_runs_without_address_randomisation(wine_node: Path) -> None:
    """Debian's Wine 8 has no preloader: with the kernel's address randomisation, a new Wine
    process now and then finds its fixed addresses taken ("failed to map the shared user data:
    c0000018") and does not start (cmd.exe: 9009). Every process of a node, the services that
    services.exe starts included, carries ADDR_NO_RANDOMIZE (0x0040000), inherited from the
    engine's one `setarch -R` start."""
    t = _transport(wine_node)
    assert t.argv_prefix[:len(NO_ASLR)] == NO_ASLR
    t.run(["sc stop ExpressMailSvc"])
    assert ": 1  STOPPED" in _wait_state(t, "ExpressMailSvc", "STOPPED")
    assert t.run(["sc start ExpressMailSvc"]).results[0].rc == 0  # a service started now, by services.exe
    assert ": 4  RUNNING" in _wait_state(t, "ExpressMailSvc", "RUNNING")
    procs = _wine_processes(wine_node.resolve())
    assert any("services.exe" in c for c in procs.values()) and len(procs) >= 3, procs
    flags = {pid: int(Path(f"/proc/{pid}/personality").read_text(), 16) for pid in procs}
    assert {procs[p]: f for p, f in flags.items() if not f & 0x0040000} == {}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_hardlink_clone_leaves_template_intact(wine_template: Path, tmp_path: Path) -> None:
    watched = ["system.reg", "user.reg", "userdef.reg", "drive_c/windows/system32/sc.exe",
               "drive_c/windows/system32/kernel32.dll"]
    before = {name: _digest(wine_template / name) for name in watched}
    node = clone_prefix(wine_template, tmp_path / "n", mode="hardlink")
    try:
        t = _transport(node)
        r = t.run(['reg add "HKLM\\SOFTWARE\\RbProbe" /v X /t REG_SZ /d changed /f',
                   "sc config ExpressMailSvc start= demand"])
        assert all(x.rc == 0 for x in r.results)
        stop_wineserver(node)
        assert "RbProbe" in (node / "system.reg").read_text(errors="replace")
    finally:
        stop_wineserver(node)
    assert {name: _digest(wine_template / name) for name in watched} == before
    assert "RbProbe" not in (wine_template / "system.reg").read_text(errors="replace")


def test_create_sandbox_inventory_and_destroy(wine_template: Path, wine_image,
                                              tmp_path: Path) -> None:
    import yaml

    root = wine_template.parent.parent
    nodes = create_sandbox(root, wine_image, ["rbtest-a", "rbtest-b"], mode="hardlink",
                           fresh=True)
    try:
        inventory = yaml.safe_load((root / "inventory.yaml").read_text())
        assert [(n["name"], n["transport"], n["prefix"]) for n in inventory["nodes"]] == [
            ("rbtest-a", "wine", str(nodes["rbtest-a"])),
            ("rbtest-b", "wine", str(nodes["rbtest-b"])),
        ]
        inode = nodes["rbtest-a"].stat().st_ino
        again = create_sandbox(root, wine_image, ["rbtest-a", "rbtest-b"])
        assert again == nodes and nodes["rbtest-a"].stat().st_ino == inode  # idempotent
        out = _transport(nodes["rbtest-b"]).run(["hostname", "sc rbsandbox"]).results
        assert out[1].stdout == "runbook-engine sandbox sc.exe"
    finally:
        destroy_sandbox(root)
    assert not (root / "nodes").exists() and not (root / "inventory.yaml").exists()
    assert wine_template.is_dir()


def test_wineserver_start_takes_over_from_a_plain_wine_server_that_appears_meanwhile(wine_node: Path) -> None:
    """A plain `wine` process (an operator's, or one left by a killed run) starts a non-persistent
    wineserver for the prefix; `wineserver -p` then exits 2 ("already running") if that server
    came up after our scan. ensure_wineserver must still end with one persistent server."""
    import subprocess

    from runbook_engine.engine.transports.wineprefix import ensure_wineserver, node_env

    env = node_env(wine_node)
    for _trial in range(4):
        stop_wineserver(wine_node)
        # a busy cmd.exe for about a second, started without waiting for its server to come up
        plain = subprocess.Popen(wine_argv("cmd", "/d", "/c", "for /l %i in (1,1,30000) do @rem"), env=env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            assert ensure_wineserver(wine_node, env) is True
            servers = wineserver_processes(wine_node)
            assert [p for _pid, p in servers] == [True], servers
        finally:
            plain.wait(timeout=120)


def test_a_persistent_server_nobody_warmed_is_warmed_before_output_is_captured(wine_node: Path) -> None:
    """A run killed between `wineserver -p` and the quiet warm-up leaves a persistent server whose
    first process has not run: the next batch must not become that first process (services.exe
    and the auto-start services would inherit its stdout pipe, which then never reaches EOF)."""
    import subprocess

    from runbook_engine.engine.transports.wineprefix import node_env

    stop_wineserver(wine_node)
    env = node_env(wine_node)
    assert subprocess.run(["wineserver", "-p"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True, timeout=60).returncode == 0
    t = _transport(wine_node)
    t.timeout = 60.0  # a hang shows as a TransportError within a minute, not as the default 600 s
    result = t.run(["echo captured"])
    assert result.results[0].stdout == "captured"
