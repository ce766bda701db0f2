"""`runbook run`: a guide's runbook notebook on one node, with an audit record."""
from __future__ import annotations

import json
import os
from pathlib import Path

from runbook_engine.cli.base import fail_input, project_of
from runbook_engine.cli.engine import load_inventory_for
from runbook_engine.model.errors import KbInvalid
from runbook_engine.model.rules import LANGS


def answers_errors(path: str, guide) -> list:
    """An answers file is a mapping of the guide's manual step ids to a note (or nothing), read
    as safely as kb/; anything else is one located line."""
    from runbook_engine.model.errors import KbError
    from runbook_engine.model.yamlio import locate, read_yaml

    p = Path(path)
    raw = read_yaml(p, p.parent, confine=False)
    if raw is None:
        return []
    if not isinstance(raw, dict):
        what = "a list" if isinstance(raw, list) else "a single value"
        return [KbError(str(p), 1, f"an answers file maps step ids to notes ({{step id: note}}), not {what}")]
    manual = {s.id for s in guide.steps() if s.mode == "manual"}
    errs = []
    for k, v in raw.items():
        if k not in manual:
            errs.append(KbError(str(p), locate(raw, (k,)), f"{k}: not a manual step of guide '{guide.id}'"))
        elif v is not None and not isinstance(v, str):
            errs.append(KbError(str(p), locate(raw, (k,)), f"{k}: the note must be text"))
    return errs


def cmd_run(args) -> int:
    from runbook_engine.publish.execute import RunRequest, run_notebook

    project = project_of(args)
    try:
        kb = project.knowledge
        if args.guide not in kb.guides:
            return fail_input([f"error: unknown guide '{args.guide}' (known: {', '.join(kb.guides)})"])
        inv_path = args.inventory or str(project.sandbox_inventory)
        inv = load_inventory_for(project, inv_path)
        if args.node not in {n.name for n in inv.nodes}:
            return fail_input([f"error: --node {args.node}: not a node of {inv_path} "
                               f"(nodes: {', '.join(n.name for n in inv.nodes)})"])
        errs = answers_errors(args.answers, kb.guides[args.guide]) if args.answers else []
        steps = {s.id for s in kb.guides[args.guide].steps()}
        errs += [f"error: --confirm {c}: no such step in guide '{args.guide}'" for c in args.confirm or [] if c not in steps]
        if errs:
            return fail_input(errs)
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
