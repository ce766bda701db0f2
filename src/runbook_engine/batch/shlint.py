"""Lint of a generated bash script (start.sh / stop.sh): the bytes a Linux node reads.

LF line endings only (a CR would become part of the last word of a line), the language's
encoding, a ``#!/bin/bash`` first line, and ``bash -n`` (bash's own parser) where bash exists.
"""
from __future__ import annotations

import shutil
import subprocess

from runbook_engine.batch.lint import LintError


def lint_shell_script(data: bytes, *, name: str, encoding: str) -> list[LintError]:
    errors: list[LintError] = []
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        return [LintError(name, data[:exc.start].count(b"\n") + 1, f"not {encoding.upper()}: {exc.reason}")]
    for n, line in enumerate(text.split("\n"), 1):
        if "\r" in line:
            errors.append(LintError(name, n, "CR in a line: a bash script has LF line endings"))
    if not text.startswith("#!/bin/bash\n"):
        errors.append(LintError(name, 1, "the first line must be #!/bin/bash"))
    bash = shutil.which("bash")
    if bash is not None:
        proc = subprocess.run([bash, "-n"], input=data, capture_output=True, timeout=30)
        if proc.returncode != 0:
            msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            errors.append(LintError(name, 1, f"bash -n: {msg[0] if msg else 'syntax error'}"))
    return errors
