"""The environment of the processes the engine starts for a node.

Secrets reach the code that uses them and nothing else: the TSIG secret the DNS client reads
in-process, the SSH password the SSH library reads. A process that runs on or for a node (Wine's
``cmd.exe`` and the wineserver and services it leaves behind, a local ``cmd.exe``) gets an
environment without them:

* :func:`wine_environ` keeps only what Wine needs from this process (an allowlist);
* :func:`node_environ` (a local transport) keeps this process's environment minus every
  variable an inventory names as a secret (:func:`register_secret_names`, called by the
  inventory loader) and minus :data:`ALWAYS_SECRET`.
"""
from __future__ import annotations

import os
from typing import Iterable, Mapping

#: what a Wine process needs from this process's environment (Wine's own variables are set on top)
WINE_ALLOWLIST = ("PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "TZ")
#: the variable the example inventories name for a TSIG secret (the sandbox's names its key file);
#: it held the sandbox's secret before, and may still be exported in a shell
SANDBOX_TSIG_ENV = "RUNBOOK_TSIG_SECRET"
#: variables that hold secrets whatever the inventory says (before any inventory is loaded too)
ALWAYS_SECRET = frozenset({SANDBOX_TSIG_ENV})
_SECRET_NAMES: set[str] = set(ALWAYS_SECRET)


def register_secret_names(names: Iterable[str | None]) -> None:
    """Remember the names of environment variables that hold secrets (never their values)."""
    _SECRET_NAMES.update(n for n in names if n)


def secret_names() -> frozenset[str]:
    return frozenset(_SECRET_NAMES)


def wine_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allowlisted part of *base* (default: this process's environment)."""
    src = os.environ if base is None else base
    return {k: src[k] for k in WINE_ALLOWLIST if k in src and k not in _SECRET_NAMES}


def node_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """*base* (default: this process's environment) without any secret variable."""
    src = os.environ if base is None else base
    return {k: v for k, v in src.items() if k not in _SECRET_NAMES}
