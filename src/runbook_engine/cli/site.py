"""`runbook build` and `runbook serve`: notebooks and the bilingual site."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from runbook_engine.cli.arguments import BadArgument
from runbook_engine.cli.base import EXIT_OK, check_project, fail_input, project_of


def site_folder(value: str | None, default: Path) -> Path:
    """The folder a build replaces: *value* (``--out``) or *default*. A build swaps the whole
    folder, so an existing file, or a folder that holds something other than a site (no
    index.html), is refused rather than replaced."""
    out = Path(value) if value else default
    if out.exists() and not out.is_dir():
        raise BadArgument(f"--out {out}: a file, not a folder (the site is a folder that a build replaces)")
    if out.is_dir() and any(out.iterdir()) and not (out / "index.html").is_file():
        raise BadArgument(f"--out {out}: a folder that is not a site (no index.html): a build replaces the "
                          "whole folder, give an empty or a new one")
    return out


def build_lines(project, written: list[Path], report) -> list[str]:
    """What `runbook build` says: the notebooks written, then each language of the site."""
    lines = [f"notebooks: {len(written)} written to {project.runbooks}"
             + ("" if written else " (all up to date)")]
    lines += [f"site ({b.lang}): {b.pages} pages in {b.seconds:.1f} s -> {b.site_dir}" for b in report.languages.values()]
    return lines


def build_json(written: list[Path], report) -> dict:
    return {"notebooks": [str(p) for p in written], "site": str(report.out),
            "languages": {b.lang: {"pages": b.pages, "seconds": round(b.seconds, 3), "folder": str(b.site_dir)}
                          for b in report.languages.values()}}


def cmd_build(args) -> int:
    project = project_of(args)
    out = site_folder(args.out, project.root / "site")
    errors = check_project(project)
    if errors:
        return fail_input(errors)
    from runbook_engine.publish.build import build_all
    from runbook_engine.publish.site import SiteBuildError

    try:
        written, report = build_all(project, out)  # notebooks and site together, or neither
    except SiteBuildError as exc:
        return fail_input([f"error: {exc}"])
    if args.json:
        print(json.dumps(build_json(written, report), ensure_ascii=False, indent=2))
    else:
        print("\n".join(build_lines(project, written, report)))
    return EXIT_OK


def cmd_serve(args) -> int:
    project = project_of(args)
    out = site_folder(args.out, project.state / "site")
    listening_address(args.host, args.port)
    errors = check_project(project)
    if errors:
        return fail_input(errors)
    from runbook_engine.artifacts.notebooks import write_notebooks
    from runbook_engine.publish.site import SiteBuildError, serve

    write_notebooks(project)
    try:
        serve(project, host=args.host, port=args.port, out=out, prepare=write_notebooks)
    except SiteBuildError as exc:
        return fail_input([f"error: {exc}"])
    except OSError as exc:  # the address is taken (or went away while the site was built)
        return fail_input([f"error: --host {args.host} --port {args.port}: cannot listen there: {exc.strerror or exc}"])
    return EXIT_OK


def port_number(value: str) -> int:
    """A TCP port for --port: 0 (any free port) to 65535."""
    try:
        port = int(value, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a port number (0 to 65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535)")
    return port


def listening_address(host: str, port: int) -> None:
    """Refuse, before the site is built, an address this machine cannot listen on."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise BadArgument(f"--host {host}: not an address of this machine ({exc.strerror})") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(addr)
        except OSError as exc:
            raise BadArgument(f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc})") from None


def register(sub) -> None:
    b = sub.add_parser("build", help="build notebooks and the bilingual site (atomic)")
    b.add_argument("--out", help="site folder, replaced as a whole (default: site/)")
    b.add_argument("--json", action="store_true", help="print the notebooks written and each language's pages as JSON")
    b.set_defaults(func=cmd_build)
    sv = sub.add_parser("serve", help="build, then serve the site on 127.0.0.1, rebuilding it when kb/, snippets/ or docs/ change")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    sv.add_argument("--port", type=port_number, default=8000, help="port (default: 8000; 0: any free port, printed)")
    sv.add_argument("--out", help="site folder, replaced as a whole (default: the state folder's site/)")
    sv.set_defaults(func=cmd_serve)
