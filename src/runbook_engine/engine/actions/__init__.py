"""Node actions by the step action name used in kb/ (procedure.yaml ``action:``)."""
from .base import Action, Change, Context
from .preflight import Preflight
from .registry import RegistryKeyPresent
from .scripts import ScriptFiles
from .services import ServicesManual

NODE_ACTIONS: dict[str, Action] = {
    a.name: a for a in (Preflight(), ServicesManual(), ScriptFiles(), RegistryKeyPresent())
}

__all__ = ["Action", "Change", "Context", "NODE_ACTIONS"]
