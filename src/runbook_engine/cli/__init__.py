"""The ``runbook`` command: check, build, serve, plan, apply, verify, rollback, run, sandbox.

Exit codes: 0 converged / success, 1 drift or a failed change, 2 bad input, 3 waiting for an operator.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from runbook_engine.model.errors import KbError, KbInvalid
from runbook_engine.model.project import Project

EXIT_OK, EXIT_DRIFT, EXIT_INPUT, EXIT_WAITING = 0, 1, 2, 3


def _project(args) -> Project:
    return Project.find(getattr(args, "root", None))


def _fail_input(errors: list) -> int:
    for e in errors:
        print(str(e), file=sys.stderr)
    return EXIT_INPUT


# ------------------------------------------------------------------------------------------------
def check_project(project: Project) -> list[KbError]:
    """Everything `runbook check` validates: the knowledge base, then each guide's scripts (lint)."""
    from runbook_engine.publish.checks import lint_guides

    try:
        kb = project.knowledge
    except KbInvalid as exc:
        return exc.errors
    return lint_guides(project, kb)


def cmd_check(args) -> int:
    project = _project(args)
    errors = check_project(project)
    if errors:
        return _fail_input(errors)
    kb = project.knowledge
    print(f"ok: {len(kb.guides)} guide(s), {len(kb.family.ports)} port records, scripts lint clean")
    return EXIT_OK


def cmd_schema(args) -> int:
    from runbook_engine.artifacts.files import write_atomic
    from runbook_engine.model.jsonschema import render

    project = _project(args)
    folder = Path(args.out) if args.out else project.root / "schema"
    for name, text in render().items():
        print(write_atomic(folder / name, text.encode("utf-8")))
    return EXIT_OK


def cmd_build(args) -> int:
    project = _project(args)
    errors = check_project(project)
    if errors:
        return _fail_input(errors)
    from runbook_engine.artifacts.notebooks import write_notebooks
    from runbook_engine.publish.site import build_site

    from runbook_engine.publish.site import SiteBuildError

    written = write_notebooks(project)
    out = Path(args.out) if args.out else project.root / "site"
    try:
        report = build_site(project, out)
    except SiteBuildError as exc:
        return _fail_input([f"error: {exc}"])
    print(f"notebooks: {len(written)} written to {project.runbooks}")
    print(f"site: {out} ({report})")
    return EXIT_OK


def cmd_serve(args) -> int:
    project = _project(args)
    errors = check_project(project)
    if errors:
        return _fail_input(errors)
    from runbook_engine.artifacts.notebooks import write_notebooks
    from runbook_engine.publish.site import serve

    write_notebooks(project)
    serve(project, host=args.host, port=args.port, out=Path(args.out) if args.out else None)
    return EXIT_OK


# ------------------------------------------------------------------------------------------------
def _inventory(project: Project, path: str | None):
    from runbook_engine.engine.inventory import load_inventory

    if path is None:
        default = project.state / "sandbox" / "inventory.yaml"
        if not default.exists():
            raise KbInvalid([KbError(str(default), 1, "no inventory given and no sandbox yet: run `runbook sandbox create` or pass --inventory")])
        path = str(default)
    return load_inventory(Path(path))


def print_report(report, stream=sys.stdout) -> None:
    """A plain-text table per node: step, target, current -> desired, status."""
    from runbook_engine.engine.report import report_lines

    for line in report_lines(report):
        print(line, file=stream)


def _show(report, as_json: bool) -> int:
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        print_report(report)
    return report.exit_code


def cmd_engine(args) -> int:
    from runbook_engine.engine.runner import Runner

    project = _project(args)
    try:
        project.knowledge  # bad kb/ exits 2 before any node is touched
        inv = _inventory(project, args.inventory)
        nodes = None if args.all or not args.node else args.node
        runner = Runner(project, inv, guide_id=args.guide, nodes=nodes, steps=args.step or None)
    except KbInvalid as exc:
        return _fail_input(exc.errors)
    except KeyError as exc:
        return _fail_input([f"error: {exc.args[0]}"])
    return _show(runner.run(args.command), args.json)


def cmd_rollback(args) -> int:
    from runbook_engine.engine.runner import rollback

    project = _project(args)
    try:
        inv = _inventory(project, args.inventory)
        report = rollback(project, inv, args.run_id)
    except KbInvalid as exc:
        return _fail_input(exc.errors)
    except FileNotFoundError as exc:
        return _fail_input([f"error: {exc}"])
    return _show(report, args.json)


def cmd_sandbox(args) -> int:
    from runbook_engine.sandbox.cluster import create_cluster, destroy_cluster

    project = _project(args)
    try:
        kb = project.knowledge
    except KbInvalid as exc:
        return _fail_input(exc.errors)
    if args.sandbox_command == "create":
        inv_path = create_cluster(project, kb, nodes=args.nodes, guide_id=args.guide, dns=not args.no_dns)
        print(f"sandbox inventory: {inv_path}")
    else:
        destroy_cluster(project)
        print("sandbox removed")
    return EXIT_OK


def cmd_run(args) -> int:
    from runbook_engine.publish.execute import RunRequest, run_notebook

    project = _project(args)
    try:
        project.knowledge
        inv_path = args.inventory or str(project.state / "sandbox" / "inventory.yaml")
        _inventory(project, inv_path)
    except KbInvalid as exc:
        return _fail_input(exc.errors)
    req = RunRequest(guide=args.guide, node=args.node, lang=args.lang, mode="apply" if args.apply else "plan",
                     inventory=str(Path(inv_path).resolve()), confirm=list(args.confirm or []),
                     answers=args.answers, operator=args.operator)
    try:
        summary = run_notebook(project, req)
    except KbInvalid as exc:
        return _fail_input(exc.errors)
    print(json.dumps({k: summary[k] for k in ("run_id", "status", "exit_code", "notebook", "summary_path")},
                     ensure_ascii=False, indent=2))
    return summary["exit_code"]


# ------------------------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="runbook", description=__doc__.splitlines()[0])
    p.add_argument("--root", help="project folder (default: the nearest folder with kb/ and snippets/)")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("check", help="validate kb/ and lint every generated script").set_defaults(func=cmd_check)
    s = sub.add_parser("schema", help="write the JSON Schemas of the YAML files")
    s.add_argument("--out")
    s.set_defaults(func=cmd_schema)
    b = sub.add_parser("build", help="build notebooks and the bilingual site (atomic)")
    b.add_argument("--out", help="site folder (default: site/)")
    b.set_defaults(func=cmd_build)
    sv = sub.add_parser("serve", help="build, then serve the site on 127.0.0.1")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--out")
    sv.set_defaults(func=cmd_serve)

    for name, help_ in (("plan", "show what would change on each node (dry run)"),
                        ("apply", "change what differs, verify, journal every change"),
                        ("verify", "report drift from the guide and between nodes")):
        e = sub.add_parser(name, help=help_)
        e.add_argument("guide", nargs="?", default=None, help="guide id (default: the inventory's)")
        e.add_argument("--inventory", "-i")
        e.add_argument("--node", action="append", help="node name (repeatable)")
        e.add_argument("--all", action="store_true", help="every node of the inventory (default)")
        e.add_argument("--step", action="append", help="only this step id (repeatable)")
        e.add_argument("--json", action="store_true")
        e.set_defaults(func=cmd_engine)

    r = sub.add_parser("rollback", help="restore the before-state of a run")
    r.add_argument("run_id")
    r.add_argument("--inventory", "-i")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_rollback)

    sb = sub.add_parser("sandbox", help="the embedded Wine sandbox cluster")
    sbs = sb.add_subparsers(dest="sandbox_command", required=True)
    c = sbs.add_parser("create")
    c.add_argument("--nodes", type=int, default=4)
    c.add_argument("--guide", default="surfnavi")
    c.add_argument("--no-dns", action="store_true", help="do not start a BIND server for the DNS step")
    sbs.add_parser("destroy")
    sb.set_defaults(func=cmd_sandbox)

    rn = sub.add_parser("run", help="run a guide's runbook notebook on a node with nbclient")
    rn.add_argument("guide")
    rn.add_argument("--node", required=True)
    rn.add_argument("--lang", choices=["ja", "en"], default="ja")
    rn.add_argument("--apply", action="store_true", help="apply changes (default: plan only)")
    rn.add_argument("--confirm", action="append", metavar="STEP_ID", help="confirm a manual step (repeatable)")
    rn.add_argument("--answers", help="YAML file: {step_id: note} for manual steps")
    rn.add_argument("--operator", default=os.environ.get("USER", "operator"))
    rn.add_argument("--inventory", "-i")
    rn.set_defaults(func=cmd_run)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except KbInvalid as exc:
        return _fail_input(exc.errors)


if __name__ == "__main__":
    sys.exit(main())
