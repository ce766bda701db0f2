"""Shared test set-up.

Real components (Wine, sshd, named, Chromium) are started by fixtures in ``tests/plugins/``.
When one is missing, the test skips with a reason locally and FAILS under CI=true: nothing may
silently skip in CI.
"""
from __future__ import annotations

import logging
import logging
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytest_plugins = ["plugins.components", "plugins.wine", "plugins.sshd", "plugins.named", "plugins.cluster", "plugins.linux", "plugins.browser",
                  "plugins.nspawn"]


class _Heard(logging.Handler):
    """What the Wine transport says it put right during the session (a wineserver of a deleted
    node found in a new node's server directory and ended): printed in the summary, so a CI log
    shows how often it happens."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


WINE_HEARD = _Heard()
logging.getLogger("runbook_engine.wine").addHandler(WINE_HEARD)


def pytest_terminal_summary(terminalreporter) -> None:
    terminalreporter.write_line(f"wine: {len(WINE_HEARD.lines)} wineserver(s) of deleted nodes found in a new "
                                "node's server directory and ended")
    for line in WINE_HEARD.lines:
        terminalreporter.write_line(f"  {line}")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
