"""`runbook build` and `runbook serve`: notebooks and the bilingual site, or with ``--inventory``
the manual for that cluster (the guide's pages with the cluster's values and a parameter sheet,
in a folder of its own: ``site-<cluster>/`` by default).

Both show each stage of the build as it starts and ends (:class:`BuildProgress`, from the stages
publish/progress.py tells), in the operator's language: plain lines in a pipe or a file, with a
progress display of the pages on a terminal, nothing but the JSON with ``--json``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from runbook_engine.cli.arguments import BadArgument, lang_option
from runbook_engine.cli.base import EXIT_OK, check_project, error, fail_input, messages_for, project_of
from runbook_engine.cli.display import Display
from runbook_engine.engine.messages import Messages, Said, plain
from runbook_engine.publish.progress import Stage


def site_folder(value: str | None, default: Path) -> Path:
    """The folder a build replaces: *value* (``--out``) or *default*. A build swaps the whole
    folder, so an existing file, or a folder that holds something other than a site (no
    index.html), is refused rather than replaced."""
    out = Path(value) if value else default
    if out.exists() and not out.is_dir():
        raise BadArgument(Said.of("error-out-file-site", path=out))
    if out.is_dir() and any(out.iterdir()) and not (out / "index.html").is_file():
        raise BadArgument(Said.of("error-out-not-site", path=out))
    return out


class BuildProgress:
    """What a build shows as it goes: a line as each stage starts and as it ends (the notebooks,
    each language's pages and search index, a PDF's print, the whole build), and on a terminal a
    progress display of the pages being rendered (cli/display.py). Called with each
    publish.progress.Stage; with --json the display is quiet."""

    def __init__(self, say: Messages, display: Display):
        self.say, self.display = say, display
        self.started = time.perf_counter()

    def show(self, said: Said) -> None:
        self.display.line(plain(self.say.text(said)))

    def __call__(self, stage: Stage) -> None:
        seconds = self.say.L("seconds", s=f"{stage.seconds:.1f}") if stage.seconds is not None else ""
        if stage.name == "page":
            self.display.advance()
        elif stage.name == "notebooks" and not stage.done:
            self.show(Said.of("build-notebooks-start"))
        elif stage.name == "notebooks":
            self.show(Said.of("build-notebooks-done", n=stage.count, path=stage.path) if stage.count
                      else Said.of("build-notebooks-fresh", path=stage.path))
        elif stage.name == "pages":
            pages = Said.of("build-pages-start", lang=stage.lang, n=stage.count)
            self.show(pages)
            self.display.start(plain(self.say.text(pages)), stage.count)
        elif stage.name == "search":
            self.display.stop()
            self.show(Said.of("build-search-start", lang=stage.lang))
        elif stage.name == "language" and stage.path is None:  # a PDF's pages: built in a scratch folder
            self.display.stop()
            self.show(Said.of("build-language-built", lang=stage.lang, n=stage.count, seconds=seconds))
        elif stage.name == "language":
            self.display.stop()
            self.show(Said.of("build-language-done", lang=stage.lang, n=stage.count, seconds=seconds, path=stage.path))
        elif stage.name == "print":
            self.show(Said.of("build-print-start"))
        elif stage.name == "site":
            elapsed = self.say.L("seconds", s=f"{time.perf_counter() - self.started:.1f}")
            self.show(Said.of("build-done", seconds=elapsed, path=stage.path))


def build_json(written: list[Path], report) -> dict:
    return {"notebooks": [str(p) for p in written], "site": str(report.out),
            "languages": {b.lang: {"pages": b.pages, "seconds": round(b.seconds, 3), "folder": str(b.site_dir)}
                          for b in report.languages.values()}}


def cluster_manual(project, inventory: str):
    """The values of the manual for the cluster of *inventory* (a bad inventory: one line, exit 2)."""
    from runbook_engine.publish.deployment import DeploymentError, load_deployment

    try:
        return load_deployment(project, inventory)
    except DeploymentError as exc:
        raise BadArgument(Said.of("error-about", what=f"--inventory {inventory}", text=str(exc))) from None


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

    say = messages_for(project, args.lang)
    with Display(quiet=args.json) as display:
        try:
            written, report = build_all(project, out, on_stage=BuildProgress(say, display))  # both, or neither
        except SiteBuildError as exc:
            display.stop()
            return fail_input([error(str(exc))], say)
    if args.json:
        print(json.dumps(build_json(written, report), ensure_ascii=False, indent=2))
    return EXIT_OK


def build_manual(args, project) -> int:
    """`runbook build --inventory INV`: the manual for that cluster, atomically, into --out or
    site-<cluster>/ (the notebooks of runbooks/ are not touched: the manual has its own)."""
    from runbook_engine.publish.build import build_site
    from runbook_engine.publish.site import SiteBuildError

    deployment = cluster_manual(project, args.inventory)
    out = site_folder(args.out, project.root / f"site-{deployment.cluster}")
    say = messages_for(project, args.lang)
    with Display(quiet=args.json) as display:
        progress = BuildProgress(say, display)
        progress.show(Said.of("build-manual", cluster=deployment.cluster, guide=deployment.guide,
                                 inventory=deployment.inventory))
        try:
            report = build_site(project, out, inventory=Path(args.inventory), on_stage=progress)
        except SiteBuildError as exc:
            display.stop()
            return fail_input([error(str(exc))], say)
    if args.json:
        print(json.dumps({**build_json([], report), "cluster": deployment.cluster, "guide": deployment.guide,
                          "inventory": deployment.inventory}, ensure_ascii=False, indent=2))
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

    say = messages_for(project, args.lang)
    prepare = write_notebooks if deployment is None else None  # a cluster's manual has its own notebooks
    with Display() as display:
        progress = BuildProgress(say, display)
        if deployment is not None:
            progress.show(Said.of("build-manual", cluster=deployment.cluster, guide=deployment.guide,
                                  inventory=deployment.inventory))
        if prepare is not None:
            progress(Stage("notebooks"))
            written = prepare(project)
            progress(Stage("notebooks", done=True, count=len(written), path=project.runbooks))
        try:
            serve(project, host=args.host, port=args.port, out=out, prepare=prepare,
                  inventory=Path(args.inventory) if args.inventory else None, on_stage=progress,
                  log=lambda said: display.line(plain(say.text(said))))
        except SiteBuildError as exc:
            display.stop()
            return fail_input([error(str(exc))], say)
        except OSError as exc:  # the address is taken (or went away while the site was built)
            display.stop()
            return fail_input([error(Said.of("error-listen", host=args.host, port=args.port,
                                             reason=exc.strerror or str(exc)))], say)
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
        raise BadArgument(Said.of("error-host", host=host, reason=exc.strerror)) from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(addr)
        except OSError as exc:
            raise BadArgument(Said.of("error-listen", host=host, port=port, reason=exc.strerror or str(exc))) from None


def register(sub) -> None:
    b = sub.add_parser("build", help="build notebooks and the bilingual site (atomic)")
    b.add_argument("--out", help="site folder, replaced as a whole (default: site/)")
    b.add_argument("--json", action="store_true", help="print the notebooks written and each language's pages as JSON")
    b.add_argument("--inventory", "-i", metavar="INV",
                   help="build the manual for this inventory's cluster instead (its values in the guide's pages, "
                        "a parameter sheet; default folder: site-CLUSTER/)")
    lang_option(b)
    b.set_defaults(func=cmd_build)
    sv = sub.add_parser("serve", help="build, then serve the site on 127.0.0.1, rebuilding it when kb/, snippets/ or docs/ change")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    sv.add_argument("--port", type=port_number, default=8000, help="port (default: 8000; 0: any free port, printed)")
    sv.add_argument("--out", help="site folder, replaced as a whole (default: the state folder's site/)")
    sv.add_argument("--inventory", "-i", metavar="INV",
                    help="serve the manual for this inventory's cluster (rebuilt when the inventory changes too)")
    lang_option(sv)
    sv.set_defaults(func=cmd_serve)
