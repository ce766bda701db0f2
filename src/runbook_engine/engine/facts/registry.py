"""Registry facts: does a key exist, and its export (``reg export``, read back through certutil)."""
from __future__ import annotations

import base64
from dataclasses import dataclass

from runbook_engine.engine.cmdline import arg, temp_name
from runbook_engine.engine.transports.base import CommandResult
from runbook_engine.engine.facts.base import Fact


@dataclass(frozen=True)
class RegistryExport:
    key: str
    exists: bool
    export: bytes | None = None  # the .reg file as reg.exe wrote it (UTF-16 on Windows)

    def as_dict(self) -> dict:
        return {"exists": self.exists, "export_bytes": len(self.export or b"")}


@dataclass(frozen=True)
class RegistryKey(Fact):
    key: str
    tag: str

    def commands(self) -> list[str]:
        k = arg(self.key, "regkey")
        reg = temp_name(self.tag + ".reg")
        b64 = temp_name(self.tag + ".b64")
        # each command reports its own exit code through the batch markers: no `&& ||` chains
        # (Wine's cmd runs both branches of `a && (b) || (c)`)
        return [
            f"reg query {k}",
            f'reg export {k} "{reg}" /y',
            f'if exist "{reg}" certutil -f -encode "{reg}" "{b64}" >nul',
            f'if exist "{b64}" type "{b64}"',
            f'if exist "{reg}" del /q "{reg}"',
            f'if exist "{b64}" del /q "{b64}"',
        ]

    def process(self, results: list[CommandResult]) -> RegistryExport:
        if results[0].rc != 0:
            return RegistryExport(self.key, exists=False)
        lines = [l.strip() for l in results[3].stdout.splitlines() if l.strip() and not l.startswith("-----")]
        data = base64.b64decode("".join(lines)) if lines else None
        return RegistryExport(self.key, exists=True, export=data)
