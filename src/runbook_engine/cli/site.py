"""`runbook build` and `runbook serve`: notebooks and the bilingual site, or with ``--inventory``
the manual for that cluster (the guide's pages with the cluster's values and a parameter sheet,
in a folder of its own: ``site-<cluster>/`` by default)."""
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


def deployment_lines(deployment, report) -> list[str]:
    """What `runbook build --inventory` says: the cluster's manual, each language."""
    lines = [f"manual for cluster {deployment.cluster} (guide {deployment.guide}) from {deployment.inventory}"]
    lines += [f"site ({b.lang}): {b.pages} pages in {b.seconds:.1f} s -> {b.site_dir}" for b in report.languages.values()]
    return lines


def cluster_manual(project, inventory: str):
    """The values of the manual for the cluster of *inventory* (a bad inventory: one line, exit 2)."""
    from runbook_engine.publish.deployment import DeploymentError, load_deployment

    try:
        return load_deployment(project, inventory)
    except DeploymentError as exc:
        raise BadArgument(f"--inventory {inventory}: {exc}") from None


def cmd_build(args) -> int:
    project = project_of(args)
    errors = check_project(project)
    if errors:
        return fail_input(errors)
    if args.inventory:
        return build_manual(args, project)
    out = site_folder(args.out, project.root / "site")
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


def build_manual(args, project) -> int:
    """`runbook build --inventory INV`: the manual for that cluster, atomically, into --out or
    site-<cluster>/ (the notebooks of runbooks/ are not touched: the manual has its own)."""
    from runbook_engine.publish.build import build_site
    from runbook_engine.publish.site import SiteBuildError

    deployment = cluster_manual(project, args.inventory)
    out = site_folder(args.out, project.root / f"site-{deployment.cluster}")
    try:
        report = build_site(project, out, inventory=Path(args.inventory))
    except SiteBuildError as exc:
        return fail_input([f"error: {exc}"])
    if args.json:
        print(json.dumps({**build_json([], report), "cluster": deployment.cluster, "guide": deployment.guide,
                          "inventory": deployment.inventory}, ensure_ascii=False, indent=2))
    else:
        print("\n".join(deployment_lines(deployment, report)))
    return EXIT_OK


def cmd_serve(args) -> int:
    project = project_of(args)
    deployment = cluster_manual(project, args.inventory) if args.inventory else None
    default = project.state / (f"site-{deployment.cluster}" if deployment else "site")
    out = site_folder(args.out, default)
    listening_address(args.host, args.port)
    errors = check_project(project)
    if errors:
        return fail_input(errors)
    from runbook_engine.artifacts.notebooks import write_notebooks
    from runbook_engine.publish.site import SiteBuildError, serve

    prepare = write_notebooks if deployment is None else None  # a cluster's manual has its own notebooks
    if prepare is not None:
        prepare(project)
    try:
        serve(project, host=args.host, port=args.port, out=out, prepare=prepare,
              inventory=Path(args.inventory) if args.inventory else None)
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
    b.add_argument("--inventory", "-i", metavar="INV",
                   help="build the manual for this inventory's cluster instead (its values in the guide's pages, "
                        "a parameter sheet; default folder: site-CLUSTER/)")
    b.set_defaults(func=cmd_build)
    sv = sub.add_parser("serve", help="build, then serve the site on 127.0.0.1, rebuilding it when kb/, snippets/ or docs/ change")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    sv.add_argument("--port", type=port_number, default=8000, help="port (default: 8000; 0: any free port, printed)")
    sv.add_argument("--out", help="site folder, replaced as a whole (default: the state folder's site/)")
    sv.add_argument("--inventory", "-i", metavar="INV",
                    help="serve the manual for this inventory's cluster (rebuilt when the inventory changes too)")
    sv.set_defaults(func=cmd_serve)
