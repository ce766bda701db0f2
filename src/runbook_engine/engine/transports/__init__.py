"""Transports carry command batches to targets: local (cmd.exe on this machine), wine (a Wine
prefix), ssh (OpenSSH on Windows with cmd.exe as its shell), ssh-posix (a Linux node's sshd, POSIX
sh), nspawn (a sandbox container, entered by its namespaces) and rfc2136 (a DNS server, whose
commands are queries and signed updates). Each transport says which shell its batches are for
(``shell``: cmd or sh).

A transport is one module of this package that registers its class by name::

    @register_transport("wine")
    class WineTransport(LocalTransport): ...

The module is imported the first time its name is asked for (asyncssh only when ssh is used):
adding a transport touches no other file. Each class brings a pydantic ``Options`` model, the
inventory keys of a target that uses it, and builds itself from them with ``from_options``.
"""
from __future__ import annotations

import importlib
import pkgutil

from runbook_engine.engine.transports.base import BatchResult, CommandResult, Transport, TransportError
from runbook_engine.model.errors import unknown

TRANSPORTS: dict[str, type[Transport]] = {}
_NOT_TRANSPORTS = {"base", "wineprefix", "posix"}  # modules of this package that hold no transport


def register_transport(name: str):
    """Class decorator: make *cls* the transport called *name* in inventories."""

    def deco(cls: type[Transport]) -> type[Transport]:
        cls.kind = name
        TRANSPORTS[name] = cls
        return cls

    return deco


def transport_names() -> list[str]:
    """Every transport this package offers (imports each module: for messages, not hot paths)."""
    for m in pkgutil.iter_modules(__path__):
        if m.name not in _NOT_TRANSPORTS:
            importlib.import_module(f"{__name__}.{m.name}")
    return sorted(TRANSPORTS)


def transport_class(name: str) -> type[Transport]:
    """The class registered as *name*, importing its module on first use."""
    module = name.replace("-", "_") if isinstance(name, str) else name  # ssh-posix lives in ssh_posix.py
    if name not in TRANSPORTS and isinstance(module, str) and module.isidentifier() and module not in _NOT_TRANSPORTS:
        try:
            importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{module}":
                raise
    if name not in TRANSPORTS:
        raise ValueError(unknown("transport", name, transport_names()))
    return TRANSPORTS[name]


def open_transport(target) -> Transport:
    """The transport for a target (or an inventory node): its registered class, built from the
    target's validated options."""
    cls = transport_class(target.transport)
    return cls.from_options(target.name, target.options)


__all__ = ["BatchResult", "CommandResult", "Transport", "TransportError", "open_transport",
           "register_transport", "transport_class", "transport_names"]
