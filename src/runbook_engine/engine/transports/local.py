"""Run a batch with the cmd.exe of the machine this process runs on.

On Windows this is the node itself. With another ``argv_prefix`` (e.g. ``wine cmd /d /c``) any
cmd.exe-compatible interpreter works; :class:`~.wine.WineTransport` builds on this.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from runbook_engine.engine.transports import register_transport
from runbook_engine.engine.transports.base import Options, Transport, TransportError
from runbook_engine.engine.transports.environ import node_environ
from runbook_engine.engine.transports.orphans import LEASE_SUFFIX, reap, write_lease

DEFAULT_CODEPAGE = "cp932"


class LocalOptions(Options):
    command: list[str] | None = None  # the interpreter command line (default: cmd.exe /d /c)


@register_transport("local")
@dataclass
class LocalTransport(Transport):
    """Write the batch to a temporary .cmd file (in the node's code page) and run it.

    ``argv_prefix`` is the interpreter command line the file path is appended to; ``env`` is the
    complete environment (``None``: inherit this process's); ``temp_dir`` is where the .cmd file
    goes (``None``: the system temp dir). Output is decoded with ``codepage``, errors replaced.
    """

    codepage: str = DEFAULT_CODEPAGE
    argv_prefix: tuple[str, ...] = ("cmd.exe", "/d", "/c")
    env: dict[str, str] | None = None
    temp_dir: Path | None = None
    timeout: float | None = 600.0
    last_rc: int | None = field(default=None, init=False)

    kind = "local"
    Options = LocalOptions

    @classmethod
    def from_options(cls, name: str, options: LocalOptions) -> "LocalTransport":
        return cls(name, **({"argv_prefix": tuple(options.command)} if options.command else {}))

    def script_argument(self, path: Path) -> str:
        """How the interpreter names the temporary file (a Windows path on a real node)."""
        return str(path)

    def _execute(self, batch_text: str) -> tuple[str, str, int]:
        try:
            data = batch_text.encode(self.codepage)
        except UnicodeEncodeError as exc:
            raise TransportError(
                f"batch for {self.node} is not representable in {self.codepage}: {exc}"
            ) from exc
        folder = Path(self.temp_dir) if self.temp_dir is not None else Path(tempfile.gettempdir())
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"rb-{secrets.token_hex(5)}.cmd"
        # the lease first (this process, no batch yet), then the file: every rb-*.cmd a dead run
        # leaves has a lease that says whose it was
        write_lease(path, None)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            # a dead run's batch still running here, or its files: end them before this one runs
            reap(folder, self.node_temp_dirs)
            stdout, stderr, rc = self._run_process([*self.argv_prefix, self.script_argument(path)], lease_for=path)
        finally:
            path.unlink(missing_ok=True)
            path.with_suffix(LEASE_SUFFIX).unlink(missing_ok=True)
        self.last_rc = rc
        return stdout, stderr, rc

    def node_temp_dirs(self) -> list[Path]:
        """Where the batch's commands write their temporary files (``%TEMP%``)."""
        return [Path(tempfile.gettempdir())]

    def _run_process(self, argv: list[str], cwd: Path | None = None,
                     env: dict[str, str] | None = None, lease_for: Path | None = None) -> tuple[str, str, int]:
        """Run *argv* with stdin closed, in a session of its own (with a lease beside *lease_for*
        naming it and this process: see orphans.py); decode both outputs with the node's code page.

        Output goes to temporary files, not pipes, and is read once the process has exited: a
        program the batch starts may outlive it holding the batch's output handles (under Wine,
        services.exe and the services it starts, when the batch is the one that starts them), and
        a pipe would then never reach end of file."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    # never this process's environment as it is: no secret reaches a node's process
                    env=env if env is not None else (self.env if self.env is not None else node_environ()),
                    cwd=cwd,
                    start_new_session=True,
                )
            except FileNotFoundError as exc:
                raise TransportError(f"{argv[0]} not found: {exc}") from exc
            if lease_for is not None:
                write_lease(lease_for, proc.pid)
            try:
                proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired as exc:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise TransportError(
                    f"batch on {self.node} did not finish within {self.timeout} s"
                ) from exc
            out.seek(0)
            err.seek(0)
            return (
                out.read().decode(self.codepage, errors="replace"),
                err.read().decode(self.codepage, errors="replace"),
                proc.returncode,
            )
