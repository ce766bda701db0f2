"""Serve the built site over HTTP."""
from __future__ import annotations

import contextlib
import functools
import http.server
from pathlib import Path

from runbook_engine.model.project import Project
from runbook_engine.publish.build import build_site


def serve(project: Project, host: str = "127.0.0.1", port: int = 8000, out: Path | None = None) -> None:
    """Build the site, then serve it with http.server until interrupted (no live reload)."""
    out = Path(out) if out else project.state / "site"
    report = build_site(project, out)
    for b in report.languages.values():
        print(f"{b.lang}: {b.pages} pages in {b.seconds:.2f} s → {b.site_dir}")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    with http.server.ThreadingHTTPServer((host, port), handler) as httpd:
        print(f"serving {out} on http://{host}:{httpd.server_address[1]}/")
        with contextlib.suppress(KeyboardInterrupt):
            httpd.serve_forever()
