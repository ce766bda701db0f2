"""Node actions by the step action name used in kb/ (procedure.yaml ``action:``)."""
from runbook_engine.engine.actions.base import Action, Change, Context
from runbook_engine.engine.actions.preflight import Preflight
from runbook_engine.engine.actions.registry import RegistryKeyPresent
from runbook_engine.engine.actions.scripts import ScriptFiles
from runbook_engine.engine.actions.services import ServicesManual

NODE_ACTIONS: dict[str, Action] = {
    a.name: a for a in (Preflight(), ServicesManual(), ScriptFiles(), RegistryKeyPresent())
}

__all__ = ["Action", "Change", "Context", "NODE_ACTIONS"]
