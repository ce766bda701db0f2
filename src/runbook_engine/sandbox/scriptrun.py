"""Run a CLUSTERPRO script resource's script (START.BAT / STOP.BAT) in a sandbox node the way
CLUSTERPRO runs it, and read back what the ARM stubs recorded."""
from __future__ import annotations

from pathlib import Path, PureWindowsPath

from runbook_engine.engine.transports.base import TransportError
from runbook_engine.engine.transports.wine import WineTransport
from runbook_engine.engine.transports.wineprefix import resolve_case, wine_argv, ensure_wineserver, unix_to_windows, windows_to_unix


def run_script(transport: WineTransport, script_path_windows: str, env: dict[str, str],
               trace_file: Path) -> tuple[list[list[str]], str, int]:
    """Run a CLUSTERPRO script (e.g. ``C:\\...\\START.BAT``) the way CLUSTERPRO does.

    The script runs as ``cmd /d /c .\\START.BAT`` from its own directory (a bare
    ``START.BAT`` would be cmd's built-in START), with the node environment plus *env*
    (``CLP_EVENT``, ``CLP_SERVER``, ...) and ``RB_ARM_TRACE`` naming *trace_file*.

    Returns the ARM trace rows this run appended (each row split on TAB, decoded from the
    node code page), the script's stderr, and the process exit status (Windows exit code
    modulo 256 under Wine).
    """
    prefix = Path(transport.prefix)
    ensure_wineserver(prefix, transport.env)
    win = PureWindowsPath(script_path_windows)
    directory = windows_to_unix(prefix, str(win.parent))
    if not resolve_case(directory, [win.name]).is_file():
        raise TransportError(f"script {script_path_windows} not found on {transport.node}")
    trace_file = Path(trace_file).resolve()
    trace_file.parent.mkdir(parents=True, exist_ok=True)
    start = trace_file.stat().st_size if trace_file.exists() else 0
    run_env = {**(transport.env or {}), **env,
               "RB_ARM_TRACE": unix_to_windows(prefix, trace_file)}
    _stdout, stderr, rc = transport._run_process(
        wine_argv("cmd", "/d", "/c", f".\\{win.name}"), cwd=directory, env=run_env
    )
    rows: list[list[str]] = []
    if trace_file.exists():
        with trace_file.open("rb") as fh:
            fh.seek(start)
            data = fh.read()
        for line in data.decode(transport.codepage, errors="replace").split("\n"):
            if line:
                rows.append(line.split("\t"))
    return rows, stderr, rc
