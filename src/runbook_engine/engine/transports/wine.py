"""The Wine transport: a batch runs as ``wine cmd /d /c C:\\windows\\temp\\rb-xxx.cmd`` in the node's
prefix, with the prefix's environment and a persistent wineserver (engine/transports/wineprefix.py)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runbook_engine.engine.transports import register_transport
from runbook_engine.engine.transports.base import BatchResult, Options
from runbook_engine.engine.transports.local import LocalTransport
from runbook_engine.engine.transports.wineprefix import DEFAULT_LANG, LOG, TEMP_DIR_WINDOWS, ensure_wineserver, node_env, wine_argv

#: cmd.exe's exit code for a program it could not find or start (engine/facts/base.py has the same)
COMMAND_NOT_FOUND = 9009


class WineOptions(Options):
    prefix: Path  # the node's Wine prefix


@register_transport("wine")
@dataclass
class WineTransport(LocalTransport):
    """A sandbox node: batches run as ``wine cmd /d /c C:\\windows\\temp\\rb-xxx.cmd``."""

    prefix: Path | None = None
    lang: str = DEFAULT_LANG

    kind = "wine"
    Options = WineOptions

    @classmethod
    def from_options(cls, name: str, options: WineOptions) -> "WineTransport":
        return cls(name, prefix=options.prefix)

    def __post_init__(self) -> None:
        if self.prefix is None:
            raise TypeError("WineTransport needs prefix=")
        self.prefix = Path(self.prefix).resolve()
        base_env = self.env
        self.env = node_env(self.prefix, lang=self.lang, base=base_env)
        self.env["WINEDEBUG"] = "-all,err+all"  # only errors, on stderr: see run()
        self.argv_prefix = tuple(wine_argv("cmd", "/d", "/c"))
        self.temp_dir = self.prefix / "drive_c" / "windows" / "temp"

    @property
    def _prefix(self) -> Path:
        return Path(self.prefix)  # set in __post_init__

    def node_temp_dirs(self) -> list[Path]:
        """``%TEMP%`` of the prefix's users (``C:\\users\\<user>\\Temp``) and the Windows temp folder."""
        users = self._prefix / "drive_c" / "users"
        return [*sorted(users.glob("*/Temp")), self._prefix / "drive_c" / "windows" / "temp"]

    def script_argument(self, path: Path) -> str:
        return f"{TEMP_DIR_WINDOWS}\\{path.name}"

    def _execute(self, batch_text: str) -> tuple[str, str, int]:
        ensure_wineserver(self._prefix, self.env)
        return super()._execute(batch_text)

    def run(self, commands: list[str]) -> BatchResult:
        """As every transport; where cmd.exe could not start a program (9009), what Wine said on
        its error channel while the batch ran is reported (``runbook_engine.wine``): the node's
        Wine runs with ``WINEDEBUG=-all,err+all``, so a process that failed to start says why."""
        result = super().run(commands)
        failed = [r.command for r in result.results if r.rc == COMMAND_NOT_FOUND]
        if failed:
            said = [ln for ln in result.stderr.splitlines() if ln.startswith(("err:", "wine:", "preloader:"))]
            LOG.warning("%s: cmd.exe could not start %s (9009); Wine said: %s", self.node,
                        "; ".join(failed[:3]), " | ".join(said[-12:]) or "nothing on its error channel")
        return result
