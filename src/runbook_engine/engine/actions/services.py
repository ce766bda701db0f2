"""services-manual: the guide's services start manually and are not running before the cluster
starts them (a product's own tools may switch them back to automatic: verify finds that)."""
from __future__ import annotations

from typing import Any

from runbook_engine.engine.actions import register_action
from runbook_engine.engine.actions.base import Action, Change, Context, Desired
from runbook_engine.engine.cmdline import arg
from runbook_engine.engine.facts.services import ServicesConfig, ServiceState
from runbook_engine.engine.status import RowStatus


@register_action
class ServicesManual(Action):
    name = "services-manual"
    compare_across_nodes = True

    def desired(self, ctx: Context) -> list[Desired]:
        enabled = set(ctx.guide.scripts.features)
        desired = {"start": "demand", "state": "STOPPED"}
        return [Desired(ctx.target.name, s.service, dict(desired), {"feature_used": s.feature in enabled})
                for s in ctx.guide.manual_services()]

    def facts(self, ctx: Context, desired: list[Desired]):
        return {"services": ServicesConfig(tuple(d.target for d in desired))}

    def plan(self, desired: list[Desired], facts: dict[str, Any]) -> list[Change]:
        rows = []
        for d in desired:
            st: ServiceState = facts["services"][d.target]
            base = dict(action=self.name, node=d.node, target=d.target, desired=d.value)
            if not st.exists:
                if st.error:
                    rows.append(Change(**base, current=None, status=RowStatus.ERROR, message=st.error))
                elif d.data["feature_used"]:
                    rows.append(Change(**base, current=None, status=RowStatus.ERROR,
                                       message=f"service '{d.target}' is not installed on {d.node}"))
                else:
                    rows.append(Change(**base, current=None, status=RowStatus.OK, message="absent (feature not used)"))
                continue
            current = {"start": st.start, "state": st.state}
            q = arg(d.target, "service")
            cmds, undo = [], []
            if st.start != d.value["start"]:
                cmds.append(f"sc config {q} start= {d.value['start']}")
                undo.append(f"sc config {q} start= {st.start}")
            # `sc stop` returns at once with STOP_PENDING: a stop already under way needs no command
            if st.state not in ("STOPPED", "STOP_PENDING", None):
                cmds.append(f"sc stop {q}")
                undo.append(f"sc start {q}")
            rows.append(Change(**base, current=current, commands=cmds, undo=list(reversed(undo)),
                               status=RowStatus.CHANGE if cmds else RowStatus.OK))
        return rows
