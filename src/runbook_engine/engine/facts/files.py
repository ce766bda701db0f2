"""File content on a node, read in base64 through ``certutil -encode`` (present from Windows
Server 2003 on), so that bytes (CP932, CRLF) come back exactly."""
from __future__ import annotations

import base64
from dataclasses import dataclass

from runbook_engine.engine.cmdline import arg, temp_name
from runbook_engine.engine.transports.base import CommandResult
from runbook_engine.engine.facts.base import Fact


@dataclass(frozen=True)
class FileContent(Fact):
    path: str
    tag: str

    def commands(self) -> list[str]:
        p = arg(self.path, "path")
        tmp = temp_name(self.tag + ".b64")
        return [
            # no `else`: Wine's cmd mis-parses `if ... (a) else (b)` after another `if` on one line
            f"if exist {p} echo present",
            f'if exist {p} certutil -f -encode {p} "{tmp}" >nul',
            f'if exist "{tmp}" type "{tmp}"',
            f'if exist "{tmp}" del /q "{tmp}"',
        ]

    def process(self, results: list[CommandResult]) -> bytes | None:
        exists, enc, typed, _ = results
        if exists.rc != 0 or exists.stdout.strip() != "present":
            return None
        if enc.rc != 0:
            raise RuntimeError(f"certutil -encode of {self.path} failed (rc {enc.rc})")
        lines = [l.strip() for l in typed.stdout.splitlines() if l.strip() and not l.startswith("-----")]
        return base64.b64decode("".join(lines))


def write_commands(path: str, data: bytes, tag: str) -> list[str]:
    """Commands that write *data* to *path* atomically: base64 lines, decode to a temp file, rename."""
    p = arg(path, "path")
    folder = path.rsplit("\\", 1)[0] or path
    tmp_b64 = temp_name(tag + ".w64")
    tmp_file = arg(path + ".rbtmp", "path")
    encoded = base64.b64encode(data).decode("ascii")
    cmds = [
        f'if not exist {arg(folder, "path")}\\ mkdir {arg(folder, "path")}',
        f'if exist "{tmp_b64}" del /q "{tmp_b64}"',
    ]
    for i in range(0, len(encoded), 64):
        cmds.append(f'>>"{tmp_b64}" echo {encoded[i:i + 64]}')
    if not encoded:
        cmds.append(f'type nul >"{tmp_b64}"')
    cmds += [
        f'certutil -f -decode "{tmp_b64}" {tmp_file} >nul',
        f"move /y {tmp_file} {p} >nul",
        f'del /q "{tmp_b64}"',
    ]
    return cmds


def delete_commands(path: str) -> list[str]:
    p = arg(path, "path")
    return [f"if exist {p} del /q {p}"]
