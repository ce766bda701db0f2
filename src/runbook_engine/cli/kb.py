"""`runbook check` and `runbook schema`: the knowledge base itself."""
from __future__ import annotations

from pathlib import Path

from runbook_engine.cli.base import EXIT_OK, check_project, fail_input, project_of


def cmd_check(args) -> int:
    project = project_of(args)
    errors = check_project(project)
    if errors:
        return fail_input(errors)
    kb = project.knowledge
    print(f"ok: {len(kb.guides)} guide(s), {len(kb.family.ports)} port records, scripts lint clean")
    return EXIT_OK


def cmd_schema(args) -> int:
    from runbook_engine.artifacts.files import write_atomic
    from runbook_engine.model.jsonschema import render

    project = project_of(args)
    folder = Path(args.out) if args.out else project.root / "schema"
    for name, text in render().items():
        print(write_atomic(folder / name, text.encode("utf-8")))
    return EXIT_OK


def register(sub) -> None:
    sub.add_parser("check", help="validate kb/ and lint every generated script").set_defaults(func=cmd_check)
    s = sub.add_parser("schema", help="write the JSON Schemas of the YAML files")
    s.add_argument("--out", help="folder for the *.schema.json files (default: schema/)")
    s.set_defaults(func=cmd_schema)
