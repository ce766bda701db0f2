"""Shared test set-up.

Real components (Wine, sshd, named, Chromium) are started by fixtures in ``tests/plugins/``.
When one is missing, the test skips with a reason locally and FAILS under CI=true: nothing may
silently skip in CI.
"""
from __future__ import annotations

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


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
