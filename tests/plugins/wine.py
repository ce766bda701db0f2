"""Fixtures for the real Wine component: a sandbox template and fresh cloned nodes.

The template is built once per image digest under ``.runbook/sandbox-test-cache`` (override with
``RB_SANDBOX_TEST_CACHE``) and reused across runs; each ``wine_node`` is a fresh clone under the
test's tmp dir (hard-linked binaries, copied registry), its wineserver stopped afterwards.
Missing wine/mingw/localedef skip locally and FAIL under CI=true.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.components import require_executable

REPO = Path(__file__).resolve().parents[2]
CACHE_ROOT = REPO / ".runbook" / "sandbox-test-cache"


def _test_image():
    from runbook_engine.sandbox.wine import NodeImage

    return NodeImage(
        services=[("ExpressMailSvc", "ExpressMail サービス"),
                  ("SurfNaviSvc", "SurfNavi Service")],
        registry_keys=[("HKLM\\SOFTWARE\\NEC\\ExpressMail", {"InstallDir": "C:\\ExpressMail\\"})],
        windows_version="win2003",
        dirs=["C:\\CLUSTERPRO\\scripts\\failover\\surfnavi", "C:\\ExpressMail"],
    )


@pytest.fixture(scope="session")
def wine_image():
    """The NodeImage the test template is built from."""
    return _test_image()


@pytest.fixture(scope="session")
def wine_template(wine_image) -> Path:
    """Path of the (cached) template prefix; needs wine, wineserver, MinGW and localedef."""
    require_executable("wine", "wine")
    require_executable("wineserver", "wine")
    require_executable("x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64")
    require_executable("localedef", "libc-bin")
    from runbook_engine.sandbox.wine import create_template

    root = Path(os.environ.get("RB_SANDBOX_TEST_CACHE", CACHE_ROOT))
    return create_template(root, wine_image)


@pytest.fixture
def wine_node(wine_template: Path, tmp_path: Path) -> Iterator[Path]:
    """A fresh node prefix cloned from the template; its wineserver is killed afterwards."""
    from runbook_engine.sandbox.wine import clone_prefix
    from runbook_engine.engine.transports.wineprefix import stop_wineserver

    prefix = clone_prefix(wine_template, tmp_path / "node", mode="hardlink")
    try:
        yield prefix
    finally:
        stop_wineserver(prefix)
        shutil.rmtree(prefix, ignore_errors=True)
