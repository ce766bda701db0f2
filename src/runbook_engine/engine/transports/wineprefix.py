"""A Wine prefix as a Windows node: its environment, its wineserver and its paths (used by the
Wine transport and by the sandbox that makes prefixes).

Environment of every call (:func:`node_env`): ``WINEPREFIX``, ``WINEDEBUG=-all``,
``LANG=ja_JP.UTF-8`` (ANSI/OEM code page 932, as on a Japanese Windows node),
``WINEDLLOVERRIDES`` selecting our native ``sc.exe``, ``certutil.exe`` and ``fsutil.exe`` over
Wine's builtins, and ``WINEPATH`` with the ARM stub directory.

``LANG=ja_JP.UTF-8`` only gives code page 932 if glibc can load that locale: without it Wine
silently runs with ACP 1252 / OEMCP 437 (CP932 bytes in a .BAT still reach a program's argv
unchanged, by accident of the 1252 round trip, but ``echo`` of Japanese text comes out as
garbage). :func:`ensure_locale` compiles the locale into ``PREFIX/.rb-locale`` with
``localedef`` and :func:`node_env` points ``LOCPATH`` there, so no system locale is needed.

One persistent ``wineserver -p`` is kept per prefix (:func:`ensure_wineserver`): services only
run while it lives, and a warm server makes a call cost ≈0.1 s instead of ≈0.5-3 s. The first
Wine process after the server starts also starts services.exe and the auto-start services, which
inherit that process's standard handles; it is therefore always run with stdin/stdout/stderr on
/dev/null, or a captured pipe would never reach EOF.

Exit codes: Wine hands the Windows exit code to Linux modulo 256. :meth:`WineTransport.run`
reads each command's full ``%ERRORLEVEL%`` from the markers; :func:`runbook_engine.sandbox.scriptrun.run_script`
can only return the truncated process status.
"""
from __future__ import annotations

import fcntl
import logging
import os
import platform
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

from runbook_engine.engine.transports.base import TransportError
from runbook_engine.engine.transports.environ import node_environ, wine_environ

WINE = "wine"
#: Every Wine process of a node starts with the kernel's address-space randomisation off (the
#: personality flag ADDR_NO_RANDOMIZE, inherited by each process Wine starts from it: cmd.exe's
#: programs, services.exe and the services). Debian's Wine 8 ships no preloader, the program that
#: reserves the addresses Wine maps at fixed places (the shared user data at 0x7ffe0000 ...) before
#: anything else is mapped; with randomisation a new process now and then finds something there,
#: says ``err:virtual:virtual_alloc_first_teb wine: failed to map the shared user data: c0000018``
#: (STATUS_CONFLICTING_ADDRESSES) and never starts, and cmd.exe answers 9009 for a program it ran
#: a moment before. Seen in a full test run's Wine error channel (WineTransport.run reports it).
NO_ASLR: tuple[str, ...] = ("setarch", platform.machine(), "-R")


def wine_argv(*args: str) -> list[str]:
    """``wine ARGS`` as every node process is started: without address randomisation."""
    return [*NO_ASLR, WINE, *args]
#: where a wineserver found serving another directory is reported (:func:`foreign_wineservers`)
LOG = logging.getLogger("runbook_engine.wine")
WINESERVER = "wineserver"
DEFAULT_LANG = "ja_JP.UTF-8"
#: Where the sandbox installs the ARM stubs (on WINEPATH) and the service executable.
ARM_BIN_DIR = r"C:\CLUSTERPRO\bin"
SERVICE_DIR = r"C:\CLUSTERPRO\sandbox"
#: The system32 tools a node's prefix may carry as native programs in place of Wine's builtins
#: (Wine 8's sc.exe lacks ``config``/``qc``, certutil and fsutil are stubs); a native helper for a
#: new action adds its name here and its source under sandbox/native/.
SYSTEM32_TOOLS: tuple[str, ...] = ("sc", "certutil", "fsutil")
#: ``WINEDLLOVERRIDES`` value that makes Wine load our system32 tools instead of its builtins.
NATIVE_OVERRIDES = ",".join(f"{name}.exe" for name in SYSTEM32_TOOLS) + "=n"
TEMP_DIR_WINDOWS = r"C:\windows\temp"
#: Directory inside a prefix holding its compiled glibc locale (``LOCPATH``).
LOCALE_DIR_NAME = ".rb-locale"
_LOCALE_VARS = ("LC_ALL", "LC_CTYPE", "LC_MESSAGES")
_SERVER_START_TIMEOUT = 180.0
#: ``wineserver -p`` exits 2 when a server already runs for the prefix (checked with Wine 8.0).
_ALREADY_RUNNING = 2
_SERVER_ATTEMPTS = 4


def node_env(prefix: Path, *, lang: str = DEFAULT_LANG,
             base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The complete environment for running Windows programs in the node at *prefix*.

    *base* defaults to this process's environment, of which only what Wine needs is kept
    (:func:`environ.wine_environ`: never a secret, which every Windows program of the node and
    the long-lived wineserver and services would otherwise see as ``%NAME%``). Locale variables
    that would override ``LANG`` are dropped, and ``DISPLAY``/``WAYLAND_DISPLAY`` too (no window
    ever opens). ``LOCPATH`` points at the prefix's compiled locale when :func:`ensure_locale`
    made one.
    """
    prefix = Path(prefix).resolve()
    env = wine_environ() if base is None else node_environ(base)
    for name in (*_LOCALE_VARS, "DISPLAY", "WAYLAND_DISPLAY", "LOCPATH"):
        env.pop(name, None)
    env.update(
        WINEPREFIX=str(prefix),
        WINEDEBUG="-all",
        LANG=lang,
        WINEDLLOVERRIDES=NATIVE_OVERRIDES,
        WINEPATH=ARM_BIN_DIR,
    )
    locale_dir = prefix / LOCALE_DIR_NAME
    if (locale_dir / lang).is_dir():
        env["LOCPATH"] = str(locale_dir)
    return env


def ensure_locale(prefix: Path, lang: str = DEFAULT_LANG) -> Path:
    """Compile glibc locale *lang* (e.g. ``ja_JP.UTF-8``) into ``PREFIX/.rb-locale``; its dir.

    Uses ``localedef`` (libc-bin) with the sources of Debian's ``locales`` package; nothing
    system-wide changes. A no-op if already there.
    """
    locale_dir = Path(prefix) / LOCALE_DIR_NAME
    target = locale_dir / lang
    if target.is_dir():
        return locale_dir
    name, _, charset = lang.partition(".")
    locale_dir.mkdir(parents=True, exist_ok=True)
    tmp = locale_dir / f".{lang}.{os.getpid()}"
    proc = subprocess.run(
        ["localedef", "-i", name, "-f", charset or "UTF-8", str(tmp)],
        capture_output=True, text=True, check=False,
    )
    if not (tmp / "LC_CTYPE").is_file():
        raise TransportError(
            f"localedef could not build {lang} (Debian package locales needed): {proc.stderr}"
        )
    os.replace(tmp, target)
    return locale_dir


# --- wineserver ------------------------------------------------------------------------------

def _server_dir_name(prefix: Path) -> str:
    st = os.stat(prefix)
    return f"server-{st.st_dev:x}-{st.st_ino:x}"


def _is_persistent(cmdline: list[str]) -> bool:
    """Whether the last ``-p``/``-pN`` option of a wineserver command line keeps it alive."""
    persistent = False
    for arg in cmdline[1:]:
        if arg == "-p" or arg == "--persistent":
            persistent = True
        elif arg.startswith("-p") and arg[2:].isdigit():
            persistent = int(arg[2:]) > 0
        elif arg.startswith("--persistent="):
            persistent = arg.split("=", 1)[1] != "0"
    return persistent


def _servers_in_dir(prefix: Path) -> list[tuple[int, bool]]:
    """``(pid, persistent)`` of every wineserver whose working dir is *prefix*'s server directory
    (``/tmp/.wine-UID/server-<dev>-<inode>``), whichever directory it was started for."""
    try:
        wanted = _server_dir_name(prefix)
    except FileNotFoundError:
        return []
    found: list[tuple[int, bool]] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.path.basename(os.readlink(f"/proc/{entry.name}/cwd")) != wanted:
                continue
            with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                cmdline = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
        except OSError:
            continue
        if cmdline and "wineserver" in os.path.basename(cmdline[0]):
            found.append((int(entry.name), _is_persistent(cmdline)))
    return found


def _started_for(pid: int) -> str | None:
    """The ``WINEPREFIX`` the process *pid* was started with (None: unreadable or unset)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            for item in fh.read().split(b"\0"):
                if item.startswith(b"WINEPREFIX="):
                    return item.split(b"=", 1)[1].decode(errors="replace")
    except OSError:
        return None
    return None


def _is_for(pid: int, prefix: Path) -> bool | None:
    """Whether the wineserver *pid* was started for *prefix* itself: its ``WINEPREFIX`` names
    this very directory (same device and inode), not another one that had its inode before.
    None when its environment cannot be read (a server still starting or already ending): not
    known to be another directory's, so never ended on that ground (measured: a plain ``wine``'s
    server caught that way was ended twice in a full run)."""
    started = _started_for(pid)
    if not started:
        return None
    try:
        a, b = os.stat(started), os.stat(prefix)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def wineserver_processes(prefix: Path) -> list[tuple[int, bool]]:
    """``(pid, persistent)`` of the wineservers serving *prefix*: in its server directory and
    started for it (see :func:`foreign_wineservers` for the others)."""
    return [(pid, p) for pid, p in _servers_in_dir(prefix) if _is_for(pid, prefix) is not False]


def foreign_wineservers(prefix: Path) -> list[int]:
    """Wineservers in *prefix*'s server directory that were started for another directory.

    Wine names a prefix's server directory after the prefix's device and inode. A sandbox that
    deletes a node and clones a new one often gets the deleted directory's inode back (ext4
    reuses a freed inode at once), so a server that outlived the old node (started by a late
    client after its stop) answers the new node's programs: with the old node's registry and
    services, and program paths under a directory that no longer exists. Such a server must
    never be adopted; :func:`ensure_wineserver` ends it."""
    return [pid for pid, _p in _servers_in_dir(prefix) if _is_for(pid, prefix) is False]


def _end_foreign(prefix: Path, log: Path) -> None:
    """Kill the servers :func:`foreign_wineservers` finds (their clients end with them), wait
    until they are gone, and say so in the prefix's warm-up log."""
    foreign = foreign_wineservers(prefix)
    for pid in foreign:
        said = (f"wineserver {pid} in the server directory of {prefix} was started for "
                f"{_started_for(pid)!r}, not for this directory (a deleted directory with the same inode): ended")
        with open(log, "ab") as f:
            f.write(f"rb: {said}\n".encode())
        LOG.warning(said)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 30
    while foreign and any(pid in foreign for pid, _p in _servers_in_dir(prefix)):
        if time.monotonic() > deadline:
            raise TransportError(f"a wineserver started for another directory holds {prefix}'s server directory")
        time.sleep(0.05)


class _PrefixLock:
    """An exclusive flock on ``PREFIX/.rb-wineserver.lock`` serialising server start/stop."""

    def __init__(self, prefix: Path) -> None:
        self.path = Path(prefix) / ".rb-wineserver.lock"
        self.fd = -1

    def __enter__(self) -> "_PrefixLock":
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _quiet_run(argv: list[str], env: dict[str, str], timeout: float, log: Path | None = None) -> int:
    """Run with every standard handle on /dev/null (stderr appended to *log* when given: a file,
    never a pipe), in its own session (nothing can hold a pipe)."""
    with open(log, "ab") if log is not None else open(os.devnull, "wb") as err:
        return subprocess.run(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=err, start_new_session=True, timeout=timeout, check=False,
        ).returncode


def warm_log(prefix: Path) -> Path:
    """Wine's stderr of the first process of each persistent server of *prefix* (on a fresh
    prefix: the implicit ``wineboot --init``), with its exit code: what to read when a prefix
    did not initialise."""
    return Path(prefix) / ".rb-warm.log"


def _warm_marker(prefix: Path) -> Path:
    return Path(prefix) / ".rb-warm"


def _warm_pid(prefix: Path) -> int | None:
    """The pid of the persistent wineserver that a quiet first process has warmed (its services
    are started), as recorded by :func:`ensure_wineserver`."""
    try:
        return int(_warm_marker(prefix).read_text().strip())
    except (OSError, ValueError):
        return None


def _warm(prefix: Path, env: dict[str, str], server_pid: int) -> None:
    """Run the first Wine process of a server with every handle on /dev/null (it starts
    services.exe and the auto-start services, which inherit its handles: a captured pipe would
    never reach EOF), then record which server is warm."""
    log = warm_log(prefix)
    try:
        rc = _quiet_run(wine_argv("cmd", "/d", "/c", "exit 0"), env, timeout=_SERVER_START_TIMEOUT, log=log)
    except subprocess.TimeoutExpired as exc:
        raise TransportError(f"warming Wine in {prefix} timed out") from exc
    with open(log, "ab") as f:
        f.write(f"rb: warm-up of server {server_pid} exited {rc}\n".encode())
    marker = _warm_marker(prefix)
    tmp = marker.with_name(f".rb-warm.{os.getpid()}")
    tmp.write_text(str(server_pid))
    os.replace(tmp, marker)


def ensure_wineserver(prefix: Path, env: dict[str, str] | None = None) -> bool:
    """Make sure a persistent wineserver serves *prefix* and Wine is warm there.

    Returns True if this call started the server or warmed it (a "boot" of the node: auto-start
    services start now), False if a warm persistent one was already running. A non-persistent
    server left by a plain ``wine`` call is waited for (``wineserver -w``) and replaced.

    "Warm" is recorded per server pid (``PREFIX/.rb-warm``): a persistent server whose first
    process never ran (a run killed between ``wineserver -p`` and the warm-up, measured with
    kill -9 during an apply) is warmed here, before any caller captures a process's output.
    """
    prefix = Path(prefix).resolve()
    if not prefix.is_dir():
        raise TransportError(f"Wine prefix {prefix} does not exist")
    env = env if env is not None else node_env(prefix)
    warm = _warm_pid(prefix)
    if warm is not None and any(p and pid == warm for pid, p in wineserver_processes(prefix)):
        return False
    with _PrefixLock(prefix):
        for _attempt in range(_SERVER_ATTEMPTS):
            _end_foreign(prefix, warm_log(prefix))
            servers = wineserver_processes(prefix)
            persistent = [pid for pid, p in servers if p]
            if persistent:
                if _warm_pid(prefix) in persistent:
                    return False
                _warm(prefix, env, persistent[0])
                return True
            if servers:
                # a plain `wine` call (or one killed half-way) left a non-persistent server
                try:
                    _quiet_run([WINESERVER, "-w"], env, timeout=30)
                except subprocess.TimeoutExpired:
                    _quiet_run([WINESERVER, "-k"], env, timeout=30)
            rc = _quiet_run([WINESERVER, "-p"], env, timeout=30)
            if rc == 0:
                continue  # the next round finds it persistent and warms it
            if rc != _ALREADY_RUNNING:
                raise TransportError(f"wineserver -p failed for {prefix} (rc {rc})")
            # rc 2: a server for this prefix is running that the scan did not see: one still
            # starting (not yet in its server directory) or one a concurrent `wine` process
            # started after the scan. Give it a moment to show up, then deal with it as above.
            time.sleep(0.5)
        raise TransportError(f"no persistent wineserver for {prefix} after {_SERVER_ATTEMPTS} attempts")


def stop_wineserver(prefix: Path, env: dict[str, str] | None = None,
                    timeout: float = 30.0) -> bool:
    """``wineserver -k`` for *prefix* (stops its services and flushes its registry files).

    Returns True if a server was running. Waits until it has exited.
    """
    prefix = Path(prefix).resolve()
    if not prefix.is_dir() or not _servers_in_dir(prefix):
        return False
    env = env if env is not None else node_env(prefix)
    with _PrefixLock(prefix):
        _end_foreign(prefix, warm_log(prefix))
        _quiet_run([WINESERVER, "-k"], env, timeout=timeout)
        deadline = time.monotonic() + timeout
        while wineserver_processes(prefix):
            if time.monotonic() > deadline:
                raise TransportError(f"wineserver for {prefix} did not exit")
            time.sleep(0.05)
    return True


# --- paths -----------------------------------------------------------------------------------

def resolve_case(base: Path, parts: list[str]) -> Path:
    """Join *parts* to *base*, matching each existing component case-insensitively."""
    path = base
    for part in parts:
        candidate = path / part
        if not candidate.exists() and path.is_dir():
            lower = part.lower()
            for child in path.iterdir():
                if child.name.lower() == lower:
                    candidate = child
                    break
        path = candidate
    return path


def windows_to_unix(prefix: Path, windows_path: str) -> Path:
    """The Linux path of *windows_path* (``X:\\...``) in the prefix, through ``dosdevices``."""
    win = PureWindowsPath(windows_path)
    if not win.drive or len(win.drive) != 2:
        raise ValueError(f"not an absolute drive path: {windows_path!r}")
    device = Path(prefix) / "dosdevices" / win.drive.lower()
    return resolve_case(device.resolve(), list(win.parts[1:]))


def unix_to_windows(prefix: Path, path: Path) -> str:
    """The Windows path of a Linux *path*: ``C:\\`` inside the prefix's drive_c, else ``Z:\\``."""
    path = Path(path).resolve()
    drive_c = (Path(prefix) / "drive_c").resolve()
    try:
        rel = path.relative_to(drive_c)
        return "C:\\" + "\\".join(rel.parts)
    except ValueError:
        return "Z:" + str(path).replace("/", "\\")


