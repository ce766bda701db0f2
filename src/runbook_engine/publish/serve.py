"""Serve the built site over HTTP and rebuild it when its sources change (live preview).

A thread polls the modification times of kb/, snippets/, docs/, overrides/ and mkdocs.yml once a
second; on a change it rebuilds both languages with :func:`build_site` (atomic: the server keeps
serving the previous site until the new one is swapped in) and says so in one line. A failed
rebuild says its error in one line and the last good site stays served. The lines are
:class:`Said` values handed to a *log* callback, and the first build's stages go to *on_stage*
(publish/progress.py): the command line words and shows them. A path the site has no file for
(and a folder without an index page) is answered with status 404 and the 404 page of the language
the path is under (en/404.html below /en/, 404.html elsewhere). Polling rather than watchdog:
the trees are a few hundred files, a poll costs about a millisecond, and it behaves the same on
every file system (bind mounts and network shares included).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import posixpath
import threading
import time
from http import HTTPStatus
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

from runbook_engine.engine.messages import Said
from runbook_engine.model.project import Project
from runbook_engine.publish.build import build_site
from runbook_engine.publish.config import LANG_DIRS
from runbook_engine.publish.progress import OnStage, unheard

#: What a change in rebuilds the site (relative to the project root).
WATCHED = ("kb", "snippets", "docs", "overrides", "mkdocs.yml")
POLL_SECONDS = 1.0

Prepare = Callable[[Project], object]
Log = Callable[[Said], object]


def unsaid(line: Said) -> None:  # noqa: ARG001 - nobody reads
    """The log of a server nobody watches."""


def sources_state(root: Path, extra: tuple[Path, ...] = ()) -> dict[str, tuple[int, int]]:
    """Path → (mtime_ns, size) of every file the site is built from (and of the files *extra*:
    the inventory of a cluster's manual)."""
    state: dict[str, tuple[int, int]] = {}
    for path in extra:
        with contextlib.suppress(OSError):
            st = path.stat()
            state[str(path)] = (st.st_mtime_ns, st.st_size)
    for name in WATCHED:
        top = root / name
        for path in [top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []:
            with contextlib.suppress(OSError):  # removed while we looked
                if path.is_file():
                    st = path.stat()
                    state[str(path.relative_to(root))] = (st.st_mtime_ns, st.st_size)
    return state


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


class Rebuilder(threading.Thread):
    """Polls the project's sources and rebuilds *out* when they change (see the module doc)."""

    def __init__(self, project: Project, out: Path, *, prepare: Prepare | None = None,
                 interval: float = POLL_SECONDS, log: Log = unsaid,
                 inventory: Path | None = None):
        super().__init__(name="site-rebuilder", daemon=True)
        self.project, self.out, self.prepare, self.interval, self.log = project, out, prepare, interval, log
        self.inventory = inventory
        self.extra = (inventory,) if inventory is not None else ()
        self.stopped = threading.Event()
        self.state = sources_state(project.root, self.extra)

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            now = sources_state(self.project.root, self.extra)
            if now != self.state:
                changed = sorted(set(now.items()) ^ set(self.state.items()))
                self.state = now
                self.rebuild(sorted({path for path, _ in changed}))

    def rebuild(self, changed: list[str]) -> bool:
        """Build again from a fresh Project (kb/ re-read); True when the new site is served."""
        what = Said.of("serve-changed-more", path=changed[0], n=len(changed) - 1) if len(changed) > 1 else changed[0]
        project = Project(self.project.root, self.project.state_dir)
        start = time.perf_counter()
        try:
            if self.prepare is not None:
                self.prepare(project)
            build_site(project, self.out, inventory=self.inventory)
        except Exception as exc:  # noqa: BLE001 - any error: keep serving the last good site
            self.log(Said.of("serve-rebuild-failed", what=what, error=_one_line(exc)))
            return False
        self.log(Said.of("serve-rebuilt", seconds=f"{time.perf_counter() - start:.1f}", what=what))
        return True

    def stop(self) -> None:
        self.stopped.set()


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """http.server's file handler for the built site (``directory``): no folder listings, and a
    path without a file gets its language's 404 page with status 404 (see the module doc)."""

    def log_message(self, *args) -> None:  # one line per rebuild, not per request
        pass

    def not_found_page(self) -> Path:
        """The 404 page of the language the request's path is under."""
        first = posixpath.normpath(unquote(urlsplit(self.path).path)).lstrip("/").split("/", 1)[0]
        folder = first if first and first in LANG_DIRS.values() else ""
        return Path(self.directory) / folder / "404.html"

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = self.not_found_page() if code == HTTPStatus.NOT_FOUND else None
        if page is None or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(code, message)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def list_directory(self, path):  # noqa: ARG002 - a folder without index.html is no page
        self.send_error(HTTPStatus.NOT_FOUND)
        return None


def site_handler(out: Path):
    """The request handler serving the built site in *out* (http.server's handler factory)."""
    return functools.partial(SiteHandler, directory=str(out))


def serve(project: Project, host: str = "127.0.0.1", port: int = 8000, out: Path | None = None,
          *, prepare: Prepare | None = None, inventory: Path | None = None, on_stage: OnStage = unheard,
          log: Log = unsaid) -> None:
    """Build the site (its stages told to *on_stage*), then serve it with http.server until
    interrupted, rebuilding it when kb/, snippets/, docs/, overrides/ or mkdocs.yml change (one
    line to *log* per rebuild). *prepare* runs before every rebuild (the command line writes the
    notebooks with it). With *inventory*: the manual for that cluster, rebuilt when the
    inventory changes too."""
    out = Path(out).resolve() if out else project.state / "site"
    build_site(project, out, inventory=inventory, on_stage=on_stage)
    handler = site_handler(out)
    rebuilder = Rebuilder(project, out, prepare=prepare, inventory=inventory, log=log)
    with http.server.ThreadingHTTPServer((host, port), handler) as httpd:
        watched = ", ".join(WATCHED) + (f", {inventory}" if inventory else "")
        log(Said.of("serve-serving", path=out, url=f"http://{host}:{httpd.server_address[1]}/", watched=watched))
        rebuilder.start()
        try:
            with contextlib.suppress(KeyboardInterrupt):
                httpd.serve_forever()
        finally:
            rebuilder.stop()
            rebuilder.join(timeout=120)
