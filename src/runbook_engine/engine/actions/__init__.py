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
from pathlib import Path

from runbook_engine.model.errors import KbError
from runbook_engine.model.yamlio import locate, read_yaml, rel
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


def unknown_actions(kb_root: Path, kb) -> list[KbError]:
    """Every automated step names a registered action: the model layer cannot check this (it sits
    below the engine), so `runbook check` asks here. Errors point at the step's ``action:`` line."""
    known = actions()
    errors: list[KbError] = []
    for gid, guide in kb.guides.items():
        path = Path(kb_root) / "guides" / gid / "procedure.yaml"
        raw = None
        for pi, phase in enumerate(guide.procedure.phases):
            for si, step in enumerate(phase.steps):
                if step.action and step.action not in known:
                    raw = raw if raw is not None else read_yaml(path, Path(kb_root))
                    errors.append(KbError(rel(path, Path(kb_root)), locate(raw, ("phases", pi, "steps", si, "action")),
                                          f"step '{step.id}': unknown action '{step.action}' "
                                          f"(known: {', '.join(sorted(known))})"))
    return errors


__all__ = ["Action", "Change", "Context", "Desired", "action", "actions", "register_action", "unknown_actions"]
