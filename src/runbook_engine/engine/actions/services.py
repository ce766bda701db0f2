"""services-manual: the guide's services start manually, and their state follows the cluster's
phase and the node's role (the inventory's ``cluster_state``):

* ``install`` (before the failover group manages them; the seed's step E): startup type manual
  and stopped, on every node: ``sc config … start= demand`` and ``sc stop``.
* ``operation``, standby node: manual and stopped. A running one is reported as an error row,
  never stopped: the engine does not stop or start a service the cluster monitors.
* ``operation``, active node: manual; the state is the cluster's (START.BAT's ARMLOAD … /M starts
  them there), shown as ``state=cluster``. A running service is correct, not drift; stopping it
  would make the cluster fail over.

A product's own tools may switch a service back to automatic: verify finds that.
"""
from __future__ import annotations

from typing import Any

from runbook_engine.engine.actions import register_action
from runbook_engine.engine.actions.base import (Action, Change, Context, Desired, absent_row, phase_data,
                                                  running_on_standby_row)
from runbook_engine.engine.cmdline import arg
from runbook_engine.engine.facts.services import ServicesConfig, ServiceState
from runbook_engine.engine.status import RowStatus

CLUSTER_STATE = "cluster"  # the desired state on the active node in operation: not the engine's
_STOPPED = ("STOPPED", "STOP_PENDING", None)
ALREADY_RUNNING, NOT_STARTED = 1056, 1062  # Win32 error codes sc.exe exits with


def _tolerating(command: str, code: int) -> str:
    """*command*, with exit code *code* (and only it) turned into 0 (``(call )`` resets it)."""
    return f"{command} || if errorlevel {code} if not errorlevel {code + 1} (call )"  # `sc stop` returns at once with STOP_PENDING


@register_action
class ServicesManual(Action):
    name = "services-manual"
    platform = "windows"
    compare_across_nodes = True

    def desired(self, ctx: Context) -> list[Desired]:
        enabled = ctx.guide.features_in_use()
        data = phase_data(ctx)
        state = CLUSTER_STATE if data["role"] == "active" else "STOPPED"
        return [Desired(ctx.target.name, s.service, {"start": "demand", "state": state},
                        {"feature_used": s.feature in enabled, **data})
                for s in ctx.guide.manual_services()]

    def facts(self, ctx: Context, desired: list[Desired]):
        return {"services": ServicesConfig(tuple(d.target for d in desired))}

    def compared(self, row: Change) -> Any:
        """What verify compares between nodes: the startup type only. The state differs between
        the active and the standby nodes in operation by design, and a state that differs from
        the guide is already a row of its own node."""
        return {"start": row.current.get("start")} if isinstance(row.current, dict) else row.current

    def plan(self, desired: list[Desired], facts: dict[str, Any]) -> list[Change]:
        rows = []
        for d in desired:
            st: ServiceState = facts["services"][d.target]
            base = dict(action=self.name, node=d.node, target=d.target, desired=d.value)
            if not st.exists:
                rows.append(absent_row(base, d, st.error, "service"))
                continue
            current = {"start": st.start, "state": st.state}
            role = d.data.get("role", "install")
            if role == "standby" and st.state not in _STOPPED:
                rows.append(running_on_standby_row(base, d, current, "service"))
                continue
            q = arg(d.target, "service")
            cmds, undo = [], []
            if st.start != d.value["start"]:
                cmds.append(f"sc config {q} start= {d.value['start']}")
                undo.append(f"sc config {q} start= {st.start}")
            if d.value["state"] == "STOPPED" and st.state not in _STOPPED:  # what desired() says, not a 2nd rule
                # a state change that finds the service already there succeeded: 1062 "not
                # started" for stop, 1056 "already running" for start (an interrupted run's
                # journaled intent whose batch never ran, a service that stopped on its own)
                cmds.append(_tolerating(f"sc stop {q}", NOT_STARTED))
                undo.append(_tolerating(f"sc start {q}", ALREADY_RUNNING))
            rows.append(Change(**base, current=current, commands=cmds, undo=list(reversed(undo)),
                               status=RowStatus.CHANGE if cmds else RowStatus.OK))
        return rows
