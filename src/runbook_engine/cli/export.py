"""`runbook export ansible GUIDE`: the guide's engine steps as an Ansible playbook (flavours
``modules`` and ``raw``) and an inventory template, from the engine's desired() data on an
inventory (default: the sandbox's)."""
from __future__ import annotations

import json
from pathlib import Path

from runbook_engine.cli.arguments import BadArgument, inventory_path, known_guide, lang_option
from runbook_engine.cli.base import error, fail_input, messages_for, project_of
from runbook_engine.engine.messages import Said, plain
from runbook_engine.model.errors import KbInvalid


def cmd_export_ansible(args) -> int:
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.export.ansible import FLAVOURS, export_ansible
    from runbook_engine.export.steps import ExportError

    project = project_of(args)
    try:
        kb = project.knowledge
        guide = known_guide(kb, args.guide)
        source = inventory_path(project, args.inventory)
        inv = load_inventory(source)
    except KbInvalid as exc:
        return fail_input(exc.errors)
    if kb.family_of(guide).os != inv.platform:
        raise BadArgument(Said.of("error-platform-mismatch", guide=guide.id, os=kb.family_of(guide).os, path=source,
                                  platform=inv.platform))
    out = Path(args.out) if args.out else Path("ansible") / guide.id
    if out.exists() and not out.is_dir():
        raise BadArgument(Said.of("error-out-file", path=out))
    flavours = FLAVOURS if args.flavour == "both" else (args.flavour,)
    say = messages_for(project, args.lang)
    try:
        written = export_ansible(project, guide, inv, out, flavours)
    except ExportError as exc:
        return fail_input([error(str(exc))], say)
    if args.json:
        print(json.dumps({"guide": guide.id, "inventory": str(source), "out": str(out),
                          "files": [str(p) for p in written]}, ensure_ascii=False, indent=2))
    else:
        print(plain(say.L("export-done", guide=guide.id, inventory=source, path=out,
                          files=", ".join(p.name for p in written if p.parent == out),
                          n=sum(1 for p in written if p.parent != out))))
    return 0


def register(sub) -> None:
    e = sub.add_parser("export", help="write a guide's engine steps for another tool (Ansible)")
    tools = e.add_subparsers(dest="tool", required=True)
    a = tools.add_parser("ansible", help="an Ansible playbook (modules and/or raw flavour) and an inventory template")
    a.add_argument("guide", help="guide id")
    a.add_argument("--inventory", "-i", help="inventory YAML whose nodes and values the playbook uses (default: the sandbox's)")
    a.add_argument("--flavour", choices=("modules", "raw", "both"), default="both",
                   help="modules: idiomatic modules for real fleets; raw: the engine's command batches (default: both)")
    a.add_argument("--out", "-o", help="folder to write into (default: ansible/GUIDE)")
    a.add_argument("--json", action="store_true", help="print what was written as JSON")
    lang_option(a)
    a.set_defaults(func=cmd_export_ansible)
