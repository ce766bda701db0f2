"""What an exporter reads: each engine step of a guide, its targets on an inventory, and per target
the action's ``desired()`` data and the facts the engine would read there (``facts()``), computed
exactly as the runner computes them, without running anything.

A step whose desired state cannot be built on a target (the inventory lacks a value the action
needs) is an :class:`ExportError` naming the step, the target and why: an export is written whole
or not at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runbook_engine.engine.actions import Action, Context, Desired, action, step_scope
from runbook_engine.engine.facts.base import Fact
from runbook_engine.engine.inventory import Inventory
from runbook_engine.engine.runner import automated_steps
from runbook_engine.engine.targets import Target


class ExportError(ValueError):
    """The export cannot be written (one line: what, where, why)."""


@dataclass(frozen=True)
class TargetPlan:
    """One target of a step: its desired state and the facts the engine reads there."""

    target: Target
    desired: list[Desired]
    facts: dict[str, Fact]


@dataclass(frozen=True)
class StepExport:
    step: Any  # model.schema.Step
    action: Action
    scope: str
    targets: list[TargetPlan] = field(default_factory=list)
    none: str = ""  # why the step has no target on this inventory


def engine_steps(project, guide, inventory: Inventory) -> list[StepExport]:
    """Every step the engine runs for *guide* (modes automated and check), in procedure order,
    with its targets on *inventory* (all of its nodes)."""
    kb = project.knowledge
    out = []
    for step in automated_steps(guide):
        act = action(step.action)
        sc = step_scope(step)
        plans = []
        for target in sc.pick(inventory, list(inventory.nodes)):
            ctx = Context(kb=kb, guide=guide, inventory=inventory, target=target, snippets=project.snippets)
            try:
                desired = act.desired(ctx)
                facts = act.facts(ctx, desired)
            except (ValueError, KeyError) as exc:
                raise ExportError(f"step '{step.id}' ({act.name}) on {target.name}: {exc}") from None
            plans.append(TargetPlan(target, desired, facts))
        out.append(StepExport(step, act, sc.name, plans, "" if plans else sc.none))
    return out


def manual_steps(guide) -> list:
    """The steps an operator does (mode manual), in procedure order."""
    return [s for s in guide.steps() if s.mode == "manual"]
