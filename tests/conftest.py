"""Shared test set-up.

Real components (Wine, sshd, named, Chromium) are started by fixtures in ``tests/plugins/``.
When one is missing, the test skips with a reason locally and FAILS under CI=true: nothing may
silently skip in CI.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytest_plugins = ["plugins.components", "plugins.wine", "plugins.sshd", "plugins.named", "plugins.cluster", "plugins.linux", "plugins.browser",
                  "plugins.nspawn"]


def pytest_runtest_logreport(report) -> None:
    """Each test's outcome, for the mutation harness's baseline (tests/mutation_harness.py)."""
    import mutation_harness

    mutation_harness.record_outcome(report)


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
    """How often Wine's two known troubles met the suite: a wineserver of a deleted node in a new
    node's server directory (the test that makes one on purpose not counted), and a program
    cmd.exe could not start (9009), with what Wine said on its error channel."""
    on_purpose = "test_a_wineserver_of_a_deleted"
    foreign = [ln for ln in WINE_HEARD.lines if "not for this directory" in ln and on_purpose not in ln]
    starts = [ln for ln in WINE_HEARD.lines if "(9009)" in ln]
    terminalreporter.write_line(f"wine: {len(foreign)} wineserver(s) of a deleted node ended in a new node's "
                                f"server directory; {len(starts)} batch(es) where cmd.exe could not start a program")
    for line in foreign + starts:
        terminalreporter.write_line(f"  {line}"[:2000])


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
