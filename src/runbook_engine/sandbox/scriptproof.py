"""Differential proof of a generated script: our simulator against Wine's real cmd.exe.

:func:`differential` writes a script's bytes (CP932 or ASCII, CRLF: exactly what ships) into a
sandbox node's script folder and runs it under Wine's ``cmd.exe`` once per environment of
:func:`case_variables` - the same variables and values the site's case tables show
(``batch.cases``, shared with the site's case tables). Each run is compared with
:func:`runbook_engine.batch.simulator.simulate` of the same text: the ARM calls the stubs
recorded (``$RB_ARM_TRACE``) must equal the simulator's ``calls``, and the script must abort in
Wine exactly when the simulator says it aborts.

Wine reports a ``GOTO`` to a missing label on stderr and exits 0 (see :data:`GOTO_NOT_FOUND`),
so an abort is recognised by that message, not by the exit code.

The node's wineserver is started (warm) before the first run and kept for the whole proof
(:func:`runbook_engine.engine.transports.wine.ensure_wineserver`); each
:class:`CaseResult` carries the wall time of its Wine run.
"""
from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING, Any

from runbook_engine.batch.cases import CASE_KEYS, case_variables
from runbook_engine.batch.simulator import UNSET, cases, simulate
from runbook_engine.sandbox.scriptrun import run_script

if TYPE_CHECKING:
    from runbook_engine.artifacts.scripts import Script
    from runbook_engine.engine.transports.wine import WineTransport

__all__ = [
    "CASE_KEYS",
    "DEFAULT_DIRECTORY",
    "GOTO_NOT_FOUND",
    "LOADER_NOISE",
    "CaseResult",
    "case_variables",
    "differential",
    "format_results",
    "wine_aborted",
]


#: What Wine 8's cmd.exe prints on stderr for a GOTO to a missing label (it exits 0): its
#: Japanese message under a Japanese locale, its English one otherwise. (Windows itself says
#: "The system cannot find the batch label specified - NAME".)
GOTO_NOT_FOUND: tuple[str, ...] = ("GOTO の対象が見つかりません", "Target to GOTO not found")

#: Lines on Wine's stderr that come from the Linux side, not from cmd.exe or the script: glibc's
#: ld.so now and then asserts while the ``wine`` loader process exits (seen ~1 run in 100 on
#: Debian bookworm, Wine 8.0; the script's trace and exit are complete by then).
LOADER_NOISE: tuple[str, ...] = ("Inconsistency detected by ld.so:",)

#: Where the script is written when no directory is given (a CLUSTERPRO script resource folder).
DEFAULT_DIRECTORY = r"C:\runbook-proofs"  # where the proofs run a script (our folder, not CLUSTERPRO's)


def wine_aborted(stderr: str) -> bool:
    """Whether Wine's cmd.exe stderr says the script was aborted at a missing GOTO target."""
    return any(message in stderr for message in GOTO_NOT_FOUND)


@dataclass(frozen=True)
class CaseResult:
    """One environment: what Wine's cmd.exe did and what the simulator says it does."""

    env: dict[str, str]
    wine: list[list[str]]  # ARM stub rows: [NAME, arg1, ...]
    simulated: list[list[str]]  # batchsim Trace.calls as lists
    stderr: str  # Wine's stderr
    rc: int  # Wine's exit status (Windows exit code modulo 256)
    wine_aborted: bool  # stderr carries the GOTO-not-found message
    sim_aborted: str | None  # batchsim Trace.aborted
    seconds: float  # wall time of the Wine run
    retried: bool = False  # the first Wine run disagreed and the case was run once more

    @property
    def equal(self) -> bool:
        """Same calls, same arguments, same order."""
        return self.wine == self.simulated

    @property
    def cmd_stderr(self) -> list[str]:
        """Wine's stderr lines without :data:`LOADER_NOISE` (what cmd.exe itself reported)."""
        return [line for line in self.stderr.splitlines()
                if line.strip() and not line.startswith(LOADER_NOISE)]

    @property
    def aborts_agree(self) -> bool:
        return self.wine_aborted == (self.sim_aborted is not None)

    @property
    def ok(self) -> bool:
        return self.equal and self.aborts_agree

    def case(self, keys: Sequence[str] = CASE_KEYS) -> str:
        """``START/SUCCESS/HOME``-style name of the environment (``-`` for an unset variable)."""
        return "/".join(self.env.get(k, "-") for k in keys)


def differential(
    transport: "WineTransport",
    script: "Script",
    variables: Mapping[str, Sequence[str | None]],
    *,
    directory: str = DEFAULT_DIRECTORY,
    trace_file: Path | None = None,
    exit_codes: Mapping[str, int] | None = None,
) -> list[CaseResult]:
    """Run *script* under Wine and in the simulator for every environment of
    ``cases(variables)`` (same order); one :class:`CaseResult` each.

    The script's bytes (``script.data``) are written to ``directory\\script.name`` in the node
    (the folder is created if needed) and run as CLUSTERPRO runs it
    (:func:`runbook_engine.sandbox.scriptrun.run_script`). The ARM stubs append to *trace_file* (a temporary file
    by default); only the rows of each run are compared. *exit_codes* (program name → code)
    makes those command stubs exit with that code (``RB_STUB_EXIT_<NAME>``, see
    ``native/cmdstub.c``) and tells the simulator the same; the environments compared stay
    those of ``cases(variables)``.
    """
    from runbook_engine.engine.transports.wineprefix import ensure_wineserver, windows_to_unix

    assert transport.prefix is not None
    path_windows = str(PureWindowsPath(directory) / script.name)
    folder = windows_to_unix(transport.prefix, directory)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / script.name).write_bytes(script.data)
    ensure_wineserver(transport.prefix, transport.env)  # warm before anything is timed

    with tempfile.TemporaryDirectory(prefix="rb-proof-") as tmp:
        trace = Path(trace_file) if trace_file is not None else Path(tmp) / "arm.trace"
        results: list[CaseResult] = []
        codes = {name.upper(): code for name, code in (exit_codes or {}).items()}
        stub_env = {f"RB_STUB_EXIT_{name}": str(code) for name, code in codes.items()}
        for env in cases(variables):
            sim = simulate(script.text, env, script=script.name, exit_codes=codes)
            began = time.perf_counter()
            rows, stderr, rc = run_script(transport, path_windows, {**env, **stub_env}, trace)
            retried = False
            if [list(r) for r in rows] != [list(c) for c in sim.calls]:
                # Measured: under heavy load about one Wine run in a few hundred records no ARM
                # call at all (a stub process that never ran). A real disagreement repeats; the
                # retry is reported (CaseResult.retried) and printed by the tests.
                rows, stderr, rc = run_script(transport, path_windows, {**env, **stub_env}, trace)
                retried = True
            seconds = time.perf_counter() - began
            results.append(CaseResult(
                retried=retried,
                env=env,
                wine=[list(r) for r in rows],
                simulated=[list(c) for c in sim.calls],
                stderr=stderr,
                rc=rc,
                wine_aborted=wine_aborted(stderr),
                sim_aborted=sim.aborted,
                seconds=seconds,
            ))
    return results


def format_results(results: Sequence[CaseResult], keys: Sequence[str] = CASE_KEYS) -> str:
    """A compact table: case, calls in Wine, calls simulated, aborts, verdict."""
    lines = [f"{'/'.join(keys):<32} wine  sim  abort(w/s)  ok"]
    for r in results:
        lines.append(
            f"{r.case(keys):<32} {len(r.wine):>4} {len(r.simulated):>4}  "
            f"{'yes' if r.wine_aborted else 'no':>3}/{'yes' if r.sim_aborted else 'no':<3}     "
            f"{'ok' if r.ok else 'DIFF'}"
        )
    return "\n".join(lines)
