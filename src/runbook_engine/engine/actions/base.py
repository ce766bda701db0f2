"""Actions compare facts with what the guide wants and return a plan: data, never side effects.

An action names the facts it needs (gathered in one round trip) and turns them into
:class:`Change` rows: target, current, desired, the commands that close the difference and the
commands that would restore the before-state. A row whose current equals desired has no commands:
applying it is "no change".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from runbook_engine.model.schema import Guide, KnowledgeBase
from runbook_engine.engine.facts.base import Fact
from runbook_engine.engine.inventory import Inventory, NodeSpec


@dataclass
class Change:
    action: str
    node: str
    target: str
    current: Any
    desired: Any
    commands: list[str] = field(default_factory=list)
    undo: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | change | error
    message: str = ""
    before: dict = field(default_factory=dict)  # what rollback needs (e.g. base64 file content)

    @property
    def changes(self) -> bool:
        return self.status in ("change", "changed")

    def row(self) -> dict:
        d = asdict(self)
        d.pop("before")
        return d


@dataclass(frozen=True)
class Context:
    kb: KnowledgeBase
    guide: Guide
    inventory: Inventory
    node: NodeSpec
    snippets: Any  # Path of snippets/

    @property
    def lang(self) -> str:
        return self.node.lang


class Action:
    name = "base"

    def facts(self, ctx: Context) -> dict[str, Fact]:
        raise NotImplementedError

    def plan(self, ctx: Context, facts: dict[str, Any]) -> list[Change]:
        raise NotImplementedError
