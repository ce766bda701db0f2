"""Every module option and every literal choice value a playbook uses, checked against the
modules' own documentation (``ansible-doc -j``): ``ansible-playbook --syntax-check`` and ansible-lint
accept ``start_mod: manuall``; this does not.

A task's module is its key with a dot (a fully qualified collection name: every task of the
exports names its module so); its other keys are task keywords. An option's value is checked
against the option's ``choices`` unless it is a template (``{{``), each element for a list. Aliases
count as options; the keys of ``set_fact`` (its free-form ``key_value``) must be variable
names. Suboptions are not walked (no export uses a dict-valued option).
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml


def _tasks(play: dict) -> list[dict]:
    out = []
    for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
        for task in play.get(section) or []:
            out.append(task)
            for inner in ("block", "rescue", "always"):
                out.extend(task.get(inner) or [])
    return out


def modules_used(playbook: Path) -> list[tuple[str, str, object]]:
    """(task name, module, its arguments) of every task of *playbook*."""
    plays = yaml.safe_load(Path(playbook).read_text(encoding="utf-8")) or []
    found = []
    for play in plays:
        for task in _tasks(play):
            mods = [k for k in task if "." in k]
            if len(mods) != 1:
                found.append((str(task.get("name")), f"<{len(mods)} modules: {mods}>", None))
                continue
            found.append((str(task.get("name")), mods[0], task[mods[0]]))
    return found


def ansible_doc(modules: list[str], executable: str = "ansible-doc") -> dict[str, dict]:
    """{module: its documented options} from ``ansible-doc -j`` (one call for all)."""
    res = subprocess.run([executable, "-j", *sorted(set(modules))], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"ansible-doc -j failed (rc {res.returncode}): {res.stderr.strip()[:300]}")
    data = json.loads(res.stdout)
    return {m: (d.get("doc") or {}).get("options") or {} for m, d in data.items()}


def _templated(value) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def option_errors(playbook: Path, docs: dict[str, dict]) -> list[str]:
    """One line per unknown module, unknown option or value outside an option's choices."""
    errors = []
    for name, module, args in modules_used(playbook):
        if module not in docs:
            errors.append(f"task '{name}': module {module} is not documented (not installed, or a typo)")
            continue
        if not isinstance(args, dict):  # free form (raw, command): no options
            if args is not None and not isinstance(args, str):
                errors.append(f"task '{name}': {module} takes a mapping of options or a free-form string")
            continue
        options = docs[module]
        if "key_value" in options:  # set_fact: its keys are the variables it sets
            errors += [f"task '{name}': {module}: '{k}' is not a variable name" for k in args
                       if k not in options and not re.fullmatch(r"[a-z_][a-z0-9_]*", k)]
            continue
        names = {alias: key for key, spec in options.items() for alias in [key, *(spec.get("aliases") or [])]}
        for opt, value in args.items():
            if opt not in names:
                errors.append(f"task '{name}': {module} has no option '{opt}' (options: {', '.join(sorted(options))})")
                continue
            choices = options[names[opt]].get("choices")
            if not choices or _templated(value):
                continue
            if isinstance(choices, dict):
                choices = list(choices)
            for v in value if isinstance(value, list) else [value]:
                if not _templated(v) and v not in choices:
                    errors.append(f"task '{name}': {module} option '{opt}': {v!r} is not one of "
                                  f"{', '.join(map(str, choices))}")
    return errors
