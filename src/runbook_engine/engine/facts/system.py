"""Preflight facts: the OS product name, whether TCP/IP is installed, the data drive's file system."""
from __future__ import annotations

import re
from dataclasses import dataclass

from runbook_engine.engine.cmdline import arg, bare
from runbook_engine.engine.transports.base import CommandResult
from runbook_engine.engine.facts.base import Fact

PRODUCT_KEY = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion"
# "IP Address" (Windows 2000/2003), "IPv4 Address" (later), "IP アドレス"/"IPv4 アドレス" (Japanese)
_IPV4_LINE = re.compile(r"IP(?:v4)? ?(?:Address|アドレス)[ .]*:\s*\d{1,3}(?:\.\d{1,3}){3}", re.I)


@dataclass(frozen=True)
class ProductName(Fact):
    def commands(self) -> list[str]:
        return [f'reg query {arg(PRODUCT_KEY, "regkey")} /v ProductName']

    def process(self, results: list[CommandResult]) -> str | None:
        m = re.search(r"ProductName\s+REG_SZ\s+(.+)", results[0].stdout)
        return m.group(1).strip() if m else None


@dataclass(frozen=True)
class TcpIpInstalled(Fact):
    """TCP/IP is bound to an adapter: ``ipconfig`` lists an IPv4 address ("IP Address" on
    Windows 2000/2003, "IPv4 Address" later)."""

    def commands(self) -> list[str]:
        return ["ipconfig"]

    def process(self, results: list[CommandResult]) -> bool:
        return results[0].rc == 0 and bool(_IPV4_LINE.search(results[0].stdout))


@dataclass(frozen=True)
class FileSystem(Fact):
    drive: str

    def commands(self) -> list[str]:
        return [f"fsutil fsinfo volumeinfo {bare(self.drive, 'drive')}\\"]

    def process(self, results: list[CommandResult]) -> str | None:
        m = re.search(r"File System Name\s*:\s*(\S+)", results[0].stdout)
        return m.group(1) if m else None
