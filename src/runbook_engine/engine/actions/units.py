"""units-manual: the guide's systemd units (its services.yaml, ``manual_in``) do not start at boot,
the cluster starts them; the Linux twin of services-manual. Their state follows the cluster's
phase and the node's role (the inventory's ``cluster_state``):

* ``install``: disabled (``systemctl disable``), masked too where the service says ``mask: true``
  (``systemctl mask``, after the disable: a masked unit ignores ``disable`` and keeps its
  ``.wants`` links), and stopped (``systemctl stop``), on every node.
* ``operation``, standby node: disabled (or masked) and inactive. A running unit is an error row,
  never stopped: the engine does not stop or start what the cluster monitors.
* ``operation``, active node: disabled (or masked); the state is the cluster's (start.sh starts
  the application there), shown as ``state=cluster``.

The undo puts back what was read, in the order systemd needs: ``unmask`` before ``enable``, both
before ``start``. ``systemctl`` enable/disable/mask/start/stop succeed when the unit is already
so, so an undo that runs twice (an interrupted run's journaled intent) changes nothing more.
Only the unit file states ``enabled``, ``disabled`` and ``masked`` are changed; any other
(``static``, ``indirect``, a ``-runtime`` state, ...) is an error row that names it.
"""
from __future__ import annotations

from typing import Any

from runbook_engine.engine.actions import register_action
from runbook_engine.engine.actions.base import (Action, Change, Context, Desired, absent_row, phase_data,
                                                  running_on_standby_row)
from runbook_engine.engine.facts.units import UnitState, UnitStates
from runbook_engine.engine.status import RowStatus
from runbook_engine.engine.transports.posix import q

CLUSTER_STATE = "cluster"  # the desired state on the active node in operation: not the engine's
_NOT_RUNNING = ("inactive", "failed")
_RUNNING = ("active", "activating", "reloading")  # what the undo starts again
_CHANGED = ("enabled", "disabled", "masked")  # the unit file states this action changes


def _systemctl(verb: str, unit: str) -> str:
    return f"systemctl {verb} -- {q(unit, 'unit')}"


@register_action
class UnitsManual(Action):
    name = "units-manual"
    platform = "linux"
    compare_across_nodes = True

    def desired(self, ctx: Context) -> list[Desired]:
        ctx.require_shell("sh", self.name)
        enabled = ctx.guide.features_in_use()
        data = phase_data(ctx)
        state = CLUSTER_STATE if data["role"] == "active" else "inactive"
        return [Desired(ctx.target.name, s.service, {"enablement": "masked" if s.mask else "disabled", "state": state},
                        {"feature_used": s.feature in enabled, "mask": s.mask, **data})
                for s in ctx.guide.manual_services()]

    def facts(self, ctx: Context, desired: list[Desired]):
        return {"units": UnitStates(tuple(d.target for d in desired))}

    def compared(self, row: Change) -> Any:
        """What verify compares between nodes: the enablement only (the state differs between the
        active and the standby nodes in operation by design)."""
        return {"enablement": row.current.get("enablement")} if isinstance(row.current, dict) else row.current

    def plan(self, desired: list[Desired], facts: dict[str, Any]) -> list[Change]:
        rows = []
        for d in desired:
            st: UnitState = facts["units"][d.target]
            base = dict(action=self.name, node=d.node, target=d.target, desired=d.value)
            if not st.exists:
                rows.append(absent_row(base, d, st.error, "unit"))
                continue
            current = {"enablement": st.enablement, "state": st.active}
            role = d.data.get("role", "install")
            if role == "standby" and st.active not in _NOT_RUNNING:
                rows.append(running_on_standby_row(base, d, current, "unit"))
                continue
            if st.enablement not in _CHANGED:
                rows.append(Change(**base, current=current, status=RowStatus.ERROR, message=(
                    f"unit file state '{st.enablement}': the engine changes enabled, disabled and masked units "
                    "only; set it by hand (or give the service mask: true)")))
                continue
            cmds, undo = self._enablement(d.target, st.enablement, d.value["enablement"])
            if d.value["state"] == "inactive" and st.active not in _NOT_RUNNING:  # what desired() says
                cmds.append(_systemctl("stop", d.target))
                if st.active in _RUNNING:
                    undo.append(_systemctl("start", d.target))
            rows.append(Change(**base, current=current, commands=cmds, undo=undo,
                               status=RowStatus.CHANGE if cmds else RowStatus.OK))
        return rows

    @staticmethod
    def _enablement(unit: str, now: str, want: str) -> tuple[list[str], list[str]]:
        """The commands from unit file state *now* to *want*, and the undo back (in run order)."""
        if now == want:
            return [], []
        if want == "masked":  # from enabled or disabled
            if now == "enabled":
                return ([_systemctl("disable", unit), _systemctl("mask", unit)],
                        [_systemctl("unmask", unit), _systemctl("enable", unit)])
            return [_systemctl("mask", unit)], [_systemctl("unmask", unit)]
        if now == "masked":  # to disabled: a masked unit's .wants links come back with unmask
            return [_systemctl("unmask", unit), _systemctl("disable", unit)], [_systemctl("mask", unit)]
        return [_systemctl("disable", unit)], [_systemctl("enable", unit)]  # enabled -> disabled
