"""require(): skip locally, fail under CI=true, when a real component is absent; run_on(): run
commands on a node of any sandbox (Wine or Linux) through its own transport."""
from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(ok: bool, reason: str) -> None:
    """Call at the start of a test or fixture that needs a real component."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"required component missing under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def require_executable(name: str, package: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} not found (Debian package {package})")
    return path  # type: ignore[return-value]


def run_on(sb, node: str, *commands: str) -> list:
    """The results of *commands* run on *node* of sandbox *sb* (anything with ``transport(node)``),
    through the node's own transport, closed afterwards."""
    t = sb.transport(node)
    try:
        return t.run(list(commands)).results
    finally:
        t.close()
