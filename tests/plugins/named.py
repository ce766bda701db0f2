"""Fixture ``named_server``: a real BIND ``named -g`` on 127.0.0.1 that takes TSIG-signed updates.

Zones (data only; nothing leaves loopback):

* ``example.test.``             forward zone
* ``2.0.192.in-addr.arpa.``     reverse zone of the documentation range 192.0.2.0/24

Both have ``update-policy { grant KEY zonesub ANY; };``: unsigned updates are REFUSED, updates
signed with the generated hmac-sha256 key are applied. Recursion is off.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from plugins.components import require_executable
from runbook_engine.sandbox.named import NamedServer, start_named

KEY_NAME = "rb-test-key"
FORWARD_ZONE = "example.test."
REVERSE_ZONE = "2.0.192.in-addr.arpa."


@pytest.fixture(scope="session")
def named_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NamedServer]:
    """A running named on 127.0.0.1:<free port> with a forward and a reverse zone."""
    require_executable("named", "bind9")
    require_executable("tsig-keygen", "bind9-utils")
    work = tmp_path_factory.mktemp("named")
    srv = start_named(work, (FORWARD_ZONE, REVERSE_ZONE), KEY_NAME)
    try:
        yield srv
    finally:
        srv.stop()
