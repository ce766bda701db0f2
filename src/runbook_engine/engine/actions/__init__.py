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
from runbook_engine.engine.targets import Scope, scope

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


def step_scope(step) -> Scope:
    """How a step picks its targets: its own ``scope:``, or its action's default."""
    return scope(step.scope or action(step.action).scope)


def unknown_actions(kb_root: Path, kb) -> list[KbError]:
    """Every engine step names a registered action of its family's platform, and its mode says what
    the action does (``check`` for a read-only one, ``automated`` for one that changes nodes): the model layer cannot
    check this (it sits below the engine), so `runbook check` asks here. Errors point at the line."""
    known = actions()
    errors: list[KbError] = []
    for gid, guide in kb.guides.items():
        path = Path(kb_root) / "guides" / gid / "procedure.yaml"
        raw = None
        for pi, phase in enumerate(guide.procedure.phases):
            for si, step in enumerate(phase.steps):
                if not step.action:
                    continue
                problem, field = None, "action"
                if step.action not in known:
                    problem = f"step '{step.id}': unknown action '{step.action}' (known: {', '.join(sorted(known))})"
                elif known[step.action].platform not in (None, kb.family_of(guide).os):
                    # a Windows action never runs on a Linux node, nor the other way round
                    problem = (f"step '{step.id}': action '{step.action}' is for {known[step.action].platform} "
                               f"guides, and this guide's family runs {kb.family_of(guide).os}")
                elif known[step.action].read_only and step.mode != "check":
                    # never label a check as an automated change
                    problem, field = (f"step '{step.id}': action '{step.action}' only reads and reports: "
                                      "the step's mode must be 'check'"), "mode"
                elif not known[step.action].read_only and step.mode == "check":
                    problem, field = (f"step '{step.id}': action '{step.action}' changes nodes: "
                                      "a step with mode 'check' must name a read-only action"), "mode"
                if problem:
                    raw = raw if raw is not None else read_yaml(path, Path(kb_root))
                    errors.append(KbError(rel(path, Path(kb_root)), locate(raw, ("phases", pi, "steps", si, field)), problem))
    return errors


__all__ = ["Action", "Change", "Context", "Desired", "action", "actions", "register_action", "step_scope",
           "unknown_actions"]
