"""Run a batch with the cmd.exe of the machine this process runs on.

On Windows this is the node itself. With another ``argv_prefix`` (e.g. ``wine cmd /d /c``) any
cmd.exe-compatible interpreter works; :class:`~.wine.WineTransport` builds on this.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from runbook_engine.engine.transports import register_transport
from runbook_engine.engine.transports.base import Options, Transport, TransportError
from runbook_engine.engine.transports.environ import node_environ

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
        if self.temp_dir is not None:
            Path(self.temp_dir).mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="rb-", suffix=".cmd", dir=self.temp_dir)
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            stdout, stderr, rc = self._run_process([*self.argv_prefix, self.script_argument(path)])
        finally:
            path.unlink(missing_ok=True)
        self.last_rc = rc
        return stdout, stderr, rc

    def _run_process(self, argv: list[str], cwd: Path | None = None,
                     env: dict[str, str] | None = None) -> tuple[str, str, int]:
        """Run *argv* with stdin closed; decode both outputs with the node's code page."""
        try:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                # never this process's environment as it is: no secret reaches a node's process
                env=env if env is not None else (self.env if self.env is not None else node_environ()),
                cwd=cwd,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise TransportError(f"{argv[0]} not found: {exc}") from exc
        except subprocess.TimeoutExpired as exc:
            raise TransportError(
                f"batch on {self.node} did not finish within {self.timeout} s"
            ) from exc
        return (
            proc.stdout.decode(self.codepage, errors="replace"),
            proc.stderr.decode(self.codepage, errors="replace"),
            proc.returncode,
        )
