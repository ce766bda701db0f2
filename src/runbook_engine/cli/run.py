"""`runbook run`: a guide's runbook notebook on one node, with an audit record."""
from __future__ import annotations

import json
import os
from pathlib import Path

from runbook_engine.cli.base import fail_input, project_of
from runbook_engine.cli.engine import load_inventory_for
from runbook_engine.model.errors import KbInvalid
from runbook_engine.model.rules import LANGS


def cmd_run(args) -> int:
    from runbook_engine.publish.execute import RunRequest, run_notebook

    project = project_of(args)
    try:
        project.knowledge
        inv_path = args.inventory or str(project.sandbox_inventory)
        load_inventory_for(project, inv_path)
    except KbInvalid as exc:
        return fail_input(exc.errors)
    req = RunRequest(guide=args.guide, node=args.node, lang=args.lang, mode="apply" if args.apply else "plan",
                     inventory=str(Path(inv_path).resolve()), confirm=list(args.confirm or []),
                     answers=args.answers, operator=args.operator)
    try:
        summary = run_notebook(project, req)
    except KbInvalid as exc:
        return fail_input(exc.errors)
    print(json.dumps({k: summary[k] for k in ("run_id", "status", "exit_code", "notebook", "summary_path")},
                     ensure_ascii=False, indent=2))
    return summary["exit_code"]


def register(sub) -> None:
    rn = sub.add_parser("run", help="run a guide's runbook notebook on a node with nbclient")
    rn.add_argument("guide", help="guide id")
    rn.add_argument("--node", required=True, help="node name in the inventory")
    rn.add_argument("--lang", choices=list(LANGS), default="ja", help="notebook language (default: ja)")
    rn.add_argument("--apply", action="store_true", help="apply changes (default: plan only)")
    rn.add_argument("--confirm", action="append", metavar="STEP_ID", help="confirm a manual step (repeatable)")
    rn.add_argument("--answers", help="YAML file: {step_id: note} for manual steps")
    rn.add_argument("--operator", default=os.environ.get("USER", "operator"), help="who runs it (default: $USER)")
    rn.add_argument("--inventory", "-i", help="inventory YAML (default: the sandbox's)")
    rn.set_defaults(func=cmd_run)
