"""`runbook build` and `runbook serve`: notebooks and the bilingual site."""
from __future__ import annotations

from pathlib import Path

from runbook_engine.cli.base import EXIT_OK, check_project, fail_input, project_of


def cmd_build(args) -> int:
    project = project_of(args)
    errors = check_project(project)
    if errors:
        return fail_input(errors)
    from runbook_engine.publish.build import build_all
    from runbook_engine.publish.site import SiteBuildError

    out = Path(args.out) if args.out else project.root / "site"
    try:
        written, report = build_all(project, out)  # notebooks and site together, or neither
    except SiteBuildError as exc:
        return fail_input([f"error: {exc}"])
    print(f"notebooks: {len(written)} written to {project.runbooks}")
    print(f"site: {out} ({report})")
    return EXIT_OK


def cmd_serve(args) -> int:
    project = project_of(args)
    errors = check_project(project)
    if errors:
        return fail_input(errors)
    from runbook_engine.artifacts.notebooks import write_notebooks
    from runbook_engine.publish.site import SiteBuildError, serve

    write_notebooks(project)
    try:
        serve(project, host=args.host, port=args.port, out=Path(args.out) if args.out else None,
              prepare=write_notebooks)
    except SiteBuildError as exc:
        return fail_input([f"error: {exc}"])
    return EXIT_OK


def register(sub) -> None:
    b = sub.add_parser("build", help="build notebooks and the bilingual site (atomic)")
    b.add_argument("--out", help="site folder (default: site/)")
    b.set_defaults(func=cmd_build)
    sv = sub.add_parser("serve", help="build, then serve the site on 127.0.0.1, rebuilding it when kb/, snippets/ or docs/ change")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    sv.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0: any free port, printed)")
    sv.add_argument("--out", help="site folder (default: .runbook/site)")
    sv.set_defaults(func=cmd_serve)
