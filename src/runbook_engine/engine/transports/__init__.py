"""Transports carry command batches to nodes: local (cmd.exe on this machine), wine (a Wine prefix)
and ssh (OpenSSH on Windows with cmd.exe as its shell)."""
from __future__ import annotations

from runbook_engine.engine.transports.base import BatchResult, CommandResult, Transport, TransportError


def open_transport(node) -> Transport:
    """The transport for an inventory node (imports lazily: asyncssh only when ssh is used)."""
    if node.transport == "wine":
        from runbook_engine.engine.transports.wine import WineTransport

        return WineTransport(node.name, prefix=node.prefix)
    if node.transport == "ssh":
        from runbook_engine.engine.transports.ssh import SshTransport

        return SshTransport(node.name, host=node.host, port=node.port, username=node.user,
                            known_hosts=node.known_hosts, client_key=node.key,
                            password_env=node.password_env)
    if node.transport == "local":
        from runbook_engine.engine.transports.local import LocalTransport

        return LocalTransport(node.name, **({"argv_prefix": node.command} if node.command else {}))
    raise ValueError(f"unknown transport {node.transport!r}")


__all__ = ["BatchResult", "CommandResult", "Transport", "TransportError", "open_transport"]
