"""`runbook check`, `runbook schema` and `runbook new`: the knowledge base itself."""
from __future__ import annotations

import sys
from pathlib import Path

from runbook_engine.cli.arguments import BadArgument, lang_option
from runbook_engine.cli.base import EXIT_OK, check_project, fail_input, messages_for, messages_of, project_of, worded
from runbook_engine.engine.messages import Said, plain


def cmd_check(args) -> int:
    project = project_of(args)
    errors = check_project(project)
    if errors:
        return fail_input(errors)
    kb = project.knowledge
    say = messages_for(project, args.lang)
    print(plain(say.L("check-ok", guides=len(kb.guides), ports=sum(len(f.ports) for f in kb.families.values()),
                      families=len(kb.families))))
    return EXIT_OK


def schema_files() -> dict[str, str]:
    """File name -> text of every JSON Schema: the knowledge base's (model/jsonschema.py) and the
    inventory's (engine/inventory.py, which knows the transports)."""
    import json

    from runbook_engine.engine.inventory import SCHEMA_FILE, json_schema
    from runbook_engine.model.jsonschema import render

    return {**render(), SCHEMA_FILE: json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"}


def cmd_schema(args) -> int:
    from runbook_engine.artifacts.files import write_atomic

    project = project_of(args)
    folder = Path(args.out) if args.out else project.root / "schema"
    if folder.exists() and not folder.is_dir():
        raise BadArgument(Said.of("error-out-file-schema", path=folder))
    for name, text in schema_files().items():
        print(write_atomic(folder / name, text.encode("utf-8")))
    return EXIT_OK


def cmd_new(args) -> int:
    from runbook_engine.artifacts.scaffold import render_scaffold, write_folder
    from runbook_engine.model.errors import KbInvalid
    from runbook_engine.model.loader import load_family
    from runbook_engine.model.rules import PLACEHOLDER, fits

    project = project_of(args)
    say = messages_of(args)  # before the new guide's placeholders make kb/ invalid
    gid = args.guide_id
    if not fits("id", gid) or len(gid) > 64:
        raise BadArgument(Said.of("error-new-not-id", id=repr(gid)))
    folder = project.kb / "guides" / gid
    if folder.exists():
        raise BadArgument(Said.of("error-new-exists", id=gid, path=folder))
    try:
        family = load_family(project.kb, args.family)
    except KbInvalid as exc:
        return fail_input(exc.errors)
    files = render_scaffold(family, gid, project.snippets, product=args.product)
    try:
        write_folder(folder, files)
    except FileExistsError:
        raise BadArgument(Said.of("error-new-exists", id=gid, path=folder)) from None
    for name in files:
        print(folder / name)
    print(worded(say, Said.of("new-todo", placeholder=PLACEHOLDER)), file=sys.stderr)
    return EXIT_OK


def register(sub) -> None:
    c = sub.add_parser("check", help="validate kb/ and lint every generated script")
    lang_option(c)
    c.set_defaults(func=cmd_check)
    s = sub.add_parser("schema", help="write the JSON Schemas of the YAML files (kb/ and inventories)")
    s.add_argument("--out", help="folder for the *.schema.json files (default: schema/)")
    s.set_defaults(func=cmd_schema)
    n = sub.add_parser("new", help="start a guide: write kb/guides/GUIDE_ID/ with every file, placeholders to fill in")
    n.add_argument("guide_id", metavar="GUIDE_ID", help="the new guide's id and folder name (lower-case kebab-case)")
    n.add_argument("--product", metavar="NAME", help="the product's name, in both languages (default: a placeholder)")
    n.add_argument("--family", metavar="FAMILY", required=True,
                   help="the product family the guide runs on: a file name of kb/family/ without .yaml "
                        "(clusterpro-x-windows, clusterpro-x-linux)")
    lang_option(n)
    n.set_defaults(func=cmd_new)
