"""Actions by the name a step names in kb/ (procedure.yaml ``action:``).

Each module of this package registers its action::

    @register_action
    class ServicesManual(Action):
        name = "services-manual"

Adding an action is one module here (and the facts it reads in ``engine/facts/``): nothing else
lists action names.
"""
from __future__ import annotations

import importlib
import pkgutil

from runbook_engine.engine.actions.base import Action, Change, Context, Desired

ACTIONS: dict[str, Action] = {}


def register_action(cls: type[Action]) -> type[Action]:
    """Class decorator: register one instance of *cls* under ``cls.name``."""
    if cls.name in ACTIONS and type(ACTIONS[cls.name]) is not cls:
        raise ValueError(f"action '{cls.name}' is registered twice")
    ACTIONS[cls.name] = cls()
    return cls


def actions() -> dict[str, Action]:
    """Every registered action by name (imports the modules of this package once)."""
    for m in pkgutil.iter_modules(__path__):
        if m.name != "base":
            importlib.import_module(f"{__name__}.{m.name}")
    return ACTIONS


def action(name: str) -> Action:
    known = actions()
    if name not in known:
        raise KeyError(f"unknown action '{name}' (known: {', '.join(sorted(known))})")
    return known[name]


__all__ = ["Action", "Change", "Context", "Desired", "action", "actions", "register_action"]
