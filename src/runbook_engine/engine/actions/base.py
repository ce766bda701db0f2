"""The action contract: what the guide wants (data), the facts to read, the plan that closes the gap.

An action is split in three, like a pyinfra operation:

* :meth:`Action.desired` - pure data, JSON-able: for each target of the step, what the guide wants
  there (a service's start type, a file's digest, an RRset's values). Exports and the site read it.
* :meth:`Action.facts` - the facts to read on the target (gathered in one round trip).
* :meth:`Action.plan` - desired + facts -> :class:`Change` rows: target, current, desired, the
  commands that close the difference and the commands that restore the before-state. Pure: it
  reads nothing but its arguments. A row whose current equals desired has no commands.

Applying is the runner's job; a dry run skips it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from runbook_engine.model.schema import Guide, KnowledgeBase
from runbook_engine.engine.facts.base import Fact
from runbook_engine.engine.inventory import Inventory
from runbook_engine.engine.status import RowStatus
from runbook_engine.engine.targets import Target
from runbook_engine.engine.transports import transport_class


@dataclass
class Change:
    action: str
    node: str  # the target's name (a node, or dns:<server>)
    target: str  # what on it: a service, a file, an RRset
    current: Any
    desired: Any
    commands: list = field(default_factory=list)  # str for cmd.exe transports, dicts for rfc2136
    undo: list = field(default_factory=list)
    status: RowStatus = RowStatus.OK
    message: str = ""
    before: dict = field(default_factory=dict)  # what rollback needs (e.g. base64 file content)
    # the message as a kb/site.yaml label and its fields, shown in the operator's language
    # (engine/messages.py); ``message`` stays the English text journals and JSON carry
    message_id: str = ""
    message_fields: dict = field(default_factory=dict)

    @property
    def changes(self) -> bool:
        return self.status in (RowStatus.CHANGE, RowStatus.CHANGED)

    def row(self) -> dict:
        d = asdict(self)
        d.pop("before")
        d["status"] = str(self.status)
        return d


@dataclass(frozen=True)
class Desired:
    """What the guide wants for one thing on one target: JSON-able data, no I/O.

    ``value`` is what a plan shows as desired; ``data`` holds what the plan needs beyond it
    (a file's bytes in base64, an RRset's zone, whether a service's feature is used).
    """

    node: str
    target: str
    value: Any
    data: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Context:
    """What :meth:`Action.desired` may read: the knowledge base, the guide, the inventory and the
    target of this step."""

    kb: KnowledgeBase
    guide: Guide
    inventory: Inventory | None
    target: Target
    snippets: Any  # Path of snippets/

    @property
    def node(self):
        """The inventory node of a node target."""
        if self.target.node is None:
            raise ValueError(f"target '{self.target.name}' is not a node")
        return self.target.node

    @property
    def lang(self) -> str:
        return self.node.lang

    @property
    def shell(self) -> str:
        """The command language of the target's transport: "cmd" or "sh"."""
        return transport_class(self.target.transport).shell

    def require_shell(self, shell: str, action: str) -> None:
        """Refuse (a ValueError: an error on this target's step) to build *action*'s commands for a
        target whose transport runs another shell than *shell*."""
        if self.shell != shell:
            raise ValueError(f"action '{action}' builds {shell} commands, but target '{self.target.name}' is "
                             f"reached by transport '{self.target.transport}', which runs {self.shell}")


class Action:
    """Subclasses set ``name`` (the ``action:`` of a step in kb/), register with
    :func:`runbook_engine.engine.actions.register_action` and implement the three methods."""

    name = "base"
    scope = "every-node"  # the targets when the step names no scope
    compare_across_nodes = False  # verify reports a target whose value differs between nodes
    read_only = False  # the action only reads and reports: its steps are `mode: check`, never `automated`
    platform: str | None = None  # "windows" | "linux": the family os of the guides that may name it (None: any)

    def compared(self, row: Change) -> Any:
        """The part of a row's current value that must be equal on every node (when
        ``compare_across_nodes``); by default all of it."""
        return row.current

    def desired(self, ctx: Context) -> list[Desired]:
        raise NotImplementedError

    def facts(self, ctx: Context, desired: list[Desired]) -> dict[str, Fact]:
        raise NotImplementedError

    def plan(self, desired: list[Desired], facts: dict[str, Any]) -> list[Change]:
        raise NotImplementedError


def phase_data(ctx: Context) -> dict:
    """Where the target stands in the cluster's phase (the inventory's ``cluster_state``): its role
    (``install``, ``active`` or ``standby``), the active node and the failover group."""
    inv = ctx.inventory
    cs = inv.cluster_state if inv is not None else None
    return {"role": inv.role(ctx.target.name) if inv is not None else "install",
            "active": cs.active if cs else None, "group": cs.group if cs else None}


def absent_row(base: dict, d: Desired, error: str | None, what: str) -> Change:
    """The row of a service or unit (*what*) the node does not have: an error where reading failed
    or its feature is used, else correct."""
    if error:
        return Change(**base, current=None, status=RowStatus.ERROR, message=error)
    if d.data["feature_used"]:
        return Change(**base, current=None, status=RowStatus.ERROR,
                      message=f"{what} '{d.target}' is not installed on {d.node}")
    return Change(**base, current=None, status=RowStatus.OK, message="absent (feature not used)",
                  message_id="row-absent-feature-unused")


def running_on_standby_row(base: dict, d: Desired, current: Any, what: str) -> Change:
    """The row of a service or unit (*what*) found running on a standby node in operation: an
    error, never a stop (the cluster monitors it)."""
    group = f" '{d.data['group']}'" if d.data.get("group") else ""
    return Change(**base, current=current, status=RowStatus.ERROR, message=(
        f"running on standby node {d.node} while the group{group} is active on {d.data['active']}: "
        f"the cluster or an operator started it; check with clpstat (the engine never stops "
        f"a {what} the cluster monitors)"))
