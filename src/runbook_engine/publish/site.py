"""The site's public interface, one import for the command line and the tests. Each job has its
module: config.py (per-language MkDocs configuration, nav, search options), files.py (what a
build adds to docs/), hook.py (the MkDocs events, named in mkdocs.yml), build.py (the atomic
two-language build) and serve.py (the HTTP server)."""
from __future__ import annotations

from runbook_engine.publish.build import BuildReport, LanguageBuild, build_site
from runbook_engine.publish.config import JA_SEPARATOR, LANG_DIRS, LANGS, language_config
from runbook_engine.publish.files import SiteBuildError, generated_files, mermaid_js
from runbook_engine.publish.serve import serve

__all__ = [
    "JA_SEPARATOR", "LANGS", "LANG_DIRS", "BuildReport", "LanguageBuild", "SiteBuildError",
    "build_site", "generated_files", "language_config", "mermaid_js", "serve",
]
