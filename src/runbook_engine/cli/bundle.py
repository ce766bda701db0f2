"""`runbook bundle plan | apply | rollback` and `runbook import`: the engine for a node that no
transport reaches, through one .cmd file carried to the node and its result carried back."""
from __future__ import annotations

import sys

from runbook_engine.cli.arguments import (engine_steps, inventory_path, known_nodes, known_plan_bundle, known_run,
                                          lang_option)
from runbook_engine.cli.base import EXIT_OK, fail_input, messages_for, project_of
from runbook_engine.cli.engine import guide_for, load_inventory_for, show
from runbook_engine.engine.messages import plain
from runbook_engine.model.errors import KbInvalid


def _inventory(project, args):
    return load_inventory_for(project, args.inventory)


def _said(written, args, say) -> None:
    rec = written.record
    inv = f" --inventory {args.inventory}" if args.inventory else ""
    print(plain(say.L("bundle-wrote", cmd=written.cmd, kind=say.L(f"bundle-kind-{rec.kind}"), id=rec.id, node=rec.node,
                      guide=rec.guide, batches=len(rec.batches), commands=written.commands, digest=rec.digest)))
    print(plain(say.L("bundle-carry", node=rec.node, result=rec.result_name)))
    print(plain(say.L("bundle-then", command=f"runbook import {rec.result_name}{inv}")))


def cmd_bundle(args) -> int:
    from runbook_engine.engine.bundle.offline import (BundleRefused, NothingToChange, check_node, write_apply_bundle,
                                                      write_plan_bundle, write_rollback_bundle)

    project = project_of(args)
    try:
        source = inventory_path(project, args.inventory)
        if args.kind != "rollback":
            kb = project.knowledge  # bad kb/ exits 2 before anything is written
        inv = _inventory(project, args)
        known_nodes(inv, [args.node], source)
        check_node(inv, args.node)
        if args.kind != "rollback":
            engine_steps(guide_for(kb, args.guide, inv, source), args.step)
        if args.kind == "apply" and args.plan:
            known_plan_bundle(project.state, args.plan)
        if args.kind == "rollback":
            known_run(project.state, args.run_id, cluster=inv.cluster)
        if args.kind == "plan":
            written = write_plan_bundle(project, inv, args.node, guide=args.guide, steps=args.step, out=args.out)
        elif args.kind == "apply":
            written = write_apply_bundle(project, inv, args.node, guide=args.guide, steps=args.step,
                                         plan_id=args.plan, out=args.out, ask=not args.yes)
        else:
            written = write_rollback_bundle(project, inv, args.run_id, args.node, out=args.out, ask=not args.yes)
    except KbInvalid as exc:
        return fail_input(exc.errors)
    except BundleRefused as exc:
        return fail_input([str(exc)])
    except NothingToChange as exc:
        print(plain(messages_for(project, args.lang).L("bundle-nothing", node=args.node, plan=exc.plan)))
        return EXIT_OK
    _said(written, args, messages_for(project, args.lang))
    return EXIT_OK


def cmd_import(args) -> int:
    from runbook_engine.engine.bundle.offline import BundleRefused, import_result

    project = project_of(args)
    try:
        project.knowledge
        inv = _inventory(project, args)
        if args.node:
            known_nodes(inv, [args.node], inventory_path(project, args.inventory))
        done = import_result(project, inv, args.result, node=args.node)
    except KbInvalid as exc:
        return fail_input(exc.errors)
    except BundleRefused as exc:
        return fail_input([str(exc)])
    say = messages_for(project, args.lang)
    code = show(done.report, args.json, say)
    rec = done.record
    label = "bundle-imported-journal" if done.journal else "bundle-imported"
    print(plain(say.L(label, kind=say.L(f"bundle-kind-{rec.kind}"), id=rec.id, node=rec.node, computer=done.computer,
                      journal=done.journal)),
          file=sys.stderr if args.json else sys.stdout)
    return code


def register(sub) -> None:
    b = sub.add_parser("bundle", help="write a .cmd that plans, applies or rolls back one node offline")
    kinds = b.add_subparsers(dest="kind", required=True)
    for kind, help_ in (("plan", "read the node's facts (what `runbook plan` reads there)"),
                        ("apply", "apply what the node's imported plan left to change")):
        k = kinds.add_parser(kind, help=help_)
        k.add_argument("guide", nargs="?", default=None, help="guide id (default: the inventory's)")
        k.add_argument("--step", action="append", help="only this step id (repeatable)")
        if kind == "apply":
            k.add_argument("--plan", help="the plan bundle to apply (default: the node's latest imported one)")
    r = kinds.add_parser("rollback", help="undo a run's changes on the node (from its journal)")
    r.add_argument("run_id", help="the run id printed by apply or import")
    for k in (kinds.choices["plan"], kinds.choices["apply"], r):
        k.add_argument("--node", required=True, help="node name in the inventory")
        k.add_argument("--inventory", "-i", help="inventory YAML (default: the sandbox's)")
        k.add_argument("--out", "-o", help="the .cmd file to write (default: ./<node>-<kind>-<id>.cmd)")
        lang_option(k)
        if k is not kinds.choices["plan"]:
            k.add_argument("--yes", "-y", action="store_true",
                           help="the .cmd changes the node without listing the changes and asking first")
        k.set_defaults(func=cmd_bundle)

    i = sub.add_parser("import", help="import the result of an offline bundle (the report of a live run)")
    i.add_argument("result", help="the result file the bundle wrote on the node")
    i.add_argument("--inventory", "-i", help="inventory YAML (default: the sandbox's)")
    i.add_argument("--node", help="refuse a result that is not this node's")
    i.add_argument("--json", action="store_true", help="print the report as JSON")
    lang_option(i)
    i.set_defaults(func=cmd_import)
