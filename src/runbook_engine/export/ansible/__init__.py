"""`runbook export ansible`: a guide's engine steps as an Ansible playbook and an inventory
template, from the actions' ``desired()`` data on a given inventory, in two flavours:

* ``modules`` (``modules.yml``): idiomatic modules for real fleets (``ansible.windows``,
  ``community.windows``, ``community.general.nsupdate``, ``ansible.builtin`` for Linux), with
  ``--check --diff`` support; a command task only where no module exists (the nftables table).
* ``raw`` (``raw.yml``): ``ansible.builtin.raw`` tasks carrying the engine's own command batches
  (each step's facts read, then each change's commands, in the transport's own wrapping), guarded
  by ``changed_when`` / ``failed_when`` / ``when`` so a second run reports changed=0. It needs no
  Python and no PowerShell on the node: it runs on the sandbox's Wine nodes over SSH.

One translator per (flavour, action), registered by name like the actions themselves; the plays
follow the procedure (manual steps as comments), one play per step and group of targets whose
tasks are equal. Files a task copies (the scripts' exact bytes) go to ``files/`` beside the
playbook. Secrets are never written: a task reads them with ``lookup('ansible.builtin.env', …)``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from runbook_engine.artifacts.files import write_atomic
from runbook_engine.export.ansible import yamlout
from runbook_engine.export.ansible.inventory import CONTROLLER, inventory_text
from runbook_engine.export.ansible.jinja import fold
from runbook_engine.export.steps import ExportError, StepExport, TargetPlan, engine_steps

FLAVOURS = ("modules", "raw")
PLAYBOOKS = {"modules": "modules.yml", "raw": "raw.yml"}
INVENTORY = "inventory.yml"
FILES = "files"


@dataclass
class Tasks:
    """What a translator returns for one target of a step."""

    tasks: list[dict]
    controller: bool = False  # the tasks run on the controller (localhost), not on the target
    notes: list[str] = field(default_factory=list)  # comment lines above the play


@dataclass
class Export:
    """What translators read and where they put files."""

    project: object
    guide: object
    inventory: object
    files: dict[str, bytes] = field(default_factory=dict)  # path under files/ -> bytes

    @property
    def kb(self):
        return self.project.knowledge

    def add_file(self, rel: str, data: bytes) -> str:
        """Keep *data* as ``files/<rel>``; returns *rel* (a task's ``src``: Ansible looks in the
        playbook's ``files/`` folder)."""
        if rel in self.files and self.files[rel] != data:
            raise ExportError(f"two different contents for files/{rel}")
        self.files[rel] = data
        return rel


Translator = Callable[[Export, StepExport, TargetPlan], Tasks]
TRANSLATORS: dict[tuple[str, str], Translator] = {}


def translator(flavour: str, *actions: str):
    """Register a function as the tasks of *actions* in *flavour*."""
    def deco(fn: Translator) -> Translator:
        for name in actions:
            if (flavour, name) in TRANSLATORS:
                raise ValueError(f"{flavour} translator for '{name}' is registered twice")
            TRANSLATORS[(flavour, name)] = fn
        return fn
    return deco


def _load() -> None:
    from runbook_engine.export.ansible import modules, raw  # noqa: F401 - they register

# -----------------------------------------------------------------------------------------------


#: the task keys whose value is a Jinja expression or template (folded to lines lint accepts)
_JINJA_KEYS = ("when", "failed_when", "changed_when", "loop")


def _folded(task: dict) -> dict:
    out = dict(task)
    for key in _JINJA_KEYS:
        if isinstance(out.get(key), str):
            out[key] = fold(out[key])
    for module in ("ansible.builtin.assert", "ansible.builtin.set_fact"):
        if module in out:
            args = dict(out[module])
            if module.endswith("assert"):
                args["that"] = [fold(t) for t in args["that"]]
            else:
                args = {k: fold(v) if isinstance(v, str) else v for k, v in args.items()}
            out[module] = args
    return out


def _step_lines(step, what: str) -> list[str]:
    title = step.title.en
    return [f"step {step.label} {step.id} ({step.mode}{', action ' + step.action if step.action else ''}): {title}",
            *([what] if what else [])]


def _tags(st: StepExport) -> list[str]:
    """A play's tags: its step id, its action and its mode (``--tags services-manual``,
    ``--skip-tags check``)."""
    return list(dict.fromkeys([st.step.id, st.action.name, st.step.mode]))


def plays_for(ex: Export, flavour: str, st: StepExport) -> list[tuple[list[str], dict | None]]:
    """The playbook blocks (comment lines, play) of one engine step."""
    fn = TRANSLATORS.get((flavour, st.action.name))
    if fn is None:
        return [(_step_lines(st.step, f"no {flavour} translation for action '{st.action.name}': run it with the engine"), None)]
    if not st.targets:
        return [(_step_lines(st.step, f"no target on this inventory: {st.none}"), None)]
    per_target = []
    for tp in st.targets:
        t = fn(ex, st, tp)
        t.tasks = [_folded(task) for task in t.tasks]
        per_target.append((tp.target.name, t))
    title = st.step.title.en
    if all(t.controller for _, t in per_target):
        tasks = [task for _, t in per_target for task in t.tasks]
        notes = list(dict.fromkeys(n for _, t in per_target for n in t.notes))
        names = ", ".join(name for name, _ in per_target)
        play = {"name": f"{title} ({st.step.id}) for {names}", "hosts": CONTROLLER, "gather_facts": False,
                "tags": _tags(st), "tasks": tasks}
        return [(_step_lines(st.step, "runs on the controller") + notes, play)]
    groups: dict[str, tuple[list[str], Tasks]] = {}
    for name, t in per_target:
        key = json.dumps(t.tasks, sort_keys=True)
        groups.setdefault(key, ([], t))[0].append(name)
    out = []
    for names, t in groups.values():
        hosts = ":".join(names)
        play = {"name": f"{title} ({st.step.id}) on {', '.join(names)}", "hosts": hosts, "gather_facts": False,
                "tags": _tags(st), "tasks": t.tasks}
        out.append((_step_lines(st.step, "") + t.notes, play))
    return out


def playbook(ex: Export, flavour: str, steps: list[StepExport], extra: Callable | None = None) -> str:
    """The playbook text of *flavour*: the procedure's steps in order, engine steps as plays,
    manual steps as comments (or, where *extra* gives blocks for one, as plays)."""
    by_id = {st.step.id: st for st in steps}
    blocks: list[tuple[list[str], dict | None]] = []
    for step in ex.guide.steps():
        if step.id in by_id:
            blocks += plays_for(ex, flavour, by_id[step.id])
        elif step.mode == "manual":
            more = extra(ex, step) if extra else []
            blocks += more or [(_step_lines(step, "manual: the operator does it (see the guide)"), None)]
    header = [f"runbook export ansible {ex.guide.id} --flavour {flavour}: generated from the engine's "
              f"desired() data on inventory cluster '{ex.inventory.cluster}'; do not edit, export again.",
              f"ansible-playbook -i {INVENTORY} {PLAYBOOKS[flavour]}"
              + (" [--check --diff]" if flavour == "modules" else "")]
    return yamlout.document(header, blocks)


def export_ansible(project, guide, inventory, out: Path, flavours: tuple[str, ...] = FLAVOURS) -> list[Path]:
    """Write the playbooks of *flavours*, the inventory template and files/ into *out*; returns
    the files written. Nothing is written when a step cannot be exported (ExportError)."""
    _load()
    from runbook_engine.export.ansible.modules import extra_plays

    for f in flavours:
        if f not in FLAVOURS:
            raise ExportError(f"unknown flavour '{f}' (known: {', '.join(FLAVOURS)})")
    steps = engine_steps(project, guide, inventory)
    ex = Export(project, guide, inventory)
    texts = {PLAYBOOKS[f]: playbook(ex, f, steps, extra_plays if f == "modules" else None) for f in flavours}
    texts[INVENTORY] = inventory_text(inventory, guide)
    out = Path(out)
    written = []
    for name, text in texts.items():
        written.append(write_atomic(out / name, text.encode("utf-8")))
    for rel, data in sorted(ex.files.items()):
        written.append(write_atomic(out / FILES / rel, data))
    return written


__all__ = ["ExportError", "FLAVOURS", "TRANSLATORS", "Tasks", "export_ansible", "translator"]
