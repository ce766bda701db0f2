"""services-manual: the guide's services start manually and are not running before the cluster
starts them (the guide's step E, and caution 6: SURFNAVI's tools switch them back to automatic)."""
from __future__ import annotations

from typing import Any

from runbook_engine.engine.cmdline import arg
from runbook_engine.engine.facts.services import ServicesConfig, ServiceState
from runbook_engine.engine.actions.base import Action, Change, Context


class ServicesManual(Action):
    name = "services-manual"

    def services(self, ctx: Context):
        return ctx.guide.manual_services()

    def facts(self, ctx: Context):
        return {"services": ServicesConfig(tuple(s.service for s in self.services(ctx)))}

    def plan(self, ctx: Context, facts: dict[str, Any]) -> list[Change]:
        rows = []
        enabled = set(ctx.guide.scripts.features)
        for s in self.services(ctx):
            st: ServiceState = facts["services"][s.service]
            desired = {"start": "demand", "state": "STOPPED"}
            base = dict(action=self.name, node=ctx.node.name, target=s.service, desired=desired)
            if not st.exists:
                if st.error:
                    rows.append(Change(**base, current=None, status="error", message=st.error))
                elif s.feature in enabled:
                    rows.append(Change(**base, current=None, status="error",
                                       message=f"service '{s.service}' is not installed on {ctx.node.name}"))
                else:
                    rows.append(Change(**base, current=None, status="ok", message="absent (feature not used)"))
                continue
            current = {"start": st.start, "state": st.state}
            q = arg(s.service, "service")
            cmds, undo = [], []
            if st.start != "demand":
                cmds.append(f"sc config {q} start= demand")
                undo.append(f"sc config {q} start= {st.start}")
            # `sc stop` returns at once with STOP_PENDING: a stop already under way needs no command
            if st.state not in ("STOPPED", "STOP_PENDING", None):
                cmds.append(f"sc stop {q}")
                undo.append(f"sc start {q}")
            rows.append(Change(**base, current=current, commands=cmds, undo=list(reversed(undo)),
                               status="change" if cmds else "ok"))
        return rows
