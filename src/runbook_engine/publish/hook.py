"""The MkDocs hook module named in mkdocs.yml (``hooks:``): it reacts to the build's events.

``on_files`` adds the generated downloads (START.BAT / STOP.BAT of each guide in the build
language, the runbook notebooks when present) and the local copy of mermaid.min.js as site files.
MkDocs loads hook files by path, outside the package, so every import here is absolute.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook_engine.model.project import Project
from runbook_engine.publish.config import config_lang
from runbook_engine.publish.files import SiteBuildError, generated_files


def _project(config: Any) -> Project:
    return Project.find(Path(config["config_file_path"]).parent)


def on_files(files: Any, config: Any) -> Any:
    """Add the generated downloads and vendored scripts as files of the build."""
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    try:
        generated = generated_files(_project(config), config_lang(config))
    except SiteBuildError as exc:
        raise PluginError(str(exc)) from None
    for src_uri, content in generated.items():
        if files.get_file_from_path(src_uri) is not None:
            files.remove(files.get_file_from_path(src_uri))
        if isinstance(content, Path):
            files.append(File.generated(config, src_uri, abs_src_path=str(content)))
        else:
            files.append(File.generated(config, src_uri, content=content))
    return files
